"""`videothat demo`: the main job on shipped real footage and a shipped song, no arguments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from videothat.cli import main
from videothat.core.timeline import Timeline
from videothat.demo import CLIPS, FPS, DemoMaterial, placed_seconds, plan_pieces
from videothat.media.audio import decode_audio
from videothat.media.probe import probe


def test_pieces_tile_the_song_on_real_cuts():
    layout = plan_pieces(np.random.default_rng(7), 30.0, 3)
    pieces = [p for video in layout for p in video]
    spans = sorted((p.song_start, p.song_end) for p in pieces)
    assert spans[0][0] == 0 and spans[-1][1] == 30.0
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # no gap, no overlap
    assert all(1.5 <= e - s <= 4.0 + 1e-9 for s, e in spans[:-1])
    for video in layout:  # neighbours in a video come from different clips: a real cut between them
        assert all(a.clip != b.clip for a, b in zip(video, video[1:], strict=False))
        assert all(abs(b.video_start - (a.video_start + a.song_end - a.song_start)) < 1e-9
                   for a, b in zip(video, video[1:], strict=False))
    for clip in CLIPS:  # a clip's pieces never share footage
        used = sorted((p.clip_start, p.clip_start + p.song_end - p.song_start) for p in pieces if p.clip == clip)
        assert all(a[1] <= b[0] + 1e-9 for a, b in zip(used, used[1:], strict=False))
    assert len({p.clip for p in pieces}) == len(CLIPS)  # every shipped clip is seen
    assert all(round(p.song_start * FPS) == p.song_start * FPS for p in pieces)  # bounds on frames


def test_placed_seconds_counts_only_the_right_place(tmp_path):
    layout = plan_pieces(np.random.default_rng(7), 30.0, 3)
    names = [f"demo_video_{i}.mp4" for i in range(3)]
    material = DemoMaterial(tmp_path / "song.ogg", [tmp_path / n for n in names], dict(zip(names, layout, strict=True)))
    pieces = [(video, p) for video, ps in material.pieces.items() for p in ps]
    truth = Timeline(material.song, 30.0, sorted(
        [_cut(tmp_path / v, p.video_start, p.song_start, p.song_end - p.song_start) for v, p in pieces],
        key=lambda c: c.song_start))
    assert placed_seconds(truth, material) == pytest.approx(30.0, abs=0.02)
    shifted = Timeline(material.song, 30.0, [_cut(c.source, c.source_start + 0.1, c.song_start, c.duration)
                                             for c in truth.segments])
    assert placed_seconds(shifted, material) < 1.0  # 100 ms off is not in place


def _cut(source: Path, source_start: float, song_start: float, duration: float):
    from videothat.core.timeline import Cut

    return Cut(Path(source), source_start, source_start + duration, song_start, song_start + duration, 0.0)


@pytest.mark.slow
def test_demo_makes_a_music_video(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert main(["demo", "-o", str(out), "--cache-dir", str(tmp_path / "cache"), "--preview", "-q"]) == 0
    printed = capsys.readouterr().out
    assert f"video: {out}" in printed and "timeline:" in printed and "OpenTimelineIO:" in printed
    info = probe(out)
    assert info.duration == pytest.approx(30.0, abs=0.1) and info.audio is not None
    timeline = json.loads((tmp_path / "demo.timeline.json").read_text())
    material = tmp_path / "demo_material"  # beside the output, not in the cache: the timeline stays valid
    assert all(Path(s["source"]).parent == material for s in timeline["segments"])
    assert Path(timeline["song"]).parent == material
    # the real clips carry pieces of the song itself: they are put back where their sound belongs
    placed = float(printed.split("demo: ")[1].split(" of ")[0])
    assert placed >= 27.0
    song = decode_audio(material / "rock_war_of_freedom_30s.ogg", 22050)
    sound = decode_audio(out, 22050)[: song.size]
    middle = slice(22050, sound.size - 22050)
    level_db = 10 * np.log10(np.mean(sound[middle] ** 2) / np.mean(song[middle] ** 2))
    assert abs(level_db) < 0.5  # the song at its own level
    stamps = {p: p.stat().st_mtime_ns for p in material.iterdir()}
    assert main(["demo", "-o", str(out), "--cache-dir", str(tmp_path / "cache"), "--preview", "-q"]) == 0
    assert {p: p.stat().st_mtime_ns for p in material.iterdir()} == stamps  # the material is made once
