"""A new sound track under a video's pictures: pictures copied bit for bit, the sound as given."""

from __future__ import annotations

import av
import numpy as np
import pytest

from videothat.core.errors import NoVideoError
from videothat.media.audio import decode_audio
from videothat.media.mux import with_sound
from videothat.media.synthetic import segment_frames, tone, write_audio, write_video

SR = 22050


def _video_packets(path):
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def test_pictures_are_copied_and_the_sound_replaced(tmp_path):
    from conftest import VIDEO_FIXTURE

    sound = tone(20.0, SR, 330.0, amp=0.4)[0]
    out = with_sound(VIDEO_FIXTURE, sound, SR, tmp_path / "new.mp4")
    assert _video_packets(out) == _video_packets(VIDEO_FIXTURE)  # no re-encoding
    heard = decode_audio(out, SR)
    with av.open(str(VIDEO_FIXTURE)) as c:
        seconds = float(c.streams.video[0].duration * c.streams.video[0].time_base)
    assert abs(heard.size / SR - seconds) < 0.1  # cut to the pictures' length
    spectrum = np.abs(np.fft.rfft(heard[SR : 3 * SR]))
    assert abs(np.argmax(spectrum) * SR / (2 * SR) - 330.0) < 2.0  # the new sound, not the old
    assert not list(tmp_path.glob(".*tmp*"))


def test_a_silent_video_gets_sound_padded_to_its_length(tmp_path):
    silent = write_video(tmp_path / "silent.mp4", segment_frames(50, 1), fps=25)
    out = with_sound(silent, tone(0.5, SR)[0], SR, tmp_path / "out.mp4")
    heard = decode_audio(out, SR)
    assert abs(heard.size / SR - 2.0) < 0.1 and np.abs(heard[SR:]).max() < 1e-3  # zeros after the sound


def test_no_pictures_is_refused_and_nothing_is_written(tmp_path):
    song = write_audio(tmp_path / "song.wav", tone(1.0, SR), sr=SR)
    with pytest.raises(NoVideoError, match="song.wav: has no video stream"):
        with_sound(song, tone(1.0, SR)[0], SR, tmp_path / "out.mp4")
    assert not list(tmp_path.glob("*out*")) and not list(tmp_path.glob(".*"))


def test_pictures_that_start_late_start_with_the_sound(tmp_path):
    """A stream whose first picture is at 1 s (trimmed clips, .ts files): pictures and sound both start at 0."""
    from fractions import Fraction

    late = tmp_path / "late.mp4"
    with av.open(str(late), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i, picture in enumerate(segment_frames(50, 2, size=(48, 64))):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = 25 + i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with av.open(str(late)) as c:
        assert float(c.streams.video[0].start_time * c.streams.video[0].time_base) == pytest.approx(1.0, abs=0.05)
    out = with_sound(late, tone(2.0, SR)[0], SR, tmp_path / "out.mp4")
    with av.open(str(out)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        first_picture = next(c.decode(video)).time
        assert abs(first_picture) < 0.05 and abs(float(audio.start_time * audio.time_base)) < 0.05
    assert abs(decode_audio(out, SR).size / SR - 2.0) < 0.1
