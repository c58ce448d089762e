"""The correlation kernel against brute-force loops (the independent reference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videothat.match.config import ScoreConfig
from videothat.match.correlate import (
    best_offsets,
    correlate,
    prefix_scores,
    prefix_scores_at,
    prepare_song,
    shortlist,
    shot_bank,
)

FR = 22050 / 512
CONFIGS = [ScoreConfig(), ScoreConfig(normalize="none"), ScoreConfig(subtract="none", power=0.75),
           ScoreConfig(subtract=0.25, normalize="none", power=0.0)]


def _sub(c: np.ndarray, cfg: ScoreConfig) -> np.ndarray:
    c = c.astype(np.float64)
    if cfg.subtract == "mean":
        return c - c.mean()
    return c if cfg.subtract == "none" else c - float(cfg.subtract)


def brute_score(x: np.ndarray, y: np.ndarray, o: int, m: int, cfg: ScoreConfig, song_var: float) -> float:
    """Score of x[:m] against y[o:o+m] (both already with ``subtract`` applied), by loops."""
    raw = sum(x[k] * y[o + k] for k in range(m))
    sec = m / FR
    if cfg.normalize == "none":
        return raw / sec**cfg.power
    f = cfg.floor * song_var
    ex, ey = sum(v * v for v in x[:m]), sum(v * v for v in y[o : o + m])
    return raw / np.sqrt((ex + m * f) * (ey + m * f)) * sec ** (1 - cfg.power)


@pytest.fixture(scope="module")
def curves():
    rng = np.random.default_rng(3)
    song = rng.random(300).astype(np.float32) ** 3
    shots = [rng.random(n).astype(np.float32) ** 3 for n in (1, 7, 64, 299, 300, 420)]
    return song, shots


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.normalize}-{c.subtract}-p{c.power}")
def test_kernel_equals_brute_force(curves, cfg, device):
    song, shots = curves
    bank = shot_bank([torch.from_numpy(s) for s in shots], cfg, device=device)
    y = prepare_song(torch.from_numpy(song), cfg, device=device)
    got = correlate(bank, y, frame_rate=FR, config=cfg, max_elements=2000).cpu().numpy()  # many chunks
    ys, var = _sub(song, cfg), float(song.astype(np.float64).var())
    for i, s in enumerate(shots):
        xs = _sub(s, cfg)
        want = np.array([brute_score(xs, ys, o, min(len(s), len(song) - o), cfg, var) for o in range(len(song))])
        assert np.abs(got[i] - want).max() <= 1e-4 * np.abs(want).max()


def test_kernel_on_real_novelty(device):
    from conftest import AUDIO_FIXTURES
    from videothat.audio.novelty import NoveltyConfig, onset_strength
    from videothat.media.audio import decode_audio

    y = decode_audio(AUDIO_FIXTURES[-1], 22050)
    song = onset_strength([torch.from_numpy(y)], config=NoveltyConfig()).unbatch()[0].numpy()
    shots = [song[40:200], song[500:540], song[1000:1290]]
    cfg = ScoreConfig()
    bank = shot_bank([torch.from_numpy(s) for s in shots], cfg, device=device)
    got = correlate(bank, prepare_song(torch.from_numpy(song), cfg, device=device), frame_rate=FR, config=cfg)
    ys, var = _sub(song, cfg), float(song.astype(np.float64).var())
    for i, s in enumerate(shots):
        xs = _sub(s, cfg)
        for o in range(0, len(song), 97):
            want = brute_score(xs, ys, o, min(len(s), len(song) - o), cfg, var)
            assert abs(float(got[i, o]) - want) <= 1e-4 * abs(got[i]).max().item()
    # an excerpt of the song scores highest at its own place (Cauchy-Schwarz)
    assert got.argmax(dim=1).tolist() == [40, 500, 1000]


@pytest.mark.parametrize("cfg", CONFIGS[:2], ids=["window", "none"])
def test_prefix_scores_are_trimmed_shot_scores(curves, cfg):
    song, shots = curves
    bank = shot_bank([torch.from_numpy(s) for s in shots], cfg)
    y = prepare_song(torch.from_numpy(song), cfg)
    in_points = torch.tensor([0, 5, 30])
    got = prefix_scores(bank, y, 120, max_frames=50, frame_rate=FR, config=cfg, in_points=in_points)
    assert got.shape == (len(shots), 3, 50)
    ys, var = _sub(song, cfg), float(song.astype(np.float64).var())
    for i, s in enumerate(shots):
        xs = _sub(s, cfg)
        for j, start in enumerate(in_points.tolist()):
            for length in (1, 17, 50):
                if start + length > len(s):
                    assert got[i, j, length - 1] == -np.inf
                else:
                    want = brute_score(xs[start:], ys, 120, length, cfg, var)
                    assert float(got[i, j, length - 1]) == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_prefix_scores_at_many_positions_equal_one_position_at_a_time(curves, device):
    song, shots = curves
    cfg = ScoreConfig()
    bank = shot_bank([torch.from_numpy(s) for s in shots], cfg, device=device)
    y = prepare_song(torch.from_numpy(song), cfg, device=device)
    in_points = torch.tensor([0, 7], device=device)
    positions = torch.tensor([0, 120, len(song) - 30, len(song) - 1], device=device)  # near the end: short
    picks = torch.tensor([[0, 1], [2, 2], [1, 0], [2, 1]], device=device)[:, : len(shots)] % len(shots)
    got = prefix_scores_at(bank, y, positions, picks, max_frames=60, frame_rate=FR, config=cfg, in_points=in_points)
    assert got.shape == (4, picks.shape[1], 2, 60)
    for p, pos in enumerate(positions.tolist()):
        one = prefix_scores(bank, y, pos, max_frames=60, frame_rate=FR, config=cfg, in_points=in_points)
        k = one.shape[-1]
        torch.testing.assert_close(got[p, :, :, :k], one[picks[p]], rtol=1e-6, atol=1e-6)
        assert bool((got[p, :, :, k:] == -torch.inf).all())  # past the song's end


def test_best_offsets_and_shortlist_match_brute_force(curves):
    song, shots = curves
    cfg = ScoreConfig()
    bank = shot_bank([torch.from_numpy(s) for s in shots], cfg)
    y = prepare_song(torch.from_numpy(song), cfg)
    full = correlate(bank.truncated(100), y, frame_rate=FR, config=cfg)
    scores, offsets, lengths = best_offsets(bank, y, frame_rate=FR, config=cfg, max_frames=100, min_frames=10)
    t = len(song)
    for i, s in enumerate(shots):
        fits = [o for o in range(t) if min(len(s), 100, t - o) >= 10 and (o == 0 or o >= 10)
                and (t - o - min(len(s), 100, t - o) in (0,) or t - o - min(len(s), 100, t - o) >= 10)]
        if not fits:
            assert scores[i] == -np.inf
            continue
        o = max(fits, key=lambda o: float(full[i, o]))
        assert int(offsets[i]) == o and int(lengths[i]) == min(len(s), 100, t - o)
    top = shortlist(bank, y, frame_rate=FR, config=cfg, lengths=[100], k=2)
    want = full.topk(2, dim=0).indices.T
    assert torch.equal(top.sort(dim=1).values, want.sort(dim=1).values)


def test_shot_edges_are_left_out_of_the_mean_and_the_scores():
    rng = np.random.default_rng(5)
    curves = [rng.random(40).astype(np.float32), rng.random(3).astype(np.float32)]
    bank = shot_bank([torch.from_numpy(c) for c in curves], ScoreConfig(), edge_frames=5)
    want = curves[0][5:] - curves[0][5:].mean()
    assert bool((bank.curves[0, :5] == 0).all())
    np.testing.assert_allclose(bank.curves[0, 5:40].numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(bank.curves[1, :3].numpy(), curves[1] - curves[1].mean(), atol=1e-6)  # all edge: kept
    off = shot_bank([torch.from_numpy(c) for c in curves], ScoreConfig(edge=False), edge_frames=5)
    np.testing.assert_allclose(off.curves[0, :40].numpy(), curves[0] - curves[0].mean(), rtol=1e-6, atol=1e-6)
