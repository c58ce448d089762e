"""A video's event curve: impact peaks and cuts as spikes, against a loop; per-shot curves laid out."""

from __future__ import annotations

import numpy as np

from videothat.audio.onsets import SPREAD, onset_frames, onset_spikes
from videothat.vision.events import event_curve, placed

FR = 43.0


def test_event_curve_is_peaks_and_cuts_spread_over_a_frame_either_side():
    rng = np.random.default_rng(0)
    impacts = rng.random(200) * 0.05
    impacts[[30, 90, 150]] = [2.0, 1.0, 0.5]
    cuts = np.array([60, 120, 199, 500])  # one on the last frame, one outside
    curve = event_curve(impacts, cuts, frame_rate=FR, cut_weight=0.8)
    scale = np.quantile(impacts, 0.99)
    want = np.zeros(200)
    for frame in onset_frames(impacts, frame_rate=FR):
        for d, w in zip((-1, 0, 1), SPREAD, strict=True):
            if 0 <= frame + d < 200:
                want[frame + d] += w * min(impacts[frame] / scale, 1.0)
    for frame in cuts[cuts < 200]:
        for d, w in zip((-1, 0, 1), SPREAD, strict=True):
            if 0 <= frame + d < 200:
                want[frame + d] += w * 0.8
    np.testing.assert_allclose(curve, want, atol=1e-6)
    assert curve[30] >= 0.5 and curve[60] >= 0.4 and curve[35] == 0  # a peak and a cut on their frames


def test_moving_all_the_time_is_not_one_long_event():
    noise = 1.0 + 0.05 * np.random.default_rng(1).random(300)  # steady motion, small wobble
    noise[[100, 200]] = 3.0
    curve = event_curve(noise, np.zeros(0, np.int64), frame_rate=FR, cut_weight=1.0)
    assert (curve > 0.1).mean() < 0.1 and curve[100] > 0.3 and curve[200] > 0.3


def test_onset_spikes_keep_only_the_onsets():
    curve = np.zeros(100)
    curve[[20, 60]] = [4.0, 2.0]
    spikes = onset_spikes(curve, frame_rate=FR)
    np.testing.assert_allclose(spikes[19:22], SPREAD * 1.0)
    np.testing.assert_allclose(spikes[59:62], SPREAD * 0.5)
    assert spikes.sum() == 1.5 and onset_spikes(np.zeros(0), frame_rate=FR).size == 0


def test_placed_equals_a_loop():
    rng = np.random.default_rng(2)
    curves = [rng.random(n).astype(np.float32) for n in (5, 0, 7, 4)]
    starts = np.array([0, 3, 6, 15])
    got = placed(curves, starts, 17)
    want = np.zeros(17, np.float32)
    for c, s in zip(curves, starts, strict=True):
        for k, v in enumerate(c):
            if s + k < 17:
                want[s + k] = v
    np.testing.assert_array_equal(got, want)
