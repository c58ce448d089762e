"""The looks filters: dark, blurred, still and duplicate shots left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videothat.core.records import FileAnalysis, Shot, ShotLooks
from videothat.vision.looks import keep_masks, keep_shots


def _video(name: str, durations: list[float], brightness, sharpness, motion, signature) -> FileAnalysis:
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    shots = [Shot(Path(name), float(a), float(a + d), 25.0) for a, d in zip(starts, durations, strict=True)]
    curves = [np.full(int(d * 10), i, np.float32) for i, d in enumerate(durations)]
    looks = ShotLooks(np.asarray(brightness, np.float32), np.asarray(sharpness, np.float32),
                      np.asarray(motion, np.float32), np.asarray(signature, bool))
    return FileAnalysis(Path(name), "h" + name, float(sum(durations)), True, shots, curves, 10.0,
                        visual=[c + 1 for c in curves], looks=looks)


def test_thresholds_leave_out_the_dark_blurred_and_still():
    rng = np.random.default_rng(0)
    sig = rng.random((4, 64)) < 0.5
    a = _video("a.mp4", [1, 2, 3, 4], [0.01, 0.5, 0.5, 0.5], [100, 2, 100, 100], [1, 1, 0.01, 1], sig)
    (mask,) = keep_masks([a], min_brightness=0.04, min_sharpness=10, min_motion=0.1)
    assert mask.tolist() == [False, False, False, True]
    (everything,) = keep_masks([a])
    assert everything.all()
    kept = keep_shots(a, mask)
    assert [s.duration for s in kept.shots] == [4.0] and kept.novelty[0][0] == 3 and kept.visual[0][0] == 4
    assert kept.looks.signature.shape == (1, 64) and kept.looks.brightness.tolist() == [0.5]


def test_near_duplicates_keep_the_longest_of_each_group_across_videos():
    rng = np.random.default_rng(1)
    base = rng.random((3, 64)) < 0.5
    noisy = base[1].copy()
    noisy[:3] ^= True  # 3 bits from shot 1 of a
    a = _video("a.mp4", [1, 2, 3], [0.5] * 3, [50] * 3, [1] * 3, base)
    b = _video("b.mp4", [5, 1], [0.5] * 2, [50] * 2, [1] * 2, np.stack([noisy, ~base[0]]))
    masks = keep_masks([a, b], duplicates=4)
    assert masks[0].tolist() == [True, False, True]  # a's 2 s shot loses to b's 5 s near copy
    assert masks[1].tolist() == [True, True]
    assert [m.all() for m in keep_masks([a, b], duplicates=-1)] == [True, True]
