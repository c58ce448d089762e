"""Batched audio degradations for contrastive training: what a real archive does to sound.

Pure functions on waveforms [shape=(B, n)] float32 on any device, each item with its own
random parameters drawn from a ``torch.Generator`` (so a training step is reproducible from
its seed). :func:`augment` applies each degradation to a random subset of the batch:
background noise (coloured, at an SNR), another clip of the batch mixed underneath, gain,
EQ (random low-pass, high-pass and a smooth random tilt, applied in the frequency
domain), and reverberation (synthetic exponentially decaying impulse responses). Lossy
re-encoding is a CPU codec round trip (:func:`videothat.media.audio.lossy_roundtrip`),
done where the data is loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from videothat.core.configs import Bounds, check_fields
from videothat.core.errors import ParameterError


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    """Probabilities and ranges of the degradations (units in comments)."""

    p_noise: float = 0.5  # share of items with added coloured noise
    noise_snr_db: tuple[float, float] = (0.0, 20.0)  # dB, signal to noise
    p_mix: float = 0.3  # share of items with another item of the batch mixed underneath
    mix_snr_db: tuple[float, float] = (5.0, 20.0)  # dB, item to the mixed-in item
    gain_db: tuple[float, float] = (-20.0, 6.0)  # dB, applied to every item
    p_eq: float = 0.6  # share of items through a random EQ
    lowpass_hz: tuple[float, float] = (2000.0, 8000.0)  # Hz, cut-off of the EQ's low-pass
    highpass_hz: tuple[float, float] = (20.0, 400.0)  # Hz, cut-off of the EQ's high-pass
    tilt_db: float = 6.0  # dB, largest boost or cut of the EQ's smooth random curve
    p_reverb: float = 0.4  # share of items through a synthetic room
    rt60_s: tuple[float, float] = (0.15, 1.0)  # s, reverberation time
    p_codec: float = 0.25  # share of items re-encoded lossily (done by the data loader)
    codec_kbps: tuple[int, ...] = (32, 48, 64, 96, 128)  # MP3 bit rates to choose from
    shift_s: float = 0.1  # s, largest time shift between the two views of a window

    BOUNDS: ClassVar[Bounds] = {"p_noise": (0.0, 1.0), "noise_snr_db": (-60.0, 100.0), "p_mix": (0.0, 1.0),
                                "mix_snr_db": (-60.0, 100.0), "gain_db": (-60.0, 40.0), "p_eq": (0.0, 1.0),
                                "lowpass_hz": (20.0, 48000.0), "highpass_hz": (0.0, 24000.0), "tilt_db": (0.0, 40.0),
                                "p_reverb": (0.0, 1.0), "rt60_s": (0.01, 10.0), "p_codec": (0.0, 1.0),
                                "codec_kbps": (8, 320), "shift_s": (0.0, 10.0)}

    def __post_init__(self) -> None:
        check_fields(self)
        for name in ("noise_snr_db", "mix_snr_db", "gain_db", "lowpass_hz", "highpass_hz", "rt60_s"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ParameterError(f"{name}=[{lo}, {hi}] must be [low, high]")
        if not self.codec_kbps:
            raise ParameterError("codec_kbps=[] must list at least one bit rate")


def uniform(low: float, high: float, n: int, gen: torch.Generator, device: torch.device) -> Tensor:
    """[shape=(n,)] draws from U(low, high)."""
    return low + (high - low) * torch.rand(n, generator=gen, device=device)


def _power(x: Tensor) -> Tensor:
    return x.pow(2).mean(dim=-1, keepdim=True).clamp_min(1e-10)


def mix_at_snr(x: Tensor, other: Tensor, snr_db: Tensor) -> Tensor:
    """``x`` plus ``other`` scaled so that power(x) / power(other) = ``snr_db`` per item [shape=(B,)]."""
    scale = torch.sqrt(_power(x) / _power(other) / 10 ** (snr_db[:, None] / 10))
    return x + scale * other


def coloured_noise(shape: tuple[int, int], gen: torch.Generator, device: torch.device) -> Tensor:
    """Noise whose power falls as f^-alpha, alpha ~ U(0, 2) per item (white to brown)."""
    white = torch.randn(shape, generator=gen, device=device)
    spectrum = torch.fft.rfft(white)
    f = torch.arange(spectrum.shape[-1], device=device).clamp_min(1).float()
    alpha = uniform(0.0, 2.0, shape[0], gen, device)
    return torch.fft.irfft(spectrum * f[None].pow(-alpha[:, None] / 2), n=shape[1])


def random_eq(x: Tensor, sample_rate: int, config: AugmentConfig, gen: torch.Generator) -> Tensor:
    """Each item through its own zero-phase EQ: 4th-order Butterworth-magnitude low-pass and
    2nd-order high-pass at random cut-offs, times a smooth random curve over log frequency."""
    b, n = x.shape
    spectrum = torch.fft.rfft(x)
    f = torch.fft.rfftfreq(n, d=1 / sample_rate).to(x.device)
    lo = uniform(*config.lowpass_hz, b, gen, x.device)[:, None]
    hi = uniform(*config.highpass_hz, b, gen, x.device)[:, None]
    response = 1 / torch.sqrt(1 + (f / lo) ** 8) / torch.sqrt(1 + (hi / f.clamp_min(1.0)) ** 4)
    octaves = torch.log2(f.clamp_min(20.0) / 20.0)  # 0 .. ~10
    phase = uniform(0.0, 2 * math.pi, b, gen, x.device)[:, None]
    period = uniform(2.0, 6.0, b, gen, x.device)[:, None]  # octaves per cycle
    tilt_db = config.tilt_db * torch.sin(2 * math.pi * octaves / period + phase)
    return torch.fft.irfft(spectrum * response * 10 ** (tilt_db / 20), n=n)


def reverberate(x: Tensor, sample_rate: int, rt60: Tensor, gen: torch.Generator) -> Tensor:
    """Each item convolved with a synthetic room [direct path + noise decaying by 60 dB in
    ``rt60`` s per item], output the input's length and level."""
    import torchaudio.functional as AF

    b, n = x.shape
    length = max(2, min(n, int(rt60.max().item() * sample_rate)))
    t = torch.arange(length, device=x.device) / sample_rate
    tail = torch.randn(b, length, generator=gen, device=x.device) * torch.exp(-6.908 * t[None] / rt60[:, None])
    tail[:, 0] = 0
    ir = tail / tail.norm(dim=1, keepdim=True).clamp_min(1e-8)
    ir[:, 0] = 1.0  # direct sound as loud as the whole reverberant tail
    wet = AF.fftconvolve(x, ir)[:, :n]
    return wet * torch.sqrt(_power(x) / _power(wet))


def augment(x: Tensor, sample_rate: int, config: AugmentConfig, gen: torch.Generator) -> Tensor:
    """A degraded copy of a batch of waveforms [shape=(B, n)] (see the module docstring)."""
    b, device = x.shape[0], x.device

    def chosen(p: float) -> Tensor:
        return (torch.rand(b, generator=gen, device=device) < p)[:, None]

    y = x
    if config.p_reverb > 0:
        y = torch.where(chosen(config.p_reverb), reverberate(y, sample_rate, uniform(*config.rt60_s, b, gen, device),
                                                             gen), y)
    if config.p_eq > 0:
        y = torch.where(chosen(config.p_eq), random_eq(y, sample_rate, config, gen), y)
    if config.p_mix > 0 and b > 1:
        other = x.roll(1, dims=0)
        y = torch.where(chosen(config.p_mix), mix_at_snr(y, other, uniform(*config.mix_snr_db, b, gen, device)), y)
    if config.p_noise > 0:
        noise = coloured_noise((b, x.shape[1]), gen, device)
        y = torch.where(chosen(config.p_noise), mix_at_snr(y, noise, uniform(*config.noise_snr_db, b, gen, device)), y)
    gain = 10 ** (uniform(*config.gain_db, b, gen, device) / 20)
    return (y * gain[:, None]).clamp(-1.0, 1.0)
