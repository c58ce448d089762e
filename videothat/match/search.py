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
import heapq
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from videothat.errors import VideoThatError
from videothat.match.config import ScoreConfig, SearchConfig
from videothat.match.correlate import ShotBank, SongCurve, best_offsets, prefix_scores, shortlist

log = logging.getLogger(__name__)

MAX_IN_POINTS = 64  # in-points tried per shot at most (memory of the per-frame score tensor)

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


@dataclass(eq=False)
class _Node:
    """A partial timeline: its last segment and a link to the rest (shared, not copied)."""

    value: float  # sum of score * seconds
    time: float  # s, song time reached
    pos: int  # frame reached
    key: int  # hash of the set of shots used (Zobrist): equal sets, equal futures
    parent: _Node | None
    placement: Placement | None
    used: Tensor | None = None  # [S] bool, filled in when the node is expanded

    def placements(self) -> list[Placement]:
        out, node = [], self
        while node is not None and node.placement is not None:
            out.append(node.placement)
            node = node.parent
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
    shot_seconds: list[float]  # exact shot durations
    duration: float  # s, the song's exact duration
    min_f: int
    max_f: int
    zobrist: list[int]  # a random 64-bit key per shot
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
    used = None if config.reuse else torch.zeros(len(bank), dtype=torch.bool, device=bank.device)
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
    return _Context(bank, song, frame_rate, score, config, is_onset, in_points, list(shot_seconds),
                    t / frame_rate if duration is None else float(duration), min_f, max_f, zobrist, candidates,
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


def _beam(ctx: _Context, span: _Range, used: Tensor | None) -> list[Placement]:
    """Cover song frames [span.start, span.end) exactly (seconds [start_time, end_time)).

    Width 1 is the original greedy walk. Wider beams are time-synchronous: hypotheses
    are kept per song frame they have reached (``beam_width`` best values each) and
    frames are expanded in increasing order, so only hypotheses that cover the same song
    time, and whose values therefore compare, compete. All hypotheses at a frame are
    scored in one batched call.
    """
    root = _Node(0.0, span.start_time, span.start, 0, None, None, used)
    frontier: dict[int, list[_Node]] = {span.start: [root]}
    heap = [span.start]
    width = ctx.config.beam_width
    while heap and heap[0] < span.end:
        pos = heapq.heappop(heap)
        nodes = frontier.pop(pos)
        if ctx.progress is not None:
            ctx.progress(pos / len(ctx.song))
        for node in nodes:
            if node.used is None and used is not None:
                node.used = node.parent.used.clone()
                node.used[node.placement.shot] = True
        children = _expand(ctx, nodes, span, frontier if width > 1 else None)
        if width == 1:  # the greedy walk: only the best next segment goes on
            frontier = {children[0].pos: [children[0]]} if children else {}
            heap = list(frontier)
            continue
        for child in children:
            _push(frontier, heap, child, width)
    finished = frontier.get(span.end)
    if not finished:
        raise SearchError(
            f"no way to cover song time {span.start_time:.2f}-{span.end_time:.2f} s with shots between "
            f"{ctx.config.min_length} and {ctx.config.max_length} s; relax match.min_length/max_length"
        )
    return finished[0].placements()


def _push(frontier: dict[int, list[_Node]], heap: list[int], node: _Node, width: int) -> None:
    """Add ``node`` to the hypotheses at its frame, keeping the ``width`` best values.

    Hypotheses at one frame that used the same set of shots have the same future: only
    the better one is kept (recombination), which leaves room for different ones.
    """
    here = frontier.get(node.pos)
    if here is None:
        frontier[node.pos] = [node]
        heapq.heappush(heap, node.pos)
        return
    if len(here) >= width and node.value <= here[-1].value:
        return
    twin = next((x for x in here if x.key == node.key), None)
    if twin is not None:
        if twin.value >= node.value:
            return
        here.remove(twin)
    bisect.insort(here, node, key=lambda x: -x.value)
    del here[width:]


def _expand(
    ctx: _Context, nodes: list[_Node], span: _Range, frontier: dict[int, list[_Node]] | None = None
) -> list[_Node]:
    """Each node extended by its ``expansions`` best-scoring next segments (by segment score,
    whose length normalisation makes segments of different lengths compare), as new nodes.

    One batched call scores every candidate shot prefix at the nodes' common frame;
    the nodes differ only in which shots they have used. With ``frontier``, children that
    it would prune anyway are not built.
    """
    pos = nodes[0].pos
    shots = None if ctx.shortlist is None else torch.unique(ctx.shortlist[pos])
    bank = ctx.bank if shots is None else ctx.bank.subset(shots)
    k = min(ctx.max_f, span.end - pos)
    scores = prefix_scores(bank, ctx.song, pos, max_frames=k, frame_rate=ctx.frame_rate, config=ctx.score,
                           in_points=ctx.in_points)
    allowed = _allowed(ctx, bank, pos, span.end, k, snap=True) & torch.isfinite(scores)
    if ctx.config.snap != "none" and not bool(allowed.any()):
        allowed = _allowed(ctx, bank, pos, span.end, k, snap=False) & torch.isfinite(scores)
    # Compact to the allowed candidates: usually a few per shot (onset ends, the natural end).
    cand = allowed.flatten().nonzero()[:, 0]  # [M] flat (shot, in-point, length) indices
    if cand.numel() == 0:
        return []
    cand_scores = scores.flatten()[cand]
    n_in = scores.shape[1]
    cand_shot = cand // (n_in * k)
    free = torch.stack([_free(n, shots, len(bank), bank.device) for n in nodes])  # [H, N]
    masked = torch.where(free[:, cand_shot], cand_scores[None], -torch.inf)  # [H, M]
    values, best = masked.topk(min(ctx.config.expansions, cand.numel()), dim=1)
    stuck = torch.isinf(values[:, 0])
    if bool(stuck.any()):  # no unused shot fits: those paths may reuse one rather than die
        log.debug("reusing a shot at frame %d", pos)
        values[stuck], best[stuck] = cand_scores.topk(values.shape[1])
    length = cand[best] % k + 1  # [H, E]
    if frontier is not None:  # drop children their frame's beam would prune anyway
        value = values * length / ctx.frame_rate + values.abs() / ctx.frame_rate  # one frame of margin
        value += torch.tensor([n.value for n in nodes], device=value.device)[:, None]
        needed = torch.unique(length).tolist()  # only the lengths some candidate has
        worst = torch.full((k,), -math.inf, device=value.device)
        worst[[j - 1 for j in needed]] = torch.tensor([_worst(frontier, pos + j, ctx.config.beam_width)
                                                       for j in needed], device=value.device)
        values = torch.where(value < worst[length - 1], -torch.inf, values)
    children = []
    shot_ids = None if shots is None else shots.tolist()
    for node, row_values, row_index in zip(nodes, values.tolist(), cand[best].tolist(), strict=True):
        for score, index in zip(row_values, row_index, strict=True):
            if not math.isfinite(score):
                continue
            shot, rest = divmod(index, n_in * k)
            j, length_m1 = divmod(rest, k)
            shot = shot if shot_ids is None else shot_ids[shot]
            children.append(_extend(ctx, node, span, shot, int(ctx.in_points[j]), length_m1 + 1, score))
    return children


def _free(node: _Node, shots: Tensor | None, n: int, device: torch.device) -> Tensor:
    """Which candidate shots ``node`` may use next: unused ones, or with reuse allowed any
    but the one it just played (no cut from a shot to itself). [shape=(n,)] bool"""
    if node.used is not None:
        return ~(node.used if shots is None else node.used[shots])
    free = torch.ones(n, dtype=torch.bool, device=device)
    if node.placement is not None:
        free[node.placement.shot if shots is None else shots == node.placement.shot] = False
    return free


def _worst(frontier: dict[int, list[_Node]], pos: int, width: int) -> float:
    """The value a new hypothesis must beat to enter the beam at frame ``pos``."""
    here = frontier.get(pos)
    return here[-1].value if here is not None and len(here) >= width else -math.inf


def _extend(ctx: _Context, node: _Node, span: _Range, shot: int, in_frame: int, length: int, score: float) -> _Node:
    """``node`` followed by one segment; its end time is exact where the shot or span ends."""
    stop = node.pos + length
    natural = length == int(ctx.bank.lengths[shot]) - in_frame
    if stop >= span.end or (natural and stop == span.end - 1):
        end_time, stop = span.end_time, span.end
    elif natural:
        end_time = node.time + ctx.shot_seconds[shot] - in_frame / ctx.frame_rate
        stop = min(max(round(end_time * ctx.frame_rate), node.pos + 1), span.end)
    else:
        end_time = stop / ctx.frame_rate
    placement = Placement(shot, in_frame, node.pos, stop - node.pos, score, node.time, end_time)
    key = node.key ^ ctx.zobrist[shot] if node.used is not None else node.key
    return _Node(node.value + score * (end_time - node.time), end_time, stop, key, node, placement)


def _allowed(ctx: _Context, bank: ShotBank, pos: int, end: int, k: int, *, snap: bool) -> Tensor:
    """Which (shot, in-point, length) candidates may start at frame ``pos``. [shape=(N, J, K)] bool

    A segment must leave either nothing or at least ``min_length`` of the range. A shot
    played to its natural end may also leave one frame: its exact end time is within a
    frame of the range's end, and it is stretched to it (see :func:`_extend`).
    """
    device = bank.device
    length = torch.arange(1, k + 1, device=device)
    left = end - (pos + length)
    if end - pos < ctx.min_f:  # a range shorter than min_length is covered in one piece
        ok, ok_natural = left == 0, left <= 1
    else:
        ok = (length >= ctx.min_f) & ((left == 0) | (left >= ctx.min_f))
        ok_natural = (length >= ctx.min_f) & ((left <= 1) | (left >= ctx.min_f))
    natural_end = (bank.lengths[:, None] - ctx.in_points[None, :])[:, :, None] == length[None, None, :]
    if snap and ctx.config.snap != "none":
        ok = ok & (ctx.is_onset[pos + length] | (left == 0))
    return ok[None, None, :] | (natural_end & ok_natural[None, None, :])


def _global(ctx: _Context, whole: _Range, used: Tensor | None) -> list[Placement]:
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
        used = used.clone()
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
