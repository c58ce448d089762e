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


def test_a_silent_shot_lacks_the_typical_sound():
    from videothat.match.fuse import missing_sound

    rng = np.random.default_rng(3)
    audio = [rng.random(n).astype(np.float32) * s for n, s in ((30, 1.0), (50, 2.0), (20, 4.0))]
    audio += [np.zeros(25, np.float32), np.full(10, 0.5, np.float32)]  # no sound; a flat (digitally silent) curve
    typical = np.median([_rms(a) for a in audio[:3]])
    np.testing.assert_allclose(missing_sound(audio, reference=9.0), [0, 0, 0, typical**2, typical**2], rtol=1e-6)
    np.testing.assert_allclose(missing_sound([np.zeros(5)], reference=3.0), [9.0])


@pytest.mark.parametrize("weight", [0.3, 1.0, 3.0])
def test_a_silent_shot_scores_its_motion_at_the_weight_of_pictures(weight):
    """A silent shot whose fused curve is its motion (at the typical level times w): with the
    sound it lacks in its energy, its window score at every offset equals a brute-force
    normalised correlation with that energy added, about w / sqrt(1 + w^2) of the score
    of the same curve with sound."""
    import torch

    from videothat.match.config import ScoreConfig
    from videothat.match.correlate import correlate, prepare_song, shot_bank

    rng = np.random.default_rng(4)
    fr = 22050 / 512
    song = rng.random(300).astype(np.float32)
    sound = [rng.random(80).astype(np.float32) for _ in range(3)]
    motion = rng.random(60).astype(np.float32)
    fused = fuse_curves([*sound, np.zeros(60, np.float32)], [None, None, None, motion], weight=weight, reference=1.0)
    from videothat.match.fuse import missing_sound

    quiet = missing_sound([*sound, np.zeros(60, np.float32)], reference=1.0)
    cfg = ScoreConfig(edge=False, floor=1e-6)
    prepared = prepare_song(torch.from_numpy(song), cfg)
    with_quiet = correlate(shot_bank([torch.from_numpy(fused[3])], cfg, quiet=quiet[3:]), prepared, frame_rate=fr,
                           config=cfg)[0].numpy()
    plain = correlate(shot_bank([torch.from_numpy(fused[3])], cfg), prepared, frame_rate=fr, config=cfg)[0].numpy()
    x = fused[3] - fused[3].mean()
    ys = song - song.mean()
    for o in (0, 17, 240):
        m = min(len(x), len(song) - o)
        brute = (x[:m] @ ys[o : o + m]) / np.sqrt((x[:m] @ x[:m] + m * quiet[3]) * (ys[o : o + m] @ ys[o : o + m]))
        assert with_quiet[o] == pytest.approx(brute * (m / fr) ** 0.5, rel=2e-3, abs=1e-5)
    ratio = with_quiet[:200] / plain[:200]
    assert np.median(ratio) == pytest.approx(weight / np.sqrt(1 + weight**2), rel=0.15)
