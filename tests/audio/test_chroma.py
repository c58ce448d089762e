"""Chroma beside the novelty: librosa's STFT folded by our filterbank (the independent
reference), pitch classes of known tones, batching, and the block profiles."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from conftest import AUDIO_FIXTURES
from videothat.audio.chroma import block_edges, block_profiles, chroma_filterbank
from videothat.audio.novelty import NoveltyConfig, onset_strength

SR = 22050


def _chroma(waves: list[np.ndarray], device: str = "cpu") -> list[np.ndarray]:
    batch = onset_strength([torch.from_numpy(w) for w in waves], config=NoveltyConfig(), device=device)
    return [c.numpy() for c in batch.unbatch_chroma()]


@pytest.mark.slow
def test_equals_librosa_stft_power_folded(device):
    """Frame t is librosa's centred STFT frame t (zero padding), its power times the filterbank."""
    y = librosa.load(AUDIO_FIXTURES[0], sr=SR, duration=6.0)[0]
    (ours,) = _chroma([y], device)
    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=512, center=True, pad_mode="constant")) ** 2
    want = power.T @ chroma_filterbank(SR, 2048).numpy()
    assert ours.shape == want.shape == (1 + len(y) // 512, 12)
    assert np.abs(ours - want).max() <= 1e-3 * want.max()


@pytest.mark.parametrize(("freqs", "classes"), [([440.0], {9}), ([261.63, 329.63, 392.0], {0, 4, 7}),
                                                ([110.0, 220.0], {9}), ([277.18, 349.23, 415.3], {1, 5, 8})])
def test_tones_land_on_their_pitch_classes(freqs, classes):
    t = np.arange(SR * 2) / SR
    y = sum(0.2 * np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32)
    (c,) = _chroma([y])
    strongest = set(np.argsort(c[10:-10].sum(axis=0))[-len(classes):].tolist())
    assert strongest == classes


def test_batched_equals_one_at_a_time():
    rng = np.random.default_rng(0)
    waves = [librosa.load(p, sr=SR, duration=3.0 + i)[0] for i, p in enumerate(AUDIO_FIXTURES[:3])]
    waves.append((0.1 * rng.standard_normal(3000)).astype(np.float32))
    together = _chroma(waves)
    for wave, got in zip(waves, together, strict=True):
        (alone,) = _chroma([wave])
        assert got.shape == alone.shape
        assert np.abs(got - alone).max() <= 1e-5 * max(1.0, alone.max())


def test_block_profiles_against_a_loop():
    rng = np.random.default_rng(1)
    chroma = rng.random((40, 12)).astype(np.float32) ** 4
    chroma[30:] = 0  # silence: the zero profile
    running = torch.from_numpy(np.concatenate([np.zeros((1, 12), np.float32), np.cumsum(chroma, axis=0)]))
    start, length = torch.tensor([0, 5, 28]), torch.tensor([20, 11, 12])
    edges = block_edges(start, length, 3)
    got = block_profiles(running[edges]).numpy()
    for i, (s, n) in enumerate(zip(start.tolist(), length.tolist(), strict=True)):
        for b in range(3):
            a, z = s + n * b // 3, s + n * (b + 1) // 3
            energy = chroma[a:z].sum(axis=0)
            want = energy / energy.sum() - 1 / 12 if energy.sum() > 0 else np.zeros(12)
            norm = np.linalg.norm(want)
            want = want / norm if norm > 1e-6 else want
            assert np.allclose(got[i, b], want, atol=1e-5), (i, b)
