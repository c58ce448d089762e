"""Alignment voting: many query windows' neighbours agree on one (file, offset).

Each query window at time ``q`` whose neighbour is window ``s`` of file ``f`` votes for
"the query starts at time ``s - q`` of ``f``". Votes are binned by the index hop; each
window counts once per bin (its best similarity there); a bin's score is the sum over
windows. With query windows on the same hop grid as the index, a true alignment puts all
its votes in one bin, so longer queries separate it from chance coincidences. The offset
reported is the similarity-weighted mean of the votes in the winning bin.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from videothat.index.store import Hit


@dataclass(frozen=True)
class Alignment:
    """A file and the time in it (s) where the query's start falls, with its evidence."""

    path: str
    offset: float  # s into the file at the query's time 0 (negative: the query starts before it)
    score: float  # summed best similarity per query window
    votes: int  # query windows agreeing


def vote(hits: Sequence[Sequence[Hit]], query_starts: Sequence[float], *, bin_seconds: float,
         top: int = 10, per_file: bool = True, per_window: int | None = None) -> list[Alignment]:
    """Rank (file, offset) alignments from each query window's hits (see module doc).

    ``hits[i]`` are the neighbours of the window starting at ``query_starts[i]`` s, best
    first; only the first ``per_window`` of them vote (None: all). One vote per window (its
    nearest neighbour) identifies a recording best: the windows of the right excerpt agree on
    one offset, while the near misses of a similar-sounding passage scatter.
    With ``per_file`` only each file's best offset is kept.
    """
    if per_window is not None:
        hits = [row[:per_window] for row in hits]
    scores: dict[tuple[str, int], float] = defaultdict(float)
    votes: dict[tuple[str, int], int] = defaultdict(int)
    moments: dict[tuple[str, int], float] = defaultdict(float)  # sum of score x offset
    for row, q in zip(hits, query_starts, strict=True):
        best: dict[tuple[str, int], tuple[float, float]] = {}
        for hit in row:
            offset = hit.info.start - q
            key = (hit.info.path, round(offset / bin_seconds))
            if key not in best or hit.score > best[key][0]:
                best[key] = (hit.score, offset)
        for key, (score, offset) in best.items():
            scores[key] += score
            votes[key] += 1
            moments[key] += score * offset
    ranked = sorted(scores, key=lambda key: (-scores[key], key))
    out: list[Alignment] = []
    seen: set[str] = set()
    for path, b in ranked:
        if per_file and path in seen:
            continue
        seen.add(path)
        key = (path, b)
        offset = moments[key] / scores[key] if scores[key] > 0 else b * bin_seconds
        out.append(Alignment(path, offset, scores[key], votes[key]))
        if len(out) == top:
            break
    return out


def best_offset_sums(keys: np.ndarray, bins: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offset votes as arrays: hit ``i`` votes ``weights[i]`` for item ``keys[i]`` (int64 >=
    0) at offset bin ``bins[i]``; a bin's sum takes in its two neighbours' votes (an offset
    on a bin edge is not split). All [shape=(n,)].

    Returns (item per (item, bin) cell, the cell's sum), each [shape=(cells,)].
    """
    low = int(bins.min(initial=0))
    span = int(bins.max(initial=0)) - low + 3
    cell = keys * span + (bins - low + 1)  # (item, bin) as one key; +-1 stays inside the item's range
    cells, group = np.unique(np.concatenate([cell - 1, cell, cell + 1]), return_inverse=True)
    sums = np.zeros(len(cells))
    np.add.at(sums, group, np.tile(weights, 3))
    return cells // span, sums
