"""Onset times from a novelty curve: librosa's ``onset_detect`` peak picking.

A frame n is an onset when (Böck, Krebs & Schedl 2012, as ``librosa.util.peak_pick``)::

    x[n] == max(x[n - pre_max : n + post_max])
    x[n] >= mean(x[n - pre_avg : n + post_avg]) + delta
    n - previous onset > wait

on the curve scaled to [0, 1], with librosa's windows of 30 ms / 0 ms (max),
100 ms / 100 ms (mean) and a 30 ms wait.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

PRE_MAX_S, POST_MAX_S = 0.03, 0.00
PRE_AVG_S, POST_AVG_S = 0.10, 0.10
WAIT_S = 0.03
DELTA = 0.07  # threshold above the local mean, in units of the curve's range
SPREAD = np.array([0.25, 0.5, 0.25])  # an onset's weight over its frame and the frames either side


def onset_frames(curve: np.ndarray, *, frame_rate: float, delta: float = DELTA) -> np.ndarray:
    """Onset frames of a novelty curve [shape=(T,)] at ``frame_rate`` frames/s -> int64 [n_onsets].

    Equals ``librosa.onset.onset_detect(onset_envelope=curve, sr=sr, hop_length=hop)``
    for the same curve, with ``frame_rate = sr / hop``.
    """
    x = np.asarray(curve, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    x = x - x.min()
    x = x / (x.max() + np.finfo(x.dtype).tiny)
    if not x.any():
        return np.zeros(0, dtype=np.int64)
    frames = lambda s, extra=0: int(np.ceil(np.floor(s * frame_rate) + extra))  # noqa: E731
    pre_max, post_max = frames(PRE_MAX_S), frames(POST_MAX_S, 1)
    pre_avg, post_avg = frames(PRE_AVG_S), frames(POST_AVG_S, 1)
    wait = frames(WAIT_S)
    local_max = _window_max(x, pre_max, post_max)
    local_mean = _window_mean(x, pre_avg, post_avg)
    candidates = np.flatnonzero((x == local_max) & (x >= local_mean + delta))
    return _enforce_wait(candidates, wait)


def _window_max(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """max(x[n - before : n + after]) clipped to the array, for every n."""
    padded = np.concatenate([np.full(before, -np.inf), x, np.full(after - 1, -np.inf)])
    return sliding_window_view(padded, before + after).max(axis=1)


def _window_mean(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """mean(x[n - before : n + after]) clipped to the array, for every n."""
    csum = np.concatenate([[0.0], np.cumsum(x)])
    n = np.arange(x.size)
    lo, hi = np.maximum(0, n - before), np.minimum(x.size, n + after)
    return (csum[hi] - csum[lo]) / (hi - lo)


def _enforce_wait(candidates: np.ndarray, wait: int) -> np.ndarray:
    """Keep candidates greedily, each more than ``wait`` frames after the last kept."""
    kept: list[int] = []
    for c in candidates.tolist():  # a few per second of song
        if not kept or c - kept[-1] > wait:
            kept.append(c)
    return np.asarray(kept, dtype=np.int64)


def onset_spikes(curve: np.ndarray, *, frame_rate: float, scale: float | None = None) -> np.ndarray:
    """The onsets of a curve as spikes [shape=(T,)] float32: each onset frame
    (:func:`onset_frames`) holds the curve's value there divided by ``scale`` (default: the
    curve's maximum), at most 1, spread over the frames either side by SPREAD (an onset is timed to a
    frame, give or take one); zero elsewhere. What matters of a curve when onsets are to land
    on events: where they are and how strong, not the energy between them."""
    x = np.asarray(curve, np.float64)
    spikes = np.zeros_like(x)
    if x.size == 0:
        return spikes.astype(np.float32)
    peaks = onset_frames(x, frame_rate=frame_rate)
    top = float(x.max()) if scale is None else scale
    spikes[peaks] = np.minimum(x[peaks] / (top if top > 0 else 1.0), 1.0)
    return spread(spikes).astype(np.float32)


def spread(spikes: np.ndarray) -> np.ndarray:
    """``spikes`` [shape=(T,)] each spread over its frame and the frames either side by SPREAD
    (same length as the input, whatever it is)."""
    return np.convolve(np.asarray(spikes, np.float64), SPREAD, mode="full")[1 : 1 + np.size(spikes)]
