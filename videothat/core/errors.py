"""Exception hierarchy.

Every error VideoThat raises on purpose derives from :class:`VideoThatError`. Messages
name the offending file or value, say what is wrong and, where possible, what to do.
The CLI prints them as one line and exits non-zero; library code never calls ``sys.exit``.
"""

from __future__ import annotations

from pathlib import Path


class VideoThatError(Exception):
    """Base class of all deliberate VideoThat errors."""


class ParameterError(VideoThatError, ValueError):
    """A parameter (config value, argument) is out of its allowed range."""


class MediaError(VideoThatError):
    """A media file cannot be used. ``path`` names it; the message says why."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MediaNotFoundError(MediaError):
    """The path does not exist or is not a regular file."""


class CorruptMediaError(MediaError):
    """The file exists but cannot be decoded (corrupt, truncated, empty, not media)."""


class NoAudioError(MediaError):
    """The file has no audio stream, or its audio is silent."""


class NoVideoError(MediaError):
    """The file has no video stream where one is needed."""


class CacheError(VideoThatError):
    """A cache entry or index on disk is unreadable or of a different format version."""


class BusyError(VideoThatError):
    """Another process is writing what this one would write (an index); try again later."""
