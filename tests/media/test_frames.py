"""Frame sampling with decord returns the frames at the asked times."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mediagen import write_video
from videothat.core.errors import CorruptMediaError, ParameterError
from videothat.media.frames import VideoFrames, decode_frames, frame_indices, frame_times, sample_frames


def test_frames_come_from_the_asked_times(tmp_path):
    fps, n = 25, 100
    levels = np.linspace(0, 250, n).astype(np.uint8)  # each frame's brightness encodes its index
    frames = np.broadcast_to(levels[:, None, None, None], (n, 32, 48, 3)).copy()
    path = write_video(tmp_path / "ramp.mp4", frames, fps=fps)
    got = sample_frames(path, 1.0, 3.0, n=4, height=16, width=24)
    assert tuple(got.shape) == (4, 16, 24, 3) and got.dtype.is_floating_point is False
    want = levels[np.floor(frame_times(1.0, 3.0, 4) * fps).astype(int)]
    assert np.abs(got.float().mean(dim=(1, 2, 3)).numpy() - want).max() < 4  # codec noise


def test_whole_video_decoding_equals_sampling(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (90, 36, 50, 3), dtype=np.uint8)  # width 50: decord's 32-pixel quirk
    path = write_video(tmp_path / "noise.mp4", frames, fps=30)
    monkeypatch.setattr(VideoFrames, "CHUNK_BYTES", 15 * 36 * 50 * 16)  # chunks of 16 frames
    whole, fps = decode_frames(path, height=20, width=28)
    assert whole.shape == (90, 20, 28, 3) and fps == pytest.approx(30)
    for start, end, n in [(0.0, 3.0, 5), (1.1, 1.9, 3), (2.5, 3.0, 2)]:
        picked = whole[torch.from_numpy(frame_indices(frame_times(start, end, n), fps, len(whole)))]
        assert torch.equal(picked, sample_frames(path, start, end, n=n, height=20, width=28))


def test_frame_times_of_many_spans_equal_each_span():
    starts, ends = np.array([0.0, 1.5, 4.0]), np.array([2.0, 2.0, 9.0])
    each = np.stack([frame_times(a, b, 4) for a, b in zip(starts, ends, strict=True)])
    assert np.array_equal(frame_times(starts, ends, 4), each)


def test_bad_requests(tmp_path):
    with pytest.raises(ParameterError, match=r"\[2.0, 1.0\]"):
        frame_times(np.array([0.0, 2.0]), np.array([1.0, 1.0]), 3)
    with pytest.raises(ParameterError):
        frame_times(2.0, 1.0, 3)
    with pytest.raises(ParameterError):
        frame_times(0.0, 1.0, 0)
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 5000)
    with pytest.raises(CorruptMediaError, match="bad.mp4"):
        sample_frames(tmp_path / "bad.mp4", 0.0, 1.0, n=2)
    with pytest.raises(CorruptMediaError, match="bad.mp4"):
        decode_frames(tmp_path / "bad.mp4", height=8, width=8)
