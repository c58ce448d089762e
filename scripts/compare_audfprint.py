"""audfprint (Ellis's landmark identifier) on the very queries of ``eval_retrieval.py``.

    python scripts/compare_audfprint.py CORPUS_DIR --audfprint DIR [--pythonpath DIR] [--density 100]
        [--queries 40] [--lengths 2 5 10] [--seed 0]

``DIR``: a checkout of https://github.com/dpwe/audfprint (not a VideoThat dependency; its own
needs, docopt, joblib and psutil, can live in a folder passed as ``--pythonpath``). The
tracks, the excerpts and their degradations are ``eval_retrieval.py``'s (same seed and
arguments give the same queries), written as WAV files; audfprint indexes every track
(``new -n DENSITY``) and answers every query in one ``match -i 4`` call (4 query shifts, as
VideoThat's landmark queries use). Printed per split x degradation x length: top-1 strict /
repeat-aware (``eval_retrieval.is_right``), build time, database size, seconds per query in
the batched call, and the wall time of one ``audfprint match`` call on one query.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from eval_retrieval import SR, find_tracks, is_right, make_queries

from videothat.media.audio import decode_audio
from videothat.media.synthetic import write_audio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--audfprint", type=Path, required=True, help="checkout of dpwe/audfprint")
    parser.add_argument("--pythonpath", default="", help="extra PYTHONPATH for audfprint's dependencies")
    parser.add_argument("--density", default="100", help="audfprint -n: target hashes per second (its default: 20)")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--lengths", type=float, nargs="+", default=[2, 5, 10])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    script = args.audfprint / "audfprint.py"
    if not script.is_file():
        parser.error(f"{script}: not found (clone https://github.com/dpwe/audfprint there)")
    paths, splits = find_tracks(args.corpus)
    tracks = [decode_audio(p, SR) for p in paths]
    env = dict(os.environ, PYTHONPATH=args.pythonpath)
    command = [sys.executable, str(script)]
    with tempfile.TemporaryDirectory(prefix="audfprint-") as tmp:
        work = Path(tmp)
        queries = make_queries(tracks, splits, args.lengths, args.queries, args.seed, work)
        db, listing = work / "db.pklz", work / "tracks.txt"
        listing.write_text("\n".join(str(p) for p in paths))
        t0 = time.perf_counter()
        subprocess.run([*command, "new", "-d", str(db), "-n", args.density, "-l", str(listing)], check=True, env=env,
                       capture_output=True)
        built = time.perf_counter() - t0
        files = [write_audio(work / f"q{k}.wav", q.audio[None], sr=SR) for k, q in enumerate(queries)]
        (work / "queries.txt").write_text("\n".join(map(str, files)))
        t0 = time.perf_counter()
        out = subprocess.run([*command, "match", "-d", str(db), "-n", args.density, "-i", "4", "-l",
                              str(work / "queries.txt")], check=True, env=env, capture_output=True, text=True).stdout
        per_query = (time.perf_counter() - t0) / len(queries)
        t0 = time.perf_counter()
        subprocess.run([*command, "match", "-d", str(db), "-n", args.density, "-i", "4", str(files[0])], check=True,
                       env=env, capture_output=True)
        one_call = time.perf_counter() - t0
        size = db.stat().st_size
    number = {str(p): i for i, p in enumerate(paths)}
    answers = {}
    for line in out.splitlines():
        m = re.match(r"Matched\s+(\S+)\s.*?as\s+(\S+)\s+at\s+(-?[\d.]+)\s+s", line)
        if m:
            answers[m.group(1)] = (number.get(m.group(2), -1), float(m.group(3)))
    results: dict[tuple, list] = {}
    for q, f in zip(queries, files, strict=True):
        track, offset = answers.get(str(f), (-1, 0.0))
        results.setdefault((q.split, q.degradation, q.length), []).append(
            is_right(q, track, offset, tracks) if track >= 0 else (False, False))
    print(f"audfprint -n {args.density}: build {built:.1f} s, database {size / 1e6:.1f} MB, "
          f"{1000 * per_query:.0f} ms per query in one batched call, one CLI call {one_call:.2f} s\n")
    print("top-1 strict / repeat-aware\n")
    print("| split | degradation | " + " | ".join(f"{x:g} s" for x in args.lengths) + " |")
    print("|---|---|" + "---|" * len(args.lengths))
    for key in dict.fromkeys(k[:2] for k in results):
        cells = [" / ".join(f"{v:.2f}" for v in np.array(results[(*key, x)]).mean(axis=0)) for x in args.lengths]
        print("| " + " | ".join(key) + " | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
