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


def make_mosaic(target: str | Path, videos: Iterable[str | Path], configs: Configs, mosaic: MosaicConfig, run: Run,
                *, output: Path) -> Mosaic:
    """Rebuild ``target``'s sound from ``videos`` (module doc) and render ``output``."""
    import torch

    from videothat.audio.units import unit_descriptors
    from videothat.match.units import best_units, run_lengths
    from videothat.media.render import AUDIO_RATE, output_frame_count, render

    target = Path(target)
    sound = decode_audio(target, SR)
    if sound.size == 0 or float(np.abs(sound).max()) < SILENT_PEAK:
        raise MosaicError(f"{target}: the target is silent; there is nothing to rebuild")
    sources, failures = _usable_sources(videos)
    if not sources:
        reasons = "; ".join(f.message for f in failures[:3]) or "no video was given"
        raise MosaicError(f"no usable videos for a mosaic: it needs videos with pictures and sound ({reasons})")
    device = run.device
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
    distance, ids = _nearest(wanted.cpu().numpy(), base.cpu().numpy(), min(mosaic.k, base.shape[0]))
    cost = torch.from_numpy(distance).to(device)
    ids_t = torch.from_numpy(ids).to(device)
    jump = mosaic.continuity * float(np.median(distance))
    picks, _ = best_units(cost, owner.to(device)[ids_t], position.to(device)[ids_t], continuity=jump)
    chosen = ids[np.arange(len(ids)), picks.cpu().numpy()]
    files, units = owner.numpy()[chosen], position.numpy()[chosen]
    timeline = _timeline(target, sound.size / SR, files, units, distance[np.arange(len(ids)), picks.cpu().numpy()],
                         [p for p, _ in sources], mosaic.unit_rate)
    rendering = configs.render
    run.progress.start("render", output_frame_count(timeline.duration, rendering.fps), "frame")
    try:
        render(timeline, output, rendering, song_audio=decode_audio(target, AUDIO_RATE), song_rate=AUDIO_RATE,
               on_frames=lambda k: run.progress.advance("render", k))
    finally:
        run.progress.finish("render")
    json_path, otio_path = write_timeline(timeline, output.with_suffix(""), rate=rendering.fps)
    runs = run_lengths(torch.from_numpy(files), torch.from_numpy(units)).numpy()
    return Mosaic(output, json_path, otio_path, timeline, runs,
                  float(distance[np.arange(len(ids)), picks.cpu().numpy()].mean()), failures)


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


def _nearest(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Euclidean distances, indices) [shape=(Q, k)] of each query's ``k`` nearest rows of
    ``base``, nearest first: an exact FAISS search (``IndexFlatL2``)."""
    import faiss

    index = faiss.IndexFlatL2(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    squared, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return np.sqrt(np.maximum(squared, 0.0)), ids


def _timeline(target: Path, duration: float, files: np.ndarray, units: np.ndarray, costs: np.ndarray,
              paths: list[Path], unit_rate: float) -> Timeline:
    """Runs of consecutive units of one source as segments, tiling [0, duration]."""
    if files.size == 0:
        raise ParameterError("no units were chosen")
    breaks = np.ones(files.size, dtype=bool)
    breaks[1:] = (files[1:] != files[:-1]) | (units[1:] != units[:-1] + 1)
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], files.size)
    cuts = []
    for a, b in zip(starts, ends, strict=True):
        song_start, song_end = a / unit_rate, duration if b == files.size else b / unit_rate
        source_start = units[a] / unit_rate
        cuts.append(Cut(paths[files[a]], source_start, source_start + (song_end - song_start), song_start, song_end,
                        -float(costs[a:b].mean())))
    return Timeline(target, duration, cuts).validate()
