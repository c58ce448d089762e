"""Shot quality: brightness, sharpness (against OpenCV's Laplacian), perceptual signatures and
near-duplicate groups, batched equal to per item, on every device."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from conftest import VIDEO_FIXTURE
from videothat.core.errors import ParameterError
from videothat.media.frames import sample_frames
from videothat.vision.quality import (
    LUMA,
    brightness,
    hamming,
    near_duplicates,
    sharpness,
    shot_quality,
    signature,
)


@pytest.fixture(scope="module")
def frames() -> torch.Tensor:
    """Six frames of the real hand-held clip, 240x320 (a box, a table, a room)."""
    return sample_frames(VIDEO_FIXTURE, 0.0, 15.0, n=6)


def _blurred(frames: torch.Tensor, sigma: float) -> torch.Tensor:
    return torch.from_numpy(np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in frames.numpy()]))


def test_sharpness_is_the_variance_of_opencvs_laplacian(frames):
    ours = sharpness(frames).numpy()
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames.numpy()]  # luma rounded to uint8
    want = np.array([cv2.Laplacian(g, cv2.CV_64F).var() for g in gray])
    np.testing.assert_allclose(ours, want, rtol=0.03)
    exact = [(f.astype(np.float64) @ np.array(LUMA)) for f in frames.numpy()]  # the same luma, unrounded
    np.testing.assert_allclose(ours, [cv2.Laplacian(g, cv2.CV_64F).var() for g in exact], rtol=1e-4)


def test_a_blurred_frame_is_less_sharp(frames):
    sharp, soft, softer = sharpness(frames), sharpness(_blurred(frames, 1.0)), sharpness(_blurred(frames, 3.0))
    assert (soft < 0.6 * sharp).all() and (softer < 0.5 * soft).all()


def test_brightness_is_mean_luma(frames):
    want = np.array([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).mean() / 255 for f in frames.numpy()])
    np.testing.assert_allclose(brightness(frames).numpy(), want, atol=1 / 255)
    dark = (frames.float() * 0.3).to(torch.uint8)
    assert (brightness(dark) < 0.5 * brightness(frames)).all()
    flat = torch.stack([torch.zeros(8, 8, 3, dtype=torch.uint8), torch.full((8, 8, 3), 255, dtype=torch.uint8)])
    assert brightness(flat).tolist() == [0.0, 1.0]


def test_near_duplicates_find_a_noised_copy_and_separate_other_frames(frames):
    rng = np.random.default_rng(0)
    noised = (frames[0].numpy() + rng.normal(0, 6, frames[0].shape)).clip(0, 255).astype(np.uint8)
    recoded = cv2.imdecode(cv2.imencode(".jpg", frames[3].numpy(), [cv2.IMWRITE_JPEG_QUALITY, 40])[1], 1)
    batch = torch.stack([frames[0], frames[3], torch.from_numpy(noised), frames[5], torch.from_numpy(recoded)])
    sigs = signature(batch)
    assert sigs.shape == (5, 64) and sigs.dtype == torch.bool
    d = hamming(sigs, sigs)
    assert d[0, 2] <= 6 and d[1, 4] <= 6, d  # near: noise, JPEG at quality 40
    assert d[0, 1] >= 16 and d[0, 3] >= 16, d  # other moments of the clip
    assert d[1, 3] > 10, d  # two moments 6 s apart of one continuous shot (the box on the table) differ less
    assert near_duplicates(sigs, 10).tolist() == [0, 1, 0, 2, 1]


def test_hamming_is_a_brute_force_bit_count():
    rng = np.random.default_rng(1)
    a, b = rng.random((7, 64)) < 0.5, rng.random((5, 64)) < 0.5
    want = (a[:, None] != b[None]).sum(-1)
    assert (hamming(torch.from_numpy(a), torch.from_numpy(b)).numpy() == want).all()


def test_near_duplicate_groups_chain_and_number_by_first_appearance():
    sigs = torch.zeros(5, 64, dtype=torch.bool)
    sigs[1, :4] = True  # 4 bits from 0
    sigs[2, :8] = True  # 4 bits from 1, 8 from 0: one group by the chain
    sigs[3, 32:] = True  # far from all
    sigs[4] = sigs[3]
    assert near_duplicates(sigs, 4).tolist() == [0, 0, 0, 1, 1]
    assert near_duplicates(sigs, 0).tolist() == [0, 1, 2, 3, 3]
    assert near_duplicates(sigs[:0], 3).tolist() == []
    with pytest.raises(ParameterError, match="max_distance=65"):
        near_duplicates(sigs, 65)


def test_batched_equals_per_item_on_every_device(frames, device):
    batch = frames.to(device)
    for measure in (brightness, sharpness, signature):
        together = measure(batch).cpu()
        alone = torch.cat([measure(batch[i : i + 1]).cpu() for i in range(len(batch))])
        if together.dtype == torch.bool:
            assert torch.equal(together, alone), measure.__name__
        else:
            torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sharpness(batch).cpu(), sharpness(frames), rtol=1e-4, atol=1e-3)


def test_shot_quality_takes_medians_and_the_middle_frame(frames, device):
    shots = [frames[:3], frames[3:4], frames[4:6]]
    q = shot_quality(shots, device=device)
    assert len(q) == 3 and q.signature.shape == (3, 64)
    b, s = brightness(frames), sharpness(frames)
    torch.testing.assert_close(q.brightness.cpu(), torch.stack([b[:3].median(), b[3], b[4:6].min()]))
    torch.testing.assert_close(q.sharpness.cpu(), torch.stack([s[:3].median(), s[3], s[4:6].min()]),
                               rtol=1e-4, atol=1e-3)  # of two, the lower middle value
    assert torch.equal(q.signature.cpu(), signature(frames[[1, 3, 5]]))


def test_shot_quality_rejects_empty_shots_and_mixed_sizes(frames):
    with pytest.raises(ParameterError, match="shot 1 has no frames"):
        shot_quality([frames[:2], frames[:0]])
    with pytest.raises(ParameterError, match="one size"):
        shot_quality([frames[:2], frames[:2, :100]])
    with pytest.raises(ParameterError, match="uint8"):
        brightness(frames.float())
    assert len(shot_quality([])) == 0
