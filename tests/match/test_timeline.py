"""The timeline contract: JSON round trip, validation, OpenTimelineIO export."""

from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio
import pytest

from videothat.match.timeline import Cut, Timeline, TimelineError


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
                                   "song_start": 0.0, "song_end": 2.7, "score": 0.81}
    assert Timeline.load_json(path) == _timeline()


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
