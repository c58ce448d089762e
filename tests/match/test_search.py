"""Beam search: exact coverage, constraints, determinism, greedy baseline, reconstruction."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from videothat.match.config import ScoreConfig, SearchConfig
from videothat.match.correlate import prefix_scores, prepare_song, shot_bank
from videothat.match.search import SearchError, search

FR = 22050 / 512
SCORE = ScoreConfig()


def novelty_like(rng: np.random.Generator, frames: int) -> np.ndarray:
    spikes = (rng.random(frames) < 3 / FR) * rng.uniform(1, 4, frames)
    return (np.convolve(spikes, np.exp(-np.arange(6) / 2.0))[:frames] + 0.2 * rng.random(frames)).astype(np.float32)


def _setup(seed: int, n_shots: int, song_s: float, device: str = "cpu"):
    rng = np.random.default_rng(seed)
    song = novelty_like(rng, round(song_s * FR))
    curves = [novelty_like(rng, int(rng.uniform(1.2, 6) * FR)) for _ in range(n_shots)]
    onsets = torch.from_numpy(np.flatnonzero(song > 2.0))
    bank = shot_bank([torch.from_numpy(c) for c in curves], SCORE, device=device)
    return bank, prepare_song(torch.from_numpy(song), SCORE, device=device), onsets


def _run(bank, song, onsets, **kw):
    return search(bank, song, frame_rate=FR, score=SCORE, config=SearchConfig(**kw), onsets=onsets,
                  duration=len(song) / FR - 0.004)


def _check_cover(placements, bank, song, config: SearchConfig, duration: float):
    assert placements[0].start == 0 and placements[0].start_time == 0.0
    assert placements[-1].end == len(song) and placements[-1].end_time == pytest.approx(duration)
    for a, b in zip(placements, placements[1:], strict=False):
        assert a.end == b.start and a.end_time == b.start_time
    for p in placements:
        assert p.in_frame + p.length <= int(bank.lengths[p.shot]) + 1  # natural ends may round up
        assert config.min_length - 1 / FR <= p.end_time - p.start_time <= config.max_length + 1 / FR


@pytest.mark.parametrize("width", [1, 4, 16])
def test_covers_the_song_exactly_within_lengths_without_reuse(width, device):
    bank, song, onsets = _setup(0, 60, 40.0, device)
    config = SearchConfig(beam_width=width, min_length=1.0, max_length=5.0)
    placements = _run(bank, song, onsets, beam_width=width, min_length=1.0, max_length=5.0)
    _check_cover(placements, bank, song, config, len(song) / FR - 0.004)
    assert len({p.shot for p in placements}) == len(placements)


def test_deterministic():
    bank, song, onsets = _setup(1, 40, 30.0)
    assert _run(bank, song, onsets) == _run(bank, song, onsets)


def test_segment_ends_are_onsets_shot_ends_or_the_song_end():
    bank, song, onsets = _setup(2, 50, 30.0)
    onset_set = set(onsets.tolist())
    for p in _run(bank, song, onsets, snap="onsets"):
        natural = abs(p.in_frame + p.length - int(bank.lengths[p.shot])) <= 1  # exact end time, rounded
        assert p.end in onset_set or p.end == len(song) or natural


def test_width_one_is_the_original_greedy():
    """Reference: at each cut, the allowed (shot, length) with the best score, by loops."""
    bank, song, onsets = _setup(3, 25, 20.0)
    config = SearchConfig(beam_width=1, snap="none", min_length=1.0, max_length=4.0)
    got = search(bank, song, frame_rate=FR, score=SCORE, config=config)
    t, min_f, max_f = len(song), round(1.0 * FR), round(4.0 * FR)
    pos, used, want = 0, set(), []
    while pos < t:
        k = min(max_f, t - pos)
        scores = prefix_scores(bank, song, pos, max_frames=k, frame_rate=FR, config=SCORE)[:, 0, :]
        best = (-math.inf, None, None)
        for s in range(len(bank)):
            for length in range(1, k + 1):
                left = t - pos - length
                ok = length >= min_f and (left == 0 or left >= min_f) if t - pos >= min_f else left == 0
                if ok and s not in used and float(scores[s, length - 1]) > best[0]:
                    best = (float(scores[s, length - 1]), s, length)
        _, s, length = best
        want.append((s, pos, length))
        used.add(s)
        pos += length
    assert [(p.shot, p.start, p.length) for p in got][: len(want)] == want[: len(got)]
    assert len(got) == len(want)


@pytest.mark.parametrize("mode", ["sequential", "global"])
def test_reconstructs_a_shuffled_song(mode):
    """Shots that are pieces of the song itself go back to their places."""
    rng = np.random.default_rng(4)
    song = novelty_like(rng, round(40 * FR))
    cuts = np.cumsum(rng.integers(round(1.5 * FR), round(5 * FR), 30))
    cuts = [0, *[int(c) for c in cuts if c < len(song) - round(1.5 * FR)], len(song)]
    pieces = [song[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    order = rng.permutation(len(pieces))
    bank = shot_bank([torch.from_numpy(pieces[i]) for i in order], SCORE)
    y = prepare_song(torch.from_numpy(song), SCORE)
    placements = search(bank, y, frame_rate=FR, score=SCORE, config=SearchConfig(mode=mode, max_length=6.0))
    assert [int(order[p.shot]) for p in placements] == list(range(len(pieces)))
    assert [p.start for p in placements] == cuts[:-1]


def test_not_enough_footage_is_a_clear_error_unless_reuse():
    bank, song, onsets = _setup(5, 4, 60.0)
    with pytest.raises(SearchError, match="not enough footage.*match.reuse=true"):
        _run(bank, song, onsets)
    placements = _run(bank, song, onsets, reuse=True)
    assert placements[-1].end == len(song) and len({p.shot for p in placements}) < len(placements)


def test_long_takes_under_the_length_cap_say_which_cap_would_cover_the_song():
    """Three 20 s takes (silent footage often is) and a 30 s song: capped at match.max_length
    = 8 s each they give 24 s; the refusal names the cap, why it is there, and the value
    (10 s) that covers the song, which then does."""
    rng = np.random.default_rng(7)
    curve = novelty_like(rng, round(30 * FR))
    bank = shot_bank([torch.from_numpy(novelty_like(rng, round(20 * FR))) for _ in range(3)], SCORE)
    song, onsets = prepare_song(torch.from_numpy(curve), SCORE), torch.from_numpy(np.flatnonzero(curve > 2.0))
    with pytest.raises(SearchError) as refused:
        _run(bank, song, onsets)
    message = str(refused.value)
    for words in ("at most 8.0 s each: match.max_length, the longest segment", "placed once",
                  "3 of the 3 shots are longer than 8.0 s", "match.max_length=10 (or more)", "match.reuse=true"):
        assert words in message
    _check_cover(_run(bank, song, onsets, max_length=10.0), bank, song, SearchConfig(max_length=10.0),
                 len(song) / FR - 0.004)
    with pytest.raises(SearchError, match="add videos or allow reuse"):  # short shots: no cap would do
        _run(*_setup(5, 4, 60.0))


def test_shortlist_search_equals_full_search_when_it_holds_every_shot():
    bank, song, onsets = _setup(6, 30, 20.0)
    assert _run(bank, song, onsets, shortlist=0) == _run(bank, song, onsets, shortlist=64)


@pytest.mark.parametrize("kw", [{}, {"shortlist": 8, "in_point_step": 0.7}, {"reuse": True, "beam_width": 4},
                                {"mode": "global", "shortlist": 10}])
@pytest.mark.slow
def test_batching_changes_nothing(monkeypatch, kw):
    """Frames expanded one at a time, candidates scored one frame per call, and every
    candidate looked at for the free best ones give the same timeline as the default
    batched search; so does a search that looks at only two candidates first."""
    import videothat.match.search as search_module

    bank, song, onsets = _setup(8, 10 if kw.get("reuse") else 30, 25.0)
    want = _run(bank, song, onsets, **kw)
    monkeypatch.setattr(search_module, "_least_advance", lambda ctx: 1)
    monkeypatch.setattr(search_module, "CANDIDATE_ELEMENTS", 1)
    monkeypatch.setattr(search_module, "PICK_PREFIX", 1 << 30)
    assert _run(bank, song, onsets, **kw) == want
    monkeypatch.setattr(search_module, "PICK_PREFIX", 2)
    assert _run(bank, song, onsets, **kw) == want


def test_frontier_keeps_the_best_distinct_keys_per_frame():
    """best_per_frame against a brute-force loop: per frame, the best of each key, then the
    `width` best of those, ties to the earlier."""
    from videothat.match.frontier import Hypotheses, best_per_frame

    rng = np.random.default_rng(3)
    n = 400
    rows = Hypotheses(rng.integers(0, 6, n).astype(np.float64), rng.random(n), rng.integers(0, 5, n),
                      rng.integers(0, 12, n).astype(np.uint64), np.arange(n), rng.integers(0, 9, n),
                      np.zeros(n, np.int64), np.zeros(n, np.float32))  # parent: the row's number
    got = best_per_frame(rows, 4)
    want = []
    for frame in range(5):
        best: dict[int, int] = {}
        for i in np.flatnonzero(rows.pos == frame):
            k = int(rows.key[i])
            if k not in best or rows.value[i] > rows.value[best[k]]:
                best[k] = int(i)
        want += sorted(best.values(), key=lambda i: (-rows.value[i], i))[:4]
    assert got.parent.tolist() == want


def test_in_points_let_a_shot_start_later():
    rng = np.random.default_rng(7)
    song = novelty_like(rng, round(10 * FR))
    shot = np.concatenate([novelty_like(rng, round(3 * FR)), song])  # the song starts 3 s into the shot
    bank = shot_bank([torch.from_numpy(shot)], SCORE)
    y = prepare_song(torch.from_numpy(song), SCORE)
    config = replace(SearchConfig(), in_point_step=3.0, max_length=12.0, reuse=True)
    (p,) = search(bank, y, frame_rate=FR, score=SCORE, config=config)
    assert p.in_frame == round(3 * FR)
