"""The cut list: which source plays where in the song. JSON contract and OpenTimelineIO.

JSON (see DESIGN.md)::

    {"song": "path/to/song.ogg", "duration": 61.2,
     "segments": [{"source": "path/to/video.mp4", "source_start": 3.2, "source_end": 5.9,
                   "song_start": 0.0, "song_end": 2.7, "score": 0.81, "speed": 1.0}]}

A sound track made for a video (``videothat soundtrack``) is a timeline over the video, not a
song: its file names the video under ``"video"`` instead of ``"song"``; a mosaic's names its
target sound under ``"target"`` (:attr:`Timeline.over`; the segment keys stay
``song_start``/``song_end``: times on what the timeline runs over). Files written before
that, with either under ``"song"``, load as timelines over a song.

Segments are ordered by ``song_start`` and tile ``[0, duration]`` without gaps or
overlaps; times are seconds. A segment plays its source at ``speed`` (1 = as recorded;
a "retimed" shot): ``source_end - source_start = speed * (song_end - song_start)``. Files
without ``"speed"`` (written before retiming) load with speed 1.

OpenTimelineIO: each cut is a clip whose ``source_range`` starts at ``source_start`` and
lasts the *song* span (so the track lasts the song); a retimed clip carries a
``LinearTimeWarp(time_scalar=speed)`` telling the editor to play those frames at
``speed``, consuming ``source_start .. source_end`` of the media. OTIO (0.18) takes a
clip's duration on the track from its ``source_range`` alone; the warp is an effect the
editor applies, so the track's duration stays the song's.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.core.errors import ParameterError, VideoThatError

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 1
OVER = ("song", "video", "target")  # what a timeline runs over: the key its file names that file under
TOLERANCE_S = 1e-6  # seconds two touching segments may differ by
SPAN_TOLERANCE_S = 1e-3  # seconds of song time by which a source span may miss speed * song span


class TimelineError(VideoThatError):
    """A timeline breaks the contract (gaps, overlaps, bad times) or cannot be read."""


@dataclass(frozen=True)
class Cut:
    """One segment: ``source`` from ``source_start`` to ``source_end`` (s) plays over
    ``song_start`` to ``song_end`` (s) of the song at ``speed`` (source seconds per song
    second; 1 = as recorded), so ``source_end - source_start = speed * duration``;
    ``score`` is its match score."""

    source: Path
    source_start: float
    source_end: float
    song_start: float
    song_end: float
    score: float
    speed: float = 1.0

    @property
    def duration(self) -> float:
        """Song seconds the segment lasts."""
        return self.song_end - self.song_start

    def source_time(self, t: float | np.ndarray) -> float | np.ndarray:
        """The source time (s) on screen at song time ``t`` (s):
        ``source_start + speed * (t - song_start)``."""
        return self.source_start + self.speed * (t - self.song_start)


@dataclass
class Timeline:
    """The cuts of a music video over a song of ``duration`` seconds. ``over``: what ``song``
    is, and the key the JSON names it under: ``"song"`` (the song the pictures are cut to:
    make), ``"target"`` (the sound a mosaic rebuilds) or ``"video"`` (the video sounds are laid
    under: soundtrack)."""

    song: Path
    duration: float
    segments: list[Cut] = field(default_factory=list)
    over: str = "song"

    def __post_init__(self) -> None:
        if self.over not in OVER:
            raise ParameterError(f"over={self.over!r} must be one of {', '.join(OVER)}")

    def validate(self) -> Timeline:
        """Raise :class:`TimelineError` unless the segments tile [0, duration] exactly and
        each plays ``speed * duration`` source seconds (``speed`` finite and > 0)."""
        if not self.segments:
            raise TimelineError(f"timeline of {self.song} has no segments")
        edge = 0.0
        for i, cut in enumerate(self.segments):
            if abs(cut.song_start - edge) > TOLERANCE_S:
                raise TimelineError(f"segment {i} starts at {cut.song_start:.6f} s, expected {edge:.6f} s")
            _check_cut(i, cut)
            edge = cut.song_end
        if abs(edge - self.duration) > TOLERANCE_S:
            raise TimelineError(f"segments end at {edge:.6f} s, the song lasts {self.duration:.6f} s")
        return self

    @property
    def score(self) -> float:
        """The sum of the segments' scores."""
        return sum(c.score for c in self.segments)

    # ---- JSON ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            self.over: str(self.song),
            "duration": self.duration,
            "segments": [{**asdict(c), "source": str(c.source)} for c in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Timeline:
        try:
            cuts = [Cut(Path(s["source"]), float(s["source_start"]), float(s["source_end"]),
                        float(s["song_start"]), float(s["song_end"]), float(s.get("score", 0.0)),
                        float(s.get("speed", 1.0)))
                    for s in data["segments"]]
            over = next((k for k in OVER if k in data), "song")  # older soundtracks and mosaics: "song"
            return cls(Path(data[over]), float(data["duration"]), cuts, over).validate()
        except (KeyError, TypeError, ValueError) as exc:
            raise TimelineError(f"not a VideoThat timeline ({exc!r})") from exc

    def save_json(self, path: str | Path) -> Path:
        from videothat.core.atomic import atomic_write

        text = json.dumps(self.validate().to_dict(), indent=2)
        atomic_write(Path(path), lambda f: f.write(text.encode()))
        return Path(path)

    @classmethod
    def load_json(cls, path: str | Path) -> Timeline:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise TimelineError(f"{path}: cannot read timeline ({exc})") from exc
        return cls.from_dict(data)

    # ---- OpenTimelineIO -----------------------------------------------------------
    def to_otio(self, *, rate: float = 25.0):
        """An ``opentimelineio.schema.Timeline``: a video track of the cuts over an audio
        track holding the song (named ``over``: "song", or "video" for a sound track's video).
        Times are in frames of ``rate`` per second.

        Each clip's ``source_range`` starts at ``source_start`` and lasts the song span
        (``song_end - song_start``), so the video track lasts the song; a clip with
        ``speed != 1`` carries ``LinearTimeWarp(time_scalar=speed)``: the editor plays it
        at ``speed``, consuming ``source_start .. source_end`` of the media. The clip's
        ``metadata["videothat"]`` holds score, speed and the exact times in seconds.
        """
        import opentimelineio as otio

        if rate <= 0:
            raise ParameterError(f"rate={rate} must be positive")
        timeline = otio.schema.Timeline(name=self.song.stem)
        video = otio.schema.Track(name="shots", kind=otio.schema.TrackKind.Video)
        for i, cut in enumerate(self.validate().segments):
            video.append(_otio_clip(i, cut, rate))
        audio = otio.schema.Track(name=self.over, kind=otio.schema.TrackKind.Audio)
        audio.append(otio.schema.Clip(
            name=self.song.name,
            media_reference=otio.schema.ExternalReference(target_url=str(Path(self.song).resolve())),
            source_range=_otio_range(0.0, self.duration, rate),
        ))
        timeline.tracks.extend([video, audio])
        return timeline

    @classmethod
    def from_otio(cls, timeline) -> Timeline:
        """The timeline of an ``opentimelineio.schema.Timeline`` laid out as :meth:`to_otio`
        writes it (an editor may have moved, trimmed or retimed the clips).

        Read from the OTIO structure: song times from each clip's place on the first video
        track, ``source_start`` from its ``source_range``, ``speed`` from its
        ``LinearTimeWarp`` effects (their product; 1 without), ``source_end = source_start
        + speed * song span``; the score from ``metadata["videothat"]`` (0 without). The
        song is the first clip of the first audio track and the duration that track's
        (without one: the OTIO timeline's name and the video track's duration); ``over`` is
        "video" when that track is named "video", else "song". Paths are
        as stored (:meth:`to_otio` writes absolute ones); times may differ from the
        written seconds by float rounding.

        Raises
        ------
        TimelineError : no video track, a clip without a file reference or source range,
            or clips that do not tile the song.
        """
        import opentimelineio as otio

        videos, audios = timeline.video_tracks(), timeline.audio_tracks()
        if not videos:
            raise TimelineError(f"OTIO timeline {timeline.name!r} has no video track")
        cuts = [_cut_from_otio(clip, videos[0].range_of_child_at_index(i))
                for i, clip in enumerate(videos[0]) if isinstance(clip, otio.schema.Clip)]
        over = audios[0].name if audios and audios[0].name in OVER else "song"
        if audios and len(audios[0]):
            song, duration = _otio_path(audios[0][0]), audios[0].duration()
        else:
            song, duration = Path(timeline.name), videos[0].duration()
        return cls(song, duration.to_seconds(), cuts, over).validate()

    def save_otio(self, path: str | Path, *, rate: float = 25.0) -> Path:
        import opentimelineio as otio

        from videothat.core.atomic import atomic_write

        text = otio.adapters.write_to_string(self.to_otio(rate=rate), "otio_json")
        atomic_write(Path(path), lambda f: f.write(text.encode()))
        return Path(path)


def _check_cut(i: int, cut: Cut) -> None:
    """Raise :class:`TimelineError` naming segment ``i`` unless its times and speed agree."""
    if not cut.song_end > cut.song_start:
        raise TimelineError(f"segment {i} has no duration ({cut.song_start} to {cut.song_end} s)")
    if not (math.isfinite(cut.speed) and cut.speed > 0):
        raise TimelineError(f"segment {i}: speed={cut.speed} must be a finite number > 0")
    # the tolerance is in song seconds: scaled to source seconds by the speed
    want = cut.speed * cut.duration
    if abs((cut.source_end - cut.source_start) - want) > SPAN_TOLERANCE_S * max(1.0, cut.speed) \
            or cut.source_start < 0:
        raise TimelineError(f"segment {i}: source span {cut.source_start}-{cut.source_end} s does not match "
                            f"speed {cut.speed} x song span {cut.song_start}-{cut.song_end} s")


def _otio_range(start: float, end: float, rate: float):
    """An OTIO ``TimeRange`` from ``start`` to ``end`` seconds in frames of ``rate``."""
    import opentimelineio as otio

    return otio.opentime.TimeRange(otio.opentime.from_seconds(start, rate),
                                   otio.opentime.from_seconds(end - start, rate))


def _otio_clip(i: int, cut: Cut, rate: float):
    """Segment ``i`` as an OTIO clip: the song span's worth of media from ``source_start``,
    with a ``LinearTimeWarp`` when retimed (see :meth:`Timeline.to_otio`)."""
    import opentimelineio as otio

    effects = [otio.schema.LinearTimeWarp(name="speed", time_scalar=cut.speed)] if cut.speed != 1.0 else []
    info = {"score": cut.score, "speed": cut.speed, "song_start": cut.song_start, "song_end": cut.song_end,
            "source_start": cut.source_start, "source_end": cut.source_end}
    return otio.schema.Clip(
        name=f"{i:03d} {cut.source.name}",
        media_reference=otio.schema.ExternalReference(target_url=str(Path(cut.source).resolve())),
        source_range=_otio_range(cut.source_start, cut.source_start + cut.duration, rate),
        metadata={"videothat": info},
        effects=effects,
    )


def _otio_path(clip) -> Path:
    """The file a clip plays (its ``ExternalReference`` target)."""
    url = getattr(clip.media_reference, "target_url", None)
    if not url:
        raise TimelineError(f"OTIO clip {clip.name!r} has no file reference")
    return Path(url.removeprefix("file://"))


def _cut_from_otio(clip, placed) -> Cut:
    """The cut of an OTIO ``clip`` at ``placed`` (its ``TimeRange`` on the track)."""
    import opentimelineio as otio

    if clip.source_range is None:
        raise TimelineError(f"OTIO clip {clip.name!r} has no source range")
    speed = math.prod(e.time_scalar for e in clip.effects if isinstance(e, otio.schema.LinearTimeWarp))
    song_start = placed.start_time.to_seconds()
    song_end = placed.end_time_exclusive().to_seconds()
    source_start = clip.source_range.start_time.to_seconds()
    score = float(dict(clip.metadata.get("videothat", {})).get("score", 0.0))
    return Cut(_otio_path(clip), source_start, source_start + speed * (song_end - song_start),
               song_start, song_end, score, float(speed))
