"""Atomic writes clean up after writers that died, never after live ones; folder locks."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pytest

from videothat.core.atomic import atomic_path, atomic_write
from videothat.core.errors import BusyError
from videothat.core.locks import LOCK_FILE, folder_lock


def _leftover(folder, name: str) -> None:
    """A temporary file as a writer killed mid-write leaves it (no lock held)."""
    (folder / name).write_bytes(b"half a file")


def test_a_dead_writers_temp_file_goes_with_the_next_write(tmp_path):
    target = tmp_path / "entry.npz"
    _leftover(tmp_path, ".entry.k1ll3d.npz.tmp")
    _leftover(tmp_path, ".other.k1ll3d.npz.tmp")  # another target's: not this write's business
    atomic_write(target, lambda f: f.write(b"whole"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.k1ll3d.npz.tmp", "entry.npz"]
    with atomic_path(tmp_path / "other.npz") as tmp:
        tmp.write_bytes(b"whole too")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.npz", "other.npz"]


def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    live = tmp_path / ".entry.l1ve.npz.tmp"
    live.write_bytes(b"being written")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as its writer holds it (another open file: a separate lock)
    try:
        atomic_write(tmp_path / "entry.npz", lambda f: f.write(b"whole"))
        assert live.read_bytes() == b"being written"
    finally:
        os.close(fd)


def test_a_failed_write_leaves_nothing(tmp_path):
    def boom(f):
        f.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "x.json", boom)
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "y.mp4") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder on fire")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_lock_refuses_a_second_writer_and_names_the_first(tmp_path):
    folder = tmp_path / "shots.idx"
    holder = subprocess.Popen(  # another process holds the lock until told to stop
        [sys.executable, "-c", "import sys; from pathlib import Path; from videothat.core.locks import folder_lock\n"
         f"with folder_lock(Path({str(folder)!r})):\n print('held', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BusyError, match=rf"index {folder} is being written by process {holder.pid} "), \
                folder_lock(folder, role="index"):
            pass
    finally:
        holder.communicate("\n", timeout=30)
    with folder_lock(folder):  # released when its holder ended
        assert (folder / LOCK_FILE).is_file()


def test_a_folder_the_lock_made_for_nothing_is_removed(tmp_path):
    with folder_lock(tmp_path / "empty.idx"):
        pass
    assert not (tmp_path / "empty.idx").exists()
    with folder_lock(tmp_path / "kept.idx"):
        (tmp_path / "kept.idx" / "CURRENT").write_text("gen-000001")
    assert (tmp_path / "kept.idx" / "CURRENT").is_file()
