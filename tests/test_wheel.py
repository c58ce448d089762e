"""A non-editable install works: the configs ship inside the wheel as package data."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_install_runs_the_demo(tmp_path):
    """Build the wheel, install it (without dependencies) into a fresh venv that borrows this
    environment's third-party packages, and run ``videothat demo`` from an unrelated folder,
    so that nothing of the checkout can be found."""
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(wheels), str(REPO)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("videothat-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    fresh = venv / "bin" / "python"
    site = Path(subprocess.run([str(fresh), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # third-party packages from this environment; its editable VideoThat is not on the path
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    where = subprocess.run([str(fresh), "-c", "import videothat.settings as s; print(s.__file__, s.CONFIG_DIR)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert str(site) in where and str(REPO) not in where
    run = subprocess.run([str(venv / "bin" / "videothat"), "demo", "-q", "-o", str(tmp_path / "demo.mp4"),
                          "--cache-dir", str(tmp_path / "cache"), "render.height=180", "render.width=320",
                          "render.fps=10"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    timeline = json.loads((tmp_path / "demo.timeline.json").read_text())
    assert timeline["segments"] and (tmp_path / "demo.mp4").stat().st_size > 0
