"""`videothat demo`: the main job on shipped and generated material, no arguments."""

from __future__ import annotations

import json

import pytest

from videothat.cli import main
from videothat.media.probe import probe


@pytest.mark.slow
def test_demo_makes_a_music_video(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert main(["demo", "-o", str(out), "--cache-dir", str(tmp_path / "cache"), "--preview", "-q"]) == 0
    printed = capsys.readouterr().out
    assert f"video: {out}" in printed and "timeline:" in printed and "OpenTimelineIO:" in printed
    info = probe(out)
    assert info.duration == pytest.approx(30.0, abs=0.1) and info.audio is not None
    timeline = json.loads((tmp_path / "demo.timeline.json").read_text())
    # the generated shots carry pieces of the song itself: they, not the unrelated clip, fill the song
    assert sum(s["song_end"] - s["song_start"] for s in timeline["segments"] if "demo_video" in s["source"]) > 25
