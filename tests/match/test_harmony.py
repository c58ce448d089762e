"""The harmony term: segment scores against a brute-force loop, and a song whose bars share
one rhythm but not their chords, which only the harmony term can put back in order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from videothat.match.config import ScoreConfig, SearchConfig
from videothat.match.correlate import prefix_scores, prepare_song, shot_bank
from videothat.match.search import search

FR = 22050 / 512


def _profiles(chroma: np.ndarray, blocks: int) -> np.ndarray:
    n = len(chroma)
    out = []
    for b in range(blocks):
        energy = chroma[n * b // blocks : n * (b + 1) // blocks].sum(axis=0)
        p = energy / energy.sum() - 1 / 12 if energy.sum() > 0 else np.zeros(12)
        out.append(p / max(np.linalg.norm(p), 1e-6))
    return np.array(out)


def test_harmony_scores_equal_a_loop():
    rng = np.random.default_rng(4)
    song, shot = rng.random(200).astype(np.float32), rng.random(90).astype(np.float32)
    song_c, shot_c = rng.random((200, 12)).astype(np.float32) ** 3, rng.random((90, 12)).astype(np.float32) ** 3
    with_h, without = ScoreConfig(harmony=0.7, harmony_blocks=3, edge=False), ScoreConfig(harmony=0.0, edge=False)
    both = [shot_bank([torch.from_numpy(shot)], cfg, chroma=[torch.from_numpy(shot_c)]) for cfg in (with_h, without)]
    songs = [prepare_song(torch.from_numpy(song), cfg, chroma=torch.from_numpy(song_c)) for cfg in (with_h, without)]
    for pos in (0, 37, 110):
        a = prefix_scores(both[0], songs[0], pos, max_frames=90, frame_rate=FR, config=with_h)[0, 0]
        b = prefix_scores(both[1], songs[1], pos, max_frames=90, frame_rate=FR, config=without)[0, 0]
        for length in (3, 40, 90):
            h = float((_profiles(shot_c[:length], 3) * _profiles(song_c[pos : pos + length], 3)).sum(-1).mean())
            want = float(b[length - 1]) + 0.7 * h * (length / FR) ** 0.5
            assert abs(float(a[length - 1]) - want) <= 1e-4 * max(1.0, abs(want)), (pos, length)


def test_bars_with_one_rhythm_are_told_apart_by_their_chords():
    """Eight 2 s bars share one rhythm; each has its own chord. Rhythm alone cannot place the
    shuffled bars (every order scores the same); with the harmony term each goes home."""
    rng = np.random.default_rng(8)
    bar = round(2 * FR)
    beat = (np.convolve((rng.random(bar) < 4 / FR) * 3.0, np.exp(-np.arange(6) / 2.0))[:bar]).astype(np.float32)
    song = np.tile(beat, 8) + 0.05
    chords = rng.permutation(np.eye(12, dtype=np.float32)[rng.choice(12, 8, replace=False)] * 0.9 + 0.1 / 12)
    song_c = np.repeat(chords, bar, axis=0)
    order = rng.permutation(8)
    cuts = [song[i * bar : (i + 1) * bar] for i in order]
    cut_c = [song_c[i * bar : (i + 1) * bar] for i in order]
    config = SearchConfig(min_length=1.5, max_length=2.5, snap="none")
    placed = {}
    for weight in (0.0, 1.0):
        score = ScoreConfig(harmony=weight, edge=False)
        bank = shot_bank([torch.from_numpy(c) for c in cuts], score, chroma=[torch.from_numpy(c) for c in cut_c])
        y = prepare_song(torch.from_numpy(song), score, chroma=torch.from_numpy(song_c))
        placements = search(bank, y, frame_rate=FR, score=score, config=replace(config))
        placed[weight] = [int(order[p.shot]) for p in placements]
    assert placed[1.0] == list(range(8))
    assert placed[0.0] != list(range(8))  # the rhythm ties every order: the search keeps the first it meets
