"""Where a job may write, checked before it starts any work.

Every command that writes files calls :func:`check_outputs` (files it will write) or
:func:`check_output_folder` (a folder it fills, such as an index) with the inputs it will
read, before it decodes anything: a render is never lost to an output path that turns out
to be a folder, a missing or read-only folder, and no input is ever overwritten, whichever
spelling names it (relative, symlinked, hard-linked). Writes themselves stay atomic
(:mod:`videothat.core.atomic`); this module only refuses early, with a message that names
the path, what is wrong and what to do.

A new writer (``soundtrack``, ``music``, ...) lists what it writes and reads and calls
``check_outputs(outputs, inputs=inputs)`` first thing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from videothat.core.errors import ParameterError


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be created in ``folder`` (missing, not a folder, read-only, ...), or
    None when they can. Tried for real with a temporary file (``os.access`` says yes to root
    on a read-only mount and to anyone on some network file systems)."""
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "is not a folder"
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".videothat-write-test.", suffix=".tmp")
    except OSError as exc:
        return f"is not writable ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Iterable[str | Path], *, inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Refuse, before any work, file outputs that cannot be written or that are inputs.

    Each output must not be a folder or another non-regular file, its folder must exist and
    take new files, and it must not be the same file as any of ``inputs`` (files; expand
    folders first, e.g. with :func:`videothat.media.discover.find_media`).

    Returns
    -------
    The outputs as paths, in order.

    Raises
    ------
    ParameterError : naming the output and what to do.
    """
    paths = [Path(p) for p in outputs]
    sources = [Path(p) for p in inputs]
    for path in paths:
        if path.is_dir():
            raise ParameterError(f"cannot write {path}: it is a folder; give a file name (e.g. {path / 'out'}"
                                 f"{path.suffix or ''}) or remove the folder")
        if path.exists() and not path.is_file():
            raise ParameterError(f"cannot write {path}: it exists and is not a regular file")
        folder = path.absolute().parent
        problem = folder_problem(folder)
        if problem:
            what = "create it or choose" if problem == "does not exist" else "choose"
            raise ParameterError(f"cannot write {path}: its folder {folder} {problem}; {what} another output path")
        if path.exists():
            clash = next((s for s in sources if _same_file(path, s)), None)
            if clash is not None:
                raise ParameterError(f"cannot write {path}: it is the input {clash}, which would be overwritten; "
                                     f"choose another output path")
    return paths


def check_output_folder(folder: str | Path, *, role: str = "output folder") -> Path:
    """Refuse, before any work, a folder output (``role``, e.g. ``--index``) that cannot be
    created or written: a file in its place, or no writable folder above it.

    Raises
    ------
    ParameterError : naming the folder and what to do.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{role} {folder}: is a file, not a folder; choose another path")
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    problem = folder_problem(existing)
    if problem:
        where = "" if existing == folder.absolute() else f": the nearest existing path above it, {existing},"
        raise ParameterError(f"{role} {folder}{where} {problem}; choose another path")
    return folder
