"""The analysis cache: per source file, its shots and each shot's novelty curve, and its
visual impact curve.

Entries are keyed by the file's content hash (BLAKE2b) and a hash of the analysis
parameters, so a renamed file is still a hit and a changed parameter is a miss. Each
entry is one ``.npz`` (no pickle) with a format version, written to a temporary file and
renamed, so a killed run never leaves half an entry and resumes with what it finished.

A small SQLite table remembers ``(path, size, mtime, inode) -> content hash`` so that
unchanged files of a large archive are not read again just to be hashed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

from videothat.core.atomic import atomic_write
from videothat.core.errors import CacheError
from videothat.core.hashing import content_hash, params_key
from videothat.core.records import FileAnalysis, Shot

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: audio_problem (videos without usable sound kept), visual impact entries
# what reading a damaged entry (truncated, overwritten, of another version) raises: it is recomputed
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error, CacheError)


class Catalog:
    """Analysis entries under ``root`` for one set of analysis ``params``."""

    def __init__(self, root: str | Path, params: dict[str, object]) -> None:
        self.root = Path(root)
        self.params = params
        self.key = params_key(params, version=FORMAT_VERSION)
        self._lock = threading.Lock()  # one connection, shared by the decode threads
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._db = _hash_memo(self.root / "hashes.sqlite")
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"cache folder {self.root}: cannot be written ({getattr(exc, 'strerror', None) or exc}); "
                             f"give --cache-dir a writable folder") from exc

    def close(self) -> None:
        self._db.close()

    def hash_of(self, path: str | Path) -> str:
        """Content hash of ``path``, reusing the stored one while size/mtime/inode match."""
        path = Path(path).resolve()
        st = path.stat()
        with self._lock:
            row = self._db.execute(
                "SELECT hash FROM hashes WHERE path=? AND size=? AND mtime_ns=? AND inode=?",
                (str(path), st.st_size, st.st_mtime_ns, st.st_ino),
            ).fetchone()
        if row:
            return row[0]
        digest = content_hash(path)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)",
                (str(path), st.st_size, st.st_mtime_ns, st.st_ino, digest),
            )
            self._db.commit()
        return digest

    def entry_path(self, digest: str, key: str | None = None, kind: str = "") -> Path:
        """Where the entry of content ``digest`` lives: the analysis under this catalog's
        parameters, or with ``key`` and ``kind`` another analysis of the same file."""
        return self.root / f"v{FORMAT_VERSION}" / digest[:2] / f"{digest}-{key or self.key}{kind}.npz"

    def get_pictures(self, digest: str, params: dict[str, object]) -> dict[str, np.ndarray] | None:
        """The cached whole-file picture analysis of content ``digest`` under ``params`` (the
        motion parameters): its named per-frame arrays (``fps`` among them), or None."""
        return self.get_arrays(digest, params, ".pictures")

    def put_pictures(self, digest: str, params: dict[str, object], arrays: dict[str, np.ndarray]) -> Path:
        """Store a whole-file picture analysis (see :meth:`get_pictures`) atomically."""
        return self.put_arrays(digest, params, ".pictures", arrays)

    def get_arrays(self, digest: str, params: dict[str, object], kind: str) -> dict[str, np.ndarray] | None:
        """Another whole-file analysis of content ``digest`` (``kind``, e.g. ``.units``) under
        ``params``: its named arrays, or None (a miss, or an unreadable entry, logged)."""
        entry = self.entry_path(digest, params_key(params, version=FORMAT_VERSION), kind)
        if not entry.exists():
            return None
        try:
            with np.load(entry, allow_pickle=False) as z:
                if int(z["format_version"]) != FORMAT_VERSION:
                    raise CacheError(f"{entry}: format version {int(z['format_version'])}")
                return {k: z[k] for k in z.files if k not in ("format_version", "params")}
        except UNREADABLE as exc:
            log.warning("ignoring unreadable cache entry %s (%s); re-analysing", entry, exc)
            return None

    def put_arrays(self, digest: str, params: dict[str, object], kind: str, arrays: dict[str, np.ndarray]) -> Path:
        """Store a whole-file analysis (see :meth:`get_arrays`) atomically."""
        entry = self.entry_path(digest, params_key(params, version=FORMAT_VERSION), kind)
        everything = {"format_version": np.array(FORMAT_VERSION), "params": np.array(json.dumps(params, default=str)),
                      **{k: np.asarray(v) for k, v in arrays.items()}}
        atomic_write(entry, lambda f: np.savez(f, **everything))
        return entry

    def get(self, path: str | Path, digest: str) -> FileAnalysis | None:
        """The cached analysis of ``path`` (content ``digest``), or None on a miss."""
        entry = self.entry_path(digest)
        if not entry.exists():
            return None
        try:
            return _load(entry, Path(path))
        except UNREADABLE as exc:
            log.warning("ignoring unreadable cache entry %s (%s); re-analysing", entry, exc)
            return None

    def failure_path(self, digest: str) -> Path:
        return self.entry_path(digest).with_suffix(".failed.json")

    def get_failure(self, digest: str) -> str | None:
        """Why content ``digest`` could not be analysed with these parameters, if known."""
        try:
            record = json.loads(self.failure_path(digest).read_text())
        except (OSError, ValueError):
            return None
        return record.get("problem") if record.get("format_version") == FORMAT_VERSION else None

    def put_failure(self, digest: str, problem: str) -> None:
        """Remember that content ``digest`` is unusable (corrupt, no audio, silent): the
        verdict depends only on the bytes and parameters, so a rerun need not decode again."""
        record = json.dumps({"format_version": FORMAT_VERSION, "problem": problem})
        atomic_write(self.failure_path(digest), lambda f: f.write(record.encode()))

    def put(self, analysis: FileAnalysis) -> Path:
        """Store ``analysis`` atomically; returns the entry's path."""
        entry = self.entry_path(analysis.content_hash)
        arrays = _to_arrays(analysis, self.params)
        atomic_write(entry, lambda f: np.savez(f, **arrays))
        return entry


def _hash_memo(path: Path) -> sqlite3.Connection:
    """The content-hash memo at ``path``; a damaged one is only a memo, so it starts afresh."""
    try:
        return _open_memo(path)
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError):  # locked or read-only: not damage
            raise
        log.warning("cache file %s is damaged (%s); starting it afresh", path, exc)
        path.unlink(missing_ok=True)
        return _open_memo(path)


def _open_memo(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, check_same_thread=False)
    try:
        db.execute("CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER, "
                   "mtime_ns INTEGER, inode INTEGER, hash TEXT)")
        db.commit()
    except sqlite3.Error:
        db.close()
        raise
    return db


def _to_arrays(a: FileAnalysis, params: dict[str, object]) -> dict[str, np.ndarray]:
    meta = {
        "format_version": FORMAT_VERSION,
        "source": str(a.source),
        "content_hash": a.content_hash,
        "duration": a.duration,
        "has_video": a.has_video,
        "frame_rate": a.frame_rate,
        "audio_problem": a.audio_problem,
        "params": params,
    }
    lengths = [len(c) for c in a.novelty]
    return {
        "meta": np.array(json.dumps(meta, default=str)),
        "shot_times": np.array([[s.start, s.end] for s in a.shots], dtype=np.float64).reshape(-1, 2),
        "shot_fps": np.array([s.fps for s in a.shots], dtype=np.float64),
        "novelty": np.concatenate(a.novelty).astype(np.float32) if a.novelty else np.zeros(0, np.float32),
        "novelty_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        **({} if a.chroma is None else {
            "chroma": np.concatenate(a.chroma).astype(np.float32) if a.chroma else np.zeros((0, 12), np.float32)}),
    }


def _load(entry: Path, source: Path) -> FileAnalysis:
    with np.load(entry, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format_version") != FORMAT_VERSION:
            raise CacheError(f"{entry}: format version {meta.get('format_version')}, expected {FORMAT_VERSION}")
        times, fps = z["shot_times"], z["shot_fps"]
        flat, offsets = z["novelty"], z["novelty_offsets"]
        chroma = z["chroma"] if "chroma" in z.files else None
    shots = [Shot(source, float(s), float(e), float(f)) for (s, e), f in zip(times, fps, strict=True)]
    curves = [flat[offsets[i] : offsets[i + 1]] for i in range(len(shots))]
    if chroma is not None:
        chroma = [chroma[offsets[i] : offsets[i + 1]] for i in range(len(shots))]
    return FileAnalysis(
        source=source,
        content_hash=meta["content_hash"],
        duration=float(meta["duration"]),
        has_video=bool(meta["has_video"]),
        shots=shots,
        novelty=curves,
        frame_rate=float(meta["frame_rate"]),
        chroma=chroma,
        audio_problem=meta.get("audio_problem"),
    )
