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

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videothat.atomic import atomic_write
from videothat.errors import CacheError, ParameterError

FORMAT_VERSION = 1


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

    def __init__(self, root: Path, index, db: sqlite3.Connection, generation: int, *, nprobe: int = 16) -> None:
        self.root, self.index, self.db, self.generation = root, index, db, generation
        _set_nprobe(index, nprobe)

    # ---- lifecycle -------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, *, dim: int, factory: str = "Flat") -> FingerprintStore:
        """A new, empty store (in memory until :meth:`save`)."""
        import faiss

        if dim < 1:
            raise ParameterError(f"dim={dim} must be positive")
        try:
            index = faiss.IndexIDMap2(faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT))
        except RuntimeError as exc:
            raise ParameterError(f"index type {factory!r} is not a FAISS factory string ({exc})") from exc
        db = sqlite3.connect(":memory:")
        _schema(db)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("format_version", str(FORMAT_VERSION)),
                                                          ("dim", str(dim)), ("factory", factory)])
        return cls(Path(root), index, db, 0)

    @classmethod
    def open(cls, root: str | Path) -> FingerprintStore:
        """The store's current generation. Raises :class:`CacheError` if it is unusable."""
        import faiss

        root = Path(root)
        try:
            name = (root / "CURRENT").read_text().strip()
        except OSError as exc:
            raise CacheError(f"{root}: not a VideoThat index (no CURRENT file); build one first") from exc
        folder = root / name
        disk = sqlite3.connect(folder / "meta.sqlite")
        db = sqlite3.connect(":memory:")
        disk.backup(db)
        disk.close()
        version = dict(db.execute("SELECT key, value FROM meta")).get("format_version")
        if version != str(FORMAT_VERSION):
            raise CacheError(f"{folder}: index format {version}, this VideoThat reads {FORMAT_VERSION}; rebuild it")
        index = faiss.read_index(str(folder / "index.faiss"))
        return cls(root, index, db, int(name.split("-")[1]))

    def save(self) -> Path:
        """Write a new generation and publish it; older generations are removed."""
        import faiss

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

    def meta(self, key: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is None:
            raise CacheError(f"{self.root}: index metadata lacks {key!r}")
        return row[0]

    def has_file(self, content_hash: str) -> bool:
        return self.db.execute("SELECT 1 FROM files WHERE hash=?", (content_hash,)).fetchone() is not None

    def add(self, vectors: np.ndarray, infos: list[VectorInfo], *, path: str, content_hash: str) -> int:
        """Add one file's fingerprints [shape=(n, dim)] float32; returns the number added.

        A compressed index type is trained on the first vectors added (at least
        ``min_training`` of them are needed: add files in batches, e.g. through
        ``videothat index build``).
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(infos) != vectors.shape[0]:
            raise ParameterError(f"expected {len(infos)} vectors of dimension {self.dim}, got {vectors.shape}")
        if self.has_file(content_hash):
            return 0
        if not self.index.is_trained:
            self.index.train(vectors)
        first = int(self.db.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM vectors").fetchone()[0])
        ids = np.arange(first, first + len(infos), dtype=np.int64)
        cur = self.db.execute("INSERT INTO files (path, hash) VALUES (?, ?)", (path, content_hash))
        self.db.executemany("INSERT INTO vectors VALUES (?, ?, ?, ?, ?)",
                            [(int(i), cur.lastrowid, v.shot, v.start, v.kind) for i, v in zip(ids, infos, strict=True)])
        self.index.add_with_ids(vectors, ids)
        return len(ids)

    def remove(self, path: str) -> int:
        """Remove every fingerprint of the file stored under ``path``; returns how many."""
        rows = self.db.execute("SELECT id FROM files WHERE path=?", (path,)).fetchall()
        if not rows:
            return 0
        file_ids = [r[0] for r in rows]
        marks = ",".join("?" * len(file_ids))
        ids = np.array([r[0] for r in self.db.execute(f"SELECT id FROM vectors WHERE file IN ({marks})", file_ids)],
                       dtype=np.int64)
        self.index.remove_ids(ids)
        self.db.execute(f"DELETE FROM vectors WHERE file IN ({marks})", file_ids)
        self.db.execute(f"DELETE FROM files WHERE id IN ({marks})", file_ids)
        return int(ids.size)

    def search(self, queries: np.ndarray, k: int = 10) -> list[list[Hit]]:
        """The ``k`` most similar stored vectors for each query [shape=(q, dim)]."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ParameterError(f"queries must be (n, {self.dim}), got {queries.shape}")
        if self.index.ntotal == 0:
            return [[] for _ in range(queries.shape[0])]
        scores, ids = self.index.search(queries, min(k, self.index.ntotal))
        infos = self._infos({int(i) for i in ids.ravel() if i >= 0})
        return [[Hit(float(s), int(i), infos[int(i)]) for s, i in zip(srow, irow, strict=True) if i >= 0]
                for srow, irow in zip(scores, ids, strict=True)]

    def _infos(self, ids: set[int]) -> dict[int, VectorInfo]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT v.id, f.path, v.shot, v.start, v.kind FROM vectors v JOIN files f "
                               f"ON v.file = f.id WHERE v.id IN ({marks})", sorted(ids))
        return {r[0]: VectorInfo(r[1], r[2], r[3], r[4]) for r in rows}

    def stats(self) -> dict[str, object]:
        """Files, vectors, index type, dimension, generation and bytes on disk."""
        folder = self.root / f"gen-{self.generation:06d}"
        size = sum(f.stat().st_size for f in folder.iterdir()) if folder.is_dir() else 0
        return {
            "files": self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0],
            "vectors": int(self.index.ntotal),
            "index": self.factory,
            "dim": self.dim,
            "generation": self.generation,
            "bytes": size,
        }


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
