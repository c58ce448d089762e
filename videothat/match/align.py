"""Aligning sound to a curve of events, window by window: the scores of (source, lag)
candidates, the best candidates of every window over all sources and lags, and the
candidates a window inherits from its neighbours.

A candidate for target window ``q`` (frames ``[w_q, w_q + W)`` of a target curve ``x``) is a
source ``s`` and a lag ``l`` (source frame = target frame + ``l``). Its score is the Pearson
correlation, over the window's frames that lie in the target, of ``x`` and the source's curve
``y_s`` read at the lag (zero outside the source)::

    r = sum (x_k - mean x)(y_k - mean y) / sqrt(sum (x_k - mean x)^2 sum (y_k - mean y)^2 + floor)

``floor`` keeps flat stretches from dividing by ~0. Given candidates are scored in batched
gathers; every lag of every source at once with FFT cross-correlations and running sums
(:func:`best_lags`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from videothat.core.errors import ParameterError
from videothat.match.correlate import _fast_len

FLOOR = 1e-6  # added to the product of the two energies (curves in their own units)
BLOCK = 1 << 23  # gathered values per block (bounds memory)


def window_scores(target: Tensor, sources: Tensor, lengths: Tensor, starts: Tensor, window: int,
                  source: Tensor, lag: Tensor, *, plays: Tensor | None = None) -> Tensor:
    """Scores of candidates (module doc).

    Parameters
    ----------
    target : [shape=(T,)] float, the events
    sources : [shape=(S, L)] float, the sources' curves zero-padded; ``lengths`` [shape=(S,)] int64
    starts : [shape=(Q,)] int64 first target frame of each window; ``window`` frames each
    source, lag : [shape=(Q, C)] int64 each candidate's source (-1: none) and lag in frames
    plays : [shape=(Q, 2)] int64, optional: the target frames [first, end) each window's
        candidate would play; a lag at which they fall outside the source does not count

    Returns
    -------
    scores [shape=(Q, C)] float32, -inf where there is no candidate (or it cannot play)
    """
    if window < 2:
        raise ParameterError(f"window={window} frames must be >= 2")
    if source.shape != lag.shape or source.shape[0] != starts.shape[0]:
        raise ParameterError(f"source {tuple(source.shape)}, lag {tuple(lag.shape)} and starts "
                             f"{tuple(starts.shape)} do not fit (Q, C) and (Q,)")
    q_n, c_n = source.shape
    steps = torch.arange(window, device=target.device)
    at_target = starts[:, None] + steps
    inside = ((at_target >= 0) & (at_target < target.numel())).to(target.dtype)  # [Q, W]: frames of the target
    count = inside.sum(-1, keepdim=True).clamp(min=1)
    x = _windows(target, starts, steps)
    x = (x - x.sum(-1, keepdim=True) / count) * inside
    scores = torch.full((q_n, c_n), -torch.inf, device=target.device)
    rows = max(1, BLOCK // max(1, c_n * window))
    for a in range(0, q_n, rows):  # blocks of windows; each block one gather
        s, ell = source[a : a + rows], lag[a : a + rows]  # [q, C]
        at = at_target[a : a + rows, None, :] + ell[..., None]  # [q, C, W] source frames
        size = lengths[s.clamp(min=0)][..., None]
        ok = (s[..., None] >= 0) & (at >= 0) & (at < size)
        y = torch.where(ok, sources[s.clamp(min=0)[..., None], at.clamp(0, sources.shape[1] - 1)], 0.0)
        mask = inside[a : a + rows, None, :]
        y = (y - (y * mask).sum(-1, keepdim=True) / count[a : a + rows, None]) * mask
        xb = x[a : a + rows, None, :]
        r = (xb * y).sum(-1) / torch.sqrt((xb * xb).sum(-1) * (y * y).sum(-1) + FLOOR)  # [q, C]
        usable = s >= 0
        if plays is not None:
            first, end = plays[a : a + rows, 0, None], plays[a : a + rows, 1, None]
            usable = usable & (first + ell >= 0) & (end + ell <= size[..., 0])
        scores[a : a + rows] = torch.where(usable, r, -torch.inf)
    return scores


def _windows(curve: Tensor, starts: Tensor, steps: Tensor) -> Tensor:
    """``curve`` [shape=(T,)] over frames ``starts[q] + steps`` (zero outside) [shape=(Q, W)]."""
    at = starts[:, None] + steps
    inside = (at >= 0) & (at < curve.numel())
    return torch.where(inside, curve[at.clamp(0, curve.numel() - 1)], 0.0)


def carried(source: Tensor, lag: Tensor, *, follow: int) -> tuple[Tensor, Tensor]:
    """Each window's candidates and those of the ``follow`` windows either side of it, as the
    same (source, lag): an alignment found at one window can hold over its neighbours.

    ``source``, ``lag`` [shape=(Q, K)]; returns both [shape=(Q, K * (1 + 2 F))], ``F =
    min(follow, Q - 1)``: the window's own first, then those of the windows 1 before, 1 after,
    2 before, ... (source -1 where that window does not exist).
    """
    q_n = source.shape[0]
    reach = min(follow, max(q_n - 1, 0))
    shifts = torch.tensor([0] + [d for k in range(1, reach + 1) for d in (-k, k)], device=source.device)
    other = torch.arange(q_n, device=source.device)[:, None] + shifts  # [Q, 1 + 2F]
    valid = ((other >= 0) & (other < q_n))[..., None]
    at = other.clamp(0, q_n - 1)
    return torch.where(valid, source[at], -1).reshape(q_n, -1), lag[at].reshape(q_n, -1)


def best_lags(target: Tensor, sources: Tensor, lengths: Tensor, starts: Tensor, window: int, *, k: int,
              plays: Tensor | None = None, max_elements: int = 1 << 24) -> tuple[Tensor, Tensor, Tensor]:
    """The ``k`` best (source, lag) candidates of every window over all sources and all lags:
    the scores of :func:`window_scores` for every lag at once, from FFT cross-correlations
    and running sums (exact, not sampled), chunked over sources so memory stays bounded.

    A window's frames that lie outside the target do not count; a lag at which ``plays``
    (as in :func:`window_scores`) falls outside its source does not count, nor one whose window
    would start before the source. Returns (scores, sources, lags), each [shape=(Q, k')],
    best first, ``k' = min(k, S * L)``; -inf and -1 where fewer candidates exist.
    """
    q_n, t = starts.numel(), target.numel()
    a = starts.clamp(0, t)
    b = (starts + window).clamp(0, t)
    n = (b - a).clamp(min=1)  # frames of each window inside the target
    steps = torch.arange(window, device=target.device)
    inside = steps[None, :] < (b - a)[:, None]
    x = torch.where(inside, target[(a[:, None] + steps).clamp(max=t - 1)], 0.0).double()
    x = torch.where(inside, x - x.sum(-1, keepdim=True) / n[:, None], 0.0)  # [Q, W], each window's frames first
    x_energy = (x * x).sum(-1)
    s_n, length = sources.shape
    size = _fast_len(length + window)
    spectrum_x = torch.fft.rfft(x, n=size).conj()  # [Q, F]
    zero = torch.zeros(s_n, 1, dtype=torch.float64, device=target.device)
    ys = torch.cat([sources.double(), torch.zeros(s_n, window, dtype=torch.float64, device=target.device)], dim=1)
    first, second = torch.cat([zero, ys.cumsum(1)], 1), torch.cat([zero, (ys * ys).cumsum(1)], 1)
    m = torch.arange(length, device=target.device)
    best = (torch.full((q_n, 0), -torch.inf, dtype=torch.float64, device=target.device),
            torch.zeros(q_n, 0, dtype=torch.int64, device=target.device))
    rows = max(1, max_elements // max(1, q_n * size))
    for s0 in range(0, s_n, rows):  # chunks of sources; each one batched FFT over windows and sources
        spectrum_y = torch.fft.rfft(ys[s0 : s0 + rows], n=size)  # [S_c, F]
        raw = torch.fft.irfft(spectrum_x[:, None, :] * spectrum_y[None], n=size)[..., :length]  # [Q, S_c, L]
        chunk = _lag_scores(raw, first[s0 : s0 + rows], second[s0 : s0 + rows], m, n, x_energy)
        ok = m[None, None, :] < lengths[s0 : s0 + rows, None]
        if plays is not None:
            lag = m[None, None, :] - a[:, None, None]
            ok = ok & (plays[:, 0, None, None] + lag >= 0) & \
                (plays[:, 1, None, None] + lag <= lengths[s0 : s0 + rows, None])
        chunk = torch.where(ok, chunk, -torch.inf).reshape(q_n, -1)
        ids = torch.arange(chunk.shape[1], device=target.device) + s0 * length
        merged = torch.cat([best[0], chunk], 1)
        top, at = merged.topk(min(k, merged.shape[1]), dim=1)
        best = (top, torch.cat([best[1], ids.expand(q_n, -1)], 1).gather(1, at))
    source, position = best[1] // length, best[1] % length
    found = torch.isfinite(best[0])
    lag = torch.where(found, position - a[:, None], 0)
    return best[0].float(), torch.where(found, source, -1), lag


def _lag_scores(raw: Tensor, first: Tensor, second: Tensor, m: Tensor, n: Tensor, x_energy: Tensor) -> Tensor:
    """Pearson correlations [shape=(Q, S, L)] from the cross-correlations ``raw`` of zero-mean
    windows (``n`` frames, energy ``x_energy``) with sources whose running sums of values and
    squares are ``first`` and ``second`` [shape=(S, L + W + 1)], the window at source frame ``m``."""
    end = m[None, :] + n[:, None]  # [Q, L]
    sum1 = (first[:, end] - first[:, m][:, None, :]).permute(1, 0, 2)  # [Q, S, L]
    sum2 = (second[:, end] - second[:, m][:, None, :]).permute(1, 0, 2)
    spread = (sum2 - sum1 * sum1 / n[:, None, None]).clamp(min=0.0)
    return raw / torch.sqrt(x_energy[:, None, None] * spread + FLOOR)
