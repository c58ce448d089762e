"""Time-aligned embeddings: the sequence head is local in time; the per-frame visual encoder."""

from __future__ import annotations

import pytest
import torch

from videothat.core.errors import ParameterError
from videothat.vision.encoders import VideoEncoder


def test_frame_encoder_is_aligned_batched_and_unit_length():
    torch.manual_seed(0)
    enc = VideoEncoder(trunk="frames", dim=16, frames=4, size=32, widths=(4, 8), steps=4).eval()
    clips = torch.randint(0, 256, (3, 4, 32, 32, 3), dtype=torch.uint8)
    with torch.no_grad():
        together = enc(clips)
        alone = torch.cat([enc(c[None]) for c in clips])
        late = clips.clone()
        late[0, -1] = 255 - late[0, -1]  # only the last frame of the first clip
        parts = enc.head(enc.trunk((late.permute(0, 4, 1, 2, 3).float() / 255 - enc.mean) / enc.std))
        first = enc.head(enc.trunk((clips.permute(0, 4, 1, 2, 3).float() / 255 - enc.mean) / enc.std))
    assert together.shape == (3, 16) and torch.allclose(together.norm(dim=1), torch.ones(3))
    assert torch.allclose(together, alone, atol=1e-6)
    first, parts = first.view(3, 4, 4), parts.view(3, 4, 4)
    assert torch.equal(first[0, :, :2], parts[0, :, :2]) and not torch.allclose(first[0, :, 3], parts[0, :, 3])
    assert VideoEncoder(**enc.config()).config() == enc.config()


def test_steps_must_fit_the_trunk():
    with pytest.raises(ParameterError, match="steps"):
        VideoEncoder(trunk="frames", dim=16, frames=4, size=32, widths=(4, 8), steps=8)  # more than frames
    with pytest.raises(ParameterError, match="steps"):
        VideoEncoder(trunk="small3d", dim=16, frames=4, size=32, widths=(4, 8), steps=4)  # pools time away
    with pytest.raises(ParameterError, match="steps"):
        VideoEncoder(trunk="frames", dim=16, frames=4, size=32, widths=(4, 8), steps=3)  # does not divide dim


@pytest.mark.parametrize("trunk,steps", [("frames", 4), ("small3d", 0)])
def test_windows_of_one_video_equal_clips_cut_from_it(trunk, steps):
    """Overlapping clips of one video: the per-frame trunk sees each frame once, same result."""
    torch.manual_seed(0)
    enc = VideoEncoder(trunk=trunk, dim=16, frames=4, size=32, widths=(4, 8), steps=steps).eval()
    video = torch.randint(0, 256, (30, 32, 32, 3), dtype=torch.uint8)
    indices = torch.arange(0, 24, 2)[:, None] + torch.tensor([0, 2, 3, 5])  # [12, 4], frames shared
    with torch.no_grad():
        assert torch.allclose(enc.embed_windows(video, indices, batch=5), enc(video[indices]), atol=1e-5)


def test_streamed_picture_windows_equal_clips_sampled_one_by_one(tmp_path):
    import numpy as np

    from mediagen import write_video
    from videothat.media.frames import sample_frames
    from videothat.vision.encoders import embed_video_windows

    rng = np.random.default_rng(0)
    path = write_video(tmp_path / "noise.mp4", rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8), fps=10)
    torch.manual_seed(0)
    enc = VideoEncoder(trunk="frames", dim=16, frames=4, size=32, widths=(4, 8), steps=4).eval()
    starts = np.arange(0.0, 2.0, 0.15)
    streamed = embed_video_windows(enc, path, starts, 1.0, batch=4)  # batches of windows share decoded frames
    with torch.no_grad():
        one_by_one = enc(torch.stack([sample_frames(path, t, t + 1.0, n=4, height=32, width=32) for t in starts]))
    assert np.allclose(streamed, one_by_one.numpy(), atol=1e-5)
    assert embed_video_windows(enc, path, np.zeros(0), 1.0).shape == (0, 16)
