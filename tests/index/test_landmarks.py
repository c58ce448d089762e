"""Landmark fingerprints: peaks and pairs against brute-force loops, queries on real music."""

from __future__ import annotations

import numpy as np
import pytest

from mediagen import FIXTURES
from videothat.core.errors import CacheError, ParameterError
from videothat.index.config import LandmarkConfig
from videothat.index.landmarks import (
    MAX_DF,
    MAX_DT,
    LandmarkIndex,
    Landmarks,
    landmarks,
    pair_peaks,
    peaks,
    query_landmarks,
    spectrogram,
)
from videothat.media.audio import decode_audio

CONFIG = LandmarkConfig()
SR = CONFIG.sample_rate


@pytest.fixture(scope="module")
def songs() -> dict[str, np.ndarray]:
    names = ("rock_war_of_freedom_30s.ogg", "electro_pushover_20s.ogg", "boogie_A_fluidr3_20s.ogg")
    return {n: decode_audio(FIXTURES / n, SR) for n in names}


@pytest.fixture(scope="module")
def index(songs) -> LandmarkIndex:
    return LandmarkIndex.build(CONFIG, [(n, landmarks(x, CONFIG)) for n, x in songs.items()])


def test_spectrogram_equals_a_frame_by_frame_fft(songs):
    x = songs["electro_pushover_20s.ogg"][: 20 * CONFIG.hop_length]
    got = spectrogram(x, CONFIG)
    window = np.hanning(CONFIG.n_fft)
    for t in (0, 7, got.shape[1] - 1):
        frame = x[t * CONFIG.hop_length : t * CONFIG.hop_length + CONFIG.n_fft] * window
        want = np.log(np.abs(np.fft.rfft(frame))[: got.shape[0]] + 1e-6)
        np.testing.assert_allclose(got[:, t], want, atol=1e-3)


def test_peaks_are_the_local_maxima_a_loop_finds(songs):
    config = LandmarkConfig(density=200, min_db=0.0)
    spec = spectrogram(songs["rock_war_of_freedom_30s.ogg"][: 3 * SR], config)
    frames, bins = peaks(spec, config)
    want = set()
    nb, nt = spec.shape
    for f in range(nb):
        for t in range(nt):
            zone = spec[max(0, f - config.peak_bins) : f + config.peak_bins + 1,
                        max(0, t - config.peak_frames) : t + config.peak_frames + 1]
            if spec[f, t] == zone.max() and spec[f, t] > np.median(spec[:, t]):
                want.add((t, f))
    got = set(zip(frames.tolist(), bins.tolist(), strict=True))
    assert got <= want
    assert len(got) >= 0.95 * len(want)  # the density cap (200/s) keeps nearly all
    assert np.all(np.diff(frames) >= 0)


def test_pairs_equal_a_loop_over_target_zones():
    rng = np.random.default_rng(3)
    frames = np.sort(rng.integers(0, 400, 300)).astype(np.int32)
    bins = rng.integers(0, 180, 300).astype(np.int32)
    order = np.lexsort((bins, frames))
    frames, bins = frames[order], bins[order]
    config = LandmarkConfig(fanout=4)
    got = pair_peaks(frames, bins, config)
    want_h, want_t = [], []
    for i in range(len(frames)):
        taken = 0
        for j in range(i + 1, min(len(frames), i + 1 + 8 * config.fanout)):
            dt, df = frames[j] - frames[i], bins[j] - bins[i]
            if 1 <= dt <= MAX_DT and abs(df) <= MAX_DF and taken < config.fanout:
                want_h.append((bins[i] << 12) | ((df + 32) << 6) | dt)
                want_t.append(frames[i])
                taken += 1
    np.testing.assert_array_equal(got.hashes, np.array(want_h, np.uint32))
    np.testing.assert_array_equal(got.frames, np.array(want_t, np.int32))


@pytest.mark.parametrize("start", [3.0, 7.31, 14.9])
def test_an_excerpt_is_found_at_its_place(songs, index, start):
    x = songs["rock_war_of_freedom_30s.ogg"]
    clip = x[round(start * SR) : round((start + 3) * SR)]
    noisy = clip + np.random.default_rng(0).standard_normal(clip.size).astype(np.float32) * clip.std() / 3  # 10 dB
    for query in (clip, 0.25 * clip, noisy):
        found = index.query(query_landmarks(query, CONFIG), top=3)
        assert found[0].item == "rock_war_of_freedom_30s.ogg"
        assert abs(found[0].offset - start) <= 1.01 * CONFIG.hop_length / SR  # within a frame
        assert found[0].votes > 10 * max([m.votes for m in found[1:]] or [1])


def test_a_longer_query_has_more_votes_at_the_same_place(songs, index):
    """This track loops (its first 3 s come back at 6.9 s): the whole excerpt's offset must
    still win over the loop's, which only part of it shares."""
    x = songs["electro_pushover_20s.ogg"]
    short, long = (index.query(query_landmarks(x[5 * SR : (5 + s) * SR], CONFIG))[0] for s in (2, 5))
    assert short.item == long.item == "electro_pushover_20s.ogg"
    assert abs(short.offset - 5) < 0.05 and abs(long.offset - 5) < 0.05 and long.votes > 2 * short.votes


def test_query_shifts_pool_distinct_landmarks(songs):
    clip = songs["electro_pushover_20s.ogg"][: 3 * SR]
    one, four = landmarks(clip, CONFIG), query_landmarks(clip, CONFIG, shifts=4)
    assert len(four) > 1.5 * len(one)
    pairs = set(zip(four.hashes.tolist(), four.frames.tolist(), strict=True))
    assert len(pairs) == len(four)  # each once
    assert set(zip(one.hashes.tolist(), one.frames.tolist(), strict=True)) <= pairs  # shift 0 is the plain analysis
    with pytest.raises(ParameterError, match="shifts"):
        query_landmarks(clip, CONFIG, shifts=0)


def test_silence_and_unknown_sound_find_nothing_strong(index):
    assert index.query(query_landmarks(np.zeros(3 * SR, np.float32), CONFIG)) == []
    tone = np.sin(2 * np.pi * 440 * np.arange(3 * SR) / SR).astype(np.float32)
    assert all(m.votes < 10 for m in index.query(query_landmarks(tone, CONFIG)))


def test_save_and_load_round_trip_and_a_damaged_file_is_named(index, tmp_path):
    path = tmp_path / "songs.landmarks.npz"
    index.save(path)
    again = LandmarkIndex.load(path)
    assert again.names == index.names and again.config == index.config
    np.testing.assert_array_equal(again.hashes, index.hashes)
    assert not list(tmp_path.glob("*.tmp*"))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CacheError, match="songs.landmarks.npz.*rebuild"):
        LandmarkIndex.load(path)


def test_bad_parameters_and_names_are_refused():
    with pytest.raises(ParameterError, match="fmax"):
        LandmarkConfig(fmax=9000.0)
    with pytest.raises(ParameterError, match="density"):
        LandmarkConfig(density=0)
    empty = Landmarks(np.zeros(0, np.uint32), np.zeros(0, np.int32))
    with pytest.raises(ParameterError, match="unique"):
        LandmarkIndex.build(CONFIG, [("a", empty), ("a", empty)])


def test_five_seconds_are_never_worse_than_two_from_the_same_place(songs, index):
    """Offsets must agree, so a longer query only adds votes to the right answer: wherever
    the first 2 s of an excerpt are identified, the whole 5 s are too, under 10 dB noise."""
    rng = np.random.default_rng(5)
    right = {2: 0, 5: 0}
    for name, x in songs.items():
        for start in np.arange(0.5, x.size / SR - 5, 2.7):
            clip = x[round(start * SR) : round((start + 5) * SR)]
            clip = clip + rng.standard_normal(clip.size).astype(np.float32) * clip.std() / 3
            hit = {}
            for seconds in (2, 5):
                best = index.query(query_landmarks(clip[: seconds * SR], CONFIG), top=1)
                hit[seconds] = bool(best) and best[0].item == name and abs(best[0].offset - start) <= 0.5
                right[seconds] += hit[seconds]
            assert hit[5] >= hit[2], (name, start)
    assert right[5] >= right[2] > 0
