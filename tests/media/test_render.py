"""Rendering: frame-accurate cuts, retimed segments, fitting, the song as sound, atomic output."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from mediagen import tone, write_video
from videothat.core.errors import ParameterError
from videothat.core.timeline import Cut, Timeline
from videothat.media.audio import decode_audio
from videothat.media.config import RenderConfig
from videothat.media.probe import probe
from videothat.media.render import fit_frame, frame_plan, render

STEP = 5  # brightness step per source frame: frame i shows level STEP * i (i < 50)


def counting_video(path: Path, fps: int, size: tuple[int, int], n: int = 50) -> Path:
    """Each frame shows its own index as a flat grey level (the timestamp is the picture)."""
    levels = (np.arange(n) * STEP).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (n, *size, 3)).copy()
    return write_video(path, frames, fps=fps, audio=tone(n / fps, 44100, amp=0.1), sr=44100)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    a = counting_video(root / "a.mp4", 25, (120, 160))  # 4:3 at 25 fps
    b = counting_video(root / "b.mp4", 30, (90, 160))  # 16:9 at 30 fps
    song = tone(3.0, 22050, 330.0, amp=0.3)[0] * np.sin(np.linspace(0, 40, 3 * 22050)).astype(np.float32)
    timeline = Timeline(root / "song.wav", 3.0, [
        Cut(a, 0.52, 1.52, 0.0, 1.0, 0.0),
        Cut(b, 0.2, 1.4, 1.0, 2.2, 0.0),
        Cut(a, 1.0, 1.8, 2.2, 3.0, 0.0),
    ])
    out = render(timeline, root / "out.mp4", RenderConfig(width=320, height=180, fps=30, crf=10),
                 song_audio=song, song_rate=22050)
    return timeline, out, song


def test_each_frame_comes_from_its_source_time(rendered):
    timeline, out, _ = rendered
    fps = {"a.mp4": 25, "b.mp4": 30}
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 90
    for n, image in enumerate(frames):
        t = n / 30
        cut = next(c for c in timeline.segments if c.song_start <= t < c.song_end)
        want = np.floor((cut.source_start + t - cut.song_start) * fps[cut.source.name] + 1e-6)
        centre = image[60:120, 140:180].mean()
        assert abs(centre - STEP * want) < STEP / 2, (n, centre, STEP * want)  # codec rounding, not a neighbour


def _centre_levels(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24")[60:120, 140:180].mean() for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def retimed(tmp_path_factory):
    """Shot a (25 fps) at 1.5 x, then shot b (30 fps) at 0.75 x; in-points chosen so no
    output frame falls within 2 ms of a source frame boundary."""
    root = tmp_path_factory.mktemp("retimed")
    a = counting_video(root / "a.mp4", 25, (120, 160))
    b = counting_video(root / "b.mp4", 30, (90, 160))
    timeline = Timeline(root / "song.wav", 2.0, [
        Cut(a, 0.212, 0.212 + 1.5 * 1.0, 0.0, 1.0, 0.0, 1.5),
        Cut(b, 0.105, 0.105 + 0.75 * 1.0, 1.0, 2.0, 0.0, 0.75),
    ])
    out = render(timeline, root / "out.mp4", RenderConfig(width=320, height=180, fps=30, crf=10),
                 song_audio=np.zeros(2 * 22050, np.float32), song_rate=22050)
    return timeline, out


def test_retimed_segments_show_their_source_times(retimed):
    timeline, out = retimed
    fps = {"a.mp4": 25, "b.mp4": 30}
    levels = _centre_levels(out)
    assert len(levels) == 60
    for n, centre in enumerate(levels):
        t = n / 30
        cut = next(c for c in timeline.segments if c.song_start <= t < c.song_end)
        want = np.floor((cut.source_start + cut.speed * (t - cut.song_start)) * fps[cut.source.name])
        assert abs(centre - STEP * want) < STEP / 2, (n, centre, STEP * want)
    # really retimed: 1.5 x skips source frames, 0.75 x repeats them
    first, second = np.round(np.array(levels[:30]) / STEP), np.round(np.array(levels[30:]) / STEP)
    assert first[-1] - first[0] == 36  # 29 output frames at 1.5 x of 25 fps: source frames 5 .. 41
    assert second[-1] - second[0] == 21  # 29 output frames at 0.75 x of 30 fps: source frames 3 .. 24
    assert set(np.diff(first)) == {1, 2} and set(np.diff(second)) == {0, 1}


def test_frame_plan_follows_speed_through_crossfades():
    timeline = Timeline(Path("song.wav"), 2.0, [Cut(Path("a.mp4"), 0.5, 2.0, 0.0, 1.0, 0.0, 1.5),
                                                Cut(Path("b.mp4"), 0.1, 0.85, 1.0, 2.0, 0.0, 0.75)])
    plan = frame_plan(timeline, 10.0, crossfade=0.4)
    a, b = plan
    assert a.frames.tolist() == list(range(12)) and b.frames.tolist() == list(range(8, 20))
    t_a, t_b = a.frames / 10.0, b.frames / 10.0
    np.testing.assert_allclose(a.times, 0.5 + 1.5 * t_a)  # on past its out-point (2.0 s) at 1.5 x
    np.testing.assert_allclose(b.times, np.maximum(0.1 + 0.75 * (t_b - 1.0), 0.0))  # in before, from 0
    assert b.times[0] == 0.0 and a.times[-1] > 2.0
    np.testing.assert_allclose(a.weights[8:12] + b.weights[:4], 1.0)


def test_frame_plan_never_reads_past_the_out_point():
    """A source span a hair shorter than speed x song span (within validation's tolerance):
    the segment's own frames stop at source_end."""
    timeline = Timeline(Path("song.wav"), 1.0, [Cut(Path("a.mp4"), 0.0, 1.2 - 0.0009, 0.0, 1.0, 0.0, 1.2)])
    (part,) = frame_plan(timeline.validate(), 10_000.0)  # the last frame's line time is 1.19988 s
    assert part.times.max() == 1.2 - 0.0009 and part.times[5000] == pytest.approx(0.6)


def test_duration_size_and_sound(rendered):
    timeline, out, song = rendered
    info = probe(out)
    assert (info.video.width, info.video.height) == (320, 180)
    assert info.duration == pytest.approx(3.0, abs=1 / 30)
    sound = decode_audio(out, 22050)[: song.size]
    assert np.corrcoef(sound, song[: sound.size])[0, 1] > 0.95
    middle = slice(11025, sound.size - 11025)  # away from the codec's priming and padding
    level_db = 10 * np.log10(np.mean(sound[middle] ** 2) / np.mean(song[middle] ** 2))
    assert abs(level_db) < 0.3  # the song plays at its own level (mono on both channels)


def test_fit_keeps_the_aspect_ratio():
    from videothat.media.render import to_frame

    square = av.VideoFrame.from_ndarray(np.full((100, 100, 3), 200, np.uint8), format="rgb24")
    boxed = to_frame(fit_frame(square, 160, 90, "letterbox")).to_ndarray(format="rgb24")
    cols = np.flatnonzero(boxed[45, :, 0] > 100)
    assert boxed.shape == (90, 160, 3) and cols[0] == 34 and cols[-1] == 123  # 90x90 centred (even offset)
    assert boxed[:, :30].max() < 10 and boxed[:, 130:].max() < 10  # black bars
    cropped = to_frame(fit_frame(square, 160, 90, "crop")).to_ndarray(format="rgb24")
    assert (cropped[..., 0] > 100).all()


def test_failed_render_leaves_nothing(tmp_path):
    timeline = Timeline(tmp_path / "song.wav", 1.0, [Cut(tmp_path / "missing.mp4", 0.0, 1.0, 0.0, 1.0, 0.0)])
    with pytest.raises(Exception, match="missing.mp4"):
        render(timeline, tmp_path / "out.mp4", RenderConfig(width=64, height=36),
               song_audio=np.zeros(22050, np.float32), song_rate=22050)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kw, word", [(dict(width=101), "even"), (dict(fps=0.5), "fps"), (dict(fit="stretch"), "fit")])
def test_bad_render_parameters(kw, word):
    with pytest.raises(ParameterError, match=word):
        RenderConfig(**kw)


def test_rotated_sources_are_shown_upright(tmp_path):
    """A phone-style video whose display matrix says: turn 90 degrees counter-clockwise."""
    source = tmp_path / "rot.mp4"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(90)
        image = np.zeros((32, 64, 3), np.uint8)
        image[:, :32] = 255  # left half white: upright, the bottom half is white
        for _ in range(25):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    timeline = Timeline(tmp_path / "song.wav", 0.5, [Cut(source, 0.0, 0.5, 0.0, 0.5, 0.0)])
    out = render(timeline, tmp_path / "out.mp4", RenderConfig(width=64, height=64, fps=10),
                 song_audio=np.zeros(11025, np.float32), song_rate=22050)
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")[..., 0].astype(int)
    assert frame[48, 32] > 200 and frame[16, 32] < 50  # upright: white below, black above
    assert frame[:, :12].max() < 50 and frame[:, 52:].max() < 50  # 32x64 picture pillar-boxed in 64x64


def test_crossfade_blends_around_the_cut(tmp_path):
    dark = write_video(tmp_path / "dark.mp4", np.full((30, 32, 32, 3), 40, np.uint8), fps=10)
    light = write_video(tmp_path / "light.mp4", np.full((30, 32, 32, 3), 200, np.uint8), fps=10)
    timeline = Timeline(tmp_path / "song.wav", 2.0, [Cut(dark, 0.0, 1.0, 0.0, 1.0, 0.0),
                                                     Cut(light, 1.0, 2.0, 1.0, 2.0, 0.0)])
    levels = {}
    for fade in (0.0, 0.6):
        out = render(timeline, tmp_path / f"out{fade}.mp4", RenderConfig(width=32, height=32, fps=10, crf=0,
                                                                         crossfade=fade),
                     song_audio=np.zeros(44100, np.float32), song_rate=22050)
        with av.open(str(out)) as container:
            levels[fade] = [f.to_ndarray(format="rgb24").mean() for f in container.decode(video=0)]
    assert all(abs(v - 40) < 3 for v in levels[0.0][:10]) and all(abs(v - 200) < 3 for v in levels[0.0][10:])
    ramp = levels[0.6][6:14]  # frames from 0.6 s to 1.3 s: the 0.7-1.3 s fade
    assert all(b > a for a, b in zip(ramp[1:], ramp[2:], strict=False))  # rising through the fade
    assert abs(levels[0.6][10] - 120) < 15  # half way at the cut
    assert abs(levels[0.6][5] - 40) < 3 and abs(levels[0.6][15] - 200) < 3  # untouched outside it
