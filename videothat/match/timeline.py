"""The cut list: which source plays where in the song. JSON contract and OpenTimelineIO.

JSON (see DESIGN.md)::

    {"song": "path/to/song.ogg", "duration": 61.2,
     "segments": [{"source": "path/to/video.mp4", "source_start": 3.2, "source_end": 5.9,
                   "song_start": 0.0, "song_end": 2.7, "score": 0.81}]}

Segments are ordered by ``song_start`` and tile ``[0, duration]`` without gaps or
overlaps; times are seconds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from videothat.errors import ParameterError, VideoThatError

FORMAT_VERSION = 1
TOLERANCE_S = 1e-6  # seconds two touching segments may differ by


class TimelineError(VideoThatError):
    """A timeline breaks the contract (gaps, overlaps, bad times) or cannot be read."""


@dataclass(frozen=True)
class Cut:
    """One segment: ``source`` from ``source_start`` to ``source_end`` (s) plays over
    ``song_start`` to ``song_end`` (s) of the song; ``score`` is its match score."""

    source: Path
    source_start: float
    source_end: float
    song_start: float
    song_end: float
    score: float

    @property
    def duration(self) -> float:
        return self.song_end - self.song_start


@dataclass
class Timeline:
    """The cuts of a music video over a song of ``duration`` seconds."""

    song: Path
    duration: float
    segments: list[Cut] = field(default_factory=list)

    def validate(self) -> Timeline:
        """Raise :class:`TimelineError` unless the segments tile [0, duration] exactly."""
        if not self.segments:
            raise TimelineError(f"timeline of {self.song} has no segments")
        edge = 0.0
        for i, cut in enumerate(self.segments):
            if abs(cut.song_start - edge) > TOLERANCE_S:
                raise TimelineError(f"segment {i} starts at {cut.song_start:.6f} s, expected {edge:.6f} s")
            if not cut.song_end > cut.song_start:
                raise TimelineError(f"segment {i} has no duration ({cut.song_start} to {cut.song_end} s)")
            if abs((cut.source_end - cut.source_start) - cut.duration) > 1e-3 or cut.source_start < 0:
                raise TimelineError(f"segment {i}: source span {cut.source_start}-{cut.source_end} s "
                                    f"does not match song span {cut.song_start}-{cut.song_end} s")
            edge = cut.song_end
        if abs(edge - self.duration) > TOLERANCE_S:
            raise TimelineError(f"segments end at {edge:.6f} s, the song lasts {self.duration:.6f} s")
        return self

    @property
    def score(self) -> float:
        return sum(c.score for c in self.segments)

    # ---- JSON ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "song": str(self.song),
            "duration": self.duration,
            "segments": [{**asdict(c), "source": str(c.source)} for c in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Timeline:
        try:
            cuts = [Cut(Path(s["source"]), float(s["source_start"]), float(s["source_end"]),
                        float(s["song_start"]), float(s["song_end"]), float(s.get("score", 0.0)))
                    for s in data["segments"]]
            return cls(Path(data["song"]), float(data["duration"]), cuts).validate()
        except (KeyError, TypeError, ValueError) as exc:
            raise TimelineError(f"not a VideoThat timeline ({exc!r})") from exc

    def save_json(self, path: str | Path) -> Path:
        from videothat.atomic import atomic_write

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
        track holding the song. Times are in frames of ``rate`` per second."""
        import opentimelineio as otio

        if rate <= 0:
            raise ParameterError(f"rate={rate} must be positive")

        def span(start: float, end: float) -> otio.opentime.TimeRange:
            return otio.opentime.TimeRange(otio.opentime.from_seconds(start, rate),
                                           otio.opentime.from_seconds(end - start, rate))

        timeline = otio.schema.Timeline(name=self.song.stem)
        video = otio.schema.Track(name="shots", kind=otio.schema.TrackKind.Video)
        for i, cut in enumerate(self.validate().segments):
            clip = otio.schema.Clip(
                name=f"{i:03d} {cut.source.name}",
                media_reference=otio.schema.ExternalReference(target_url=str(Path(cut.source).resolve())),
                source_range=span(cut.source_start, cut.source_end),
                metadata={"videothat": {"score": cut.score, "song_start": cut.song_start}},
            )
            video.append(clip)
        audio = otio.schema.Track(name="song", kind=otio.schema.TrackKind.Audio)
        audio.append(otio.schema.Clip(
            name=self.song.name,
            media_reference=otio.schema.ExternalReference(target_url=str(Path(self.song).resolve())),
            source_range=span(0.0, self.duration),
        ))
        timeline.tracks.extend([video, audio])
        return timeline

    def save_otio(self, path: str | Path, *, rate: float = 25.0) -> Path:
        import opentimelineio as otio

        from videothat.atomic import atomic_write

        text = otio.adapters.write_to_string(self.to_otio(rate=rate), "otio_json")
        atomic_write(Path(path), lambda f: f.write(text.encode()))
        return Path(path)
