"""The evaluation tasks of the development set and their splits by source package.

``bash scripts/build_corpus.sh CORPUS`` writes ``CORPUS/dev/manifest.csv``: every song and
rendition pair of the development set with the package it comes from and its split:

* ``tune``: look as often as you like (every package the corpus used before the development
  set, and a share of the others);
* ``validation``: look to choose between methods;
* ``test``: untouched until the end of a piece of work: run once, report as it falls.

The split is the package's (by a fixed rule in the builder), so no track of a package can
leak what another of its tracks sounds like into another split. Without ``dev/`` (a corpus
built before it) the corpus's ``music/``, ``pairs/`` and ``eval/`` are the tasks, all
``tune``. :func:`pick` draws at most N tasks of a split spread over its packages;
:func:`mean_se` formats a mean with its standard error.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("tune", "validation", "test")
SILENT_DBFS = -50.0  # a second of the song quieter than this (RMS) is silent
MAX_SILENT_SECONDS = 3  # tracks with more silent seconds in the excerpt are not used


@dataclass(frozen=True)
class Task:
    """One song (``kind`` song: the shots are cut from it) or rendition pair (``pair``: cut
    from rendition B, placed on A). Song time of B's time ``t``: ``offset + rate * t``."""

    kind: str  # song | pair
    name: str
    split: str  # tune | validation | test
    package: str
    song: Path  # the song (rendition A for pairs)
    shots_from: Path  # the audio the shots are cut from
    seconds: float  # length of the song excerpt the task covers (from its start)
    rate: float = 1.0  # song seconds per second of shots_from
    offset: float = 0.0  # song time (s) at shots_from's time 0
    genre: str = ""


def sounding(path: Path, seconds: float) -> bool:
    """At least ``seconds`` long, and sounding all along them: where a song is silent every
    placement fits equally (score 0), so a silent stretch says nothing."""
    import soundfile

    info = soundfile.info(str(path))
    if info.duration < seconds:
        return False
    audio, sr = soundfile.read(str(path), frames=int(seconds * info.samplerate), dtype="float32", always_2d=True)
    second = audio.mean(axis=1)[: int(seconds) * sr].reshape(int(seconds), sr)
    quiet = 20 * np.log10(np.sqrt((second**2).mean(axis=1)) + 1e-9) < SILENT_DBFS
    if quiet.sum() > MAX_SILENT_SECONDS:
        print(f"note: {path.name} skipped: {int(quiet.sum())} s of its first {seconds:g} s are silent",
              file=sys.stderr)
        return False
    return True


def find_tasks(corpus: Path, seconds: float, *, pair_seconds: float = 45.0) -> list[Task]:
    """Every song at least ``seconds`` long that sounds along them (a task of its first
    ``seconds``), and every pair whose A lasts at least ``pair_seconds`` (a task of A's first
    ``seconds``, or all of A if shorter, in whole seconds), of the development set (or,
    without one, of the corpus's older folders, all ``tune``)."""
    manifest = corpus / "dev" / "manifest.csv"
    if not manifest.is_file():
        print(f"note: {manifest} missing: the corpus's music/, pairs/ and eval/ are the tasks, all tune "
              f"(bash scripts/build_corpus.sh {corpus} adds the development set)", file=sys.stderr)
        return _legacy_tasks(corpus, seconds, pair_seconds)
    tasks = []
    with open(manifest) as f:
        for row in csv.DictReader(f):
            split = row["split"]
            if split not in SPLITS:
                raise SystemExit(f"{manifest}: row {row['id']} has split {split!r}, not one of {SPLITS}")
            if row["kind"] == "song":
                path = corpus / "dev" / row["file"]
                if sounding(path, seconds):
                    tasks.append(Task("song", row["id"], split, row["package"], path, path, seconds,
                                      genre=row["genre"]))
            elif row["kind"] == "pair":
                a, b = corpus / "dev" / row["file_a"], corpus / "dev" / row["file_b"]
                length = _pair_length(a, seconds, pair_seconds)
                if length:  # the measured map t_b = t_a / ratio + offset_b, as song time of B's time
                    ratio, offset_b = float(row["fitted_ratio"]), float(row["fitted_offset_s"])
                    tasks.append(Task("pair", row["id"], split, row["package"], a, b, length, ratio,
                                      -ratio * offset_b, row["genre"]))
    return tasks


def _legacy_tasks(corpus: Path, seconds: float, pair_seconds: float) -> list[Task]:
    """The corpus's own music/ and pairs/ (and eval/ of the old make_eval_set.sh), all tune."""
    tasks = []
    for folder in (corpus / "music", corpus / "eval" / "music"):
        for path in sorted(folder.glob("*.wav")):
            if sounding(path, seconds):
                tasks.append(Task("song", path.stem, "tune", path.stem, path, path, seconds))
    for folder in (corpus / "pairs", corpus / "eval" / "pairs"):
        if (folder / "pairs.csv").is_file():
            with open(folder / "pairs.csv") as f:
                for row in csv.DictReader(f):
                    a, b = folder / row["file_a"], folder / row["file_b"]
                    length = _pair_length(a, seconds, pair_seconds)
                    if length:
                        tasks.append(Task("pair", Path(row["source_midi"]).stem, "tune", "openttd-openmsx", a, b,
                                          length, float(row["tempo_ratio_b_over_a"])))
    return tasks


def _pair_length(a: Path, seconds: float, least: float) -> float:
    """The excerpt of rendition ``a`` a pair task covers: ``seconds``, or all of A in whole
    seconds when shorter; 0 when that is under ``least`` s or not sounding."""
    import soundfile

    length = min(seconds, float(np.floor(soundfile.info(str(a)).duration)))
    return length if length >= least and sounding(a, length) else 0.0


def chosen_splits(split: str) -> tuple[str, ...]:
    """``--split`` to the splits it runs: ``all`` is tune and validation (never the test split)."""
    if split == "all":
        return ("tune", "validation")
    if split == "test":
        print("note: the test split: run it once, at the end, and report it as it falls", file=sys.stderr)
    return (split,)


def pick(tasks: Sequence[Task], limit: int, seed: int = 0) -> list[Task]:
    """At most ``limit`` tasks per split and kind (0: all), spread over the packages: each
    package's tasks in a seeded order, taken a package at a time in turn."""
    if limit <= 0:
        return list(tasks)
    out: list[Task] = []
    for split in SPLITS:
        for kind in ("song", "pair"):
            group = [t for t in tasks if t.split == split and t.kind == kind]
            by_package: dict[str, list[Task]] = {}
            for t in group:
                by_package.setdefault(t.package, []).append(t)
            queues = []
            for package in sorted(by_package, key=lambda p: _digest(f"{seed}:{p}")):
                queues.append(sorted(by_package[package], key=lambda t: _digest(f"{seed}:{t.name}")))
            taken: list[Task] = []
            while len(taken) < limit and any(queues):
                for q in queues:
                    if q and len(taken) < limit:
                        taken.append(q.pop(0))
            out += taken
    return out


def _digest(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:12], 16)


def mean_se(values: Sequence[float]) -> str:
    """``mean±standard error`` of ``values`` (3 decimals)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return "-"
    se = x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else 0.0
    return f"{x.mean():.3f}±{se:.3f}"
