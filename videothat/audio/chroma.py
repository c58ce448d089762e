"""Pitch-class energy (chroma) per STFT frame: what a stretch of music plays, not when.

Two bars with the same drum pattern have the same onset strength; their chords and tunes
differ, and a rendition on other instruments plays the same notes. The chroma of a frame
is its spectral power folded onto the 12 pitch classes::

    chroma[t, c] = sum_f power[t, f] * W[f, c]

with ``W[f, c]`` a triangle one semitone wide around pitch class ``c`` at the FFT bin's
frequency (MIDI pitch ``69 + 12 log2(f / 440)``), over CHROMA_FMIN-CHROMA_FMAX Hz (below,
FFT bins are coarser than semitones; above, overtones blur the pitch). It is computed in
the same pass as the onset strength (:func:`videothat.audio.novelty.onset_strength`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

N_CHROMA = 12
CHROMA_FMIN = 55.0  # Hz (A1)
CHROMA_FMAX = 4000.0  # Hz


def chroma_filterbank(sample_rate: int, n_fft: int, *, device: torch.device | str | None = None) -> Tensor:
    """Weights folding an rFFT power spectrum onto pitch classes (0 = C).

    Returns [shape=(n_fft // 2 + 1, 12)] float32; rows of bins outside
    [CHROMA_FMIN, CHROMA_FMAX] are zero, each row inside sums to 1.
    """
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    inside = (freqs >= CHROMA_FMIN) & (freqs <= min(CHROMA_FMAX, sample_rate / 2))
    pitch = 69.0 + 12.0 * np.log2(np.where(inside, freqs, 440.0) / 440.0)  # MIDI, A4 = 69
    classes = np.arange(N_CHROMA)
    distance = np.abs((pitch[:, None] - classes[None, :] + 6.0) % 12.0 - 6.0)  # circular, semitones
    weights = np.clip(1.0 - distance, 0.0, None) * inside[:, None]
    return torch.from_numpy(weights.astype(np.float32)).to(device)


def block_edges(start: Tensor, length: Tensor, blocks: int) -> Tensor:
    """Frame edges of ``blocks`` consecutive stretches of ``length`` frames from ``start``
    (each [shape=(C,)] int64): stretch b runs from ``start + floor(length b / blocks)`` to
    ``start + floor(length (b + 1) / blocks)``. Returns [shape=(C, blocks + 1)] int64."""
    b = torch.arange(blocks + 1, device=start.device)
    return start[:, None] + (length[:, None] * b[None, :]) // blocks


def block_profiles(sums: Tensor) -> Tensor:
    """Zero-mean, unit-length pitch-class profiles of consecutive stretches.

    ``sums`` [shape=(C, blocks + 1, 12)]: running sums of chroma (over frames) at the
    stretches' edges (see :func:`block_edges`). A profile is the stretch's energy per
    pitch class as fractions of its total, minus 1/12, scaled to unit length: flat sound
    (and silence) gives the zero vector, so it correlates with nothing.

    Returns [shape=(C, blocks, 12)] float32.
    """
    return pitch_profiles((sums[:, 1:] - sums[:, :-1]).clamp(min=0).float())


def pitch_profiles(energy: Tensor) -> Tensor:
    """Pitch-class energies [shape=(..., 12)] (non-negative) as profiles of the same shape and
    dtype: fractions of their total minus 1/12, unit length; no energy gives the zero vector."""
    total = energy.sum(-1, keepdim=True)
    profile = torch.where(total > 0, energy / total.clamp(min=1e-12), 1.0 / N_CHROMA) - 1.0 / N_CHROMA
    return profile / profile.norm(dim=-1, keepdim=True).clamp(min=1e-6)


def harmony(own: Tensor, theirs: Tensor) -> Tensor:
    """Mean cosine over stretches of two sets of :func:`block_profiles`, from running sums at
    the stretches' edges (each [shape=(C, blocks + 1, 12)]) -> [shape=(C,)] in [-1, 1].

    Computed without forming the profiles: with e, f a stretch's energies and E, F their
    totals, p.q = e.f / (E F) - 1/12 and |p|^2 = e.e / E^2 - 1/12 (five sums of 12 per
    stretch instead of a dozen passes over the profiles)."""
    e = (own[:, 1:] - own[:, :-1]).clamp(min=0).float()
    f = (theirs[:, 1:] - theirs[:, :-1]).clamp(min=0).float()
    big_e, big_f = e.sum(-1), f.sum(-1)
    inv_e, inv_f = 1.0 / big_e.clamp(min=1e-12), 1.0 / big_f.clamp(min=1e-12)
    dot = (e * f).sum(-1) * inv_e * inv_f - 1.0 / N_CHROMA
    norm_e = ((e * e).sum(-1) * inv_e * inv_e - 1.0 / N_CHROMA).clamp(min=0).sqrt().clamp(min=1e-6)
    norm_f = ((f * f).sum(-1) * inv_f * inv_f - 1.0 / N_CHROMA).clamp(min=0).sqrt().clamp(min=1e-6)
    cosine = torch.where((big_e > 0) & (big_f > 0), dot / (norm_e * norm_f), 0.0)
    return cosine.mean(-1)
