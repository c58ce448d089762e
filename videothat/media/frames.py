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
    path = check_file(path)
    reader, native_h, native_w = _open(path)
    indices = frame_indices(frame_times(start, end, n), reader.get_avg_fps(), len(reader))
    batch = _get(reader, path, indices)
    return _resize(torch.from_numpy(batch), native_h if height < 0 else height, native_w if width < 0 else width)


def frame_indices(times: np.ndarray, fps: float, count: int) -> np.ndarray:
    """Index of the frame showing at each of ``times`` (s) in a video of ``count`` frames at
    ``fps``. [shape=times.shape] int64"""
    return np.clip(np.floor(np.asarray(times) * fps).astype(np.int64), 0, count - 1)


def decode_frames(path: str | Path, *, height: int, width: int, chunk: int = 64) -> tuple[torch.Tensor, float]:
    """Every frame of a video at ``height`` x ``width`` (resized as :func:`sample_frames` does,
    ``chunk`` frames at a time so a long video never sits in memory at full size) and the
    frame rate: ([shape=(N, height, width, 3)] uint8 RGB, fps). ``frames[frame_indices(...)]``
    equals :func:`sample_frames`' result.

    Raises
    ------
    CorruptMediaError : the file has no decodable video stream.
    """
    path = check_file(path)
    reader, _, _ = _open(path)
    parts = [_resize(torch.from_numpy(_get(reader, path, np.arange(a, min(a + chunk, len(reader))))), height, width)
             for a in range(0, len(reader), chunk)]
    return torch.cat(parts), float(reader.get_avg_fps())


def _open(path: Path):
    """(decord reader, native height, native width); the reader has at least one frame."""
    import decord  # imported here: decord is only needed by visual encoders

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
    return reader, native_h, native_w


def _get(reader, path: Path, indices: np.ndarray) -> np.ndarray:
    """Frames ``indices`` of ``reader``: [shape=(len(indices), H, W, 3)] uint8."""
    import decord

    try:
        return reader.get_batch(indices.tolist()).asnumpy()
    except (decord.DECORDError, RuntimeError) as exc:
        raise CorruptMediaError(path, f"frame decoding failed ({exc})") from exc


def _resize(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[N, H, W, 3] uint8 -> [N, height, width, 3] uint8."""
    h, w = frames.shape[1:3]
    size = (height, width)
    if size == (h, w):
        return frames
    x = frames.permute(0, 3, 1, 2).float()
    x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
