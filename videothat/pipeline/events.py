"""A video's picture events, through the cache: its shots (cuts) and motion impacts on the
frames of an analysis's novelty curves, as one curve (:mod:`videothat.vision.events`), and
the video analysed whole as a "song" whose curve is those events (for the jobs that find
sound for pictures)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from videothat.analysis import AnalysisConfig
from videothat.core.errors import NoVideoError, VideoThatError
from videothat.core.records import FileAnalysis, Shot
from videothat.media.probe import probe
from videothat.pipeline.run import Run, analyze_files
from videothat.vision.config import EventConfig, MotionConfig


@dataclass(frozen=True)
class PictureEvents:
    """What a viewer sees as beats in a video, on the frames of an analysis's novelty."""

    path: Path
    duration: float  # s of pictures
    frame_rate: float  # frames per second of ``curve``
    curve: np.ndarray  # [shape=(T,)] float32 event curve: impacts (0..1) plus cuts
    cuts: np.ndarray  # [shape=(C,)] s, the cuts between the video's shots
    impacts: np.ndarray  # [shape=(I,)] s, the motion impacts a viewer notices (vision.events.impact_frames)
    analysis: FileAnalysis  # the video analysed (shots, their sound's novelty, their impacts)

    def as_song(self) -> FileAnalysis:
        """The video as one whole "song" whose novelty is its event curve (the matcher's
        target when sound is placed on pictures)."""
        a = self.analysis
        return FileAnalysis(a.source, a.content_hash, self.duration, True, [Shot(a.source, 0.0, self.duration, 0.0)],
                            [self.curve], self.frame_rate)

    @property
    def events(self) -> np.ndarray:
        """Times (s) of the visual events, cuts and impacts, sorted (an impact within a frame
        of a cut is that cut)."""
        near = np.abs(self.impacts[:, None] - self.cuts[None, :]).min(axis=1, initial=np.inf) < 1.5 / self.frame_rate
        return np.sort(np.concatenate([self.cuts, self.impacts[~near]]))


def picture_events(video: str | Path, analysis: AnalysisConfig, motion: MotionConfig | None, events: EventConfig,
                   run: Run) -> PictureEvents:
    """Analyse ``video`` (shots, sound if any, motion; cached) and lay its events on the
    novelty frames of ``analysis``.

    Raises
    ------
    NoVideoError : the file has no pictures.
    VideoThatError : it cannot be analysed (the message names it and why).
    """
    from videothat.vision.events import event_curve, impact_frames

    video = Path(video)
    info = probe(video)
    if info.video is None:
        raise NoVideoError(video, "has no video stream: this job needs pictures")
    report = analyze_files([video], replace(analysis, motion=motion or MotionConfig()), run, progress=False,
                           note_pictures_only=False)  # a video without sound is what this job expects
    if report.failures:
        raise VideoThatError(f"video {report.failures[0].message}")
    a = report.analyses[0]
    fr = a.frame_rate
    duration = info.video.duration or a.duration
    n = max(1, math.ceil(duration * fr - 1e-9))
    impacts = laid_out(a, a.visual, n)
    cuts = np.array([s.start for s in a.shots[1:]], np.float64)
    curve = event_curve(impacts, np.round(cuts * fr).astype(np.int64), frame_rate=fr, cut_weight=events.cut_weight)
    return PictureEvents(video, duration, fr, curve, cuts, impact_frames(impacts, frame_rate=fr) / fr, a)


def laid_out(a: FileAnalysis, curves: list[np.ndarray] | None, n: int) -> np.ndarray:
    """Per-shot curves of analysis ``a`` (its ``novelty`` or ``visual``, on its frames; None:
    none) laid on one whole-file curve of ``n`` frames, each from its shot's start."""
    from videothat.vision.events import placed

    if not curves:
        return np.zeros(n, np.float32)
    return placed(list(curves), np.round(np.array([s.start for s in a.shots]) * a.frame_rate).astype(np.int64), n)
