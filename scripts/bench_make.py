"""Wall time of `videothat make` per stage, first run and cached run.

    python scripts/bench_make.py CORPUS_DIR [--song music/05_electro_pushover_electro.wav] [--preview]

Makes a music video for a 2-minute song of the development corpus from all of its videos
(``videos/``, with shot reuse allowed since the corpus has about 2 minutes of footage with
sound), twice with the same fresh cache: cold, then over the filled cache. Prints seconds
per stage: decode, shots, novelty (analysis; decode and shots summed over the worker
threads), match, render, writing the timeline/OTIO/report, and the whole job.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

STAGES = ["decode", "shots", "novelty", "match", "render", "write outputs"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--song", default="music/05_electro_pushover_electro.wav")
    parser.add_argument("--preview", action="store_true")
    args = parser.parse_args()
    song = args.corpus / args.song
    if not song.exists():
        print(f"{song}: missing; build the corpus with\n  bash scripts/build_corpus.sh {args.corpus}",
              file=sys.stderr)
        return 2
    from dataclasses import replace

    from videothat.match.config import MatchConfig
    from videothat.media.config import RenderConfig
    from videothat.pipeline.make import make_video
    from videothat.pipeline.run import Configs, Run

    matching = MatchConfig()
    matching = replace(matching, search=replace(matching.search, reuse=True))
    rendering = RenderConfig().preview() if args.preview else RenderConfig()
    work = Path(tempfile.mkdtemp(prefix="videothat-bench-make-"))
    runs = []
    try:
        for _ in ("first", "cached"):
            t0 = time.perf_counter()
            made = make_video(song, [args.corpus / "videos"], Configs(match=matching, render=rendering),
                              Run(work / "cache"), output=work / "out.mp4", report=True)
            runs.append({**made.seconds, "total": time.perf_counter() - t0})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timeline = made.result.timeline
    print(f"song: {song.name} ({timeline.duration:.1f} s); videos: {len(made.report.analyses)} analysed, "
          f"{len(made.report.failures)} skipped; {len(timeline.segments)} segments; "
          f"{rendering.width}x{rendering.height} at {rendering.fps:g} fps\n")
    print(f"{'stage':<14} {'first s':>8} {'cached s':>9}")
    for stage in [*STAGES, "total"]:
        print(f"{stage:<14} {runs[0].get(stage, 0.0):>8.2f} {runs[1].get(stage, 0.0):>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
