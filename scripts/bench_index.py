"""Speed and accuracy of the fingerprint index: ``make --index`` against exhaustive matching,
and raw FAISS index types at a million fingerprints.

    python scripts/bench_index.py CORPUS_DIR [--shots 10000] [--song-seconds 60] [--repeats 3]
        [--vectors 1000000] [--dim 65] [--work ~/.cache/videothat-bench-index]

A. Matching with and without the index, on a reconstruction case. A synthetic archive of
   about ``--shots`` shots of 1.5-4 s is written (video files of ~250 shots each: tiny
   drifting textures, hard cuts on frame boundaries at 12 fps; each shot's sound a random
   excerpt of a random track of the corpus's ``music/``) and recorded in a JSON manifest
   under ``--work``, so a rerun with the same ``--shots``/``--seed`` reuses it (and the
   analysis cache beside it). The song is the sound of whole archive shots in sequence
   (``--song-seconds`` long, ~15-25 shots), so the truth is known: for each span of song
   time, which video and which time in it. The archive is analysed once through the cache
   (shots detected against shots written is printed), the index is built afresh (timed),
   then each matcher runs once untimed (warm-up) and ``--repeats`` times timed, the two
   alternating (median):

   * exhaustive: ``match_files(song, [archive])``, every shot scored;
   * index: ``match_files(song, [], index=...)``, only the shots the index shortlists;
     one row for the configured index type and one for each of ``--also-types`` (default
     ``IVF256,Flat``: the FAISS search scans a sixteenth of the fingerprints at nprobe 16).

   Reported: candidate shots scored, wall time of ``match_files``, its match/shortlist
   stages, speed-up, and placement accuracy: fraction of song time, every 10 ms, whose
   chosen source file and source time are the truth's within 40 ms ("same shot"), and
   whose chosen source plays the same corpus track within 40 ms ("same sound": the
   archive's random excerpts overlap, so several shots carry the same sound), and the
   timeline's value (the search's objective), beside the value of the true timeline.

B. Raw FAISS on ``--vectors`` clustered unit vectors of dimension ``--dim`` (65 = the rhythm
   fingerprint), queried with 1000 near-duplicates of stored vectors (like fingerprint
   look-ups): build time (train on ``--train-size`` sampled vectors + add), size on disk,
   ms per query in a batch of 1000 and one at a time (on one thread), recall@10 against
   exact ``Flat`` search and how often the query's own source vector is in its top 10, per
   factory string and ``nprobe`` (PQ training dominates the build: minutes at 65536). A
   factory FAISS rejects (e.g. ``PQ32`` needs a dimension that is a multiple of 32) is
   listed with the reason. Then the same through
   :class:`~videothat.index.store.FingerprintStore` (Python + SQLite metadata per vector)
   on ``--store-vectors`` vectors, to show the store's own overhead.

C. Landmark identification at scale (``index.encoder=landmarks``): every track of the
   corpus and of its development set (``dev/``, from ``scripts/build_corpus.sh``) and a time-reversed copy
   of each (more music with the same spectra; never the answer): about 1.7 million hashes;
   build time, size per hour, and for ``--singles`` clean 2 s and 5 s excerpts: top-1
   accuracy, median in-process query time (fingerprinting + look-up + offset votes), and
   the median wall time of 5 ``videothat query --video`` calls (start-up included).

Tables are printed to stdout in markdown; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

SR = 22050
FPS = 12
SIZE = (36, 64)
SHOTS_PER_FILE = 250
SHOT_SECONDS = (1.5, 4.0)
TOLERANCE_S = 0.040
GRID_S = 0.010
MANIFEST_VERSION = 1
T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s] {message}", file=sys.stderr, flush=True)


# ---- A. the synthetic archive --------------------------------------------------------------
def load_tracks(corpus: Path) -> dict[str, np.ndarray]:
    """Every ``music/*.wav`` of the corpus, mono float32 at ``SR``, by file name."""
    from videothat.media.audio import decode_audio

    paths = sorted((corpus / "music").glob("*.wav"))
    if not paths:
        raise SystemExit(f"{corpus}/music holds no .wav files; is {corpus} the development corpus?")
    return {p.name: decode_audio(p, SR) for p in paths}


def plan_archive(tracks: dict[str, np.ndarray], n_shots: int, seed: int) -> list[dict]:
    """Per video file: its name and shots ``[track, track_start_sample, start_frame, end_frame]``."""
    rng = np.random.default_rng(seed)
    names = sorted(tracks)
    lo, hi = round(SHOT_SECONDS[0] * FPS), round(SHOT_SECONDS[1] * FPS)
    files = []
    n_files = max(1, round(n_shots / SHOTS_PER_FILE))
    for k, count in enumerate(len(part) for part in np.array_split(np.arange(n_shots), n_files)):
        shots, frame = [], 0
        for _ in range(count):
            end = frame + int(rng.integers(lo, hi + 1))
            track = names[int(rng.integers(len(names)))]
            n = round(end / FPS * SR) - round(frame / FPS * SR)
            shots.append([track, int(rng.integers(0, tracks[track].size - n)), frame, end])
            frame = end
        files.append({"name": f"archive{k:04d}.mp4", "shots": shots})
    return files


def shot_audio(shot: list, tracks: dict[str, np.ndarray]) -> np.ndarray:
    """The samples of one planned shot (exactly its span of its file's audio)."""
    track, start, a, b = shot
    n = round(b / FPS * SR) - round(a / FPS * SR)
    return tracks[track][start : start + n]


def write_archive_file(entry: dict, videos: Path, tmp: Path, tracks: dict[str, np.ndarray], first_seed: int) -> None:
    """Write one planned video to ``tmp`` and rename it into ``videos`` (never half-written there)."""
    from videothat.media.synthetic import cut_video

    shots = entry["shots"]
    audio = np.concatenate([shot_audio(s, tracks) for s in shots]).astype(np.float32)
    cuts = [s[2] / FPS for s in shots[1:]]
    part = tmp / entry["name"]
    cut_video(part, cuts, shots[-1][3] / FPS, fps=FPS, audio=audio[None], sr=SR, first_seed=first_seed, size=SIZE)
    os.replace(part, videos / entry["name"])


def build_archive(root: Path, tracks: dict[str, np.ndarray], n_shots: int, seed: int) -> dict:
    """The archive under ``root`` (``manifest.json``, ``videos/``); missing files are written."""
    params = {"version": MANIFEST_VERSION, "shots": n_shots, "seed": seed, "fps": FPS, "size": list(SIZE),
              "sr": SR, "shots_per_file": SHOTS_PER_FILE, "tracks": sorted(tracks)}
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    if manifest is None or manifest["params"] != params:
        shutil.rmtree(root, ignore_errors=True)
        manifest = {"params": params, "files": plan_archive(tracks, n_shots, seed)}
        root.mkdir(parents=True)
        part = manifest_path.with_suffix(".part")
        part.write_text(json.dumps(manifest))
        os.replace(part, manifest_path)
    videos, tmp = root / "videos", root / "tmp"
    videos.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    first_seed = 1
    todo = [e for e in manifest["files"] if not (videos / e["name"]).is_file()]
    log(f"archive {root}: {len(manifest['files'])} files, {n_shots} shots; {len(todo)} file(s) to write")
    for entry in manifest["files"]:
        if entry in todo:
            write_archive_file(entry, videos, tmp, tracks, first_seed)
            log(f"  wrote {entry['name']} ({len(entry['shots'])} shots, {entry['shots'][-1][3] / FPS:.0f} s)")
        first_seed += len(entry["shots"])
    return manifest


# ---- A. the song and its truth -------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """Song time ``[song_start, song_end)`` plays ``source`` from ``source_start`` on."""

    song_start: float
    song_end: float
    source: Path
    source_start: float


def build_song(root: Path, manifest: dict, tracks: dict[str, np.ndarray], seconds: float,
               seed: int) -> tuple[Path, list[Span]]:
    """Whole archive shots, picked at random, in sequence until ``seconds`` are reached."""
    from videothat.media.synthetic import write_audio

    rng = np.random.default_rng([seed, 1])
    every = [(e["name"], s) for e in manifest["files"] for s in e["shots"]]
    pieces: list[np.ndarray] = []
    spans: list[Span] = []
    samples = 0
    for i in rng.permutation(len(every)):
        if samples >= seconds * SR:
            break
        name, shot = every[i]
        piece = shot_audio(shot, tracks)
        spans.append(Span(samples / SR, (samples + piece.size) / SR, (root / "videos" / name).resolve(),
                          round(shot[2] / FPS * SR) / SR))
        pieces.append(piece)
        samples += piece.size
    path = write_audio(root / f"song-{seconds:g}s.wav", np.concatenate(pieces)[None].astype(np.float32), sr=SR)
    return path, spans


def truth_in_candidates(shots, truth: list[Span]) -> int:
    """How many of the song's true shots are among the candidate shots (start within 2 frames)."""
    starts: dict[Path, list[float]] = {}
    for shot in shots:
        starts.setdefault(Path(shot.source).resolve(), []).append(shot.start)
    return sum(any(abs(t - span.source_start) <= 2 / FPS for t in starts.get(span.source, [])) for span in truth)


def track_time(files: dict[Path, list], source: Path, t: float) -> tuple[str, float] | None:
    """Which corpus track plays at time ``t`` (s) of archive video ``source``, and where in it (s)."""
    for track, start, a, b in files.get(source, []):
        if a / FPS <= t < b / FPS:
            return track, start / SR + t - round(a / FPS * SR) / SR
    return None


def sound_accuracy(timeline, truth: list[Span], manifest: dict, root: Path) -> float:
    """Fraction of song time (every 10 ms) where the chosen source plays the song's own sound:
    the same track within 40 ms (other archive shots may carry the same excerpt)."""
    files = {(root / "videos" / e["name"]).resolve(): e["shots"] for e in manifest["files"]}
    grid = np.arange(0.0, min(timeline.duration, truth[-1].song_end), GRID_S)
    cuts = timeline.segments
    cut_of = np.clip(np.searchsorted([c.song_start for c in cuts], grid, side="right") - 1, 0, len(cuts) - 1)
    span_of = np.clip(np.searchsorted([s.song_start for s in truth], grid, side="right") - 1, 0, len(truth) - 1)
    good = 0
    for t, c, s in zip(grid, cut_of, span_of, strict=True):
        cut, span = cuts[c], truth[s]
        chosen = track_time(files, Path(cut.source).resolve(), cut.source_start + (t - cut.song_start))
        true = track_time(files, span.source, span.source_start + (t - span.song_start))
        good += (chosen is not None and true is not None and chosen[0] == true[0]
                 and abs(chosen[1] - true[1]) <= TOLERANCE_S)
    return good / max(1, grid.size)


def placement_accuracy(timeline, truth: list[Span]) -> float:
    """Fraction of song time (every 10 ms) whose chosen source and source time are the truth's."""
    grid = np.arange(0.0, min(timeline.duration, truth[-1].song_end), GRID_S)
    cuts = timeline.segments
    cut_of = np.clip(np.searchsorted([c.song_start for c in cuts], grid, side="right") - 1, 0, len(cuts) - 1)
    span_of = np.clip(np.searchsorted([s.song_start for s in truth], grid, side="right") - 1, 0, len(truth) - 1)
    chosen_src = [Path(cuts[i].source).resolve() for i in range(len(cuts))]
    good = 0
    for t, c, s in zip(grid, cut_of, span_of, strict=True):
        cut, span = cuts[c], truth[s]
        chosen = cut.source_start + (t - cut.song_start)
        true = span.source_start + (t - span.song_start)
        good += chosen_src[c] == span.source and abs(chosen - true) <= TOLERANCE_S
    return good / max(1, grid.size)


def timeline_value(timeline) -> float:
    """The search's objective: the time integral of segment scores (score x seconds)."""
    return sum(c.score * (c.song_end - c.song_start) for c in timeline.segments)


def true_value(result, truth: list[Span], score) -> float:
    """The objective of the true timeline (every song shot at its own place), scored by the
    matcher's own kernel on the analysis of ``result`` (whose candidates hold every true shot)."""
    from videothat.match.assemble import placement_scores

    fr = result.frame_rate
    t = len(result.song_curve)
    starts: dict[Path, list[tuple[float, int]]] = {}
    for i, shot in enumerate(result.shots):
        starts.setdefault(Path(shot.source).resolve(), []).append((shot.start, i))
    placements = []
    for span in truth:
        i = min(starts[span.source], key=lambda x: abs(x[0] - span.source_start))[1]
        pos = min(round(span.song_start * fr), t - 1)
        placements.append((i, pos, max(1, min(len(result.curves[i]), t - pos))))
    scores = placement_scores(result, score, placements)
    return sum(s * (span.song_end - span.song_start) for s, span in zip(scores, truth, strict=True))


# ---- A. analysis, index, matching ----------------------------------------------------------
def configs(args: argparse.Namespace):
    """(analysis, matching, index) from the composed config with ``--set`` overrides."""
    from videothat.settings import analysis_config, compose_config, index_config, match_config

    cfg = compose_config(list(args.set))
    analysis, matching, index = analysis_config(cfg), match_config(cfg), index_config(cfg["index"])
    if args.index_type:
        index = replace(index, type=args.index_type)
    if matching.search.reuse:
        log("warning: match.reuse is true; the reconstruction truth assumes each shot is used once")
    return analysis, matching, index


def analyse_archive(videos: Path, manifest: dict, analysis, cache: Path) -> tuple[int, int, float]:
    """Analyse the archive through the cache: (shots written, shots detected, seconds)."""
    from videothat.analysis import analyze
    from videothat.catalog import Catalog

    catalog = Catalog(cache, analysis.cache_params())
    t0 = time.perf_counter()
    try:
        report = analyze([videos], analysis, catalog=catalog)
    finally:
        catalog.close()
    for failure in report.failures:
        log(f"  FAILED {failure.message}")
    written = sum(len(e["shots"]) for e in manifest["files"])
    return written, report.n_shots, time.perf_counter() - t0


def build_index(videos: Path, root: Path, analysis, index, cache: Path):
    """A fresh index of the archive (analysis from the cache): (report, seconds)."""
    from videothat.pipeline.archive import ingest

    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    report = ingest([videos], root, analysis, index, cache_dir=cache, mode="shots")
    seconds = time.perf_counter() - t0
    for failure in report.failures:
        log(f"  FAILED {failure.message}")
    return report, seconds


def time_matchers(matchers: dict[str, dict], song: Path, analysis, matching, cache: Path,
                  repeats: int) -> list[dict]:
    """Per matcher (label -> ``match_files`` keyword arguments): one warm-up run each, then
    ``repeats`` timed rounds, the matchers alternating (so a change in machine load hits
    both); the run of median wall time is kept."""
    from videothat.index.config import IndexConfig
    from videothat.pipeline.make import match_files
    from videothat.pipeline.run import Configs, Run

    timed: dict[str, list[tuple[float, object, object]]] = {label: [] for label in matchers}
    for r in range(repeats + 1):
        for label, kwargs in matchers.items():
            t0 = time.perf_counter()
            result, report = match_files(song, kwargs.get("videos", []), Configs(analysis=analysis, match=matching,
                                         index=kwargs.get("index_config", IndexConfig())), Run(cache),
                                         index=kwargs.get("index"))
            seconds = time.perf_counter() - t0
            log(f"{label}: {'warm-up' if r == 0 else f'run {r}/{repeats}'} {seconds:.2f} s, "
                f"{len(result.shots)} candidate shots")
            if r:
                timed[label].append((seconds, result, report))
    runs = []
    for label, results in timed.items():
        seconds, result, report = sorted(results, key=lambda x: x[0])[len(results) // 2]
        runs.append({"label": label, "shots": len(result.shots), "seconds": seconds, "result": result,
                     "match": report.seconds.get("match", 0.0), "shortlist": report.seconds.get("shortlist", 0.0)})
    return runs


def part_a(args: argparse.Namespace) -> None:
    work = args.work.expanduser().resolve()
    root, cache = work / f"archive-{args.shots}-seed{args.seed}", work / "cache"
    analysis, matching, index = configs(args)
    tracks = load_tracks(args.corpus)
    manifest = build_archive(root, tracks, args.shots, args.seed)
    song, truth = build_song(root, manifest, tracks, args.song_seconds, args.seed)
    log(f"song {song.name}: {truth[-1].song_end:.1f} s from {len(truth)} archive shots")
    written, detected, analyse_s = analyse_archive(root / "videos", manifest, analysis, cache)
    log(f"analysis: {detected} shots detected of {written} written ({analyse_s:.1f} s)")
    report, build_s = build_index(root / "videos", root / "index", analysis, index, cache)
    log(f"index built in {build_s:.1f} s: {report.vectors} fingerprints")
    matchers = {"exhaustive": {"videos": [root / "videos"]},
                f"index ({index.type})": {"videos": [], "index": root / "index", "index_config": index}}
    for factory in args.also_types:
        other, folder = replace(index, type=factory), root / f"index-{factory.replace(',', '_')}"
        _, other_s = build_index(root / "videos", folder, analysis, other, cache)
        log(f"index {factory} built in {other_s:.1f} s")
        matchers[f"index ({factory})"] = {"videos": [], "index": folder, "index_config": other}
    runs = time_matchers(matchers, song, analysis, matching, cache, max(1, args.repeats))
    for run in runs:
        run["accuracy"] = placement_accuracy(run["result"].timeline, truth)
        run["sound"] = sound_accuracy(run["result"].timeline, truth, manifest, root)
        run["found"] = f"{truth_in_candidates(run['result'].shots, truth)}/{len(truth)}"
        run["value"] = timeline_value(run["result"].timeline)
    truth_value = true_value(runs[0]["result"], truth, matching.score)
    short = sum(s.song_end - s.song_start < index.rhythm.window for s in truth)
    print_table_a(runs, written, detected, analyse_s, build_s, report.stats, index, (short, len(truth)),
                  truth_value)


def print_table_a(runs: list[dict], written: int, detected: int, analyse_s: float, build_s: float,
                  stats: dict, index, short: tuple[int, int], truth_value: float) -> None:
    base = runs[0]["seconds"]
    print(f"\n## A. make-style matching: exhaustive vs --index ({written} shots written, {detected} detected)\n")
    print("| matcher | candidate shots | true shots among them | wall s | match s | shortlist s | speed-up "
          "| same shot | same sound | timeline value | segments |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['label']} | {r['shots']} | {r['found']} | {r['seconds']:.2f} | {r['match']:.2f} "
              f"| {r['shortlist']:.2f} | {base / r['seconds']:.1f}x | {r['accuracy']:.3f} | {r['sound']:.3f} "
              f"| {r['value']:.2f} | {len(r['result'].timeline.segments)} |")
    print(f"\narchive analysis (through the cache): {analyse_s:.1f} s; index build: {build_s:.1f} s "
          f"(type {stats.get('index')}, encoder {stats.get('encoder')}, dim {stats.get('dim')}, "
          f"{stats.get('files')} files, {stats.get('vectors')} fingerprints, {stats.get('bytes', 0) / 1e6:.2f} MB; "
          f"k {index.k}, nprobe {index.nprobe})")
    print(f"song shots shorter than one rhythm fingerprint window ({index.rhythm.window:g} s; "
          f"one zero-padded fingerprint each): {short[0]} of {short[1]}")
    print("same shot: song time where the chosen shot is the one the song was made from, at the right time; "
          "same sound: where the chosen shot plays the same corpus track within 40 ms (the archive's "
          "random excerpts overlap, so other shots often carry the song's own sound)")
    print(f"timeline value: the search's objective, sum of segment score x seconds; the true timeline "
          f"(every song shot at its own place) scores {truth_value:.2f}")
    print("goal: --index >= 5x faster at the same accuracy")


# ---- B. raw FAISS --------------------------------------------------------------------------
def clustered_vectors(rng: np.random.Generator, n: int, dim: int, centres: int = 1000,
                      spread: float = 0.6) -> np.ndarray:
    """``n`` unit vectors around ``centres`` random unit centres (noise of norm ~``spread``)."""
    c = rng.standard_normal((centres, dim), dtype=np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        x = c[rng.integers(0, centres, b - a)] + rng.standard_normal((b - a, dim), dtype=np.float32) * (
            spread / np.sqrt(dim))
        out[a:b] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def near_duplicates(rng: np.random.Generator, xb: np.ndarray, n: int,
                    noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Queries: stored vectors plus noise of norm ~``noise``, normalised; and the stored ids."""
    ids = rng.choice(len(xb), min(n, len(xb)), replace=False)
    q = xb[ids] + rng.standard_normal((ids.size, xb.shape[1]), dtype=np.float32) * (noise / np.sqrt(xb.shape[1]))
    return np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), dtype=np.float32), ids


def build_faiss(factory: str, xb: np.ndarray, train_size: int, rng: np.random.Generator):
    """(index, build seconds, MB on disk); raises RuntimeError when FAISS rejects it."""
    import faiss

    t0 = time.perf_counter()
    index = faiss.index_factory(xb.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        sample = xb[np.sort(rng.choice(len(xb), min(train_size, len(xb)), replace=False))]
        index.train(sample)
    for a in range(0, len(xb), 100_000):
        index.add(xb[a : a + 100_000])
    seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        faiss.write_index(index, f"{tmp}/index.faiss")
        mb = os.path.getsize(f"{tmp}/index.faiss") / 1e6
    return index, seconds, mb


def search_speed(index, xq: np.ndarray, k: int, singles: int) -> tuple[np.ndarray, float, float]:
    """(ids of the batch search, ms/query in one batch, ms/query one at a time on one thread).

    One thread for single queries: FAISS's OpenMP threads cost more than they save on one
    query, and much more when other processes share the cores."""
    import faiss

    index.search(xq[:10], k)  # warm-up
    t0 = time.perf_counter()
    _, ids = index.search(xq, k)
    batch_ms = (time.perf_counter() - t0) / len(xq) * 1e3
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        t0 = time.perf_counter()
        for q in xq[:singles]:
            index.search(q[None], k)
        single_ms = (time.perf_counter() - t0) / max(1, min(singles, len(xq))) * 1e3
    finally:
        faiss.omp_set_num_threads(threads)
    return ids, batch_ms, single_ms


def recall_at(ids: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of the exact top-k found in the approximate top-k."""
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(ids, truth, strict=True)]))


def faiss_rows(args: argparse.Namespace, xb: np.ndarray, xq: np.ndarray, sources: np.ndarray,
               rng: np.random.Generator) -> list[dict]:
    """One row per (factory, nprobe); recall against the first (Flat) factory's results."""
    import faiss

    rows: list[dict] = []
    truth = None
    for factory in args.factories:
        log(f"FAISS {factory}: build on {len(xb)} vectors")
        try:
            index, build_s, mb = build_faiss(factory, xb, args.train_size, rng)
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1].split("Error: ")[-1]
            rows.append({"factory": factory, "nprobe": "-", "error": reason})
            continue
        ivf = "IVF" in factory
        for nprobe in args.nprobe if ivf else ["-"]:
            if ivf:
                faiss.extract_index_ivf(index).nprobe = nprobe
            ids, batch_ms, single_ms = search_speed(index, xq, args.k, args.singles)
            if truth is None and factory == "Flat":
                truth = ids
            rows.append({"factory": factory, "nprobe": nprobe, "build": build_s, "mb": mb, "batch": batch_ms,
                         "single": single_ms, "recall": recall_at(ids, truth) if truth is not None else None,
                         "found": float(np.mean([s in row for s, row in zip(sources, ids, strict=True)]))})
        del index
    return rows


def store_row(args: argparse.Namespace, xb: np.ndarray, xq: np.ndarray) -> dict:
    """The same vectors through FingerprintStore (Flat): add per 250-vector 'file', save, search."""
    from videothat.index.store import FingerprintStore, VectorInfo

    n = min(args.store_vectors, len(xb))
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        store = FingerprintStore.create(Path(tmp) / "store", dim=xb.shape[1], factory="Flat",
                                        train_size=args.train_size)
        t0 = time.perf_counter()
        for f, a in enumerate(range(0, n, 250)):
            path = f"/archive/file{f:06d}.mp4"
            infos = [VectorInfo(path, i // 8, (i % 8) * 0.5, "rhythm") for i in range(min(250, n - a))]
            store.add(xb[a : a + len(infos)], infos, path=path, content_hash=f"hash{f}")
        add_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.save()
        save_s = time.perf_counter() - t0
        store.search(xq[:10], k=args.k)
        t0 = time.perf_counter()
        store.search(xq, k=args.k)
        batch_ms = (time.perf_counter() - t0) / len(xq) * 1e3
        mb = store.stats()["bytes"] / 1e6
    return {"vectors": n, "add": add_s, "save": save_s, "mb": mb, "batch": batch_ms}


def part_b(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    log(f"B: {args.vectors} clustered unit vectors of dimension {args.dim}")
    xb = clustered_vectors(rng, args.vectors, args.dim)
    xq, sources = near_duplicates(rng, xb, args.queries)
    rows = faiss_rows(args, xb, xq, sources, rng)
    store = store_row(args, xb, xq) if args.store_vectors > 0 else None
    if store:
        log(f"FingerprintStore: {store['vectors']} vectors added in {store['add']:.1f} s")
    print_table_b(args, rows, store)


def print_table_b(args: argparse.Namespace, rows: list[dict], store: dict | None) -> None:
    print(f"\n## B. raw FAISS: {args.vectors} vectors of dim {args.dim}, {args.queries} near-duplicate queries, "
          f"k={args.k}, train on {min(args.train_size, args.vectors)}\n")
    print(f"| index | nprobe | build s | MB on disk | ms/query (batch) | ms/query (single, 1 thread) "
          f"| recall@{args.k} | source found@{args.k} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['factory']} | - | rejected by FAISS: {r['error']} | | | | | |")
            continue
        recall = "n/a" if r["recall"] is None else f"{r['recall']:.3f}"
        print(f"| {r['factory']} | {r['nprobe']} | {r['build']:.1f} | {r['mb']:.1f} | {r['batch']:.3f} "
              f"| {r['single']:.3f} | {recall} | {r['found']:.3f} |")
    if store:
        print(f"\nFingerprintStore (Flat, SQLite metadata) on {store['vectors']} vectors: add {store['add']:.1f} s "
              f"({store['add'] / store['vectors'] * 1e6:.1f} us/vector), save {store['save']:.1f} s, "
              f"{store['mb']:.1f} MB on disk, search {store['batch']:.3f} ms/query (batch, with metadata)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="development corpus (with music/*.wav)")
    parser.add_argument("--shots", type=int, default=10000, help="shots in the synthetic archive")
    parser.add_argument("--song-seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per matcher (median)")
    parser.add_argument("--work", type=Path, default=Path("~/.cache/videothat-bench-index"),
                        help="archive, manifest, cache and index (reused by later runs)")
    parser.add_argument("--index-type", default=None, help="FAISS factory of the part A index (default: config)")
    parser.add_argument("--also-types", nargs="*", default=["IVF256,Flat"],
                        help="part A: more index types matched in the same run (one row each)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, e.g. index.k=64")
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=65)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=100, help="queries timed one at a time")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=65536)
    parser.add_argument("--factories", nargs="+", default=["Flat", "IVF1024,PQ13", "PCAR64,IVF1024,PQ16"],
                        help="FAISS factory strings of part B")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--store-vectors", type=int, default=100_000, help="0 skips the FingerprintStore row")
    parser.add_argument("--skip", choices=["a", "b", "c"], nargs="*", default=[], help="leave out these parts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if "Flat" not in args.factories:
        args.factories.insert(0, "Flat")  # the exact results recall is measured against
    args.factories.sort(key=lambda f: f != "Flat")
    if "a" not in args.skip:
        part_a(args)
    if "b" not in args.skip:
        part_b(args)
    if "c" not in args.skip:
        part_c(args)
    return 0


def part_c(args) -> None:
    """Landmark identification at scale: every track of the corpus and its evaluation set."""
    import subprocess

    from videothat.index.config import LandmarkConfig
    from videothat.index.landmarks import LandmarkIndex, landmarks, query_landmarks
    from videothat.media.audio import decode_audio
    from videothat.media.synthetic import write_audio

    config = LandmarkConfig()
    sr = config.sample_rate
    paths = sorted(args.corpus.glob("music/*.wav")) + sorted(args.corpus.glob("pairs/*.wav")) \
        + sorted(args.corpus.glob("dev/*/*.wav"))
    tracks = [decode_audio(p, sr) for p in paths]
    hours = sum(x.size for x in tracks) / sr / 3600
    t0 = time.perf_counter()
    named = [(str(p.resolve()), landmarks(x, config)) for p, x in zip(paths, tracks, strict=True)]
    named += [(f"{p.resolve()}#reversed", landmarks(x[::-1].copy(), config))  # as much again: other music of the
              for p, x in zip(paths, tracks, strict=True)]  # same spectra and peak statistics, never the answer
    index = LandmarkIndex.build(config, named)
    built = time.perf_counter() - t0
    hours *= 2
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "music.idx"
        root.mkdir()
        index.save(root / "landmarks.npz")
        (root / "contents.json").write_text(json.dumps({n: n for n in index.names}))
        size = (root / "landmarks.npz").stat().st_size
        print(f"\nC. Landmarks: {len(paths)} tracks and their reversed copies, {hours * 60:.1f} min, "
              f"{len(index):,} hashes "
              f"({len(index) / (hours * 3600):.0f}/s of audio); build {built:.1f} s, {size / 1e6:.1f} MB "
              f"({size / 1e6 / hours:.1f} MB per hour)\n")
        print("| query | right (top-1, 0.5 s) | median ms in-process | median s, CLI call |")
        print("|---|---|---|---|")
        for seconds in (2.0, 5.0):
            ms, right, files = [], 0, []
            for k in range(args.singles):
                t = int(rng.integers(len(tracks)))
                start = float(rng.uniform(0, tracks[t].size / sr - seconds))
                clip = tracks[t][round(start * sr) : round((start + seconds) * sr)]
                a = time.perf_counter()
                found = index.query(query_landmarks(clip, config), top=5)
                ms.append(1000 * (time.perf_counter() - a))
                right += bool(found) and found[0].item == index.names[t] and abs(found[0].offset - start) <= 0.5
                if k < 5:
                    files.append(write_audio(Path(tmp) / f"q{k}.wav", clip[None], sr=sr))
            cli = []
            for f in files:
                a = time.perf_counter()
                subprocess.run([str(Path(sys.executable).parent / "videothat"), "query", "--video", str(f),
                                "--index", str(root), "-k", "1"], check=True, capture_output=True)
                cli.append(time.perf_counter() - a)
            print(f"| {seconds:g} s clean | {right / args.singles:.2f} | {np.median(ms):.1f} | {np.median(cli):.2f} |")


if __name__ == "__main__":
    sys.exit(main())
