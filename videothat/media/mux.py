"""A video with a new sound track: its pictures copied as they are (no re-encoding), the
sound encoded to AAC, into an mp4 written atomically.

Pictures whose codec the mp4 muxer refuses are re-encoded to H.264 instead (the
renderer's one-segment timeline, at ``RenderConfig``'s size).
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

from videothat.core.atomic import atomic_path
from videothat.core.errors import CorruptMediaError, NoVideoError
from videothat.media.audio import encode_audio
from videothat.media.config import RenderConfig
from videothat.media.probe import open_container
from videothat.media.render import AUDIO_RATE

log = logging.getLogger(__name__)


def with_sound(video: Path, sound: np.ndarray, rate: int, output: Path, *, render: RenderConfig | None = None
               ) -> Path:
    """Write ``output`` (mp4): the first video stream of ``video`` and ``sound`` (mono float32
    [shape=(n,)] at ``rate`` Hz, cut or zero-padded to the pictures' duration) as its sound.

    Raises
    ------
    NoVideoError : ``video`` has no video stream.
    CorruptMediaError : its pictures cannot be read.
    """
    video, output = Path(video), Path(output)
    render = render or RenderConfig()
    try:
        return _copy_pictures(video, sound, rate, output, render.audio_bitrate)
    except av.error.FFmpegError as exc:
        log.info("%s: pictures re-encoded (%s)", video, exc)
        return _reencode(video, sound, rate, output, render)


def _copy_pictures(video: Path, sound: np.ndarray, rate: int, output: Path, bit_rate: int) -> Path:
    with open_container(video) as source, atomic_path(output) as tmp:
        if not source.streams.video:
            raise NoVideoError(video, "has no video stream to put a sound track under")
        pictures = source.streams.video[0]
        duration = _duration(pictures, source)
        with av.open(str(tmp), mode="w", format="mp4") as out:
            copied = out.add_stream_from_template(pictures)
            audio = out.add_stream("aac", rate=AUDIO_RATE)
            audio.layout, audio.bit_rate = "stereo", bit_rate
            start = pictures.start_time or 0  # pictures that start later than 0 start at 0, as the sound does
            try:
                for packet in source.demux(pictures):
                    if packet.dts is None:  # the demuxer's flush packet
                        continue
                    packet.dts -= start
                    if packet.pts is not None:
                        packet.pts -= start
                    packet.stream = copied
                    out.mux(packet)
            except av.error.InvalidDataError as exc:
                raise CorruptMediaError(video, f"its pictures cannot be read ({exc})") from exc
            encode_audio(out, audio, _fit(sound, round(duration * rate))[None], rate)
    return output


def _reencode(video: Path, sound: np.ndarray, rate: int, output: Path, render: RenderConfig) -> Path:
    from videothat.core.timeline import Cut, Timeline
    from videothat.media.probe import probe
    from videothat.media.render import render as render_timeline

    duration = probe(video).duration
    timeline = Timeline(video, duration, [Cut(video, 0.0, duration, 0.0, duration, 0.0)])
    return render_timeline(timeline, output, render, song_audio=_fit(sound, round(duration * rate)), song_rate=rate)


def _duration(stream, container) -> float:
    """Seconds of a video stream (the container's duration where the stream does not say)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return float(container.duration or 0) / av.time_base


def _fit(sound: np.ndarray, n: int) -> np.ndarray:
    """``sound`` cut or zero-padded to ``n`` samples."""
    sound = np.asarray(sound, np.float32)
    return sound[:n] if sound.size >= n else np.pad(sound, (0, n - sound.size))
