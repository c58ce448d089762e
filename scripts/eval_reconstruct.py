"""Can the matcher put a song's own shots back where they came from, on any music?

    python scripts/eval_reconstruct.py CORPUS_DIR [--split tune|validation|test|all] [--limit N]
        [--layouts 1] [--seconds 60] [--beams 1 16] [--json OUT.json] [--set search.KEY=VALUE ...]

Tasks are the songs and rendition pairs of the development set (``bash scripts/build_corpus.sh
CORPUS_DIR`` writes ``dev/manifest.csv``), each in the split of its source package
(``eval_splits.py``): tune on ``--split tune``, choose between methods on ``validation``,
run ``test`` once at the end. ``--split all`` runs tune and validation, never test.
``--limit N`` draws at most N tasks per split and kind, spread over the packages.

A reconstruction task (``song``) takes a track's first ``--seconds`` s, cuts them into
10-15 shots of 1.5-6 s, spreads the shots shuffled over 4-6 generated videos (distinct
synthetic visuals, hard cuts, each shot carrying its own piece of the song as sound),
adds 2-3 distractor videos with other tracks' sound, then runs the real pipeline (shot
detection, novelty, matcher). A rendition task (``pair``) cuts the shots from rendition
B (another synthesizer or soundfont, some at another tempo) and matches them to A; the
truth comes from the pair's time map. Every track gets ``--layouts`` seeded layouts.

Per task and method (beam widths, greedy = 1; ``--set`` overrides the match config of
every method, e.g. ``--set search.speed_min=1 search.speed_max=1``):

* shot-detection recall and precision (cuts within one video frame);
* placement: fraction of song time whose chosen source audio is the song's own audio at
  that time within 40 ms; and the same with repeats counted (where the song's sound at
  the time played equals that at the time placed: 1 s log-mel patches with cosine >= 0.98,
  exact loops and repeated patterns that no matcher by sound can tell apart);
* onset F (mir_eval, 50 ms) between the song and the assembled source audio, and the same
  for the true timeline (the measure's ceiling on the task: the sources' sound went through
  AAC and is spliced at cuts);
* value found and value of the true timeline under the matcher's own objective: where the
  true one is higher the search lost it (``search``), where it is lower the score prefers
  another timeline (``score``);
* matcher wall time.

Prints the per-task table and, per split and kind, the number of tasks and the means with
their standard errors; ``--json`` saves every row.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from eval_splits import SPLITS, Task, chosen_splits, find_tasks, mean_se, pick

SR = 22050
FPS = 25
TOLERANCE_S = 0.040
HELDOUT_EVERY = 3  # split_of: one track in three (by name hash) is held out (eval_mosaic, eval_soundtrack)
TIME_MAP_AGREEMENT = 0.8  # a pair's time map holds if lag 0 correlates this well relative to the best lag
REPEAT_SIMILARITY = 0.98  # repeat_accuracy: cosine of 1 s log-mel patches that counts as the same music


@dataclass
class Truth:
    """Where a source video's sound comes from: (video_start, video_end, song_time_at_start, rate)."""

    spans: list[tuple[float, float, float, float]]

    def song_time(self, t: float) -> float | None:
        for start, end, song_start, rate in self.spans:
            if start <= t < end:
                return song_start + (t - start) * rate
        return None


def split_of(name: str) -> str:
    """``heldout`` for one track name in HELDOUT_EVERY (a stable hash), else ``tune``: the
    older split by track that ``eval_mosaic.py`` and ``eval_soundtrack.py`` still use."""
    digest = int(hashlib.sha1(name.encode()).hexdigest(), 16)
    return "heldout" if digest % HELDOUT_EVERY == 0 else "tune"


def time_map_holds(task: Task) -> bool:
    """Does rendition B follow A's timing by the pair's time map (song time = offset + rate
    x B time)? The novelty of A against B's resampled onto A's time, in thirds of the
    excerpt: each third must line up at lag 0 (within a frame) at least TIME_MAP_AGREEMENT as
    well as at its best lag within +-1 s. (A synthesizer's tempo option can drift from the
    ratio it was given; such a pair's truth would be wrong.)"""
    import librosa

    rate, seconds = task.rate, task.seconds
    ya = librosa.load(task.song, sr=SR, duration=seconds)[0]
    yb = librosa.load(task.shots_from, sr=SR, duration=seconds / rate + 2)[0]
    ea, eb = librosa.onset.onset_strength(y=ya, sr=SR), librosa.onset.onset_strength(y=yb, sr=SR)
    eb = np.interp((np.arange(len(ea)) - task.offset * SR / 512) / rate, np.arange(len(eb)), eb)
    third, reach = len(ea) // 3, round(SR / 512)
    for k in range(3):
        x = ea[k * third : (k + 1) * third] - ea[k * third : (k + 1) * third].mean()
        lags = range(-reach, reach + 1)
        corr = [np.dot(x[reach:-reach], (eb[k * third + lag : (k + 1) * third + lag] - eb.mean())[reach:-reach])
                if 0 <= k * third + lag and (k + 1) * third + lag <= len(eb) else -np.inf for lag in lags]
        best = lags[int(np.argmax(corr))]
        near = max(corr[reach - 1 : reach + 2])  # lags -1, 0, 1
        if near < TIME_MAP_AGREEMENT * max(corr):  # periodic music may line up a beat off nearly as well
            print(f"note: pair {task.name} skipped: its {('first', 'second', 'last')[k]} third lines up with A "
                  f"{best * 512 / SR:+.2f} s off the time map", file=sys.stderr)
            return False
    return True


def shot_lengths(rng: np.random.Generator, total: float) -> list[float]:
    """10-15 lengths in [1.5, 6] s, on video frames, that add up to ``total``."""
    while True:
        n = int(rng.integers(10, 16))
        raw = rng.uniform(1.5, 6.0, n)
        lengths = np.round(raw / raw.sum() * total * FPS) / FPS
        lengths[-1] = round((total - lengths[:-1].sum()) * FPS) / FPS
        if lengths.min() >= 1.5 and lengths.max() <= 6.0:
            return lengths.tolist()


def build_case(work: Path, shots_audio: np.ndarray, rate: float, others: list[np.ndarray],
               rng: np.random.Generator, seconds: float, offset: float = 0.0) -> dict[Path, Truth]:
    """Write the source and distractor videos; return each video's truth.

    ``shots_audio`` is the audio the shots are cut from; its time ``t`` is song time
    ``offset + rate t`` (rate 1, offset 0 when it is the song itself). The shots cover song
    time from ``max(0, offset)`` to ``seconds``.
    """
    from videothat.media.synthetic import cut_video

    first = max(0.0, -offset / rate)  # shots_from time at song time 0 (or 0)
    lengths = shot_lengths(rng, (seconds - max(0.0, offset)) / rate)
    starts = first + np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    order = rng.permutation(len(lengths))
    groups = np.array_split(order, int(rng.integers(4, 7)))
    truths: dict[Path, Truth] = {}
    seed = 1
    for g, idx in enumerate(groups):
        spans, pieces, t = [], [], 0.0
        for i in idx:
            a, b = round(starts[i] * SR), round((starts[i] + lengths[i]) * SR)
            pieces.append(shots_audio[a:b])
            end = round((t + lengths[i]) * FPS) / FPS  # exact frame times: no drift at boundaries
            spans.append((t, end, offset + starts[i] * rate, rate))
            t = end
        path = work / f"source{g}.mp4"
        cut_video(path, [s[0] for s in spans[1:]], t, fps=FPS, audio=np.concatenate(pieces)[None], sr=SR,
                  first_seed=seed)
        seed += len(idx)
        truths[path] = Truth(spans)
    for d in range(int(rng.integers(2, 4))):
        other = others[d % len(others)]
        length = float(rng.uniform(10, 20))
        start = float(rng.uniform(0, max(0.0, other.size / SR - length)))
        piece = other[round(start * SR) : round((start + length) * SR)]
        cuts = np.cumsum(rng.uniform(2, 5, 10))
        path = work / f"distractor{d}.mp4"
        cut_video(path, [c for c in np.round(cuts * FPS) / FPS if c < piece.size / SR - 1], piece.size / SR,
                  fps=FPS, audio=piece[None], sr=SR, first_seed=seed)
        seed += 10
        truths[path] = Truth([])
    return truths


def detection(analyses, truths: dict[Path, Truth]) -> tuple[float, float]:
    """Shot-detection recall and precision over the source videos (cuts within one frame)."""
    found = true = hits = 0
    for a in analyses:
        truth = truths.get(a.source.resolve())
        if truth is None or not truth.spans:
            continue
        cuts = [s.start for s in a.shots[1:]]
        real = [span[0] for span in truth.spans[1:]]
        found, true = found + len(cuts), true + len(real)
        hits += sum(any(abs(c - r) <= 1.0 / FPS + 1e-6 for c in cuts) for r in real)
    return (hits / true if true else 1.0), (hits / found if found else 1.0)


def placed_times(timeline, truths: dict[Path, Truth]) -> tuple[np.ndarray, np.ndarray]:
    """Song times every 10 ms and the song time the chosen source plays there (nan: none)."""
    grid = np.arange(0.0, timeline.duration, 0.01)
    placed = np.full(grid.size, np.nan)
    for i, t in enumerate(grid):
        cut = next(c for c in timeline.segments if c.song_start <= t < c.song_end or c is timeline.segments[-1])
        truth = truths[Path(cut.source)].song_time(cut.source_time(t))
        placed[i] = np.nan if truth is None else truth
    return grid, placed


def placement_accuracy(timeline, truths: dict[Path, Truth]) -> float:
    """Fraction of song time where the source plays the song's own music at that time (40 ms)."""
    grid, placed = placed_times(timeline, truths)
    return float(np.mean(np.abs(placed - grid) <= TOLERANCE_S))


def repeat_accuracy(timeline, truths: dict[Path, Truth], song: np.ndarray) -> float:
    """As :func:`placement_accuracy`, but a place where the song repeats itself counts too:
    the song's log-mel spectrogram over 1 s around the time played and around the time
    placed match (cosine of the mean-removed patches >= REPEAT_SIMILARITY). Music made of
    exact repeats (loops, tracker patterns, MIDI) cannot tell them apart by sound."""
    import librosa

    grid, placed = placed_times(timeline, truths)
    right = np.abs(placed - grid) <= TOLERANCE_S
    mel = np.log(librosa.feature.melspectrogram(y=song, sr=SR, hop_length=512, n_mels=64) + 1e-6)
    half = round(0.5 * SR / 512)
    padded = np.pad(mel, ((0, 0), (half, half)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=1)  # [mels, T, w]
    patches = windows.transpose(1, 0, 2).reshape(mel.shape[1], -1)
    patches = patches - patches.mean(axis=1, keepdims=True)
    patches /= np.linalg.norm(patches, axis=1, keepdims=True) + 1e-9
    frame = lambda t: np.clip(np.round(t * SR / 512).astype(int), 0, mel.shape[1] - 1)  # noqa: E731
    ok = ~np.isnan(placed)
    similar = np.zeros(grid.size, dtype=bool)
    similar[ok] = np.sum(patches[frame(grid[ok])] * patches[frame(placed[ok])], axis=1) >= REPEAT_SIMILARITY
    return float(np.mean(right | similar))


def true_timeline(truths: dict[Path, Truth], duration: float):
    """The timeline that plays every shot at its own place and speed (the truth), for the
    onset F a perfect placement gets: the ceiling of the measure on this task (the sources'
    sound went through AAC, and pieces are spliced at cuts)."""
    from videothat.core.timeline import Cut, Timeline

    cuts = sorted((Cut(path, a, b, song_start, song_start + (b - a) * rate, 0.0, 1.0 / rate)
                   for path, truth in truths.items() for a, b, song_start, rate in truth.spans),
                  key=lambda c: c.song_start)
    edge, tiled = 0.0, []
    for c in cuts:  # frame rounding of the generated videos: make the spans touch exactly
        end = min(c.song_end, duration) if c is not cuts[-1] else duration
        if end > edge:
            tiled.append(Cut(c.source, c.source_start, c.source_start + c.speed * (end - edge), edge, end, 0.0,
                             c.speed))
            edge = end
    return Timeline(Path("song.wav"), duration, tiled)


def onset_f_measure(timeline, song: np.ndarray, audio_of: dict[Path, np.ndarray]) -> float:
    import librosa
    import mir_eval

    from videothat.audio.splice import splice

    ref = librosa.onset.onset_detect(y=song, sr=SR, units="time")
    est = librosa.onset.onset_detect(y=splice(timeline, audio_of, rate=SR), sr=SR, units="time")
    return float(mir_eval.onset.f_measure(ref, est, window=0.05)[0])


def true_path_value(result, truths: dict[Path, Truth], config) -> float:
    """The value (sum of score x seconds) the matcher's objective gives the true timeline
    (each shot from its first frame at its true place and, within the speed range, its
    true speed): above the found value, the search missed it; below, the score prefers another."""
    from videothat.match.assemble import placement_scores

    fr, t = result.frame_rate, len(result.song_curve)
    placements = []
    for i, shot in enumerate(result.shots):
        spans = truths[Path(shot.source)].spans
        truth = truths[Path(shot.source)].song_time(shot.start + 1e-6)
        if truth is None:
            continue
        rate = next(r for a, b, _, r in spans if a <= shot.start + 1e-6 < b)
        speed = min(max(1.0 / rate, config.search.speed_min), config.search.speed_max)
        pos = round(truth * fr)
        n = min(int(len(result.curves[i]) / speed), t - pos)
        if 0 <= pos < t and n >= 1:
            placements.append((i, pos, n, speed))
    scores = placement_scores(result, config.score, placements)
    return sum(s * n / fr for s, (_, _, n, _) in zip(scores, placements, strict=True))


def match_config(beam: int, overrides: dict[str, str]):
    """The default match config at ``beam``, with ``score.X=`` / ``search.X=`` overrides."""
    from videothat.match.config import MatchConfig

    mcfg = MatchConfig()
    parts = {"score": {}, "search": {"beam_width": beam}}
    for key, value in overrides.items():
        group, _, field = key.partition(".")
        if group not in parts or not field:
            raise SystemExit(f"override {key}: use score.FIELD=VALUE or search.FIELD=VALUE")
        parts[group][field] = _value(value)
    return replace(mcfg, score=replace(mcfg.score, **parts["score"]), search=replace(mcfg.search, **parts["search"]))


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def run_task(task: Task, layout: int, song: np.ndarray, truths: dict[Path, Truth], work: Path, args) -> list[dict]:
    from videothat.analysis import AnalysisConfig, analyze
    from videothat.audio.novelty import edge_frames
    from videothat.catalog import Catalog
    from videothat.match.assemble import match
    from videothat.media.audio import decode_audio
    from videothat.media.synthetic import write_audio

    song_path = write_audio(work / "song.wav", song[None], sr=SR)
    cfg = AnalysisConfig()
    videos = analyze(list(truths), cfg, catalog=Catalog(work / "cache", cfg.cache_params()))
    whole = Catalog(work / "cache", cfg.for_songs().cache_params())
    song_report = analyze([song_path], cfg.for_songs(), catalog=whole)
    if not song_report.analyses:  # e.g. a track too quiet to use: the matcher refuses it too
        print(f"  skipped {task.name}: {song_report.failures}", file=sys.stderr)
        return []
    (song_analysis,) = song_report.analyses
    truths = {p.resolve(): t for p, t in truths.items()}
    recall, precision = detection(videos.analyses, truths)
    audio_of = {a.source.resolve(): decode_audio(a.source, SR) for a in videos.analyses}
    rows = []
    for beam in args.beams:
        mcfg = match_config(beam, args.overrides)
        t0 = time.perf_counter()
        result = match(song_analysis, videos.analyses, mcfg, edge_frames=edge_frames(cfg.novelty))
        elapsed = time.perf_counter() - t0
        value = sum(c.score * c.duration for c in result.timeline.segments)
        true_value = true_path_value(result, truths, mcfg)
        accuracy = placement_accuracy(result.timeline, truths)
        rows.append({
            "kind": task.kind, "task": task.name, "split": task.split, "layout": layout, "rate": task.rate,
            "beam": beam, "placement": accuracy, "placement_repeats": repeat_accuracy(result.timeline, truths, song),
            "onset_f": onset_f_measure(result.timeline, song, audio_of),
            "onset_f_truth": onset_f_measure(true_timeline(truths, result.timeline.duration), song, audio_of),
            "segments": len(result.timeline.segments), "seconds": elapsed, "value": value,
            "true_value": true_value, "shot_recall": recall, "shot_precision": precision,
            "failure": "" if accuracy >= 0.98 else ("search" if true_value > value + 1e-6 else "score"),
            "speeds": sorted({round(c.speed, 3) for c in result.timeline.segments}),
            "retimed": sum(abs(c.speed - 1.0) > 1e-9 for c in result.timeline.segments), "package": task.package,
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="tune", choices=[*SPLITS, "all"],
                        help="tune (default), validation, test (once, at the end) or all (tune and validation)")
    parser.add_argument("--kinds", nargs="+", default=["song", "pair"], choices=["song", "pair"])
    parser.add_argument("--layouts", type=int, default=1, help="seeded layouts per track")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--limit", type=int, default=0, help="at most this many tasks per split and kind (0 = all)")
    parser.add_argument("--only", nargs="*", default=[], help="task names to run (substrings)")
    parser.add_argument("--json", type=Path, default=None, help="save every row here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="GROUP.KEY=VALUE",
                        help="match config overrides for every method: score.KEY=VALUE or search.KEY=VALUE")
    args = parser.parse_args()
    args.overrides = dict(item.split("=", 1) for item in args.overrides)
    if not (args.corpus / "music").is_dir():
        print(f"{args.corpus}: not a development corpus; build it with\n  bash scripts/build_corpus.sh {args.corpus}",
              file=sys.stderr)
        return 2
    import av

    from videothat.media.audio import decode_audio

    av.logging.set_level(av.logging.PANIC)  # the encoders' statistics of every generated video
    splits = chosen_splits(args.split)
    every = find_tasks(args.corpus, args.seconds)
    tasks = [t for t in every if t.kind in args.kinds and t.split in splits
             and (not args.only or any(o in t.name for o in args.only))]
    tasks = [t for t in pick(tasks, args.limit, args.seed) if t.kind == "song" or time_map_holds(t)]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="videothat-eval-") as tmp:
        for k, task in enumerate(tasks):
            for layout in range(args.layouts):
                digest = int(hashlib.sha1(task.name.encode()).hexdigest()[:8], 16)
                rng = np.random.default_rng([args.seed, layout, digest])
                song = decode_audio(task.song, SR)[: round(task.seconds * SR)]
                shots_from = decode_audio(task.shots_from, SR)
                pool = [t.song for t in every if t.kind == "song" and t.split == task.split and t.song != task.song]
                others = [decode_audio(pool[i], SR) for i in rng.choice(len(pool), min(3, len(pool)), replace=False)]
                work = Path(tmp) / f"task{k}_{layout}"
                work.mkdir()
                truths = build_case(work, shots_from, task.rate, others, rng, task.seconds, task.offset)
                new = run_task(task, layout, song, truths, work, args)
                rows += new
                if new:
                    print(f"  [{k + 1}/{len(tasks)}] {task.kind} {task.name} ({task.split}) layout {layout}: "
                          + ", ".join(f"beam {r['beam']}: {r['placement']:.3f}" for r in new), file=sys.stderr)
    print_table(rows, args.beams)
    if args.json:
        args.json.write_text(json.dumps({"overrides": args.overrides, "rows": rows}, indent=1))
        print(f"rows: {args.json}")
    return 0


def print_table(rows: list[dict], beams: list[int]) -> None:
    print(f"\n{'task':<34} {'kind':<4} {'split':<10} {'rate':>4} {'beam':>4} {'place':>6} {'repeat':>6} {'onsetF':>6} "
          f"{'truthF':>6} {'segs':>4} {'retimed':>7} {'recall':>6} {'prec':>5} {'value found/true':>17} {'miss':>6} "
          f"{'s':>6}")
    for r in rows:
        print(f"{r['task'][:34]:<34} {r['kind']:<4} {r['split']:<10} {r['rate']:>4.2f} {r['beam']:>4} "
              f"{r['placement']:>6.3f} {r['placement_repeats']:>6.3f} {r['onset_f']:>6.3f} {r['onset_f_truth']:>6.3f} "
              f"{r['segments']:>4} {r['retimed']:>7} {r['shot_recall']:>6.3f} {r['shot_precision']:>5.2f} "
              f"{r['value']:>8.1f}/{r['true_value']:<8.1f} {r['failure']:>6} {r['seconds']:>6.2f}")
    print("\nmeans ± one standard error over tasks")
    for split in SPLITS:
        for kind, label in (("song", "reconstruction"), ("pair", "rendition pairs")):
            for beam in beams:
                sel = [r for r in rows if r["split"] == split and r["kind"] == kind and r["beam"] == beam]
                if not sel:
                    continue
                other_tempo = [r for r in sel if abs(r["rate"] - 1) > 0.011]
                extra = (f", at another tempo ({len(other_tempo)}): "
                         f"{mean_se([r['placement'] for r in other_tempo])}") if other_tempo and kind == "pair" else ""
                print(f"{split:<10} {label:<16} {'greedy' if beam == 1 else f'beam {beam}':<8} n={len(sel):<3} "
                      f"placement {mean_se([r['placement'] for r in sel])} (repeats counted "
                      f"{mean_se([r['placement_repeats'] for r in sel])}), "
                      f"onset F {mean_se([r['onset_f'] for r in sel])} "
                      f"(the truth's {np.mean([r['onset_f_truth'] for r in sel]):.3f}), retimed "
                      f"{sum(r['retimed'] for r in sel)} of {sum(r['segments'] for r in sel)} segments, misses "
                      f"{sum(r['failure'] == 'search' for r in sel)} search / "
                      f"{sum(r['failure'] == 'score' for r in sel)} score{extra}")


if __name__ == "__main__":
    sys.exit(main())
