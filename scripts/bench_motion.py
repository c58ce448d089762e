"""Speed of the visual impact curves: the batched Lucas-Kanade directogram kernel against a
per-frame loop with OpenCV's Farneback flow, on the same decoded frames, in one run.

    python scripts/bench_motion.py ~/videothat-corpus/videos [--height 72] [--device auto]

Frames of every video under the folder are decoded once at ``--height`` pixels (decord; its
time reported apart), then turned into impact curves (a) by ``impact_curves`` (all videos in
one batch of frame pairs on the device) and (b) by a naive loop: ``cv2.calcOpticalFlowFarneback``
per frame pair, a numpy directogram per pair and the same decelerations. Printed: frames per
second of each, their ratio, and how alike the two curves are (Pearson r per video, median):
two different flow methods, so a high r says the curve measures the motion, not the method.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def naive_curve(gray: np.ndarray, bins: int) -> np.ndarray:
    """Impact curve of [N, H, W] uint8 frames with Farneback flow, one pair at a time."""
    import cv2

    directo = []
    for a, b in zip(gray[:-1], gray[1:], strict=True):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 2, 9, 3, 5, 1.1, 0)
        mag = np.hypot(flow[..., 0], flow[..., 1]).ravel()
        index = np.round(np.arctan2(-flow[..., 1], flow[..., 0]).ravel() / (2 * np.pi) * bins).astype(int) % bins
        directo.append(np.bincount(index, weights=mag, minlength=bins) / mag.size)
    d = np.array(directo).reshape(-1, bins)
    out = np.zeros(len(gray))
    if len(gray) > 2:
        out[1:-1] = np.clip(d[:-1] - d[1:], 0, None).sum(1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--height", type=int, default=72)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"{args.folder}: no such folder (build the corpus with bash scripts/build_corpus.sh CORPUS_DIR)",
              file=sys.stderr)
        return 2
    import torch

    from videothat.core.device import resolve_device
    from videothat.core.errors import MediaError
    from videothat.media.discover import VIDEO_EXTENSIONS
    from videothat.media.frames import VideoFrames
    from videothat.vision.motion import MotionConfig, frame_chunks, impact_curves, to_gray

    device, config = resolve_device(args.device), MotionConfig(height=args.height)
    videos, t0 = [], time.perf_counter()
    for path in sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS):
        try:
            video = VideoFrames(path)
        except MediaError as exc:
            print(f"skipped {exc}", file=sys.stderr)
            continue
        videos.append(next(frame_chunks(video, args.height, chunk_frames=max(2, video.count)))[1])  # all, one chunk
    decode_s = time.perf_counter() - t0
    frames = sum(v.shape[0] for v in videos)
    sizes = {tuple(v.shape[1:3]) for v in videos}
    t0 = time.perf_counter()
    batched = [c for size in sizes for c in impact_curves([v.to(device) for v in videos if tuple(v.shape[1:3]) == size],
                                                          config)]
    if device.type == "cuda":
        torch.cuda.synchronize()
    kernel_s = time.perf_counter() - t0
    order = [v for size in sizes for v in videos if tuple(v.shape[1:3]) == size]
    t0 = time.perf_counter()
    naive = [naive_curve((to_gray(v).numpy() * 255).astype(np.uint8), config.bins) for v in order]
    naive_s = time.perf_counter() - t0
    r = [np.corrcoef(a.cpu().numpy(), b)[0, 1] for a, b in zip(batched, naive, strict=True)
         if len(b) > 3 and b.std() > 0]
    print(f"{len(videos)} videos, {frames} frames at height {args.height}; device {device}; "
          f"decode {decode_s:.2f} s ({frames / decode_s:,.0f} frames/s)\n")
    print(f"{'impact curves':<34} {'s':>7} {'frames/s':>10}")
    print(f"{'batched Lucas-Kanade (impact_curves)':<34} {kernel_s:>7.2f} {frames / kernel_s:>10,.0f}")
    print(f"{'naive loop, OpenCV Farneback':<34} {naive_s:>7.2f} {frames / naive_s:>10,.0f}")
    print(f"\nspeed-up {naive_s / kernel_s:.1f}x; curves alike: median Pearson r {np.median(r):.2f} "
          f"(min {np.min(r):.2f}) over {len(r)} videos")
    return 0


if __name__ == "__main__":
    sys.exit(main())
