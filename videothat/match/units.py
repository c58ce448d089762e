"""Choosing source units for a mosaic: a Viterbi pass over each target unit's candidates.

For target units t = 0 .. T-1 each has K candidate source units (from a nearest-neighbour
search of unit descriptors), candidate j being unit ``position[t, j]`` of source file
``source[t, j]`` with target cost ``cost[t, j]`` (a descriptor distance). A path picks one
candidate per target unit and costs

    sum_t cost[t, j_t] + sum_{t > 0} join(t - 1 -> t)

where ``join`` is 0 when the pick at t continues the pick at t - 1 (same source, next unit)
and ``continuity`` otherwise. A large ``continuity`` holds runs of consecutive frames (no
single-frame flicker); 0 gives the naive nearest neighbour per unit. The pass is exact: the
minimum over all K^T paths, in O(T K^2) batched tensor steps on the device (one step per
target unit, as any Viterbi must run in time order).
"""

from __future__ import annotations

import torch
from torch import Tensor

from videothat.core.errors import ParameterError


def best_units(cost: Tensor, source: Tensor, position: Tensor, *, continuity: float) -> tuple[Tensor, Tensor]:
    """The cheapest path (module doc).

    Parameters
    ----------
    cost : [shape=(T, K)] float, target cost of each candidate (inf: not a candidate)
    source, position : [shape=(T, K)] int64, each candidate's source file and unit index in it
    continuity : cost of every join that does not continue the previous pick, >= 0

    Returns
    -------
    (picks [shape=(T,)] int64 candidate index per target unit, total cost [shape=()] float64)
    """
    if cost.ndim != 2 or cost.shape != source.shape or cost.shape != position.shape:
        raise ParameterError(f"cost {tuple(cost.shape)}, source {tuple(source.shape)} and position "
                             f"{tuple(position.shape)} must be one (T, K) shape")
    if not continuity >= 0:
        raise ParameterError(f"continuity={continuity} must be >= 0")
    t_units, k = cost.shape
    if t_units == 0:
        return torch.zeros(0, dtype=torch.int64, device=cost.device), torch.zeros((), dtype=torch.float64)
    cost = cost.double()
    total = cost[0].clone()
    back = torch.zeros(t_units, k, dtype=torch.int64, device=cost.device)
    for t in range(1, t_units):  # time order is the algorithm; each step is one batched K x K op
        follows = (source[t][None, :] == source[t - 1][:, None]) \
            & (position[t][None, :] == position[t - 1][:, None] + 1)
        joined = total[:, None] + (~follows).double() * continuity  # [from, to]
        total, back[t] = joined.min(dim=0)
        total = total + cost[t]
    picks = torch.empty(t_units, dtype=torch.int64, device=cost.device)
    best, picks[-1] = total.min(dim=0)
    for t in range(t_units - 1, 0, -1):
        picks[t - 1] = back[t, picks[t]]
    return picks, best


def run_lengths(source: Tensor, position: Tensor) -> Tensor:
    """Lengths (units) of the runs of a chosen sequence [shape=(T,)] each: a run continues
    while each unit is the next unit of the same source. Returns [shape=(runs,)] int64."""
    if source.numel() == 0:
        return torch.zeros(0, dtype=torch.int64, device=source.device)
    breaks = torch.ones(source.numel(), dtype=torch.bool, device=source.device)
    breaks[1:] = (source[1:] != source[:-1]) | (position[1:] != position[:-1] + 1)
    starts = torch.nonzero(breaks).flatten()
    ends = torch.cat([starts[1:], torch.tensor([source.numel()], device=source.device)])
    return ends - starts
