"""Tempo-aware segments: retimed curves against a brute-force loop, the speed grid, and a
search that finds at which speed each shot plays."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from videothat.match.config import ScoreConfig, SearchConfig
from videothat.match.correlate import correlate, prefix_scores, prepare_song, retimed_bank, shot_bank, speed_grid
from videothat.match.search import search

FR = 22050 / 512
SCORE = ScoreConfig()


def novelty_like(rng: np.random.Generator, frames: int) -> np.ndarray:
    spikes = (rng.random(frames) < 3 / FR) * rng.uniform(1, 4, frames)
    return (np.convolve(spikes, np.exp(-np.arange(6) / 2.0))[:frames] + 0.2 * rng.random(frames)).astype(np.float32)


def brute_retimed(x: np.ndarray, speed: float) -> np.ndarray:
    """x played at ``speed``: frame k shows x at k * speed (linear interpolation), by a loop."""
    n = int(np.floor((len(x) - 1) / speed)) + 1
    out = []
    for k in range(n):
        at = k * speed
        i = min(int(np.floor(at)), len(x) - 1)
        frac = at - i
        out.append(x[i] * (1 - frac) + (x[i + 1] if i + 1 < len(x) else x[i]) * frac)
    return np.array(out)


def brute_window_score(x: np.ndarray, y: np.ndarray, o: int, m: int, cfg: ScoreConfig, song_var: float) -> float:
    xs, ys = x - x.mean(), y - y.mean()
    raw = sum(xs[k] * ys[o + k] for k in range(m))
    f = cfg.floor * song_var
    ex, ey = sum(v * v for v in xs[:m]), sum(v * v for v in ys[o : o + m])
    return raw / np.sqrt((ex + m * f) * (ey + m * f)) * (m / FR) ** (1 - cfg.power)


def test_speed_grid_includes_one_and_the_ends():
    grid = speed_grid(0.85, 1.2, 0.02)
    assert grid[0] == 0.85 and grid[-1] == 1.2 and 1.0 in grid
    ratios = np.diff(np.log(grid))
    assert np.all(ratios > 0) and np.all(ratios <= np.log(1.02) * 1.5 + 1e-12)
    assert speed_grid(1.0, 1.0, 0.02) == [1.0]


def test_retimed_scores_equal_a_brute_force_loop():
    """Every (shot, speed) row's scores at every offset equal resampling by a loop, then
    scoring by a loop (< 1e-4 relative)."""
    rng = np.random.default_rng(5)
    song = novelty_like(rng, 260)
    shots = [novelty_like(rng, n) for n in (40, 97, 150)]
    speeds = [0.85, 1.0, 1.13, 1.2]
    cfg = replace(SCORE, edge=False)
    bank = retimed_bank([torch.from_numpy(s) for s in shots], speeds, cfg)
    got = correlate(bank, prepare_song(torch.from_numpy(song), cfg), frame_rate=FR, config=cfg).numpy()
    var = float(song.astype(np.float64).var())
    for i, s in enumerate(shots):
        for r, speed in enumerate(speeds):
            x = brute_retimed(s.astype(np.float64), speed)
            row = i * len(speeds) + r
            assert int(bank.lengths[row]) == len(x)
            for o in range(0, len(song), 7):
                m = min(len(x), len(song) - o)
                want = brute_window_score(x, song.astype(np.float64), o, m, cfg, var)
                assert abs(got[row, o] - want) <= 1e-4 * max(1.0, abs(want)), (i, speed, o)


def test_speed_one_rows_equal_the_plain_bank():
    rng = np.random.default_rng(1)
    curves = [torch.from_numpy(novelty_like(rng, n)) for n in (30, 80)]
    plain = shot_bank(curves, SCORE, edge_frames=5)
    retimed = retimed_bank(curves, [0.9, 1.0, 1.1], SCORE, edge_frames=5)
    for i in range(2):
        n = int(plain.lengths[i])
        assert int(retimed.lengths[3 * i + 1]) == n
        assert torch.equal(retimed.curves[3 * i + 1, :n], plain.curves[i, :n])


def test_edge_frames_scale_with_speed():
    curve = torch.ones(100)
    bank = retimed_bank([curve + torch.arange(100) % 7], [0.5, 2.0], replace(SCORE, subtract="none"), edge_frames=6)
    assert torch.all(bank.curves[0, :12] == 0) and bank.curves[0, 12] != 0  # 6 source frames = 12 at half speed
    assert torch.all(bank.curves[1, :3] == 0) and bank.curves[1, 3] != 0  # and 3 at double speed


@pytest.mark.slow
@pytest.mark.parametrize("true_speeds", [(0.9057, 1.1041, 1.0, 0.85, 1.2)])
def test_search_finds_the_speed_each_shot_plays_at(true_speeds):
    """Shots are pieces of the song recorded at another tempo (a speed of the grid), each
    as long as its piece at that speed: played at the right speed each lines up with the
    song again; the search places every piece at its place and speed."""
    rng = np.random.default_rng(11)
    song = novelty_like(rng, round(20 * FR))
    bounds = np.linspace(0, len(song), len(true_speeds) + 1).round().astype(int)
    t = np.arange(len(song))
    shots = []
    for (a, b), speed in zip(zip(bounds[:-1], bounds[1:], strict=True), true_speeds, strict=True):
        n = round((b - a - 1) * speed) + 1  # played at speed r, n frames end within a frame of b
        shots.append(np.interp(a + np.arange(n) / speed, t, song).astype(np.float32))
    shots += [novelty_like(rng, round(4 * FR)) for _ in range(5)]  # other footage: no shot need be reused
    order = rng.permutation(len(shots))
    speeds = speed_grid(0.85, 1.2, 0.02)
    bank = retimed_bank([torch.from_numpy(shots[i]) for i in order], speeds, SCORE)
    config = SearchConfig(min_length=1.0, max_length=6.0, snap="none", speed_min=0.85, speed_max=1.2)
    placements = search(bank, prepare_song(torch.from_numpy(song), SCORE), frame_rate=FR, score=SCORE,
                        config=config, speeds=len(speeds), shortlist_speed=speeds.index(1.0))
    assert len(placements) == len(true_speeds)
    exact = 0
    for p, a, true in zip(placements, bounds[:-1], true_speeds, strict=True):
        speed = speeds[p.shot % len(speeds)]
        assert order[p.shot // len(speeds)] == list(bounds[:-1]).index(a) and abs(p.start - a) <= 2
        assert abs(speed / true - 1) <= 0.025  # within a step of the grid
        exact += abs(speed / true - 1) <= 1e-3
    # a segment that ends a frame early moves the next one, whose speed then absorbs it
    assert exact >= len(true_speeds) - 1


def test_retimed_prefix_scores_match_the_kernel():
    rng = np.random.default_rng(2)
    song = prepare_song(torch.from_numpy(novelty_like(rng, 200)), SCORE)
    bank = retimed_bank([torch.from_numpy(novelty_like(rng, 90))], [0.87, 1.16], SCORE)
    full = correlate(bank, song, frame_rate=FR, config=SCORE)
    for row in range(2):
        n = int(bank.lengths[row])
        pre = prefix_scores(bank, song, 20, max_frames=n, frame_rate=FR, config=SCORE)
        assert torch.allclose(pre[row, 0, n - 1], full[row, 20], rtol=1e-4, atol=1e-5)


def test_speeds_within_one_percent_of_one_are_one():
    grid = speed_grid(0.85, 1.2, 0.005)
    assert 1.0 in grid
    assert all(s == 1.0 or abs(np.log(s)) >= np.log(1.01) - 1e-12 for s in grid)
    assert min(s for s in grid if s > 1) < 1.011 and max(s for s in grid if s < 1) > 0.989


def _pieces(rng: np.random.Generator, song: np.ndarray, speed: float, n: int, seconds: float) -> list[np.ndarray]:
    """``n`` pieces of ``song`` of ``seconds`` song time each, recorded at ``speed``."""
    t = np.arange(len(song))
    out = []
    for _ in range(n):
        a = int(rng.integers(0, len(song) - round((seconds + 1) * FR)))
        frames = round(seconds * FR * speed)
        out.append(np.interp(a + np.arange(frames) / speed, t, song).astype(np.float32))
    return out


def test_retiming_pays_for_shots_at_another_tempo_and_not_for_unrelated_ones():
    """best_speeds' gain over speed 1: large for pieces of the song recorded at 90 % or
    115 % tempo, small for footage unrelated to the song (its best of many speeds beats
    speed 1 only by chance) and for pieces at the song's own tempo."""
    from videothat.match.correlate import best_speeds

    rng = np.random.default_rng(4)
    song = novelty_like(rng, round(40 * FR))
    other = _pieces(rng, song, 0.9, 4, 4.0) + _pieces(rng, song, 1.15, 4, 4.0)
    same = _pieces(rng, song, 1.0, 4, 4.0)
    unrelated = [novelty_like(rng, round(4 * FR)) for _ in range(8)]
    curves = [torch.from_numpy(c) for c in other + same + unrelated]
    grid = speed_grid(0.85, 1.2, 0.005)
    fit = best_speeds(curves, grid, prepare_song(torch.from_numpy(song), SCORE), frame_rate=FR, config=SCORE,
                      max_frames=round(8 * FR), min_frames=round(1 * FR))
    margin = SearchConfig().speed_margin
    gain = fit.gain.numpy()
    assert np.all(gain[:8] >= 2 * margin), gain[:8]
    found = np.array(grid)[fit.best.numpy()[:8]]
    assert np.allclose(found, [0.9] * 4 + [1.15] * 4, rtol=0.011)
    assert np.all(np.abs(gain[8:12]) < 1e-6) and np.all(np.array(grid)[fit.best.numpy()[8:12]] == 1.0)
    assert gain[12:].max() < gain[:8].min() and np.median(gain[12:]) < margin, gain


def test_shots_that_do_not_pay_for_retiming_play_at_speed_one():
    """shot_speeds gives non-paying shots 1 in every column, the search leaves those
    repeated rows out, and with no paying shot the search runs at speed 1 alone; the
    timeline plays only the retimed pieces at another speed."""
    from videothat.core.records import Shot
    from videothat.match.assemble import Material, place_shots, repeated_speeds, shot_speeds
    from videothat.match.config import MatchConfig

    rng = np.random.default_rng(8)
    song = novelty_like(rng, round(15 * FR))
    t = np.arange(len(song))
    bounds = np.linspace(0, len(song), 6).round().astype(int)
    true = [1.0, 0.9, 1.0, 1.15, 1.0]
    pieces = [np.interp(a + np.arange(round((b - a - 1) * r) + 1) / r, t, song).astype(np.float32)
              for (a, b), r in zip(zip(bounds[:-1], bounds[1:], strict=True), true, strict=True)]
    config = MatchConfig(search=SearchConfig(min_length=1.0, max_length=4.0))
    song_t = prepare_song(torch.from_numpy(song), config.score)
    curves = [torch.from_numpy(c) for c in pieces]
    variants = shot_speeds(curves, song_t, FR, config)
    for speeds in variants:
        assert torch.all(speeds[[0, 2, 4]] == 1.0) and torch.all((speeds[[1, 3]] != 1.0).any(dim=1))
        off = repeated_speeds(speeds).view(speeds.shape)
        assert torch.all(off[[0, 2, 4]].sum(dim=1) == speeds.shape[1] - 1) and not off[:, 0].any()
    same_tempo = shot_speeds([curves[i] for i in (0, 2, 4)], song_t, FR, config)
    assert len(same_tempo) == 1 and same_tempo[0].shape[1] == 1
    shots = [Shot(Path(f"v{i}.mp4"), 0.0, len(c) / FR, 25.0) for i, c in enumerate(pieces)]
    placements = place_shots(song, None, len(song) / FR, Material(shots, pieces, None), config, fr=FR,
                             device="cpu", progress=None, edge_frames=0)
    assert [p.shot for p in placements] == [0, 1, 2, 3, 4]
    assert [p.speed for p in placements][::2] == [1.0, 1.0, 1.0]
    assert abs(placements[1].speed - 0.9) < 0.011 and abs(placements[3].speed - 1.15) < 0.011
