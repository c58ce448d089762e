"""Batched degradations: measured against their definitions, reproducible from a seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import AUDIO_FIXTURES
from videothat.audio.augment import AugmentConfig, augment, mix_at_snr, random_eq, reverberate
from videothat.core.errors import ParameterError
from videothat.media.audio import decode_audio

SR = 22050


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    waves = [decode_audio(p, SR)[SR : 3 * SR] for p in AUDIO_FIXTURES]
    return torch.from_numpy(np.stack(waves))


def test_mix_reaches_the_asked_snr(batch, device):
    x = batch.to(device)
    noise = torch.randn(x.shape, generator=torch.Generator(device).manual_seed(1), device=device)
    snr = torch.tensor([0.0, 5.0, 10.0, 20.0], device=device)[: x.shape[0]]
    y = mix_at_snr(x, noise, snr)
    measured = 10 * torch.log10(x.pow(2).mean(1) / (y - x).pow(2).mean(1))
    assert torch.allclose(measured, snr, atol=1e-3)


def test_eq_low_pass_removes_the_top(batch):
    config = AugmentConfig(lowpass_hz=(2000.0, 2000.0), highpass_hz=(20.0, 20.0), tilt_db=0.0)
    y = random_eq(batch, SR, config, torch.Generator().manual_seed(0))
    f = np.fft.rfftfreq(batch.shape[1], 1 / SR)
    top = f > 4000  # an octave above the cut-off: 4th order -> 24 dB down
    before = np.abs(np.fft.rfft(batch.numpy()))[:, top] ** 2
    after = np.abs(np.fft.rfft(y.numpy()))[:, top] ** 2
    assert np.all(10 * np.log10(after.sum(1) / before.sum(1)) < -23)


def test_reverb_keeps_length_and_level_and_smears(batch):
    y = reverberate(batch, SR, torch.full((batch.shape[0],), 0.8), torch.Generator().manual_seed(0))
    assert y.shape == batch.shape
    assert torch.allclose(y.pow(2).mean(1), batch.pow(2).mean(1), rtol=1e-3)
    assert float(torch.nn.functional.cosine_similarity(y, batch, dim=1).mean()) < 0.95


def test_augment_is_reproducible_and_per_item(batch):
    config = AugmentConfig()
    a = augment(batch, SR, config, torch.Generator().manual_seed(5))
    b = augment(batch, SR, config, torch.Generator().manual_seed(5))
    c = augment(batch, SR, config, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == batch.shape and a.abs().max() <= 1.0


@pytest.mark.parametrize("bad", [{"p_noise": 1.5}, {"gain_db": (6.0, -6.0)}, {"rt60_s": (0.0, 1.0)}])
def test_bad_augment_values_name_the_key(bad):
    with pytest.raises(ParameterError, match=next(iter(bad))):
        AugmentConfig(**bad)
