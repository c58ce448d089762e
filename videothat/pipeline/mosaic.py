"""Mosaic mode: rebuild a target sound from short units of the videos' own sound, and show
the frames those units come from (concatenative synthesis).

Every ``1 / mosaic.unit_rate`` s of the target and of each video's sound is a unit
(:mod:`videothat.audio.units`: loudness-normalised log-mel spectra, batched on the device).
A FAISS index of the source units gives each target unit its ``mosaic.k`` nearest; a Viterbi
pass (:func:`videothat.match.units.best_units`) picks one per target unit, a jump costing
``mosaic.continuity`` median candidate distances, so the result plays runs of consecutive
frames. Runs become the segments of a timeline, rendered with the target as the sound
track like ``make``'s (mp4, ``.timeline.json``, ``.otio``; every output atomic).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videothat.analysis import Failure
from videothat.core.errors import MediaError, NoAudioError, NoVideoError, ParameterError, VideoThatError
from videothat.core.timeline import Cut, Timeline
from videothat.match.config import MosaicConfig
from videothat.media.audio import decode_audio
from videothat.media.discover import find_media
from videothat.media.probe import probe
from videothat.pipeline.make import write_timeline
from videothat.pipeline.run import Configs, Run

if TYPE_CHECKING:
    from torch import Tensor

SR = 22050  # Hz the sounds are described at
SILENT_PEAK = 1e-4  # a target whose samples all stay under this (full scale 1) is silent


class MosaicError(VideoThatError):
    """No mosaic can be made (a silent target, no usable source units)."""


@dataclass
class Mosaic:
    """What :func:`make_mosaic` made: the files, the timeline and how it was put together."""

    video: Path
    timeline_json: Path
    otio: Path
    timeline: Timeline
    runs: np.ndarray  # [shape=(R,)] units per run of consecutive source units
    distance: float  # mean descriptor distance of the chosen units to the target's
    failures: list[Failure] = field(default_factory=list)


@dataclass
class MosaicPlan:
    """The chosen units as a timeline (before rendering) and how it was put together."""

    timeline: Timeline
    runs: np.ndarray  # [shape=(R,)] units per run of consecutive source units
    distance: float  # mean descriptor distance of the chosen units to the target's
    failures: list[Failure] = field(default_factory=list)


def plan_mosaic(target: str | Path, videos: Iterable[str | Path], mosaic: MosaicConfig, *,
                device: str = "cpu") -> MosaicPlan:
    """Choose a source unit for every target unit (module doc); nothing is written.

    Raises
    ------
    MosaicError : the target is silent or shorter than a unit; no video has pictures and sound.
    """
    import torch

    from videothat.audio.units import unit_descriptors
    from videothat.match.units import best_units, run_lengths

    target = Path(target)
    sound = decode_audio(target, SR)
    if sound.size == 0 or float(np.abs(sound).max()) < SILENT_PEAK:
        raise MosaicError(f"{target}: the target is silent; there is nothing to rebuild")
    sources, failures = _usable_sources(videos)
    if not sources:
        reasons = "; ".join(f.message for f in failures[:3]) or "no video was given"
        raise MosaicError(f"no usable videos for a mosaic: it needs videos with pictures and sound ({reasons})")
    described = unit_descriptors([torch.from_numpy(sound)] + [torch.from_numpy(a) for _, a in sources],
                                 sample_rate=SR, unit_rate=mosaic.unit_rate, n_mels=mosaic.n_mels, device=device)
    wanted = described[0][0]
    if wanted.shape[0] == 0:
        raise MosaicError(f"{target}: shorter than one unit ({1 / mosaic.unit_rate:.3f} s)")
    base = torch.cat([shape for shape, _ in described[1:]])
    if base.shape[0] == 0:
        raise MosaicError("the videos' sound is shorter than one unit each: no source units")
    owner = torch.cat([torch.full((shape.shape[0],), i, dtype=torch.int64) for i, (shape, _) in
                       enumerate(described[1:])])
    position = torch.cat([torch.arange(shape.shape[0]) for shape, _ in described[1:]])
    nearest, near_ids = _nearest(wanted.cpu().numpy(), base.cpu().numpy(), min(mosaic.k, base.shape[0]))
    ids, distance = _with_continuations(torch.from_numpy(near_ids).to(device), wanted, base.to(device),
                                        owner.to(device), mosaic.follow)
    jump = mosaic.continuity * float(np.median(nearest))
    picks, _ = best_units(distance, owner.to(device)[ids.clamp(min=0)], position.to(device)[ids.clamp(min=0)],
                          continuity=jump)
    ids, distance = ids.cpu().numpy(), distance.cpu().numpy()
    rows, picks = np.arange(len(ids)), picks.cpu().numpy()
    chosen, costs = ids[rows, picks], distance[rows, picks]
    files, units = owner.numpy()[chosen], position.numpy()[chosen]
    runs = run_lengths(torch.from_numpy(files), torch.from_numpy(units)).numpy()
    timeline = _timeline(target, sound.size / SR, files, units, costs, runs, [p for p, _ in sources],
                         mosaic.unit_rate)
    return MosaicPlan(timeline, runs, float(costs.mean()), failures)


def make_mosaic(target: str | Path, videos: Iterable[str | Path], configs: Configs, mosaic: MosaicConfig, run: Run,
                *, output: Path) -> Mosaic:
    """Plan the mosaic (:func:`plan_mosaic`) and render ``output`` with the target as its
    sound, ``.timeline.json`` and ``.otio`` beside it."""
    from videothat.media.render import AUDIO_RATE, output_frame_count, render

    plan = plan_mosaic(target, videos, mosaic, device=run.device)
    rendering = configs.render
    run.progress.start("render", output_frame_count(plan.timeline.duration, rendering.fps), "frame")
    try:
        render(plan.timeline, output, rendering, song_audio=decode_audio(target, AUDIO_RATE), song_rate=AUDIO_RATE,
               on_frames=lambda k: run.progress.advance("render", k))
    finally:
        run.progress.finish("render")
    json_path, otio_path = write_timeline(plan.timeline, output.with_suffix(""), rate=rendering.fps)
    return Mosaic(output, json_path, otio_path, plan.timeline, plan.runs, plan.distance, plan.failures)


def _usable_sources(videos: Iterable[str | Path]) -> tuple[list[tuple[Path, np.ndarray]], list[Failure]]:
    """(path, its sound at SR) of each video with pictures and sound; the rest as failures."""
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
            usable.append((path, decode_audio(path, SR)))
        except MediaError as exc:
            failures.append(Failure(path, str(exc)))
    return usable, failures


def _with_continuations(ids: Tensor, wanted: Tensor, base: Tensor, owner: Tensor, follow: int
                        ) -> tuple[Tensor, Tensor]:
    """Each target unit's candidates: its k nearest source units and, for each of the
    ``follow`` target units before it, the units that continue their k nearest to here
    (nearest of t - l, plus l, in the same source), so a run can go on past the units a
    nearest-neighbour search returns. Returns (ids [shape=(T, k * (1 + follow))] int64,
    -1 where none; distances of the same shape, inf there)."""
    import torch

    t_units, k = ids.shape
    lags = torch.arange(0, min(follow, t_units - 1) + 1, device=ids.device)
    earlier = torch.arange(t_units, device=ids.device)[:, None] - lags[None, :]  # [T, L]
    start = ids[earlier.clamp(min=0)]  # [T, L, k]: the nearest of t - l
    later = start + lags[None, :, None]
    ok = (earlier >= 0)[..., None] & (later < base.shape[0])
    ok &= owner[later.clamp(max=base.shape[0] - 1)] == owner[start]  # still inside the same source
    cand = torch.where(ok, later, -1).reshape(t_units, -1)
    diff = wanted[:, None, :] - base[cand.clamp(min=0)]
    dist = torch.where(cand >= 0, diff.norm(dim=-1), torch.inf)
    return cand, dist


def _nearest(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Euclidean distances, indices) [shape=(Q, k)] of each query's ``k`` nearest rows of
    ``base``, nearest first: an exact FAISS search (``IndexFlatL2``)."""
    import faiss

    index = faiss.IndexFlatL2(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    squared, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return np.sqrt(np.maximum(squared, 0.0)), ids


def _timeline(target: Path, duration: float, files: np.ndarray, units: np.ndarray, costs: np.ndarray,
              runs: np.ndarray, paths: list[Path], unit_rate: float) -> Timeline:
    """The ``runs`` (units each, :func:`~videothat.match.units.run_lengths` of the chosen
    ``files`` and ``units``) as segments, tiling [0, duration]."""
    if files.size == 0:
        raise ParameterError("no units were chosen")
    ends = np.cumsum(runs)
    starts = ends - runs
    cuts = []
    for a, b in zip(starts, ends, strict=True):
        song_start, song_end = a / unit_rate, duration if b == files.size else b / unit_rate
        source_start = units[a] / unit_rate
        cuts.append(Cut(paths[files[a]], source_start, source_start + (song_end - song_start), song_start, song_end,
                        -float(costs[a:b].mean())))
    return Timeline(target, duration, cuts).validate()
