"""Music identification indexes: landmark fingerprints of whole files in one folder.

``videothat index build --songs FILES --index DIR`` (``index.encoder=landmarks``, the
default for ``--songs``) writes ``DIR/landmarks.npz``: the :class:`~videothat.index.landmarks.
LandmarkIndex` (items named by the files' resolved paths) and each item's content hash (so a
file indexed again under another name is seen as there; older indexes kept them in
``DIR/contents.json``). Every save replaces the file atomically; a build saves every
``index.save_every`` s, so a killed build keeps what it saved and ``index add`` resumes it.
One writer at a time: build, add and remove hold the folder's lock. Nothing here imports torch: sound
is decoded by PyAV and fingerprinted with NumPy, so a query from the command line starts fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videothat.analysis import Failure
from videothat.catalog import Catalog
from videothat.core.errors import CacheError, MediaError, NoAudioError, ParameterError
from videothat.core.progress import NoProgress, Progress
from videothat.index.config import IndexConfig, LandmarkConfig
from videothat.index.landmarks import INDEX_FILE, LandmarkIndex, Landmarks, Match, landmarks, query_landmarks
from videothat.media.audio import decode_audio
from videothat.media.discover import find_media
from videothat.pipeline.ingest import IngestReport, content_digest, index_writer

LANDMARKS_FILE = INDEX_FILE
CONTENTS_FILE = "contents.json"


def is_landmark_index(root: Path) -> bool:
    """Does ``root`` hold a landmark index?"""
    return (root / LANDMARKS_FILE).is_file()


@dataclass
class _State:
    index: LandmarkIndex
    contents: dict[str, str]  # item name -> content hash


def _load(root: Path) -> _State:
    index = LandmarkIndex.load(root / LANDMARKS_FILE)
    contents = index.extra.get("contents")
    if contents is None:  # written before the content hashes moved into the index file
        try:
            contents = json.loads((root / CONTENTS_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise CacheError(f"{root / CONTENTS_FILE}: unreadable ({exc}); rebuild the index: remove {root} and "
                             f"run `videothat index build --songs SONGS... --index {root}`") from None
    return _State(index, contents)


def _save(root: Path, state: _State) -> None:
    """One atomic write of the hash table and the content hashes (a kill leaves both old or both new)."""
    root.mkdir(parents=True, exist_ok=True)
    state.index.save(root / LANDMARKS_FILE, extra={"contents": state.contents})
    (root / CONTENTS_FILE).unlink(missing_ok=True)


def ingest_landmarks(paths: Iterable[str | Path], root: Path, index: IndexConfig, *, cache_dir: Path,
                     create: bool, progress: Progress | None = None) -> IngestReport:
    """Fingerprint files into the landmark index at ``root`` (new if ``create``: an index
    already there is extended, with the parameters it was built with). Files whose content
    is already indexed are counted in ``report.already``; undecodable or silent ones in
    ``report.failures`` with the file and the problem."""
    if create and (root / "CURRENT").is_file():
        raise ParameterError(f"--index {root}: holds a FAISS index; landmarks need a folder of their own")
    with index_writer(root):
        fresh = not is_landmark_index(root)
        if not fresh:
            state = _load(root)
        elif create:
            state = _State(LandmarkIndex.build(index.landmarks, []), {})
        else:
            raise ParameterError(f"--index {root}: no landmark index there; build one with "
                                 f"`videothat index build --songs FILES --index {root}`")
        return _fill(state, paths, root, save_every=index.save_every, fresh=fresh, cache_dir=cache_dir,
                     progress=progress or NoProgress())


def _fill(state: _State, paths: Iterable[str | Path], root: Path, *, save_every: float, fresh: bool,
          cache_dir: Path, progress: Progress) -> IngestReport:
    """Add the files' landmarks to ``state``, saving it every ``save_every`` s and at the end."""
    files, problems = find_media(paths)
    report = IngestReport(failures=[Failure(e.path, str(e)) for e in problems])
    progress.start("index", len(files), "file")
    known = set(state.contents.values())
    hashes = Catalog(cache_dir, {})  # only its content-hash memo is used
    found: list[tuple[str, Landmarks]] = []
    saved = time.monotonic()
    try:
        for path in files:
            status = _add_one(path, hashes, state.index.config, known, found, state, report)
            progress.advance("index", status=status)
            if found and time.monotonic() - saved >= save_every:
                state.index = state.index.extended(found)
                _save(root, state)
                found, saved = [], time.monotonic()
        if found or fresh:  # an index with nothing new stays as it is on disk
            state.index = state.index.extended(found)
            _save(root, state)
    finally:
        hashes.close()
        progress.finish("index")
    report.stats = _stats(root, state.index)
    return report


def _add_one(path: Path, hashes: Catalog, config: LandmarkConfig, known: set[str], found: list,
             state: _State, report: IngestReport) -> str:
    """Fingerprint one file into ``found`` (status for the progress bar)."""
    digest = content_digest(hashes, path, report)
    if digest is None:
        return "failed"
    if digest in known:
        report.already.append(path)
        return "already"
    try:
        audio = decode_audio(path, config.sample_rate)
    except MediaError as exc:
        report.failures.append(Failure(path, str(exc)))
        return "failed"
    marks = landmarks(audio, config)
    if len(marks) == 0:
        report.failures.append(Failure(path, f"{path}: no landmarks (silent, or shorter than "
                                             f"{config.n_fft / config.sample_rate:.2f} s)"))
        return "failed"
    name = str(path.resolve())
    if name in state.contents:  # the file changed since it was indexed: the new content replaces it
        state.index = state.index.without([name])
    found.append((name, marks))
    state.contents[name] = digest
    known.add(digest)
    report.added.append(path)
    report.vectors += len(marks)
    return "indexed"


def identify(audio_file: str | Path, root: Path, *, top: int = 10, shifts: int = 4) -> list[Match]:
    """The indexed files the sound of ``audio_file`` comes from, best first, each with the
    time (s) in it where the query starts (see :meth:`LandmarkIndex.query`).

    Raises
    ------
    NoAudioError : the file has no audio stream, or a sound without a single landmark (silent).
    """
    index = _load(root).index
    audio = decode_audio(audio_file, index.config.sample_rate)
    marks = query_landmarks(audio, index.config, shifts=shifts)
    if len(marks) == 0:
        raise NoAudioError(audio_file, "its sound has no landmarks to look up (silent, or no spectral peak "
                                       f"{index.config.min_db:g} dB above its frame: index.landmarks.min_db)")
    return index.query(marks, top=top)


def landmark_items(root: Path) -> list[str]:
    """The names (resolved paths) of the files a landmark index holds."""
    return list(_load(root).index.names)


def remove_landmarks(items: Iterable[str | Path], root: Path) -> tuple[int, int]:
    """Drop files (by path) from the index: (files removed, landmarks removed)."""
    with index_writer(root):
        state = _load(root)
        names = {str(Path(p).resolve()) for p in items} & set(state.index.names)
        before = len(state.index)
        if names:
            state.index = state.index.without(sorted(names))
            for name in names:
                state.contents.pop(name, None)
            _save(root, state)
    return len(names), before - len(state.index)


def landmark_stats(root: Path) -> dict[str, object]:
    """What ``index stats`` prints for a landmark index."""
    return _stats(root, _load(root).index)


def _stats(root: Path, index: LandmarkIndex) -> dict[str, object]:
    counts = np.bincount(index.items, minlength=len(index.names)) if len(index.names) else np.zeros(0)
    return {"encoder": "landmarks", "files": len(index.names), "landmarks": len(index),
            "per file (median)": int(np.median(counts)) if counts.size else 0,
            "bytes": sum(p.stat().st_size for p in (root / LANDMARKS_FILE, root / CONTENTS_FILE) if p.is_file())}
