"""Fingerprint encoders against brute-force references; invariances; batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import AUDIO_FIXTURES
from videothat.audio.config import NoveltyConfig
from videothat.index.config import IndexConfig, RhythmConfig, TimbreConfig
from videothat.index.encoders import RhythmEncoder, TimbreEncoder, build_encoder, encoder_from_description
from videothat.index.fingerprint import timbre_fingerprints
from videothat.media.audio import decode_audio

SR = 22050


@pytest.fixture(scope="module")
def music() -> torch.Tensor:
    return torch.from_numpy(decode_audio(next(p for p in AUDIO_FIXTURES if "rock" in p.name), SR))


def brute_force_timbre(log_mel: np.ndarray, frames: int, window: int, hop: int, blocks: int) -> np.ndarray:
    """One window at a time, one block at a time (loops, float64)."""
    block = window // blocks
    out = []
    for start in range(0, frames - block * blocks + 1, hop):
        pooled = np.array([log_mel[:, start + b * block : start + (b + 1) * block].mean(axis=1)
                           for b in range(blocks)]).T  # (F, blocks)
        pooled -= pooled.mean(axis=1, keepdims=True)
        vec = pooled.T.ravel()
        out.append(vec / np.linalg.norm(vec))
    return np.array(out)


def test_timbre_fingerprints_match_brute_force(device):
    rng = np.random.default_rng(0)
    log_mel = rng.standard_normal((2, 6, 120)).astype(np.float32)
    frames = torch.tensor([120, 77])
    vectors, valid = timbre_fingerprints(torch.from_numpy(log_mel).to(device), frames.to(device),
                                         window=22, hop=5, blocks=4)
    for item, n in enumerate(frames.tolist()):
        expected = brute_force_timbre(log_mel[item].astype(np.float64), n, 22, 5, 4)
        got = vectors[item][valid[item]].cpu().numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_timbre_is_gain_invariant_and_batched_equals_single(music, device):
    encoder = TimbreEncoder(TimbreConfig(), sample_rate=SR, device=device)
    clips = [music[: 7 * SR], music[3 * SR : 5 * SR + 123], 0.1 * music[: 7 * SR]]
    batched = encoder.encode(clips)
    singles = [encoder.encode([c])[0] for c in clips]
    for (bv, bs), (sv, ss) in zip(batched, singles, strict=True):
        np.testing.assert_allclose(bv, sv, atol=2e-4)
        np.testing.assert_array_equal(bs, ss)
    (v, starts), _, (quiet, _) = batched
    assert v.shape[1] == encoder.dim == 8 * 32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(v * quiet, axis=1)) > 0.999  # -20 dB: the same fingerprints
    np.testing.assert_allclose(np.diff(starts), encoder.hop)
    assert starts[-1] + encoder.config.window <= 7.0 + 1e-6


def test_rhythm_encoder_windows_librosa_novelty(music):
    import librosa

    encoder = RhythmEncoder(RhythmConfig(window=2.0, hop=0.5, edge=False), NoveltyConfig())  # edges: test_store
    ((vectors, starts),) = encoder.encode([music[: 10 * SR]])
    curve = librosa.onset.onset_strength(y=music[: 10 * SR].numpy(), sr=SR)
    size, hop = vectors.shape[1], round(0.5 * SR / 512)
    for i in (0, 5, len(starts) - 1):
        window = curve[i * hop : i * hop + size]
        assert float(vectors[i] @ ((window - window.mean()) / np.linalg.norm(window - window.mean()))) > 0.9999


@pytest.mark.parametrize("name", ["rhythm", "timbre"])
def test_encoder_rebuilt_from_its_description(music, name):
    encoder = build_encoder(IndexConfig(encoder=name), NoveltyConfig())
    again = encoder_from_description(encoder.describe())
    ((a, _),), ((b, _),) = encoder.encode([music[: 5 * SR]]), again.encode([music[: 5 * SR]])
    assert a.shape[1] == encoder.dim and np.array_equal(a, b)


def test_clips_shorter_than_a_window_give_no_fingerprints():
    encoder = TimbreEncoder(TimbreConfig(), sample_rate=SR)
    ((v, s),) = encoder.encode([torch.zeros(SR // 2)])
    assert v.shape == (0, encoder.dim) and s.size == 0
