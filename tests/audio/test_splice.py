"""Splicing the sources' sound along a timeline, and loudness following, against per-sample loops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videothat.audio.splice import MAX_BOOST_DB, PEAK, follow_loudness, splice
from videothat.core.errors import ParameterError
from videothat.core.timeline import Cut, Timeline

RATE = 1000


def _source_at(x: np.ndarray, position: float) -> float:
    """Linear interpolation, 0 outside the sound (the reference for one sample)."""
    if position < 0 or position > x.size - 1:
        return 0.0
    low = int(np.floor(position))
    high = min(low + 1, x.size - 1)
    return (1 - (position - low)) * x[low] + (position - low) * x[high]


def _reference(timeline: Timeline, audio: dict, crossfade: float) -> np.ndarray:
    """Every output sample from the segments around it, one sample at a time."""
    cuts = timeline.segments
    starts = [round(c.song_start * RATE) for c in cuts]
    n = round(timeline.duration * RATE)
    spans = np.diff(starts + [n])
    out = np.zeros(n)
    for i in range(n):
        s = max(j for j in range(len(cuts)) if starts[j] <= i)
        read = lambda j, i=i: _source_at(audio[cuts[j].source], cuts[j].source_start * RATE  # noqa: E731
                                         + cuts[j].speed * (i - starts[j]))
        out[i] = read(s)
        for j in (s, s + 1):  # the fades of the cuts at this segment's start and end
            if 1 <= j < len(cuts):
                half = min(round(crossfade * RATE / 2), spans[j - 1] // 2, spans[j] // 2)
                if starts[j] - half <= i < starts[j] + half:
                    x = (i - (starts[j] - half) + 0.5) / (2 * half)
                    out[i] = np.cos(np.pi / 2 * x) * read(j - 1) + np.sin(np.pi / 2 * x) * read(j)
    return out


@pytest.mark.parametrize("crossfade", [0.0, 0.02, 0.3])
def test_splice_equals_a_per_sample_loop(crossfade):
    rng = np.random.default_rng(1)
    a, b = Path("a.mp4"), Path("b.mp4")
    audio = {a: rng.standard_normal(900).astype(np.float32), b: rng.standard_normal(400).astype(np.float32)}
    cuts = [Cut(a, 0.1, 0.3, 0.0, 0.2, 0.0), Cut(b, 0.0, 0.05, 0.2, 0.25, 0.0),  # b starts at its first sample
            Cut(a, 0.5, 0.8, 0.25, 0.55, 0.0), Cut(b, 0.2, 0.3, 0.55, 0.75, 0.0, 0.5),  # retimed: half speed
            Cut(b, 0.35, 0.65, 0.75, 1.05, 0.0)]  # plays past b's end: silence
    timeline = Timeline(Path("t.wav"), 1.05, cuts).validate()
    got = splice(timeline, audio, rate=RATE, crossfade=crossfade)
    assert got.dtype == np.float32 and got.shape == (1050,)
    np.testing.assert_allclose(got, _reference(timeline, audio, crossfade), atol=1e-5)


def test_one_continuous_segment_is_the_source_itself():
    x = np.random.default_rng(0).standard_normal(3000).astype(np.float32)
    timeline = Timeline(Path("t.wav"), 2.0, [Cut(Path("a"), 0.5, 2.5, 0.0, 2.0, 0.0)])
    np.testing.assert_array_equal(splice(timeline, {Path("a"): x}, rate=RATE, crossfade=0.05), x[500:2500])


def test_splice_refuses_missing_sounds_and_bad_fades():
    timeline = Timeline(Path("t.wav"), 1.0, [Cut(Path("a"), 0.0, 1.0, 0.0, 1.0, 0.0)])
    with pytest.raises(ParameterError, match="no sound given for a"):
        splice(timeline, {}, rate=RATE)
    with pytest.raises(ParameterError, match="crossfade"):
        splice(timeline, {Path("a"): np.zeros(10, np.float32)}, rate=RATE, crossfade=float("nan"))


def test_loudness_follows_the_reference_frame_by_frame():
    rng = np.random.default_rng(2)
    n, hop = 40 * 441, 441  # 40 frames of 10 ms at 44.1 kHz
    sound = (rng.standard_normal(n) * 0.1).astype(np.float32)
    levels = np.repeat(10 ** ((-33 + 17 * np.sin(np.arange(40) / 3)) / 20), hop)  # an envelope of -50 .. -16 dB
    reference = (rng.standard_normal(n) * levels).astype(np.float32)
    out = follow_loudness(sound, reference, rate=44100, frame=0.01)
    rms = lambda x: np.sqrt(np.mean(x.reshape(-1, hop) ** 2, axis=1))  # noqa: E731
    ratio_db = 20 * np.log10(rms(out)[2:-2] / rms(reference)[2:-2])  # inner frames (the gain is interpolated)
    assert np.abs(ratio_db).max() < 1.5 and np.median(np.abs(ratio_db)) < 0.5
    quiet = follow_loudness(sound * 1e-6, reference * 0 + 0.5, rate=44100, frame=0.01)
    assert np.abs(quiet).max() <= 1e-6 * 0.1 * 10 ** (MAX_BOOST_DB / 20) * 6  # boosted at most MAX_BOOST_DB
    loud = follow_loudness(sound, reference * 100, rate=44100, frame=0.01)
    assert np.abs(loud).max() <= PEAK + 1e-6


def test_fades_rise_and_fall_as_raised_cosines():
    from videothat.audio.splice import faded

    x = np.ones(1000, np.float32)
    y = faded(x, RATE, fade_in=0.1, fade_out=0.2)
    k = np.arange(100)
    np.testing.assert_allclose(y[:100], 0.5 - 0.5 * np.cos(np.pi * (k + 0.5) / 100), atol=1e-6)
    np.testing.assert_allclose(y[800:][::-1], 0.5 - 0.5 * np.cos(np.pi * (np.arange(200) + 0.5) / 200), atol=1e-6)
    assert (y[100:800] == 1).all() and faded(x[:10], RATE, fade_in=5, fade_out=0).max() < 1
    with pytest.raises(ParameterError, match="fade_in"):
        faded(x, RATE, fade_in=-1, fade_out=0)
