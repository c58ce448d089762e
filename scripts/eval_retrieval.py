"""Can the fingerprint index find where a degraded excerpt comes from?

    python scripts/eval_retrieval.py CORPUS_DIR [--queries 40] [--lengths 1 2 5 10]
        [--encoders timbre rhythm] [--compressed OPQ32_128,IVF64,PQ32]

Indexes windows of every track of the development corpus (``music/`` and ``pairs/``)
with each fingerprint encoder, in an exact (``Flat``) and a compressed index, then
queries excerpts of 1, 2, 5 and 10 s taken at random places, each degraded every way (the
same excerpts in every column, so degradations compare pairwise): clean, white
noise at 10 dB SNR, gain -12 dB, low-pass at 4 kHz (4th order), lossy re-encoding (MP3
at 64 kbit/s). A query is answered the way ``videothat query --video`` does: windows
every ``index.query_hop`` s, ``index.k`` neighbours each, votes for (track, offset).

Reported in one run, for every encoder x index x degradation x length: top-1 and top-10
accuracy (right track and offset within 0.5 s; the ten best (track, offset) alignments, so
a repeat of the same passage elsewhere in the track does not hide the right one), and per
encoder x index: vectors, store size per hour of audio, median query latency
(fingerprinting + search + vote).
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
from videothat.index.config import IndexConfig
from videothat.index.encoders import FingerprintEncoder, build_encoder
from videothat.index.store import FingerprintStore, VectorInfo
from videothat.index.vote import vote
from videothat.media.audio import decode_audio

SR = 22050
TOLERANCE_S = 0.5
DEGRADATIONS = ("clean", "noise 10 dB", "gain -12 dB", "low-pass 4 kHz", "mp3 64k")


@dataclass(frozen=True)
class Query:
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


def make_queries(tracks: list[np.ndarray], lengths: list[float], n: int, seed: int, work: Path) -> list[Query]:
    """``n`` excerpts per length at random places, each under every degradation (paired)."""
    rng = np.random.default_rng(seed)
    queries = []
    for length in lengths:
        for _ in range(n):
            t = int(rng.integers(len(tracks)))
            start = float(rng.uniform(0, tracks[t].size / SR - length))
            clip = tracks[t][round(start * SR) : round(start * SR) + round(length * SR)]
            queries += [Query(t, start, length, kind, degrade(clip, kind, rng, work)) for kind in DEGRADATIONS]
    return queries


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


def answer(query: Query, store: FingerprintStore, encoder: FingerprintEncoder, index: IndexConfig) -> tuple[int, float]:
    """(rank of the right answer, 1-based, 0 if not in the top 10; seconds taken)."""
    t0 = time.perf_counter()
    ((vectors, starts),) = encoder.with_hop(min(index.query_hop, encoder.hop)).encode([torch.from_numpy(query.audio)])
    hits = store.search(vectors, k=index.k)
    found = vote(hits, starts, bin_seconds=encoder.hop, top=10, per_file=False) if len(starts) else []
    spent = time.perf_counter() - t0
    for rank, a in enumerate(found, 1):
        if a.path == str(query.track) and abs(a.offset - query.start) <= TOLERANCE_S:
            return rank, spent
    return 0, spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--queries", type=int, default=40, help="queries per length and degradation")
    parser.add_argument("--lengths", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--encoders", nargs="+", default=["timbre", "rhythm"])
    parser.add_argument("--compressed", default="auto",
                        help="FAISS factory of the compressed index; auto = IVF{lists},PQ{m} sized to the data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = sorted((args.corpus / "music").glob("*.wav")) + sorted((args.corpus / "pairs").glob("*.wav"))
    if not paths:
        sys.exit(f"no tracks under {args.corpus}/music or pairs: build the corpus first")
    tracks = [decode_audio(p, SR) for p in paths]
    hours = sum(t.size for t in tracks) / SR / 3600
    print(f"{len(tracks)} tracks, {hours * 60:.1f} min of audio", file=sys.stderr)
    index = IndexConfig()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        queries = make_queries(tracks, args.lengths, args.queries, args.seed, work)
        results, sizes = {}, []
        for name in args.encoders:
            encoder = build_encoder(IndexConfig(encoder=name), NoveltyConfig())
            t0 = time.perf_counter()
            fingerprints = encoder.encode([torch.from_numpy(x) for x in tracks])
            encoded = time.perf_counter() - t0
            n_vectors = sum(len(s) for _, s in fingerprints)
            for factory in ("Flat", compressed_factory(args.compressed, encoder.dim, n_vectors)):
                t0 = time.perf_counter()
                store = build_store(work / f"{name}-{len(sizes)}", encoder, fingerprints, factory)
                built = encoded + time.perf_counter() - t0
                latencies = []
                for q in queries:
                    rank, spent = answer(q, store, encoder, index)
                    results.setdefault((name, factory, q.degradation, q.length), []).append(rank)
                    latencies.append(spent)
                stats = store.stats()
                sizes.append((name, factory, stats["vectors"], stats["bytes"] / 1e6 / hours, built,
                              1000 * float(np.median(latencies))))
                print(f"{name} {factory}: done", file=sys.stderr)
    print_tables(results, sizes, args)
    return 0


def print_tables(results: dict, sizes: list, args) -> None:
    lengths = args.lengths
    print(f"\nTop-1 / top-10 accuracy (right track, offset within {TOLERANCE_S} s), {args.queries} queries per cell "
          "(the same excerpts under every degradation)\n")
    head = " | ".join(f"{length:g} s" for length in lengths)
    print(f"| encoder | index | degradation | {head} |")
    print("|---|---|---|" + "---|" * len(lengths))
    for (name, factory, kind) in dict.fromkeys((k[0], k[1], k[2]) for k in results):
        cells = []
        for length in lengths:
            ranks = np.array(results[(name, factory, kind, length)])
            cells.append(f"{np.mean(ranks == 1):.2f} / {np.mean(ranks > 0):.2f}")
        print(f"| {name} | {factory} | {kind} | " + " | ".join(cells) + " |")
    print("\n| encoder | index | vectors | MB per hour | build s | median query ms |")
    print("|---|---|---|---|---|---|")
    for name, factory, vectors, mb, built, ms in sizes:
        print(f"| {name} | {factory} | {vectors} | {mb:.2f} | {built:.1f} | {ms:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
