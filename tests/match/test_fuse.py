"""Fusing each shot's sound and motion into the curve the matcher scores."""

from __future__ import annotations

import numpy as np
import pytest

from videothat.core.errors import ParameterError
from videothat.match.fuse import fuse_curves


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean((x - x.mean()) ** 2)))


def test_fused_curves_equal_a_per_shot_loop():
    rng = np.random.default_rng(0)
    audio = [rng.random(n).astype(np.float32) for n in (30, 55, 12)] + [np.zeros(40, np.float32)]
    visual = [rng.random(len(a)).astype(np.float32) * s for a, s in zip(audio, (1.0, 3.0, 0.5, 2.0), strict=True)]
    got = fuse_curves(audio, visual, weight=0.7, reference=5.0)
    typical_a = np.median([_rms(a) for a in audio[:3]])
    typical_v = np.median([_rms(v) for v in visual])
    for a, v, x in zip(audio, visual, got, strict=True):
        np.testing.assert_allclose(x, a + 0.7 * typical_a / typical_v * v, rtol=1e-5, atol=1e-6)
    # the raw correlation with any song curve is the audio one plus the weighted visual one
    y = rng.random(30)
    scale = 0.7 * typical_a / typical_v
    assert got[0] @ y == pytest.approx(audio[0] @ y + scale * (visual[0] @ y), rel=1e-5)


def test_weight_zero_or_no_motion_leaves_the_sound():
    audio = [np.arange(5, dtype=np.float32)]
    assert fuse_curves(audio, [np.ones(5, np.float32)], weight=0.0, reference=1.0)[0] is audio[0]
    np.testing.assert_array_equal(fuse_curves(audio, [None], weight=1.0, reference=1.0)[0], audio[0])
    np.testing.assert_array_equal(fuse_curves(audio, [np.full(5, 3, np.float32)], weight=1.0, reference=1.0)[0],
                                  audio[0])  # constant motion: no impact


def test_silent_shots_are_scored_by_their_motion_and_bad_weights_refused():
    v = np.array([0, 1, 0, 0, 2], np.float32)
    (x,) = fuse_curves([np.zeros(5, np.float32)], [v], weight=1.0, reference=4.0)
    np.testing.assert_allclose(x, 4.0 / _rms(v) * v, rtol=1e-6)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match="visual_weight"):
            fuse_curves([v], [v], weight=bad, reference=1.0)
