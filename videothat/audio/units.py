"""Descriptors of short units of sound (mosaic mode): log-mel spectra per frame, and their
statistics over units of any length.

Frames: frame ``f`` of a sound covers samples ``[f * hop, (f + 1) * hop)`` (``hop =
round(sample_rate / frame_rate)``) and is described by the mel spectrum of an
``n_fft``-sample Hann window centred on it (zero-padded at the ends): the log of each band's
power less the mean over the bands (its spectral shape, whatever its loudness), with the
mean itself returned as the frame's loudness. Sounds are batched on the device, grouped by
length so that padding stays small and memory bounded.

Units: a unit is a run of frames ``[start, start + length)``. Its descriptor is the mean of
its frames' shapes and, with ``spread``, their standard deviation (:func:`window_statistics`,
from prefix sums computed once: any number of windows of any length in one gather). A one-frame unit's
descriptor is that frame's shape. Onset units start at the sound's onsets
(:func:`unit_starts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torchaudio
from torch import Tensor

from videothat.core.batching import length_chunks
from videothat.core.errors import ParameterError

N_FFT = 2048  # samples of each frame's window (93 ms at 22050 Hz: a frame and its surroundings)
LOG_FLOOR = 1e-10  # power added before the log (silence gives a flat spectrum, shape 0)
SAMPLE_BUDGET = 1 << 24  # padded samples per device batch (64 MB of float32 input)


def unit_descriptors(sounds: Sequence[Tensor], *, sample_rate: int, unit_rate: float, n_mels: int,
                     device: torch.device | str = "cpu") -> list[tuple[Tensor, Tensor]]:
    """(shape [shape=(U_i, n_mels)], loudness [shape=(U_i,)]) float32 per mono sound [shape=(n_i,)],
    one row per frame of ``1 / unit_rate`` s, ``U_i = n_i // hop`` frames (on ``device``)."""
    hop = round(sample_rate / unit_rate)
    if hop < 1 or hop > N_FFT:
        raise ParameterError(f"unit_rate={unit_rate} gives units of {hop} samples at {sample_rate} Hz; "
                             f"need 1 .. {N_FFT}")
    if not sounds:
        return []
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=sample_rate, n_fft=N_FFT, hop_length=hop, n_mels=n_mels,
                                               center=False, power=2.0, norm="slaney", mel_scale="slaney").to(device)
    units = [int(s.numel()) // hop for s in sounds]
    out: list[tuple[Tensor, Tensor]] = [None] * len(sounds)  # type: ignore[list-item]
    for chunk in length_chunks([u * hop for u in units], SAMPLE_BUDGET):
        if max(units[i] for i in chunk) == 0:  # sounds shorter than one unit: no units
            for i in chunk:
                out[i] = (torch.zeros(0, n_mels, device=device), torch.zeros(0, device=device))
            continue
        for i, described in zip(chunk, _describe_batch([sounds[i] for i in chunk], [units[i] for i in chunk], mel,
                                                       hop, device), strict=True):
            out[i] = described
    return out


def _describe_batch(sounds: Sequence[Tensor], units: Sequence[int], mel: torch.nn.Module, hop: int,
                    device: torch.device | str) -> list[tuple[Tensor, Tensor]]:
    """:func:`unit_descriptors` of sounds padded into one batch."""
    longest = max(units) * hop
    left = (N_FFT - hop) // 2
    batch = torch.zeros(len(sounds), longest + N_FFT - hop, device=device)  # left + longest + the right pad
    for i, s in enumerate(sounds):  # one copy per sound into the padded batch
        batch[i, left : left + units[i] * hop] = s[: units[i] * hop].to(device)
    log = torch.log(mel(batch) + LOG_FLOOR).transpose(1, 2)  # [B, frames, n_mels]
    loudness = log.mean(dim=-1)
    shape = log - loudness[..., None]
    return [(shape[i, : units[i]].contiguous(), loudness[i, : units[i]].contiguous()) for i in range(len(sounds))]


def prefix_sums(frames: Tensor) -> tuple[Tensor, Tensor]:
    """Running sums of frame descriptors [shape=(N, D)] and of their squares, float64, each
    [shape=(N + 1, D)] with a zero row first: the sum over frames ``a .. b - 1`` is
    ``sums[b] - sums[a]``. Computed once, they serve any number of :func:`window_statistics`."""
    zero = torch.zeros(1, frames.shape[1], dtype=torch.float64, device=frames.device)
    x = frames.double()
    return torch.cat([zero, x.cumsum(dim=0)]), torch.cat([zero, (x * x).cumsum(dim=0)])


def window_statistics(prefix: tuple[Tensor, Tensor], bounds: Tensor, starts: Tensor, lengths: Tensor, *,
                      spread: bool) -> Tensor:
    """Mean (and, with ``spread``, standard deviation) of frame descriptors over windows.

    Parameters
    ----------
    prefix : :func:`prefix_sums` of the frames [shape=(N, D)] (several sounds' frames one after another)
    bounds : [shape=(...)] int64, the end (exclusive) of the sound each window lies in;
        frames from there on count as silence (descriptor 0): a window may run past its sound
    starts, lengths : [shape=(...)] int64, each window's first frame and length (>= 1)

    Returns
    -------
    [shape=(..., D)] means, or [shape=(..., 2 D)] means then standard deviations.
    """
    first, second = prefix
    # pack batch
    shape = starts.shape
    starts, lengths, bounds = starts.reshape(-1), lengths.reshape(-1), bounds.reshape(-1)
    ends = torch.minimum(starts + lengths, bounds).clamp(min=starts)
    n = lengths.double()[:, None]
    mean = (first[ends] - first[starts]) / n
    if not spread:
        return mean.float().reshape(*shape, -1)
    square = (second[ends] - second[starts]) / n
    std = (square - mean * mean).clamp(min=0.0).sqrt()
    # unpack batch
    return torch.cat([mean, std], dim=-1).float().reshape(*shape, -1)


def unit_starts(onsets: np.ndarray, n_frames: int, *, longest: int) -> np.ndarray:
    """First frames of the onset units of a sound of ``n_frames`` frames: frame 0 and every
    onset frame, with units longer than ``longest`` frames split into equal parts of at most
    ``longest``. Returns sorted int64 [shape=(U,)]; unit ``u`` runs to ``starts[u + 1]`` (the
    last to ``n_frames``)."""
    if longest < 1:
        raise ParameterError(f"longest={longest} frames must be >= 1")
    if n_frames < 1:
        return np.zeros(0, dtype=np.int64)
    edges = np.unique(np.concatenate([[0], np.asarray(onsets, np.int64), [n_frames]]).clip(0, n_frames))
    lengths = np.diff(edges)
    parts = -(-lengths // longest)  # ceil: parts each unit is split into
    index = np.repeat(np.arange(lengths.size), parts)
    within = np.arange(index.size) - np.repeat(np.cumsum(parts) - parts, parts)
    return edges[index] + (within * lengths[index]) // parts[index]
