"""Long takes: sources that are one recording of the song (a concert film), aligned whole.

A take is placed by cross-correlating its whole novelty curve with the song's: for every
lag ``tau`` (take frame = song frame + tau) the Pearson correlation over the frames both
cover,

    r(tau) = sum_k x[k + tau] y[k] / sqrt(sum x^2 * sum y^2)    (both curves mean-removed)

all lags of all takes in one batched FFT. With chroma, the harmony of each lag is added,
``h(tau)``: the mean cosine over the overlap of the frames' pitch-class profiles (each
frame's chroma as fractions of its total minus 1/12, unit length), weighted by
``harmony``: in music whose rhythm repeats every beat, novelty alone lines a take up a beat
off nearly as well, while the chords tell the beats apart. A lag counts only if the overlap is long enough
(``min_overlap`` frames) and significant: ``z = r sqrt(m / DECORRELATION_FRAMES) >=
MIN_Z`` over ``m`` overlapping frames (under no relation, r over m frames of novelty,
which decorrelates within about DECORRELATION_FRAMES frames, has a standard deviation of
about sqrt(DECORRELATION_FRAMES / m)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from videothat.audio.chroma import pitch_profiles

DECORRELATION_FRAMES = 4  # frames over which a novelty curve stays correlated with itself (~90 ms)
MIN_Z = 6.0  # significance a take's alignment needs to be used


@dataclass(frozen=True)
class TakeAlignment:
    """Where each take lines up with the song: ``lag`` [shape=(N,)] int64 take frame of song
    frame 0, ``r`` its correlation, ``z`` its significance, ``overlap`` frames covered by both."""

    lag: np.ndarray
    r: np.ndarray
    z: np.ndarray
    overlap: np.ndarray


def align_takes(song: Tensor, takes: list[Tensor], *, min_overlap: int, song_chroma: Tensor | None = None,
                take_chroma: list[Tensor] | None = None, harmony: float = 0.0) -> TakeAlignment:
    """The best lag of each take [shape=(L_n,)] against the song [shape=(T,)] (see the
    module); chroma [shape=(T, 12)] / [shape=(L_n, 12)] for the harmony term. ``r`` and ``z``
    are those of ``(r + harmony h) / (1 + harmony)``."""
    t = song.shape[0]
    device = song.device
    lengths = torch.tensor([x.shape[0] for x in takes], device=device)
    l_max = int(lengths.max())
    x = torch.zeros(len(takes), l_max, dtype=torch.float64, device=device)
    for i, take in enumerate(takes):  # host copies into one padded tensor
        x[i, : take.shape[0]] = take.double().to(device) - take.double().mean()
    y = song.double() - song.double().mean()
    n = 1 << (t + l_max).bit_length()
    raw = torch.fft.irfft(torch.fft.rfft(x, n=n) * torch.fft.rfft(y, n=n).conj(), n=n)  # [N, n]
    lags = torch.arange(-(t - 1), l_max, device=device)  # take frame of song frame 0
    raw = raw[:, lags % n]
    # overlap: song frames k with 0 <= k < T and 0 <= k + lag < L
    lo = torch.clamp(-lags, min=0)[None, :]
    hi = torch.minimum(torch.full_like(lags, t), lengths[:, None] - lags[None, :])
    overlap = (hi - lo).clamp(min=0)
    song_energy = torch.cat([torch.zeros(1, device=device, dtype=torch.float64), torch.cumsum(y * y, 0)])
    take_energy = torch.cat([torch.zeros(len(takes), 1, device=device, dtype=torch.float64),
                             torch.cumsum(x * x, 1)], dim=1)
    ey = song_energy[hi.clamp(min=0, max=t)] - song_energy[lo.clamp(max=t)]
    a, b = (lo + lags[None, :]).clamp(0, l_max), (hi + lags[None, :]).clamp(0, l_max)
    ex = take_energy.gather(1, b) - take_energy.gather(1, a)
    r = raw / torch.sqrt(ex * ey).clamp(min=1e-12)
    if harmony > 0 and song_chroma is not None and take_chroma is not None:
        h = _harmony_by_lag(song_chroma, take_chroma, l_max, n, lags, overlap)
        r = (r + harmony * h) / (1 + harmony)
    r = torch.where(overlap >= min_overlap, r, -torch.inf)
    best = r.argmax(dim=1)
    pick = torch.arange(len(takes), device=device)
    m = overlap[pick, best]
    best_r = r[pick, best]
    z = best_r * torch.sqrt(m.double() / DECORRELATION_FRAMES)
    return TakeAlignment(lags[best].cpu().numpy(), best_r.cpu().numpy(), z.cpu().numpy(), m.cpu().numpy())


def _harmony_by_lag(song_chroma: Tensor, take_chroma: list[Tensor], l_max: int, n: int, lags: Tensor,
                    overlap: Tensor) -> Tensor:
    """h(tau) [shape=(N, lags)]: mean profile cosine over the overlap, by 12-channel FFT correlation."""
    device = song_chroma.device
    x = torch.zeros(len(take_chroma), 12, l_max, dtype=torch.float64, device=device)
    for i, c in enumerate(take_chroma):
        x[i, :, : c.shape[0]] = pitch_profiles(c.to(device).double()).T
    y = pitch_profiles(song_chroma.double()).T  # [12, T]
    raw = torch.fft.irfft((torch.fft.rfft(x, n=n) * torch.fft.rfft(y, n=n).conj()).sum(1), n=n)
    return raw[:, lags % n] / overlap.clamp(min=1)


def cover(alignment: TakeAlignment, lengths: np.ndarray, song_frames: int) -> list[tuple[int, int, int]]:
    """Song frames covered by significant takes, the most significant first where they
    overlap: [(take, first song frame, end song frame)] in song order."""
    owner = np.full(song_frames, -1)
    for i in np.argsort(-alignment.z, kind="stable"):
        if not alignment.z[i] >= MIN_Z:
            break
        lo = max(0, -int(alignment.lag[i]))
        hi = min(song_frames, int(lengths[i]) - int(alignment.lag[i]))
        span = owner[lo:hi]
        span[span < 0] = i
    runs = []
    edges = np.flatnonzero(np.diff(owner, prepend=-2, append=-2))
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if owner[a] >= 0:
            runs.append((int(owner[a]), int(a), int(b)))
    return runs
