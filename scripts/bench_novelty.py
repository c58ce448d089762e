"""Throughput of the batched torch novelty against librosa on the development corpus.

    python scripts/bench_novelty.py CORPUS_DIR [--repeat 3] [--device auto]

CORPUS_DIR comes from ``bash scripts/build_corpus.sh CORPUS_DIR``. Every file of
the corpus with sound is decoded once (PyAV, 22050 Hz mono; timed), then analysed two
ways in the same run, on the same samples:

* ``tracks``: each file whole, as a song is analysed;
* ``shots``: each file cut into pieces of 1-8 s (seeded), as ``videothat analyze`` feeds
  the shots of many videos to one batched call.

librosa runs ``onset_strength`` per item (its API takes one signal); VideoThat runs one
batched call per ``batch_seconds`` of audio. Timings are the median of ``--repeat`` runs.
The table gives seconds of audio analysed per wall-clock second, and the ratio, without
and with decoding.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SR = 22050


def corpus_files(root: Path) -> list[Path]:
    from videothat.media.discover import find_media
    from videothat.media.probe import probe

    files, _ = find_media([root])
    return [f for f in files if probe(f).audio is not None]


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time in seconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def shot_pieces(tracks: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    pieces = []
    for y in tracks:
        start = 0
        while start < y.size:
            n = int(rng.uniform(1.0, 8.0) * SR)
            pieces.append(y[start : start + n])
            start += n
    return pieces


def batches(items: list[np.ndarray], seconds: float) -> list[list[np.ndarray]]:
    """Group items into batches of about ``seconds`` of audio, as the pipeline does."""
    out, cur, acc = [], [], 0.0
    for y in items:
        cur.append(y)
        acc += y.size / SR
        if acc >= seconds:
            out.append(cur)
            cur, acc = [], 0.0
    return out + ([cur] if cur else [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-seconds", type=float, default=600.0)
    args = parser.parse_args()
    if not (args.corpus / "music").is_dir():
        print(f"{args.corpus}: not a development corpus; build it with\n"
              f"  bash scripts/build_corpus.sh {args.corpus}", file=sys.stderr)
        return 2

    import librosa
    import torch

    from videothat.audio.novelty import NoveltyConfig, SpectralNovelty
    from videothat.core.device import resolve_device
    from videothat.media.audio import decode_audio

    files = corpus_files(args.corpus)
    t0 = time.perf_counter()
    tracks = [decode_audio(f, SR) for f in files]
    decode_s = time.perf_counter() - t0
    total_s = sum(y.size for y in tracks) / SR
    device = resolve_device(args.device)
    novelty = SpectralNovelty(NoveltyConfig(), device=device)
    print(f"corpus: {len(files)} files with sound, {total_s:.1f} s of audio; device: {device}; "
          f"torch threads: {torch.get_num_threads()}")
    print(f"decoding (PyAV, {SR} Hz mono): {decode_s:.2f} s = {total_s / decode_s:.0f} s of audio per s\n")

    def run_torch(groups: list[list[np.ndarray]]) -> None:
        for group in groups:
            novelty([torch.from_numpy(y) for y in group]).curves.cpu()
        if device.type == "cuda":
            torch.cuda.synchronize()

    header = (f"{'workload':<8} {'items':>6} {'librosa s':>10} {'torch s':>8} {'librosa x rt':>13} "
              f"{'torch x rt':>11} {'speed-up':>9} {'speed-up incl. decode':>22} {'max |diff|':>11}")
    print(header)
    print("-" * len(header))
    for name, items in [("tracks", tracks), ("shots", shot_pieces(tracks))]:
        groups = batches(items, args.batch_seconds)
        t_lib = timed(lambda items=items: [librosa.onset.onset_strength(y=y, sr=SR) for y in items], args.repeat)
        t_ours = timed(lambda groups=groups: run_torch(groups), args.repeat)
        diff = max(
            float(np.abs(ours.numpy() - librosa.onset.onset_strength(y=y, sr=SR)).max())
            for y, ours in zip(items[:20], novelty([torch.from_numpy(y) for y in items[:20]]).unbatch(), strict=True)
        )
        print(f"{name:<8} {len(items):>6} {t_lib:>10.3f} {t_ours:>8.3f} {total_s / t_lib:>13.0f} "
              f"{total_s / t_ours:>11.0f} {t_lib / t_ours:>8.2f}x "
              f"{(decode_s + t_lib) / (decode_s + t_ours):>21.2f}x {diff:>11.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
