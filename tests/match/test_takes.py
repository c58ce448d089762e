"""Long takes: whole-curve alignment against a brute-force loop, and a concert film placed
whole by ``match.mode=take``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import AUDIO_FIXTURES
from mediagen import cut_video, write_audio
from videothat.analysis import AnalysisConfig, analyze
from videothat.catalog import Catalog
from videothat.match.assemble import match
from videothat.match.config import MatchConfig
from videothat.match.takes import align_takes
from videothat.media.audio import decode_audio

SR = 22050


def test_alignment_equals_a_brute_force_loop():
    rng = np.random.default_rng(2)
    song = rng.random(120) ** 3
    takes = [np.concatenate([rng.random(30) ** 3, song[:70], rng.random(10)]), rng.random(200) ** 3, song[40:]]
    got = align_takes(torch.from_numpy(song), [torch.from_numpy(t) for t in takes], min_overlap=40)
    for i, take in enumerate(takes):
        best, where = -np.inf, None
        x, y = take - take.mean(), song - song.mean()
        for lag in range(-(len(song) - 1), len(take)):
            lo, hi = max(0, -lag), min(len(song), len(take) - lag)
            if hi - lo < 40:
                continue
            a, b = x[lo + lag : hi + lag], y[lo:hi]
            r = float(a @ b / np.sqrt((a @ a) * (b @ b)))
            if r > best:
                best, where = r, lag
        assert got.lag[i] == where and got.r[i] == pytest.approx(best, abs=1e-9)
    assert got.lag[0] == 30 and got.lag[2] == -40  # the take starts 30 frames before / 40 after the song


def test_a_concert_film_is_placed_whole(tmp_path):
    """A long take holds the song from 5 s in, between other sounds, with camera cuts of its
    own; another video has other music. Take mode plays the take where it lines up."""
    rock = decode_audio(next(p for p in AUDIO_FIXTURES if "rock" in p.name), SR)
    other = decode_audio(next(p for p in AUDIO_FIXTURES if "electro" in p.name), SR)
    song = rock[: 20 * SR]
    song_path = write_audio(tmp_path / "song.wav", song[None], sr=SR)
    film = np.concatenate([other[: 5 * SR] * 0.5, song, other[5 * SR : 8 * SR] * 0.5])
    cut_video(tmp_path / "concert.mp4", [4.0, 11.0, 19.0], len(film) / SR, audio=film[None], sr=SR, first_seed=3)
    cut_video(tmp_path / "b_roll.mp4", [3.0, 7.0], 12.0, audio=other[8 * SR : 20 * SR][None], sr=SR, first_seed=30)
    cfg = AnalysisConfig()
    videos = analyze([tmp_path / "concert.mp4", tmp_path / "b_roll.mp4"], cfg, catalog=Catalog(tmp_path / "c",
                                                                                              cfg.cache_params()))
    songs = cfg.for_songs()
    (song_a,) = analyze([song_path], songs, catalog=Catalog(tmp_path / "c", songs.cache_params())).analyses
    base = MatchConfig()
    result = match(song_a, videos.analyses, replace(base, search=replace(base.search, mode="take")))
    (cut,) = result.timeline.segments
    assert cut.source.name == "concert.mp4" and cut.speed == 1.0
    assert cut.song_start == 0.0 and cut.song_end == pytest.approx(20.0, abs=1e-6)
    assert cut.source_start == pytest.approx(5.0, abs=1.5 / song_a.frame_rate)


def test_song_time_no_take_covers_is_filled_with_shots(tmp_path):
    rock = decode_audio(next(p for p in AUDIO_FIXTURES if "rock" in p.name), SR)
    other = decode_audio(next(p for p in AUDIO_FIXTURES if "electro" in p.name), SR)
    song = rock[: 20 * SR]
    song_path = write_audio(tmp_path / "song.wav", song[None], sr=SR)
    film = np.concatenate([other[: 5 * SR] * 0.5, song[: 12 * SR]])  # the take stops 12 s into the song
    cut_video(tmp_path / "concert.mp4", [9.0], len(film) / SR, audio=film[None], sr=SR, first_seed=3)
    pieces = np.concatenate([song[16 * SR :], song[12 * SR : 16 * SR]])  # the rest, as two shots
    cut_video(tmp_path / "shots.mp4", [4.0], 8.0, audio=pieces[None], sr=SR, first_seed=30)
    cfg = AnalysisConfig()
    videos = analyze([tmp_path / "concert.mp4", tmp_path / "shots.mp4"], cfg,
                     catalog=Catalog(tmp_path / "c", cfg.cache_params()))
    songs = cfg.for_songs()
    (song_a,) = analyze([song_path], songs, catalog=Catalog(tmp_path / "c", songs.cache_params())).analyses
    base = MatchConfig()
    timeline = match(song_a, videos.analyses, replace(base, search=replace(base.search, mode="take"))).timeline
    first, *rest = timeline.segments
    assert first.source.name == "concert.mp4" and first.song_end == pytest.approx(12.0, abs=0.05)
    assert first.source_start == pytest.approx(5.0, abs=1.5 / song_a.frame_rate)
    assert [c.source.name for c in rest] == ["shots.mp4", "shots.mp4"]
    assert rest[0].source_start == pytest.approx(4.0, abs=0.05) and rest[1].source_start == pytest.approx(0.0, abs=0.05)
