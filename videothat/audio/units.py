"""Descriptors of short units of sound (mosaic mode): one log-mel spectrum per unit.

A unit is ``1 / unit_rate`` s; unit ``u`` of a sound covers samples ``[u * hop, (u + 1) * hop)``
(``hop = round(sample_rate / unit_rate)``) and is described by the mel spectrum of an
``n_fft``-sample Hann window centred on it (zero-padded at the ends): the log of each band's
power less the mean over the bands (its spectral shape, whatever its loudness), with the
mean itself returned as the unit's loudness. All sounds in one batch on the device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torchaudio
from torch import Tensor

from videothat.core.errors import ParameterError

N_FFT = 2048  # samples of each unit's window (93 ms at 22050 Hz: a unit and its surroundings)
LOG_FLOOR = 1e-10  # power added before the log (silence gives a flat spectrum, shape 0)


def unit_descriptors(sounds: Sequence[Tensor], *, sample_rate: int, unit_rate: float, n_mels: int,
                     device: torch.device | str = "cpu") -> list[tuple[Tensor, Tensor]]:
    """(shape [shape=(U_i, n_mels)], loudness [shape=(U_i,)]) float32 per mono sound [shape=(n_i,)],
    ``U_i = n_i // hop`` units (on ``device``)."""
    hop = round(sample_rate / unit_rate)
    if hop < 1 or hop > N_FFT:
        raise ParameterError(f"unit_rate={unit_rate} gives units of {hop} samples at {sample_rate} Hz; "
                             f"need 1 .. {N_FFT}")
    if not sounds:
        return []
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=sample_rate, n_fft=N_FFT, hop_length=hop, n_mels=n_mels,
                                               center=False, power=2.0, norm="slaney", mel_scale="slaney").to(device)
    units = [int(s.numel()) // hop for s in sounds]
    longest = max(units) * hop
    left = (N_FFT - hop) // 2
    batch = torch.zeros(len(sounds), longest + N_FFT - hop, device=device)  # left + longest + the right pad
    for i, s in enumerate(sounds):  # one copy per sound into the padded batch
        batch[i, left : left + units[i] * hop] = s[: units[i] * hop].to(device)
    log = torch.log(mel(batch) + LOG_FLOOR).transpose(1, 2)  # [B, frames, n_mels]
    loudness = log.mean(dim=-1)
    shape = log - loudness[..., None]
    return [(shape[i, : units[i]].contiguous(), loudness[i, : units[i]].contiguous()) for i in range(len(sounds))]
