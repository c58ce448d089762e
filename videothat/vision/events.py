"""A video's visual events as one curve: its motion impacts and its cuts.

A viewer takes both for beats: motion that stops or turns (the impact curve,
:mod:`videothat.vision.motion`) and the cuts between shots. The impact curve's peaks become
spikes as onsets do (:func:`videothat.audio.onsets.onset_spikes`: local maxima standing out
from their surroundings, so footage that moves all the time does not read as one long
event), their heights divided by the curve's 99th percentile (so one freak frame does not
set the scale) and clipped to 1. The event curve holds each peak's height and ``cut_weight`` at each cut,
each spread over the frames either side by [1/4, 1/2, 1/4] (an event is timed to a frame,
give or take one).
"""

from __future__ import annotations

import numpy as np

from videothat.audio.onsets import onset_frames, onset_spikes, spread

SCALE_QUANTILE = 0.99  # the impacts are measured against this quantile of themselves
LISTED = 0.25  # impacts at least this high (in units of that quantile) are listed as events (weaker ones only weigh)


def event_curve(impacts: np.ndarray, cuts: np.ndarray, *, frame_rate: float, cut_weight: float) -> np.ndarray:
    """The event curve [shape=(T,)] float32 from an impact curve [shape=(T,)] at
    ``frame_rate`` frames/s and the frame indices of the cuts (frames outside [0, T) ignored)."""
    impacts = np.clip(np.asarray(impacts, np.float64), 0.0, None)
    scale = float(np.quantile(impacts, SCALE_QUANTILE)) if impacts.size else 0.0
    peaks = onset_spikes(impacts, frame_rate=frame_rate, scale=scale or 1.0)
    cuts = np.asarray(cuts, np.int64)
    train = np.zeros(impacts.size)
    np.add.at(train, cuts[(cuts >= 0) & (cuts < train.size)], cut_weight)
    return (peaks + spread(train)).astype(np.float32)


def impact_frames(impacts: np.ndarray, *, frame_rate: float) -> np.ndarray:
    """The frames of an impact curve's peaks (as :func:`event_curve` finds them) that stand
    at least LISTED high against its 99th percentile: the motion events a viewer notices."""
    impacts = np.clip(np.asarray(impacts, np.float64), 0.0, None)
    if impacts.size == 0:
        return np.zeros(0, np.int64)
    scale = float(np.quantile(impacts, SCALE_QUANTILE)) or 1.0
    peaks = onset_frames(impacts, frame_rate=frame_rate)
    return peaks[impacts[peaks] >= LISTED * scale]


def placed(curves: list[np.ndarray], starts: np.ndarray, n: int) -> np.ndarray:
    """Per-shot curves laid on one timeline of ``n`` frames, shot ``i`` from frame
    ``starts[i]`` (later shots overwrite earlier ones where they overlap; cut at ``n``)."""
    out = np.zeros(n, np.float32)
    sizes = np.array([c.size for c in curves], np.int64)
    if sizes.sum() == 0:
        return out
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # frame within its shot
    at = np.repeat(np.asarray(starts, np.int64), sizes) + offsets
    keep = (at >= 0) & (at < n)
    out[at[keep]] = np.concatenate(curves)[keep]
    return out
