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

import numpy as np
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
    best, last = total.min(dim=0)
    back, picks = back.cpu().numpy(), np.empty(t_units, dtype=np.int64)  # the backtrack: scalar steps, on the host
    picks[-1] = int(last)
    for t in range(t_units - 1, 0, -1):
        picks[t - 1] = back[t, picks[t]]
    return torch.from_numpy(picks).to(cost.device), best


def continuation_candidates(nearest: Tensor, owner: Tensor, *, follow: int) -> Tensor:
    """Each target unit's candidates: its K nearest source units and, for each of the
    ``follow`` target units before it, the units that continue their K nearest to here
    (unit ``u`` nearest to target unit ``t - l`` gives unit ``u + l`` of the same source),
    so a run can go on past the units a nearest-neighbour search returns.

    Parameters
    ----------
    nearest : [shape=(T, K)] int64 source unit ids (units of one source are consecutive ids; -1: none)
    owner : [shape=(U,)] int64, the source of every unit

    Returns
    -------
    [shape=(T, K * (1 + min(follow, T - 1)))] int64 unit ids, -1 where a continuation would
    leave its source.
    """
    t_units, _ = nearest.shape
    lags = torch.arange(0, min(follow, max(t_units - 1, 0)) + 1, device=nearest.device)
    earlier = torch.arange(t_units, device=nearest.device)[:, None] - lags[None, :]  # [T, L]
    start = nearest[earlier.clamp(min=0)]  # [T, L, K]: the nearest of t - l
    later = start + lags[None, :, None]
    ok = (earlier >= 0)[..., None] & (start >= 0) & (later < owner.numel())  # -1: a search found fewer than K
    ok &= owner[later.clamp(0, owner.numel() - 1)] == owner[start.clamp(min=0)]  # still inside the same source
    return torch.where(ok, later, -1).reshape(t_units, -1)
