"""Fingerprints of an archive in a FAISS index on disk, with their metadata in SQLite.

Layout of a store folder::

    CURRENT              name of the generation in use (replaced atomically)
    gen-000007/          one complete generation
        index.faiss      the vectors (an ``IDMap2`` over the configured index type)
        meta.sqlite      format version, dimension, index type; files; one row per vector

Every change is written as a new generation folder and only then published by renaming
``CURRENT``: a crash mid-write leaves the previous generation in use and intact. Index
types are FAISS factory strings (``"Flat"`` exact; ``"IVF256,PQ32"``, ``"HNSW32"``
compressed or graph) with inner-product similarity; vectors are L2-normalised by the
fingerprint encoders, so scores are cosines.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videothat.core.atomic import atomic_write
from videothat.core.errors import CacheError, ParameterError

FORMAT_VERSION = 1
SQL_CHUNK = 30000  # ids per SQL statement (SQLite's variable limit is 32766 on older builds)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VectorInfo:
    """Where a fingerprint comes from: ``path`` (file), shot index, window start (s), kind."""

    path: str
    shot: int
    start: float
    kind: str


@dataclass(frozen=True)
class Hit:
    """A search result: similarity ``score`` (cosine) and the vector's ``info``."""

    score: float
    id: int
    info: VectorInfo


class FingerprintStore:
    """An on-disk FAISS index with metadata. Open with :meth:`create` or :meth:`open`."""

    def __init__(self, root: Path, index, db: sqlite3.Connection, generation: int, *, nprobe: int = 16,
                 train_size: int = 65536) -> None:
        self.root, self.index, self.db, self.generation = root, index, db, generation
        self.train_size = train_size
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # (vectors, ids) waiting for training
        self._search_index = index  # a GPU copy after :meth:`to_device`
        _set_nprobe(index, nprobe)

    # ---- lifecycle -------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, *, dim: int, factory: str = "Flat", encoder: dict | None = None,
               mode: str = "shots", nprobe: int = 16, train_size: int = 65536) -> FingerprintStore:
        """A new, empty store (in memory until :meth:`save`).

        ``encoder`` describes the fingerprint encoder (JSON-able, see
        :mod:`videothat.index.encoders`); ``mode`` is ``shots`` (an archive of videos cut
        into shots) or ``songs`` (a music library, files indexed whole).
        """
        import faiss

        if dim < 1:
            raise ParameterError(f"dim={dim} must be positive")
        if mode not in ("shots", "songs"):
            raise ParameterError(f"mode={mode!r} must be shots or songs")
        try:
            index = faiss.IndexIDMap2(faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT))
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1]
            reduced = 1 << (dim.bit_length() - 1)
            raise ParameterError(f"index type {factory!r} does not work for {dim}-dimensional fingerprints: not a "
                                 f"FAISS factory string, or a PQ size that does not divide {dim} (e.g. use "
                                 f"PCAR{reduced},IVF1024,PQ{max(1, reduced // 4)}) [{reason}]") from exc
        db = sqlite3.connect(":memory:")
        _schema(db)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("format_version", str(FORMAT_VERSION)), ("dim", str(dim)), ("factory", factory),
            ("encoder", json.dumps(encoder or {}, sort_keys=True)), ("mode", mode)])
        return cls(Path(root), index, db, 0, nprobe=nprobe, train_size=train_size)

    @classmethod
    def open(cls, root: str | Path, *, nprobe: int = 16) -> FingerprintStore:
        """The store's current generation. Raises :class:`CacheError` if it is unusable
        (missing, damaged, of another format), naming the file and how to rebuild it."""
        root = Path(root)
        name = _current(root)
        for _ in range(2):  # a writer may publish a newer generation and remove this one meanwhile
            try:
                return cls._open_generation(root, name, nprobe)
            except CacheError:
                newer = _current(root)
                if newer == name:
                    raise
                name = newer
        return cls._open_generation(root, name, nprobe)

    @classmethod
    def _open_generation(cls, root: Path, name: str, nprobe: int) -> FingerprintStore:
        import faiss

        folder = root / name
        if not (folder / "meta.sqlite").is_file() or not (folder / "index.faiss").is_file():
            raise CacheError(f"{folder}: index generation is incomplete; {_rebuild(root)}")
        db = sqlite3.connect(":memory:")
        try:
            disk = sqlite3.connect(f"file:{folder / 'meta.sqlite'}?mode=ro", uri=True)
            try:
                disk.backup(db)
            finally:
                disk.close()
            version = dict(db.execute("SELECT key, value FROM meta")).get("format_version")
        except sqlite3.Error as exc:
            raise CacheError(f"{folder / 'meta.sqlite'}: damaged ({exc}); {_rebuild(root)}") from None
        if version != str(FORMAT_VERSION):
            raise CacheError(f"{folder}: index format {version}, this VideoThat reads {FORMAT_VERSION}; "
                             f"{_rebuild(root)}")
        try:
            index = faiss.read_index(str(folder / "index.faiss"))
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
            raise CacheError(f"{folder / 'index.faiss'}: damaged ({reason}); {_rebuild(root)}") from None
        return cls(root, index, db, int(name.split("-")[1]), nprobe=nprobe)

    def remove_stale(self) -> None:
        """Remove generation folders other than the current one (a writer killed mid-save
        leaves its unpublished one). Only a writer holding the index's lock may call it."""
        for old in self.root.glob("gen-*"):
            if old.name != f"gen-{self.generation:06d}":
                shutil.rmtree(old, ignore_errors=True)

    def save(self) -> Path:
        """Write a new generation and publish it; older generations are removed."""
        import faiss

        self.flush()
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"gen-{self.generation + 1:06d}"
        folder = self.root / name
        shutil.rmtree(folder, ignore_errors=True)  # a crashed earlier attempt
        folder.mkdir()
        faiss.write_index(self.index, str(folder / "index.faiss"))
        self.db.commit()  # a pending transaction would block the backup
        disk = sqlite3.connect(folder / "meta.sqlite")
        self.db.backup(disk)
        disk.close()
        for f in folder.iterdir():
            _fsync(f)
        atomic_write(self.root / "CURRENT", lambda f: f.write(name.encode()))
        self.generation += 1
        for old in self.root.glob("gen-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        return folder

    # ---- contents --------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.meta("dim"))

    @property
    def factory(self) -> str:
        return self.meta("factory")

    @property
    def mode(self) -> str:
        """``shots`` (videos cut into shots) or ``songs`` (files indexed whole)."""
        return self.meta("mode")

    @property
    def encoder(self) -> dict:
        """Description of the encoder the fingerprints were made with."""
        return json.loads(self.meta("encoder"))

    def meta(self, key: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is None:
            raise CacheError(f"{self.root}: index metadata lacks {key!r}")
        return row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Record ``key = value`` in the store's metadata (saved with the next generation)."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def has_file(self, content_hash: str) -> bool:
        return self.db.execute("SELECT 1 FROM files WHERE hash=?", (content_hash,)).fetchone() is not None

    def add(self, vectors: np.ndarray, infos: list[VectorInfo], *, path: str, content_hash: str) -> int:
        """Add one file's fingerprints [shape=(n, dim)] float32; returns the number added.

        A file whose content is already in the store is skipped. A compressed index type
        is trained once ``train_size`` vectors have arrived (or at :meth:`flush`/:meth:`save`,
        on what there is); until then its vectors wait in memory.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(infos) != vectors.shape[0]:
            raise ParameterError(f"expected {len(infos)} vectors of dimension {self.dim}, got {vectors.shape}")
        if self.has_file(content_hash):
            return 0
        self._search_index = self.index  # a GPU copy would be stale
        first = int(self.db.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM vectors").fetchone()[0])
        ids = np.arange(first, first + len(infos), dtype=np.int64)
        cur = self.db.execute("INSERT INTO files (path, hash) VALUES (?, ?)", (path, content_hash))
        self.db.executemany("INSERT INTO vectors VALUES (?, ?, ?, ?, ?)",
                            [(int(i), cur.lastrowid, v.shot, v.start, v.kind) for i, v in zip(ids, infos, strict=True)])
        if self.index.is_trained:
            self.index.add_with_ids(vectors, ids)
        else:
            self._pending.append((vectors, ids))
            if sum(len(i) for _, i in self._pending) >= self.train_size:
                self.flush()
        return len(ids)

    def flush(self) -> None:
        """Train a compressed index on the vectors waiting for it, then add them."""
        if not self._pending:
            return
        vectors = np.concatenate([v for v, _ in self._pending])
        ids = np.concatenate([i for _, i in self._pending])
        if not self.index.is_trained:
            log.info("%s: training %s on %d fingerprints", self.root, self.factory, len(vectors))
            try:
                self.index.train(vectors)
            except RuntimeError as exc:
                raise ParameterError(
                    f"{self.root}: index type {self.factory!r} cannot be trained on {len(vectors)} fingerprints "
                    f"({str(exc).strip().splitlines()[-1]}); use index.type=Flat for an archive this small"
                ) from exc
        self.index.add_with_ids(vectors, ids)
        self._pending.clear()

    def remove(self, path: str) -> int:
        """Remove every fingerprint of the file stored under ``path``; returns how many."""
        rows = self.db.execute("SELECT id FROM files WHERE path=?", (path,)).fetchall()
        if not rows:
            return 0
        file_ids = [r[0] for r in rows]
        marks = ",".join("?" * len(file_ids))
        ids = np.array([r[0] for r in self.db.execute(f"SELECT id FROM vectors WHERE file IN ({marks})", file_ids)],
                       dtype=np.int64)
        self.flush()
        self.index.remove_ids(ids)
        self.db.execute(f"DELETE FROM vectors WHERE file IN ({marks})", file_ids)
        self.db.execute(f"DELETE FROM files WHERE id IN ({marks})", file_ids)
        return int(ids.size)

    def search(self, queries: np.ndarray, k: int = 10) -> list[list[Hit]]:
        """The ``k`` most similar stored vectors for each query [shape=(q, dim)]."""
        scores, ids = self.search_arrays(queries, k)
        infos = self._infos({int(i) for i in ids.ravel() if i >= 0})
        return [[Hit(float(s), int(i), infos[int(i)]) for s, i in zip(srow, irow, strict=True) if i >= 0]
                for srow, irow in zip(scores, ids, strict=True)]

    def search_arrays(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` as arrays: scores [shape=(q, k')] float32 and vector ids
        [shape=(q, k')] int64, -1 where there is no k-th vector; k' = min(k, vectors)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ParameterError(f"queries must be (n, {self.dim}), got {queries.shape}")
        self.flush()
        if self.index.ntotal == 0 or queries.shape[0] == 0:
            return np.zeros((queries.shape[0], 0), np.float32), np.zeros((queries.shape[0], 0), np.int64)
        return self._search_index.search(queries, min(k, self.index.ntotal))

    def shots_of(self, ids: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Where vectors come from, as arrays: (``paths``, sorted; for each of ``ids``
        [shape=(n,)], the index of its file in ``paths``, its shot, and its window's time in
        the file in s), each [shape=(n,)]."""
        ids = np.asarray(ids, dtype=np.int64)
        distinct = np.unique(ids)
        rows = sorted(self._rows_in("SELECT id, file, shot, start FROM vectors WHERE id IN", distinct.tolist()))
        if len(rows) != len(distinct):
            raise CacheError(f"{self.root}: the FAISS index holds vector ids its metadata lacks; rebuild the index")
        at = np.searchsorted(distinct, ids)  # rows are in the order of distinct
        file_id = np.array([r[1] for r in rows], dtype=np.int64)[at]
        files = np.unique(file_id)
        path_of = dict(self._rows_in("SELECT id, path FROM files WHERE id IN", files.tolist()))
        names = sorted(set(path_of.values()))
        rank = {name: i for i, name in enumerate(names)}
        number = np.array([rank[path_of[f]] for f in files.tolist()], dtype=np.int64)
        return (names, number[np.searchsorted(files, file_id)], np.array([r[2] for r in rows], dtype=np.int64)[at],
                np.array([r[3] for r in rows], dtype=np.float64)[at])

    def windows_per_shot(self, paths: list[str]) -> dict[tuple[str, int], int]:
        """How many vectors each shot of the files ``paths`` has: (path, shot) -> count."""
        path_of = dict(self._rows_in("SELECT id, path FROM files WHERE path IN", paths))
        rows = self._rows_in("SELECT file, shot, COUNT(*) FROM vectors WHERE file IN", list(path_of),
                             "GROUP BY file, shot")  # by the file index, no join
        return {(path_of[file], shot): n for file, shot, n in rows}

    def first_windows(self, paths: list[str]) -> dict[tuple[str, int], float]:
        """Where each shot of the files ``paths`` starts as the index holds it: (path, shot) ->
        the time in s of its first fingerprinted window in the file."""
        path_of = dict(self._rows_in("SELECT id, path FROM files WHERE path IN", paths))
        rows = self._rows_in("SELECT file, shot, MIN(start) FROM vectors WHERE file IN", list(path_of),
                             "GROUP BY file, shot")
        return {(path_of[file], shot): float(start) for file, shot, start in rows}

    def _infos(self, ids: set[int]) -> dict[int, VectorInfo]:
        """Metadata of vectors."""
        rows = self._rows_in("SELECT v.id, f.path, v.shot, v.start, v.kind FROM vectors v JOIN files f "
                             "ON v.file = f.id WHERE v.id IN", sorted(ids))
        return {r[0]: VectorInfo(r[1], r[2], r[3], r[4]) for r in rows}

    def _rows_in(self, query: str, values: list, suffix: str = "") -> list[tuple]:
        """The rows of ``query (?, ?, ...) suffix`` over ``values``, in chunks (SQLite limits
        the variables per statement); a group-by ``suffix`` must group within a value."""
        rows: list[tuple] = []
        for i in range(0, len(values), SQL_CHUNK):
            chunk = values[i : i + SQL_CHUNK]
            rows += self.db.execute(f"{query} ({','.join('?' * len(chunk))}) {suffix}", chunk).fetchall()
        return rows

    def files(self) -> list[str]:
        """Paths of the indexed files, in the order they were added."""
        return [r[0] for r in self.db.execute("SELECT path FROM files ORDER BY id")]

    def to_device(self, device: str) -> None:
        """Search on the GPU (faiss-gpu) when ``device`` is CUDA and FAISS was built with it."""
        from videothat.index.knn import on_device

        self.flush()
        self._search_index, self._gpu_resources = on_device(self.index, device)

    def stats(self) -> dict[str, object]:
        """Files, vectors, index type, dimension, generation and bytes on disk."""
        folder = self.root / f"gen-{self.generation:06d}"
        size = sum(f.stat().st_size for f in folder.iterdir()) if folder.is_dir() else 0
        return {
            "files": self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0],
            "vectors": self.db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0],
            "index": self.factory,
            "mode": self.mode,
            "encoder": self.encoder.get("name", "?"),
            "dim": self.dim,
            "generation": self.generation,
            "bytes": size,
        }


def _current(root: Path) -> str:
    """The generation ``root/CURRENT`` names (``gen-000007``). Raises :class:`CacheError`."""
    try:
        name = (root / "CURRENT").read_text().strip()
    except OSError as exc:
        from videothat.index.landmarks import INDEX_FILE

        if (root / INDEX_FILE).is_file():
            raise CacheError(f"{root}: a music identification (landmark) index, asked with `videothat query "
                             f"--video EXCERPT --index {root}`; this needs a FAISS index (index build VIDEOS "
                             f"--index DIR, or --songs with index.encoder=rhythm|timbre|learned)") from None
        raise CacheError(f"{root}: not a VideoThat index (no CURRENT file); build one first") from exc
    except UnicodeDecodeError:
        name = ""
    if not re.fullmatch(r"gen-\d{6}", name):
        raise CacheError(f"{root / 'CURRENT'}: damaged (names no generation); {_rebuild(root)}")
    return name


def _rebuild(root: Path) -> str:
    """What to do about a damaged index."""
    return (f"rebuild the index: remove {root} and run `videothat index build VIDEOS... --index {root}` "
            f"(with --songs for a music index)")


def _set_nprobe(index, nprobe: int) -> None:
    """IVF indexes search ``nprobe`` of their lists (the recall/speed knob); others ignore it."""
    import faiss

    try:
        faiss.extract_index_ivf(index).nprobe = nprobe
    except (RuntimeError, TypeError):  # not an IVF index
        pass


def _schema(db: sqlite3.Connection) -> None:
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT, hash TEXT UNIQUE);"
        "CREATE TABLE vectors (id INTEGER PRIMARY KEY, file INTEGER, shot INTEGER, start REAL, kind TEXT);"
        "CREATE INDEX vectors_file ON vectors (file);"
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
