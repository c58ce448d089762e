"""Can the fingerprint index find where a degraded excerpt comes from?

    python scripts/eval_retrieval.py CORPUS_DIR [--queries 40] [--lengths 1 2 5 10]
        [--encoders landmarks timbre rhythm] [--compressed OPQ32_128,IVF64,PQ32] [--split tune|heldout|all]
        [--checkpoint RUN/audio_encoder.safetensors]

Indexes every track of the development corpus (``music/`` and ``pairs/``: the ``tune``
split) and of the development set (``dev/music/`` and ``dev/pairs/`` from
``scripts/build_corpus.sh``: ``heldout``, tracks never looked at while tuning) together,
with each encoder: ``landmarks`` (spectral peak pairs in a hash table,
:mod:`videothat.index.landmarks`) and the FAISS encoders in an exact (``Flat``) and a
compressed index. Queries are drawn per split and reported apart: excerpts taken at random
places, each cut to 1, 2, 5 and 10 s (prefixes of one excerpt, so lengths pair up) and
degraded every way (the
same excerpts in every column, so degradations compare pairwise): clean, white
noise at 10 dB SNR, gain -12 dB, low-pass at 4 kHz (4th order), lossy re-encoding (MP3
at 64 kbit/s). A query is answered the way ``videothat query --video`` does: windows
every ``index.query_hop`` s, the nearest ``index.query_votes`` of their ``index.k`` neighbours
vote for (track, offset); a landmark query as ``query --video`` on a landmark index does.

Reported in one run, for every split x encoder x index x degradation x length: top-1
accuracy, strict (right track and offset within 0.5 s) and repeat-aware (also right when
the offset found starts the very same passage, a loop of the track: the clean track's log
spectrogram there correlates >= REPEAT_CORRELATION with the excerpt's, so no query could
tell the two apart),
and top-10 (the ten best alignments); and per encoder x index: fingerprints, store size per
hour of audio, median query latency (fingerprinting + search + vote, in-process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from videothat.audio.config import NoveltyConfig
from videothat.index.config import IndexConfig, LandmarkConfig, LearnedConfig
from videothat.index.encoders import FingerprintEncoder, build_encoder
from videothat.index.landmarks import LandmarkIndex, landmarks, query_landmarks, spectrogram
from videothat.index.store import FingerprintStore, VectorInfo
from videothat.index.vote import vote
from videothat.media.audio import decode_audio

SR = 22050
TOLERANCE_S = 0.5
REPEAT_CORRELATION = 0.9  # log spectrograms of the clean track at the found offset and at the excerpt's
# (Pearson r, the best of the offset +-REPEAT_SEARCH half frames; other passages of a track: 0.4-0.7)
REPEAT_SEARCH = 4  # half frames (5.8 ms at SR) either side of the answer's offset
DEGRADATIONS = ("clean", "noise 10 dB", "gain -12 dB", "low-pass 4 kHz", "mp3 64k")


@dataclass(frozen=True)
class Query:
    split: str
    track: int
    start: float  # s
    length: float  # s
    degradation: str
    audio: np.ndarray


def degrade(x: np.ndarray, kind: str, rng: np.random.Generator, work: Path) -> np.ndarray:
    """``x`` [n] float32 at :data:`SR` with one degradation applied."""
    if kind == "noise 10 dB":
        noise = rng.standard_normal(x.size).astype(np.float32)
        return x + noise * np.sqrt(np.mean(x**2) / 10.0)
    if kind == "gain -12 dB":
        return x * np.float32(10 ** (-12 / 20))
    if kind == "low-pass 4 kHz":
        import torchaudio.functional as F

        y = torch.from_numpy(x)
        return F.lowpass_biquad(F.lowpass_biquad(y, SR, 4000.0), SR, 4000.0).numpy()
    if kind == "mp3 64k":
        from videothat.media.synthetic import write_audio

        path = write_audio(work / "q.mp3", x[None], sr=SR, codec="libmp3lame", bit_rate=64000)
        return decode_audio(path, SR)[: x.size]
    return x


def make_queries(tracks: list[np.ndarray], splits: list[str], lengths: list[float], n: int, seed: int,
                 work: Path) -> list[Query]:
    """``n`` excerpts per split at random places, each cut to every length (the shorter
    ones prefixes of the longer: paired, so a longer query can be compared with its own
    start) and degraded every way (the same excerpts under every degradation)."""
    rng = np.random.default_rng(seed)
    queries = []
    for split in dict.fromkeys(splits):
        mine = [t for t, s in enumerate(splits) if s == split]
        for _ in range(n):
            t = mine[int(rng.integers(len(mine)))]
            start = float(rng.uniform(0, tracks[t].size / SR - max(lengths)))
            whole = tracks[t][round(start * SR) : round(start * SR) + round(max(lengths) * SR)]
            for kind in DEGRADATIONS:
                degraded = degrade(whole, kind, rng, work)
                queries += [Query(split, t, start, length, kind, degraded[: round(length * SR)]) for length in lengths]
    return queries


def is_right(query: Query, track: int, offset: float, tracks: list[np.ndarray]) -> tuple[bool, bool]:
    """(strict, repeat-aware) correctness of the answer (track, offset s) to ``query``."""
    if track != query.track:
        return False, False
    if abs(offset - query.start) <= TOLERANCE_S:
        return True, True
    x, n = tracks[track], round(query.length * SR)
    want = round(query.start * SR)
    config = LandmarkConfig(sample_rate=SR)
    b = spectrogram(x[want : want + n], config).ravel()
    b = b - b.mean()
    best = -1.0
    for shift in range(-REPEAT_SEARCH, REPEAT_SEARCH + 1):  # the answer's offset is a frame's guess
        at = round(offset * SR) + shift * config.hop_length // 2
        if 0 <= at and at + n <= x.size:
            a = spectrogram(x[at : at + n], config).ravel()
            a = a - a.mean()
            best = max(best, float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)))
    return False, best >= REPEAT_CORRELATION


def build_store(root: Path, encoder: FingerprintEncoder, fingerprints: list, factory: str) -> FingerprintStore:
    store = FingerprintStore.create(root, dim=encoder.dim, factory=factory, encoder=encoder.describe(),
                                    mode="songs", train_size=1 << 30)  # train on everything at save
    for t, (vectors, starts) in enumerate(fingerprints):
        infos = [VectorInfo(str(t), 0, float(s), encoder.name) for s in starts]
        store.add(vectors, infos, path=str(t), content_hash=str(t))
    store.save()
    return store


def compressed_factory(choice: str, dim: int, n_vectors: int) -> str:
    """``choice``, or for ``auto`` IVF with ~40 training vectors per list (a power of 2) and
    PQ with the largest number of sub-quantisers <= 48 that divides ``dim``."""
    if choice != "auto":
        return choice
    lists = 2 ** max(2, int(np.log2(max(4, n_vectors // 40))))
    m = max(d for d in range(1, 49) if dim % d == 0)
    return f"IVF{lists},PQ{m}"


def answer(query: Query, store: FingerprintStore, encoder: FingerprintEncoder, index: IndexConfig,
           tracks: list[np.ndarray]) -> tuple[tuple[bool, bool, bool], float]:
    """((top-1 strict, top-1 repeat-aware, in the top 10), seconds taken) for a FAISS encoder."""
    t0 = time.perf_counter()
    ((vectors, starts),) = encoder.with_hop(min(index.query_hop, encoder.hop)).encode([torch.from_numpy(query.audio)])
    hits = store.search(vectors, k=index.k)
    found = vote(hits, starts, bin_seconds=encoder.hop, top=10, per_file=False,
                 per_window=index.query_votes) if len(starts) else []
    spent = time.perf_counter() - t0
    return _judge(query, [(int(a.path), a.offset) for a in found], tracks), spent


def answer_landmarks(query: Query, index: LandmarkIndex, tracks: list[np.ndarray]
                     ) -> tuple[tuple[bool, bool, bool], float]:
    """The same for the landmark index (its audio resampled to the index's rate, as a query does)."""
    t0 = time.perf_counter()
    audio = _resample(query.audio, index.config.sample_rate)
    found = index.query(query_landmarks(audio, index.config), top=10)
    spent = time.perf_counter() - t0
    return _judge(query, [(int(m.item), m.offset) for m in found], tracks), spent


def _judge(query: Query, found: list[tuple[int, float]], tracks: list[np.ndarray]) -> tuple[bool, bool, bool]:
    first = is_right(query, *found[0], tracks) if found else (False, False)
    return first[0], first[1], any(is_right(query, t, o, tracks)[0] for t, o in found)


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    import torchaudio.functional as F

    return x if rate == SR else F.resample(torch.from_numpy(x), SR, rate).numpy()


def find_tracks(corpus: Path) -> tuple[list[Path], list[str]]:
    """The tracks and their split: the corpus's own (tune) and the development set's songs
    and renditions of packages outside its tune split (heldout; ``dev/manifest.csv``)."""
    import csv

    paths = sorted((corpus / "music").glob("*.wav")) + sorted((corpus / "pairs").glob("*.wav"))
    splits = ["tune"] * len(paths)
    manifest = corpus / "dev" / "manifest.csv"
    if manifest.is_file():
        with open(manifest) as f:
            for row in csv.DictReader(f):
                if row["split"] != "tune":
                    found = [corpus / "dev" / row[k] for k in ("file", "file_a", "file_b") if row.get(k)]
                    paths += found
                    splits += ["heldout"] * len(found)
    return paths, splits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--queries", type=int, default=40, help="queries per split, length and degradation")
    parser.add_argument("--lengths", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--encoders", nargs="+", default=["landmarks", "timbre", "rhythm"])
    parser.add_argument("--compressed", default="auto",
                        help="FAISS factory of the compressed index; auto = IVF{lists},PQ{m} sized to the data")
    parser.add_argument("--split", default="all", choices=["tune", "heldout", "all"],
                        help="whose queries (the index always holds every track)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="a fingerprint run's audio_encoder.safetensors: adds the learned encoder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.checkpoint and "learned" not in args.encoders:
        args.encoders.append("learned")
    if "learned" in args.encoders and not args.checkpoint:
        parser.error("--encoders learned needs --checkpoint RUN/audio_encoder.safetensors")
    paths, splits = find_tracks(args.corpus)
    if not paths:
        sys.exit(f"no tracks under {args.corpus}/music or pairs: build the corpus first")
    if "heldout" not in splits:
        print(f"note: no held-out tracks ({args.corpus}/dev): bash scripts/build_corpus.sh {args.corpus}",
              file=sys.stderr)
    tracks = [decode_audio(p, SR) for p in paths]
    hours = sum(t.size for t in tracks) / SR / 3600
    print(f"{len(tracks)} tracks ({splits.count('tune')} tune, {splits.count('heldout')} heldout), "
          f"{hours * 60:.1f} min of audio", file=sys.stderr)
    index = IndexConfig()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        queries = [q for q in make_queries(tracks, splits, args.lengths, args.queries, args.seed, work)
                   if args.split in ("all", q.split)]
        results, sizes = {}, []
        for name in args.encoders:
            if name == "landmarks":
                t0 = time.perf_counter()
                store = build_landmarks(work / "landmarks.npz", tracks)
                built = time.perf_counter() - t0
                runs = [("hash table", lambda q, store=store: answer_landmarks(q, store, tracks), len(store),
                         (work / "landmarks.npz").stat().st_size, built)]
            else:
                runs = faiss_runs(name, tracks, work, args, index, len(sizes))
            for factory, ask, count, size, built in runs:
                latencies = []
                for q in queries:
                    judged, spent = ask(q)
                    results.setdefault((q.split, name, factory, q.degradation, q.length), []).append(judged)
                    latencies.append(spent)
                sizes.append((name, factory, count, size / 1e6 / hours, built, 1000 * float(np.median(latencies))))
                print(f"{name} {factory}: done", file=sys.stderr)
    print_tables(results, sizes, args)
    return 0


def build_landmarks(path: Path, tracks: list[np.ndarray]) -> LandmarkIndex:
    """The landmark index of every track (item names: track numbers), saved to ``path``."""
    config = LandmarkConfig()
    index = LandmarkIndex.build(config, [(str(t), landmarks(_resample(x, config.sample_rate), config))
                                         for t, x in enumerate(tracks)])
    index.save(path)
    return index


def faiss_runs(name: str, tracks: list[np.ndarray], work: Path, args, index: IndexConfig, serial: int) -> list:
    """(index type, answer function, vectors, bytes, build s) for a FAISS encoder, exact and compressed."""
    learned = LearnedConfig(checkpoint=str(args.checkpoint)) if name == "learned" else LearnedConfig()
    encoder = build_encoder(IndexConfig(encoder=name, learned=learned), NoveltyConfig())
    t0 = time.perf_counter()
    fingerprints = encoder.encode([torch.from_numpy(x) for x in tracks])
    encoded = time.perf_counter() - t0
    n_vectors = sum(len(s) for _, s in fingerprints)
    runs = []
    for k, factory in enumerate(("Flat", compressed_factory(args.compressed, encoder.dim, n_vectors))):
        t0 = time.perf_counter()
        store = build_store(work / f"{name}-{serial}-{k}", encoder, fingerprints, factory)
        built = encoded + time.perf_counter() - t0
        stats = store.stats()
        runs.append((factory, lambda q, store=store: answer(q, store, encoder, index, tracks), stats["vectors"],
                     stats["bytes"], built))
    return runs


def print_tables(results: dict, sizes: list, args) -> None:
    lengths = args.lengths
    print(f"\nTop-1 strict / top-1 repeat-aware / top-10 (right track, offset within {TOLERANCE_S} s), "
          f"{args.queries} queries per cell (the same excerpts under every degradation)\n")
    head = " | ".join(f"{length:g} s" for length in lengths)
    print(f"| split | encoder | index | degradation | {head} |")
    print("|---|---|---|---|" + "---|" * len(lengths))
    for key in dict.fromkeys(k[:4] for k in results):
        cells = []
        for length in lengths:
            judged = np.array(results[(*key, length)])
            cells.append(" / ".join(f"{v:.2f}" for v in judged.mean(axis=0)))
        print("| " + " | ".join(key) + " | " + " | ".join(cells) + " |")
    print("\nLonger worse than shorter (the same excerpt; repeat-aware top-1 right at the shorter length, wrong at "
          "the longer), over every degradation:\n")
    steps = list(zip(lengths[:-1], lengths[1:], strict=True))
    print("| split | encoder | index | " + " | ".join(f"{a:g} s -> {b:g} s" for a, b in steps) + " |")
    print("|---|---|---|" + "---|" * (len(lengths) - 1))
    for key in dict.fromkeys(k[:3] for k in results):
        cells = []
        for a, b in steps:
            short = np.concatenate([np.array(results[(*key, d, a)])[:, 1] for d in DEGRADATIONS])
            long = np.concatenate([np.array(results[(*key, d, b)])[:, 1] for d in DEGRADATIONS])
            cells.append(f"{int(np.sum(short & ~long))} of {short.size}")
        print("| " + " | ".join(key) + " | " + " | ".join(cells) + " |")
    print("\n| encoder | index | fingerprints | MB per hour | build s | median query ms |")
    print("|---|---|---|---|---|---|")
    for name, factory, count, mb, built, ms in sizes:
        print(f"| {name} | {factory} | {count} | {mb:.2f} | {built:.1f} | {ms:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
