"""Folder locks for writes that cannot be shared (an index written by two processes at once
would lose one's additions).

:func:`folder_lock` holds ``FOLDER/.lock`` with an exclusive, non-blocking ``flock`` for a
block: the operating system releases it when the holder ends, however it ends (SIGKILL
included), so a lock is never stale. The holder writes its process id, command line and
start time into the file, which names it to whoever is refused. Readers take no lock:
writers publish with atomic renames, so a reader sees a whole old or a whole new state.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from videothat.core.errors import BusyError

LOCK_FILE = ".lock"


@contextmanager
def folder_lock(folder: Path, *, role: str = "folder") -> Iterator[None]:
    """Hold ``folder``'s lock (the folder is created if needed) for the block.

    A folder this call created and that holds nothing but the lock file when the block ends
    (the job stopped before writing anything) is removed again.

    Raises
    ------
    BusyError : another process holds it; the message names the folder and that process.
    """
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip() or "another process"
            raise BusyError(f"{role} {folder} is being written by {holder}; wait until it ends (or stop it) "
                            f"and run this again") from None
        os.ftruncate(fd, 0)
        command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
        os.write(fd, f"process {os.getpid()} (`{command}`, since {time.strftime('%H:%M:%S')})\n".encode())
        try:
            yield
        finally:
            if created and [p.name for p in folder.iterdir()] == [LOCK_FILE]:
                try:  # a folder made only for the lock goes again; another writer may just be opening it
                    path.unlink(missing_ok=True)
                    folder.rmdir()
                except OSError:
                    pass
    finally:
        os.close(fd)
