"""From analyses to a timeline: gather shots, score, search, convert frames to seconds."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from videothat.audio.beats import beat_frames
from videothat.audio.onsets import onset_frames
from videothat.core.records import FileAnalysis, Shot
from videothat.core.timeline import Cut, Timeline
from videothat.match.config import MatchConfig, ScoreConfig
from videothat.match.correlate import (
    SongCurve,
    best_speeds,
    prefix_scores,
    prepare_song,
    retimed_bank,
    shot_bank,
    speed_grid,
    speed_window,
)
from videothat.match.fuse import fuse_curves, missing_sound
from videothat.match.search import Placement, SearchError, search
from videothat.match.takes import align_takes, cover

log = logging.getLogger(__name__)

TAKE_MIN_OVERLAP_S = 10.0  # s a take must share with the song to be aligned (half the song if shorter)
SPEED_COARSE = 6  # the speed search tries every 6th speed of the grid first, then the 7 around the best
PREPASS_ROWS = 40_000  # (shot, speed) rows scored to find each shot's speed at most (time: ~1 ms per row on CPU)
SPEEDS_PER_SHOT = 3  # speeds of the grid each shot is searched at: the best fitting one and its neighbours (and 1)


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
    chroma: list[np.ndarray] | None = None  # the shots' chroma as scored (harmony term), [frames, 12] each
    song_chroma: np.ndarray | None = None  # [T, 12]
    sound: list[np.ndarray] | None = None  # the shots' audio novelty (None: ``curves`` are the sound)
    visual: list[np.ndarray] | None = None  # the shots' visual impact curves (None: pictures not analysed)
    quiet: np.ndarray | None = None  # [S] energy per frame of the sound silent shots lack (fuse.missing_sound)

    @property
    def sound_curves(self) -> list[np.ndarray]:
        return self.curves if self.sound is None else self.sound


def placement_scores(result: MatchResult, config: ScoreConfig,
                     placements: Sequence[tuple[int, int, int] | tuple[int, int, int, float]]) -> list[float]:
    """The matcher's score of each (shot index in ``result.shots``, song frame, frames[, speed])
    placement (speed 1 when left out), shot from its first frame, scored as the search scores it (same curves,
    edge frames and ``config``; any speed, resampled as the search does): for evaluations
    that score a known timeline."""
    curves = [torch.from_numpy(np.ascontiguousarray(c)) for c in result.curves]
    chroma = None if result.chroma is None else [torch.from_numpy(c) for c in result.chroma]
    song_chroma = None if result.song_chroma is None else torch.from_numpy(result.song_chroma)
    song = prepare_song(torch.from_numpy(result.song_curve), config, chroma=song_chroma)
    fr = result.frame_rate
    out = []
    for i, pos, n, *speed in placements:
        bank = retimed_bank(curves[i : i + 1], speed or [1.0], config, edge_frames=result.edge_frames,
                            chroma=None if chroma is None else chroma[i : i + 1],
                            quiet=None if result.quiet is None else result.quiet[i : i + 1])
        n = min(n, int(bank.lengths[0]))
        out.append(float(prefix_scores(bank, song, pos, max_frames=n, frame_rate=fr, config=config)[0, 0, n - 1]))
    return out


def usable_shots(sources: Sequence[FileAnalysis], *, visual_weight: float = 0.0, reference: float = 1.0
                 ) -> Material:
    """Shots of sources with pictures, each curve (and chroma) cut to whole frames of the
    shot (so a placement never reads past the shot's end). With ``visual_weight`` > 0 the
    scored curves fuse the shots' sound and visual impacts (:func:`~videothat.match.fuse.fuse_curves`,
    ``reference``: the song curve's level) and videos without usable sound take part by
    their pictures; else only videos with sound do. The chroma list is None unless every
    source has chroma. Shots without sound, scored by their pictures, carry the energy of the
    sound they lack (``quiet``, :func:`~videothat.match.fuse.missing_sound`)."""
    pictures = visual_weight > 0
    videos = [a for a in sources if a.has_video and (a.has_audio or (pictures and a.visual is not None))]
    shots, curves, chroma, visual = [], [], [], []
    every = all(a.chroma is not None for a in videos)
    for analysis in videos:
        pitch = analysis.chroma if every else [None] * len(analysis.shots)
        moves = analysis.visual if analysis.visual is not None else [None] * len(analysis.shots)
        for shot, curve, c, v in zip(analysis.shots, analysis.novelty, pitch, moves, strict=True):
            frames = min(len(curve), math.floor(shot.duration * analysis.frame_rate + 1e-6))
            if frames >= 1:
                shots.append(shot)
                curves.append(curve[:frames])
                chroma.append(None if c is None else c[:frames])
                visual.append(np.zeros(frames, np.float32) if v is None else v[:frames])
    scored = fuse_curves(curves, visual, weight=visual_weight, reference=reference) if pictures else curves
    quiet = missing_sound(curves, reference=reference) if pictures and curves else None
    return Material(shots, scored, chroma if every else None, sound=curves,
                    visual=visual if any(a.visual is not None for a in videos) else None,
                    quiet=None if quiet is None or not quiet.any() else quiet)


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
    fr = song.frame_rate
    song_curve = np.concatenate(song.novelty)[: max(1, math.ceil(song.duration * fr - 1e-9))]
    material = usable_shots(sources, visual_weight=config.score.visual_weight,
                            reference=float(np.std(song_curve)) or 1.0)
    if not material.shots:
        raise SearchError("no usable shots: none of the videos has pictures with sound"
                          + ("" if config.score.visual_weight > 0 else " (match.visual_weight > 0 also uses "
                                                                      "silent footage, by its pictures)"))
    song_chroma = None if song.chroma is None or material.chroma is None else \
        np.concatenate(song.chroma)[: len(song_curve)]
    if song_chroma is None:
        material = replace(material, chroma=None)
    onsets, beats = onset_frames(song_curve, frame_rate=fr), beat_frames(song_curve, frame_rate=fr)
    if config.search.mode == "take":
        placements, material = _place_takes(song_curve, song_chroma, song.duration, sources, material, config,
                                            fr=fr, device=device, edge_frames=edge_frames)
    else:
        placements = place_shots(song_curve, song_chroma, song.duration, material, config, fr=fr, device=device,
                                 progress=progress, edge_frames=edge_frames,
                                 snaps=beats if config.search.snap == "beats" else onsets)
    timeline = to_timeline(song, placements, material.shots)
    return MatchResult(timeline, placements, material.shots, material.curves, song_curve, onsets, beats, fr,
                       edge_frames, material.chroma, song_chroma, material.sound, material.visual, material.quiet)


@dataclass(frozen=True)
class Material:
    """Shots to place, with their curves as scored [frames] and chroma [frames, 12] (or None);
    ``sound`` and ``visual``: each shot's audio novelty and visual impacts on the same frames
    (``sound`` None: the scored curves are the sound; ``visual`` None: no pictures analysed);
    ``quiet``: the energy per frame each shot's score adds for the sound it lacks."""

    shots: list[Shot]
    curves: list[np.ndarray]
    chroma: list[np.ndarray] | None
    sound: list[np.ndarray] | None = None
    visual: list[np.ndarray] | None = None
    quiet: np.ndarray | None = None  # [S] energy per frame of the sound each silent shot lacks (None: all have sound)

    def subset(self, keep: Sequence[int]) -> Material:
        """The material of shots ``keep`` (indices), in that order."""
        def pick(items: list | None) -> list | None:
            return None if items is None else [items[k] for k in keep]

        return Material([self.shots[k] for k in keep], [self.curves[k] for k in keep], pick(self.chroma),
                        pick(self.sound), pick(self.visual),
                        None if self.quiet is None else self.quiet[np.asarray(keep, dtype=np.int64)])


def place_shots(song_curve: np.ndarray, song_chroma: np.ndarray | None, duration: float, material: Material,
                config: MatchConfig, *, fr: float, device, progress, edge_frames: int,
                snaps: np.ndarray | None = None) -> list[Placement]:
    """Search the shots of ``material`` over the song curve [T] (``duration`` s); placements
    of source shots (index into ``material.shots``) at their speeds. ``snaps``: the song
    frames segment ends snap to (default: the curve's onsets, or beats with ``snap=beats``)."""
    knobs = config.search
    tensors = [torch.from_numpy(np.ascontiguousarray(c)) for c in material.curves]
    pitch = None if material.chroma is None or song_chroma is None else [torch.from_numpy(c) for c in material.chroma]
    song_t = prepare_song(torch.from_numpy(song_curve), config.score, device=device,
                          chroma=None if pitch is None else torch.from_numpy(song_chroma))
    if snaps is None:
        snaps = beat_frames(song_curve, frame_rate=fr) if knobs.snap == "beats" else onset_frames(song_curve, frame_rate=fr)
    best, best_value = [], -math.inf
    quiet = None if material.quiet is None else torch.from_numpy(material.quiet)
    variants = shot_speeds(tensors, song_t, fr, config, edge_frames, quiet=quiet)
    for k, speeds in enumerate(variants):  # [S, R] each; the timeline worth the most wins
        if speeds.shape[1] == 1:
            bank = shot_bank(tensors, config.score, device=device, edge_frames=edge_frames, chroma=pitch, quiet=quiet)
        else:
            bank = retimed_bank(tensors, speeds, config.score, device=device, edge_frames=edge_frames, chroma=pitch,
                                quiet=quiet)
        seconds = torch.tensor([s.duration for s in material.shots], dtype=torch.float64)[:, None] / speeds
        part = None if progress is None else _part(progress, k, len(variants))
        found = search(bank, song_t, frame_rate=fr, score=config.score, config=knobs,
                       onsets=torch.from_numpy(snaps), shot_seconds=seconds.flatten().tolist(), duration=duration,
                       progress=part, speeds=speeds.shape[1], shortlist_speed=speeds.shape[1] // 2,
                       rows_off=repeated_speeds(speeds).to(bank.device) if speeds.shape[1] > 1 else None)
        value = sum(p.score * (p.end_time - p.start_time) for p in found)
        if value > best_value:
            best, best_value = [_source_placement(p, speeds) for p in found], value
    return best


def _part(progress: Callable[[float], None], k: int, n: int) -> Callable[[float], None]:
    """Progress of the k-th of n equal parts of a job."""
    return lambda fraction: progress((k + fraction) / n)


def _place_takes(song_curve: np.ndarray, song_chroma: np.ndarray | None, duration: float,
                 sources: Sequence[FileAnalysis], material: Material, config: MatchConfig, *, fr: float, device,
                 edge_frames: int) -> tuple[list[Placement], Material]:
    """``match.mode=take``: sources that are long takes of the song (:mod:`videothat.match.takes`)
    play where they line up with it, the most significant first; song time no take covers
    is filled by the sequential search with the shots of the other sources.

    Returns the placements and the material they index (the shots, then one pseudo-shot
    per take: its whole file)."""
    videos = [a for a in sources if a.has_video and a.has_audio and a.shots]  # takes line up by their sound
    takes = [_file_curve(a) for a in videos]
    t = len(song_curve)
    min_overlap = max(1, min(round(TAKE_MIN_OVERLAP_S * fr), t // 2))
    with_chroma = song_chroma is not None and all(a.chroma is not None for a in videos)
    alignment = align_takes(torch.from_numpy(song_curve).to(device), [torch.from_numpy(c) for c in takes],
                            min_overlap=min_overlap,
                            song_chroma=torch.from_numpy(song_chroma).to(device) if with_chroma else None,
                            take_chroma=[torch.from_numpy(_file_curve(a, field="chroma")) for a in videos]
                            if with_chroma else None, harmony=config.score.harmony)
    runs = cover(alignment, np.array([len(c) for c in takes]), t)
    used = {videos[i].source for i, _, _ in runs}
    rest = [k for k, shot in enumerate(material.shots) if shot.source not in used]
    fill = material.subset(rest)
    whole = [Shot(a.source, 0.0, a.duration, a.shots[0].fps) for a in videos]
    no_chroma = [np.zeros((len(c), 12), np.float32) for c in takes]
    combined = Material(fill.shots + whole, fill.curves + takes,
                        None if fill.chroma is None else fill.chroma + no_chroma,
                        None if fill.sound is None else fill.sound + takes,
                        None if fill.visual is None else fill.visual + [_file_curve(a, field="visual") for a in videos],
                        None if fill.quiet is None else np.concatenate([fill.quiet, np.zeros(len(takes))]))
    placements = []
    for i, a, b in runs:
        end_time = duration if b == t else b / fr
        start_time = 0.0 if a == 0 else a / fr
        placements.append(Placement(len(rest) + i, a + int(alignment.lag[i]), a, b - a, float(alignment.r[i]),
                                    start_time, end_time))
    log.info("takes: %d of %d sources line up with the song, covering %.1f of %.1f s", len(used), len(videos),
             sum(p.end_time - p.start_time for p in placements), duration)
    for g0, g1 in _gaps(placements, t):
        if not rest:
            raise SearchError(f"no take covers song time {g0 / fr:.1f}-{g1 / fr:.1f} s and there are no other "
                              "shots to fill it: add footage, or use match.mode=sequential")
        g_start, g_end = (0.0 if g0 == 0 else g0 / fr), (duration if g1 == t else g1 / fr)
        part = place_shots(song_curve[g0:g1], None if song_chroma is None else song_chroma[g0:g1], g_end - g_start,
                            fill, replace(config, search=replace(config.search, mode="sequential")), fr=fr,
                            device=device, progress=None, edge_frames=edge_frames)
        placements += [replace(p, start=p.start + g0, start_time=p.start_time + g_start,
                               end_time=p.end_time + g_start) for p in part]
    return sorted(placements, key=lambda p: p.start), combined


def _file_curve(analysis: FileAnalysis, *, field: str = "novelty") -> np.ndarray:
    """The whole file's ``field`` curve (``novelty`` or ``visual`` [frames], ``chroma``
    [frames, 12]), its shots' laid at their start frames (zeros where it has none)."""
    fr = analysis.frame_rate
    frames = max(1, math.ceil(analysis.duration * fr))
    chroma = field == "chroma"
    out = np.zeros((frames, 12) if chroma else frames, dtype=np.float32)
    curves = getattr(analysis, field)
    if curves is None:
        return out
    for shot, curve in zip(analysis.shots, curves, strict=True):
        at = round(shot.start * fr)
        piece = curve[: max(0, len(out) - at)]
        out[at : at + len(piece)] = piece
    return out


def _gaps(placements: Sequence[Placement], t: int) -> list[tuple[int, int]]:
    """Song frame ranges [a, b) no placement covers."""
    gaps, edge = [], 0
    for p in sorted(placements, key=lambda p: p.start):
        if p.start > edge:
            gaps.append((edge, p.start))
        edge = max(edge, p.end)
    if edge < t:
        gaps.append((edge, t))
    return gaps


def shot_speeds(curves: Sequence[torch.Tensor], song: SongCurve, frame_rate: float, config: MatchConfig,
                edge_frames: int = 0, *, quiet: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The sets of speeds each shot may be searched at, each [shape=(S, R)]: 1 alone when the
    speed range is 1..1 or no shot pays for retiming; else the SPEEDS_PER_SHOT speeds of the
    grid around the one at which the shot fits the song best
    (:func:`~videothat.match.correlate.best_speeds`), and the same with 1 among them
    (:func:`with_recorded_speed`). A shot keeps its tempo along its segment, so the search
    weighs a few speeds per shot, not all; the estimate can be fooled by a repeat (then the
    recorded speed is right) and speed 1 can fool the search (then it is wrong), so both sets
    are searched and the objective picks (see :func:`place_shots`).

    Retiming must pay: a shot whose best fit (a correlation) is under ``match.speed_fit``, or
    beats its best at speed 1 by less than ``match.speed_margin``, has 1 in every column (the
    search leaves the repeats out). Over many speeds some fit of unrelated footage beats
    speed 1 by chance, but seldom fits well; a shot recorded at another tempo fits well at its
    speed and drifts off the song within a second at speed 1.

    Finding the best speed scores every shot at every 6th speed of the grid, then at the 7
    around its best, at every offset; past PREPASS_ROWS (shot, speed) rows only the range's
    ends and 1 are tried, so large archives get coarse speeds in bounded time."""
    knobs = config.search
    grid = speed_grid(knobs.speed_min, knobs.speed_max, knobs.speed_step)
    recorded_only = [torch.ones(len(curves), 1, dtype=torch.float64)]
    if len(grid) == 1:
        return recorded_only
    coarse = SPEED_COARSE
    if len(curves) * (len(grid) // coarse + 2 + coarse) > PREPASS_ROWS:  # rows the coarse-to-fine search scores
        log.info("speeds: %d shots, only %.2f, 1 and %.2f tried (at most %d shot x speed rows)", len(curves),
                 grid[0], grid[-1], PREPASS_ROWS)
        grid, coarse = [grid[0], 1.0, grid[-1]], 1
    max_f = max(1, round(knobs.max_length * frame_rate))
    min_f = max(1, round(knobs.min_length * frame_rate))
    fit = best_speeds(curves, grid, song, frame_rate=frame_rate, config=config.score, max_frames=max_f,
                      min_frames=min_f, edge_frames=edge_frames, coarse=coarse, quiet=quiet)
    pays = (fit.gain >= knobs.speed_margin) & (fit.fit >= knobs.speed_fit)
    log.info("speeds: %d of %d shots fit the song at another speed (correlation >= %.2f) better by %.2f or more",
             int(pays.sum()), len(curves), knobs.speed_fit, knobs.speed_margin)
    if not bool(pays.any()):
        return recorded_only
    estimate = speed_window(grid, fit.best, SPEEDS_PER_SHOT)
    recorded = with_recorded_speed(speed_window(grid, fit.best, SPEEDS_PER_SHOT + 1))
    estimate[~pays], recorded[~pays] = 1.0, 1.0
    return [estimate] if torch.equal(estimate, recorded) else [estimate, recorded]


def repeated_speeds(speeds: torch.Tensor) -> torch.Tensor:
    """Which bank rows repeat a speed of their shot already in the bank ([shape=(S, R)]
    ascending speeds -> [shape=(S * R,)] bool): the search leaves them out."""
    repeat = torch.zeros_like(speeds, dtype=torch.bool)
    repeat[:, 1:] = speeds[:, 1:] == speeds[:, :-1]
    return repeat.flatten()


def with_recorded_speed(speeds: torch.Tensor) -> torch.Tensor:
    """Each shot's speeds [shape=(S, R)] (ascending, around its best at index R // 2 or so)
    with 1 among them: rows without it give up their speed farthest from 1 (so the best
    stays). Playing a shot as it was recorded stays an option whatever the estimate says:
    in music whose rhythm repeats, another speed at another place can fit a shot better by
    chance than its own speed at its own place."""
    has_one = (speeds - 1.0).abs().lt(1e-12).any(dim=1)
    out = speeds.clone()
    rows = (~has_one).nonzero()[:, 0]
    far = torch.where(out[rows, 0] > 1.0, out.shape[1] - 1, 0)  # all faster: the fastest goes; all slower: the slowest
    out[rows, far] = 1.0
    return out.sort(dim=1).values


def _source_placement(p: Placement, speeds: torch.Tensor) -> Placement:
    """A placement of bank row ``shot * R + r`` as one of source shot ``shot`` at
    ``speeds[shot, r]`` ([shape=(S, R)]), its in-point in the shot's own curve frames (nearest frame)."""
    shot, r = divmod(p.shot, speeds.shape[1])
    speed = float(speeds[shot, r])
    return replace(p, shot=shot, in_frame=round(p.in_frame * speed), speed=speed)


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
