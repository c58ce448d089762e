"""Shared test fixtures: the real clips kept in tests/data and the devices to run on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Under pytest-xdist (the fast set: -n 2 in pyproject.toml's addopts) one OpenMP thread per
# test process, in torch and in the CLI subprocesses the tests start, unless
# OMP_NUM_THREADS says otherwise: the processes fill the cores, and the tests' tensors are
# small, so a second thread mostly spun waiting (on 2 busy cores the fast set took 262 s of
# CPU with 2 threads, 126 s with 1). A run in one process (-n 0, the slow set) keeps
# torch's default: its larger work (FAISS training, renders) uses the threads.
WORKERS = os.environ.get("PYTEST_XDIST_WORKER") is not None
if WORKERS:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

if WORKERS:
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/mediagen.py

from mediagen import FIXTURES, write_video  # noqa: E402

AUDIO_FIXTURES = sorted(FIXTURES.glob("*.ogg"))
VIDEO_FIXTURE = FIXTURES / "handheld_box_with_sound.mp4"

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="session", autouse=True)
def _fixtures_present() -> None:
    if not AUDIO_FIXTURES or not VIDEO_FIXTURE.exists():
        pytest.exit(f"test clips missing under {FIXTURES} (they are part of the repository)", 2)


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Every test that takes ``device`` runs on each device present (CPU, CUDA)."""
    return request.param


@pytest.fixture(scope="session")
def audio_manifest(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "train.csv"
    rows = [f"{p},," for p in AUDIO_FIXTURES[:3]] + [f"{AUDIO_FIXTURES[3]},2,12"]
    path.write_text("path,start,end\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="session")
def video_manifest(tmp_path_factory) -> Path:
    """The real hand-held clip, and a generated one whose brightness follows its clicks."""
    root = tmp_path_factory.mktemp("av")
    sr, fps, seconds = 22050, 15, 8
    rng = np.random.default_rng(0)
    hits = np.sort(rng.uniform(0, seconds - 0.2, 16))
    audio = np.zeros(seconds * sr, np.float32)
    for t in hits:
        i = round(t * sr)
        audio[i : i + 2000] += rng.standard_normal(2000).astype(np.float32) * np.exp(-np.arange(2000) / 300) * 0.5
    times = np.arange(seconds * fps) / fps
    level = np.exp(-np.min(np.abs(times[:, None] - hits[None]), axis=1) * 10)
    frames = np.broadcast_to((level * 255).astype(np.uint8)[:, None, None, None], (times.size, 32, 32, 3)).copy()
    generated = write_video(root / "flash.mp4", frames, fps=fps, audio=audio[None], sr=sr)
    path = root / "videos.jsonl"
    path.write_text(f'{{"path": "{VIDEO_FIXTURE}"}}\n{{"path": "{generated.name}", "start": 0.5}}\n')
    return path
