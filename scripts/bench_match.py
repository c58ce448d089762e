"""Speed of the matcher: the correlation kernel against a naive loop, and kernel + search.

    python scripts/bench_match.py [--song-seconds 240] [--shots 100 1000 10000] [--device auto]
        [--speeds 0.85 1.2]

Novelty-like curves are synthesised (sparse onsets convolved with a decay, plus noise;
43.07 frames/s like the default analysis), so the benchmark needs no corpus: a
``--song-seconds`` song and shots of 1-8 s.

1. Kernel throughput in (shot, offset) pairs per second: ``correlate`` (batched FFT) against
   a naive numpy loop over shots and offsets on the same inputs (a subset of offsets for the
   loop, which is far slower; the kernel's time is the median of 5 runs), with their ratio
   and the largest relative difference.
2. For each shot count: wall time of the whole match (shortlist kernel + beam search at the
   default configuration; shots may be reused when there is less than twice the song's
   length of footage) and peak memory (CPU: resident set growth; CUDA: allocator peak);
   with ``--speeds MIN MAX`` also with tempo-aware segments (each shot's speed found on the
   ``match.speed_step`` grid, then two searches: at the 3 around it, and with 1 among them),
   in the same run. Both go through :func:`videothat.match.assemble.place_shots`, the
   matcher's own entry point for shot curves.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

FRAME_RATE = 22050 / 512


def novelty_like(rng: np.random.Generator, frames: int) -> np.ndarray:
    """A curve with onset peaks (about 3 per second) decaying over ~50 ms, plus noise."""
    spikes = (rng.random(frames) < 3 / FRAME_RATE) * rng.uniform(1, 4, frames)
    kernel = np.exp(-np.arange(6) / 2.0)
    return (np.convolve(spikes, kernel)[:frames] + 0.2 * rng.random(frames)).astype(np.float32)


def naive_scores(x: np.ndarray, y: np.ndarray, offsets: range, power: float) -> np.ndarray:
    """The raw score with a Python loop over offsets (normalize=none, subtract=mean)."""
    x, y = x - x.mean(), y - y.mean()
    out = np.empty(len(offsets))
    for i, o in enumerate(offsets):
        m = min(len(x), len(y) - o)
        out[i] = float(np.dot(x[:m], y[o : o + m])) / (m / FRAME_RATE) ** power
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--song-seconds", type=float, default=240.0)
    parser.add_argument("--shots", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--speeds", type=float, nargs=2, default=None, metavar=("MIN", "MAX"),
                        help="also time the match with shots retimed between these speeds")
    args = parser.parse_args()

    import torch

    from videothat.core.device import resolve_device
    from videothat.core.records import Shot
    from videothat.match.assemble import Material, place_shots
    from videothat.match.config import MatchConfig, ScoreConfig
    from videothat.match.correlate import correlate, prepare_song, shot_bank

    device = resolve_device(args.device)
    rng = np.random.default_rng(0)
    t = round(args.song_seconds * FRAME_RATE)
    song = novelty_like(rng, t)
    print(f"song: {args.song_seconds:.0f} s = {t} frames; device: {device}; torch threads: {torch.get_num_threads()}\n")

    # 1. kernel against a naive loop
    raw_cfg = ScoreConfig(normalize="none")
    shots = [novelty_like(rng, int(rng.uniform(1, 8) * FRAME_RATE)) for _ in range(200)]
    bank = shot_bank([torch.from_numpy(s) for s in shots], raw_cfg, device=device)
    y = prepare_song(torch.from_numpy(song), raw_cfg, device=device)
    correlate(bank, y, frame_rate=FRAME_RATE, config=raw_cfg)  # warm-up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        scores = correlate(bank, y, frame_rate=FRAME_RATE, config=raw_cfg).cpu().numpy()
        times.append(time.perf_counter() - t0)
    kernel_s = float(np.median(times))
    loop_offsets = range(0, t, 50)
    t0 = time.perf_counter()
    naive = np.stack([naive_scores(s, song, loop_offsets, raw_cfg.power) for s in shots[:20]])
    naive_s = time.perf_counter() - t0
    kernel_rate = len(shots) * t / kernel_s
    naive_rate = naive.size / naive_s
    err = np.abs(scores[:20, ::50] - naive).max() / np.abs(naive).max()
    print(f"{'kernel':<28} {'pairs/s':>14}")
    print(f"{'batched FFT (correlate)':<28} {kernel_rate:>14,.0f}")
    print(f"{'naive numpy loop':<28} {naive_rate:>14,.0f}")
    print(f"speed-up {kernel_rate / naive_rate:,.0f}x; max relative difference {err:.1e}\n")

    # 2. kernel + search for growing shot counts
    config = MatchConfig()
    knobs = config.search
    ranges = [(1.0, 1.0)] + ([tuple(args.speeds)] if args.speeds else [])
    print(f"{'shots':>6} {'shot s':>8} {'speeds':>10} {'match s':>8} {'segments':>8} {'peak MB':>8}   "
          f"(beam {knobs.beam_width}, expansions {knobs.expansions}, shortlist {knobs.shortlist})")
    for n in args.shots:
        curves = [novelty_like(rng, int(rng.uniform(1, 8) * FRAME_RATE)) for _ in range(n)]
        footage = sum(len(c) for c in curves) / FRAME_RATE
        for low, high in ranges:
            run = replace(config, search=replace(knobs, reuse=footage < 2 * args.song_seconds, speed_min=low,
                                                 speed_max=high))
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            rss0 = peak_rss_mb()
            t0 = time.perf_counter()
            material = Material([Shot(Path("synthetic.mp4"), 0.0, len(c) / FRAME_RATE, 25.0) for c in curves],
                                curves, None)
            placements = place_shots(song, None, len(song) / FRAME_RATE, material, run, fr=FRAME_RATE,
                                     device=device, progress=None, edge_frames=0)
            elapsed = time.perf_counter() - t0
            peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else peak_rss_mb() - rss0
            label = "1" if low == high == 1.0 else f"{low:g}-{high:g}"
            print(f"{n:>6} {footage:>8.0f} {label:>10} {elapsed:>8.2f} {len(placements):>8} {peak:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
