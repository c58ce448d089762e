"""The sources' own sound as a timeline plays it, joined with short crossfades, and a
sound's loudness made to follow another's (mosaic mode's rebuilt sound track).

Splicing: output sample ``n`` of the segment covering it reads its source at ``rate *
source_start + speed * (n - rate * song_start)`` (linear interpolation between samples;
silence before a source's start and past its end). At each cut, the outgoing segment plays
on and the incoming one starts early over ``crossfade`` s centred on the cut, with
equal-power (sine/cosine) gains; a fade never takes more than half of either segment.
Everything is one gather over all output samples, whatever the number of segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from videothat.core.errors import ParameterError
from videothat.core.timeline import Timeline

LOUDNESS_FRAME_S = 0.04  # s, frames whose RMS levels are matched
MAX_BOOST_DB = 24.0  # dB, the most a quiet source is raised (beyond it, its noise floor would be heard)
MAX_CUT_DB = 60.0  # dB, the most a loud source is lowered (where the reference is silent)
PEAK = 0.99  # full scale the result is kept under


def splice(timeline: Timeline, audio_of: Mapping[Path, np.ndarray], *, rate: int, crossfade: float = 0.0
           ) -> np.ndarray:
    """The timeline's sound: [shape=(round(duration * rate),)] float32 from each segment's
    source sound in ``audio_of`` (mono float32 at ``rate`` Hz, keyed by the segments'
    ``source`` paths), crossfaded over ``crossfade`` s at every cut (module doc)."""
    if not crossfade >= 0:
        raise ParameterError(f"crossfade={crossfade} s must be >= 0")
    segments = timeline.segments
    paths = list(dict.fromkeys(Path(c.source) for c in segments))
    missing = [p for p in paths if p not in audio_of]
    if missing:
        raise ParameterError(f"no sound given for {missing[0]}")
    flat, offsets, lengths = _concatenated([audio_of[p] for p in paths])
    which = {p: i for i, p in enumerate(paths)}
    source = np.array([which[Path(c.source)] for c in segments])
    first = np.array([c.source_start * rate for c in segments])  # source sample at the segment's start
    speed = np.array([c.speed for c in segments])
    starts = np.round(np.array([c.song_start for c in segments]) * rate).astype(np.int64)
    n = round(timeline.duration * rate)
    t = np.arange(n)
    seg = np.searchsorted(starts, t, side="right") - 1
    read = lambda s, at: _read(flat, offsets[source[s]], lengths[source[s]],  # noqa: E731
                               first[s] + speed[s] * (at - starts[s]))
    out = read(seg, t)
    if crossfade > 0 and len(segments) > 1:
        spans = np.diff(np.append(starts, n))
        half = np.minimum(round(crossfade * rate / 2), np.minimum(spans[:-1], spans[1:]) // 2)  # per cut
        cut = np.repeat(np.arange(1, len(segments)), 2 * half)
        within = np.arange(cut.size) - np.repeat(np.cumsum(2 * half) - 2 * half, 2 * half)
        at = starts[cut] - half[cut - 1] + within
        x = (within + 0.5) / (2 * half[cut - 1])
        out[at] = np.cos(np.pi / 2 * x) * read(cut - 1, at) + np.sin(np.pi / 2 * x) * read(cut, at)
    return out.astype(np.float32)


def _concatenated(sounds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(every sound one after another, each one's offset, each one's length)."""
    lengths = np.array([s.size for s in sounds], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    flat = np.concatenate([*(np.asarray(s, np.float32) for s in sounds), np.zeros(1, np.float32)])
    return flat, offsets, lengths


def _read(flat: np.ndarray, offset: np.ndarray, length: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Samples at fractional ``position`` of the sounds at ``offset`` (of ``length``) in ``flat``,
    linearly interpolated; 0 outside [0, length - 1]."""
    inside = (position >= 0) & (position <= length - 1)
    position = np.where(inside, position, 0.0)
    low = np.floor(position).astype(np.int64)
    frac = position - low
    high = np.minimum(low + 1, length - 1)
    value = (1 - frac) * flat[offset + low] + frac * flat[offset + high]
    return np.where(inside, value, 0.0)


def follow_loudness(sound: np.ndarray, reference: np.ndarray, *, rate: int, frame: float = LOUDNESS_FRAME_S
                    ) -> np.ndarray:
    """``sound`` with a gain that gives each ``frame``-s stretch the RMS level of the same
    stretch of ``reference`` (both mono at ``rate`` Hz, [shape=(n,)]): gains in dB between
    -MAX_CUT_DB and +MAX_BOOST_DB, interpolated linearly between frame centres; the result
    is scaled down as a whole if it would peak over PEAK."""
    n = sound.size
    hop = max(1, round(frame * rate))
    frames = -(-n // hop)
    if n == 0:
        return sound.astype(np.float32)
    level = lambda x: 10 * np.log10(np.bincount(np.arange(n) // hop, weights=np.asarray(x[:n], np.float64) ** 2,  # noqa: E731
                                                minlength=frames) / hop + 1e-12)
    reference = np.pad(np.asarray(reference, np.float32), (0, max(0, n - reference.size)))
    gain_db = np.clip(level(reference) - level(sound), -MAX_CUT_DB, MAX_BOOST_DB)
    centres = (np.arange(frames) + 0.5) * hop
    out = sound * 10 ** (np.interp(np.arange(n), centres, gain_db) / 20)
    peak = float(np.abs(out).max())
    return (out * (PEAK / peak if peak > PEAK else 1.0)).astype(np.float32)


def faded(sound: np.ndarray, rate: int, *, fade_in: float, fade_out: float) -> np.ndarray:
    """``sound`` (mono at ``rate`` Hz) with a raised-cosine fade in over its first ``fade_in``
    s and out over its last ``fade_out`` s (each at most the whole sound)."""
    if not (fade_in >= 0 and fade_out >= 0):
        raise ParameterError(f"fade_in={fade_in} and fade_out={fade_out} s must be >= 0")
    out = np.asarray(sound, np.float32).copy()
    n_in, n_out = min(out.size, round(fade_in * rate)), min(out.size, round(fade_out * rate))
    out[:n_in] *= _ramp(n_in)
    if n_out:
        out[out.size - n_out :] *= _ramp(n_out)[::-1]
    return out


def _ramp(n: int) -> np.ndarray:
    """A raised-cosine rise over ``n`` samples [shape=(n,)] float32, from near 0 to near 1."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
