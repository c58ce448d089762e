"""Shot boundaries: detectors registered by name behind one small ABC.

A shot is a stretch of one source between two cuts. ``content`` and ``adaptive`` are
PySceneDetect's ContentDetector and AdaptiveDetector (a video without cuts is one shot);
``whole`` makes the file one shot spanning its audio (songs, and files without pictures).
Add a detector by subclassing :class:`ShotDetector` under ``@DETECTORS.register("name")``.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.core.errors import CorruptMediaError
from videothat.core.records import Shot
from videothat.core.registry import Registry
from videothat.media.discover import check_file

if TYPE_CHECKING:
    import scenedetect

    from videothat.media.config import ShotConfig

log = logging.getLogger(__name__)


class ShotDetector(ABC):
    """Cuts one file into shots."""

    needs_pictures: bool = True  # False: works on files without a video stream too

    @abstractmethod
    def detect(self, path: Path, config: ShotConfig, *, duration: float) -> list[Shot]:
        """Shots of ``path`` in time order; ``duration`` is the file's audio length (s)."""


DETECTORS: Registry[type[ShotDetector]] = Registry("shot detector")


class _SceneDetect(ShotDetector):
    """A PySceneDetect detector run over the video with the PyAV backend."""

    def make(self, config: ShotConfig, fps: float) -> scenedetect.SceneDetector:
        raise NotImplementedError

    def detect(self, path: Path, config: ShotConfig, *, duration: float) -> list[Shot]:
        import scenedetect

        logging.getLogger("pyscenedetect").setLevel(logging.WARNING)  # it logs INFO per video
        path = check_file(path)
        try:
            video = scenedetect.open_video(str(path), backend="pyav")
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
