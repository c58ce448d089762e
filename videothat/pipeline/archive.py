"""The archive jobs: index files' fingerprints (build/add), remove them, open a store.

``ingest``: files -> (cached) analysis -> fingerprints -> the on-disk store, in-process or
fanned out on Ray; files already indexed (same content) are skipped, the store is saved
every ``index.save_every`` s, so a killed build resumes where its last save was.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from videothat.analysis import AnalysisConfig, Failure
from videothat.audio.config import NoveltyConfig
from videothat.catalog import Catalog
from videothat.core.errors import CacheError, ParameterError
from videothat.core.progress import NoProgress, Progress
from videothat.index.config import IndexConfig
from videothat.index.encode import encode_analyses
from videothat.index.store import FingerprintStore, VectorInfo
from videothat.media.discover import find_media
from videothat.media.shots import ShotConfig
from videothat.pipeline.ingest import IngestReport, content_digest, index_writer
from videothat.pipeline.run import Run, analyze_files

log = logging.getLogger(__name__)

MODES = ("shots", "songs")


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
        store.set_meta("analysis", json.dumps(analysis.cache_params()))
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


def indexed_files(root: Path) -> list[Path]:
    """The files an index (FAISS or landmarks) holds."""
    from videothat.pipeline.landmark_archive import is_landmark_index, landmark_items

    if is_landmark_index(root):
        return [Path(p) for p in landmark_items(root)]
    return [Path(p) for p in open_store(root).files()]


def guarded_inputs(outputs: list[Path], inputs: list[Path], index: Path | None) -> list[Path]:
    """``inputs``, and when one of ``outputs`` exists already (a rerun, or a name that might be
    an archive's file) the files of ``index``: what the outputs must not overwrite."""
    if index is not None and any(o.exists() for o in outputs):
        return [*inputs, *indexed_files(index)]
    return inputs


def index_analysis(store: FingerprintStore, analysis: AnalysisConfig) -> AnalysisConfig:
    """``analysis`` with the parameters the index was built with (novelty, shots, silence)."""
    stored = json.loads(store.meta("analysis"))
    try:
        fixed = replace(analysis, novelty=NoveltyConfig(**stored["novelty"]), shots=ShotConfig(**stored["shots"]),
                        silence_db=stored["silence_db"])
    except (KeyError, TypeError) as exc:
        raise CacheError(f"{store.root}: index analysis parameters are unreadable ({exc}); rebuild it") from exc
    if fixed.cache_params() != analysis.cache_params():
        log.warning("%s was built with other analysis parameters; using the index's", store.root)
    return fixed


def fingerprint_files(paths: Sequence[Path], job: IngestJob) -> list[FileFingerprints | Failure]:
    """Analyse (through the cache) and fingerprint files; one result per path, in order."""
    from videothat.index.encoders import encoder_from_description

    songs = job.mode == "songs"
    run = Run(job.cache_dir, device=job.analysis.device)
    report = analyze_files(paths, job.analysis.for_songs() if songs else job.analysis, run, progress=False)
    results: dict[Path, FileFingerprints | Failure] = {f.path: f for f in report.failures}
    usable = []
    for a in report.analyses:
        if songs or a.has_video:
            usable.append(a)
        else:
            results[a.source] = Failure(a.source, f"{a.source}: has no pictures (an index of shots holds videos; "
                                                  "index music with --songs)")
    encoder = encoder_from_description(job.encoder, device=run.device)
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
    progress: Progress | None = None,
) -> IngestReport:
    """Fingerprint files into the store at ``root`` (created if absent and ``create``).

    ``mode`` is ``shots`` or ``songs`` (files whole); ``None`` takes the existing store's.

    ``workers`` > 0 fans analysis and fingerprinting out on Ray (``address`` of a cluster,
    or a local instance); 0 runs in this process. Results are added in input order
    either way, so both give the same index. ``progress`` hears stage ``index`` advance per
    file with status ``indexed``, ``already`` or ``failed``.
    """
    if mode not in (*MODES, None):
        raise ParameterError(f"mode={mode!r} must be one of {', '.join(MODES)}")
    with index_writer(root):
        store = open_store(root, index=index if create else None, analysis=analysis if create else None, mode=mode)
        store.train_size = index.train_size
        store.remove_stale()
        job = IngestJob(index_analysis(store, analysis), store.encoder, cache_dir, store.mode)
        files, problems = find_media(paths)
        report = IngestReport(failures=[Failure(e.path, str(e)) for e in problems])
        todo = _not_indexed(files, store, cache_dir, report)
        progress = progress or NoProgress()
        progress.start("index", len(files), "file")
        for _ in report.already:
            progress.advance("index", status="already")
        chunks = [(todo[i : i + chunk_files], job) for i in range(0, len(todo), chunk_files)]
        if workers > 0:
            from videothat.pipeline.distributed import ray_map

            results = (r for chunk in ray_map(_fingerprint_chunk, chunks, workers=workers, address=address)
                       for r in chunk)
        else:
            results = (r for chunk in chunks for r in _fingerprint_chunk(chunk))
        try:
            _add_all(store, results, report, progress, save_every=index.save_every)
        finally:
            progress.finish("index")
        report.stats = store.stats()
        return report


def _not_indexed(files: list[Path], store: FingerprintStore, cache_dir: Path, report: IngestReport) -> list[Path]:
    """Files whose content is not in the store yet (the rest go to ``report.already``)."""
    hashes = Catalog(cache_dir, {})  # only its content-hash memo is used
    todo = []
    try:
        for path in files:
            digest = content_digest(hashes, path, report)
            if digest is not None:
                (report.already if store.has_file(digest) else todo).append(path)
    finally:
        hashes.close()
    return todo


def _add_all(store: FingerprintStore, results: Iterable[FileFingerprints | Failure], report: IngestReport,
             progress: Progress, *, save_every: float) -> None:
    """Add results as they come, saving every ``save_every`` s and at the end (also when interrupted)."""
    last_save, dirty = time.monotonic(), False
    try:
        for result in results:
            if isinstance(result, Failure):
                report.failures.append(result)
                progress.advance("index", status="failed")
                continue
            path = str(result.path.resolve())
            infos = [replace(i, path=path) for i in result.infos]
            report.vectors += store.add(result.vectors, infos, path=path, content_hash=result.content_hash)
            report.added.append(result.path)
            dirty = True
            progress.advance("index", status="indexed")
            if time.monotonic() - last_save >= save_every:
                store.save()
                last_save, dirty = time.monotonic(), False
    finally:
        if dirty or store.generation == 0:
            store.save()


def remove(paths: Iterable[str | Path], root: Path) -> tuple[int, int]:
    """Remove files (by path as indexed, or resolved) from the store: (files, vectors) removed."""
    with index_writer(root):
        store = open_store(root)
        store.remove_stale()
        files = vectors = 0
        for raw in paths:
            for name in {str(raw), str(Path(raw).expanduser().resolve())}:
                n = store.remove(name)
                files, vectors = files + (n > 0), vectors + n
        if files:
            store.save()
    return files, vectors


