"""Write training manifests for ``python -m train.fit`` from folders of media.

    python scripts/make_manifest.py PATH... -o train.csv [--val val.csv] [--val-fraction 0.2]
        [--val-match SUBSTRING ...] [--need-video] [--seed 0]

Every media file under PATH (recursively) with an audio stream (and a video stream with
``--need-video``) becomes one whole-file row (path,start,end). With ``--val`` the files are
split by file into a training and a held-out manifest: those whose path contains any
``--val-match`` substring go to validation, else a seeded random ``--val-fraction`` of them;
files of one work should share a folder or name part so they land on one side.
Unusable files are listed on stderr and skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.manifest import Clip, write_manifest  # noqa: E402
from videothat.core.errors import MediaError  # noqa: E402
from videothat.media.discover import find_media  # noqa: E402
from videothat.media.probe import probe  # noqa: E402


def usable(path: Path, need_video: bool) -> Clip | None:
    try:
        info = probe(path)
    except MediaError as exc:
        print(f"skipped {exc}", file=sys.stderr)
        return None
    if info.audio is None or (need_video and info.video is None) or info.duration <= 0:
        print(f"skipped {path}: no {'audio' if info.audio is None else 'video'} stream", file=sys.stderr)
        return None
    return Clip(path, 0.0, info.duration)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--val", type=Path)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--val-match", nargs="*", default=[])
    parser.add_argument("--need-video", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files, missing = find_media(args.paths)
    for exc in missing:
        print(f"skipped {exc}", file=sys.stderr)
    clips = [c for c in (usable(p, args.need_video) for p in files) if c]
    if not clips:
        sys.exit("no usable media found")
    held = np.zeros(len(clips), dtype=bool)
    if args.val:
        if args.val_match:
            held = np.array([any(m in str(c.path) for m in args.val_match) for c in clips])
        else:
            order = np.random.default_rng(args.seed).permutation(len(clips))
            held[order[: max(1, round(args.val_fraction * len(clips)))]] = True
        write_manifest(args.val, [c for c, h in zip(clips, held, strict=True) if h])
    write_manifest(args.output, [c for c, h in zip(clips, held, strict=True) if not h])
    print(f"{args.output}: {int((~held).sum())} files" + (f"; {args.val}: {int(held.sum())} files" if args.val else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
