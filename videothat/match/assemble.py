"""From analyses to a timeline: gather shots, score, search, convert frames to seconds."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from videothat.audio.beats import beat_frames
from videothat.audio.onsets import onset_frames
from videothat.catalog import FileAnalysis
from videothat.config import MatchConfig
from videothat.match.config import ScoreConfig
from videothat.match.correlate import prefix_scores, prepare_song, retimed_bank, shot_bank, speed_grid
from videothat.match.search import Placement, SearchError, search
from videothat.match.timeline import Cut, Timeline
from videothat.media.shots import Shot


@dataclass(frozen=True)
class MatchResult:
    """A timeline with what it was made from: shots and their curves, the song curve [T],
    its onset and beat frames."""

    timeline: Timeline
    placements: list[Placement]
    shots: list[Shot]
    curves: list[np.ndarray]  # the shots' novelty curves as scored
    song_curve: np.ndarray
    onsets: np.ndarray  # song onset frames
    beats: np.ndarray  # song beat frames
    frame_rate: float
    edge_frames: int = 0  # leading frames of each shot curve left out of scoring (score.edge)
    speeds: tuple[float, ...] = (1.0,)  # playback speeds tried


def placement_scores(result: MatchResult, config: ScoreConfig,
                     placements: Sequence[tuple[int, int, int] | tuple[int, int, int, float]]) -> list[float]:
    """The matcher's score of each (shot index in ``result.shots``, song frame, frames[, speed])
    placement (speed 1 when left out), shot from its first frame, scored as the search scores it (same curves,
    edge frames and ``config``; any speed, resampled as the search does): for evaluations
    that score a known timeline."""
    curves = [torch.from_numpy(np.ascontiguousarray(c)) for c in result.curves]
    song = prepare_song(torch.from_numpy(result.song_curve), config)
    fr = result.frame_rate
    out = []
    for i, pos, n, *speed in placements:
        bank = retimed_bank(curves[i : i + 1], speed or [1.0], config, edge_frames=result.edge_frames)
        n = min(n, int(bank.lengths[0]))
        out.append(float(prefix_scores(bank, song, pos, max_frames=n, frame_rate=fr, config=config)[0, 0, n - 1]))
    return out


def usable_shots(sources: Sequence[FileAnalysis]) -> tuple[list[Shot], list[np.ndarray]]:
    """Shots of sources with pictures and sound, each curve cut to whole frames of the shot
    (so a placement never reads past the shot's end)."""
    shots, curves = [], []
    for analysis in sources:
        if not analysis.has_video:
            continue
        for shot, curve in zip(analysis.shots, analysis.novelty, strict=True):
            frames = min(len(curve), math.floor(shot.duration * analysis.frame_rate + 1e-6))
            if frames >= 1:
                shots.append(shot)
                curves.append(curve[:frames])
    return shots, curves


def match(
    song: FileAnalysis,
    sources: Sequence[FileAnalysis],
    config: MatchConfig,
    *,
    device: torch.device | str = "cpu",
    progress: Callable[[float], None] | None = None,
    edge_frames: int = 0,
) -> MatchResult:
    """Place shots of ``sources`` over ``song`` (analysed whole, one curve). ``edge_frames``:
    the leading frames of each shot's curve that depend on the sound before the cut
    (:func:`videothat.audio.novelty.edge_frames` of the analysis), left out with ``score.edge``.

    Raises
    ------
    SearchError : no usable shots, or not enough to cover the song.
    """
    shots, curves = usable_shots(sources)
    if not shots:
        raise SearchError("no usable shots: none of the videos has both pictures and sound")
    fr = song.frame_rate
    song_curve = np.concatenate(song.novelty)[: max(1, math.ceil(song.duration * fr - 1e-9))]
    knobs = config.search
    speeds = speed_grid(knobs.speed_min, knobs.speed_max, knobs.speed_step)
    tensors = [torch.from_numpy(np.ascontiguousarray(c)) for c in curves]
    if len(speeds) == 1:
        bank = shot_bank(tensors, config.score, device=device, edge_frames=edge_frames)
    else:
        bank = retimed_bank(tensors, speeds, config.score, device=device, edge_frames=edge_frames)
    song_t = prepare_song(torch.from_numpy(song_curve), config.score, device=device)
    onsets = onset_frames(song_curve, frame_rate=fr)
    beats = beat_frames(song_curve, frame_rate=fr)
    snaps = beats if knobs.snap == "beats" else onsets
    seconds = [s.duration / r for s in shots for r in speeds]
    placements = search(bank, song_t, frame_rate=fr, score=config.score, config=knobs,
                        onsets=torch.from_numpy(snaps), shot_seconds=seconds, duration=song.duration,
                        progress=progress, speeds=len(speeds), shortlist_speeds=_listed_speeds(speeds))
    placements = [_source_placement(p, speeds) for p in placements]
    timeline = to_timeline(song, placements, shots)
    return MatchResult(timeline, placements, shots, curves, song_curve, onsets, beats, fr, edge_frames,
                       tuple(speeds))


def _listed_speeds(speeds: Sequence[float]) -> list[int]:
    """Indices of the speeds whose scores shortlist shots: 1 first, then the range's ends."""
    one = min(range(len(speeds)), key=lambda i: abs(math.log(speeds[i])))
    return list(dict.fromkeys([one, 0, len(speeds) - 1]))


def _source_placement(p: Placement, speeds: Sequence[float]) -> Placement:
    """A placement of bank row ``shot * len(speeds) + r`` as one of source shot ``shot`` at
    ``speeds[r]``, its in-point in the shot's own curve frames (nearest frame)."""
    speed = float(speeds[p.shot % len(speeds)])
    return replace(p, shot=p.shot // len(speeds), in_frame=round(p.in_frame * speed), speed=speed)


def to_timeline(song: FileAnalysis, placements: Sequence[Placement], shots: Sequence[Shot]) -> Timeline:
    """Placements (exact song seconds) to cuts with their source times: a segment at speed
    r plays r source seconds per song second."""
    cuts = []
    for p in placements:
        shot = shots[p.shot]
        source_start = shot.start + p.in_frame / song.frame_rate
        cuts.append(Cut(shot.source, source_start, source_start + p.speed * (p.end_time - p.start_time),
                        p.start_time, p.end_time, p.score, p.speed))
    return Timeline(song.source, song.duration, cuts).validate()
