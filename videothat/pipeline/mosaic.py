"""Mosaic mode: rebuild a target sound from short units of the videos' own sound, and show
the frames those units come from (concatenative synthesis).

Units are every ``1 / mosaic.unit_rate`` s (``mosaic.unit=frame``) or each onset-to-onset
slice (``onset``) of the target and of each video's sound, described by the mean (and for
slices the spread) of loudness-normalised log-mel frames (:mod:`videothat.audio.units`,
batched on the device, cached per file). A FAISS search (:mod:`videothat.index.knn`) gives
each target unit its ``mosaic.k`` nearest source units; with the continuations of the
nearest of the ``mosaic.follow`` units before, these are its candidates, each scored over
exactly the stretch of source it would play. A Viterbi pass
(:func:`videothat.match.units.best_units`) picks one per target unit, a jump costing
``mosaic.continuity`` median candidate distances, so the result plays runs of consecutive
frames. The chosen stretches become the segments of a timeline, rendered like ``make``'s
(mp4, ``.timeline.json``, ``.otio``, every output atomic) with the target, the chosen units'
own sound (crossfaded, following the target's loudness) or a mix of both as sound track.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videothat.analysis import Failure
from videothat.core.errors import MediaError, NoAudioError, NoVideoError, VideoThatError
from videothat.core.outputs import check_outputs
from videothat.core.progress import timed
from videothat.core.timeline import Cut, Timeline
from videothat.match.config import MosaicConfig
from videothat.media.audio import decode_audio
from videothat.media.discover import find_media
from videothat.media.probe import probe
from videothat.pipeline.make import video_outputs, write_timeline
from videothat.pipeline.run import Configs, Run, input_files
from videothat.pipeline.sound_units import SR, Described, describe_sounds

if TYPE_CHECKING:
    import torch
    from torch import Tensor

ONSET_FRAME_RATE = 100.0  # descriptor frames per second of onset units (10 ms: where slices start)
SILENT_PEAK = 1e-4  # a target whose samples all stay under this (full scale 1) is silent
JOIN_TOLERANCE_S = 0.03  # s: an onset unit starting this close to where the stretch before ends plays on from there
COST_BLOCK = 1 << 22  # candidate descriptor values scored at once (bounds the memory of scoring)


class MosaicError(VideoThatError):
    """No mosaic can be made (a silent target, no usable source units)."""


@dataclass
class MosaicPlan:
    """The chosen units as a timeline (before rendering) and how it was put together."""

    timeline: Timeline
    runs: np.ndarray  # [shape=(R,)] target units per run (a stretch of one source played on: a segment)
    run_seconds: np.ndarray  # [shape=(R,)] the runs' lengths in seconds
    distance: float  # mean descriptor distance of the chosen units to the target's
    failures: list[Failure] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage


@dataclass
class Mosaic:
    """What :func:`make_mosaic` made: the files, and the plan they were made from."""

    video: Path
    timeline_json: Path
    otio: Path
    plan: MosaicPlan
    html: Path | None = None

    @property
    def timeline(self) -> Timeline:
        return self.plan.timeline


@dataclass(frozen=True)
class UnitTable:
    """The units of one or more described sounds, over their frames laid end to end."""

    prefix: tuple[Tensor, Tensor]  # prefix sums (audio.units.prefix_sums) of every sound's frames, one after another
    starts: Tensor  # [shape=(U,)] int64 first frame of each unit (in ``frames``)
    lengths: Tensor  # [shape=(U,)] int64 frames of each unit
    bounds: Tensor  # [shape=(U,)] int64 end (exclusive) of the frames of each unit's sound
    owner: Tensor  # [shape=(U,)] int64 the sound of each unit
    position: Tensor  # [shape=(U,)] int64 its index among its sound's units
    first: np.ndarray  # [shape=(S,)] int64 first frame of each sound in ``frames``


def plan_mosaic(target: str | Path, videos: Iterable[str | Path], mosaic: MosaicConfig, run: Run) -> MosaicPlan:
    """Choose a source unit for every target unit (module doc); nothing is written but the cache.

    Raises
    ------
    MosaicError : the target is silent or shorter than a unit; no video has pictures and sound.
    MediaError : the target cannot be decoded or has no sound.
    """
    target, seconds = Path(target), {}
    nominal = mosaic.unit_rate if mosaic.unit == "frame" else ONSET_FRAME_RATE
    frame_rate = SR / round(SR / nominal)  # frames are whole samples apart
    describe = dict(frame_rate=frame_rate, n_mels=mosaic.n_mels, onsets=mosaic.unit == "onset", run=run)
    if probe(target).audio is None:
        raise NoAudioError(target, "has no audio stream: a mosaic rebuilds the target's sound, so it needs one")
    with timed("describe", seconds):
        wanted, problem = describe_sounds([target], stage="target", **describe)
    if problem:
        raise MediaError(target, f"cannot be used as the target: {problem[0].message}")
    if wanted[0].peak < SILENT_PEAK:
        raise MosaicError(f"{target}: the target is silent; there is nothing to rebuild")
    if wanted[0].shape.shape[0] == 0:
        raise MosaicError(f"{target}: shorter than one unit ({1 / frame_rate:.3f} s)")
    paths, failures = _usable_sources(videos)
    with timed("describe", seconds):
        sources, problems = describe_sounds(paths, stage="sources", **describe)
    failures += problems
    why = {s.path: _unusable(s, wanted[0]) for s in sources}
    failures += [Failure(path, f"{path}: {reason}") for path, reason in why.items() if reason]
    sources = [s for s in sources if not why[s.path]]
    if not sources:
        reasons = "; ".join(f.message for f in failures[:3]) or "their sound is silent or shorter than one unit"
        raise MosaicError(f"no usable videos for a mosaic: it needs videos with pictures and sound ({reasons})")
    with timed("units", seconds):
        goal, table = (unit_table(d, mosaic, frame_rate, run.device) for d in ([wanted[0]], sources))
    chosen, costs = choose_units(goal, table, mosaic, device=run.device, seconds=seconds)
    with timed("timeline", seconds):
        tolerance = round(JOIN_TOLERANCE_S * frame_rate) if mosaic.unit == "onset" else 0
        plan = _plan(goal, table, chosen, costs, wanted[0], sources, frame_rate, failures, tolerance=tolerance)
    plan.seconds = seconds
    return plan


def _unusable(source: Described, target: Described) -> str | None:
    """Why a described source cannot give units to ``target``'s mosaic, or None."""
    if source.shape.shape[0] == 0 or source.peak < SILENT_PEAK:
        return "its sound is silent or shorter than one unit"
    if source.digest == target.digest:
        return "is the target itself (a mosaic rebuilds it from other footage)"
    return None


def unit_table(described: Sequence[Described], mosaic: MosaicConfig, frame_rate: float,
               device: torch.device | str) -> UnitTable:
    """The units of ``described`` sounds: every frame (``frame`` units) or onset slices."""
    import torch

    from videothat.audio.units import prefix_sums, unit_starts

    sizes = np.array([d.shape.shape[0] for d in described], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    starts, owners = [], []
    for i, d in enumerate(described):  # one index array per sound
        local = np.arange(sizes[i]) if mosaic.unit == "frame" else \
            unit_starts(d.onsets, int(sizes[i]), longest=max(1, round(mosaic.longest * frame_rate)))
        starts.append(first[i] + local)
        owners.append(np.full(local.size, i))
    start, owner = np.concatenate(starts), np.concatenate(owners)
    end = (first + sizes)[owner]
    length = np.diff(np.append(start, sizes.sum()))  # to the next unit; a sound's last unit to its end
    position = np.arange(start.size) - np.searchsorted(owner, owner)  # index within its sound
    frames = torch.from_numpy(np.concatenate([d.shape for d in described])).to(device)
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)).to(device)  # noqa: E731
    return UnitTable(prefix_sums(frames), as_tensor(start), as_tensor(length), as_tensor(end), as_tensor(owner),
                     as_tensor(position), first)


def describe_units(table: UnitTable, *, spread: bool) -> Tensor:
    """Each unit's descriptor over its own frames [shape=(U, D or 2 D)]."""
    from videothat.audio.units import window_statistics

    return window_statistics(table.prefix, table.bounds, table.starts, table.lengths, spread=spread)


def choose_units(goal: UnitTable, table: UnitTable, mosaic: MosaicConfig, *, device: torch.device | str,
                 seconds: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each unit of ``goal`` (the target), the unit of ``table`` (the sources) it plays
    and the descriptor distance of that choice: int64 and float [shape=(T,)]. Wall times of
    the stages (search, score, viterbi) are added to ``seconds``."""
    import torch

    from videothat.index.knn import nearest
    from videothat.match.units import best_units, continuation_candidates

    seconds = {} if seconds is None else seconds
    spread = mosaic.unit == "onset"
    with timed("search", seconds):
        wanted, base = describe_units(goal, spread=spread), describe_units(table, spread=spread)
        near_distance, near = nearest(wanted.cpu().numpy(), base.cpu().numpy(), min(mosaic.k, base.shape[0]),
                                      factory=mosaic.index, device=str(device))
    with timed("score", seconds):
        candidates = continuation_candidates(torch.from_numpy(near).to(device), table.owner, follow=mosaic.follow)
        cost = _candidate_costs(wanted, goal.lengths, table, candidates, spread=spread)
    if not torch.isfinite(cost).any(dim=1).all():
        raise MosaicError(f"mosaic.index={mosaic.index} found no source unit for some target units; use "
                          f"mosaic.index=Flat (exact)")
    found = near_distance[np.isfinite(near_distance) & (near_distance > 0)]  # silence matches silence at 0
    jump = mosaic.continuity * (float(np.median(found)) if found.size else 1.0)
    at = candidates.clamp(min=0)
    with timed("viterbi", seconds):
        picks, _ = best_units(cost, table.owner[at], table.position[at], continuity=jump)
    rows = torch.arange(picks.numel(), device=picks.device)
    return candidates[rows, picks].cpu().numpy(), cost[rows, picks].cpu().numpy()


def _candidate_costs(wanted: Tensor, lengths: Tensor, table: UnitTable, candidates: Tensor, *, spread: bool
                     ) -> Tensor:
    """Distance [shape=(T, C)] of each target unit's descriptor to its candidates', each
    candidate described over as many frames as the target unit lasts (what it would play,
    silence past its sound's end); inf where there is no candidate (-1)."""
    import torch

    from videothat.audio.units import window_statistics

    t_units, n_cand = candidates.shape
    out = torch.empty(t_units, n_cand, dtype=torch.float32, device=candidates.device)
    rows = max(1, COST_BLOCK // max(1, n_cand * wanted.shape[1]))
    for a in range(0, t_units, rows):  # blocks of target units bound the memory; each block is one gather
        block = candidates[a : a + rows].clamp(min=0)
        span = lengths[a : a + rows, None].expand_as(block)
        seen = window_statistics(table.prefix, table.bounds[block], table.starts[block], span, spread=spread)
        out[a : a + rows] = (seen - wanted[a : a + rows, None, :]).norm(dim=-1)
    return torch.where(candidates >= 0, out, torch.inf)


def _plan(goal: UnitTable, table: UnitTable, chosen: np.ndarray, costs: np.ndarray, target: Described,
          sources: Sequence[Described], frame_rate: float, failures: list[Failure], *, tolerance: int) -> MosaicPlan:
    """The timeline of the chosen units: each target unit's stretch plays the same number of
    frames from its chosen unit's start; a stretch whose unit starts within ``tolerance``
    frames of where the stretch before ended in the same source plays on from there instead
    (onset units of one passage, detected a few milliseconds apart; 0 for frame units) and
    joins it in one segment. The runs are those segments: stretches that really play on."""
    g_start, g_length = goal.starts.cpu().numpy(), goal.lengths.cpu().numpy()
    owner = table.owner.cpu().numpy()[chosen]
    source_frame = table.starts.cpu().numpy()[chosen] - table.first[owner]
    joined = np.zeros(chosen.size, dtype=bool)
    for t in range(1, chosen.size):  # sequential: a joined unit plays on from where the stretch before ended
        on = source_frame[t - 1] + g_length[t - 1]
        joined[t] = owner[t] == owner[t - 1] and abs(source_frame[t] - on) <= tolerance
        if joined[t]:
            source_frame[t] = on
    begins = np.flatnonzero(~joined)
    ends = np.append(begins[1:], chosen.size)
    cuts = []
    for a, b in zip(begins.tolist(), ends.tolist(), strict=True):  # one Cut per segment of the output
        song_start = g_start[a] / frame_rate
        song_end = target.duration if b == chosen.size else g_start[b] / frame_rate
        source_start = source_frame[a] / frame_rate
        cuts.append(Cut(sources[owner[a]].path, source_start, source_start + song_end - song_start, song_start,
                        song_end, -float(costs[a:b].mean())))
    timeline = Timeline(target.path, target.duration, cuts, over="target").validate()
    return MosaicPlan(timeline, ends - begins, np.array([c.duration for c in cuts]), float(costs.mean()), failures)


def make_mosaic(target: str | Path, videos: Iterable[str | Path], configs: Configs, mosaic: MosaicConfig, run: Run,
                *, output: Path, report: bool = False) -> Mosaic:
    """Plan the mosaic (:func:`plan_mosaic`) and render ``output`` with ``mosaic.sound`` as
    its sound track; ``.timeline.json``, ``.otio`` and, with ``report``, ``.report.html`` beside it
    (all checked before any work: :func:`~videothat.core.outputs.check_outputs`)."""
    from videothat.media.render import AUDIO_RATE, output_frame_count, render

    videos = list(videos)
    check_outputs(video_outputs(output, report=report), inputs=input_files([target, *videos]))
    plan = plan_mosaic(target, videos, mosaic, run)
    seconds = plan.seconds
    with timed("sound", seconds):
        own = decode_audio(target, AUDIO_RATE)
        rebuilt = rebuilt_sound(plan.timeline, own, mosaic, rate=AUDIO_RATE) if mosaic.sound != "target" or report \
            else None
    rendering = configs.render
    run.progress.start("render", output_frame_count(plan.timeline.duration, rendering.fps), "frame")
    try:
        with timed("render", seconds):
            render(plan.timeline, output, rendering, song_audio=sound_track(own, rebuilt, mosaic),
                   song_rate=AUDIO_RATE, on_frames=lambda k: run.progress.advance("render", k))
    finally:
        run.progress.finish("render")
    with timed("write outputs", seconds):
        json_path, otio_path = write_timeline(plan.timeline, output.with_suffix(""), rate=rendering.fps)
        html = None
        if report:
            from videothat.report.mosaic import write_mosaic_report

            html = write_mosaic_report(plan, own, rebuilt, AUDIO_RATE, output.with_suffix(".report.html"),
                                       video=output)
    return Mosaic(output, json_path, otio_path, plan, html)


def rebuilt_sound(timeline: Timeline, target_audio: np.ndarray, mosaic: MosaicConfig, *, rate: int) -> np.ndarray:
    """The chosen units' own sound [shape=(round(duration * rate),)] float32: the timeline's
    sources spliced with ``mosaic.crossfade`` and, with ``mosaic.loudness``, following the
    loudness of ``target_audio`` (mono at ``rate``)."""
    from videothat.audio.splice import follow_loudness, splice

    paths = dict.fromkeys(Path(c.source) for c in timeline.segments)
    sound = splice(timeline, {p: decode_audio(p, rate) for p in paths}, rate=rate, crossfade=mosaic.crossfade)
    return follow_loudness(sound, target_audio, rate=rate) if mosaic.loudness else sound


def sound_track(target_audio: np.ndarray, rebuilt: np.ndarray | None, mosaic: MosaicConfig) -> np.ndarray:
    """The mosaic's sound track by ``mosaic.sound``: the target, the rebuilt sound or their mix."""
    if mosaic.sound == "target" or rebuilt is None:
        return target_audio
    if mosaic.sound == "source":
        return rebuilt
    n = rebuilt.size
    return ((1 - mosaic.mix) * np.pad(target_audio[:n], (0, max(0, n - target_audio.size))) + mosaic.mix * rebuilt
            ).astype(np.float32)


def _usable_sources(videos: Iterable[str | Path]) -> tuple[list[Path], list[Failure]]:
    """The videos with pictures and sound; the rest as failures."""
    files, problems = find_media(videos)
    failures = [Failure(e.path, str(e)) for e in problems]
    usable = []
    for path in files:
        try:
            info = probe(path)
            if info.video is None:
                raise NoVideoError(path, "has no video stream (a mosaic shows the frames its sound comes from)")
            if info.audio is None:
                raise NoAudioError(path, "has no audio stream (a mosaic is made of the videos' own sound)")
            usable.append(path)
        except MediaError as exc:
            failures.append(Failure(path, str(exc)))
    return usable, failures
