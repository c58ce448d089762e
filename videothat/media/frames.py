"""Frame sampling for visual encoders, with decord."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from videothat.errors import CorruptMediaError, ParameterError
from videothat.media.discover import check_file


def frame_times(start: float, end: float, n: int) -> np.ndarray:
    """Centres of ``n`` equal parts of [start, end) in seconds. [shape=(n,)]"""
    if n < 1:
        raise ParameterError(f"n={n} frames must be >= 1")
    if not end > start:
        raise ParameterError(f"shot [{start}, {end}] s must have end > start")
    return start + (np.arange(n) + 0.5) * (end - start) / n


def sample_frames(
    path: str | Path,
    start: float,
    end: float,
    *,
    n: int,
    height: int = -1,
    width: int = -1,
) -> torch.Tensor:
    """``n`` frames evenly spread over [start, end) seconds of a video.

    Parameters
    ----------
    height, width : output size in pixels; -1 keeps the source size. Frames are decoded
        at (about) the source size and resized with antialiased bilinear interpolation
        (decord 0.6 mis-sizes frames whose width is not a multiple of 32, so such
        videos are decoded at the next multiple and resized back).

    Returns
    -------
    [shape=(n, H, W, 3)] uint8 RGB.

    Raises
    ------
    CorruptMediaError : the file has no decodable video stream.
    """
    import decord  # imported here: decord is only needed by visual encoders

    path = check_file(path)
    times = frame_times(start, end, n)
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
        native_h, native_w = reader[0].shape[:2] if len(reader) else (0, 0)
        if native_w % 32:  # decord 0.6 copies rows with 32-pixel alignment: decode wider
            reader = decord.VideoReader(str(path), ctx=decord.cpu(0),
                                        width=-(-native_w // 32) * 32, height=native_h)
    except (decord.DECORDError, RuntimeError) as exc:
        raise CorruptMediaError(path, f"decord cannot read a video stream ({exc})") from exc
    if len(reader) == 0:
        raise CorruptMediaError(path, "video stream has no frames")
    fps = reader.get_avg_fps()
    indices = np.clip(np.floor(times * fps).astype(np.int64), 0, len(reader) - 1)
    try:
        batch = reader.get_batch(indices.tolist()).asnumpy()
    except (decord.DECORDError, RuntimeError) as exc:
        raise CorruptMediaError(path, f"frame decoding failed ({exc})") from exc
    height = native_h if height < 0 else height
    width = native_w if width < 0 else width
    return _resize(torch.from_numpy(batch), height, width)


def _resize(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[N, H, W, 3] uint8 -> [N, height, width, 3] uint8."""
    h, w = frames.shape[1:3]
    size = (height, width)
    if size == (h, w):
        return frames
    x = frames.permute(0, 3, 1, 2).float()
    x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
