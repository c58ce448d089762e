"""People outlines: boxes and mask contours drawn on frames, the lazy per-source overlay and its
cache, and a real render where only pictures with people change."""

from __future__ import annotations

from dataclasses import replace

import av
import numpy as np
import pytest

from conftest import VIDEO_FIXTURE
from mediagen import write_video
from videothat.core.errors import ParameterError
from videothat.core.timeline import Cut, Timeline
from videothat.media.config import RenderConfig
from videothat.media.render import render
from videothat.vision.outline import COLOR, PeopleOverlay, draw_outline, people_overlay
from videothat.vision.people import Detections, PersonConfig


def _det(boxes, size=(60, 80), masks=None) -> Detections:
    arr = np.array(boxes, np.float32).reshape(-1, 4)
    return Detections(arr, np.full(len(arr), 0.9, np.float32), masks, size)


def test_boxes_are_two_pixel_outlines_and_the_input_is_untouched():
    frame = np.full((60, 80, 3), 50, np.uint8)
    out = draw_outline(frame, _det([[10, 20, 40, 50]]))
    assert (frame == 50).all() and out.shape == frame.shape and out.dtype == np.uint8
    drawn = (out != 50).any(-1)
    want = np.zeros((60, 80), bool)
    want[20:50, 10:40] = True
    want[22:48, 12:38] = False  # 2 pixels inside each edge
    assert (drawn == want).all()
    assert (out[drawn] == COLOR).all()


def test_boxes_scale_to_the_frame_they_are_drawn_on():
    out = draw_outline(np.zeros((120, 160, 3), np.uint8), _det([[10, 20, 40, 50]], size=(60, 80)))
    ys, xs = np.nonzero((out != 0).any(-1))
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (40, 99, 20, 79)


def test_masks_add_their_contour():
    y, x = np.mgrid[0:60, 0:80]
    disk = (y - 30) ** 2 + (x - 40) ** 2 <= 15**2
    out = draw_outline(np.zeros((60, 80, 3), np.uint8), _det([[25, 15, 56, 46]], masks=disk[None]))
    drawn = (out != 0).any(-1)
    r = np.sqrt((y - 30) ** 2 + (x - 40) ** 2)
    assert drawn[(r > 12.5) & (r <= 15) & disk].all()  # a ring 2 pixels wide just inside the edge
    assert not drawn[r < 12].any()  # the person's inside is not painted
    assert not drawn[~disk & ~((x >= 25) & (x < 56) & (y >= 15) & (y < 46))].any()  # beyond the box and disk
    nobody = draw_outline(np.zeros((60, 80, 3), np.uint8), _det([], masks=np.zeros((0, 60, 80), bool)))
    assert (nobody == 0).all()


def test_draw_outline_rejects_other_frames():
    with pytest.raises(ParameterError, match="uint8 RGB"):
        draw_outline(np.zeros((10, 10), np.uint8), _det([]))


class CountingDetector:
    """A person box over the middle of every frame wider than ``min_width`` pixels."""

    def __init__(self, min_width: int = 0) -> None:
        self.min_width, self.frames = min_width, 0

    def __call__(self, frames: np.ndarray) -> list[Detections]:
        self.frames += len(frames)
        h, w = frames.shape[1:3]
        box = [[w // 4, h // 4, 3 * w // 4, 3 * h // 4]] if w > self.min_width else []
        return [_det(box, size=(h, w)) for _ in frames]


def test_the_overlay_detects_once_per_time_bucket_and_source(tmp_path):
    detector = CountingDetector()
    overlay = people_overlay([tmp_path / "a.mp4"], PersonConfig(), every=0.5, detect=detector)
    frame = np.zeros((40, 40, 3), np.uint8)
    first = overlay(tmp_path / "a.mp4", 0.1, frame)
    assert first is not None and (first != 0).any()
    assert overlay(tmp_path / "a.mp4", 0.4, frame) is not None and detector.frames == 1  # same bucket: cached
    overlay(tmp_path / "a.mp4", 0.6, frame)
    assert detector.frames == 2
    assert overlay(tmp_path / "b.mp4", 0.1, frame) is None and detector.frames == 2  # not a source to outline
    assert PeopleOverlay([], CountingDetector(10**6))(tmp_path / "a.mp4", 0.0, frame) is None
    with pytest.raises(ParameterError, match="every=0"):
        PeopleOverlay([], detector, every=0)


def test_a_maskrcnn_overlay_fails_before_rendering_on_missing_weights(tmp_path):
    with pytest.raises(ParameterError, match="nothing.pt: no such file"):
        people_overlay([], PersonConfig(detector="maskrcnn", weights=str(tmp_path / "nothing.pt")))


def _frames(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)])


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """The hand-held clip (320x240), then a generated clip (160x90, grey) in which the fake
    detector finds nobody, rendered at 320x240 with and without the overlay."""
    root = tmp_path_factory.mktemp("outline")
    grey = np.full((30, 90, 160, 3), 100, np.uint8)
    other = write_video(root / "grey.mp4", grey, fps=30)
    timeline = Timeline(root / "song.wav", 2.0, [Cut(VIDEO_FIXTURE, 1.0, 2.0, 0.0, 1.0, 0.0),
                                                 Cut(other, 0.0, 0.8, 1.0, 2.0, 0.0, 0.8)])
    config = RenderConfig(width=320, height=240, fps=15, crf=8, preset="ultrafast")
    song = np.zeros(2 * 22050, np.float32)
    plain = render(timeline, root / "plain.mp4", config, song_audio=song, song_rate=22050)
    detector = CountingDetector(min_width=200)
    overlay = people_overlay([VIDEO_FIXTURE, other], PersonConfig(), every=0.2, detect=detector)
    outlined = render(timeline, root / "outlined.mp4", replace(config, outline="people"),
                      song_audio=song, song_rate=22050, overlay=overlay)
    return _frames(plain), _frames(outlined), detector


def test_rendered_frames_change_only_where_people_are(renders):
    plain, outlined, detector = renders
    assert plain.shape == outlined.shape == (30, 240, 320, 3)
    assert detector.frames == 5 + 4  # 1 s of the clip and 0.8 s of the grey one, one detection per 0.2 s
    edge = outlined[:15, 60:180, 80:82]  # the left edge of the box (x = 80, 2 pixels), clip frames
    assert (edge[..., 1] > 200).all() and (edge[..., [0, 2]] < 90).all()  # bright green
    assert (np.abs(outlined[:15] - plain[:15]).max(axis=(1, 2, 3)) > 100).all()
    assert np.abs(outlined[:15, 70:170, 90:230] - plain[:15, 70:170, 90:230]).mean() < 2  # the box's inside kept
    assert np.abs(outlined[15:] - plain[15:]).max() <= 3  # nobody in the grey clip: as decoded


def test_an_overlay_returning_another_size_is_an_error(tmp_path):
    timeline = Timeline(tmp_path / "song.wav", 0.5, [Cut(VIDEO_FIXTURE, 0.0, 0.5, 0.0, 0.5, 0.0)])
    with pytest.raises(ParameterError, match="overlay returned a picture of shape"):
        render(timeline, tmp_path / "out.mp4", RenderConfig(width=64, height=48, fps=10), song_audio=np.zeros(
            22050, np.float32), song_rate=22050, overlay=lambda source, t, frame: frame[:10])
