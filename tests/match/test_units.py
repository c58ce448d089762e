"""Mosaic unit selection: the Viterbi pass against a brute-force search over every path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from videothat.core.errors import ParameterError
from videothat.match.units import best_units


def run_lengths(source, position):
    """Lengths of the runs of a chosen sequence: each unit the next unit of the same source."""
    if source.numel() == 0:
        return torch.zeros(0, dtype=torch.int64)
    breaks = torch.ones(source.numel(), dtype=torch.bool)
    breaks[1:] = (source[1:] != source[:-1]) | (position[1:] != position[:-1] + 1)
    starts = torch.nonzero(breaks).flatten()
    return torch.cat([starts[1:], torch.tensor([source.numel()])]) - starts


def _path_cost(path, cost, source, position, continuity) -> float:
    total = sum(cost[t, j] for t, j in enumerate(path))
    for t in range(1, len(path)):
        a, b = path[t - 1], path[t]
        total += 0.0 if source[t, b] == source[t - 1, a] and position[t, b] == position[t - 1, a] + 1 else continuity
    return total


def _brute(cost, source, position, continuity) -> float:
    return min(_path_cost(path, cost, source, position, continuity)
               for path in itertools.product(range(cost.shape[1]), repeat=cost.shape[0]))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("continuity", [0.0, 0.3, 2.0])
def test_viterbi_equals_brute_force(device, seed, continuity):
    rng = np.random.default_rng(seed)
    t_units, k = 5, 3
    cost = rng.random((t_units, k))
    source = rng.integers(0, 2, (t_units, k))
    start = rng.integers(0, 3, (1, k))
    position = start + np.arange(t_units)[:, None] + rng.integers(0, 2, (t_units, k))  # some continue, some not
    picks, total = best_units(*(torch.from_numpy(a).to(device) for a in (cost, source, position)),
                              continuity=continuity)
    want = _brute(cost, source, position, continuity)
    assert abs(float(total) - want) < 1e-9
    # the picks cost what the pass says (ties may pick another path of the same cost)
    assert abs(_path_cost(picks.tolist(), cost, source, position, continuity) - want) < 1e-9


def test_no_continuity_is_the_nearest_neighbour_and_a_high_one_holds_runs():
    """Candidate 0 is always the next frame of one source, a little worse than the random
    best: no continuity flickers between the cheapest; a high one plays that source through."""
    rng = np.random.default_rng(0)
    t_units, k = 40, 4
    cost = torch.from_numpy(rng.random((t_units, k)))
    cost[:, 0] = cost[:, 1:].min(dim=1).values + 0.2
    source = torch.from_numpy(rng.integers(1, 4, (t_units, k)))
    position = torch.from_numpy(rng.integers(0, 100, (t_units, k)))
    source[:, 0], position[:, 0] = 0, torch.arange(t_units)
    naive, _ = best_units(cost, source, position, continuity=0.0)
    assert torch.equal(naive, cost.argmin(dim=1))
    held, _ = best_units(cost, source, position, continuity=5.0)
    pick = torch.arange(t_units)
    runs_naive = run_lengths(source[pick, naive], position[pick, naive])
    runs_held = run_lengths(source[pick, held], position[pick, held])
    assert runs_held.sum() == runs_naive.sum() == t_units
    assert runs_held.tolist() == [t_units] and runs_naive.float().mean() < 1.5


def test_bad_shapes():
    with pytest.raises(ParameterError, match="one"):
        best_units(torch.zeros(3, 2), torch.zeros(3, 1, dtype=torch.int64), torch.zeros(3, 2, dtype=torch.int64),
                   continuity=1.0)
    with pytest.raises(ParameterError, match="continuity"):
        best_units(torch.zeros(3, 2), torch.zeros(3, 2, dtype=torch.int64), torch.zeros(3, 2, dtype=torch.int64),
                   continuity=-1.0)


@pytest.mark.parametrize("follow", [0, 2, 10])
def test_continuation_candidates_equal_a_loop(device, follow):
    from videothat.match.units import continuation_candidates

    owner = torch.tensor([0] * 6 + [1] * 4 + [2] * 5)
    rng = np.random.default_rng(follow)
    nearest = torch.from_numpy(rng.integers(-1, owner.numel(), (7, 3)))  # -1: a search found fewer
    got = continuation_candidates(nearest.to(device), owner.to(device), follow=follow).cpu()
    lags = range(min(follow, 6) + 1)
    assert got.shape == (7, 3 * len(lags))
    for t in range(7):
        want = []
        for lag in lags:
            for u in nearest[t - lag].tolist() if t - lag >= 0 else [-1, -1, -1]:
                ok = u >= 0 and u + lag < owner.numel() and owner[u + lag] == owner[u]
                want.append(u + lag if ok else -1)
        assert got[t].tolist() == want
