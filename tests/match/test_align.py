"""Window-by-window alignment scores against a brute-force loop, and carried candidates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videothat.core.errors import ParameterError
from videothat.match.align import FLOOR, carried, window_scores


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum() + FLOOR))


def _brute(target, sources, lengths, starts, window, source, lag, plays):
    """One candidate at a time, one frame at a time."""
    best = np.full(source.shape, -np.inf)
    for q, c in np.ndindex(*source.shape):
        ell = lag[q, c]
        if source[q, c] < 0 or (plays is not None
                                and not (plays[q, 0] + ell >= 0 and plays[q, 1] + ell <= lengths[source[q, c]])):
            continue
        frames = [f for f in range(starts[q], starts[q] + window) if 0 <= f < target.size]
        y = np.array([sources[source[q, c], f + ell] if 0 <= f + ell < lengths[source[q, c]] else 0.0 for f in frames])
        best[q, c] = _pearson(target[frames], y)
    return best


@pytest.mark.parametrize("with_plays", [False, True])
def test_window_scores_equal_a_loop(device, with_plays):
    rng = np.random.default_rng(3 * with_plays)
    target = rng.random(40)
    lengths = np.array([50, 30, 45])
    sources = np.zeros((3, 50))
    for s, n in enumerate(lengths):
        sources[s, :n] = rng.random(n)
    sources[1, 5:25] = target[0:20] * 2 + 0.1  # source 1 at lag +5 is the target's first half
    starts = np.array([-3, 4, 12, 30])  # windows may start before the target and run past it
    source = rng.integers(-1, 3, (4, 5))
    lag = rng.integers(-8, 12, (4, 5))
    plays = np.stack([starts + 2, starts + 6], axis=1) if with_plays else None
    t = lambda a: torch.as_tensor(a).to(device)  # noqa: E731
    got = window_scores(t(target).float(), t(sources).float(), t(lengths), t(starts), 9, t(source), t(lag),
                        plays=None if plays is None else t(plays))
    np.testing.assert_allclose(got.cpu().numpy(), _brute(target, sources, lengths, starts, 9, source, lag, plays),
                               atol=1e-4)


def test_the_true_lag_is_found_and_bad_shapes_refused():
    from videothat.match.align import best_lags

    target = torch.zeros(60)
    target[[5, 17, 23, 41, 50]] = 1.0
    source = torch.zeros(2, 100)
    source[1, [5 + 30, 17 + 30, 23 + 30, 41 + 30, 50 + 30]] = 1.0
    source[0, ::7] = 1.0  # a steady beat fits nothing well
    score, which, lag = best_lags(target, source, torch.tensor([100, 100]), torch.tensor([0, 20]), 30, k=1)
    assert which.flatten().tolist() == [1, 1] and lag.flatten().tolist() == [30, 30] and float(score.min()) > 0.99
    with pytest.raises(ParameterError, match="window"):
        window_scores(target, source, torch.tensor([100]), torch.tensor([0]), 1, torch.zeros(1, 1, dtype=torch.int64),
                      torch.zeros(1, 1, dtype=torch.int64))


@pytest.mark.parametrize("follow", [0, 1, 3, 9])
def test_carried_candidates_equal_a_loop(follow):
    rng = np.random.default_rng(follow)
    source, lag = rng.integers(0, 5, (6, 2)), rng.integers(-9, 9, (6, 2))
    got_source, got_lag = carried(torch.from_numpy(source), torch.from_numpy(lag), follow=follow)
    reach = min(follow, 5)
    for q in range(6):
        want_source, want_lag = [], []
        for d in [0] + [d for k in range(1, reach + 1) for d in (-k, k)]:
            inside = 0 <= q + d < 6
            want_source += list(source[q + d]) if inside else [-1, -1]
            want_lag += list(lag[q + d]) if inside else list(lag[min(max(q + d, 0), 5)])
        assert got_source[q].tolist() == want_source
        assert [g for g, s in zip(got_lag[q].tolist(), want_source, strict=True) if s >= 0] == \
            [w for w, s in zip(want_lag, want_source, strict=True) if s >= 0]


@pytest.mark.parametrize("with_plays", [False, True])
def test_best_lags_are_the_best_of_every_lag(device, with_plays):
    from videothat.match.align import best_lags

    rng = np.random.default_rng(7 + with_plays)
    target = rng.random(50)
    lengths = np.array([70, 40, 64])
    sources = np.zeros((3, 70))
    for s, n in enumerate(lengths):
        sources[s, :n] = rng.random(n)
    sources[2, 20:45] = target[10:35] + 0.5 * rng.random(25)  # source 2 at lag 10 resembles the target
    starts = np.array([-4, 8, 30, 45])
    plays = np.stack([np.maximum(starts + 3, 0), np.minimum(starts + 7, 50)], axis=1) if with_plays else None
    t = lambda a: torch.as_tensor(a).to(device)  # noqa: E731
    score, source, lag = best_lags(t(target).float(), t(sources).float(), t(lengths), t(starts), 12, k=5,
                                   plays=None if plays is None else t(plays), max_elements=4096)
    every = {}  # (window, source, lag) -> score, by the brute-force loop, over every lag the window overlaps the source
    for q in range(4):
        for s in range(3):
            a = max(starts[q], 0)
            n = min(starts[q] + 12, 50) - a  # the window's frames in the target
            for m in range(1 - n, lengths[s]):
                want = _brute(target, sources, lengths, starts[q : q + 1], 12, np.array([[s]]), np.array([[m - a]]),
                              None if plays is None else plays[q : q + 1])
                every[(q, s, m - a)] = want[0, 0]
    for q in range(4):
        ranked = sorted((v for (qq, _, _), v in every.items() if qq == q and np.isfinite(v)), reverse=True)[:5]
        np.testing.assert_allclose(score[q].cpu().numpy()[: len(ranked)], ranked, atol=1e-4)
        for j in range(len(ranked)):
            assert abs(every[(q, int(source[q, j]), int(lag[q, j]))] - float(score[q, j])) < 1e-4
