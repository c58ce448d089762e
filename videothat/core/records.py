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
class FileAnalysis:
    """Everything the matcher needs of one source file.

    ``shots[i]`` has the novelty curve ``novelty[i]`` [shape=(frames_i,)] float32 at
    ``frame_rate`` frames per second, frame 0 at ``shots[i].start``, and (when analysed
    with ``audio.chroma``) the chroma ``chroma[i]`` [shape=(frames_i, 12)] float32.
    """

    source: Path
    content_hash: str
    duration: float  # s, of the audio
    has_video: bool
    shots: list[Shot]
    novelty: list[np.ndarray]
    frame_rate: float
    chroma: list[np.ndarray] | None = None
