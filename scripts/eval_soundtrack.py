"""Sound for a silent video: does the job find the right sound and line it up with the pictures?

    python scripts/eval_soundtrack.py CORPUS_DIR [--split tune|heldout|all] [--seconds 30]
        [--query 8] [--work DIR] [--seed 0] [--set KEY=VALUE ...]

Data. The corpus holds no footage whose pictures follow their sound, so the script makes
it: for every track of ``music/`` (and ``dev/music/`` from ``scripts/build_corpus.sh``) a
``--seconds`` s video whose sound is the track and whose pictures are a square that turns
back on each of the track's onsets (librosa's ``onset_detect``, at least 0.25 s apart) and
moves steadily in between (``videothat.media.synthetic.turning_frames``). All of them, with
the corpus's real videos with sound as distractors, go into one rhythm index. Each query is
a ``--query`` s excerpt of one generated video's pictures, without sound, from a random
start off the index's 0.25 s grid; the right answer is that video's own sound, at that start.
Tracks are ``tune`` or ``heldout`` by the hash of ``eval_reconstruct.py``: look only at
``tune`` while changing anything.

Methods, on the same queries:

* ``default``: the job as shipped (index hits, the alignment pass, the Viterbi pass);
* ``retrieval``: the index's best hit for each stretch as it is (no alignment pass);
* ``random``: a random indexed sound at a random place for every 2 s (seeded);
* ``original``: the video's own sound at its own place (the ceiling of the measures: turns
  are onsets at least 0.25 s apart, so the sound has onsets the pictures do not show).

Measures (references independent of the job: the turn times the pictures were made with, and
librosa's onsets of the new sound):

* source: fraction of the video whose sound comes from the right file; place: from the right
  file within 50 ms of the right place (music repeats itself: another bar of the right file
  often fits the pictures as well, and counts as wrong here);
* sync F: onsets of the new sound against the turns (mir_eval, 50 ms), and the mean offset
  of the matched pairs (sound minus pictures, ms).

What this can and cannot say: the pictures here follow their sound exactly and their
motion is simple, so it measures whether the job finds and aligns a sound that fits, not
how well it copes with real footage whose motion only loosely follows any sound.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from eval_reconstruct import SR, split_of

FPS = 25
MIN_TURN_S = 0.25  # s between turns of the square at the least


def make_av(track: Path, out: Path, seconds: float) -> np.ndarray:
    """A video of ``track``'s first ``seconds`` s whose square turns on its onsets; the turn times (s)."""
    import librosa

    from videothat.media.audio import decode_audio
    from videothat.media.synthetic import turning_frames, write_video

    sound = decode_audio(track, SR)[: round(seconds * SR)]
    onsets = librosa.onset.onset_detect(y=sound, sr=SR, units="time")
    turns: list[float] = []
    for t in onsets:
        if t > MIN_TURN_S and (not turns or t - turns[-1] >= MIN_TURN_S):
            turns.append(round(t * FPS) / FPS)
    if not out.exists():
        seed = zlib.crc32(track.stem.encode()) % 1000
        write_video(out, turning_frames(round(seconds * FPS), np.round(np.array(turns) * FPS), seed=seed), fps=FPS,
                    audio=sound[None], sr=SR)
    return np.array(turns)


def random_plan(video: Path, duration: float, paths: list[Path], rng: np.random.Generator):
    """A random indexed sound at a random place for every 2 s of the video."""
    from videothat.core.timeline import Cut, Timeline
    from videothat.media.probe import probe

    cuts, t = [], 0.0
    while t < duration - 1e-9:
        end = min(duration, t + 2.0)
        path = paths[rng.integers(len(paths))]
        start = rng.uniform(0.0, max(0.0, probe(path).duration - (end - t)))
        cuts.append(Cut(path, start, start + end - t, t, end, 0.0))
        t = end
    return Timeline(video, duration, cuts, over="video")


def measures(timeline, truth_path: Path, truth_start: float, turns: np.ndarray, audio_of: dict) -> dict:
    """Source, place, sync F and mean offset of a timeline (module doc)."""
    import librosa
    import mir_eval

    from videothat.audio.splice import splice
    from videothat.media.audio import decode_audio

    for c in timeline.segments:
        if Path(c.source) not in audio_of:
            audio_of[Path(c.source)] = decode_audio(c.source, SR)
    right = [c for c in timeline.segments if Path(c.source) == truth_path]
    placed = sum(c.duration for c in right if abs(c.source_start - c.song_start - truth_start) <= 0.05)
    sound = splice(timeline, audio_of, rate=SR, crossfade=0.05)
    onsets = librosa.onset.onset_detect(y=sound, sr=SR, units="time")
    f = mir_eval.onset.f_measure(turns, onsets, window=0.05)[0] if turns.size and onsets.size else 0.0
    pairs = mir_eval.util.match_events(turns, onsets, 0.05)
    offset = float(np.mean([onsets[j] - turns[i] for i, j in pairs])) if pairs else float("nan")
    return {"source": sum(c.duration for c in right) / timeline.duration, "place": placed / timeline.duration,
            "sync_f": float(f), "offset_ms": 1000 * offset}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="all", choices=["tune", "heldout", "all"])
    parser.add_argument("--seconds", type=float, default=30.0, help="s of each generated video")
    parser.add_argument("--query", type=float, default=8.0, help="s of each silent query")
    parser.add_argument("--work", type=Path, help="keep the generated videos, index and cache here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if not (args.corpus / "music").is_dir():
        sys.exit(f"{args.corpus}: not a development corpus (bash scripts/build_corpus.sh {args.corpus})")
    with tempfile.TemporaryDirectory(prefix="videothat-soundtrack-") as tmp:
        rows = run(args, args.work or Path(tmp))
    print_tables(rows)
    return 0


def run(args: argparse.Namespace, work: Path) -> list[dict]:
    from videothat.cli import main as videothat
    from videothat.core.timeline import Cut, Timeline
    from videothat.media.synthetic import write_video
    from videothat.pipeline.run import Run
    from videothat.pipeline.soundtrack import plan_soundtrack
    from videothat.settings import compose_config, configs, event_config, soundtrack_config

    tracks = sorted((args.corpus / "music").glob("*.wav")) + sorted((args.corpus / "dev" / "music").glob("*.wav"))
    (work / "av").mkdir(parents=True, exist_ok=True)
    turns = {t: make_av(t, work / "av" / f"{t.stem}.mp4", args.seconds) for t in tracks}
    from videothat.media.probe import probe

    real = [p for p in sorted((args.corpus / "videos" / "real").glob("*.mp4")) if probe(p).audio is not None]
    index = work / "sounds.idx"
    if not (index / "CURRENT").exists():
        videothat(["index", "build", str(work / "av"), *map(str, real), "--index", str(index), "--cache-dir",
                   str(work / "cache"), "-q", "index.encoder=rhythm"])
    cfg = compose_config(args.set)
    config, soundtrack, events = configs(cfg), soundtrack_config(cfg), event_config(cfg)
    run_ = Run(work / "cache", device="cpu")
    rng = np.random.default_rng(args.seed)
    indexed = sorted((work / "av").glob("*.mp4")) + real
    rows, audio_of = [], {}
    for k, track in enumerate(t for t in tracks if args.split in ("all", split_of(t.stem))):
        video = work / "av" / f"{track.stem}.mp4"
        start = round(rng.uniform(0.3, args.seconds - args.query - 0.3) * FPS) / FPS
        if abs(start / 0.25 - round(start / 0.25)) < 0.1:
            start += 2 / FPS  # off the index's grid, so the retrieval alone cannot land exactly
        query = work / f"query_{track.stem}.mp4"
        _silent_excerpt(video, query, start, args.query, write_video)
        inside = turns[track][(turns[track] > start) & (turns[track] < start + args.query)] - start
        plans = {"default": plan_soundtrack(query, index, config, soundtrack, events, run_).timeline,
                 "retrieval": plan_soundtrack(query, index, config, soundtrack, events, run_, align=False).timeline}
        plans["random"] = random_plan(query, plans["default"].duration, indexed, rng)
        duration = plans["default"].duration
        plans["original"] = Timeline(query, duration, [Cut(video, start, start + duration, 0.0, duration, 0.0)],
                                     over="video")
        for method, timeline in plans.items():
            rows.append({"track": track.stem, "split": split_of(track.stem), "method": method,
                         **measures(timeline, video, start, inside, audio_of)})
        print(f"  [{k + 1}] {track.stem}: " + ", ".join(f"{r['method']} place {r['place']:.2f} F {r['sync_f']:.2f}"
                                                     for r in rows[-4:]), file=sys.stderr)
    return rows


def _silent_excerpt(video: Path, out: Path, start: float, seconds: float, write_video) -> None:
    """``seconds`` s of ``video``'s pictures from ``start`` s, without sound."""
    from videothat.media.frames import VideoFrames

    if out.exists():
        return
    frames = VideoFrames(video)
    index = np.arange(round(start * FPS), round((start + seconds) * FPS))
    write_video(out, frames.get(index, height=frames.height, width=frames.width).numpy(), fps=FPS)


def print_tables(rows: list[dict]) -> None:
    print(f"\n{'split':<8} {'method':<10} {'n':>3} {'source':>7} {'place':>7} {'sync F':>13} {'offset ms':>10}")
    for split in ("tune", "heldout"):
        for method in ("default", "retrieval", "random", "original"):
            sel = [r for r in rows if r["split"] == split and r["method"] == method]
            if not sel:
                continue
            f = np.array([r["sync_f"] for r in sel])
            offsets = np.array([r["offset_ms"] for r in sel])
            print(f"{split:<8} {method:<10} {len(sel):>3} {np.mean([r['source'] for r in sel]):>7.2f} "
                  f"{np.mean([r['place'] for r in sel]):>7.2f} {f.mean():>6.3f}±{f.std() / np.sqrt(f.size):.3f} "
                  f"{np.nanmean(offsets) if np.isfinite(offsets).any() else float('nan'):>10.1f}")


if __name__ == "__main__":
    sys.exit(main())
