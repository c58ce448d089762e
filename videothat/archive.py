"""The archive jobs: index files' fingerprints, remove them, query the index, shortlist.

``ingest``: files -> (cached) analysis -> fingerprints -> the on-disk store, in-process or
fanned out on Ray; files already indexed (same content) are skipped, the store is saved
every ``index.save_every`` s, so a killed build resumes where its last save was.
``query_song``: the shots whose sound best fits each part of a song (a ``shots`` index).
``query_video``: the songs, and where in them, that best fit a video's sound (a ``songs``
index). ``shortlist``: the shots a song's fingerprints find, for ``make --index``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from videothat.audio.config import NoveltyConfig
from videothat.catalog import Catalog, FileAnalysis
from videothat.config import AnalysisConfig, resolve_device
from videothat.errors import CacheError, NoVideoError, ParameterError, VideoThatError
from videothat.index.config import IndexConfig
from videothat.index.store import FingerprintStore, Hit, VectorInfo
from videothat.index.vote import Alignment, best_offset_sums, vote
from videothat.media.discover import find_media
from videothat.media.shots import ShotConfig
from videothat.pipeline import AnalysisReport, Failure, analyze, song_catalog_params

log = logging.getLogger(__name__)

MODES = ("shots", "songs")
OFFSET_BIN = 0.05  # s, offset bins of the shortlist's votes (about two curve frames)


@dataclass(frozen=True)
class IngestJob:
    """What a worker needs to fingerprint files (sent to Ray workers as is)."""

    analysis: AnalysisConfig
    encoder: dict  # the store's encoder description
    cache_dir: Path
    mode: str  # shots | songs


@dataclass(frozen=True)
class FileFingerprints:
    """One file's fingerprints [shape=(n, dim)] and where each comes from."""

    path: Path
    content_hash: str
    vectors: np.ndarray
    infos: list[VectorInfo]


@dataclass
class IngestReport:
    """Outcome of :func:`ingest`."""

    added: list[Path] = field(default_factory=list)
    already: list[Path] = field(default_factory=list)  # content already in the index
    failures: list[Failure] = field(default_factory=list)
    vectors: int = 0
    stats: dict[str, object] = field(default_factory=dict)


# ---- the store and its parameters ---------------------------------------------------------
def open_store(root: Path, *, index: IndexConfig | None = None, analysis: AnalysisConfig | None = None,
               mode: str | None = None) -> FingerprintStore:
    """Open the store at ``root``; with ``index`` and ``analysis``, create it if absent.

    Raises :class:`CacheError` if it is unusable or of another ``mode``.
    """
    if not (root / "CURRENT").exists() and index is not None and analysis is not None:
        from videothat.index.encoders import build_encoder

        encoder = build_encoder(index, analysis.novelty)
        store = FingerprintStore.create(root, dim=encoder.dim, factory=index.type, encoder=encoder.describe(),
                                        mode=mode or "shots", nprobe=index.nprobe, train_size=index.train_size)
        store.db.execute("INSERT INTO meta VALUES (?, ?)", ("analysis", json.dumps(_result_params(analysis))))
        return store
    store = FingerprintStore.open(root, nprobe=index.nprobe if index else 16)
    if index is not None:
        store.train_size = index.train_size
        if analysis is not None and index.type != store.factory:
            log.warning("%s is a %s index; index.type=%s applies only to new indexes", root, store.factory, index.type)
    if mode is not None and store.mode != mode:
        hint = "without --songs" if store.mode == "shots" else "with --songs"
        raise CacheError(f"{root} is an index of {store.mode}, not {mode}; use it {hint} or another --index")
    return store


def _result_params(analysis: AnalysisConfig) -> dict[str, object]:
    return {"novelty": analysis.novelty.as_dict(), "shots": analysis.shots.as_dict(),
            "silence_db": analysis.silence_db}


def index_analysis(store: FingerprintStore, analysis: AnalysisConfig) -> AnalysisConfig:
    """``analysis`` with the parameters the index was built with (novelty, shots, silence)."""
    stored = json.loads(store.meta("analysis"))
    try:
        fixed = replace(analysis, novelty=NoveltyConfig(**stored["novelty"]), shots=ShotConfig(**stored["shots"]),
                        silence_db=stored["silence_db"])
    except (KeyError, TypeError) as exc:
        raise CacheError(f"{store.root}: index analysis parameters are unreadable ({exc}); rebuild it") from exc
    if _result_params(fixed) != _result_params(analysis):
        log.warning("%s was built with other analysis parameters; using the index's", store.root)
    return fixed


# ---- fingerprinting ----------------------------------------------------------------------
def encode_analyses(analyses: Sequence[FileAnalysis], encoder) -> list[tuple[np.ndarray, list[VectorInfo]]]:
    """Fingerprints of every shot of every analysis, batched; per file (vectors, infos).

    Rhythm fingerprints come from the analyses' novelty curves; other encoders decode the
    files' audio again. ``VectorInfo.start`` is the window's time in its file (s).
    """
    from videothat.index.encoders import RhythmEncoder

    if isinstance(encoder, RhythmEncoder):
        per_shot = encoder.encode_curves([c for a in analyses for c in a.novelty])
    else:
        import torch

        from videothat.media.audio import decode_audio

        sr, waves = encoder.sample_rate, []
        for a in analyses:
            audio = torch.from_numpy(decode_audio(a.source, sr))
            waves += [audio[round(s.start * sr) : round(s.end * sr)] for s in a.shots]
        per_shot = encoder.encode(waves)
    out, k = [], 0
    for a in analyses:
        mine = per_shot[k : k + len(a.shots)]
        k += len(a.shots)
        infos = [VectorInfo(str(a.source), i, float(shot.start + s), encoder.name)
                 for i, (shot, (_, starts)) in enumerate(zip(a.shots, mine, strict=True)) for s in starts]
        vectors = np.concatenate([v for v, _ in mine]) if mine else np.zeros((0, encoder.dim), np.float32)
        out.append((vectors.reshape(-1, encoder.dim), infos))
    return out


def fingerprint_files(paths: Sequence[Path], job: IngestJob) -> list[FileFingerprints | Failure]:
    """Analyse (through the cache) and fingerprint files; one result per path, in order."""
    from videothat.index.encoders import encoder_from_description

    as_song = job.mode == "songs"
    catalog = Catalog(job.cache_dir, song_catalog_params(job.analysis) if as_song else job.analysis.cache_params())
    try:
        report = analyze(paths, job.analysis, catalog=catalog, as_song=as_song)
    finally:
        catalog.close()
    results: dict[Path, FileFingerprints | Failure] = {f.path: f for f in report.failures}
    usable = []
    for a in report.analyses:
        if as_song or a.has_video:
            usable.append(a)
        else:
            results[a.source] = Failure(a.source, f"{a.source}: has no pictures (an index of shots holds videos; "
                                                  "index music with --songs)")
    encoder = encoder_from_description(job.encoder, device=resolve_device(job.analysis.device))
    for a, (vectors, infos) in zip(usable, encode_analyses(usable, encoder), strict=True):
        results[a.source] = FileFingerprints(a.source, a.content_hash, vectors, infos)
    return [results.get(p, Failure(p, f"{p}: not analysed")) for p in paths]


def _fingerprint_chunk(args: tuple[list[Path], IngestJob]) -> list[FileFingerprints | Failure]:
    """Ray task body (module level, so workers import it)."""
    return fingerprint_files(*args)


def ingest(
    paths: Iterable[str | Path],
    root: Path,
    analysis: AnalysisConfig,
    index: IndexConfig,
    *,
    cache_dir: Path,
    mode: str | None = "shots",
    create: bool = True,
    workers: int = 0,
    address: str | None = None,
    chunk_files: int = 8,
    on_total: Callable[[int], None] | None = None,
    on_file: Callable[[Path, str], None] | None = None,
) -> IngestReport:
    """Fingerprint files into the store at ``root`` (created if absent and ``create``).

    ``mode`` is ``shots`` or ``songs`` (files whole); ``None`` takes the existing store's.

    ``workers`` > 0 fans analysis and fingerprinting out on Ray (``address`` of a cluster,
    or a local instance); 0 runs in this process. Results are added in input order
    either way, so both give the same index. ``on_file(path, status)``: ``indexed``,
    ``already``, ``failed``.
    """
    if mode not in (*MODES, None):
        raise ParameterError(f"mode={mode!r} must be one of {', '.join(MODES)}")
    store = open_store(root, index=index if create else None, analysis=analysis if create else None, mode=mode)
    store.train_size = index.train_size
    job = IngestJob(index_analysis(store, analysis), store.encoder, cache_dir, store.mode)
    files, problems = find_media(paths)
    report = IngestReport(failures=[Failure(e.path, str(e)) for e in problems])
    todo = _not_indexed(files, store, cache_dir, report)
    if on_total:
        on_total(len(files))
    notify = on_file or (lambda path, status: None)
    for path in report.already:
        notify(path, "already")
    chunks = [(todo[i : i + chunk_files], job) for i in range(0, len(todo), chunk_files)]
    if workers > 0:
        from videothat.distributed import ray_map

        results = (r for chunk in ray_map(_fingerprint_chunk, chunks, workers=workers, address=address)
                   for r in chunk)
    else:
        results = (r for chunk in chunks for r in _fingerprint_chunk(chunk))
    _add_all(store, results, report, notify, save_every=index.save_every)
    report.stats = store.stats()
    return report


def _not_indexed(files: list[Path], store: FingerprintStore, cache_dir: Path, report: IngestReport) -> list[Path]:
    """Files whose content is not in the store yet (the rest go to ``report.already``)."""
    hashes = Catalog(cache_dir, {})  # only its content-hash memo is used
    todo = []
    try:
        for path in files:
            try:
                digest = hashes.hash_of(path)
            except OSError as exc:
                report.failures.append(Failure(path, f"{path}: cannot read ({exc.strerror or exc})"))
                continue
            (report.already if store.has_file(digest) else todo).append(path)
    finally:
        hashes.close()
    return todo


def _add_all(store: FingerprintStore, results: Iterable[FileFingerprints | Failure], report: IngestReport,
             notify: Callable[[Path, str], None], *, save_every: float) -> None:
    """Add results as they come, saving every ``save_every`` s and at the end (also when interrupted)."""
    last_save, dirty = time.monotonic(), False
    try:
        for result in results:
            if isinstance(result, Failure):
                report.failures.append(result)
                notify(result.path, "failed")
                continue
            path = str(result.path.resolve())
            infos = [replace(i, path=path) for i in result.infos]
            report.vectors += store.add(result.vectors, infos, path=path, content_hash=result.content_hash)
            report.added.append(result.path)
            dirty = True
            notify(result.path, "indexed")
            if time.monotonic() - last_save >= save_every:
                store.save()
                last_save, dirty = time.monotonic(), False
    finally:
        if dirty or store.generation == 0:
            store.save()


def remove(paths: Iterable[str | Path], root: Path) -> tuple[int, int]:
    """Remove files (by path as indexed, or resolved) from the store: (files, vectors) removed."""
    store = open_store(root)
    files = vectors = 0
    for raw in paths:
        for name in {str(raw), str(Path(raw).expanduser().resolve())}:
            n = store.remove(name)
            files, vectors = files + (n > 0), vectors + n
    if files:
        store.save()
    return files, vectors


# ---- queries -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SongPart:
    """The best shots for the song window starting at ``start`` s (one hit per shot)."""

    start: float
    hits: list[Hit]


def _query_fingerprints(path: str | Path, store: FingerprintStore, analysis: AnalysisConfig, index: IndexConfig,
                        cache_dir: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """(vectors, window starts in s, the index's hop in s) of a query file analysed whole,
    with windows every ``index.query_hop`` s."""
    analysis = index_analysis(store, analysis)
    catalog = Catalog(cache_dir, song_catalog_params(analysis))
    try:
        report = analyze([path], analysis, catalog=catalog, as_song=True)
    finally:
        catalog.close()
    if report.failures:
        raise VideoThatError(f"query {report.failures[0].message}")
    return _fingerprints_of(report.analyses[0], store, index, device=str(resolve_device(analysis.device)))


def _fingerprints_of(analysed: FileAnalysis, store: FingerprintStore, index: IndexConfig, *, device: str
                     ) -> tuple[np.ndarray, np.ndarray, float]:
    from videothat.index.encoders import encoder_from_description

    encoder = encoder_from_description(store.encoder, device=device)
    store.to_device(device)
    ((vectors, infos),) = encode_analyses([analysed], encoder.with_hop(min(index.query_hop, encoder.hop)))
    if not infos:
        raise VideoThatError(f"query {analysed.source}: too short or too flat for one {encoder.name} fingerprint")
    return vectors, np.array([i.start for i in infos]), encoder.hop


def query_song(song: str | Path, root: Path, analysis: AnalysisConfig, index: IndexConfig, *,
               cache_dir: Path, top: int = 5) -> list[SongPart]:
    """For each index hop of the song, the ``top`` shots of a ``shots`` index that fit it best;
    each hit's ``info.start`` is the source time that lines up with the part's start."""
    store = open_store(root, index=None, mode="shots")
    vectors, starts, hop = _query_fingerprints(song, store, analysis, index, cache_dir)
    parts: dict[int, dict[tuple[str, int], Hit]] = {}
    for q, row in zip(starts, store.search(vectors, k=index.k), strict=True):
        part = int(q / hop + 1e-6)
        best = parts.setdefault(part, {})
        for hit in row:
            key = (hit.info.path, hit.info.shot)
            if key not in best or hit.score > best[key].score:
                aligned = replace(hit.info, start=hit.info.start - (q - part * hop))
                best[key] = Hit(hit.score, hit.id, aligned)
    return [SongPart(part * hop, sorted(best.values(), key=lambda h: -h.score)[:top])
            for part, best in sorted(parts.items())]


def query_video(video: str | Path, root: Path, analysis: AnalysisConfig, index: IndexConfig, *,
                cache_dir: Path, top: int = 10) -> list[Alignment]:
    """Songs of a ``songs`` index ranked by how well they fit the video's sound, with the
    time in each song where the video would start."""
    store = open_store(root, index=None, mode="songs")
    vectors, starts, hop = _query_fingerprints(video, store, analysis, index, cache_dir)
    return vote(store.search(vectors, k=index.k), starts, bin_seconds=hop, top=top)


def query_video_pictures(video: str | Path, root: Path, index: IndexConfig, *, video_encoder: str | Path,
                         device: str = "cpu", top: int = 10) -> list[Alignment]:
    """Songs of a ``songs`` index ranked by how well they fit what the video *shows*: the
    pictures of a window every ``index.query_hop`` s (at most the index's hop) go through a
    soundtrack run's visual encoder, whose embeddings live in the space of that run's audio
    encoder, which the index must have been built with (``index.encoder=learned``)."""
    from videothat.audio.config import EmbedConfig
    from videothat.audio.embed import hop_frames
    from videothat.media.probe import probe
    from videothat.vision.encoders import embed_video_windows, load_video_encoder

    store = open_store(root, index=None, mode="songs")
    built = store.encoder
    if built.get("name") != "learned":
        raise ParameterError(f"{root}: built with {built.get('name')} fingerprints; music by pictures needs a "
                             "music index of a soundtrack run's audio encoder (index build --songs "
                             "index.encoder=learned index.learned.checkpoint=RUN/audio_encoder.safetensors)")
    model, extra = load_video_encoder(video_encoder, device=device)
    audio = dict(built.get("model", {}))
    paired = extra.get("audio_digest", built.get("digest")) == built.get("digest")  # older exports: no digest
    fits = (model.dim, model.steps, extra.get("audio_window", audio.get("window"))) == \
        (audio.get("dim"), audio.get("steps", 0), audio.get("window"))
    if not (paired and fits):
        raise ParameterError(f"{video_encoder}: this visual encoder was not trained with the audio encoder "
                             f"{root} was built with; use the audio_encoder.safetensors of the same run")
    embed = EmbedConfig(**audio)
    indexed_hop = hop_frames(embed, float(built["params"]["hop"])) * embed.hop_length / embed.sample_rate
    info = probe(video)
    if info.video is None:
        raise NoVideoError(Path(video), "no video stream: music by pictures needs pictures")
    duration = info.duration
    if duration < embed.window:
        raise VideoThatError(f"query {video}: {duration:.2f} s is shorter than one {embed.window} s window")
    starts = np.arange(0.0, duration - embed.window + 1e-9, min(index.query_hop, indexed_hop))
    vectors = embed_video_windows(model, video, starts, embed.window)
    store.to_device(device)
    return vote(store.search(vectors, k=index.k), starts, bin_seconds=indexed_hop, top=top)


def shortlist(song: FileAnalysis, store: FingerprintStore, index: IndexConfig, *, device: str = "cpu"
              ) -> dict[str, set[int]]:
    """The ``index.shortlist`` shots (file -> shot indices) that fit the song best, from the
    ``index.k`` nearest fingerprints of each song window, ranked by ``index.shortlist_rank``:

    * ``votes``: the similarities of a shot's hits summed per song offset they imply (song
      time minus source time, in bins of ``OFFSET_BIN`` s, a bin's neighbours included), its
      best offset's sum per fingerprint window of the shot: a shot whose windows all line
      up with the song at one place ranks above one with a single good window among many
      (audfprint's offset histogram, normalised so that length alone does not win);
    * ``best``: its single most similar window.

    Ties go to the smaller (path, shot).
    """
    vectors, starts, _ = _fingerprints_of(song, store, index, device=device)
    scores, ids = store.search_arrays(vectors, k=index.k)
    query, col = np.nonzero(ids >= 0)
    vector_ids, which = np.unique(ids[query, col], return_inverse=True)
    paths, file_of, shot_of, start_of = store.shots_of(vector_ids)
    base = int(shot_of.max(initial=0)) + 1
    shots = (file_of * base + shot_of)[which]  # per hit, ordered as (path, shot)
    similarity = scores[query, col].astype(np.float64)
    if index.shortlist_rank == "votes":
        offset = np.round((starts[query] - start_of[which]) / OFFSET_BIN).astype(np.int64)
        keys, value = _max_per(*best_offset_sums(shots, offset, np.maximum(similarity, 0.0)))
        windows = store.windows_per_shot(paths)
        count = np.array([windows[(paths[key // base], key % base)] for key in keys.tolist()])
        value = value / count  # per window of the shot: long shots do not win by length
    else:
        keys, value = _max_per(shots, similarity)
    chosen: dict[str, set[int]] = {}
    for key in keys[np.lexsort((keys, -value))[: index.shortlist]].tolist():
        chosen.setdefault(paths[key // base], set()).add(key % base)
    return chosen


def _max_per(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, the largest value of each)."""
    distinct, group = np.unique(keys, return_inverse=True)
    best = np.full(len(distinct), -np.inf)
    np.maximum.at(best, group, values)
    return distinct, best


def shortlisted_analyses(report: AnalysisReport, chosen: dict[str, set[int]]) -> None:
    """Keep only the chosen shots of each analysis in ``report`` (in place)."""
    kept = []
    for a in report.analyses:
        shots = chosen.get(str(Path(a.source).resolve()), set())
        pick = [i for i in range(len(a.shots)) if i in shots]
        if pick:
            kept.append(replace(a, shots=[a.shots[i] for i in pick], novelty=[a.novelty[i] for i in pick]))
    report.analyses = kept
