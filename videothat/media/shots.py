"""Shot boundaries with PySceneDetect.

A shot is a stretch of one source between two cuts. Detectors are PySceneDetect's,
chosen by name (``content`` = ContentDetector, ``adaptive`` = AdaptiveDetector); a
video without cuts is one shot, and a file without a video stream (a song) is one shot
spanning its audio.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.errors import CorruptMediaError, ParameterError
from videothat.media.discover import check_file

if TYPE_CHECKING:
    import scenedetect

log = logging.getLogger(__name__)

DETECTORS = ("content", "adaptive")


@dataclass(frozen=True, kw_only=True)
class ShotConfig:
    """Shot detection parameters (units in field comments)."""

    detector: str = "content"  # content | adaptive
    threshold: float = 27.0  # content: HSV change (0-255) that cuts; adaptive: ratio to neighbours
    min_length: float = 0.5  # s, shortest shot; a cut closer than this to the last is ignored
    min_content_val: float = 15.0  # adaptive only: minimum HSV change for a cut
    window_width: int = 2  # adaptive only: frames either side of the rolling average

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ParameterError(f"detector={self.detector!r} must be one of {DETECTORS}")
        if not self.threshold > 0:
            raise ParameterError(f"threshold={self.threshold} must be positive")
        if not self.min_length >= 0:
            raise ParameterError(f"min_length={self.min_length} s must be >= 0")
        if self.window_width < 1:
            raise ParameterError(f"window_width={self.window_width} must be >= 1")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


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


def make_detector(config: ShotConfig, fps: float) -> scenedetect.SceneDetector:
    """The PySceneDetect detector for ``config`` at a video's frame rate."""
    from scenedetect.detectors import AdaptiveDetector, ContentDetector

    min_frames = max(1, math.ceil(config.min_length * fps))
    if config.detector == "content":
        return ContentDetector(threshold=config.threshold, min_scene_len=min_frames)
    return AdaptiveDetector(
        adaptive_threshold=config.threshold,
        min_scene_len=min_frames,
        min_content_val=config.min_content_val,
        window_width=config.window_width,
    )


def detect_shots(path: str | Path, config: ShotConfig) -> list[Shot]:
    """Cut a video into shots.

    Returns shots in time order that tile the video from its first to its last frame.

    Raises
    ------
    MediaNotFoundError, CorruptMediaError : the video cannot be opened or decoded.
    """
    import scenedetect

    logging.getLogger("pyscenedetect").setLevel(logging.WARNING)  # it logs INFO per video
    path = check_file(path)
    try:
        video = scenedetect.open_video(str(path), backend="pyav")
    except Exception as exc:  # PySceneDetect wraps backend errors in several types
        raise CorruptMediaError(path, f"cannot open the video stream ({exc})") from exc
    fps = float(video.frame_rate)
    manager = scenedetect.SceneManager()
    manager.add_detector(make_detector(config, fps))
    try:
        manager.detect_scenes(video=video)
    except Exception as exc:
        raise CorruptMediaError(path, f"video decoding failed during shot detection ({exc})") from exc
    scenes = manager.get_scene_list(start_in_scene=True)
    if not scenes:
        raise CorruptMediaError(path, "video stream has no decodable frames")
    return [Shot(path, s.seconds, e.seconds, fps) for s, e in scenes]


def whole_file_shot(path: str | Path, duration: float) -> list[Shot]:
    """A file without pictures (a song) as one shot of ``duration`` seconds."""
    return [Shot(Path(path), 0.0, float(duration), 0.0)]
