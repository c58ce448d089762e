"""Offset voting as arrays against a brute-force loop."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from videothat.index.vote import best_offset_sums


def test_best_offset_sums_equal_a_loop_over_cells():
    rng = np.random.default_rng(0)
    keys, bins = rng.integers(0, 6, 300), rng.integers(-20, 20, 300)
    weights = rng.random(300)
    items, sums = best_offset_sums(keys, bins, weights)
    want: dict[tuple[int, int], float] = defaultdict(float)
    for k, b, w in zip(keys.tolist(), bins.tolist(), weights.tolist(), strict=True):
        for d in (-1, 0, 1):
            want[(k, b + d)] += w
    assert len(sums) == len(want)
    got_best = defaultdict(float)
    for item, total in zip(items.tolist(), sums.tolist(), strict=True):
        got_best[item] = max(got_best[item], total)
    for item in set(keys.tolist()):
        assert abs(got_best[item] - max(v for (k, _), v in want.items() if k == item)) < 1e-9
    assert np.isclose(sums.sum(), 3 * weights.sum())
