"""Rhythm fingerprints: fixed-length windows of novelty curves, centred and unit length.

The inner product of two fingerprints is the Pearson correlation of the two curve
windows, i.e. the matcher's ``window``-normalised score of one window against the other
(without its length weighting and energy floor): a FAISS inner-product search over them
shortlists the shots whose rhythm fits a stretch of the song.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from videothat.errors import ParameterError

FLAT = 1e-6  # windows whose centred norm is below this (silence, constant noise) are dropped


@dataclass(frozen=True, kw_only=True)
class WindowConfig:
    """Fingerprint windows (units in comments)."""

    window: float = 3.0  # s of curve per fingerprint
    hop: float = 0.5  # s between fingerprint starts

    def __post_init__(self) -> None:
        if not 0 < self.hop <= self.window:
            raise ParameterError(f"need 0 < hop ({self.hop} s) <= window ({self.window} s)")

    def frames(self, frame_rate: float) -> tuple[int, int]:
        """(window, hop) in curve frames."""
        return max(2, round(self.window * frame_rate)), max(1, round(self.hop * frame_rate))


def rhythm_fingerprints(curve: np.ndarray, *, frame_rate: float, config: WindowConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fingerprints of every window of a curve [shape=(T,)].

    Returns (vectors [shape=(n, window_frames)] float32 with unit norm, starts [shape=(n,)]
    in seconds); curves shorter than one window give none.
    """
    size, hop = config.frames(frame_rate)
    x = np.asarray(curve, dtype=np.float32)
    if x.size < size:
        return np.zeros((0, size), np.float32), np.zeros(0)
    windows = np.lib.stride_tricks.sliding_window_view(x, size)[::hop]  # view, no copy
    centred = windows - windows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    keep = norms > FLAT
    vectors = (centred[keep] / norms[keep, None]).astype(np.float32)
    starts = (np.flatnonzero(keep) * hop) / frame_rate
    return vectors, starts
