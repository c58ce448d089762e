"""Visual impact curves: when something on screen stops or turns (visual beats).

In the manner of Davis & Agrawala ("Visual Rhythm and Beat", SIGGRAPH 2018): dense optical
flow between consecutive frames, binned by direction into a *directogram* (per frame, the
flow magnitude moving in each of ``bins`` directions), and its decelerations as impacts:

    impact[t] = sum_b max(0, D[t - 1, b] - D[t, b])

where ``D[t]`` is the directogram of the flow from frame ``t`` to ``t + 1``. Motion in a
direction that stops (a hit, a landing, a step) or reverses gives a peak at the frame where
it happens; steady motion, however fast, gives none.

The flow is Lucas-Kanade's, dense (every pixel, a box window of ``window`` pixels, on frames
blurred to widen its range), computed in closed form with tensor ops: batched over frame
pairs on the device, no per-frame Python loop. Frames are analysed small (``height`` pixels),
where camera-scale motion is a few pixels a frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from videothat.core.errors import ParameterError
from videothat.media.frames import VideoFrames
from videothat.vision.config import MotionConfig

__all__ = ["MotionConfig", "decelerations", "directogram", "directograms", "file_impacts", "impact_curves",
           "optical_flow", "resample", "to_gray", "video_impacts"]

DET_EPS = 1e-6  # relative: pixels whose structure tensor is this close to singular get no flow
# frame-pair pixels per batch (~20 float maps each): large on CUDA; cache-sized on CPU, where
# batches of ~30 small frames ran 1.2x faster than batches of ~1800 (bench_motion.py)
BATCH_PIXELS = {"cuda": 1 << 24, "cpu": 1 << 18}


def to_gray(frames: Tensor) -> Tensor:
    """RGB frames [shape=(..., H, W, 3)] uint8 -> luma [shape=(..., H, W)] float32 in [0, 1]."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=frames.device)
    return (frames.float() @ weights) / 255.0


def _blur(gray: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of [N, H, W] (reflect-padded), every frame in one depthwise conv."""
    if sigma <= 0:
        return gray
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, device=gray.device, dtype=gray.dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    n = gray.shape[0]
    img = F.pad(gray[None], (radius, radius, radius, radius), mode="replicate")  # frames as channels:
    img = F.conv2d(img, kernel.view(1, 1, 1, -1).expand(n, 1, 1, -1), groups=n)  # a depthwise conv is
    return F.conv2d(img, kernel.view(1, 1, -1, 1).expand(n, 1, -1, 1), groups=n)[0]  # ~7x a batch of 1-ch


def optical_flow(first: Tensor, second: Tensor, *, window: int) -> Tensor:
    """Dense Lucas-Kanade flow from ``first`` to ``second`` (both [shape=(N, H, W)] float):
    [shape=(N, 2, H, W)], (dx, dy) in pixels per frame; 0 where the window has no texture."""
    mean = 0.5 * (first + second)
    ix = torch.zeros_like(mean)
    iy = torch.zeros_like(mean)
    ix[:, :, 1:-1] = 0.5 * (mean[:, :, 2:] - mean[:, :, :-2])
    iy[:, 1:-1] = 0.5 * (mean[:, 2:] - mean[:, :-2])
    it = second - first
    terms = torch.stack([ix * ix, ix * iy, iy * iy, ix * it, iy * it], dim=1)  # [N, 5, H, W]
    sxx, sxy, syy, sxt, syt = _box(terms, window).unbind(1)
    det = sxx * syy - sxy * sxy
    ok = det > DET_EPS * (sxx + syy) ** 2 + 1e-12
    safe = torch.where(ok, det, torch.ones_like(det))
    dx = torch.where(ok, (-syy * sxt + sxy * syt) / safe, torch.zeros_like(det))
    dy = torch.where(ok, (sxy * sxt - sxx * syt) / safe, torch.zeros_like(det))
    return torch.stack([dx, dy], dim=1)


def _box(x: Tensor, window: int) -> Tensor:
    """Mean over a ``window`` x ``window`` box of [N, C, H, W], the box clipped at the borders;
    separable (a row pass then a column pass), which equals the 2-D mean over the clipped box."""
    pad = window // 2
    x = F.avg_pool2d(x, (1, window), stride=1, padding=(0, pad), count_include_pad=False)
    return F.avg_pool2d(x, (window, 1), stride=1, padding=(pad, 0), count_include_pad=False)


def directogram(flow: Tensor, bins: int) -> Tensor:
    """Flow [shape=(N, 2, H, W)] -> [shape=(N, bins)]: mean flow magnitude (pixels/frame) per
    direction bin (bin 0 centred on +x, counter-clockwise in image coordinates)."""
    dx, dy = flow.unbind(1)
    magnitude = torch.hypot(dx, dy).flatten(1)
    angle = torch.atan2(-dy, dx).flatten(1)  # image y points down
    index = torch.round(angle / (2 * math.pi) * bins).long() % bins
    out = torch.zeros(flow.shape[0], bins, device=flow.device, dtype=flow.dtype)
    return out.scatter_add_(1, index, magnitude) / magnitude.shape[1]


def directograms(gray: Tensor, config: MotionConfig) -> Tensor:
    """Directograms of the flow between consecutive frames of ``gray`` [shape=(N, H, W)]:
    [shape=(N - 1, bins)], computed in batches of frame pairs."""
    n, h, w = gray.shape
    if n < 2:
        return torch.zeros(0, config.bins, device=gray.device)
    smooth = _blur(gray, config.blur)
    step = max(1, BATCH_PIXELS.get(gray.device.type, BATCH_PIXELS["cpu"]) // (h * w))
    spans = [(a, min(a + step, n - 1)) for a in range(0, n - 1, step)]  # frame pairs a .. b - 1
    parts = [directogram(optical_flow(smooth[a:b], smooth[a + 1 : b + 1], window=config.window), config.bins)
             for a, b in spans]
    return torch.cat(parts)


def decelerations(directo: Tensor, n: int) -> Tensor:
    """Directograms [shape=(max(n - 1, 0), bins)] of ``n`` frames -> impact strength per frame
    [shape=(n,)]: ``impact[t] = sum_b max(0, D[t - 1, b] - D[t, b])`` (0 at the first and last frame)."""
    out = torch.zeros(n, device=directo.device, dtype=directo.dtype)
    if n > 2:
        out[1:-1] = (directo[:-1] - directo[1:]).clamp_min(0).sum(-1)
    return out


def impact_curves(videos: Sequence[Tensor], config: MotionConfig) -> list[Tensor]:
    """Impact curves of several frame sequences (each [shape=(N_i, H, W, 3)] uint8 RGB, all
    of one size) at their frame rate: [shape=(N_i,)] each.

    The sequences are concatenated into one batch of frame pairs; the pairs that straddle
    two sequences are dropped, so each curve equals the one computed alone."""
    if not videos:
        return []
    lengths = [v.shape[0] for v in videos]
    gray = to_gray(torch.cat(list(videos)))
    impact = decelerations(directograms(gray, config), gray.shape[0])  # over the concatenation
    sizes = torch.tensor(lengths, device=impact.device)
    ends = sizes.cumsum(0)
    edges = torch.cat([ends - sizes, ends - 1])
    edges = edges[(edges >= 0) & (edges < impact.numel())]
    impact[edges] = 0  # first and last frames: the only ones a pair across two sequences reaches
    return list(torch.split(impact, lengths))


def resample(curve: Tensor, fps: float, frame_rate: float, n_frames: int) -> Tensor:
    """A curve at ``fps`` (value ``k`` at ``k / fps`` s) read at ``frame_rate`` frames/s,
    linearly interpolated, [shape=(n_frames,)]; past its last frame it ramps to 0 over one frame
    and stays 0."""
    if curve.numel() == 0:
        return curve.new_zeros(n_frames)  # after the last frame the curve falls linearly to 0 over one frame
    position = torch.arange(n_frames, device=curve.device, dtype=torch.float64) * (fps / frame_rate)
    lo = position.floor().long()
    frac = (position - lo).to(curve.dtype)
    padded = torch.cat([curve, curve.new_zeros(2)])
    lo = lo.clamp(max=curve.numel())
    return padded[lo] * (1 - frac) + padded[lo + 1] * frac


def frame_chunks(video: VideoFrames, height: int, *, device: torch.device | str = "cpu",
                 chunk_frames: int = 2048) -> Iterator[tuple[int, Tensor]]:
    """Every frame of ``video`` at ``height`` pixels (width keeping the aspect ratio), as
    (first frame index, frames [shape=(n, H, W, 3)] uint8 on ``device``) chunks of at most
    ``chunk_frames`` frames; consecutive chunks share one frame (the flow of every
    consecutive pair lies in one chunk).

    Raises
    ------
    CorruptMediaError : frames cannot be decoded.
    """
    if chunk_frames < 2:
        raise ParameterError(f"chunk_frames={chunk_frames} must be >= 2")
    width = max(16, round(video.width * height / max(video.height, 1) / 2) * 2)
    a, last = 0, None
    while a == 0 or a < video.count - 1:
        b = min(a + chunk_frames, video.count)
        # the shared frame is kept, not decoded again: reading backwards makes the decoder
        # seek to a keyframe and decode forward, once per chunk
        new = video.get(np.arange(a if last is None else a + 1, b), height=height, width=width).to(device)
        frames = new if last is None else torch.cat([last, new])
        yield a, frames
        if b >= video.count:
            return
        a, last = b - 1, frames[-1:]


def file_impacts(video: VideoFrames, config: MotionConfig, *, device: torch.device | str = "cpu",
                 chunk_frames: int = 2048) -> Tensor:
    """Impact curve of a whole video [shape=(count,)] at its frame rate, every frame
    decoded at ``config.height`` pixels; decoded and computed ``chunk_frames`` frames at a
    time (:func:`frame_chunks`): the result equals :func:`impact_curves` on all frames at
    once, with memory bounded by the chunk.

    Raises
    ------
    CorruptMediaError : frames cannot be decoded.
    """
    parts = [directograms(to_gray(frames), config)
             for _, frames in frame_chunks(video, config.height, device=device, chunk_frames=chunk_frames)]
    return decelerations(torch.cat(parts), video.count)


def video_impacts(path: str | Path, config: MotionConfig, *, device: torch.device | str = "cpu"
                  ) -> tuple[Tensor, float]:
    """(impact curve [shape=(frames,)] at the video's frame rate, that rate in frames/s) of a
    video file, decoded at ``config.height`` pixels (decord) and computed on ``device``.

    Raises
    ------
    MediaNotFoundError, CorruptMediaError : the file has no decodable video stream.
    """
    video = VideoFrames(path)
    return file_impacts(video, config, device=device), video.fps
