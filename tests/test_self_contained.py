"""The repository is self-contained: no tracked file reads, runs or names a folder outside it.

Someone who clones the project has only the repository: test clips live in ``tests/data`` and
the development corpus is built by ``scripts/build_corpus.sh``. These tests keep a path to a
sibling data folder from coming back, and check that the corpus builder at least parses and
answers ``--help`` without doing any work.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILDER = REPO / "scripts" / "build_corpus.sh"
# Built from pieces so that this file does not hold them itself.
NEEDLES = ("../" + "shared", "shared" + "/data")


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in out.decode().split("\0") if name]


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


def test_no_tracked_file_names_a_folder_outside_the_repository():
    hits = []
    for path in tracked_files():
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        if is_binary(data):
            continue
        for number, line in enumerate(data.decode(errors="replace").splitlines(), start=1):
            hits += [f"{path.relative_to(REPO)}:{number}: {line.strip()}" for n in NEEDLES if n in line]
    assert not hits, (
        "files of the project must not name folders outside the repository (test clips are in "
        "tests/data, the corpus comes from scripts/build_corpus.sh):\n" + "\n".join(hits)
    )


def test_the_needles_are_found():
    """The check above would see a hit: the needles are what a stray path looks like."""
    line = "bash " + NEEDLES[0] + "/data/build_corpus.sh"
    assert all(n in line for n in NEEDLES)


@pytest.fixture
def bash() -> str:
    found = shutil.which("bash")
    if found is None:
        pytest.skip("no bash")
    return found


def test_corpus_builder_parses(bash):
    subprocess.run([bash, "-n", str(BUILDER)], check=True)


def test_corpus_builder_help_does_no_work(bash, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    done = subprocess.run([bash, str(BUILDER), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")
    for knob in ("MAX_SEC", "FORMAT", "SYNTH_CLIPS", "CACHE", "CLEAN_CACHE"):
        assert knob in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing made: no target, no cache, no download


def test_corpus_builder_without_target_says_how(bash, tmp_path):
    done = subprocess.run([bash, str(BUILDER)], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: ")
    assert list(tmp_path.iterdir()) == []
