"""Shot boundaries: detectors registered by name behind one small ABC.

A shot is a stretch of one source between two cuts. ``content`` and ``adaptive`` are
PySceneDetect's ContentDetector and AdaptiveDetector (a video without cuts is one shot);
``whole`` makes the file one shot spanning its audio (songs, and files without pictures).
Add a detector by subclassing :class:`ShotDetector` under ``@DETECTORS.register("name")``;
:class:`ShotConfig` (here, beside the registry it checks names against) holds its parameters.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from videothat.core.configs import Bounds, check_fields
from videothat.core.errors import CorruptMediaError, ParameterError
from videothat.core.records import Shot
from videothat.core.registry import Registry
from videothat.media.discover import check_file

if TYPE_CHECKING:
    import scenedetect

log = logging.getLogger(__name__)


class ShotDetector(ABC):
    """Cuts one file into shots."""

    needs_pictures: bool = True  # False: works on files without a video stream too

    @abstractmethod
    def detect(self, path: Path, config: ShotConfig, *, duration: float) -> list[Shot]:
        """Shots of ``path`` in time order; ``duration`` is the file's audio length (s)."""


DETECTORS: Registry[type[ShotDetector]] = Registry("shot detector")


@dataclass(frozen=True, kw_only=True)
class ShotConfig:
    """Shot detection parameters (units in field comments)."""

    detector: str = "content"  # content | adaptive | whole (one shot per file, as for songs)
    threshold: float = 27.0  # content: HSV change (0-255) that cuts; adaptive: ratio to neighbours
    min_length: float = 0.5  # s, shortest shot; a cut closer than this to the last is ignored
    min_content_val: float = 15.0  # adaptive only: minimum HSV change for a cut
    window_width: int = 2  # adaptive only: frames either side of the rolling average

    BOUNDS: ClassVar[Bounds] = {"threshold": (1e-3, 255.0), "min_length": (0.0, 3600.0),
                                "min_content_val": (0.0, 255.0), "window_width": (1, 100)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.detector not in DETECTORS:
            raise ParameterError(f"detector={self.detector!r} must be one of {', '.join(DETECTORS.names)}")

    def as_dict(self) -> dict[str, object]:
        """The parameters that change the shots (``whole`` has none beside its name)."""
        return {"detector": "whole"} if self.detector == "whole" else asdict(self)


class _SceneDetect(ShotDetector):
    """A PySceneDetect detector run over the video with the PyAV backend."""

    def make(self, config: ShotConfig, fps: float) -> scenedetect.SceneDetector:
        raise NotImplementedError

    def detect(self, path: Path, config: ShotConfig, *, duration: float) -> list[Shot]:
        import scenedetect

        logging.getLogger("pyscenedetect").setLevel(logging.WARNING)  # it logs INFO per video
        path = check_file(path)
        try:
            # suppress_output: leave FFmpeg's log as the application set it (PySceneDetect would
            # restore FFmpeg's own printer, and every later encode would print its statistics)
            video = scenedetect.open_video(str(path), backend="pyav", suppress_output=True)
        except Exception as exc:  # PySceneDetect wraps backend errors in several types
            raise CorruptMediaError(path, f"cannot open the video stream ({exc})") from exc
        fps = float(video.frame_rate)
        manager = scenedetect.SceneManager()
        manager.add_detector(self.make(config, fps))
        try:
            manager.detect_scenes(video=video)
        except Exception as exc:
            raise CorruptMediaError(path, f"video decoding failed during shot detection ({exc})") from exc
        scenes = manager.get_scene_list(start_in_scene=True)
        if not scenes:
            raise CorruptMediaError(path, "video stream has no decodable frames")
        return [Shot(path, s.seconds, e.seconds, fps) for s, e in scenes]


def _min_frames(config: ShotConfig, fps: float) -> int:
    return max(1, math.ceil(config.min_length * fps))


@DETECTORS.register("content")
class ContentShots(_SceneDetect):
    """A cut where consecutive frames differ in HSV content by more than ``threshold``."""

    def make(self, config: ShotConfig, fps: float) -> scenedetect.SceneDetector:
        from scenedetect.detectors import ContentDetector

        return ContentDetector(threshold=config.threshold, min_scene_len=_min_frames(config, fps))


@DETECTORS.register("adaptive")
class AdaptiveShots(_SceneDetect):
    """A cut where a frame's change stands out from its neighbours' rolling average."""

    def make(self, config: ShotConfig, fps: float) -> scenedetect.SceneDetector:
        from scenedetect.detectors import AdaptiveDetector

        return AdaptiveDetector(adaptive_threshold=config.threshold, min_scene_len=_min_frames(config, fps),
                                min_content_val=config.min_content_val, window_width=config.window_width)


@DETECTORS.register("whole")
class WholeFile(ShotDetector):
    """The whole file as one shot of its audio's length (a song, even one with pictures)."""

    needs_pictures = False

    def detect(self, path: Path, config: ShotConfig, *, duration: float) -> list[Shot]:
        return [Shot(Path(path), 0.0, float(duration), 0.0)]


def detect_shots(path: str | Path, config: ShotConfig, *, duration: float | None = None) -> list[Shot]:
    """Cut a file into shots with ``config.detector``.

    Returns shots in time order that tile the video from its first to its last frame
    (``whole``: ``[0, duration]``).

    Raises
    ------
    MediaNotFoundError, CorruptMediaError : the video cannot be opened or decoded.
    """
    detector = DETECTORS.get(config.detector)()
    if duration is None and not detector.needs_pictures:
        raise ValueError(f"the {config.detector} detector needs the file's duration")
    return detector.detect(Path(path), config, duration=duration or 0.0)
