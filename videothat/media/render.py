"""Timeline -> mp4 (H.264 + AAC) with PyAV: the cuts' frames over the song.

Every output frame ``n`` shows, for the song time ``t = n / fps``, the source frame on
screen at ``source_start + speed * (t - song_start)`` of the segment covering ``t`` (the
last frame whose timestamp is <= that time: frame-accurate, sources are decoded from the
keyframe before each segment); a retimed segment (``speed`` != 1) repeats source frames
(slower) or skips them (faster). Sources of any size, aspect ratio, frame rate and
rotation are fitted into one output size without distortion, letterboxed or cropped.
The sound track is the song (the sources' sound is not used). An optional ``overlay``
draws on each source picture before it is fitted (outlines of people, say); the renderer
knows nothing of what it draws. The file is written to a temporary name and renamed when
complete, so a killed render leaves no half-written output.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videothat.core.errors import CorruptMediaError, NoVideoError, ParameterError
from videothat.core.timeline import Cut, Timeline
from videothat.media.audio import encode_audio
from videothat.media.config import RenderConfig
from videothat.media.probe import open_container

log = logging.getLogger(__name__)

AUDIO_RATE = 44100  # Hz of the output sound track


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # yuv420p: Y [H, W], U and V [H/2, W/2]
# (source path, source time (s), upright RGB picture [H, W, 3] uint8) -> the picture to show
# instead ([H, W, 3] uint8), or None to show it as decoded
Overlay = Callable[[Path, float, np.ndarray], "np.ndarray | None"]
BLACK = (16, 128, 128)  # limited-range YUV black


def fit_frame(frame: av.VideoFrame, width: int, height: int, fit: str) -> Planes:
    """Scale a decoded frame into ``width`` x ``height`` keeping its aspect ratio, centred.

    The picture stays in YUV 4:2:0 from decoder to encoder (one libswscale call scales
    it); only frames with a display rotation go through RGB to be turned upright.
    """
    frame = upright(frame)
    w, h = frame.width, frame.height
    scale = min(width / w, height / h) if fit == "letterbox" else max(width / w, height / h)
    sw, sh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
    scaled = frame.reformat(width=sw, height=sh, format="yuv420p")
    y0, x0 = (height - sh) // 4 * 2, (width - sw) // 4 * 2  # even offsets keep chroma aligned
    out = []
    for plane, shrink, fill in zip(scaled.planes, (1, 2, 2), BLACK, strict=True):
        src = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        canvas = np.full((height // shrink, width // shrink), fill, np.uint8)
        oy, ox = y0 // shrink, x0 // shrink
        rows = min(src.shape[0] - max(0, -oy), canvas.shape[0] - max(0, oy))
        cols = min(src.shape[1] - max(0, -ox), canvas.shape[1] - max(0, ox))
        canvas[max(0, oy) : max(0, oy) + rows, max(0, ox) : max(0, ox) + cols] = \
            src[max(0, -oy) : max(0, -oy) + rows, max(0, -ox) : max(0, -ox) + cols]
        out.append(canvas)
    return tuple(out)


def to_frame(planes: Planes) -> av.VideoFrame:
    """A yuv420p ``VideoFrame`` from its three planes."""
    height, width = planes[0].shape
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane, data in zip(frame.planes, planes, strict=True):
        if plane.line_size != data.shape[1]:  # rows padded for alignment
            padded = np.zeros((data.shape[0], plane.line_size), np.uint8)
            padded[:, : data.shape[1]] = data
            data = padded
        plane.update(np.ascontiguousarray(data))
    return frame


def upright(frame: av.VideoFrame) -> av.VideoFrame:
    """The frame turned by its display rotation (phone videos); unrotated frames as they are."""
    quarter = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    if not quarter:
        return frame
    image = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), k=quarter))
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def overlaid(frame: av.VideoFrame, overlay: Overlay, source: Path, time: float) -> av.VideoFrame:
    """``frame`` with ``overlay`` applied to its upright RGB picture; ``frame`` itself when
    the overlay returns None (the YUV picture then goes on untouched)."""
    picture = upright(frame).to_ndarray(format="rgb24")
    drawn = overlay(source, time, picture)
    if drawn is None:
        return frame
    if drawn.shape != picture.shape or drawn.dtype != np.uint8:
        raise ParameterError(f"overlay returned a picture of shape {drawn.shape} and dtype {drawn.dtype} for "
                             f"{source} at {time:.3f} s; it must return [H, W, 3] uint8 like {picture.shape}")
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(drawn), format="rgb24")


def source_frames(path: Path, times: np.ndarray) -> Iterator[av.VideoFrame]:
    """The source frames on screen at increasing ``times`` (s): for each, the last frame
    whose timestamp is <= the time (the first frame before the first timestamp)."""
    with open_container(path) as container:
        streams = [s for s in container.streams.video]
        if not streams:
            raise NoVideoError(path, "has no video stream to take pictures from")
        stream = streams[0]
        stream.thread_type = "AUTO"
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        seek = max(0.0, float(times[0]) + start - 1.0)
        container.seek(int(seek / stream.time_base), stream=stream, backward=True, any_frame=False)
        decoded = _decode(container, stream, path)
        current = next(decoded, None)
        if current is None:
            raise CorruptMediaError(path, f"no video frame decodes at {times[0]:.2f} s")
        upcoming = next(decoded, None)
        for t in times:
            while upcoming is not None and float(upcoming.time) - start <= t + 1e-6:
                current, upcoming = upcoming, next(decoded, None)
            yield current


def _decode(container, stream, path: Path) -> Iterator[av.VideoFrame]:
    try:
        for frame in container.decode(stream):
            if frame.time is not None:
                yield frame
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(path, f"video decoding failed ({exc})") from exc


def output_frame_count(duration: float, fps: float) -> int:
    """Frames of an output of ``duration`` seconds at ``fps``."""
    return max(1, math.ceil(duration * fps - 1e-6))


@dataclass(frozen=True)
class SegmentFrames:
    """The output frames one segment contributes to: indices, source times (s), weights."""

    cut: Cut
    frames: np.ndarray  # [k] int64 output frame indices, increasing
    times: np.ndarray  # [k] source times (s)
    weights: np.ndarray  # [k] 1 on a hard cut; ramps within a crossfade


def frame_plan(timeline: Timeline, fps: float, crossfade: float = 0.0) -> list[SegmentFrames]:
    """For each segment, the output frames it shows and at which source times.

    Song time ``t`` (s) of a segment shows source time ``source_start + speed * (t -
    song_start)`` (s), at least 0 and, within the segment's own span, at most
    ``source_end``. With ``crossfade`` > 0 (s), each cut at time c becomes a linear blend
    over [c - crossfade/2, c + crossfade/2): the outgoing shot plays on (at its speed) past
    its out-point and the incoming one starts before its in-point (from its first frame at
    the earliest).
    """
    n = output_frame_count(timeline.duration, fps)
    t = np.arange(n) / fps
    half = crossfade / 2
    plan = []
    for i, cut in enumerate(timeline.segments):
        first, last = i == 0, i == len(timeline.segments) - 1
        lo = cut.song_start - (0.0 if first else half)
        hi = cut.song_end + (0.0 if last else half)
        frames = np.flatnonzero((t >= lo - 1e-9) & ((t < hi - 1e-9) | last))
        if frames.size == 0:
            continue
        tt = t[frames]
        weights = np.ones_like(tt)
        if crossfade > 0:
            if not first:
                weights = np.minimum(weights, np.clip((tt - lo) / crossfade, 0.0, 1.0))
            if not last:
                weights = np.minimum(weights, np.clip((hi - tt) / crossfade, 0.0, 1.0))
        plan.append(SegmentFrames(cut, frames, _source_times(cut, tt), weights))
    return plan


def _source_times(cut: Cut, t: np.ndarray) -> np.ndarray:
    """Source times (s) shown at song times ``t`` (s) [k]: along the segment's speed, from 0
    at the earliest and, before its song end, up to ``source_end`` (crossfade tails after
    the song end read on)."""
    times = np.maximum(cut.source_time(t), 0.0)
    inside = t < cut.song_end
    times[inside] = np.minimum(times[inside], cut.source_end)
    return times


def render(
    timeline: Timeline,
    output: Path,
    config: RenderConfig,
    *,
    song_audio: np.ndarray,
    song_rate: int,
    on_frames: Callable[[int], None] | None = None,
    overlay: Overlay | None = None,
) -> Path:
    """Write the music video of ``timeline`` to ``output`` (mp4), atomically.

    ``song_audio`` [shape=(n,)] float32 mono at ``song_rate`` Hz is the sound track;
    ``on_frames(k)`` is called as frames are written (for progress bars). ``overlay(source,
    time, picture)``, if given, is called once per distinct source picture shown, with the
    source's path, the source time (s) of the first output frame showing it and the upright
    picture [shape=(H, W, 3)] uint8 RGB at the source's size; it returns the picture to show
    instead, or None to keep it (without an overlay, pictures stay in YUV from decoder to
    encoder).
    """
    from videothat.core.atomic import atomic_path

    timeline.validate()
    rate = Fraction(config.fps).limit_denominator(1001)
    with atomic_path(Path(output)) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as out:
            video = out.add_stream("libx264", rate=rate, options={"crf": str(config.crf), "preset": config.preset})
            video.width, video.height, video.pix_fmt = config.width, config.height, "yuv420p"
            audio = out.add_stream("aac", rate=AUDIO_RATE)
            audio.layout, audio.bit_rate = "stereo", config.audio_bitrate
            pending: dict[int, list[tuple[float, Planes]]] = {}  # frame -> [(weight, picture)]
            written = 0
            plan = frame_plan(timeline, config.fps, config.crossfade)
            for k, part in enumerate(plan):
                last, fitted = None, None
                for index, weight, time, frame in zip(part.frames.tolist(), part.weights.tolist(), part.times.tolist(),
                                                      source_frames(part.cut.source, part.times), strict=True):
                    if frame is not last:  # a source frame shown twice is fitted (and overlaid) once
                        last = frame
                        if overlay is not None:
                            frame = overlaid(frame, overlay, part.cut.source, time)
                        fitted = fit_frame(frame, config.width, config.height, config.fit)
                    pending.setdefault(index, []).append((weight, fitted))
                done_before = plan[k + 1].frames[0] if k + 1 < len(plan) else written + len(pending) + 1
                while written < done_before and written in pending:  # frames no later segment touches
                    _encode_frame(out, video, _blend(pending.pop(written)), written, rate)
                    written += 1
                    if on_frames:
                        on_frames(1)
            for packet in video.encode():
                out.mux(packet)
            _encode_song(out, audio, song_audio, song_rate, timeline.duration)
    return Path(output)


def _blend(parts: list[tuple[float, Planes]]) -> Planes:
    """Weighted mean of pictures (a hard cut has one part of weight 1: no arithmetic)."""
    if len(parts) == 1:
        return parts[0][1]
    total = sum(w for w, _ in parts) or 1.0
    return tuple((sum(w * p[i].astype(np.float32) for w, p in parts) / total).round().astype(np.uint8)
                 for i in range(3))


def _encode_frame(out, stream, planes: Planes, index: int, rate: Fraction) -> None:
    frame = to_frame(planes)
    frame.pts, frame.time_base = index, 1 / rate
    for packet in stream.encode(frame):
        out.mux(packet)


def _encode_song(out, stream, samples: np.ndarray, rate: int, duration: float) -> None:
    """The song (mono float32 at ``rate``), cut to ``duration`` s, as the sound track."""
    encode_audio(out, stream, samples[None, : round(duration * rate)], rate)
