"""Which shot plays where: beam search over the song timeline.

A timeline covers song frames [0, T) exactly with segments; each segment plays one
shot from an in-point for a length. Its score is the correlation score of
:mod:`videothat.match.correlate` for that placement (a trimmed shot when the segment is
shorter than the shot), and a timeline's score is the sum of its segments' scores.

``sequential`` mode walks the song from the start. Every hypothesis is extended by its
``expansions`` best next segments and the ``beam_width`` best extended hypotheses are
kept; width 1 is VideoThat's original greedy strategy (at each cut, the best-scoring
next segment). Segment ends are song onsets (``snap="onsets"``), the natural end of the
shot, or the end of the song; a step with no such end allowed falls back to any end.

``global`` mode first pins the best-matching (shot, offset) pairs anywhere in the song,
best first, where they fit, then fills the gaps between them with the sequential search
(the original authors' proposed "non-sequential" search).
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from videothat.errors import ParameterError, VideoThatError
from videothat.match.correlate import ShotBank, best_offsets, prefix_scores

log = logging.getLogger(__name__)

MODES = ("sequential", "global")
SNAPS = ("onsets", "none")


class SearchError(VideoThatError):
    """No timeline satisfies the constraints (not enough shot material, lengths)."""


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Search constraints and effort (units in comments)."""

    beam_width: int = 8  # hypotheses kept per step; 1 = the original greedy strategy
    expansions: int = 8  # best next segments tried from each hypothesis
    min_length: float = 1.0  # s, shortest segment (the song's end may force a shorter song)
    max_length: float = 8.0  # s, longest segment
    reuse: bool = False  # may a shot appear more than once
    snap: str = "onsets"  # segment ends on song onsets (or shot end / song end) | none
    in_point_step: float = 0.0  # s; > 0 also tries in-points every this many seconds into a shot
    mode: str = "sequential"  # sequential | global
    pin_threshold: float = 0.0  # global mode: only placements scoring above this are pinned

    def __post_init__(self) -> None:
        if self.beam_width < 1 or self.expansions < 1:
            raise ParameterError(f"beam_width={self.beam_width} and expansions={self.expansions} must be >= 1")
        if not 0 < self.min_length <= self.max_length:
            raise ParameterError(f"need 0 < min_length ({self.min_length} s) <= max_length ({self.max_length} s)")
        if self.snap not in SNAPS:
            raise ParameterError(f"snap={self.snap!r} must be one of {SNAPS}")
        if self.mode not in MODES:
            raise ParameterError(f"mode={self.mode!r} must be one of {MODES}")
        if self.in_point_step < 0:
            raise ParameterError(f"in_point_step={self.in_point_step} s must be >= 0")


@dataclass(frozen=True)
class Placement:
    """Shot ``shot`` from its frame ``in_frame`` plays over song frames [start, start + length)."""

    shot: int
    in_frame: int
    start: int
    length: int
    score: float

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class _Hyp:
    score: float
    pos: int
    used: Tensor | None  # [S] bool, None when reuse is allowed
    placements: tuple[Placement, ...]


@dataclass(frozen=True)
class _Context:
    bank: ShotBank
    song: Tensor
    frame_rate: float
    power: float
    config: SearchConfig
    is_onset: Tensor  # [T + 1] bool
    in_points: Tensor  # [J] int64
    min_f: int
    max_f: int


def search(
    bank: ShotBank,
    song: Tensor,
    *,
    frame_rate: float,
    power: float,
    config: SearchConfig,
    onsets: Tensor | None = None,
) -> list[Placement]:
    """Cover the song curve [shape=(T,)] with shots from ``bank``; placements in song order.

    ``onsets`` are song onset frames (int64) that segment ends may snap to.

    Raises
    ------
    SearchError : the shots cannot cover the song under the constraints.
    """
    ctx = _context(bank, song, frame_rate, power, config, onsets)
    _check_material(ctx)
    used = None if config.reuse else torch.zeros(len(bank), dtype=torch.bool, device=bank.device)
    if config.mode == "sequential":
        return _beam(ctx, 0, song.shape[0], used)
    return _global(ctx, used)


def _context(bank, song, frame_rate, power, config, onsets) -> _Context:
    t = song.shape[0]
    is_onset = torch.zeros(t + 1, dtype=torch.bool, device=bank.device)
    if onsets is not None and config.snap == "onsets":
        is_onset[onsets[(onsets > 0) & (onsets < t)].to(bank.device)] = True
    min_f = max(1, round(config.min_length * frame_rate))
    max_f = max(min_f, round(config.max_length * frame_rate))
    step = round(config.in_point_step * frame_rate)
    longest = int(bank.lengths.max())
    in_points = torch.arange(0, max(1, longest - min_f + 1), step, device=bank.device) if step > 0 else None
    if in_points is None or in_points.numel() == 0:
        in_points = torch.zeros(1, dtype=torch.int64, device=bank.device)
    return _Context(bank, song, frame_rate, power, config, is_onset, in_points, min_f, max_f)


def _check_material(ctx: _Context) -> None:
    t = ctx.song.shape[0]
    usable = ctx.bank.lengths.clamp(max=ctx.max_f)
    usable = usable[usable >= min(ctx.min_f, t)]
    if usable.numel() == 0:
        raise SearchError(f"no shot is at least {ctx.config.min_length} s long (match.min_length)")
    if not ctx.config.reuse and int(usable.sum()) < t:
        raise SearchError(
            f"not enough footage: the usable shots add up to {int(usable.sum()) / ctx.frame_rate:.1f} s "
            f"(at most {ctx.config.max_length} s each), the song lasts {t / ctx.frame_rate:.1f} s; "
            "add videos or allow reuse with match.reuse=true"
        )


def _beam(ctx: _Context, start: int, end: int, used: Tensor | None) -> list[Placement]:
    """Cover song frames [start, end) exactly."""
    beam = [_Hyp(0.0, start, used, ())]
    while any(h.pos < end for h in beam):
        extended: list[_Hyp] = []
        for h in beam:  # at most beam_width hypotheses; each expansion is one batched call
            extended.extend([h] if h.pos >= end else _expand(ctx, h, end))
        if not extended:
            raise SearchError(
                f"no way to cover song time {start / ctx.frame_rate:.2f}-{end / ctx.frame_rate:.2f} s with "
                f"the remaining shots between {ctx.config.min_length} and {ctx.config.max_length} s; "
                "relax match.min_length/max_length or allow match.reuse=true"
            )
        extended.sort(key=lambda h: -h.score)  # stable: ties keep expansion order (deterministic)
        beam = extended[: ctx.config.beam_width]
    return list(beam[0].placements)


def _expand(ctx: _Context, h: _Hyp, end: int) -> list[_Hyp]:
    """The best next segments from hypothesis ``h`` as new hypotheses."""
    scores = prefix_scores(ctx.bank, ctx.song, h.pos, max_frames=min(ctx.max_f, end - h.pos),
                           frame_rate=ctx.frame_rate, power=ctx.power, in_points=ctx.in_points)
    allowed = _allowed(ctx, h, end, scores.shape[-1])
    masked = torch.where(allowed, scores, -torch.inf)
    if ctx.config.snap != "none" and not bool(torch.isfinite(masked).any()):
        masked = torch.where(_allowed(ctx, h, end, scores.shape[-1], snap=False), scores, -torch.inf)
    values, flat = masked.flatten().topk(min(ctx.config.expansions, masked.numel()))
    out = []
    n_in, k = masked.shape[1], masked.shape[2]
    for value, index in zip(values.tolist(), flat.tolist(), strict=True):
        if not math.isfinite(value):
            break
        shot, rest = divmod(index, n_in * k)
        j, length = divmod(rest, k)
        placement = Placement(shot, int(ctx.in_points[j]), h.pos, length + 1, value)
        used = h.used
        if used is not None:
            used = used.clone()
            used[shot] = True
        out.append(_Hyp(h.score + value, h.pos + length + 1, used, (*h.placements, placement)))
    return out


def _allowed(ctx: _Context, h: _Hyp, end: int, k: int, *, snap: bool = True) -> Tensor:
    """Which (shot, in-point, length) candidates may follow ``h``. [shape=(S, J, K)] bool"""
    device = ctx.bank.device
    length = torch.arange(1, k + 1, device=device)
    stop = h.pos + length
    left = end - stop
    if end - h.pos < ctx.min_f:  # a range shorter than min_length is covered in one piece
        ok = left == 0
    else:
        ok = (length >= ctx.min_f) & ((left == 0) | (left >= ctx.min_f))
    allowed = ok[None, None, :].expand(len(ctx.bank), ctx.in_points.numel(), k)
    if snap and ctx.config.snap != "none":
        natural_end = (ctx.bank.lengths[:, None] - ctx.in_points[None, :])[:, :, None] == length[None, None, :]
        allowed = allowed & ((ctx.is_onset[stop] | (left == 0))[None, None, :] | natural_end)
    if h.used is not None:
        allowed = allowed & ~h.used[:, None, None]
    return allowed


def _global(ctx: _Context, used: Tensor | None) -> list[Placement]:
    """Pin the best (shot, offset) pairs where they fit, then fill the gaps sequentially."""
    t = ctx.song.shape[0]
    scores, offsets, lengths = best_offsets(ctx.bank, ctx.song, frame_rate=ctx.frame_rate, power=ctx.power,
                                            max_frames=ctx.max_f, min_frames=ctx.min_f)
    order = torch.argsort(scores, descending=True, stable=True)
    pinned: list[Placement] = []
    starts: list[int] = []
    for shot in order.tolist():  # sequential by nature; stops at the first score under the threshold
        score = float(scores[shot])
        if not math.isfinite(score) or score <= ctx.config.pin_threshold:
            break
        p = Placement(shot, 0, int(offsets[shot]), int(lengths[shot]), score)
        i = bisect.bisect(starts, p.start)
        lo = pinned[i - 1].end if i > 0 else 0
        hi = pinned[i].start if i < len(pinned) else t
        if p.start < lo or p.end > hi or 0 < p.start - lo < ctx.min_f or 0 < hi - p.end < ctx.min_f:
            continue
        pinned.insert(i, p)
        starts.insert(i, p.start)
    if used is not None:
        used = used.clone()
        used[[p.shot for p in pinned]] = True
    placements = list(pinned)
    edges = [0, *[x for p in pinned for x in (p.start, p.end)], t]
    for gap_start, gap_end in zip(edges[::2], edges[1::2], strict=True):
        if gap_end > gap_start:
            filled = _beam(ctx, gap_start, gap_end, used)
            if used is not None:
                used[[p.shot for p in filled]] = True
            placements.extend(filled)
    log.debug("global search pinned %d segments, filled %d", len(pinned), len(placements) - len(pinned))
    return sorted(placements, key=lambda p: p.start)
