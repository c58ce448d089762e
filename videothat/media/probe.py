"""What a media file holds: its streams, duration and rates, with clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av

from videothat.core.errors import CorruptMediaError
from videothat.media.discover import check_file


@dataclass(frozen=True)
class AudioStreamInfo:
    """The first audio stream: ``sample_rate`` Hz, ``duration`` s (None if unknown)."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    duration: float | None


@dataclass(frozen=True)
class VideoStreamInfo:
    """The first video stream: size in pixels, ``fps`` frames/s, ``duration`` s."""

    index: int
    codec: str
    width: int
    height: int
    fps: float
    n_frames: int
    duration: float | None


@dataclass(frozen=True)
class MediaInfo:
    """A media file's streams. ``duration`` in seconds (longest known stream)."""

    path: Path
    size_bytes: int
    duration: float
    audio: AudioStreamInfo | None
    video: VideoStreamInfo | None


@contextmanager
def open_container(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open ``path`` for reading with PyAV; errors become :class:`MediaError`s."""
    path = check_file(path)
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(path, f"cannot be read as media ({_reason(exc)})") from exc
    try:
        yield container
    finally:
        container.close()


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _seconds(stream: av.stream.Stream) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def probe(path: str | Path) -> MediaInfo:
    """Describe a media file's first audio and video streams.

    Raises
    ------
    MediaNotFoundError : the path is missing or not a file.
    CorruptMediaError : empty, unreadable, or without any audio or video stream.
    """
    with open_container(path) as container:
        audio = _audio_info(container)
        video = _video_info(container)
        if audio is None and video is None:
            raise CorruptMediaError(path, "has no audio or video stream")
        known = [d for d in (audio and audio.duration, video and video.duration) if d]
        if container.duration is not None:
            known.append(container.duration / av.time_base)
        return MediaInfo(
            path=Path(path),
            size_bytes=Path(path).stat().st_size,
            duration=max(known, default=0.0),
            audio=audio,
            video=video,
        )


def _audio_info(container: av.container.InputContainer) -> AudioStreamInfo | None:
    if not container.streams.audio:
        return None
    s = container.streams.audio[0]
    return AudioStreamInfo(
        index=s.index,
        codec=s.codec_context.name,
        sample_rate=int(s.codec_context.sample_rate or 0),
        channels=int(s.codec_context.channels or 0),
        duration=_seconds(s),
    )


def _video_info(container: av.container.InputContainer) -> VideoStreamInfo | None:
    # Cover art in audio files is a one-picture "video" stream: not a video.
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        return None
    s = streams[0]
    rate = s.average_rate or s.guessed_rate or s.base_rate
    return VideoStreamInfo(
        index=s.index,
        codec=s.codec_context.name,
        width=int(s.codec_context.width),
        height=int(s.codec_context.height),
        fps=float(rate) if rate else 0.0,
        n_frames=int(s.frames or 0),
        duration=_seconds(s),
    )
