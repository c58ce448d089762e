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
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from videothat.core.errors import VideoThatError
from videothat.match.config import ScoreConfig, SearchConfig
from videothat.match.correlate import (
    ShotBank,
    SongCurve,
    best_offsets,
    prefix_raw,
    segment_scores,
    shortlist,
)
from videothat.match.frontier import Hypotheses, Tree, Waiting, best_per_frame

log = logging.getLogger(__name__)

MAX_LENGTH = SearchConfig.BOUNDS["max_length"][1]  # s, the largest match.max_length
MAX_IN_POINTS = 64  # in-points tried per shot at most (memory of the per-frame score tensor)
CANDIDATE_ELEMENTS = 1 << 22  # (frame, shot, in-point, length) scores per batched call at most (memory)
PICK_PREFIX = 64  # candidates looked at first per hypothesis for its free best ones (all, where too few)
SPEED_VARIANTS = 4  # with several speeds: candidates kept per (frame, shot, in-point), best first

class SearchError(VideoThatError):
    """No timeline satisfies the constraints (not enough shot material, lengths)."""


@dataclass(frozen=True)
class Placement:
    """Shot ``shot`` from its frame ``in_frame`` over song frames [start, start + length);
    exactly, over song seconds [start_time, end_time), played at ``speed``. (From
    :func:`search` with several speeds, ``shot`` is a bank row and ``in_frame`` counts
    frames of that row; :func:`videothat.match.assemble.match` turns them into the source
    shot and its own curve frames.)"""

    shot: int
    in_frame: int
    start: int
    length: int
    score: float
    start_time: float
    end_time: float
    speed: float = 1.0  # source seconds played per song second

    @property
    def end(self) -> int:
        return self.start + self.length


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
    owners_host: np.ndarray  # [S] int64 the source shot of each bank row (row // speeds)
    speeds: int  # bank rows per source shot (one per playback speed)
    duration: float  # s, the song's exact duration
    min_f: int
    max_f: int
    shortlist: Tensor | None  # [T, N] candidate shots per song frame, None = every shot
    progress: Callable[[float], None] | None  # told the fraction of the song searched
    rows_off: Tensor | None = None  # [S] bool bank rows never placed (None: all are used)


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
    speeds: int = 1,
    shortlist_speed: int = 0,
    rows_off: Tensor | None = None,
) -> list[Placement]:
    """Cover the song curve (T frames) with shots from ``bank``; placements in song order.

    ``speeds``: bank rows per source shot (:func:`~videothat.match.correlate.retimed_bank`:
    row ``s * speeds + r`` is shot ``s`` at its r-th playback speed); a shot is used at
    most once whatever its speed, and placements name bank rows. ``shortlist_speed``:
    the speed index whose rows rank shots for the shortlist (every speed of a listed shot
    is then scored); ``rows_off`` [shape=(len(bank),)] bool: rows never placed (a speed a
    shot already has in another row);
    ``onsets``: song frames (int64; onsets or beats) that segment ends may snap to;
    ``shot_seconds``: exact durations of the bank rows (default: curve lengths / frame_rate);
    ``duration``: exact song duration in seconds (default: T / frame_rate);
    ``progress``: called with the fraction of the song searched so far (for progress bars).

    Raises
    ------
    SearchError : the shots cannot cover the song under the constraints.
    """
    if speeds < 1 or len(bank) % speeds:
        raise ValueError(f"speeds={speeds} must divide the bank's {len(bank)} rows")
    ctx = _context(bank, song, frame_rate, score, config, onsets, shot_seconds, duration, progress, speeds,
                   shortlist_speed, rows_off)
    _check_material(ctx)
    used = None if config.reuse else np.zeros(len(bank) // speeds, dtype=bool)
    whole = _Range(0, len(song), 0.0, ctx.duration)
    # take mode aligns whole sources before searching (match.assemble); what it searches is sequential
    placements = _global(ctx, whole, used) if config.mode == "global" else _beam(ctx, whole, used)
    if progress is not None:
        progress(1.0)
    return placements


def _context(bank, song, frame_rate, score, config, onsets, shot_seconds, duration, progress, speeds,
             shortlist_speed, rows_off=None) -> _Context:
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
    n_shots = len(bank) // speeds
    rng = random.Random(n_shots)  # fixed seed: deterministic
    zobrist = np.array([rng.getrandbits(64) for _ in range(n_shots)], dtype=np.uint64)
    owners = np.arange(len(bank)) // speeds
    candidates = None
    if 0 < config.shortlist < n_shots:
        listed = bank
        if speeds > 1:  # one row per source shot, rhythm only (the shortlist kernel reads no chroma)
            rows = torch.arange(n_shots, device=bank.device) * speeds + shortlist_speed
            listed = ShotBank(bank.curves[rows], bank.lengths[rows], bank.energy[rows])
        candidates = shortlist(listed, song, frame_rate=frame_rate, config=score, lengths=[min_f, max_f],
                               k=max(1, config.shortlist // 2))
    return _Context(bank, song, frame_rate, score, config, is_onset, in_points, in_points.cpu().numpy(),
                    bank.lengths.cpu().numpy(), np.asarray(shot_seconds, dtype=np.float64),
                    zobrist[owners], owners, speeds,
                    t / frame_rate if duration is None else float(duration), min_f, max_f, candidates,
                    progress, rows_off)


def _check_material(ctx: _Context) -> None:
    t = len(ctx.song)
    whole = ctx.bank.lengths.view(-1, ctx.speeds).max(dim=1).values  # song frames per shot, best speed
    whole = whole[whole >= min(ctx.min_f, t)]
    if whole.numel() == 0:
        raise SearchError(f"no shot is at least {ctx.config.min_length} s long (match.min_length)")
    usable = int(whole.clamp(max=ctx.max_f).sum()) + whole.numel()  # a frame of rounding per shot
    if not ctx.config.reuse and usable < t:
        raise SearchError(_not_enough_footage(ctx, whole.cpu().numpy(), t))


def _not_enough_footage(ctx: _Context, whole: np.ndarray, t: int) -> str:
    """Why the shots ``whole`` (song frames each plays at most, uncapped) cannot cover the
    song's ``t`` frames once each under ``match.max_length``, and what would let them."""
    fr, cap = ctx.frame_rate, ctx.config.max_length
    usable, longer = np.minimum(whole, ctx.max_f), int((whole > ctx.max_f).sum())
    head = (f"not enough footage: the usable shots add up to {usable.sum() / fr:.1f} s (at most {cap} s each: "
            f"match.max_length, the longest segment, keeps the cuts following the song; each shot is placed once), "
            f"the song lasts {t / fr:.1f} s")
    if longer == 0 or whole.sum() + whole.size < t:  # a longer cap would not help
        return f"{head}; add videos or allow reuse with match.reuse=true (shots may appear more than once)"
    need = _cap_that_covers(whole, t - whole.size, fr)
    raise_cap = f"raise the cap with match.max_length={need:g} (or more), " if need <= MAX_LENGTH else ""
    return (f"{head}; {longer} of the {whole.size} shots are longer than {cap} s (long takes, as silent footage "
            f"often is): {raise_cap}allow reuse with match.reuse=true (shots may appear more than once), or add "
            f"videos")


def _cap_that_covers(whole: np.ndarray, frames: int, frame_rate: float) -> float:
    """The smallest cap in s, a multiple of 0.5 s, under which shots that play ``whole`` song
    frames each add up to at least ``frames`` (their sum, each cut to the cap, <= their sum)."""
    lengths = np.sort(whole.astype(np.float64))
    # a cap between lengths[i - 1] and lengths[i] plays the i shorter shots whole and the rest to the cap
    below = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    caps = (frames - below) / (lengths.size - np.arange(lengths.size))
    cap = math.ceil(float(caps[np.flatnonzero(caps <= lengths)[0]]))  # frames
    return math.ceil(cap / frame_rate * 2) / 2


def _beam(ctx: _Context, span: _Range, used: np.ndarray | None) -> list[Placement]:
    """Cover song frames [span.start, span.end) exactly (seconds [start_time, end_time)).

    Width 1 is the original greedy walk. Wider beams are time-synchronous: hypotheses
    are kept per song frame they have reached (``beam_width`` best values each, see
    :func:`~videothat.match.frontier.best_per_frame`), so only hypotheses that cover the
    same song time, and whose values therefore compare, compete. Every segment advances at
    least :func:`_least_advance` frames (or ends the span), so once every frame before
    ``f`` is expanded, the beams of all frames in [f, f + advance) are complete: they are
    expanded together, as one layer of columns. The candidates at a frame do not depend on
    the hypotheses: those of many frames are scored in one batched call (:func:`_fill`).
    """
    width, end = ctx.config.beam_width, span.end
    advance = _least_advance(ctx)
    tree, waiting = Tree(used, ctx.owners_host), Waiting()
    reached = np.zeros(len(ctx.song) + 1, dtype=bool)
    ready: dict[int, _Candidates] = {}
    layer, lo = Hypotheses.start(span.start, span.start_time), span.start
    while True:
        hi = min(lo + advance, end)
        ids, used_bits = tree.add(layer)
        _fill(ctx, ready, np.unique(layer.pos).tolist(), reached, hi, end)
        children = _expand(ctx, layer, ids, used_bits, ready, span)
        if width == 1:  # the greedy walk: only the best next segment goes on
            children = children.take(slice(0, 1))
        if len(children):
            if int(children.pos.min()) < hi:
                raise RuntimeError(f"internal: a segment from frame {lo} ends before frame {hi}")
            tree.extended_until(int(children.pos.max()))
            reached[children.pos] = True
            waiting.add(children)
        later = np.flatnonzero(reached[hi:end])
        if later.size == 0:
            break
        lo = hi + int(later[0])
        tree.forget_before(lo)
        layer = best_per_frame(waiting.pop(lo, min(lo + advance, end)), width)
        if ctx.progress is not None:
            ctx.progress(lo / len(ctx.song))
    finished = waiting.pop(end, end + 1)
    if not len(finished):
        raise SearchError(
            f"no way to cover song time {span.start_time:.2f}-{span.end_time:.2f} s with shots between "
            f"{ctx.config.min_length} and {ctx.config.max_length} s; relax match.min_length/max_length"
        )
    best = best_per_frame(finished, 1)
    return [Placement(shot, j, a, b - a, score, t0, t1) for shot, j, a, b, score, t0, t1 in tree.path(best)]


def _least_advance(ctx: _Context) -> int:
    """Frames every segment advances at least, unless it reaches the end of its range.

    A segment is at least ``min_f`` frames long, and one that plays its shot to the end
    stops at the frame nearest the exact end time (:func:`_expand`): that is at least
    ``min_f - 1`` frames on, less the most any shot's curve is longer than its exact
    duration (hypothesis times are within half a frame of their frames). One frame is
    kept as a margin for rounding.
    """
    slack = float(np.min(ctx.seconds_host * ctx.frame_rate - ctx.frames_host, initial=0.0))
    return max(1, min(ctx.min_f, ctx.min_f - 2 + math.ceil(slack)))


class _Candidates(NamedTuple):
    """The allowed segments starting at one song frame, best score first. Host arrays [shape=(M,)]."""

    shot: np.ndarray  # int64 bank index
    in_frame: np.ndarray  # int64 shot frame the segment starts at
    length: np.ndarray  # int64 frames
    score: np.ndarray  # float32


def _batch_frames(ctx: _Context) -> int:
    """Song frames whose candidates are scored in one call (bounded by CANDIDATE_ELEMENTS)."""
    shots = len(ctx.bank) if ctx.shortlist is None else ctx.shortlist.shape[1] * ctx.speeds
    return max(1, CANDIDATE_ELEMENTS // (shots * len(ctx.in_host) * ctx.max_f))


def _fill(ctx: _Context, ready: dict[int, _Candidates], frames: list[int], reached: np.ndarray, ahead: int,
          end: int) -> None:
    """Score the candidates of ``frames`` not in ``ready`` into it, in calls of at most
    :func:`_batch_frames` frames; room left in the last call goes to reached frames from
    ``ahead`` on (before ``end``), which later steps will expand."""
    missing = [f for f in frames if f not in ready]
    cap = _batch_frames(ctx)
    for a in range(0, len(missing), cap):
        chunk = missing[a : a + cap]
        if len(chunk) < cap:
            later = (np.flatnonzero(reached[ahead:end]) + ahead).tolist()
            chunk += [f for f in later if f not in ready][: cap - len(chunk)]
        ready.update(_candidates(ctx, chunk, end))


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
    longest = torch.where(shots >= 0, ctx.bank.lengths[rows], 0)[:, :, None] - ctx.in_points  # [P, N, J] frames
    inside = torch.arange(1, raw.shape[-1] + 1, device=pos.device) <= longest[..., None]  # [P, N, J, K]
    allowed = snapped[:, None, None, :] & inside
    ps, ns, js = ((natural >= 0) & (shots >= 0)[:, :, None]).nonzero(as_tuple=True)
    allowed[ps, ns, js, natural[ps, ns, js]] = True  # natural ends
    if ctx.config.snap != "none":
        none = ~allowed.flatten(1).any(dim=1)
        if bool(none.any()):  # no allowed end at those frames: any end
            allowed |= unsnapped[:, None, None, :] & none[:, None, None, None] & inside
    index = allowed.nonzero(as_tuple=True)  # by frame, then shot (rows ascend), in-point, length
    score = segment_scores(ctx.bank, ctx.song, raw, pos, rows, ctx.in_points, index, frame_rate=ctx.frame_rate,
                           config=ctx.score)
    keep = torch.isfinite(score)
    p, n, j, m, score = (x[keep] for x in (*index, score))
    if ctx.speeds > 1:  # a shot's many speeds would crowd out other shots
        p, n, j, m, score = _cap_per_shot(ctx, rows, (p, n, j, m), score)
    order = torch.sort(_frame_then_best(p, score), stable=True).indices  # ties stay by shot, in-point, length
    p, shot, in_frame, length, score = (x[order].cpu().numpy() for x in (p, rows[p, n], ctx.in_points[j], m + 1, score))
    bounds = np.searchsorted(p, np.arange(len(positions) + 1))
    return {at: _Candidates(shot[a:b], in_frame[a:b], length[a:b], score[a:b])
            for at, a, b in zip(positions, bounds[:-1], bounds[1:], strict=True)}


def _cap_per_shot(ctx: _Context, rows: Tensor, index: tuple[Tensor, Tensor, Tensor, Tensor],
                  score: Tensor) -> tuple[Tensor, ...]:
    """Of candidates (p, n, j, l - 1) [each shape=(C,)] that play one source shot from one
    in-point at one song frame, at any speed and length, the SPEED_VARIANTS best scoring
    (the first of equals): a shot played at 18 speeds would otherwise fill a hypothesis's
    expansions with itself (each speed has its own natural end), leaving no room for other shots."""
    p, n, j, m = index
    owner = rows[p, n] // ctx.speeds
    key = (p * (len(ctx.bank) // ctx.speeds) + owner) * len(ctx.in_points) + j
    by_score = torch.sort(-score, stable=True).indices
    grouped = by_score[torch.sort(key[by_score], stable=True).indices]  # by key, best first
    sorted_key = key[grouped]
    start = torch.ones(len(grouped), dtype=torch.bool, device=score.device)
    start[1:] = sorted_key[1:] != sorted_key[:-1]
    first = torch.cummax(torch.where(start, torch.arange(len(grouped), device=score.device), 0), dim=0).values
    keep = grouped[torch.arange(len(grouped), device=score.device) - first < SPEED_VARIANTS]
    keep = keep.sort().values  # back in index order (frame, shot, in-point, length)
    return p[keep], n[keep], j[keep], m[keep], score[keep]


def _frame_then_best(frame: Tensor, score: Tensor) -> Tensor:
    """An int64 sort key [shape=(C,)]: by ``frame`` (non-negative int64), then by finite
    float32 ``score``, highest first (the bits of a float, sign-folded, order as the float)."""
    bits = (-score + 0.0).view(torch.int32).to(torch.int64)  # + 0.0: -0.0 ties with 0.0
    ordered = torch.where(bits >= 0, bits + (1 << 31), -1 - bits)  # [0, 2**32), increasing with -score
    return (frame << 32) | ordered


def _shots_at(ctx: _Context, pos: Tensor) -> Tensor:
    """The bank rows scored at each song frame of ``pos`` [shape=(P,)]: every row, or every
    speed of the frame's shortlisted shots, in increasing order, rows of a shot listed
    twice (and ``rows_off``) set to -1. [shape=(P, N)] int64"""
    if ctx.shortlist is None:
        rows = torch.arange(len(ctx.bank), device=pos.device).expand(len(pos), -1)
    else:
        listed = ctx.shortlist[pos].sort(dim=1).values
        repeat = torch.zeros_like(listed, dtype=torch.bool)
        repeat[:, 1:] = listed[:, 1:] == listed[:, :-1]
        rows = listed[:, :, None] * ctx.speeds + torch.arange(ctx.speeds, device=pos.device)  # [P, N, R]
        rows = torch.where(repeat[:, :, None], -1, rows).flatten(1)
    if ctx.rows_off is None:
        return rows
    return torch.where(ctx.rows_off[rows.clamp(min=0)], -1, rows)


def _expand(ctx: _Context, nodes: Hypotheses, ids: np.ndarray, used_bits: np.ndarray | None,
            ready: dict[int, _Candidates], span: _Range) -> Hypotheses:
    """Each of ``nodes`` (ordered by frame) extended by its ``expansions`` best-scoring
    free next segments (by segment score, whose length normalisation makes segments of
    different lengths compare), in order node by node, best first.

    A segment that plays its shot to the end ends at the shot's exact end time, rounded
    to a frame for the frame reached; one that reaches the span's end (or a natural end
    one frame short of it) ends exactly there.
    """
    first = np.flatnonzero(np.diff(nodes.pos, prepend=-1))  # nodes come by frame
    frames = nodes.pos[first]
    table = [ready.pop(int(f)) for f in frames]
    sizes = np.array([len(c.score) for c in table])
    cands = _Candidates(*(np.concatenate(columns) for columns in zip(*table, strict=True)))
    group = np.repeat(np.arange(len(frames)), np.diff(np.append(first, len(nodes))))  # each node's frame
    offset = (np.cumsum(sizes) - sizes)[group]
    owners = ctx.owners_host
    if used_bits is not None:
        def blocked(h: np.ndarray, row: np.ndarray) -> np.ndarray:
            shot = owners[row]
            return ((used_bits[h, shot >> 3] >> (shot & 7).astype(np.uint8)) & 1).astype(bool)
    else:  # reuse allowed: any shot but the one just played (no cut from a shot to itself)
        def blocked(h: np.ndarray, row: np.ndarray) -> np.ndarray:
            return (owners[row] == owners[nodes.shot[h]]) & (nodes.shot[h] >= 0)
    h, c = _pick(cands.shot, offset, sizes[group], min(ctx.config.expansions, int(sizes.max(initial=0))), blocked)
    fr = ctx.frame_rate
    pos, time = nodes.pos[h], nodes.time[h]
    shot, in_frame, length, score = cands.shot[c], cands.in_frame[c], cands.length[c], cands.score[c]
    stop = pos + length
    natural = length == ctx.frames_host[shot] - in_frame
    whole = (stop >= span.end) | (natural & (stop == span.end - 1))
    natural_time = time + ctx.seconds_host[shot] - in_frame / fr
    end_time = np.where(whole, span.end_time, np.where(natural, natural_time, stop / fr))
    natural_stop = np.clip(np.round(natural_time * fr).astype(np.int64), pos + 1, span.end)
    stop = np.where(whole, span.end, np.where(natural, natural_stop, stop))
    value = nodes.value[h] + score.astype(np.float64) * (end_time - time)
    key = nodes.key[h] if used_bits is None else nodes.key[h] ^ ctx.zobrist_host[shot]
    return Hypotheses(value, end_time, stop, key, ids[h], shot, in_frame, score)


def _pick(shots: np.ndarray, offset: np.ndarray, size: np.ndarray, e: int,
          blocked: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For each node h, the ``e`` first candidates ``offset[h] + [0, size[h])`` (best first)
    whose shot ``shots[c]`` is not ``blocked(h, shot)``; a node with none free takes its
    ``e`` first (reusing a shot rather than dying). Returns (h, c) pairs, node by node.

    The first ``PICK_PREFIX`` candidates of each node are looked at; only nodes that find
    fewer than ``e`` free ones there are looked at again in full.
    """
    def look(rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(take [shape=(R, width)] bool, candidate index there, free ones found, none found)"""
        k = np.arange(width)
        inside = k[None, :] < size[rows, None]
        c = offset[rows, None] + np.minimum(k[None, :], size[rows, None] - 1)
        free = inside & ~blocked(rows[:, None], shots[c])
        count = np.cumsum(free, axis=1)
        take = free & (count <= e)
        stuck = count[:, -1] == 0
        take[stuck] = inside[stuck] & (k[None, :] < e)
        return take, c, count[:, -1], stuck

    rows = np.flatnonzero(size > 0)
    if rows.size == 0 or e == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    width = int(size.max())
    take, c, found, stuck = look(rows, min(width, PICK_PREFIX))
    again = (found < e) & (size[rows] > PICK_PREFIX)
    r, k = np.nonzero(take & ~again[:, None])
    h, c = rows[r], c[r, k]
    if again.any():  # too many blocked candidates in the prefix: these nodes look at them all
        more, more_c, _, more_stuck = look(rows[again], width)
        stuck[again] = more_stuck
        mr, mk = np.nonzero(more)
        h, c, k = np.concatenate([h, rows[again][mr]]), np.concatenate([c, more_c[mr, mk]]), np.concatenate([k, mk])
        order = np.lexsort((k, h))
        h, c = h[order], c[order]
    if stuck.any():
        log.debug("%d hypotheses reuse a shot: no unused one fits", int(stuck.sum()))
    return h, c


def _ends_at(ctx: _Context, pos: Tensor, shots: Tensor, end: int, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Where segments starting at each song frame of ``pos`` [shape=(P,)] may end, by
    song frame ``end``: (lengths snapped to song onsets, any length), each [shape=(P, K)]
    bool for lengths 1..K, and the natural end of each of ``shots`` [shape=(P, N)] from each
    in-point as l - 1 where allowed, else -1 [shape=(P, N, J)] int64.

    A segment must leave either nothing or at least ``min_length`` of the range. A shot
    played to its natural end may also leave one frame: its exact end time is within a
    frame of the range's end, and it is stretched to it (see :func:`_expand`).
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
    taken: set[int] = set()
    for shot in order.tolist():  # sequential by nature; stops at the first score under the threshold
        score = float(scores[shot])
        if not math.isfinite(score) or score <= ctx.config.pin_threshold:
            break
        if ctx.owners_host[shot] in taken:  # the shot is pinned already, at another speed
            continue
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
        taken.add(int(ctx.owners_host[shot]))
    if used is not None:
        used = used.copy()
        used[ctx.owners_host[[p.shot for p in pinned]]] = True
    placements = list(pinned)
    bounds = [(0, 0.0), *[(x, y) for p in pinned for x, y in ((p.start, p.start_time), (p.end, p.end_time))],
              (t, ctx.duration)]
    for (a, a_time), (b, b_time) in zip(bounds[::2], bounds[1::2], strict=True):
        if b > a:
            filled = _beam(ctx, _Range(a, b, a_time, b_time), used)
            if used is not None:
                used[ctx.owners_host[[p.shot for p in filled]]] = True
            placements.extend(filled)
    log.debug("global search pinned %d segments, filled %d", len(pinned), len(placements) - len(pinned))
    return sorted(placements, key=lambda p: p.start)
