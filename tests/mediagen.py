"""Test media: the real fixtures' folder and the synthetic media writers."""

from __future__ import annotations

from pathlib import Path

from videothat.media.synthetic import (  # noqa: F401  (re-exported for the tests)
    clicks,
    cut_video,
    segment_frames,
    tone,
    write_audio,
    write_video,
)

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "fixtures"
