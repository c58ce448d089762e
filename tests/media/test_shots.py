"""Shot detection on generated videos with hard cuts at known times."""

from __future__ import annotations

from itertools import pairwise

import pytest

from conftest import VIDEO_FIXTURE
from mediagen import cut_video
from videothat.core.errors import CorruptMediaError, ParameterError
from videothat.media.shots import ShotConfig, detect_shots

FPS = 25
CUTS = [1.2, 2.6, 4.4, 5.0, 7.36]  # s, on frame boundaries at 25 fps
DURATION = 8.0


@pytest.fixture(scope="module")
def cut_file(tmp_path_factory):
    return cut_video(tmp_path_factory.mktemp("shots") / "cuts.mp4", CUTS, DURATION, fps=FPS)


@pytest.mark.parametrize("config", [ShotConfig(), ShotConfig(detector="adaptive", threshold=3.0)],
                         ids=["content", "adaptive"])
def test_every_cut_found_within_one_frame_and_nothing_else(cut_file, config):
    shots = detect_shots(cut_file, config)
    found = [s.start for s in shots[1:]]
    assert len(found) == len(CUTS), found
    for want, got in zip(CUTS, found, strict=True):
        assert abs(got - want) <= 1 / FPS + 1e-9
    assert shots[0].start == 0.0 and shots[-1].end == pytest.approx(DURATION, abs=1 / FPS)
    assert all(a.end == b.start for a, b in pairwise(shots))
    assert all(s.fps == FPS and s.source == cut_file for s in shots)


def test_min_length_drops_close_cuts(cut_file):
    shots = detect_shots(cut_file, ShotConfig(min_length=1.0))
    starts = [s.start for s in shots]
    assert 5.0 not in starts  # 0.6 s after the cut at 4.4
    assert all(s.duration >= 1.0 - 1e-9 for s in shots[:-1])


def test_video_without_cuts_is_one_shot(tmp_path):
    shots = detect_shots(cut_video(tmp_path / "one.mp4", [], 2.0), ShotConfig())
    assert [(s.start, s.end) for s in shots] == [(0.0, 2.0)]


def test_real_handheld_footage_is_one_shot():
    shots = detect_shots(VIDEO_FIXTURE, ShotConfig())
    assert len(shots) == 1 and shots[0].end == pytest.approx(15.25, abs=0.05)


def test_corrupt_video(tmp_path):
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 5000)
    with pytest.raises(CorruptMediaError, match="bad.mp4"):
        detect_shots(tmp_path / "bad.mp4", ShotConfig())


@pytest.mark.parametrize("kw, word", [(dict(detector="histogram"), "detector"), (dict(threshold=-1), "threshold"),
                                      (dict(min_length=-0.5), "min_length")])
def test_bad_parameters(kw, word):
    with pytest.raises(ParameterError, match=word):
        ShotConfig(**kw)


def test_detectors_by_name_and_whole_file(tmp_path):
    from videothat.media.shots import DETECTORS

    assert set(DETECTORS.names) >= {"content", "adaptive", "whole"}
    (shot,) = detect_shots(VIDEO_FIXTURE, ShotConfig(detector="whole"), duration=15.2)
    assert (shot.start, shot.end, shot.fps) == (0.0, 15.2, 0.0)
    assert ShotConfig(detector="whole").as_dict() == {"detector": "whole"}  # no unused keys in the cache key
    with pytest.raises(ParameterError, match="content, adaptive, whole"):
        ShotConfig(detector="histogram")
