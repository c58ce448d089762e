"""The records that cross package boundaries: a shot, and one file's analysis."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Shot:
    """One shot of ``source``: ``start``/``end`` in seconds, ``fps`` of the source (0 if audio only)."""

    source: Path
    start: float
    end: float
    fps: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ShotLooks:
    """How each shot of a file looks, [shape=(S,)] each (``signature`` [shape=(S, 64)] bool):
    median ``brightness`` (mean luma in [0, 1]), median ``sharpness`` (variance of the luma's
    Laplacian, grey levels^2 at the analysis height), mean ``motion`` (flow magnitude, pixels
    per frame at the analysis height) and the perceptual hash of its middle frame."""

    brightness: np.ndarray
    sharpness: np.ndarray
    motion: np.ndarray
    signature: np.ndarray


@dataclass(frozen=True)
class FileAnalysis:
    """Everything the matcher needs of one source file.

    ``shots[i]`` has the novelty curve ``novelty[i]`` [shape=(frames_i,)] float32 at
    ``frame_rate`` frames per second, frame 0 at ``shots[i].start``, and (when analysed
    with ``audio.chroma``) the chroma ``chroma[i]`` [shape=(frames_i, 12)] float32.

    A video whose sound is missing or silent has ``audio_problem`` set (why) and all-zero
    novelty curves: usable by its pictures alone. ``visual[i]`` (when pictures were analysed)
    is the shot's visual impact curve on the same frames as ``novelty[i]``.
    """

    source: Path
    content_hash: str
    duration: float  # s, of the audio
    has_video: bool
    shots: list[Shot]
    novelty: list[np.ndarray]
    frame_rate: float
    chroma: list[np.ndarray] | None = None
    audio_problem: str | None = None  # why the sound is unusable (no audio stream, silent), else None
    visual: list[np.ndarray] | None = None  # per shot, [shape=(frames_i,)] float32 visual impacts
    looks: ShotLooks | None = None  # per shot brightness, sharpness, motion, signature (pictures analysed)

    @property
    def has_audio(self) -> bool:
        return self.audio_problem is None
