"""First run against cached run of ``videothat analyze`` on a folder.

    python scripts/bench_analyze.py CORPUS_DIR/videos [--repeats 5]

Runs the real command in subprocesses with a fresh cache: once cold, then ``--repeats``
times over the filled cache (the median is kept). Prints the analysis wall time the
command reports and the whole command's time (Python start-up and imports included), with
the ratios, and a bare interpreter start for scale. A cached run imports neither torch nor
Hydra (the composed config is remembered in the cache folder).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(folder: Path, cache: Path) -> tuple[float, float, str]:
    cmd = [sys.executable, "-m", "videothat.cli", "analyze", str(folder), "--cache-dir", str(cache), "-q"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    total = time.perf_counter() - t0
    match = re.search(r"wall time\s+([\d.]+) s", proc.stdout)
    if not match:
        raise SystemExit(f"analyze failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return float(match.group(1)), total, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=5, help="cached runs (median kept)")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"{args.folder}: no such folder (build the corpus with bash scripts/build_corpus.sh CORPUS_DIR)",
              file=sys.stderr)
        return 2
    cache = Path(tempfile.mkdtemp(prefix="videothat-bench-"))
    try:
        cold, cold_total, summary = run(args.folder, cache)
        warm_runs = sorted((run(args.folder, cache)[:2] for _ in range(max(1, args.repeats))), key=lambda r: r[1])
        warm, warm_total = warm_runs[len(warm_runs) // 2]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare = time.perf_counter() - t0
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(summary.strip())
    print(f"\n{'':<18} {'first run':>10} {'cached':>8} {'ratio':>8}")
    print(f"{'analysis (s)':<18} {cold:>10.2f} {warm:>8.2f} {cold / max(warm, 1e-3):>7.0f}x")
    print(f"{'whole command (s)':<18} {cold_total:>10.2f} {warm_total:>8.3f} {cold_total / warm_total:>7.1f}x")
    print(f"{'python -c pass (s)':<18} {'':>10} {bare:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
