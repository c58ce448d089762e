"""The timeline contract: JSON round trip, validation, OpenTimelineIO export and import,
retimed segments (speed != 1)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import opentimelineio as otio
import pytest

from videothat.core.errors import ParameterError
from videothat.core.timeline import Cut, Timeline, TimelineError


def _timeline() -> Timeline:
    return Timeline(Path("song.ogg"), 6.5, [
        Cut(Path("a.mp4"), 3.2, 5.9, 0.0, 2.7, 0.81),
        Cut(Path("b.mp4"), 0.0, 1.3, 2.7, 4.0, 0.42),
        Cut(Path("a.mp4"), 10.0, 12.5, 4.0, 6.5, -0.1),
    ])


def test_json_round_trip(tmp_path):
    path = _timeline().save_json(tmp_path / "out.timeline.json")
    data = json.loads(path.read_text())
    assert data["song"] == "song.ogg" and data["duration"] == 6.5
    assert data["segments"][0] == {"source": "a.mp4", "source_start": 3.2, "source_end": 5.9,
                                   "song_start": 0.0, "song_end": 2.7, "score": 0.81, "speed": 1.0}
    assert Timeline.load_json(path) == _timeline()


def _retimed() -> Timeline:
    """Speeds 1.5, 1 and 0.75: source spans 1.5 x, 1 x and 0.75 x the song spans."""
    return Timeline(Path("song.ogg"), 6.5, [
        Cut(Path("a.mp4"), 3.2, 7.25, 0.0, 2.7, 0.81, 1.5),
        Cut(Path("b.mp4"), 0.0, 1.3, 2.7, 4.0, 0.42),
        Cut(Path("a.mp4"), 10.0, 11.875, 4.0, 6.5, -0.1, 0.75),
    ])


def test_json_round_trip_keeps_speeds(tmp_path):
    path = _retimed().save_json(tmp_path / "out.timeline.json")
    data = json.loads(path.read_text())
    assert [s["speed"] for s in data["segments"]] == [1.5, 1.0, 0.75]
    assert data["segments"][0]["source_end"] == 7.25
    loaded = Timeline.load_json(path)
    assert loaded == _retimed() and [c.speed for c in loaded.segments] == [1.5, 1.0, 0.75]


def test_old_json_without_speed_loads_at_speed_one(tmp_path):
    data = _timeline().to_dict()
    for segment in data["segments"]:
        del segment["speed"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    loaded = Timeline.load_json(tmp_path / "old.json")
    assert [c.speed for c in loaded.segments] == [1.0, 1.0, 1.0] and loaded == _timeline()


def test_source_time_follows_the_speed():
    cut = _retimed().segments[0]
    assert cut.source_time(0.0) == pytest.approx(3.2)
    assert cut.source_time(2.0) == pytest.approx(3.2 + 1.5 * 2.0)
    assert cut.source_time(2.7) == pytest.approx(cut.source_end)


@pytest.mark.parametrize("bad, word", [
    (Cut(Path("b.mp4"), 0.0, 1.2, 2.8, 4.0, 0.0), "starts at 2.8"),  # gap
    (Cut(Path("b.mp4"), 0.0, 1.5, 2.5, 4.0, 0.0), "starts at 2.5"),  # overlap
    (Cut(Path("b.mp4"), 0.0, 2.0, 2.7, 4.0, 0.0), "source span"),  # source and song spans differ
])
def test_validation_rejects_broken_timelines(bad, word):
    timeline = _timeline()
    timeline.segments[1] = bad
    with pytest.raises(TimelineError, match=word):
        timeline.validate()


@pytest.mark.parametrize("speed, source_end, word", [
    (1.5, 1.3, "speed 1.5 x song span"),  # span as at speed 1, not 1.5 x 1.3 s
    (1.0, 1.95, "speed 1.0 x song span"),  # span of speed 1.5 without saying so
    (1.5, 1.95 + 0.01, "source span"),  # 10 ms off
    (0.0, 0.0, "speed=0.0"),
    (-1.0, -1.3, "speed=-1.0"),
    (math.nan, 1.3, "speed=nan"),
    (math.inf, 1.3, "speed=inf"),
])
def test_validation_rejects_bad_speeds(speed, source_end, word):
    timeline = _retimed()
    timeline.segments[1] = Cut(Path("b.mp4"), 0.0, source_end, 2.7, 4.0, 0.0, speed)
    with pytest.raises(TimelineError, match=f"segment 1.*{word}" if "=" in word else word):
        timeline.validate()


def test_validation_accepts_retimed_spans_within_tolerance():
    timeline = _retimed()
    timeline.segments[1] = Cut(Path("b.mp4"), 0.0, 1.95 + 0.0005, 2.7, 4.0, 0.0, 1.5)
    assert timeline.validate() is timeline


def test_must_end_at_the_song_end():
    timeline = _timeline()
    timeline.duration = 7.0
    with pytest.raises(TimelineError, match="song lasts 7.0"):
        timeline.validate()


def test_unreadable_json(tmp_path):
    (tmp_path / "t.json").write_text("{not json")
    with pytest.raises(TimelineError, match="cannot read timeline"):
        Timeline.load_json(tmp_path / "t.json")
    (tmp_path / "u.json").write_text('{"song": "x"}')
    with pytest.raises(TimelineError, match="not a VideoThat timeline"):
        Timeline.load_json(tmp_path / "u.json")


def test_otio_opens_with_the_cuts(tmp_path):
    path = _timeline().save_otio(tmp_path / "out.otio", rate=25.0)
    loaded = otio.adapters.read_from_file(str(path))
    video, audio = loaded.tracks
    clips = list(video.find_clips())
    want = [str(Path(p).resolve()) for p in ("a.mp4", "b.mp4", "a.mp4")]
    assert [c.media_reference.target_url for c in clips] == want
    assert clips[0].source_range.start_time.to_seconds() == pytest.approx(3.2)
    assert video.duration().to_seconds() == pytest.approx(6.5)
    assert audio.duration().to_seconds() == pytest.approx(6.5)


def _warps(clip) -> list[float]:
    return [e.time_scalar for e in clip.effects if isinstance(e, otio.schema.LinearTimeWarp)]


def test_otio_retimed_clips_carry_a_time_warp(tmp_path):
    path = _retimed().save_otio(tmp_path / "out.otio", rate=25.0)
    video, audio = otio.adapters.read_from_file(str(path)).tracks
    clips = list(video.find_clips())
    assert [_warps(c) for c in clips] == [[1.5], [], [0.75]]
    assert [c.metadata["videothat"]["speed"] for c in clips] == [1.5, 1.0, 0.75]
    # source_range: from source_start, lasting the song span (the warp plays it at speed)
    starts = [c.source_range.start_time.to_seconds() for c in clips]
    lengths = [c.source_range.duration.to_seconds() for c in clips]
    assert starts == pytest.approx([3.2, 0.0, 10.0]) and lengths == pytest.approx([2.7, 1.3, 2.5])
    placed = [video.range_of_child_at_index(i).start_time.to_seconds() for i in range(3)]
    assert placed == pytest.approx([0.0, 2.7, 4.0])
    assert video.duration().to_seconds() == pytest.approx(6.5)
    assert audio.duration().to_seconds() == pytest.approx(6.5)


@pytest.mark.parametrize("make", [_timeline, _retimed])
def test_otio_round_trip(tmp_path, make):
    path = make().save_otio(tmp_path / "out.otio", rate=25.0)
    back = Timeline.from_otio(otio.adapters.read_from_file(str(path)))
    assert back.song == Path("song.ogg").resolve() and back.duration == pytest.approx(6.5)
    assert len(back.segments) == len(make().segments)
    for got, want in zip(back.segments, make().segments, strict=True):
        assert got.source == Path(want.source).resolve()
        assert got.speed == want.speed and got.score == want.score
        for name in ("source_start", "source_end", "song_start", "song_end"):
            assert getattr(got, name) == pytest.approx(getattr(want, name), abs=1e-9), name


def test_otio_import_reads_an_editors_retime():
    exported = _retimed().to_otio(rate=25.0)
    clip = list(exported.video_tracks()[0].find_clips())[1]
    clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))  # the editor doubles shot b's speed
    cut = Timeline.from_otio(exported).segments[1]
    assert cut.speed == 2.0 and cut.source_end == pytest.approx(2.0 * 1.3)


def test_otio_import_needs_a_video_track():
    timeline = otio.schema.Timeline(name="song")
    timeline.tracks.append(otio.schema.Track(kind=otio.schema.TrackKind.Audio))
    with pytest.raises(TimelineError, match="no video track"):
        Timeline.from_otio(timeline)


def test_cut_keeps_positional_fields_and_defaults_speed():
    cut = Cut(Path("a.mp4"), 3.2, 5.9, 0.0, 2.7, 0.81)
    assert cut.speed == 1.0 and replace(cut, speed=2.0).speed == 2.0


@pytest.mark.parametrize("over", ["video", "target"])
def test_a_timeline_over_a_video_or_target_names_it_so_and_reads_older_files(tmp_path, over):
    """A sound track's timeline runs over a video, a mosaic's over its target sound: the file
    says ``"video"`` / ``"target"``, not ``"song"``; files written before, with either under
    ``"song"``, still load (as over a song)."""
    timeline = replace(_timeline(), song=Path("clip.mp4"), over=over)
    path = timeline.save_json(tmp_path / "st.timeline.json")
    data = json.loads(path.read_text())
    assert data[over] == "clip.mp4" and "song" not in data
    assert Timeline.load_json(path) == timeline
    data["song"] = data.pop(over)  # as soundtrack and mosaic wrote it before
    (tmp_path / "old.json").write_text(json.dumps(data))
    old = Timeline.load_json(tmp_path / "old.json")
    assert old.song == Path("clip.mp4") and old.over == "song" and old.segments == timeline.segments
    assert "song" in _timeline().to_dict() and over not in _timeline().to_dict()  # make's stays "song"
    with pytest.raises(ParameterError, match="over='picture' must be one of song, video, target"):
        replace(_timeline(), over="picture")


@pytest.mark.parametrize("over", ["video", "target"])
def test_otio_of_a_timeline_over_a_video_or_target_names_its_track_so(tmp_path, over):
    timeline = replace(_timeline(), song=Path("clip.mp4"), over=over)
    path = timeline.save_otio(tmp_path / "st.otio")
    read = otio.adapters.read_from_file(str(path))
    assert [t.name for t in read.audio_tracks()] == [over]
    back = Timeline.from_otio(read)
    assert back.over == over and back.song == Path("clip.mp4").resolve()
    assert Timeline.from_otio(_timeline().to_otio()).over == "song"
