"""Measures of how events line up: onset F-measure, mean offsets, beat alignment, and the
onsets of a sound."""

from __future__ import annotations

import numpy as np

WINDOW_S = 0.05  # s, onset matching window (as mir_eval's default)
SIGMA_S = 0.05  # s, the visual beat alignment's tolerance (Gaussian sigma)


def matched_events(reference: np.ndarray, estimate: np.ndarray, *, window: float = WINDOW_S
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (reference time, estimate time) [shape=(P,)] each, of events (s) matched one to
    one within ``window``: on a line, matching each reference event, in time order, to the
    earliest unmatched estimate within the window gives a maximum matching."""
    reference, estimate = np.sort(np.asarray(reference, np.float64)), np.sort(np.asarray(estimate, np.float64))
    pairs, j = [], 0
    for r in reference:  # two sorted lists: one pass
        while j < estimate.size and estimate[j] < r - window:
            j += 1
        if j < estimate.size and abs(estimate[j] - r) <= window:
            pairs.append((r, estimate[j]))
            j += 1
    found = np.array(pairs, np.float64).reshape(-1, 2)
    return found[:, 0], found[:, 1]


def onset_f_measure(reference: np.ndarray, estimate: np.ndarray, *, window: float = WINDOW_S) -> float:
    """F-measure of onset times (s) matched one-to-one within ``window`` (as mir_eval)."""
    if np.size(reference) == 0 or np.size(estimate) == 0:
        return 0.0
    matched = matched_events(reference, estimate, window=window)[0].size
    precision, recall = matched / np.size(estimate), matched / np.size(reference)
    return 0.0 if matched == 0 else 2 * precision * recall / (precision + recall)


def mean_offset(reference: np.ndarray, estimate: np.ndarray, *, window: float = WINDOW_S) -> float | None:
    """Mean of (estimate - reference) (s) over the events matched within ``window``; None if none match."""
    ref, est = matched_events(reference, estimate, window=window)
    return float(np.mean(est - ref)) if ref.size else None


def beat_alignment(beats: np.ndarray, events: np.ndarray, *, sigma: float = SIGMA_S) -> float:
    """Mean over ``beats`` (s) of ``exp(-d^2 / (2 sigma^2))``, ``d`` the distance to the
    nearest of ``events`` (s): 1 when every beat has an event on it, ~0 when none is within
    a few sigma; 0 without events (or without beats). Swap the arguments for the other way round."""
    beats, events = np.asarray(beats, np.float64), np.sort(np.asarray(events, np.float64))
    if beats.size == 0 or events.size == 0:
        return 0.0
    at = np.searchsorted(events, beats).clip(1, events.size - 1) if events.size > 1 else np.zeros(beats.size, int)
    nearest = np.minimum(np.abs(beats - events[at]), np.abs(beats - events[np.maximum(at - 1, 0)]))
    return float(np.exp(-(nearest ** 2) / (2 * sigma ** 2)).mean())


def onset_curve(sound: np.ndarray, rate: int, *, hop: int = 512) -> tuple[np.ndarray, float]:
    """(onset strength [shape=(frames,)] of a mono sound at ``rate`` Hz, its frames per second)."""
    import torch

    from videothat.audio.config import NoveltyConfig
    from videothat.audio.novelty import onset_strength

    config = NoveltyConfig(sample_rate=rate, hop_length=hop, chroma=False)
    curve = onset_strength([torch.from_numpy(np.ascontiguousarray(sound, np.float32))], config=config).curves[0]
    return curve.numpy(), config.frame_rate


def onset_times(sound: np.ndarray, rate: int, *, hop: int = 512) -> np.ndarray:
    """Onset times (s) of a mono sound at ``rate`` Hz: spectral flux peaks (as librosa's
    ``onset_detect``), frames every ``hop`` samples."""
    from videothat.audio.onsets import onset_frames

    curve, frame_rate = onset_curve(sound, rate, hop=hop)
    return onset_frames(curve, frame_rate=frame_rate) / frame_rate


def sync_figures(events: np.ndarray, sound: np.ndarray, rate: int) -> tuple[float, float | None, np.ndarray]:
    """(onset F of the sound's onsets against ``events`` (s), mean offset (s) of the matched
    pairs or None, the sound's onset times) of a mono ``sound`` at ``rate`` Hz."""
    onsets = onset_times(sound, rate)
    return onset_f_measure(events, onsets), mean_offset(events, onsets), onsets
