"""How well does a mosaic rebuild its target? Naive nearest unit against the default, in one run.

    python scripts/eval_mosaic.py CORPUS_DIR [--split tune|heldout|all] [--seconds 20] [--limit N]
        [--set KEY=VALUE ...]

Each corpus track (``music/``, and the development set's ``dev/music/`` from ``scripts/build_corpus.sh``)
is a target: its first ``--seconds`` s, rebuilt from the corpus's videos with sound
(``videos/``: hand-held clips, generated pictures over other songs' excerpts; clips cut
from the target's own song are left out, so the target's audio is not among the units).
Tracks are ``tune`` or ``heldout`` by the hash of ``eval_reconstruct.py``: look only at
``tune`` while changing anything.

Methods: ``naive`` (``mosaic.continuity=0``: each target unit's nearest source unit),
``default`` (the shipped configuration) and ``onset`` (the default with onset-to-onset units).
``--set`` overrides go to all.

Measures, on the rebuilt *source* audio (the chosen units' own sound as ``--sound source``
plays it: spliced with crossfades, following the target's loudness):

* log-spectral distance to the target (dB: RMS over frames and bands of the difference of
  their 40-band log-mel spectra, each spectrum's mean level removed first, as the
  descriptors do; lower is closer);
* onset F (mir_eval, 50 ms) of the rebuilt audio's onsets against the target's (librosa);
* mean run length (s of consecutive source frames) and runs per second;
* seconds per mosaic (planning: descriptors, search, Viterbi; no rendering).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from eval_reconstruct import SR, split_of
from eval_sync import footage

METHODS = {"naive": ["mosaic.continuity=0"], "default": [], "onset": ["mosaic.unit=onset"]}


def log_spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """dB RMS difference of the mean-removed 40-band log-mel spectra of ``a`` and ``b`` (at SR)."""
    import librosa

    n = min(a.size, b.size)
    spectra = [librosa.power_to_db(librosa.feature.melspectrogram(y=x[:n], sr=SR, n_mels=40) + 1e-10) for x in (a, b)]
    spectra = [s - s.mean(axis=0, keepdims=True) for s in spectra]
    return float(np.sqrt(np.mean((spectra[0] - spectra[1]) ** 2)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="all", choices=["tune", "heldout", "all"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--limit", type=int, default=0, help="at most this many targets (0 = all)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--cache-dir", type=Path, help="keep the sound descriptions here (default: a temporary folder)")
    args = parser.parse_args()
    if not (args.corpus / "music").is_dir():
        sys.exit(f"{args.corpus}: not a development corpus (bash scripts/build_corpus.sh {args.corpus})")
    import librosa
    import mir_eval
    import soundfile

    from videothat.media.audio import decode_audio
    from videothat.pipeline.mosaic import plan_mosaic, rebuilt_sound
    from videothat.pipeline.run import Run
    from videothat.settings import compose_config, mosaic_config

    targets = sorted((args.corpus / "music").glob("*.wav")) + sorted((args.corpus / "dev" / "music").glob("*.wav"))
    targets = [t for t in targets if args.split in ("all", split_of(t.stem))][: args.limit or None]
    rows = []
    with tempfile.TemporaryDirectory(prefix="videothat-mosaic-") as tmp:
        run = Run(args.cache_dir or Path(tmp) / "cache", device="cpu")
        for k, track in enumerate(targets):
            song = decode_audio(track, SR)[: round(args.seconds * SR)]
            if song.size < args.seconds * SR or np.abs(song).max() < 1e-3:
                continue
            path = Path(tmp) / f"{track.stem}.wav"
            soundfile.write(path, song, SR)
            videos = footage(args.corpus, track)
            reference = librosa.onset.onset_detect(y=song, sr=SR, units="time")
            for method, overrides in METHODS.items():
                config = mosaic_config(compose_config([*args.set, *overrides]))
                t0 = time.perf_counter()
                plan = plan_mosaic(path, videos, config, run)
                spent = time.perf_counter() - t0
                rebuilt = rebuilt_sound(plan.timeline, song, config, rate=SR)
                found = librosa.onset.onset_detect(y=rebuilt, sr=SR, units="time")
                rows.append({"target": track.stem, "split": split_of(track.stem), "method": method,
                             "lsd": log_spectral_distance(song, rebuilt),
                             "onset_f": float(mir_eval.onset.f_measure(reference, found, window=0.05)[0]),
                             "run": float(plan.run_seconds.mean()),
                             "runs_per_s": len(plan.runs) / plan.timeline.duration,
                             "seconds": spent})
            done = ", ".join(f"{r['method']} {r['lsd']:.2f} dB / run {r['run']:.2f} s" for r in rows[-len(METHODS):])
            print(f"  [{k + 1}/{len(targets)}] {track.stem}: {done}", file=sys.stderr)
    print(f"{'target':<40} {'split':<8} {'method':<8} {'LSD dB':>7} {'onset F':>8} {'run s':>6} {'runs/s':>7} {'s':>6}")
    for r in rows:
        print(f"{r['target'][:40]:<40} {r['split']:<8} {r['method']:<8} {r['lsd']:>7.2f} {r['onset_f']:>8.3f} "
              f"{r['run']:>6.2f} {r['runs_per_s']:>7.2f} {r['seconds']:>6.1f}")
    print("\nmeans")
    for split in ("tune", "heldout"):
        for method in METHODS:
            sel = [r for r in rows if r["split"] == split and r["method"] == method]
            if sel:
                print(f"  {split:<8} {method:<8} n={len(sel):<3} LSD {np.mean([r['lsd'] for r in sel]):.2f} dB  "
                      f"onset F {np.mean([r['onset_f'] for r in sel]):.3f}  mean run "
                      f"{np.mean([r['run'] for r in sel]):.2f} s  {np.mean([r['seconds'] for r in sel]):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
