"""Wall time of `videothat mosaic` for minutes of footage and a song-length target, per stage.

    python scripts/bench_mosaic.py CORPUS_DIR [--footage-min 10] [--target-min 3] [--work DIR]
        [--preview] [--no-render] [--set KEY=VALUE ...]

Footage: ``--footage-min`` one-minute videos generated once into ``--work`` (default: a
temporary folder), each with a corpus track's first minute as its sound and drifting
textures (256x144, 25 fps, H.264/AAC) as its pictures. Target: the second minutes of the
corpus tracks, one after another, ``--target-min`` long (the footage holds the same songs,
not the same passages). Runs the mosaic twice on one fresh cache (cold: every file decoded
and described; warm: descriptions from the cache) and prints seconds per stage, the
ratio of the cold to the warm run, and, side by side on the first target units, the
batched Viterbi pass against a loop over candidate pairs (the same path, checked).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SR = 22050
STAGES = ["describe", "units", "search", "score", "viterbi", "timeline", "sound", "render", "write outputs"]


def make_footage(corpus: Path, work: Path, minutes: int, target_minutes: float) -> tuple[list[Path], Path]:
    """The generated videos and the target (module doc); files already there are kept."""
    from videothat.media.audio import decode_audio
    from videothat.media.synthetic import segment_frames, write_audio, write_video

    tracks = sorted((corpus / "music").glob("*.wav"))
    work.mkdir(parents=True, exist_ok=True)
    videos, target = [], []
    for i in range(minutes):
        sound = decode_audio(tracks[i % len(tracks)], SR)
        path = work / f"footage_{i:02d}.mp4"
        if not path.exists():
            print(f"  generating {path.name}", file=sys.stderr)
            write_video(path, segment_frames(60 * 25, seed=i, size=(144, 256)), fps=25,
                        audio=np.resize(sound[: 60 * SR], 60 * SR)[None], sr=SR)
        videos.append(path)
        if len(target) * 60 < target_minutes * 60:
            target.append(np.resize(sound[60 * SR : 120 * SR], 60 * SR) if sound.size > 70 * SR else sound[: 60 * SR])
    song = work / f"target_{target_minutes:g}min.wav"
    if not song.exists():
        write_audio(song, np.concatenate(target)[: round(target_minutes * 60 * SR)][None], sr=SR)
    return videos, song


def viterbi_loop(cost: np.ndarray, source: np.ndarray, position: np.ndarray, jump: float) -> float:
    """The cheapest path's cost by loops over target units and candidate pairs (the naive way)."""
    total = cost[0].astype(np.float64).copy()
    for t in range(1, cost.shape[0]):
        nxt = np.empty(cost.shape[1])
        for j in range(cost.shape[1]):
            best = np.inf
            for i in range(cost.shape[1]):
                step = total[i] + (0.0 if source[t, j] == source[t - 1, i] and position[t, j] == position[t - 1, i] + 1
                                   else jump)
                best = min(best, step)
            nxt[j] = best + cost[t, j]
        total = nxt
    return float(total.min())


def viterbi_side_by_side(target: Path, videos: list[Path], mosaic, run, units: int) -> tuple[float, float, float]:
    """(loop seconds, batched seconds, |cost difference|) on the first ``units`` target units."""
    import torch

    from videothat.index.knn import nearest
    from videothat.match.units import best_units, continuation_candidates
    from videothat.pipeline.mosaic import _candidate_costs, describe_units, unit_table
    from videothat.pipeline.sound_units import describe_sounds

    rate = SR / round(SR / mosaic.unit_rate)
    (wanted,), _ = describe_sounds([target], frame_rate=rate, n_mels=mosaic.n_mels, onsets=False, run=run)
    sources, _ = describe_sounds(videos, frame_rate=rate, n_mels=mosaic.n_mels, onsets=False, run=run)
    goal, table = unit_table([wanted], mosaic, rate, "cpu"), unit_table(sources, mosaic, rate, "cpu")
    want, base = describe_units(goal, spread=False)[:units], describe_units(table, spread=False)
    distance, near = nearest(want.numpy(), base.numpy(), mosaic.k)
    candidates = continuation_candidates(torch.from_numpy(near), table.owner, follow=mosaic.follow)
    cost = _candidate_costs(want, goal.lengths[:units], table, candidates, spread=False)
    jump = mosaic.continuity * float(np.median(distance))
    at = candidates.clamp(min=0)
    source, position = table.owner[at], table.position[at]
    t0 = time.perf_counter()
    _, batched = best_units(cost, source, position, continuity=jump)
    t1 = time.perf_counter()
    looped = viterbi_loop(cost.numpy(), source.numpy(), position.numpy(), jump)
    t2 = time.perf_counter()
    return t2 - t1, t1 - t0, abs(float(batched) - looped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--footage-min", type=int, default=10)
    parser.add_argument("--target-min", type=float, default=3.0)
    parser.add_argument("--work", type=Path, help="keep the generated footage here (default: a temporary folder)")
    parser.add_argument("--preview", action="store_true", help="render at 360p, 15 fps")
    parser.add_argument("--no-render", action="store_true", help="plan only")
    parser.add_argument("--viterbi-units", type=int, default=40, help="target units of the side-by-side Viterbi")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if not (args.corpus / "music").is_dir():
        sys.exit(f"{args.corpus}: not a development corpus (bash scripts/build_corpus.sh {args.corpus})")
    import torch

    from videothat.pipeline.mosaic import make_mosaic, plan_mosaic
    from videothat.pipeline.run import Run
    from videothat.settings import compose_config, configs, mosaic_config

    cfg = compose_config(args.set)
    config, mosaic = configs(cfg), mosaic_config(cfg)
    if args.preview:
        from dataclasses import replace

        config = replace(config, render=config.render.preview())
    with tempfile.TemporaryDirectory(prefix="videothat-bench-mosaic-") as tmp:
        videos, target = make_footage(args.corpus, args.work or Path(tmp) / "footage", args.footage_min,
                                      args.target_min)
        run = Run(Path(tmp) / "cache", device="cpu")
        runs = {}
        for name in ("cold", "warm"):
            t0 = time.perf_counter()
            if args.no_render:
                plan = plan_mosaic(target, videos, mosaic, run)
            else:
                plan = make_mosaic(target, videos, config, mosaic, run, output=Path(tmp) / f"{name}.mp4").plan
            runs[name] = (time.perf_counter() - t0, plan)
        loop_s, batched_s, gap = viterbi_side_by_side(target, videos, mosaic, run, args.viterbi_units)
    render = "no render" if args.no_render else f"render {config.render.width}x{config.render.height} " \
                                                  f"at {config.render.fps:g} fps"
    print(f"\nmosaic of a {args.target_min:g} min target from {args.footage_min} min of footage "
          f"({len(videos)} videos), {mosaic.unit} units, {render}; CPU, {torch.get_num_threads()} threads")
    print(f"{'stage':<15} {'cold s':>8} {'warm s':>8}")
    for stage in STAGES:
        cold, warm = (runs[n][1].seconds.get(stage) for n in ("cold", "warm"))
        if cold is not None:
            print(f"{stage:<15} {cold:>8.2f} {warm:>8.2f}")
    cold, warm = runs["cold"][0], runs["warm"][0]
    print(f"{'whole job':<15} {cold:>8.2f} {warm:>8.2f}   cold / warm {cold / warm:.1f}x")
    plan = runs["warm"][1]
    print(f"{len(plan.runs)} runs, mean {plan.run_seconds.mean():.2f} s; {len(plan.timeline.segments)} segments")
    print(f"Viterbi over the first {args.viterbi_units} target units: loop {loop_s:.2f} s, batched "
          f"{1000 * batched_s:.1f} ms ({loop_s / batched_s:.0f}x), same cost (|difference| {gap:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
