"""Spectral novelty against librosa.onset.onset_strength (the independent reference)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from conftest import AUDIO_FIXTURES
from videothat.audio.novelty import NoveltyConfig, SpectralNovelty, onset_strength
from videothat.core.errors import ParameterError

SR = 22050


@pytest.fixture(scope="module")
def fixture_audio() -> dict[str, np.ndarray]:
    return {p.name: librosa.load(p, sr=SR)[0] for p in AUDIO_FIXTURES}


def _ours(y: np.ndarray, device: str = "cpu", **kw) -> np.ndarray:
    batch = onset_strength([torch.from_numpy(y)], config=NoveltyConfig(**kw), device=device)
    return batch.unbatch()[0].numpy()


def _assert_parity(ours: np.ndarray, ref: np.ndarray) -> None:
    assert ours.shape == ref.shape
    assert np.corrcoef(ours, ref)[0, 1] >= 0.995
    # float32 vs librosa's float32/float64 mix: differences are ~1e-6 of the range
    assert np.abs(ours - ref).max() <= 1e-4 * np.ptp(ref)


@pytest.mark.parametrize("name", [p.name for p in AUDIO_FIXTURES])
def test_matches_librosa_defaults(fixture_audio, name, device):
    y = fixture_audio[name]
    _assert_parity(_ours(y, device), librosa.onset.onset_strength(y=y, sr=SR))


@pytest.mark.parametrize(
    "kw",
    [
        dict(lag=2, max_size=3),
        dict(max_size=4),  # even filter width: scipy's asymmetric window
        dict(detrend=True),
        dict(center=False),
        dict(n_fft=1024, hop_length=256, n_mels=64, fmin=30.0, fmax=8000.0),
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()),
)
def test_matches_librosa_options(fixture_audio, kw, device):
    y = fixture_audio["rock_war_of_freedom_30s.ogg"]
    _assert_parity(_ours(y, device, **kw), librosa.onset.onset_strength(y=y, sr=SR, **kw))


def test_matches_librosa_top_db(fixture_audio):
    y = fixture_audio["electro_pushover_20s.ogg"]
    S = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR), top_db=30.0)
    _assert_parity(_ours(y, top_db=30.0), librosa.onset.onset_strength(S=S, sr=SR))


def test_batched_equals_one_at_a_time(fixture_audio, device):
    rng = np.random.default_rng(1)
    song = np.concatenate(list(fixture_audio.values()))
    cuts = np.sort(rng.choice(song.size, 12, replace=False))
    pieces = [torch.from_numpy(p) for p in np.split(song, cuts) if p.size]
    pieces.append(torch.from_numpy(song[:300]))  # shorter than one FFT frame
    config = NoveltyConfig()
    batch = onset_strength(pieces, config=config, device=device)
    singles = [onset_strength([p], config=config, device=device).unbatch()[0] for p in pieces]
    for got, want, p in zip(batch.unbatch(), singles, pieces, strict=True):
        assert got.shape[0] == config.n_frames(p.shape[0])
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


def test_padded_tensor_input_equals_list(fixture_audio):
    y = torch.from_numpy(fixture_audio["boogie_A_fluidr3_20s.ogg"])
    lengths = [y.shape[0], 50_000, 123_457]
    padded = torch.zeros(3, y.shape[0])
    for i, n in enumerate(lengths):
        padded[i, :n] = y[:n]
    novelty = SpectralNovelty(NoveltyConfig())
    a, b = novelty(padded, lengths), novelty([y[:n] for n in lengths])
    torch.testing.assert_close(a.curves, b.curves)
    assert a.lengths.tolist() == [1 + n // 512 for n in lengths]
    assert (a.curves[1, a.lengths[1] :] == 0).all()


def test_silence_gives_zero_curve():
    batch = onset_strength([torch.zeros(SR * 2)], config=NoveltyConfig())
    assert torch.isfinite(batch.curves).all() and (batch.curves == 0).all()


def test_onsets_land_where_the_clicks_are():
    from mediagen import clicks

    times = [0.5, 1.25, 2.0, 2.6]
    curve = _ours(clicks(3.0, SR, times)[0])
    peaks = librosa.util.peak_pick(curve, pre_max=3, post_max=3, pre_avg=3, post_avg=5, delta=0.5, wait=5)
    found = peaks * 512 / SR
    assert len(found) == len(times)
    assert np.abs(found - times).max() < 2 * 512 / SR


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(hop_length=-512), "hop_length"),
        (dict(n_fft=256, hop_length=512), "hop_length"),
        (dict(lag=0), "lag"),
        (dict(max_size=0), "max_size"),
        (dict(fmax=20000.0), "fmax"),
        (dict(n_mels=2.5), "n_mels"),
        (dict(top_db=-1.0), "top_db"),
    ],
)
def test_bad_parameters_name_the_value(kw, word):
    with pytest.raises(ParameterError, match=word):
        NoveltyConfig(**kw)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="at least one"):
        onset_strength([], config=NoveltyConfig())
    with pytest.raises(ParameterError, match="1-D"):
        onset_strength([torch.zeros(2, 100)], config=NoveltyConfig())


def test_edge_frames_are_where_a_cut_clip_differs_from_the_whole():
    """Past edge_frames, the curve of a clip cut from a real recording equals the whole
    recording's curve at the same time; at edge_frames - 1 it does not."""
    from videothat.audio.novelty import edge_frames
    from videothat.media.audio import decode_audio

    config = NoveltyConfig()
    n = edge_frames(config)
    assert 0 < n < 16
    y = torch.from_numpy(decode_audio(AUDIO_FIXTURES[0], config.sample_rate))
    whole = onset_strength([y], config=config).unbatch()[0]
    for start in (100, 257):
        cut = onset_strength([y[start * config.hop_length :]], config=config).unbatch()[0]
        same = torch.isclose(cut[:60], whole[start : start + 60], rtol=1e-3, atol=1e-3 * float(whole.max()))
        assert bool(same[n:].all()) and not bool(same[n - 1])
