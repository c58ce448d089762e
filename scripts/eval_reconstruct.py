"""Can the matcher put a song's own shots back where they came from?

    python scripts/eval_reconstruct.py CORPUS_DIR [--songs 5] [--seconds 60] [--beams 1 8]

For each of ``--songs`` real songs of the development corpus (``music/``): take its first
``--seconds`` s, cut them into 10-15 shots of 1.5-6 s, spread the shots in shuffled order
over 4-6 generated source videos (distinct synthetic visuals, hard cuts, each shot
carrying its own piece of the song as sound), add 2-3 distractor videos whose sound comes
from other songs, then run the real pipeline (shot detection, novelty, matcher) and check
where each shot went. The same with the rendition pairs (``pairs/``): shots cut from
rendition B, the song is rendition A, truth from the pair's time map.

Reported, per data set and beam width, averaged over songs:

* placement accuracy: fraction of song time whose chosen source audio is the song's own
  audio at that time, within 40 ms;
* onset F-measure (mir_eval, 50 ms window) between the song and the assembled source audio;
* segments per timeline, and matcher wall time.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

SR = 22050
FPS = 25
TOLERANCE_S = 0.040


@dataclass
class Truth:
    """Where a source video's sound comes from: (video_start, video_end, song_time_at_start, rate)."""

    spans: list[tuple[float, float, float, float]]

    def song_time(self, t: float) -> float | None:
        for start, end, song_start, rate in self.spans:
            if start <= t < end:
                return song_start + (t - start) * rate
        return None


def shot_lengths(rng: np.random.Generator, total: float) -> list[float]:
    """10-15 lengths in [1.5, 6] s, on video frames, that add up to ``total``."""
    while True:
        n = int(rng.integers(10, 16))
        raw = rng.uniform(1.5, 6.0, n)
        lengths = np.round(raw / raw.sum() * total * FPS) / FPS
        lengths[-1] = round((total - lengths[:-1].sum()) * FPS) / FPS
        if lengths.min() >= 1.5 and lengths.max() <= 6.0:
            return lengths.tolist()


def build_case(work: Path, song: np.ndarray, shots_audio: np.ndarray, rate: float, others: list[np.ndarray],
               rng: np.random.Generator, seconds: float) -> dict[Path, Truth]:
    """Write the source and distractor videos; return each video's truth.

    ``shots_audio`` is the audio the shots are cut from, ``rate`` maps its time to song
    time (1.0 when it is the song itself).
    """
    from videothat.media.synthetic import cut_video

    lengths = shot_lengths(rng, seconds / rate)
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    order = rng.permutation(len(lengths))
    n_src = int(rng.integers(4, 7))
    groups = np.array_split(order, n_src)
    truths: dict[Path, Truth] = {}
    seed = 1
    for g, idx in enumerate(groups):
        spans, pieces, t = [], [], 0.0
        for i in idx:
            a, b = round(starts[i] * SR), round((starts[i] + lengths[i]) * SR)
            pieces.append(shots_audio[a:b])
            end = round((t + lengths[i]) * FPS) / FPS  # exact frame times: no drift at boundaries
            spans.append((t, end, starts[i] * rate, rate))
            t = end
        path = work / f"source{g}.mp4"
        cuts = [s[0] for s in spans[1:]]
        cut_video(path, cuts, t, fps=FPS, audio=np.concatenate(pieces)[None], sr=SR, first_seed=seed)
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


def placement_accuracy(timeline, truths: dict[Path, Truth]) -> float:
    grid = np.arange(0.0, timeline.duration, 0.01)
    good = 0
    for t in grid:
        cut = next(c for c in timeline.segments if c.song_start <= t < c.song_end or c is timeline.segments[-1])
        truth = truths[Path(cut.source)].song_time(cut.source_start + (t - cut.song_start))
        good += truth is not None and abs(truth - t) <= TOLERANCE_S
    return good / grid.size


def onset_f_measure(timeline, song: np.ndarray, audio_of: dict[Path, np.ndarray]) -> float:
    import librosa
    import mir_eval

    assembled = np.concatenate([
        audio_of[Path(c.source)][round(c.source_start * SR) : round(c.source_start * SR) + round(c.duration * SR)]
        for c in timeline.segments
    ])
    ref = librosa.onset.onset_detect(y=song, sr=SR, units="time")
    est = librosa.onset.onset_detect(y=assembled, sr=SR, units="time")
    return float(mir_eval.onset.f_measure(ref, est, window=0.05)[0])


def true_path_value(result, truths: dict[Path, Truth], config) -> float:
    """The value (sum of score x seconds) the matcher's objective gives the true timeline:
    if it beats the found one, the search missed; if not, the score prefers another."""
    from videothat.match.assemble import placement_scores

    fr, t = result.frame_rate, len(result.song_curve)
    placements = []
    for i, shot in enumerate(result.shots):
        truth = truths[Path(shot.source)].song_time(shot.start + 1e-6)
        pos = None if truth is None else round(truth * fr)
        if pos is not None and pos < t:
            placements.append((i, pos, min(len(result.curves[i]), t - pos)))
    scores = placement_scores(result, config.score, placements)
    return sum(s * n / fr for s, (_, _, n) in zip(scores, placements, strict=True))


def run_case(name: str, song: np.ndarray, truths: dict[Path, Truth], work: Path, beams: list[int], args) -> list[dict]:
    from videothat.audio.novelty import edge_frames
    from videothat.catalog import Catalog
    from videothat.config import AnalysisConfig, MatchConfig
    from videothat.match.assemble import match
    from videothat.media.audio import decode_audio
    from videothat.media.synthetic import write_audio
    from videothat.pipeline import analyze, song_catalog_params

    song_path = write_audio(work / "song.wav", song[None], sr=SR)
    cfg = AnalysisConfig()
    with_shots = Catalog(work / "cache", cfg.cache_params())
    videos = analyze(list(truths), cfg, catalog=with_shots)
    whole = Catalog(work / "cache", song_catalog_params(cfg))
    (song_analysis,) = analyze([song_path], cfg, catalog=whole, as_song=True).analyses
    names = {p.name: t for p, t in truths.items()}
    detected = sum(len(a.shots) for a in videos.analyses if names[a.source.name].spans)
    true_shots = sum(len(t.spans) for t in truths.values())
    audio_of = {a.source: decode_audio(a.source, SR) for a in videos.analyses}
    truths = {p.resolve(): t for p, t in truths.items()}
    rows = []
    for beam in beams:
        mcfg = MatchConfig()
        search = replace(mcfg.search, beam_width=beam, mode=args.mode)
        if args.expansions:
            search = replace(search, expansions=args.expansions)
        mcfg = replace(mcfg, search=search, score=replace(mcfg.score, **args.score))
        t0 = time.perf_counter()
        result = match(song_analysis, videos.analyses, mcfg, edge_frames=edge_frames(cfg.novelty))
        elapsed = time.perf_counter() - t0
        rows.append({
            "case": name, "beam": beam,
            "accuracy": placement_accuracy(result.timeline, truths),
            "onset_f": onset_f_measure(result.timeline, song, audio_of),
            "segments": len(result.timeline.segments), "seconds": elapsed,
            "value": sum(c.score * c.duration for c in result.timeline.segments),
            "true_value": true_path_value(result, truths, mcfg),
            "shots_found": f"{detected}/{true_shots}",
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--songs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--mode", default="sequential", choices=["sequential", "global"])
    parser.add_argument("--expansions", type=int, default=None, help="override match.expansions")
    parser.add_argument("--no-pairs", action="store_true", help="songs only")
    parser.add_argument("--score", nargs="*", default=[], metavar="KEY=VALUE",
                        help="match score overrides, e.g. compress=log power=0.75")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.score = {k: _number(v) for k, v in (item.split("=", 1) for item in args.score)}
    if not (args.corpus / "music").is_dir():
        print(f"{args.corpus}: not a development corpus; build it with\n"
              f"  bash ../shared/data/build_corpus.sh {args.corpus}", file=sys.stderr)
        return 2
    from videothat.media.audio import decode_audio

    rng = np.random.default_rng(args.seed)
    songs = sorted((args.corpus / "music").glob("*.wav"))
    long_enough = [p for p in songs if decode_audio(p, SR).size >= args.seconds * SR]
    picks = [long_enough[i] for i in rng.choice(len(long_enough), min(args.songs, len(long_enough)), replace=False)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="videothat-eval-") as tmp:
        for k, path in enumerate(picks):
            audio = decode_audio(path, SR)
            song = audio[: round(args.seconds * SR)]
            others = [decode_audio(p, SR) for p in songs if p != path][:3]
            work = Path(tmp) / f"song{k}"
            work.mkdir()
            truths = build_case(work, song, song, 1.0, others, rng, args.seconds)
            rows += run_case(path.stem, song, truths, work, args.beams, args)
            progress(rows[-len(args.beams):])
        with open(args.corpus / "pairs" / "pairs.csv") as f:
            pairs = [] if args.no_pairs else list(csv.DictReader(f))
        for k, pair in enumerate(pairs):
            a = decode_audio(args.corpus / "pairs" / pair["file_a"], SR)[: round(args.seconds * SR)]
            b = decode_audio(args.corpus / "pairs" / pair["file_b"], SR)
            ratio = float(pair["tempo_ratio_b_over_a"])  # t_b = t_a / ratio
            others = [decode_audio(p, SR) for p in songs[:3]]
            work = Path(tmp) / f"pair{k}"
            work.mkdir()
            truths = build_case(work, a, b, ratio, others, rng, args.seconds)
            rows += run_case(f"pair:{pair['pair']}", a, truths, work, args.beams, args)
            progress(rows[-len(args.beams):])
    print_table(rows, args.beams)
    return 0


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def progress(rows: list[dict]) -> None:
    print(f"  {rows[0]['case']}: " + ", ".join(f"beam {r['beam']}: {r['accuracy']:.3f}" for r in rows), file=sys.stderr)


def print_table(rows: list[dict], beams: list[int]) -> None:
    print(f"\n{'case':<38} {'beam':>4} {'accuracy':>9} {'onset F':>8} {'segments':>8} {'shots found':>11} "
          f"{'value found/true':>17} {'match s':>8}")
    for r in rows:
        print(f"{r['case']:<38} {r['beam']:>4} {r['accuracy']:>9.3f} {r['onset_f']:>8.3f} {r['segments']:>8} "
              f"{r['shots_found']:>11} {r['value']:>8.1f}/{r['true_value']:<8.1f} {r['seconds']:>8.2f}")
    print()
    for label, keep in [("songs", lambda r: not r["case"].startswith("pair:")),
                        ("rendition pairs", lambda r: r["case"].startswith("pair:"))]:
        for beam in beams:
            sel = [r for r in rows if keep(r) and r["beam"] == beam]
            if sel:
                accuracy, onset_f = np.mean([r["accuracy"] for r in sel]), np.mean([r["onset_f"] for r in sel])
                print(f"mean over {len(sel)} {label:<16} beam {beam:>2}: placement accuracy {accuracy:.3f}, "
                      f"onset F {onset_f:.3f}")


if __name__ == "__main__":
    sys.exit(main())
