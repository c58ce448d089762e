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
    and running sums (exact, not sampled), in chunks of windows and sources of about
    ``max_elements`` values each (memory bounded whatever the lengths).

    A window's frames that lie outside the target do not count; every lag at which the
    window overlaps its source counts (a source may start or end inside the window), unless
    ``plays`` (as in :func:`window_scores`) falls outside the source. Returns (scores,
    sources, lags), each [shape=(Q, k')], best first, ``k' = min(k, S * (L + W - 1))``;
    -inf and -1 where fewer candidates exist.
    """
    q_n, t = starts.numel(), target.numel()
    a = starts.clamp(0, t)
    n = ((starts + window).clamp(0, t) - a).clamp(min=1)  # frames of each window inside the target
    steps = torch.arange(window, device=target.device)
    inside = steps[None, :] < n[:, None]
    x = torch.where(inside, target[(a[:, None] + steps).clamp(max=t - 1)], 0.0).double()
    x = torch.where(inside, x - x.sum(-1, keepdim=True) / n[:, None], 0.0)  # [Q, W], each window's frames first
    s_n, length = sources.shape
    pad = window - 1  # zeros before each source: a window may start before it
    ys = torch.nn.functional.pad(sources.double(), (pad, window))
    zero = torch.zeros(s_n, 1, dtype=torch.float64, device=target.device)
    sums = torch.cat([zero, ys.cumsum(1)], 1), torch.cat([zero, (ys * ys).cumsum(1)], 1)
    size = _fast_len(pad + length + window)
    positions = pad + length  # window starts at source frame p - pad, p = 0 .. pad + length - 1
    q_rows = max(1, min(q_n, max_elements // size))
    s_rows = max(1, max_elements // (q_rows * size))
    scores, ids = [], []
    for q0 in range(0, q_n, q_rows):  # chunks of windows ...
        rows = slice(q0, q0 + q_rows)
        spectrum_x = torch.fft.rfft(x[rows], n=size).conj()  # [q, F]
        best = (torch.full((spectrum_x.shape[0], 0), -torch.inf, dtype=torch.float64, device=target.device),
                torch.zeros(spectrum_x.shape[0], 0, dtype=torch.int64, device=target.device))
        for s0 in range(0, s_n, s_rows):  # ... and of sources: one batched FFT each
            cols = slice(s0, s0 + s_rows)
            raw = torch.fft.irfft(spectrum_x[:, None, :] * torch.fft.rfft(ys[cols], n=size)[None], n=size)
            chunk = _lag_scores(raw[..., :positions], sums[0][cols], sums[1][cols], n[rows], x[rows])
            ok = _lag_ok(positions - pad, pad, n[rows], a[rows], lengths[cols],
                         None if plays is None else plays[rows])
            chunk = torch.where(ok, chunk, -torch.inf).reshape(chunk.shape[0], -1)
            merged = torch.cat([best[0], chunk], 1)
            top, at = merged.topk(min(k, merged.shape[1]), dim=1)
            flat = torch.arange(chunk.shape[1], device=target.device) + s0 * positions
            best = (top, torch.cat([best[1], flat.expand(chunk.shape[0], -1)], 1).gather(1, at))
        scores.append(best[0])
        ids.append(best[1])
    score, flat = torch.cat(scores), torch.cat(ids)
    found = torch.isfinite(score)
    lag = torch.where(found, flat % positions - pad - a[:, None], 0)
    return score.float(), torch.where(found, flat // positions, -1), lag


def _lag_ok(length: int, pad: int, n: Tensor, a: Tensor, lengths: Tensor, plays: Tensor | None) -> Tensor:
    """[shape=(q, s, pad + length)]: the lags at which each window (``n`` frames from target
    frame ``a``) overlaps its source and, with ``plays``, the played frames lie in the source."""
    m = torch.arange(-pad, length, device=n.device)  # the window's first frame in the source
    ok = (m[None, None, :] + n[:, None, None] > 0) & (m[None, None, :] < lengths[None, :, None])
    if plays is not None:
        lag = m[None, None, :] - a[:, None, None]
        ok = ok & (plays[:, 0, None, None] + lag >= 0) & (plays[:, 1, None, None] + lag <= lengths[None, :, None])
    return ok


def _lag_scores(raw: Tensor, first: Tensor, second: Tensor, n: Tensor, x: Tensor) -> Tensor:
    """Pearson correlations [shape=(q, s, P)] from the cross-correlations ``raw`` of zero-mean
    windows ``x`` [shape=(q, W)] (``n`` frames each) with sources whose running sums of values
    and squares are ``first`` and ``second`` [shape=(s, P + W + 1)], the window at position ``p``."""
    p = torch.arange(raw.shape[-1], device=raw.device)
    end = p[None, :] + n[:, None]  # [q, P]
    sum1 = (first[:, end] - first[:, p][:, None, :]).permute(1, 0, 2)  # [q, s, P]
    sum2 = (second[:, end] - second[:, p][:, None, :]).permute(1, 0, 2)
    spread = (sum2 - sum1 * sum1 / n[:, None, None]).clamp(min=0.0)
    return raw / torch.sqrt((x * x).sum(-1)[:, None, None] * spread + FLOOR)
