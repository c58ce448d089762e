"""The query jobs: shots for a song (a ``shots`` index), music for a video (a ``songs``
index), by the video's sound or, with a soundtrack run's visual encoder, by its pictures."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from videothat.analysis import AnalysisConfig
from videothat.core.errors import NoVideoError, ParameterError, VideoThatError
from videothat.index.config import IndexConfig
from videothat.index.encode import query_fingerprints
from videothat.index.store import FingerprintStore, Hit
from videothat.index.vote import Alignment, vote
from videothat.pipeline.archive import index_analysis, open_store
from videothat.pipeline.run import Run, analyze_whole


@dataclass(frozen=True)
class SongPart:
    """The best shots for the song window ``[start, end)`` s, best first (one hit per shot);
    each hit's ``info.start`` is the source time in s that lines up with ``start``."""

    start: float
    end: float
    hits: list[Hit]


def _query_fingerprints(path: str | Path, store: FingerprintStore, analysis: AnalysisConfig, index: IndexConfig,
                        run: Run) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(vectors, window starts in s, the index's hop in s, the file's duration in s) of a
    query file analysed whole, with windows every ``index.query_hop`` s."""
    report = analyze_whole(path, index_analysis(store, analysis), run, role="query")
    analysed = report.analyses[0]
    return (*query_fingerprints(analysed, store, index, device=str(run.device)), analysed.duration)


def query_song(song: str | Path, root: Path, analysis: AnalysisConfig, index: IndexConfig, *,
               run: Run, top: int = 5) -> list[SongPart]:
    """The ``top`` shots of a ``shots`` index that fit each window of the song best: windows
    of the index's hop (0.25 s by default) tiling ``[0, duration]``, the last one shorter.

    A window's candidates are the hits of the query windows (every ``index.query_hop`` s)
    starting in it, or, in the song's last fingerprint length where none starts, of the last
    query window (which covers it). A hit's source time is its indexed window's time moved
    by the distance from its query window to the song window's start, but never before the
    shot's first fingerprinted window: a match at a shot's very start can put the song
    window's start a few hundredths of a second before the shot (query windows start after
    the song's first novelty frames, ``index.rhythm.edge``).
    """
    store = open_store(root, index=None, mode="shots")
    vectors, starts, hop, duration = _query_fingerprints(song, store, analysis, index, run)
    rows = store.search(vectors, k=index.k)
    first = store.first_windows(sorted({h.info.path for row in rows for h in row}))
    parts = []
    for p, members in enumerate(_windows_per_part(starts, hop, duration)):
        t, best = p * hop, {}
        for i in members:
            for hit in rows[i]:
                key = (hit.info.path, hit.info.shot)
                if key not in best or hit.score > best[key].score:
                    source = max(first.get(key, 0.0), hit.info.start + t - float(starts[i]))
                    best[key] = Hit(hit.score, hit.id, replace(hit.info, start=source))
        parts.append(SongPart(t, min(t + hop, duration), sorted(best.values(), key=lambda h: -h.score)[:top]))
    return parts


def _windows_per_part(starts: np.ndarray, hop: float, duration: float) -> list[np.ndarray]:
    """For each ``hop``-s window of ``[0, duration]`` s (the last one shorter), the indices of
    the query windows (``starts`` in s, ascending) starting in it; a window none starts in
    takes the last one starting before it, or the first one if none does."""
    n = max(1, math.ceil(duration / hop - 1e-6))
    edges = np.arange(n + 1) * hop
    lo, hi = np.searchsorted(starts, edges[:-1] - 1e-6), np.searchsorted(starts, edges[1:] - 1e-6)
    return [np.arange(a, b) if b > a else np.array([max(a - 1, 0)]) for a, b in zip(lo, hi, strict=True)]


def query_video(video: str | Path, root: Path, analysis: AnalysisConfig, index: IndexConfig, *,
                run: Run, top: int = 10) -> list[Alignment]:
    """Songs of a ``songs`` index ranked by how well they fit the video's sound, with the
    time in each song where the video would start."""
    store = open_store(root, index=None, mode="songs")
    vectors, starts, hop, _ = _query_fingerprints(video, store, analysis, index, run)
    return vote(store.search(vectors, k=index.k), starts, bin_seconds=hop, top=top, per_window=index.query_votes)


def query_video_pictures(video: str | Path, root: Path, index: IndexConfig, *, video_encoder: str | Path,
                         run: Run, top: int = 10) -> list[Alignment]:
    """Songs of a ``songs`` index ranked by how well they fit what the video *shows*
    (:func:`picture_vectors`)."""
    store = open_store(root, index=None, mode="songs")
    vectors, starts, hop = picture_vectors(video, store, index, video_encoder=video_encoder, run=run)
    return vote(store.search(vectors, k=index.k), starts, bin_seconds=hop, top=top)


def picture_vectors(video: str | Path, store: FingerprintStore, index: IndexConfig, *, video_encoder: str | Path,
                    run: Run) -> tuple[np.ndarray, np.ndarray, float]:
    """(vectors, window starts in s, the index's hop in s) of what the video shows: the
    pictures of a window every ``index.query_hop`` s (at most the index's hop) through a
    soundtrack run's visual encoder, whose embeddings live in the space of that run's audio
    encoder, which the store must have been built with (``index.encoder=learned``).

    Raises
    ------
    ParameterError : the store holds other fingerprints, or the encoders are not a pair.
    NoVideoError, VideoThatError : no pictures, or too short for one window.
    """
    from videothat.audio.config import EmbedConfig
    from videothat.audio.embed import hop_frames
    from videothat.media.probe import probe
    from videothat.vision.encoders import check_pairing, embed_video_windows, load_video_encoder

    root, built = store.root, store.encoder
    if built.get("name") != "learned":
        raise ParameterError(f"{root}: built with {built.get('name')} fingerprints; sound by pictures with a visual "
                             "encoder needs an index of a soundtrack run's audio encoder (index build "
                             "index.encoder=learned index.learned.checkpoint=RUN/audio_encoder.safetensors)")
    model, extra = load_video_encoder(video_encoder, device=run.device)
    audio = dict(built.get("model", {}))
    check_pairing(model, extra, built, path=Path(video_encoder), index=root)
    embed = EmbedConfig(**audio)
    indexed_hop = hop_frames(embed, float(built["params"]["hop"])) * embed.hop_length / embed.sample_rate
    info = probe(video)
    if info.video is None:
        raise NoVideoError(Path(video), "no video stream: sound by pictures needs pictures")
    duration = info.duration
    if duration < embed.window:
        raise VideoThatError(f"query {video}: {duration:.2f} s is shorter than one {embed.window} s window")
    starts = np.arange(0.0, duration - embed.window + 1e-9, min(index.query_hop, indexed_hop))
    vectors = embed_video_windows(model, video, starts, embed.window)
    store.to_device(str(run.device))
    return vectors, starts, indexed_hop
