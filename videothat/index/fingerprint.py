"""Fingerprints: fixed-length unit vectors for windows of a clip's sound.

* Rhythm fingerprints are centred, unit-length windows of the novelty curve: the inner
  product of two is the Pearson correlation of the windows, i.e. the matcher's
  ``window``-normalised score of one against the other (without its length weighting), so
  a FAISS inner-product search shortlists the shots whose rhythm fits a stretch of a song.
* Timbre fingerprints identify the same recording under degradation: mean log-mel energy
  in ``blocks`` consecutive blocks of a window, each band's mean over the window removed
  (a gain change or any fixed EQ/low-pass adds a constant per band in the log domain, so
  it cancels), unit length.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

FLAT = 1e-6  # windows whose centred norm is below this (silence, constant noise) are dropped


def window_frames(window: float, hop: float, frame_rate: float) -> tuple[int, int]:
    """(window, hop) in frames of a curve at ``frame_rate`` frames/s."""
    return max(2, round(window * frame_rate)), max(1, round(hop * frame_rate))


def rhythm_fingerprints(
    curve: np.ndarray, *, frame_rate: float, window: float, hop: float, edge: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Fingerprints of every window (``window`` s, every ``hop`` s) of a curve [shape=(T,)].

    Returns (vectors [shape=(n, window_frames)] float32 with unit norm, starts [shape=(n,)]
    in seconds); flat windows give none. A curve shorter than a window (a short shot) gets
    one fingerprint: its centred curve, zero-padded, so its inner product with a window is
    the correlation over the part the two share. The first ``edge`` frames (those that
    depend on the sound before the clip, :func:`videothat.audio.novelty.edge_frames`) take
    the mean of the rest of the first window, so they centre to zero there.
    """
    size, step = window_frames(window, hop, frame_rate)
    x = np.asarray(curve, dtype=np.float32)
    if 0 < edge < x.size:
        x = x.copy()
        x[:edge] = x[edge:size].mean()
    if x.size < 2:
        return np.zeros((0, size), np.float32), np.zeros(0)
    if x.size < size:
        centred = np.zeros((1, size), np.float32)
        centred[0, : x.size] = x - x.mean()
        norm = float(np.linalg.norm(centred))
        return (centred / norm, np.zeros(1)) if norm > FLAT else (centred[:0], np.zeros(0))
    windows = np.lib.stride_tricks.sliding_window_view(x, size)[::step]  # view, no copy
    centred = windows - windows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    keep = norms > FLAT
    vectors = (centred[keep] / norms[keep, None]).astype(np.float32)
    return vectors, (np.flatnonzero(keep) * step) / frame_rate


def timbre_fingerprints(
    log_mel: Tensor, frames: Tensor, *, window: int, hop: int, blocks: int
) -> tuple[Tensor, Tensor]:
    """Timbre fingerprints of a batch of log-mel spectrograms.

    Parameters
    ----------
    log_mel : [shape=(B, F, T)] log energies (any log base), padded past each item's end
    frames : [shape=(B,)] valid frames per item
    window, hop : frames per fingerprint window and between window starts
    blocks : time blocks per window; ``window // blocks`` frames each (the rest is unused)

    Returns
    -------
    vectors : [shape=(B, W, blocks * F)] unit-length fingerprints (zeros where flat)
    valid : [shape=(B, W)] bool, window ``w`` of item ``b`` lies inside its valid frames
        and is not flat; window ``w`` starts at frame ``w * hop``.
    """
    n_items, n_bands, n_frames = log_mel.shape
    block = max(1, window // blocks)
    span = block * blocks
    n_windows = max(0, (n_frames - span) // hop + 1)
    if n_windows == 0:
        return log_mel.new_zeros(n_items, 0, blocks * n_bands), torch.zeros(n_items, 0, dtype=torch.bool,
                                                                            device=log_mel.device)
    # mean of every run of `block` frames, at every start frame: (B, F, T - block + 1)
    means = torch.nn.functional.avg_pool1d(log_mel, kernel_size=block, stride=1)
    starts = torch.arange(n_windows, device=log_mel.device) * hop
    index = starts[:, None] + block * torch.arange(blocks, device=log_mel.device)  # (W, blocks)
    pooled = means[:, :, index]  # (B, F, W, blocks)
    pooled = pooled - pooled.mean(dim=3, keepdim=True)  # each band's level over the window
    vectors = pooled.permute(0, 2, 3, 1).reshape(n_items, n_windows, blocks * n_bands)
    norms = vectors.norm(dim=2, keepdim=True)
    inside = (starts[None, :] + span) <= frames[:, None].to(starts.device)
    valid = inside & (norms[..., 0] > FLAT)
    vectors = torch.where(valid[..., None], vectors / norms.clamp_min(FLAT), torch.zeros_like(vectors))
    return vectors, valid
