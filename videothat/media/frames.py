"""Frame sampling for visual encoders, with decord."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from videothat.core.errors import CorruptMediaError, ParameterError
from videothat.media.discover import check_file


def frame_times(start: float | np.ndarray, end: float | np.ndarray, n: int) -> np.ndarray:
    """Centres of ``n`` equal parts of [start, end) in seconds: [shape=(n,)], or
    [shape=(*start.shape, n)] for arrays of spans (``start``, ``end`` broadcast)."""
    if n < 1:
        raise ParameterError(f"n={n} frames must be >= 1")
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    bad = ~(end > start)
    if bad.any():
        a, b = np.broadcast_arrays(start, end)
        raise ParameterError(f"shot [{a[bad].flat[0]}, {b[bad].flat[0]}] s must have end > start")
    return start[..., None] + (np.arange(n) + 0.5) * (end - start)[..., None] / n


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
    video = VideoFrames(path)
    indices = frame_indices(frame_times(start, end, n), video.fps, video.count)
    return video.get(indices, height=video.height if height < 0 else height, width=video.width if width < 0 else width)


def frame_indices(times: np.ndarray, fps: float, count: int) -> np.ndarray:
    """Index of the frame showing at each of ``times`` (s) in a video of ``count`` frames at
    ``fps``. [shape=times.shape] int64"""
    return np.clip(np.floor(np.asarray(times) * fps).astype(np.int64), 0, count - 1)


def decode_frames(path: str | Path, *, height: int, width: int) -> tuple[torch.Tensor, float]:
    """Every frame of a video at ``height`` x ``width`` (resized as :func:`sample_frames` does,
    in chunks so a long video never sits in memory at full size) and the frame rate:
    ([shape=(N, height, width, 3)] uint8 RGB, fps). ``frames[frame_indices(...)]`` equals
    :func:`sample_frames`' result.

    Raises
    ------
    CorruptMediaError : the file has no decodable video stream.
    """
    video = VideoFrames(path)
    return video.get(np.arange(video.count), height=height, width=width), video.fps


class VideoFrames:
    """One open video stream (decord), read by frame index: ``fps``, ``count`` frames of
    ``height`` x ``width`` pixels.

    Raises
    ------
    CorruptMediaError : the file has no decodable video stream (on opening).
    """

    CHUNK_BYTES = 256e6  # decoded full-size frames (and their float copy while resizing) per chunk

    def __init__(self, path: str | Path) -> None:
        import decord  # imported here: decord is only needed by visual encoders

        self.path = check_file(path)
        try:
            reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0))
            self.height, self.width = reader[0].shape[:2] if len(reader) else (0, 0)
            if self.width % 32:  # decord 0.6 copies rows with 32-pixel alignment: decode wider
                reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0),
                                            width=-(-self.width // 32) * 32, height=self.height)
        except (decord.DECORDError, RuntimeError) as exc:
            raise CorruptMediaError(self.path, f"decord cannot read a video stream ({exc})") from exc
        if len(reader) == 0:
            raise CorruptMediaError(self.path, "video stream has no frames")
        self.reader, self.count, self.fps = reader, len(reader), float(reader.get_avg_fps())

    def get(self, indices: np.ndarray, *, height: int, width: int) -> torch.Tensor:
        """Frames ``indices`` [shape=(n,)] resized to ``height`` x ``width``: [shape=(n, height,
        width, 3)] uint8 RGB, decoded in chunks of about ``CHUNK_BYTES``."""
        import decord

        indices = np.asarray(indices, dtype=np.int64)
        chunk = max(1, int(self.CHUNK_BYTES // (15 * max(1, self.height * self.width))))  # uint8 + float32 x 3
        parts = []
        for a in range(0, len(indices), chunk):
            try:
                batch = self.reader.get_batch(indices[a : a + chunk].tolist()).asnumpy()
            except (decord.DECORDError, RuntimeError) as exc:
                raise CorruptMediaError(self.path, f"frame decoding failed ({exc})") from exc
            parts.append(_resize(torch.from_numpy(batch), height, width))
        return torch.cat(parts) if parts else torch.zeros(0, height, width, 3, dtype=torch.uint8)


def _resize(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[N, H, W, 3] uint8 -> [N, height, width, 3] uint8."""
    h, w = frames.shape[1:3]
    size = (height, width)
    if size == (h, w):
        return frames
    x = frames.permute(0, 3, 1, 2).float()
    x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
