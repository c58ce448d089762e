"""The command's own behaviour: `videothat config`, and a stdout closed early."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import typing

import pytest

from videothat.cli import main
from videothat.settings import ANALYSIS_SECTIONS, SECTION_CLASSES, config_keys, key_bounds, yaml_entries


def _lines(capsys, *argv: str) -> list[str]:
    assert main(["config", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_config_lists_every_key_with_its_default_range_and_meaning(capsys):
    from videothat.settings import CONFIG_DIR

    lines = _lines(capsys)
    keys = [line.split()[0] for line in lines]
    assert keys == [k.key for k in config_keys()] and len(keys) == len(set(keys)) > 100
    comment = dict((k, c) for k, _, c in yaml_entries(CONFIG_DIR / "match" / "default.yaml"))["floor"]
    (floor,) = [line for line in lines if line.startswith("match.floor ")]
    assert floor.split()[1:4] == ["0.05", "[1e-09,", "1000]"] and floor.endswith(comment)
    (threshold,) = [line for line in lines if line.startswith("shots.threshold ")]
    assert "27.0 (content); 3.0 (adaptive)" in threshold and "[0.001, 255]" in threshold
    (group,) = [line for line in lines if line.split()[0] == "shots"]
    assert "shots=adaptive | content" in group
    assert any(line.startswith("device ") and "cuda:N" in line for line in lines)


@pytest.mark.parametrize(("prefix", "count"), [("match", 28), ("index.rhythm", 3), ("vision.person.", 5)])
def test_config_prefix_keeps_a_section_or_longer_prefix(capsys, prefix, count):
    lines = _lines(capsys, prefix)
    assert len(lines) == count and all(line.startswith(prefix) for line in lines)


def test_config_unknown_prefix_names_the_sections(capsys):
    assert main(["config", "nonsense"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'nonsense'" in err and "index" in err and "vision" in err


def _bounded(section: str, cls: type) -> dict[str, tuple]:
    """dotted key -> BOUNDS entry of every bounded field of ``cls`` under ``section``."""
    hints, out = typing.get_type_hints(cls), {}
    for name, bound in getattr(cls, "BOUNDS", {}).items():
        out[f"{section}.{name}"] = tuple(bound)
    for f in dataclasses.fields(cls):
        sub = hints[f.name]
        if not dataclasses.is_dataclass(sub) or (cls.__name__ == "AnalysisConfig" and f.name in ANALYSIS_SECTIONS):
            continue
        out |= _bounded(section if f.name in getattr(cls, "FLAT", ()) else f"{section}.{f.name}", sub)
    return out


def test_every_bound_of_the_config_classes_is_listed():
    expected = {}
    for section, cls in SECTION_CLASSES.items():
        for sub, c in (cls.items() if isinstance(cls, dict) else [(None, cls)]):
            expected |= _bounded(section if sub is None else f"{section}.{sub}", c)
    listed = {k.key: k.bounds for k in config_keys() if k.bounds is not None}
    assert listed == expected
    assert key_bounds("match.snap") is None and key_bounds("index.rhythm.window") == (0.05, 60.0)


def test_a_stdout_closed_early_ends_quietly():
    """`videothat config | head -1`: no `Broken pipe` error, no traceback; exit 141 as SIGPIPE would."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes a byte
    try:
        run = subprocess.run([sys.executable, "-m", "videothat.cli", "config"], stdout=write, stderr=subprocess.PIPE,
                             text=True, timeout=120)
    finally:
        os.close(write)
    assert (run.returncode, run.stderr) == (141, "")
