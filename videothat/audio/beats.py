"""Beat times from a novelty curve: tempo by autocorrelation, beats by dynamic programming.

Ellis (2007), "Beat tracking by dynamic programming" (the method of ``librosa.beat``):

1. tempo: the lag that maximises the onset curve's autocorrelation weighted by a
   log-normal prior around 120 BPM (one octave wide);
2. beats: the sequence of frames maximising the sum of onset strength at the beats minus
   ``tightness * log(interval / period) ** 2`` for every interval, solved forward with
   one vectorised window maximum per frame and read back from the best final beat.
"""

from __future__ import annotations

import numpy as np

from videothat.core.errors import ParameterError

PRIOR_BPM = 120.0  # centre of the tempo prior
PRIOR_OCTAVES = 1.0  # its width (standard deviation in octaves)
MIN_BPM, MAX_BPM = 30.0, 300.0
TIGHTNESS = 100.0  # how strongly beat intervals keep to the tempo (librosa's default)


def estimate_tempo(curve: np.ndarray, *, frame_rate: float) -> float:
    """Tempo in beats per minute of a novelty curve [shape=(T,)] at ``frame_rate`` frames/s."""
    x = np.asarray(curve, dtype=np.float64)
    x = x - x.mean()
    lags = np.arange(max(1, int(frame_rate * 60 / MAX_BPM)), min(x.size - 1, int(frame_rate * 60 / MIN_BPM)) + 1)
    if lags.size == 0 or not x.any():
        return PRIOR_BPM
    n = 1 << int(np.ceil(np.log2(2 * x.size)))
    spectrum = np.fft.rfft(x, n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum), n)[: x.size]
    ac = ac / (x.size - np.arange(x.size))  # unbiased
    bpm = 60.0 * frame_rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    return float(bpm[np.argmax(ac[lags] * prior)])


def beat_frames(curve: np.ndarray, *, frame_rate: float, bpm: float | None = None,
                tightness: float = TIGHTNESS) -> np.ndarray:
    """Beat frames of a novelty curve [shape=(T,)] -> int64 [shape=(n_beats,)], increasing."""
    if tightness <= 0:
        raise ParameterError(f"tightness={tightness} must be positive")
    x = np.asarray(curve, dtype=np.float64)
    if x.size == 0 or not np.any(x > 0):
        return np.zeros(0, dtype=np.int64)
    bpm = estimate_tempo(x, frame_rate=frame_rate) if bpm is None else bpm
    period = 60.0 * frame_rate / bpm
    local = x / (x.std() + 1e-12)
    score, back = _forward(local, period, tightness)
    return _backtrack(score, back, local, period)


def _forward(local: np.ndarray, period: float, tightness: float) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative best score ending with a beat at each frame, and its previous beat."""
    reach = np.arange(-int(round(2 * period)), -int(round(period / 2)) + 1)  # previous beat offsets
    penalty = -tightness * np.log(-reach / period) ** 2
    score = local.copy()
    back = np.full(local.size, -1, dtype=np.int64)
    for t in range(int(round(period / 2)), local.size):  # one window maximum per frame
        prev = t + reach
        ok = prev >= 0
        candidates = score[prev[ok]] + penalty[ok]
        best = int(np.argmax(candidates))
        if candidates[best] > 0 or back[prev[ok][best]] >= 0:
            score[t] += candidates[best]
            back[t] = prev[ok][best]
    return score, back


def _backtrack(score: np.ndarray, back: np.ndarray, local: np.ndarray, period: float) -> np.ndarray:
    """Follow the chain from the best-scoring frame near the end; drop weak edge beats."""
    tail = max(1, int(round(period)))
    start = score.size - tail + int(np.argmax(score[-tail:]))
    beats = [start]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    beats = np.array(beats[::-1], dtype=np.int64)
    strong = local[beats] >= 0.5 * np.sqrt(np.mean(local[beats] ** 2))  # as librosa's trimming
    if strong.any():
        first, last = np.flatnonzero(strong)[[0, -1]]
        beats = beats[first : last + 1]
    return beats
