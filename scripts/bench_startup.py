"""Whole-command time of ``videothat analyze FOLDER``: a first run (empty cache) against
runs served from the cache, start-up included, side by side in one run.

    python scripts/bench_startup.py ~/videothat-corpus/videos [--repeats 5]

A cached run imports neither torch nor Hydra (the composed config is remembered in the
cache folder), so it should take a small fraction of the first run; the table gives the
median of ``--repeats`` cached runs and the ratio, and the bare interpreter start for scale.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: some file failed (reported), still a finished run
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="media folder to analyse (e.g. CORPUS/videos)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not args.folder.exists():
        print(f"{args.folder}: missing; build the corpus with\n  bash ../shared/data/build_corpus.sh ~/videothat-corpus",
              file=sys.stderr)
        return 2
    exe = [sys.executable, "-m", "videothat.cli", "analyze", str(args.folder), "-q"]
    work = Path(tempfile.mkdtemp(prefix="videothat-bench-startup-"))
    try:
        bare = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(args.repeats))
        first = timed([*exe, "--cache-dir", str(work / "cache")])
        cached = statistics.median(timed([*exe, "--cache-dir", str(work / "cache")]) for _ in range(args.repeats))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'run':<28} {'seconds':>8}")
    print(f"{'python -c pass':<28} {bare:>8.3f}")
    print(f"{'analyze, first (no cache)':<28} {first:>8.3f}")
    print(f"{'analyze, cached (median)':<28} {cached:>8.3f}")
    print(f"\ncached run {first / cached:.1f}x faster than the first (whole command, start-up included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
