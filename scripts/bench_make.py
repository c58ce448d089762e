"""Wall time of `videothat make` per stage, first run and cached run, against another version.

    python scripts/bench_make.py CORPUS_DIR [--song music/05_electro_pushover_electro.wav]
        [--seconds 60] [--against REV] [--repeats 2] [--preview]

Makes a music video for the first ``--seconds`` s of a song of the development corpus (0:
all of it) from all of its videos (``videos/``, with shot reuse allowed since the corpus
has about 2 minutes of footage with sound), twice with the same fresh cache: cold, then over
the filled cache. Prints seconds per stage: decode, shots, novelty (analysis; decode and
shots summed over the worker threads), match, render, writing the timeline/OTIO/report, and
the whole job.

``--against REV`` runs the same job with the project at git revision REV (checked out in a
temporary worktree) in the same run, the two versions alternating ``--repeats`` times, each
in its own process, and prints both versions' median seconds per stage with their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ["decode", "shots", "novelty", "match", "render", "write outputs"]
ROOT = Path(__file__).resolve().parents[1]


def job(song: Path, corpus: Path, preview: bool) -> dict:
    """One cold and one cached run of the main job with the ``videothat`` importable here.
    Returns {"first": {stage: s}, "cached": {stage: s}, "segments": n, "duration": s}."""
    from dataclasses import replace

    from videothat.match.config import MatchConfig
    from videothat.media.config import RenderConfig
    from videothat.pipeline.make import make_video
    from videothat.pipeline.run import Configs, Run

    matching = MatchConfig()
    matching = replace(matching, search=replace(matching.search, reuse=True))
    rendering = RenderConfig().preview() if preview else RenderConfig()
    work = Path(tempfile.mkdtemp(prefix="videothat-bench-make-"))
    runs = {}
    try:
        for name in ("first", "cached"):
            t0 = time.perf_counter()
            made = make_video(song, [corpus / "videos"], Configs(match=matching, render=rendering),
                              Run(work / "cache"), output=work / "out.mp4", report=True)
            runs[name] = {**made.seconds, "total": time.perf_counter() - t0}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timeline = made.result.timeline
    return {**runs, "segments": len(timeline.segments), "duration": timeline.duration,
            "retimed": sum(abs(c.speed - 1.0) > 1e-9 for c in timeline.segments),
            "analysed": len(made.report.analyses), "skipped": len(made.report.failures),
            "size": f"{rendering.width}x{rendering.height} at {rendering.fps:g} fps"}


def excerpt(song: Path, seconds: float, folder: Path) -> Path:
    """The first ``seconds`` s of ``song`` as a wav in ``folder`` (``song`` itself for 0)."""
    if seconds <= 0:
        return song
    import soundfile

    info = soundfile.info(str(song))
    audio, sr = soundfile.read(str(song), frames=int(seconds * info.samplerate), dtype="float32")
    out = folder / f"{song.stem}_{seconds:g}s.wav"
    soundfile.write(out, audio, sr)
    return out


def in_process(tree: Path, args: argparse.Namespace, song: Path) -> dict:
    """:func:`job` in a fresh process importing ``videothat`` from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, __file__, str(args.corpus), "--worker", str(song)] + (["--preview"] if args.preview
                                                                                     else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tree)
    if done.returncode:
        sys.exit(f"the job at {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_one(result: dict) -> None:
    print(f"{'stage':<14} {'first s':>8} {'cached s':>9}")
    for stage in [*STAGES, "total"]:
        print(f"{stage:<14} {result['first'].get(stage, 0.0):>8.2f} {result['cached'].get(stage, 0.0):>9.2f}")


def print_both(ours: list[dict], theirs: list[dict], rev: str) -> None:
    med = lambda runs, run, stage: statistics.median(r[run].get(stage, 0.0) for r in runs)  # noqa: E731
    print(f"median of {len(ours)} runs each, alternating; ratio = this tree / {rev}\n")
    print(f"{'stage':<14} {'first: here':>12} {rev:>10} {'ratio':>6}   {'cached: here':>12} {rev:>10} {'ratio':>6}")
    for stage in [*STAGES, "total"]:
        cells = []
        for run in ("first", "cached"):
            a, b = med(ours, run, stage), med(theirs, run, stage)
            cells.append(f"{a:>12.2f} {b:>10.2f} {a / b if b > 0 else float('nan'):>6.2f}")
        print(f"{stage:<14} {cells[0]}   {cells[1]}")
    print(f"\nsegments here {ours[0]['segments']} ({ours[0]['retimed']} retimed), at {rev} {theirs[0]['segments']} "
          f"({theirs[0]['retimed']} retimed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--song", default="music/05_electro_pushover_electro.wav")
    parser.add_argument("--seconds", type=float, default=60.0, help="first seconds of the song (0: all of it)")
    parser.add_argument("--against", default="", metavar="REV", help="also run the project at this git revision")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each version with --against")
    parser.add_argument("--preview", action="store_true")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)  # one job, JSON on stdout
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(job(args.worker, args.corpus, args.preview)))
        return 0
    song = args.corpus / args.song
    if not song.exists():
        print(f"{song}: missing; build the corpus with\n  bash scripts/build_corpus.sh {args.corpus}",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="videothat-bench-make-") as tmp:
        clip = excerpt(song, args.seconds, Path(tmp))
        if not args.against:
            result = job(clip, args.corpus, args.preview)
            print(f"song: {song.name} ({result['duration']:.1f} s); videos: {result['analysed']} analysed, "
                  f"{result['skipped']} skipped; {result['segments']} segments; {result['size']}\n")
            print_one(result)
            return 0
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(other), args.against],
                       check=True)
        try:
            ours, theirs = [], []
            for k in range(args.repeats):
                for tree, runs in ((ROOT, ours), (other, theirs))[:: 1 if k % 2 == 0 else -1]:
                    runs.append(in_process(tree, args, clip))
                    print(f"  run {len(ours) + len(theirs)}: {'here' if tree == ROOT else args.against} "
                          f"{runs[-1]['first']['total']:.1f} s / {runs[-1]['cached']['total']:.1f} s", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
        print(f"song: {song.name}, first {ours[0]['duration']:.1f} s; videos: {ours[0]['analysed']} analysed, "
              f"{ours[0]['skipped']} skipped; {ours[0]['size']}")
        print_both(ours, theirs, args.against)
    return 0


if __name__ == "__main__":
    sys.exit(main())
