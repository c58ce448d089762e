"""Does the music video look in sync? Free tasks: a song and footage unrelated to it.

    python scripts/eval_sync.py CORPUS_DIR [--split tune|validation|test|all] [--seconds 30]
        [--limit N] [--excerpts 3] [--json OUT.json] [--seed 0] [--set KEY=VALUE ...]

Each song of the development set (``dev/manifest.csv``, in the split of its package: see
``eval_splits.py``) gives up to ``--excerpts`` tasks, its consecutive ``--seconds`` s
excerpts that sound (silent stretches say nothing), each against the corpus's footage
(``videos/real``, hand-held clips with their sound and silent street, tree and city footage,
and ``videos/synthetic``, generated pictures over excerpts of corpus songs; those cut from
the task's own song are left out, so nothing is related to it). Tune on ``--split tune``,
choose on ``validation``, run ``test`` once at the end; ``--limit N`` draws at most N songs
per split, spread over the packages.

Methods, in one run on the same tasks:

* ``default``: the shipped configuration (sound and pictures, ``match.visual_weight`` > 0;
  silent footage takes part by its motion);
* ``sound only``: the same with ``match.visual_weight=0`` (the matcher before pictures);
* ``greedy``: VideoThat's original matcher (``beam_width=1``, ``normalize=none``, no
  harmony, no retiming, sound only);
* ``random beats``: a cut on every song beat, each segment a random shot of the footage
  from a random in-point (seeded).

Measures (references independent of the matcher: librosa's onsets and beats of the song,
and visual impacts from OpenCV's Farneback flow, not the matcher's Lucas-Kanade):

* onset F (mir_eval, 50 ms): song onsets vs onsets of the footage's own sound as the
  timeline plays it (silent footage adds silence);
* cut-on-onset: fraction of inner cuts within 50 ms of a song onset; cut-on-beat, the same
  for librosa's beats;
* retimed: segments played at another speed than 1 (of all segments);
* visual beat alignment, both ways: for each song beat ``exp(-d^2 / (2 sigma^2))`` of the
  distance to the nearest visual impact of the output (sigma = 50 ms), and for each
  impact the same to the nearest beat. The output's impacts are the footage's own impacts
  (each file's reference curve peak-picked once, in its own time) that the timeline shows,
  in song time; cuts are not counted (cut-on-onset reports those), nor can a segment's
  edges make one. Each is printed beside its chance level (the same impacts against the
  beat grid shifted by fractions of a beat): dense impacts meet most beats by chance.

Prints the per-task rows and the means per split and method; ``--json`` saves every row.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_motion import naive_curve
from eval_reconstruct import SR
from eval_splits import MAX_SILENT_SECONDS, SILENT_DBFS, SPLITS, chosen_splits, find_tasks, mean_se, pick

METHODS = {
    "default": [],
    "sound only": ["match.visual_weight=0"],
    "greedy": ["match.visual_weight=0", "match.beam_width=1", "match.normalize=none", "match.harmony=0",
               "match.speed_min=1", "match.speed_max=1"],
}
RANDOM = "random beats"
HEIGHT = 72  # pixels: frames analysed for the reference impacts
SIGMA_S = 0.05
CHANCE_SHIFTS = 8  # shifted beat grids behind the chance level of the visual alignment


def footage(corpus: Path, song: Path) -> list[Path]:
    """The corpus's videos less the synthetic clips whose sound comes from ``song``."""
    import csv

    related = set()
    truth = corpus / "videos" / "synthetic" / "ground_truth.csv"
    if truth.is_file():
        with open(truth) as f:
            related = {row["file"] for row in csv.DictReader(f) if Path(row["audio_source"]).stem == song.stem}
    videos = sorted((corpus / "videos").rglob("*.mp4"))
    return [v for v in videos if v.name not in related]


def reference_impacts(path: Path) -> tuple[np.ndarray, float]:
    """(whole-file impact curve from Farneback flow directograms [frames], fps)."""
    from videothat.media.frames import VideoFrames
    from videothat.vision.motion import frame_chunks, to_gray

    video = VideoFrames(path)
    _, frames = next(frame_chunks(video, HEIGHT, chunk_frames=max(2, video.count)))  # every frame, one chunk
    gray = (to_gray(frames) * 255).round().byte().numpy()
    return naive_curve(gray, 8), video.fps


def source_impacts(curve: np.ndarray, fps: float) -> np.ndarray:
    """Times (s, source time) of a file's visual impacts: its whole-file reference curve
    peak-picked by librosa's onset picker at the video's frame rate. Picked once per file, in
    the file's own time, so a placement cannot create or move a peak (the cut-off edges of a
    segment would otherwise read as impacts next to every cut)."""
    import librosa

    if not curve.any():
        return np.zeros(0)
    return librosa.onset.onset_detect(onset_envelope=curve, sr=fps, hop_length=1, units="frames") / fps


def output_impacts(timeline, impacts: dict[Path, tuple[np.ndarray, float]]) -> np.ndarray:
    """Times (s, song time, sorted) of the visual impacts of the output: each segment's
    source impacts strictly inside it (its first and last source frames left out: their flow
    reaches across a cut), at the segment's speed."""
    out = []
    for c in timeline.segments:
        times, fps = impacts[Path(c.source)]
        inside = times[(times > c.source_start + 0.5 / fps) & (times < c.source_end - 1.5 / fps)]
        out.append(c.song_start + (inside - c.source_start) / c.speed)
    return np.sort(np.concatenate(out)) if out else np.zeros(0)


def random_timeline(song_path: Path, duration: float, beats: np.ndarray, analyses, rng: np.random.Generator):
    """A cut on every beat; each segment a random shot long enough, from a random in-point."""
    from videothat.core.timeline import Cut, Timeline

    shots = [s for a in analyses if a.has_video for s in a.shots]
    bounds = [0.0, *[b for b in beats if 0.0 < b < duration], duration]
    cuts = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        fits = [s for s in shots if s.duration >= end - start] or [max(shots, key=lambda s: s.duration)]
        shot = fits[rng.integers(len(fits))]
        length = min(end - start, shot.duration)
        at = shot.start + rng.uniform(0, shot.duration - length)
        cuts.append(Cut(shot.source, at, at + length, start, end, 0.0, length / (end - start)))
    return Timeline(song_path, duration, cuts).validate()


def measures(timeline, song: np.ndarray, audio_of, curves, ref_onsets, beats) -> dict:
    import librosa
    import mir_eval

    from videothat.audio.splice import splice
    from videothat.report import beat_alignment

    est = librosa.onset.onset_detect(y=splice(timeline, audio_of, rate=SR), sr=SR, units="time")
    cuts = np.array([c.song_start for c in timeline.segments[1:]])
    near = np.abs(cuts[:, None] - ref_onsets[None, :]).min(axis=1) <= 0.05 if cuts.size and ref_onsets.size else []
    on_beat = np.abs(cuts[:, None] - beats[None, :]).min(axis=1) <= 0.05 if cuts.size and beats.size else []
    impacts = output_impacts(timeline, curves)
    return {
        "onset_f": float(mir_eval.onset.f_measure(ref_onsets, est, window=0.05)[0]),
        "cut_on_onset": float(np.mean(near)) if len(near) else 1.0,
        "cut_on_beat": float(np.mean(on_beat)) if len(on_beat) else 1.0,
        "retimed": sum(abs(c.speed - 1.0) > 1e-9 for c in timeline.segments),
        "visual_on_beats": beat_alignment(beats, impacts, sigma=SIGMA_S),
        "beats_on_visual": beat_alignment(impacts, beats, sigma=SIGMA_S),
        **chance_alignment(beats, impacts),
        "segments": len(timeline.segments),
        "silent_share": sum(c.duration for c in timeline.segments if not audio_of[Path(c.source)].any())
        / timeline.duration,
    }


def excerpt_starts(song: np.ndarray, seconds: float, count: int) -> list[float]:
    """Starts (s) of up to ``count`` consecutive ``seconds``-long excerpts of ``song`` (at SR)
    that fit in it and sound along it (at most MAX_SILENT_SECONDS quieter than SILENT_DBFS)."""
    n = round(seconds * SR)
    starts = []
    for k in range(count):
        part = song[k * n : (k + 1) * n]
        if len(part) < n:
            break
        whole = part[: int(seconds) * SR].reshape(int(seconds), SR)
        if (20 * np.log10(np.sqrt((whole**2).mean(axis=1)) + 1e-9) < SILENT_DBFS).sum() <= MAX_SILENT_SECONDS:
            starts.append(k * seconds)
    return starts


def chance_alignment(beats: np.ndarray, impacts: np.ndarray) -> dict[str, float]:
    """The two alignments expected by chance for these very impacts: the mean over
    CHANCE_SHIFTS beat grids shifted by fractions of the median beat period (as far from
    the beats as can be). Dense impacts (flicker, a fractal zoom) meet most beats by chance;
    an alignment minus its chance level says how much of it the placement made."""
    from videothat.report import beat_alignment

    if beats.size < 2 or impacts.size == 0:
        return {"chance_on_beats": 0.0, "chance_beats_on": 0.0}
    period = float(np.median(np.diff(beats)))
    shifts = period * (np.arange(1, CHANCE_SHIFTS + 1) / (CHANCE_SHIFTS + 1))
    return {"chance_on_beats": float(np.mean([beat_alignment(beats + d, impacts, sigma=SIGMA_S) for d in shifts])),
            "chance_beats_on": float(np.mean([beat_alignment(impacts, beats + d, sigma=SIGMA_S) for d in shifts]))}


def run_task(task, start: float, song: np.ndarray, args, work: Path, cache: Path, curves: dict, audio_of: dict,
             seed: int) -> list[dict]:
    """Every method on the excerpt of ``song`` (the task's track at SR) from ``start`` s."""
    import librosa
    import soundfile

    from videothat.core.errors import VideoThatError
    from videothat.media.audio import decode_audio
    from videothat.pipeline.make import match_files
    from videothat.pipeline.run import Run
    from videothat.settings import compose_config, configs

    name = f"{task.name}@{start:g}"
    song = song[round(start * SR) : round((start + args.seconds) * SR)]
    song_path = work / f"{name}.wav"
    soundfile.write(song_path, song, SR)
    ref_onsets = librosa.onset.onset_detect(y=song, sr=SR, units="time")
    _, beats = librosa.beat.beat_track(y=song, sr=SR, units="time")
    videos = footage(args.corpus, task.song)
    for v in videos:
        if v not in curves:
            curve, fps = reference_impacts(v)
            curves[v] = source_impacts(curve, fps), fps
            audio_of[v] = decode_audio(v, SR) if _has_audio(v) else np.zeros(round(curve.size / fps * SR), np.float32)
    rows, analyses = [], None
    for method, overrides in METHODS.items():
        if method not in args.methods:
            continue
        overrides = [*args.set, *overrides]  # the method's own keys win
        t0 = time.perf_counter()
        try:
            result, report = match_files(song_path, videos, configs(compose_config(overrides)), Run(cache))
        except VideoThatError as exc:
            print(f"  {name} {method}: {exc}", file=sys.stderr)
            continue
        analyses = report.analyses if method == "default" else analyses
        rows.append({"task": name, "split": task.split, "method": method, "seconds": time.perf_counter() - t0,
                     **measures(result.timeline, song, audio_of, curves, ref_onsets, beats)})
    if analyses and RANDOM in args.methods:
        timeline = random_timeline(song_path, len(song) / SR, beats, analyses, np.random.default_rng(seed))
        rows.append({"task": name, "split": task.split, "method": RANDOM, "seconds": 0.0,
                     **measures(timeline, song, audio_of, curves, ref_onsets, beats)})
    return rows


def _has_audio(path: Path) -> bool:
    from videothat.media.probe import probe

    return probe(path).audio is not None


def print_table(rows: list[dict]) -> None:
    keys = ["onset_f", "cut_on_onset", "cut_on_beat", "visual_on_beats", "beats_on_visual", "silent_share",
            "segments", "retimed"]
    head = f"{'task':<42} {'split':<10} {'method':<13} " + " ".join(f"{k:>15}" for k in keys)
    print(head)
    for r in rows:
        print(f"{r['task'][:42]:<42} {r['split']:<10} {r['method']:<13} "
              + " ".join(f"{r[k]:>15.3f}" if isinstance(r[k], float) else f"{r[k]:>15}" for k in keys))
    print()
    print("means ± one standard error over tasks (visual: beats on impacts / impacts on beats)")
    for split in SPLITS:
        for method in [*METHODS, RANDOM]:
            sel = [r for r in rows if r["split"] == split and r["method"] == method]
            if sel:
                print(f"  {split:<10} {method:<13} n={len(sel):<3} onset F {_mean(sel, 'onset_f')}  "
                      f"cut-on-onset {_mean(sel, 'cut_on_onset')}  cut-on-beat {_mean(sel, 'cut_on_beat')}  "
                      f"retimed {sum(r['retimed'] for r in sel)} of {sum(r['segments'] for r in sel)}  "
                      f"visual {_mean(sel, 'visual_on_beats')} / {_mean(sel, 'beats_on_visual')}  "
                      f"(chance {np.mean([r['chance_on_beats'] for r in sel]):.3f} / "
                      f"{np.mean([r['chance_beats_on'] for r in sel]):.3f})  "
                      f"silent footage {np.mean([r['silent_share'] for r in sel]):.2f}")


def _mean(rows: list[dict], key: str) -> str:
    return mean_se([r[key] for r in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="tune", choices=[*SPLITS, "all"],
                        help="tune (default), validation, test (once, at the end) or all (tune and validation)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--limit", type=int, default=0, help="at most this many songs per split (0 = all)")
    parser.add_argument("--excerpts", type=int, default=3,
                        help="consecutive --seconds excerpts per track (those that fit and sound)")
    parser.add_argument("--json", type=Path, default=None, help="save every row here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides for every matcher method (tune split only while tuning)")
    parser.add_argument("--methods", nargs="+", default=[*METHODS, RANDOM], choices=[*METHODS, RANDOM],
                        help="methods to run (default: all; random beats needs default)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="analysis cache (default: a temporary one)")
    args = parser.parse_args()
    if not (args.corpus / "music").is_dir() or not (args.corpus / "videos").is_dir():
        print(f"{args.corpus}: not a development corpus; build it with\n"
              f"  bash scripts/build_corpus.sh {args.corpus}", file=sys.stderr)
        return 2
    import av

    av.logging.set_level(av.logging.PANIC)
    splits = chosen_splits(args.split)
    tasks = [t for t in find_tasks(args.corpus, args.seconds) if t.kind == "song" and t.split in splits]
    tasks = pick(tasks, args.limit, args.seed)
    rows: list[dict] = []
    curves: dict = {}
    audio_of: dict = {}
    with tempfile.TemporaryDirectory(prefix="videothat-sync-") as tmp:
        cache = args.cache_dir or Path(tmp) / "cache"
        from videothat.media.audio import decode_audio

        for k, task in enumerate(tasks):
            song = decode_audio(task.song, SR)
            for start in excerpt_starts(song, args.seconds, args.excerpts):
                new = run_task(task, start, song, args, Path(tmp), cache, curves, audio_of, args.seed + len(rows))
                rows += new
                print(f"  [{k + 1}/{len(tasks)}] {task.name}@{start:g} ({task.split}): "
                      + ", ".join(f"{r['method']} {r['visual_on_beats']:.2f}" for r in new), file=sys.stderr)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
        print(f"rows: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
