"""What the two kinds of index ingest share (FAISS fingerprints in :mod:`~videothat.pipeline.archive`,
landmarks in :mod:`~videothat.pipeline.landmark_archive`): the report, and the content hash
that tells a file already indexed (under any name). No heavy imports: a landmark build
stays torch-free; and the one-writer-at-a-time guard every index write takes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from videothat.analysis import Failure
from videothat.catalog import Catalog
from videothat.core.locks import folder_lock
from videothat.core.outputs import check_output_folder


@dataclass
class IngestReport:
    """Outcome of an index build or add."""

    added: list[Path] = field(default_factory=list)
    already: list[Path] = field(default_factory=list)  # content already in the index
    failures: list[Failure] = field(default_factory=list)
    vectors: int = 0  # fingerprints (or landmarks) added
    stats: dict[str, object] = field(default_factory=dict)


def content_digest(hashes: Catalog, path: Path, report: IngestReport) -> str | None:
    """``path``'s content hash (``hashes``' memo), or None with the failure in ``report``."""
    try:
        return hashes.hash_of(path)
    except OSError as exc:
        report.failures.append(Failure(path, f"{path}: cannot read ({exc.strerror or exc})"))
        return None


@contextmanager
def index_writer(root: Path) -> Iterator[None]:
    """For the block, the right to write the index folder ``root``: checked writable first
    (before any work), then locked against other writers (a second ``index build/add/remove``
    of the same folder is refused with a :class:`~videothat.core.errors.BusyError` naming
    the first; queries read without a lock)."""
    check_output_folder(root, role="--index")
    with folder_lock(root, role="index"):
        yield
