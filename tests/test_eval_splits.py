"""The evaluation scripts' splits (scripts/eval_splits.py): by package, test never by default."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from eval_splits import chosen_splits, find_tasks, mean_se, pick  # noqa: E402


def _song(path: Path, seconds: float, loud: bool = True) -> None:
    rng = np.random.default_rng(len(path.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, (0.3 if loud else 0.0) * rng.standard_normal(int(seconds * 8000)).astype(np.float32), 8000)


def test_tasks_come_with_their_package_split_and_time_map(tmp_path):
    dev = tmp_path / "dev"
    rows = [{"kind": "song", "id": "a1", "file": "music/a1.wav", "package": "pkg-a", "split": "tune"},
            {"kind": "song", "id": "b1", "file": "music/b1.wav", "package": "pkg-b", "split": "validation"},
            {"kind": "song", "id": "quiet", "file": "music/quiet.wav", "package": "pkg-b", "split": "validation"},
            {"kind": "pair", "id": "p1", "file_a": "pairs/p1_A.wav", "file_b": "pairs/p1_B.wav",
             "package": "music21/bach", "split": "test", "fitted_ratio": "1.25", "fitted_offset_s": "0.012"}]
    _song(dev / "music/a1.wav", 12)
    _song(dev / "music/b1.wav", 12)
    _song(dev / "music/quiet.wav", 12, loud=False)
    _song(dev / "pairs/p1_A.wav", 9.5)
    _song(dev / "pairs/p1_B.wav", 8)
    fields = ["kind", "id", "file", "file_a", "file_b", "package", "split", "genre", "fitted_ratio", "fitted_offset_s"]
    with open(dev / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    tasks = {t.name: t for t in find_tasks(tmp_path, 10, pair_seconds=8)}
    assert set(tasks) == {"a1", "b1", "p1"}  # the silent song says nothing: left out
    assert (tasks["a1"].split, tasks["b1"].split, tasks["p1"].split) == ("tune", "validation", "test")
    pair = tasks["p1"]
    # the manifest's measured map t_b = t_a / 1.25 + 0.012 s: song time = 1.25 (t_b - 0.012 s)
    assert pair.kind == "pair" and pair.rate == 1.25 and pair.offset == pytest.approx(-0.015) and pair.seconds == 9.0
    assert pair.package == "music21/bach" and pair.shots_from.name == "p1_B.wav"


def test_all_is_tune_and_validation_never_test():
    assert chosen_splits("all") == ("tune", "validation")
    assert chosen_splits("test") == ("test",)


def test_pick_spreads_a_limit_over_the_packages():
    from eval_splits import Task

    tasks = [Task("song", f"{p}{i}", "tune", p, Path("x"), Path("x"), 60.0) for p in "abc" for i in range(5)]
    tasks += [Task("song", f"v{i}", "validation", "v", Path("x"), Path("x"), 60.0) for i in range(4)]
    picked = pick(tasks, 3)
    assert sorted(t.package for t in picked if t.split == "tune") == ["a", "b", "c"]
    assert len([t for t in picked if t.split == "validation"]) == 3
    assert pick(tasks, 3) == picked and pick(tasks, 0) == tasks


def test_mean_with_its_standard_error():
    assert mean_se([1.0, 0.0, 1.0, 0.0]) == f"0.500±{np.std([1, 0, 1, 0], ddof=1) / 2:.3f}"
    assert mean_se([]) == "-"
