"""Unit descriptors (mosaic mode) against librosa's mel spectrogram, unit by unit."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from mediagen import FIXTURES
from videothat.audio.units import LOG_FLOOR, N_FFT, unit_descriptors
from videothat.core.errors import ParameterError
from videothat.media.audio import decode_audio

SR = 22050


def test_descriptors_equal_librosa_per_unit(device):
    x = decode_audio(FIXTURES / "electro_pushover_20s.ogg", SR)[: 3 * SR]
    short = x[: SR // 2 + 100]
    (shape, loud), (shape2, _) = unit_descriptors([torch.from_numpy(x), torch.from_numpy(short)], sample_rate=SR,
                                                  unit_rate=25.0, n_mels=40, device=device)
    hop = round(SR / 25)
    assert shape.shape == (len(x) // hop, 40) and shape2.shape == (len(short) // hop, 40)
    padded = np.pad(x, ((N_FFT - hop) // 2, N_FFT))
    for u in (0, 7, shape.shape[0] - 1):
        window = padded[u * hop : u * hop + N_FFT]
        power = librosa.feature.melspectrogram(y=window, sr=SR, n_fft=N_FFT, hop_length=N_FFT, n_mels=40,
                                               center=False, power=2.0)[:, 0]
        log = np.log(power + LOG_FLOOR)
        np.testing.assert_allclose(shape[u].cpu().numpy(), log - log.mean(), atol=2e-3)
        assert abs(float(loud[u]) - log.mean()) < 2e-3
    ((alone, _),) = unit_descriptors([torch.from_numpy(short)], sample_rate=SR, unit_rate=25.0, n_mels=40,
                                     device=device)
    np.testing.assert_allclose(shape2.cpu().numpy(), alone.cpu().numpy(), atol=1e-4)  # batched = alone


def test_loudness_moves_and_shape_stays_under_gain():
    x = torch.from_numpy(decode_audio(FIXTURES / "rock_war_of_freedom_30s.ogg", SR)[: 2 * SR])
    (a, la), (b, lb) = unit_descriptors([x, 0.1 * x], sample_rate=SR, unit_rate=25.0, n_mels=40)
    torch.testing.assert_close(a, b, atol=1e-3, rtol=0)
    torch.testing.assert_close(la - lb, torch.full_like(la, float(np.log(100.0))), atol=1e-3, rtol=0)


def test_bad_unit_rates_are_refused():
    with pytest.raises(ParameterError, match="unit_rate"):
        unit_descriptors([torch.zeros(SR)], sample_rate=SR, unit_rate=5.0, n_mels=40)


def test_window_statistics_equal_a_loop_with_silence_past_the_end(device):
    from videothat.audio.units import prefix_sums, window_statistics

    rng = np.random.default_rng(3)
    frames = torch.from_numpy(rng.standard_normal((30, 5)).astype(np.float32))
    bounds = torch.tensor([[12, 12, 30], [30, 30, 12]])  # two sounds: frames 0..11 and 12..29
    starts = torch.tensor([[0, 9, 12], [20, 28, 11]])
    lengths = torch.tensor([[4, 6, 1], [10, 5, 3]])
    got = window_statistics(prefix_sums(frames.to(device)), bounds.to(device), starts.to(device), lengths.to(device),
                            spread=True)
    assert got.shape == (2, 3, 10)
    for i, j in np.ndindex(2, 3):
        a, n, end = int(starts[i, j]), int(lengths[i, j]), int(bounds[i, j])
        seen = np.zeros((n, 5))
        seen[: max(0, min(n, end - a))] = frames.numpy()[a : min(a + n, end)]  # silence (0) past the end
        np.testing.assert_allclose(got[i, j].cpu().numpy(), np.concatenate([seen.mean(0), seen.std(0)]), atol=1e-5)
    means = window_statistics(prefix_sums(frames), bounds, starts, torch.ones_like(starts), spread=False)
    np.testing.assert_allclose(means.numpy(), frames.numpy()[starts.numpy()], atol=1e-6)  # one frame: itself


@pytest.mark.parametrize("longest", [1, 3, 7, 100])
def test_unit_starts_split_long_units_evenly(longest):
    from videothat.audio.units import unit_starts

    onsets = np.array([4, 4, 9, 25, 26, 60])  # a repeat; the last one past the end
    starts = unit_starts(onsets, 40, longest=longest)
    edges = [0, 4, 9, 25, 26, 40]
    want = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        parts = -(-(b - a) // longest)
        want += [a + k * (b - a) // parts for k in range(parts)]
    assert starts.tolist() == want
    assert np.diff(np.append(starts, 40)).max() <= longest
    assert unit_starts(np.zeros(0, np.int64), 0, longest=5).size == 0
    with pytest.raises(ParameterError, match="longest"):
        unit_starts(onsets, 40, longest=0)
