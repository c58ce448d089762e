"""Probing and decoding real and generated media, and every kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from conftest import AUDIO_FIXTURES, VIDEO_FIXTURE
from mediagen import cut_video, segment_frames, tone, write_audio, write_video
from videothat.core.errors import CorruptMediaError, MediaNotFoundError, NoAudioError
from videothat.media.audio import decode_audio, peak_dbfs
from videothat.media.probe import probe


def _dominant_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.argmax(spectrum) * sr / y.size)


def test_probe_real_video():
    info = probe(VIDEO_FIXTURE)
    assert info.video.width == 320 and info.video.height == 240
    assert info.video.fps == pytest.approx(29.97, abs=0.01)
    assert info.audio.sample_rate == 44100
    assert info.duration == pytest.approx(15.2, abs=0.1)


@pytest.mark.parametrize("path", AUDIO_FIXTURES, ids=lambda p: p.name)
def test_decode_matches_soundfile(path):
    ours = decode_audio(path, 22050)  # fixtures are 22050 Hz mono: no resampling
    ref, sr = soundfile.read(path, dtype="float32")
    assert sr == 22050 and ours.shape == ref.shape
    assert np.abs(ours - np.clip(ref, -1, 1)).max() < 1e-4  # decode_audio clips to [-1, 1]


@pytest.mark.parametrize(
    "suffix, codec, rate",
    [("wav", "pcm_s16le", 44100), ("flac", "flac", 48000), ("mp3", "libmp3lame", 44100),
     ("ogg", "libopus", 48000), ("m4a", "aac", 44100), ("mka", "mp2", 32000), ("webm", "libopus", 48000)],
)
def test_decode_any_container_resampled_and_downmixed(tmp_path, suffix, codec, rate):
    path = write_audio(tmp_path / f"tone.{suffix}", tone(2.0, rate, 440.0, amp=0.5, channels=2), sr=rate, codec=codec)
    y = decode_audio(path, 22050)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.size / 22050 - 2.0) < 0.06  # codec priming / padding
    assert _dominant_hz(y, 22050) == pytest.approx(440.0, abs=2.0)
    assert 0.4 < np.abs(y).max() < 0.6  # channel mean: no +3 dB from the down-mix


@pytest.mark.parametrize("suffix, vcodec, acodec", [("mkv", "libx264", "libopus"), ("avi", "mpeg4", "mp2"),
                                                     ("mpg", "mpeg2video", "mp2"), ("webm", "libvpx", "libopus")])
def test_decode_video_containers(tmp_path, suffix, vcodec, acodec):
    rate = 48000
    path = write_video(tmp_path / f"v.{suffix}", segment_frames(25, 1, size=(64, 64)), fps=25,
                       audio=tone(1.0, rate, 880.0), sr=rate, vcodec=vcodec, acodec=acodec)
    assert probe(path).video is not None
    y = decode_audio(path, 22050)
    assert _dominant_hz(y, 22050) == pytest.approx(880.0, abs=3.0)


def test_missing_file(tmp_path):
    with pytest.raises(MediaNotFoundError, match="nope.mp4: no such file"):
        decode_audio(tmp_path / "nope.mp4", 22050)


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(CorruptMediaError, match=r"empty.mp4: is empty \(0 bytes\)"):
        probe(tmp_path / "empty.mp4")


def test_not_media(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(np.random.default_rng(0).bytes(10_000))
    with pytest.raises(CorruptMediaError, match="junk.mp4: cannot be read as media"):
        decode_audio(tmp_path / "junk.mp4", 22050)


def test_truncated_mp4(tmp_path):
    data = VIDEO_FIXTURE.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMediaError, match="cut.mp4"):
        decode_audio(tmp_path / "cut.mp4", 22050)


def test_truncated_file_whose_index_comes_first(tmp_path):
    path = write_video(tmp_path / "whole.mp4", segment_frames(150, 1), fps=25, audio=tone(6.0, 44100),
                       options={"movflags": "faststart"})
    data = path.read_bytes()
    (tmp_path / "part.mp4").write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(CorruptMediaError, match=r"part.mp4: audio is corrupt after \d\.\d\d s"):
        decode_audio(tmp_path / "part.mp4", 22050)


def test_video_without_audio(tmp_path):
    path = cut_video(tmp_path / "mute.mp4", [], 1.0)
    assert probe(path).audio is None
    with pytest.raises(NoAudioError, match="mute.mp4: has no audio stream"):
        decode_audio(path, 22050)


def test_peak_dbfs():
    assert peak_dbfs(np.zeros(10, np.float32)) == float("-inf")
    assert peak_dbfs(np.array([0.0, -0.5], np.float32)) == pytest.approx(-6.02, abs=0.01)


@pytest.mark.parametrize("fixture", ["rock_war_of_freedom_30s.ogg", "handheld_box_with_sound.mp4"])
def test_range_decoding_matches_whole_file_decoding(fixture, tmp_path):
    from mediagen import FIXTURES
    from videothat.media.audio import decode_audio_range

    path = FIXTURES / fixture
    whole = decode_audio(path, 22050)
    wav = write_audio(tmp_path / "x.wav", whole[None], sr=22050)
    for source in (path, wav):
        for start in (0.0, 3.3, 7.77):
            got = decode_audio_range(source, 22050, start, 1.2)
            want = whole[round(start * 22050) : round(start * 22050) + got.size]
            # this file's AAC timestamps jitter by < 1 ms around its sample count: allow a lag that size
            lags = range(-22, 23) if source.suffix == ".mp4" else [0]
            best = max(float(np.corrcoef(np.roll(got, lag)[30:-30], want[30:-30])[0, 1]) for lag in lags)
            assert got.size == round(1.2 * 22050) and best > (0.97 if lags != [0] else 0.9999), (source, start)
    tail = decode_audio_range(wav, 22050, whole.size / 22050 - 0.5, 1.0)
    assert np.all(tail[round(0.5 * 22050) + 1 :] == 0)  # zero past the end


def test_lossy_round_trip_is_aligned_and_degraded():
    from mediagen import FIXTURES
    from videothat.media.audio import lossy_roundtrip

    x = decode_audio(FIXTURES / "rock_war_of_freedom_30s.ogg", 22050)[22050 : 3 * 22050]
    y = lossy_roundtrip(x, 22050, bit_rate=32000)
    assert y.shape == x.shape
    r = float(np.corrcoef(x, y)[0, 1])
    assert 0.8 < r < 0.9999  # the same sound, aligned (codec delay removed), but not identical


def test_mono_into_a_stereo_stream_keeps_its_level(tmp_path):
    """A mono song in a stereo sound track plays at its own level on each channel (no -3 dB upmix)."""
    import av

    from videothat.media.audio import encode_audio

    rate = 44100
    y = tone(2.0, rate, 440.0, amp=0.5)
    path = tmp_path / "stereo.m4a"
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "stereo"
        encode_audio(out, stream, y, rate)
    with av.open(str(path)) as container:
        decoded = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)  # planar [2, n]
    assert decoded.shape[0] == 2
    middle = slice(rate // 2, 3 * rate // 2)  # away from the codec's priming and padding
    for channel in decoded:
        ratio_db = 20 * np.log10(np.sqrt(np.mean(channel[middle] ** 2)) / np.sqrt(np.mean(y[0, middle] ** 2)))
        assert abs(ratio_db) < 0.3
