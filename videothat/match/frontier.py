"""The beam search's bookkeeping as columns: hypotheses, the ones waiting, and the tree behind them.

A hypothesis is a partial timeline: the song frame it reached, its value and the set of
shots it used (a Zobrist key), and a link to the hypothesis it extends (its parent, a node
id in :class:`Tree`) by one segment (shot, in-point, score). Everything here works on
whole columns of them (numpy, on the host): the search appends thousands per step and
never handles one at a time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Hypotheses(NamedTuple):
    """Hypotheses as columns, each [shape=(H,)]: one segment more than the node ``parent``.
    Rows come in the order the hypotheses were made; of equal values the first ranks first."""

    value: np.ndarray  # float64, sum of score * seconds
    time: np.ndarray  # float64 s, the exact song time reached
    pos: np.ndarray  # int64 song frame reached
    key: np.ndarray  # uint64 hash of the set of shots used: equal sets, equal futures
    parent: np.ndarray  # int64 node id of the hypothesis extended, -1 for the start
    shot: np.ndarray  # int64 shot of the last segment (-1 for the start)
    in_frame: np.ndarray  # int64 shot frame the last segment starts at
    score: np.ndarray  # float32 score of the last segment

    def __len__(self) -> int:  # type: ignore[override]
        return len(self.value)

    def take(self, index: np.ndarray | slice) -> Hypotheses:
        """The rows ``index`` (integer or boolean array, or a slice)."""
        return Hypotheses(*(column[index] for column in self))

    @staticmethod
    def concat(parts: list[Hypotheses]) -> Hypotheses:
        return Hypotheses(*(np.concatenate(columns) for columns in zip(*parts, strict=True)))

    @staticmethod
    def start(pos: int, time: float) -> Hypotheses:
        """The empty timeline at song frame ``pos``, ``time`` seconds."""
        return Hypotheses(np.zeros(1), np.array([time]), np.array([pos]), np.zeros(1, np.uint64),
                          np.array([-1]), np.array([-1]), np.zeros(1, np.int64), np.zeros(1, np.float32))


def best_per_frame(rows: Hypotheses, width: int) -> Hypotheses:
    """At each frame reached, the ``width`` best of ``rows`` by (value, then creation order)
    among those with distinct keys (of equal keys only the best counts: recombination),
    ordered by frame, best first. ``rows`` of one frame come in creation order (as
    :meth:`Waiting.pop` gives them), so stable sorts keep ties in that order."""
    order = np.argsort(-rows.value, kind="stable")
    order = order[stable_order(rows.pos[order])]  # by frame, best first
    pos = rows.pos[order]
    grouped = np.argsort(rows.key[order], kind="stable")  # by key, then frame, best first
    key, at = rows.key[order][grouped], pos[grouped]
    first = np.ones(len(order), dtype=bool)  # the best of each (key, frame)
    first[1:] = (key[1:] != key[:-1]) | (at[1:] != at[:-1])
    kept = np.zeros(len(order), dtype=bool)
    kept[grouped[first]] = True
    order, pos = order[kept], pos[kept]
    rank = np.arange(len(order)) - np.searchsorted(pos, pos)  # place within its frame
    return rows.take(order[rank < width])


def stable_order(frames: np.ndarray) -> np.ndarray:
    """The stable argsort of int64 song frames [shape=(n,)], by a radix sort on 16 bits
    where they span less than 2**15 frames (they do in a beam step: a few seconds)."""
    if len(frames) == 0:
        return np.zeros(0, np.int64)
    span = frames - frames.min()
    return np.argsort(span.astype(np.int16) if span.max() < 1 << 15 else span, kind="stable")


class Waiting:
    """Hypotheses not yet expanded, taken out by ranges of frames in increasing order."""

    def __init__(self) -> None:
        self._chunks: list[Hypotheses] = []  # each sorted by pos

    def add(self, rows: Hypotheses) -> None:
        if len(rows):
            self._chunks.append(rows.take(stable_order(rows.pos)))

    def pop(self, lo: int, hi: int) -> Hypotheses:
        """Those that reached frames [lo, hi), removed with any before ``lo``; those of one
        frame in the order they were added."""
        taken, kept = [], []
        for chunk in self._chunks:
            a, b = np.searchsorted(chunk.pos, [lo, hi])
            if b > a:
                taken.append(chunk.take(slice(a, b)))
            if b < len(chunk):
                kept.append(chunk.take(slice(b, None)))
        self._chunks = kept
        return Hypotheses.concat(taken) if taken else Hypotheses.start(0, 0.0).take(slice(0, 0))


class Tree:
    """Every hypothesis expanded (a node), by id, and the sets of shots used by recent ones.

    Used sets are bit rows (bit ``s % 8`` of byte ``s // 8`` for shot ``s``), kept per layer
    of nodes added together until no waiting hypothesis can extend that layer.
    """

    def __init__(self, used: np.ndarray | None, owners: np.ndarray | None = None) -> None:
        """``used``: [shape=(S,)] bool shots the start may not use, or None with reuse allowed;
        ``owners``: the shot of each segment's ``shot`` id (bank row), default the id itself."""
        self._owners = owners
        self._layers: list[Hypotheses] = []
        self._bases: list[int] = []
        self._bits: dict[int, np.ndarray] = {}
        self._horizon: dict[int, int] = {}
        self._start_bits = None if used is None else np.packbits(used, bitorder="little")[None, :]
        self.size = 0

    def add(self, nodes: Hypotheses) -> tuple[np.ndarray, np.ndarray | None]:
        """Add ``nodes``: (their ids, their used-shot bit rows [shape=(H, ceil(S / 8))] uint8,
        None with reuse allowed)."""
        ids = np.arange(self.size, self.size + len(nodes))
        bits = None
        if self._start_bits is not None:
            bits = self._parent_bits(nodes.parent)
            shot = nodes.shot if self._owners is None else np.where(nodes.shot >= 0, self._owners[nodes.shot], -1)
            moved = shot >= 0
            rows = np.flatnonzero(moved)
            bits[rows, shot[moved] >> 3] |= (1 << (shot[moved] & 7)).astype(np.uint8)
            self._bits[len(self._layers)] = bits
        self._bases.append(self.size)
        self._layers.append(nodes)
        self.size += len(nodes)
        return ids, bits

    def _parent_bits(self, parent: np.ndarray) -> np.ndarray:
        out = np.empty((len(parent), self._start_bits.shape[1]), dtype=np.uint8)
        layer = np.searchsorted(self._bases, parent, side="right") - 1
        for k in np.unique(layer).tolist():
            rows = layer == k
            out[rows] = self._start_bits[0] if k < 0 else self._bits[k][parent[rows] - self._bases[k]]
        return out

    def extended_until(self, frame: int) -> None:
        """The latest layer's children reach no further than song frame ``frame``."""
        self._horizon[len(self._layers) - 1] = frame

    def forget_before(self, frame: int) -> None:
        """Drop the used sets of layers whose children all reached frames before ``frame``."""
        for k in [k for k, h in self._horizon.items() if h < frame]:
            self._bits.pop(k, None)
            del self._horizon[k]

    def path(self, last: Hypotheses) -> list[tuple[int, int, int, int, float, float, float]]:
        """The segments of hypothesis ``last`` (one row), first to last: (shot, in_frame,
        start frame, stop frame, score, start time, end time)."""
        nodes = Hypotheses.concat(self._layers)
        out = []
        shot, in_frame, score = int(last.shot[0]), int(last.in_frame[0]), float(last.score[0])
        stop, time, parent = int(last.pos[0]), float(last.time[0]), int(last.parent[0])
        while parent >= 0:
            start, start_time = int(nodes.pos[parent]), float(nodes.time[parent])
            out.append((shot, in_frame, start, stop, score, start_time, time))
            shot, in_frame, score = int(nodes.shot[parent]), int(nodes.in_frame[parent]), float(nodes.score[parent])
            stop, time, parent = start, start_time, int(nodes.parent[parent])
        return out[::-1]
