"""Shared test fixtures: real clips from ../shared/data/fixtures and devices to run on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/mediagen.py

from mediagen import FIXTURES  # noqa: E402

AUDIO_FIXTURES = sorted(FIXTURES.glob("*.ogg"))
VIDEO_FIXTURE = FIXTURES / "handheld_box_with_sound.mp4"

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="session", autouse=True)
def _fixtures_present() -> None:
    if not AUDIO_FIXTURES or not VIDEO_FIXTURE.exists():
        pytest.exit(f"fixtures missing under {FIXTURES}: the tests need ../shared/data/fixtures", 2)


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Every test that takes ``device`` runs on each device present (CPU, CUDA)."""
    return request.param
