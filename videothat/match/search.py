"""Which shot plays where: beam search over the song timeline.

A timeline covers the song exactly with segments; each segment plays one shot from an
in-point for a length. Its score is the correlation score of
:mod:`videothat.match.correlate` for that placement (a trimmed shot when the segment is
shorter than the shot). A timeline's value is the time integral of its segment scores,
``sum(score_k * seconds_k)``: every complete timeline covers the same song, so values
compare across segmentations; partial hypotheses compare by value per second covered.

``sequential`` mode walks the song from the start. Every hypothesis is extended by its
``expansions`` best next segments and the ``beam_width`` best extended hypotheses are
kept. Width 1 is VideoThat's original greedy strategy: at each cut, the next segment
with the best score. Segment ends are song onsets (``snap="onsets"``), the natural end of
the shot, or the end of the song; a step with no such end allowed falls back to any end.

The search runs on curve frames, but positions are carried in seconds: a segment that
plays a shot to its end ends exactly where the shot ends, so frame rounding never
accumulates along the timeline (each cut is within half a frame of its exact time).

``global`` mode first pins the best-matching (shot, offset) pairs anywhere in the song,
best first, where they fit, then fills the gaps between them with the sequential search
(the original authors' proposed "non-sequential" search).
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import logging
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from videothat.errors import VideoThatError
from videothat.match.config import ScoreConfig, SearchConfig
from videothat.match.correlate import (
    ShotBank,
    SongCurve,
    best_offsets,
    prefix_raw,
    segment_scores,
    shortlist,
)

log = logging.getLogger(__name__)

MAX_IN_POINTS = 64  # in-points tried per shot at most (memory of the per-frame score tensor)
CANDIDATE_ELEMENTS = 1 << 22  # (frame, shot, in-point, length) scores per batched call at most (memory)

class SearchError(VideoThatError):
    """No timeline satisfies the constraints (not enough shot material, lengths)."""


@dataclass(frozen=True)
class Placement:
    """Shot ``shot`` from its frame ``in_frame`` over song frames [start, start + length);
    exactly, over song seconds [start_time, end_time)."""

    shot: int
    in_frame: int
    start: int
    length: int
    score: float
    start_time: float
    end_time: float

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(eq=False, slots=True)
class _Node:
    """A partial timeline: its last segment (the entry that made it) and a link to the rest
    (shared, not copied)."""

    value: float  # sum of score * seconds
    time: float  # s, song time reached
    pos: int  # frame reached
    key: int  # hash of the set of shots used (Zobrist): equal sets, equal futures
    parent: _Node | None
    entry: _Entry | None  # None at the start
    used: np.ndarray | None = None  # [S] bool on the host; None with reuse allowed

    def placements(self) -> list[Placement]:
        out, node = [], self
        while node.parent is not None:
            e, parent = node.entry, node.parent
            out.append(Placement(e.shot, e.in_frame, parent.pos, e.stop - parent.pos, e.score, parent.time,
                                 e.end_time))
            node = parent
        return out[::-1]


@dataclass(frozen=True)
class _Context:
    bank: ShotBank
    song: SongCurve
    frame_rate: float
    score: ScoreConfig
    config: SearchConfig
    is_onset: Tensor  # [T + 1] bool
    in_points: Tensor  # [J] int64
    in_host: np.ndarray  # [J] int64, the same on the host
    frames_host: np.ndarray  # [S] int64 shot lengths in frames
    seconds_host: np.ndarray  # [S] float64 exact shot durations
    zobrist_host: np.ndarray  # [S] uint64, a random key per shot (Zobrist hashing of used sets)
    duration: float  # s, the song's exact duration
    min_f: int
    max_f: int
    shortlist: Tensor | None  # [T, N] candidate shots per song frame, None = every shot
    progress: Callable[[float], None] | None  # told the fraction of the song searched


@dataclass(frozen=True)
class _Range:
    start: int
    end: int
    start_time: float
    end_time: float


def search(
    bank: ShotBank,
    song: SongCurve,
    *,
    frame_rate: float,
    score: ScoreConfig,
    config: SearchConfig,
    onsets: Tensor | None = None,
    shot_seconds: Sequence[float] | None = None,
    duration: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Placement]:
    """Cover the song curve (T frames) with shots from ``bank``; placements in song order.

    ``onsets``: song frames (int64; onsets or beats) that segment ends may snap to;
    ``shot_seconds``: exact shot durations (default: curve lengths / frame_rate);
    ``duration``: exact song duration in seconds (default: T / frame_rate);
    ``progress``: called with the fraction of the song searched so far (for progress bars).

    Raises
    ------
    SearchError : the shots cannot cover the song under the constraints.
    """
    ctx = _context(bank, song, frame_rate, score, config, onsets, shot_seconds, duration, progress)
    _check_material(ctx)
    used = None if config.reuse else np.zeros(len(bank), dtype=bool)
    whole = _Range(0, len(song), 0.0, ctx.duration)
    placements = _beam(ctx, whole, used) if config.mode == "sequential" else _global(ctx, whole, used)
    if progress is not None:
        progress(1.0)
    return placements


def _context(bank, song, frame_rate, score, config, onsets, shot_seconds, duration, progress) -> _Context:
    t = len(song)
    is_onset = torch.zeros(t + 1, dtype=torch.bool, device=bank.device)
    if onsets is not None and config.snap != "none":
        is_onset[onsets[(onsets > 0) & (onsets < t)].to(bank.device)] = True
    min_f = max(1, round(config.min_length * frame_rate))
    max_f = max(min_f, round(config.max_length * frame_rate))
    step = round(config.in_point_step * frame_rate)
    longest = int(bank.lengths.max())
    if step > 0 and longest - min_f + 1 > MAX_IN_POINTS * step:  # bound the (N, J, K) score tensor
        step = math.ceil((longest - min_f + 1) / MAX_IN_POINTS)
        log.warning("in_point_step raised to %.2f s: at most %d in-points per shot", step / frame_rate,
                    MAX_IN_POINTS)
    if step > 0:
        in_points = torch.arange(0, max(1, longest - min_f + 1), step, device=bank.device)
    else:
        in_points = torch.zeros(1, dtype=torch.int64, device=bank.device)
    if shot_seconds is None:
        shot_seconds = (bank.lengths.cpu().double() / frame_rate).tolist()
    rng = random.Random(len(bank))  # fixed seed: deterministic
    zobrist = [rng.getrandbits(64) for _ in range(len(bank))]
    candidates = None
    if 0 < config.shortlist < len(bank):
        candidates = shortlist(bank, song, frame_rate=frame_rate, config=score,
                               lengths=[min_f, max_f], k=max(1, config.shortlist // 2))
    return _Context(bank, song, frame_rate, score, config, is_onset, in_points, in_points.cpu().numpy(),
                    bank.lengths.cpu().numpy(), np.asarray(shot_seconds, dtype=np.float64),
                    np.array(zobrist, dtype=np.uint64),
                    t / frame_rate if duration is None else float(duration), min_f, max_f, candidates,
                    progress)


def _check_material(ctx: _Context) -> None:
    t = len(ctx.song)
    usable = ctx.bank.lengths.clamp(max=ctx.max_f)
    usable = usable[usable >= min(ctx.min_f, t)]
    if usable.numel() == 0:
        raise SearchError(f"no shot is at least {ctx.config.min_length} s long (match.min_length)")
    if not ctx.config.reuse and int(usable.sum()) + usable.numel() < t:  # a frame of rounding per shot
        raise SearchError(
            f"not enough footage: the usable shots add up to {int(usable.sum()) / ctx.frame_rate:.1f} s "
            f"(at most {ctx.config.max_length} s each), the song lasts {t / ctx.frame_rate:.1f} s; "
            "add videos or allow reuse with match.reuse=true"
        )


def _beam(ctx: _Context, span: _Range, used: np.ndarray | None) -> list[Placement]:
    """Cover song frames [span.start, span.end) exactly (seconds [start_time, end_time)).

    Width 1 is the original greedy walk. Wider beams are time-synchronous: hypotheses
    are kept per song frame they have reached (``beam_width`` best values each) and
    frames are expanded in increasing order, so only hypotheses that cover the same song
    time, and whose values therefore compare, compete. The candidates at a frame do not
    depend on the hypotheses: those of every frame the frontier has reached are scored
    together in one batched call (:func:`_candidates`), and each frame's hypotheses then
    pick from them on the host. Hypotheses are light entries until their frame is expanded.
    """
    frontier: dict[int, _Frame] = {}
    heap = [span.start]
    width = ctx.config.beam_width
    ready: dict[int, _Candidates] = {}
    seq = itertools.count()  # push order: the first of equal values ranks first
    worst = np.full(len(ctx.song) + 1, -np.inf)  # per frame: the value to beat where its beam is full
    nodes = [_Node(0.0, span.start_time, span.start, 0, None, None, used)]
    while heap and heap[0] < span.end:
        pos = heapq.heappop(heap)
        if pos != span.start:
            nodes = [_node(entry) for entry in frontier.pop(pos).entries]
        if ctx.progress is not None:
            ctx.progress(pos / len(ctx.song))
        if pos not in ready:
            ahead = sorted(x for x in heap if x < span.end)
            ready.update(_candidates(ctx, [pos, *ahead[: _batch_frames(ctx) - 1]], span.end))
        children = _expand(ctx, nodes, ready.pop(pos), span, seq, worst if width > 1 else None)
        if width == 1:  # the greedy walk: only the best next segment goes on
            children, frontier, heap = children[:1], {}, []
        for child in children:
            if child.stop not in frontier:
                frontier[child.stop] = _Frame()
                heapq.heappush(heap, child.stop)
            here = frontier[child.stop]
            here.push(child, width)
            if len(here) == width:
                worst[child.stop] = -here.entries[-1].neg_value
    finished = frontier.get(span.end)
    if not finished:
        raise SearchError(
            f"no way to cover song time {span.start_time:.2f}-{span.end_time:.2f} s with shots between "
            f"{ctx.config.min_length} and {ctx.config.max_length} s; relax match.min_length/max_length"
        )
    return _node(finished.entries[0]).placements()


class _Entry(NamedTuple):
    """A hypothesis waiting at the frame it reached: ``parent`` followed by one segment.
    Entries order by (-value, push order)."""

    neg_value: float
    seq: int
    key: int
    parent: _Node
    shot: int
    in_frame: int
    score: float
    end_time: float  # s
    stop: int  # frame reached


def _node(entry: _Entry) -> _Node:
    """The hypothesis of ``entry`` as a node, with its set of used shots."""
    parent = entry.parent
    used = parent.used
    if used is not None:
        used = used.copy()
        used[entry.shot] = True
    return _Node(-entry.neg_value, entry.end_time, entry.stop, entry.key, parent, entry, used)


_new_entry = functools.partial(tuple.__new__, _Entry)  # _Entry from a tuple of its fields, in order


class _Frame:
    """The hypotheses that reached one song frame: the ``width`` best, best first.

    Hypotheses at one frame that used the same set of shots (equal ``key``) have the same
    future: only the better one is kept (recombination), which leaves room for others.
    """

    __slots__ = ("entries", "by_key")

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.by_key: dict[int, _Entry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def push(self, entry: _Entry, width: int) -> None:
        """Add ``entry`` if it is among the ``width`` best distinct keys."""
        if len(self.entries) >= width and entry.neg_value >= self.entries[-1].neg_value:
            return
        twin = self.by_key.get(entry.key)
        if twin is not None:
            if twin.neg_value <= entry.neg_value:
                return
            self.entries.remove(twin)
        bisect.insort(self.entries, entry)
        self.by_key[entry.key] = entry
        for gone in self.entries[width:]:
            del self.by_key[gone.key]
        del self.entries[width:]


@dataclass(frozen=True)
class _Candidates:
    """The allowed segments starting at one song frame, best score first. Host arrays [shape=(M,)]."""

    shot: np.ndarray  # int64 bank index
    in_frame: np.ndarray  # int64 shot frame the segment starts at
    length: np.ndarray  # int64 frames
    score: np.ndarray  # float32


def _batch_frames(ctx: _Context) -> int:
    """Song frames whose candidates are scored in one call (bounded by CANDIDATE_ELEMENTS)."""
    shots = len(ctx.bank) if ctx.shortlist is None else ctx.shortlist.shape[1]
    return max(1, CANDIDATE_ELEMENTS // (shots * len(ctx.in_host) * ctx.max_f))


def _candidates(ctx: _Context, positions: list[int], end: int) -> dict[int, _Candidates]:
    """Every allowed (shot, in-point, length) segment starting at each of ``positions`` and
    ending by song frame ``end``, with its score; all positions in one batched call.

    Allowed ends are song onsets, the shot's natural end or ``end`` (:func:`_ends_at`); a
    frame where none is allowed falls back to any end. Only allowed segments are scored.
    """
    pos = torch.tensor(positions, device=ctx.bank.device)
    shots = _shots_at(ctx, pos)  # [P, N], -1 marks a shot listed twice
    rows = shots.clamp(min=0)
    raw = prefix_raw(ctx.bank, ctx.song, pos, rows, max_frames=min(ctx.max_f, end - min(positions)),
                     in_points=ctx.in_points)  # [P, N, J, K]
    snapped, unsnapped, natural = _ends_at(ctx, pos, rows, end, raw.shape[-1])
    index, score = _score_segments(ctx, raw, pos, shots, _segments(snapped, natural))
    if ctx.config.snap != "none":
        none = torch.bincount(index[0], minlength=len(positions)) == 0
        if bool(none.any()):  # no allowed end at those frames: any end
            more, more_score = _score_segments(ctx, raw, pos, shots, _segments(unsnapped & none[:, None], None,
                                                                               shots.shape[1], len(ctx.in_host)))
            index = tuple(torch.cat([x, y]) for x, y in zip(index, more, strict=True))
            score = torch.cat([score, more_score])
    p, n, j, m = index
    p, shot, j, m, score = (x.cpu().numpy() for x in (p, rows[p, n], j, m, score))
    order = np.lexsort((m, j, shot, -score, p))  # by frame, then best first (ties: shot, in-point, length)
    p, shot, j, m, score = p[order], shot[order], j[order], m[order], score[order]
    bounds = np.searchsorted(p, np.arange(len(positions) + 1))
    return {at: _Candidates(shot[a:b], ctx.in_host[j[a:b]], m[a:b] + 1, score[a:b])
            for at, a, b in zip(positions, bounds[:-1], bounds[1:], strict=True)}


def _segments(ends: Tensor, natural: Tensor | None, n: int = 0, j: int = 0) -> tuple[Tensor, ...]:
    """(p, n, j, l - 1) of every shot and in-point ending at each allowed end ``ends``
    [shape=(P, K)] bool, plus the natural ends ``natural`` [shape=(P, N, J)] (l - 1, or -1
    where not allowed) that are not among them. Each [shape=(C,)] int64."""
    if natural is not None:
        n, j = natural.shape[1:]
    pe, me = ends.nonzero(as_tuple=True)  # [A] allowed (frame, length) pairs
    grid = (len(pe), n, j)
    device = ends.device
    index = [pe[:, None, None].expand(grid), torch.arange(n, device=device)[None, :, None].expand(grid),
             torch.arange(j, device=device)[None, None, :].expand(grid), me[:, None, None].expand(grid)]
    index = [x.flatten() for x in index]
    if natural is not None:
        ps, ns, js = (natural >= 0).nonzero(as_tuple=True)
        mn = natural[ps, ns, js]
        extra = ~ends[ps, mn]  # natural ends on an allowed end are listed already
        index = [torch.cat([x, y[extra]]) for x, y in zip(index, (ps, ns, js, mn), strict=True)]
    return tuple(index)


def _score_segments(ctx: _Context, raw: Tensor, pos: Tensor, shots: Tensor, index: tuple[Tensor, ...]
                    ) -> tuple[tuple[Tensor, ...], Tensor]:
    """The usable segments of ``index`` (finite score, not a repeated shot) and their scores."""
    score = segment_scores(ctx.bank, ctx.song, raw, pos, shots.clamp(min=0), ctx.in_points, index,
                           frame_rate=ctx.frame_rate, config=ctx.score)
    keep = torch.isfinite(score) & (shots[index[0], index[1]] >= 0)
    return tuple(x[keep] for x in index), score[keep]


def _shots_at(ctx: _Context, pos: Tensor) -> Tensor:
    """The shots scored at each song frame of ``pos`` [shape=(P,)]: every shot, or the
    frame's shortlist in increasing order with repeats set to -1. [shape=(P, N)] int64"""
    if ctx.shortlist is None:
        return torch.arange(len(ctx.bank), device=pos.device).expand(len(pos), -1)
    listed = ctx.shortlist[pos].sort(dim=1).values
    repeat = torch.zeros_like(listed, dtype=torch.bool)
    repeat[:, 1:] = listed[:, 1:] == listed[:, :-1]
    return torch.where(repeat, -1, listed)


def _expand(
    ctx: _Context, nodes: list[_Node], cands: _Candidates, span: _Range, seq: Iterator[int],
    worst: np.ndarray | None = None,
) -> list[_Entry]:
    """Each node extended by its ``expansions`` best-scoring next segments (by segment score,
    whose length normalisation makes segments of different lengths compare), as entries
    numbered by ``seq``.

    The nodes share a frame and its candidates ``cands``; they differ only in which shots
    they have used. With ``worst`` [shape=(T + 1,)], the value to beat at each frame whose
    beam is full, children that cannot enter are not built.
    """
    m = len(cands.score)
    if m == 0:
        return []
    e = min(ctx.config.expansions, m)
    free = np.stack([_free(node, cands.shot) for node in nodes])  # [H, M]
    take = free & (np.cumsum(free, axis=1) <= e)  # the e best free candidates of each node
    stuck = ~free.any(axis=1)
    if stuck.any():  # no unused shot fits: those paths may reuse one rather than die
        log.debug("reusing a shot at frame %d", nodes[0].pos)
        take[stuck, :e] = True
    h, c = np.nonzero(take)  # node by node, best first
    new = _children(ctx, nodes, span, h, cands, c)
    if worst is not None:
        keep = _may_enter(new, worst)
        h, c, new = h[keep], c[keep], {name: x[keep] for name, x in new.items()}
    parents = [nodes[i] for i in h.tolist()]
    order = itertools.islice(seq, len(parents))
    columns = ((-new["value"]).tolist(), order, new["key"].tolist(), parents, cands.shot[c].tolist(),
               cands.in_frame[c].tolist(), cands.score[c].tolist(), new["end_time"].tolist(), new["stop"].tolist())
    return list(map(_new_entry, zip(*columns, strict=True)))  # tuple.__new__ in C: no Python call per entry


def _children(ctx: _Context, nodes: list[_Node], span: _Range, h: np.ndarray, cands: _Candidates,
              c: np.ndarray) -> dict[str, np.ndarray]:
    """Node ``nodes[h]`` followed by segment ``c`` of ``cands``, for each pair [shape=(C,)]:
    the frame reached ``stop``, its exact ``end_time`` (s), the new ``value`` and set ``key``.

    A segment that plays its shot to the end ends at the shot's exact end time, rounded
    to a frame for ``stop``; one that reaches the span's end (or a natural end one frame
    short of it) ends exactly there.
    """
    pos, fr = nodes[0].pos, ctx.frame_rate
    shot, in_frame, length = cands.shot[c], cands.in_frame[c], cands.length[c]
    times = np.array([n.time for n in nodes])[h]
    stop = pos + length
    natural = length == ctx.frames_host[shot] - in_frame
    whole = (stop >= span.end) | (natural & (stop == span.end - 1))
    natural_time = times + ctx.seconds_host[shot] - in_frame / fr
    end_time = np.where(whole, span.end_time, np.where(natural, natural_time, stop / fr))
    natural_stop = np.clip(np.round(natural_time * fr).astype(np.int64), pos + 1, span.end)
    stop = np.where(whole, span.end, np.where(natural, natural_stop, stop))
    value = np.array([n.value for n in nodes])[h] + cands.score[c].astype(np.float64) * (end_time - times)
    key = np.array([n.key for n in nodes], dtype=np.uint64)[h]
    if nodes[0].used is not None:
        key = key ^ ctx.zobrist_host[shot]
    return {"stop": stop, "end_time": end_time, "value": value, "key": key}


def _may_enter(new: dict[str, np.ndarray], worst: np.ndarray) -> np.ndarray:
    """Which new hypotheses beat the worst of a full beam at their frame (a full beam takes
    no other, see :meth:`_Frame.push`). [shape=(C,)] bool"""
    return new["value"] > worst[new["stop"]]


def _free(node: _Node, shots: np.ndarray) -> np.ndarray:
    """Which of ``shots`` [shape=(M,)] ``node`` may use next: unused ones, or with reuse
    allowed any but the one it just played (no cut from a shot to itself). [shape=(M,)] bool"""
    if node.used is not None:
        return ~node.used[shots]
    if node.entry is None:
        return np.ones(len(shots), dtype=bool)
    return shots != node.entry.shot


def _ends_at(ctx: _Context, pos: Tensor, shots: Tensor, end: int, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Where segments starting at each song frame of ``pos`` [shape=(P,)] may end, by
    song frame ``end``: (lengths snapped to song onsets, any length), each [shape=(P, K)]
    bool for lengths 1..K, and the natural end of each of ``shots`` [shape=(P, N)] from each
    in-point as l - 1 where allowed, else -1 [shape=(P, N, J)] int64.

    A segment must leave either nothing or at least ``min_length`` of the range. A shot
    played to its natural end may also leave one frame: its exact end time is within a
    frame of the range's end, and it is stretched to it (see :func:`_children`).
    """
    length = torch.arange(1, k + 1, device=pos.device)
    stop = pos[:, None] + length[None, :]  # [P, K]
    left = end - stop
    short = (end - pos < ctx.min_f)[:, None]  # a range shorter than min_length is covered in one piece
    long_enough = length >= ctx.min_f
    ok = torch.where(short, left == 0, long_enough & ((left == 0) | (left >= ctx.min_f))) & (left >= 0)
    ok_natural = torch.where(short, left <= 1, long_enough & ((left <= 1) | (left >= ctx.min_f))) & (left >= 0)
    m = ctx.bank.lengths[shots][:, :, None] - ctx.in_points[None, None, :] - 1  # [P, N, J]
    inside = (m >= 0) & (m < k)
    allowed = ok_natural.gather(1, m.clamp(0, k - 1).flatten(1)).view_as(m) & inside
    natural = torch.where(allowed, m, -1)
    if ctx.config.snap == "none":
        return ok, ok, natural
    on_onset = ctx.is_onset[stop.clamp(max=len(ctx.is_onset) - 1)] | (left == 0)
    return ok & on_onset, ok, natural


def _global(ctx: _Context, whole: _Range, used: np.ndarray | None) -> list[Placement]:
    """Pin the best (shot, offset) pairs where they fit, then fill the gaps sequentially."""
    t = len(ctx.song)
    scores, offsets, lengths = best_offsets(ctx.bank, ctx.song, frame_rate=ctx.frame_rate, config=ctx.score,
                                            max_frames=ctx.max_f, min_frames=ctx.min_f)
    order = torch.argsort(scores, descending=True, stable=True)
    pinned: list[Placement] = []
    starts: list[int] = []
    for shot in order.tolist():  # sequential by nature; stops at the first score under the threshold
        score = float(scores[shot])
        if not math.isfinite(score) or score <= ctx.config.pin_threshold:
            break
        start, length = int(offsets[shot]), int(lengths[shot])
        i = bisect.bisect(starts, start)
        lo = pinned[i - 1].end if i > 0 else 0
        hi = pinned[i].start if i < len(pinned) else t
        end = start + length
        if start < lo or end > hi or 0 < start - lo < ctx.min_f or 0 < hi - end < ctx.min_f:
            continue
        start_time = start / ctx.frame_rate if start > lo else (pinned[i - 1].end_time if i > 0 else 0.0)
        if end == t:
            end_time = ctx.duration
        elif end == hi and i < len(pinned):
            end_time = pinned[i].start_time
        else:
            end_time = end / ctx.frame_rate
        pinned.insert(i, Placement(shot, 0, start, length, score, start_time, end_time))
        starts.insert(i, start)
    if used is not None:
        used = used.copy()
        used[[p.shot for p in pinned]] = True
    placements = list(pinned)
    bounds = [(0, 0.0), *[(x, y) for p in pinned for x, y in ((p.start, p.start_time), (p.end, p.end_time))],
              (t, ctx.duration)]
    for (a, a_time), (b, b_time) in zip(bounds[::2], bounds[1::2], strict=True):
        if b > a:
            filled = _beam(ctx, _Range(a, b, a_time, b_time), used)
            if used is not None:
                used[[p.shot for p in filled]] = True
            placements.extend(filled)
    log.debug("global search pinned %d segments, filled %d", len(pinned), len(placements) - len(pinned))
    return sorted(placements, key=lambda p: p.start)
