"""Pictures in the matcher: silent footage makes a music video by its motion alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mediagen import bouncing_frames, clicks, write_audio, write_video
from videothat.analysis import AnalysisConfig
from videothat.match.config import MatchConfig
from videothat.pipeline.make import match_files
from videothat.pipeline.run import Configs, Run
from videothat.report import beat_alignment, summarize
from videothat.vision.config import MotionConfig

FPS = 24
BEAT = 0.5  # s: the song's clicks; the square of on_beat.mp4 turns every 12 frames = 0.5 s


@pytest.fixture(scope="module")
def silent(tmp_path_factory):
    """A click track at 120 BPM and three silent videos of two shots each, whose squares turn
    every 0.5 s (the beat), 0.375 s and 0.71 s."""
    root = tmp_path_factory.mktemp("silent")
    song = root / "song.wav"
    write_audio(song, clicks(12.0, 44100, list(np.arange(0.25, 12.0, BEAT))), sr=44100)
    for name, period, seed in (("on_beat", 12, 1), ("fast", 9, 3), ("slow", 17, 5)):
        shots = [bouncing_frames(4 * FPS, period, seed + k) for k in range(2)]
        write_video(root / f"{name}.mp4", np.concatenate(shots), fps=FPS)
    return root


def _configs(**score) -> Configs:
    base = MatchConfig()
    return Configs(analysis=AnalysisConfig(motion=MotionConfig()),
                   match=replace(base, score=replace(base.score, harmony=0.0, **score),
                                 search=replace(base.search, speed_min=1.0, speed_max=1.0, min_length=1.5)))


def test_silent_footage_makes_a_video_whose_motion_lands_on_the_beats(silent):
    videos = [silent / f"{n}.mp4" for n in ("on_beat", "fast", "slow")]
    result, report = match_files(silent / "song.wav", videos, _configs(), Run(silent / "cache"))
    assert sorted(p.name for p in report.pictures_only) == ["fast.mp4", "on_beat.mp4", "slow.mp4"]
    timeline = result.timeline.validate()
    on_beat = sum(c.duration for c in timeline.segments if c.source.name == "on_beat.mp4")
    assert on_beat >= 0.6 * timeline.duration  # the footage that moves with the song, wherever it can
    summary = summarize(result)
    assert summary.cuts_on_onsets == 1.0  # cuts land on the song's clicks
    # the motion lands on the beats; the same shots a quarter beat off would not line up
    beats, impacts = result.beats / result.frame_rate, _impacts(result)
    assert summary.visual_on_beats > 0.6 > 0.3 > beat_alignment(beats + BEAT / 4, impacts)
    assert summary.beats_on_visual > 1.5 * beat_alignment(impacts, beats + BEAT / 4)


def _impacts(result):
    from videothat.report import visual_impacts

    return visual_impacts(result)


def test_without_the_pictures_silent_footage_is_refused(silent):
    from videothat.match.search import SearchError

    configs = replace(_configs(), analysis=AnalysisConfig())
    with pytest.raises(SearchError, match="no usable videos"):
        match_files(silent / "song.wav", [silent / "fast.mp4"], configs, Run(silent / "cache"))


def test_make_outlines_people_when_asked(silent, tmp_path, monkeypatch):
    """render.outline=people: the detector's boxes are drawn over the rendered frames (a fixed
    detection stands in for the detector, which tests/vision/test_people.py checks)."""
    import videothat.vision.outline as outline
    from videothat.media.config import RenderConfig
    from videothat.media.frames import VideoFrames
    from videothat.pipeline.make import make_video
    from videothat.vision.people import Detections

    def one_person(frames, config, device):
        h, w = frames.shape[1:3]
        box = np.array([[w * 0.25, h * 0.2, w * 0.75, h * 0.8]], np.float32)
        return [Detections(box, np.array([0.9], np.float32), None, (h, w)) for _ in range(len(frames))]

    monkeypatch.setattr(outline, "detect_people", one_person)
    videos = [silent / f"{n}.mp4" for n in ("on_beat", "fast", "slow")]
    frames = {}
    for mode in ("none", "people"):
        configs = replace(_configs(), render=RenderConfig(width=128, height=96, fps=8, outline=mode))
        made = make_video(silent / "song.wav", videos, configs, Run(silent / "cache"), output=tmp_path / f"{mode}.mp4")
        frames[mode] = VideoFrames(made.video).get(np.arange(8, 40, 8), height=96, width=128).numpy().astype(int)
    drawn = np.abs(frames["people"] - frames["none"]).max(axis=-1) > 60  # [4, H, W]
    assert drawn[:, 19:22, 32:96].mean() > 0.5  # the box's top edge
    assert drawn[:, 40:55, 45:80].mean() < 0.05  # its inside is left alone


def test_a_dark_video_is_left_out_by_default(silent, tmp_path):
    """The dark copy of the on-beat footage would fit best; match.min_brightness leaves it out."""
    dark = tmp_path / "dark.mp4"
    write_video(dark, np.concatenate([bouncing_frames(4 * FPS, 12, 1 + k) for k in range(2)]) // 24, fps=FPS)
    videos = [dark, silent / "fast.mp4", silent / "slow.mp4"]
    result, _ = match_files(silent / "song.wav", videos, _configs(), Run(silent / "cache"))
    assert "dark.mp4" not in {c.source.name for c in result.timeline.segments}
    configs = _configs()
    configs = replace(configs, match=replace(configs.match, search=replace(configs.match.search, min_brightness=0.0)))
    result, _ = match_files(silent / "song.wav", videos, configs, Run(silent / "cache"))
    assert "dark.mp4" in {c.source.name for c in result.timeline.segments}
