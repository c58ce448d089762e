"""Data set manifests: which media, and which time ranges of them, a training run reads.

A manifest is a CSV file with a header (``path`` required; ``start`` and ``end`` in
seconds optional, empty = the whole file) or a JSONL file with one object per line with
the same keys. Relative paths are relative to the manifest's folder. A film collection
becomes a data set by listing its files (``scripts/make_manifest.py`` writes one, split by
file into train and validation parts); ranges let a user skip credits or pick scenes.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from videothat.core.errors import MediaError, NoAudioError, NoVideoError, ParameterError
from videothat.media.probe import probe


@dataclass(frozen=True)
class Clip:
    """A time range of one media file (seconds)."""

    path: Path
    start: float
    end: float
    file_duration: float | None = None  # s, the whole file's (None = unknown)

    @property
    def duration(self) -> float:
        return self.end - self.start


def _row_clip(row: dict, base: Path, where: str) -> tuple[Path, float, float | None]:
    if not row.get("path"):
        raise ParameterError(f"{where}: no path")
    path = Path(row["path"]).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        start = float(row.get("start") or 0.0)
        end = float(row["end"]) if row.get("end") not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{where}: start/end must be seconds ({exc})") from exc
    if start < 0 or (end is not None and end <= start):
        raise ParameterError(f"{where}: need 0 <= start < end, got start={start} end={end}")
    return path, start, end


def read_manifest(path: str | Path, *, need_video: bool = False) -> list[Clip]:
    """The clips of a CSV or JSONL manifest, with missing ends filled from each file's duration.

    Raises
    ------
    ParameterError : the manifest is missing, malformed, or empty.
    MediaError : a listed file is missing, unreadable, has no audio (or no video where
        ``need_video``); the message names the manifest line.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"manifest {path} not found (write one with scripts/make_manifest.py)")
    text = path.read_text()
    if path.suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ParameterError(f"{path}:{n}: not JSON ({exc})") from exc
    else:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise ParameterError(f"{path}: a CSV manifest needs a header with a 'path' column")
        rows = list(enumerate(reader, 2))
    clips = [_resolve(*_row_clip(row, path.parent, f"{path}:{n}"), f"{path}:{n}", need_video) for n, row in rows]
    if not clips:
        raise ParameterError(f"manifest {path} lists no clips")
    return clips


def _resolve(media: Path, start: float, end: float | None, where: str, need_video: bool) -> Clip:
    try:
        info = probe(media)
    except MediaError as exc:
        raise type(exc)(exc.path, f"{exc.problem} (listed at {where})") from exc
    if info.audio is None:
        raise NoAudioError(media, f"has no audio stream (listed at {where})")
    if need_video and info.video is None:
        raise NoVideoError(media, f"has no video stream (listed at {where}); this experiment needs pictures")
    end = info.duration if end is None else min(end, info.duration)
    if end <= start:
        raise MediaError(media, f"range starts at {start} s, past its end ({info.duration:.2f} s; listed at {where})")
    return Clip(media, start, end, info.duration)


def write_manifest(path: str | Path, clips: list[Clip]) -> Path:
    """Write ``clips`` as a CSV manifest (atomically), paths relative to its folder where possible."""
    from videothat.core.atomic import atomic_write

    path = Path(path)

    def write(f) -> None:
        lines = ["path,start,end"]
        for c in clips:
            try:
                shown = c.path.resolve().relative_to(path.parent.resolve())
            except ValueError:
                shown = c.path.resolve()
            lines.append(f"{shown},{c.start:.3f},{c.end:.3f}")
        f.write(("\n".join(lines) + "\n").encode())

    atomic_write(path, write)
    return path
