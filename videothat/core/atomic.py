"""Atomic file writes: a temporary file beside the target, fsynced, then renamed.

The temporary file is ``.<stem>.<random><suffix>.tmp`` beside the target, and its writer
holds an exclusive ``flock`` on it until the rename. A process killed mid-write (even by
SIGKILL) leaves its temporary file behind but not its lock, so the next write of the same
target removes every such leftover whose lock it can take, and never one that a live
writer (another process sharing the folder) still holds.
"""

from __future__ import annotations

import fcntl
import glob
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file next to ``path`` with the permissions a plain file would get,
    locked (exclusive ``flock`` on the returned descriptor) until the descriptor is closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f"{path.suffix}.tmp")
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:  # not removed as a leftover between mkstemp and flock
            break
        os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600
    remove_leftovers(path, keep=tmp)
    return fd, tmp


def remove_leftovers(path: Path, *, keep: str | None = None) -> list[Path]:
    """Remove the temporary files of writes of ``path`` that died (no process holds their
    lock); returns them."""
    pattern = f".{glob.escape(path.stem)}.*{glob.escape(path.suffix)}.tmp"
    removed = []
    for old in path.parent.glob(pattern):
        if str(old) == keep:
            continue
        try:
            fd = os.open(old, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer holds it
            os.close(fd)
            continue
        try:
            old.unlink(missing_ok=True)
            removed.append(old)
        finally:
            os.close(fd)
    return removed


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it."""
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:  # closing it (after the rename) releases the lock
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to (by any library); renamed to ``path``
    when the block ends without error, removed otherwise."""
    fd, tmp = _temp_beside(path)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
