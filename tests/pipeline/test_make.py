"""Analysis + matcher end to end on real music cut into generated videos."""

from __future__ import annotations

import numpy as np
import pytest

from mediagen import cut_video, reconstruction_case
from videothat.analysis import AnalysisConfig, analyze
from videothat.catalog import Catalog
from videothat.match.assemble import match
from videothat.match.config import MatchConfig
from videothat.media.audio import decode_audio

SR = 22050


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The rock fixture cut into 8 shots spread over 3 videos (plus one from another song)."""
    root = tmp_path_factory.mktemp("match")
    song_path, video_paths, truth = reconstruction_case(root)
    cfg = AnalysisConfig()
    videos = analyze(video_paths, cfg, catalog=Catalog(root / "c", cfg.cache_params()))
    (song_analysis,) = analyze([song_path], cfg.for_songs(),
                               catalog=Catalog(root / "c", cfg.for_songs().cache_params())).analyses
    return song_analysis, videos.analyses, truth, root


def test_timeline_puts_every_shot_back(case):
    song, videos, truth, _ = case
    result = match(song, videos, MatchConfig())
    timeline = result.timeline.validate()
    assert timeline.duration == pytest.approx(24.0, abs=0.01)
    correct = 0.0
    for cut in timeline.segments:
        for a, b, song_t in truth.get(cut.source.name, []):
            if a - 1e-6 <= cut.source_start < b and abs(song_t + cut.source_start - a - cut.song_start) < 0.04:
                correct += cut.duration
    assert correct / timeline.duration >= 0.95
    assert len(timeline.segments) == 8


def test_placement_scores_rescore_the_found_timeline(case):
    """placement_scores (used by the evaluations to score the true timeline) gives each
    placement the score the search gave it."""
    from videothat.match.assemble import placement_scores

    song, videos, _, _ = case
    config = MatchConfig()
    result = match(song, videos, config)
    kept = [p for p in result.placements if p.in_frame == 0]
    assert kept

    def frames(p) -> int:  # a shot played to its end is scored whole; its cut is rounded to a frame
        whole = int((len(result.curves[p.shot]) - 1) / p.speed + 1e-9) + 1  # frames at its speed
        return whole if p.length >= whole - 1 else p.length

    got = placement_scores(result, config.score, [(p.shot, p.start, frames(p), p.speed) for p in kept])
    assert got == pytest.approx([p.score for p in kept], rel=1e-5)


def test_greedy_baseline_runs_and_covers(case):
    from dataclasses import replace

    song, videos, _, _ = case
    config = MatchConfig()
    result = match(song, videos, replace(config, search=replace(config.search, beam_width=1)))
    assert result.timeline.validate().segments[-1].song_end == pytest.approx(song.duration)


def test_cli_match_writes_timeline_and_otio(case, tmp_path, capsys):
    import opentimelineio as otio

    from videothat.cli import main
    from videothat.core.timeline import Timeline

    *_, root = case
    out = tmp_path / "mv"
    code = main(["match", "--song", str(root / "song.wav"), "--videos", str(root / "v0.mp4"), str(root / "v1.mp4"),
                 str(root / "v2.mp4"), "-o", str(out), "--cache-dir", str(root / "c"), "-q"])
    assert code == 0
    timeline = Timeline.load_json(tmp_path / "mv.timeline.json")
    assert timeline.duration == pytest.approx(24.0, abs=0.01) and len(timeline.segments) == 8
    assert len(list(otio.adapters.read_from_file(str(tmp_path / "mv.otio")).find_clips())) == 9  # + the song
    assert "8 segments over 24.0 s from 8 of 8 shots" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--song", "{root}/nope.wav", "--videos", "{root}/v0.mp4"], "nope.wav: no such file"),
    (["--song", "{root}/song.wav", "--videos", "{root}/v0.mp4"], "not enough footage"),
    (["--song", "{root}/song.wav", "--videos", "{root}", "-o", "/nonexistent/dir/out"], "cannot write"),
    (["--song", "{root}/song.wav", "--videos", "{root}", "match.beam_width=0"], "beam_width=0"),
    (["--song", "{root}/song.wav", "--videos", "{root}", "match.snap=bars"], "snap='bars'"),
])
def test_cli_match_errors_are_one_line(case, tmp_path, capsys, args, words):
    from videothat.cli import main

    *_, root = case
    argv = ["match", *[a.format(root=root) for a in args], "--cache-dir", str(root / "c"), "-q"]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1] and err[-1].startswith("videothat: error:")
    assert not list(tmp_path.glob("out*"))


@pytest.mark.slow
def test_cli_make_renders_the_music_video(case, tmp_path, capsys):
    import opentimelineio as otio

    from videothat.cli import main
    from videothat.core.timeline import Timeline
    from videothat.media.probe import probe

    *_, root = case
    out = tmp_path / "mv.mp4"
    code = main(["make", "--song", str(root / "song.wav"), "--videos", str(root / "v0.mp4"), str(root / "v1.mp4"),
                 str(root / "v2.mp4"), "-o", str(out), "--cache-dir", str(root / "c"), "-q",
                 "render.width=160", "render.height=90", "render.fps=10"])
    assert code == 0
    info = probe(out)
    assert info.duration == pytest.approx(24.0, abs=0.1) and (info.video.width, info.video.height) == (160, 90)
    song = decode_audio(root / "song.wav", SR)
    sound = decode_audio(out, SR)[: song.size]
    assert np.corrcoef(sound, song[: sound.size])[0, 1] > 0.95  # the sound track is the song
    timeline = Timeline.load_json(tmp_path / "mv.timeline.json")
    assert timeline.duration == pytest.approx(info.duration, abs=0.1)
    assert len(list(otio.adapters.read_from_file(str(tmp_path / "mv.otio")).find_clips())) == 9
    assert f"video: {out}" in capsys.readouterr().out


def test_cli_make_unwritable_output_writes_nothing(case, tmp_path, capsys):
    from videothat.cli import main

    *_, root = case
    code = main(["make", "--song", str(root / "song.wav"), "--videos", str(root), "-o", "/proc/nope/out.mp4",
                 "--cache-dir", str(root / "c"), "-q"])
    assert code == 2 and "cannot write /proc/nope/out.mp4" in capsys.readouterr().err


def test_cli_make_without_usable_videos_says_why(case, tmp_path, capsys, caplog):
    from videothat.cli import main

    *_, root = case
    mute = cut_video(tmp_path / "mute.mp4", [0.5], 1.0)
    args = ["make", "--song", str(root / "song.wav"), "--videos", str(mute), "-o", str(tmp_path / "o.mp4"),
            "--cache-dir", str(root / "c"), "-q"]
    code = main([*args, "match.visual_weight=0"])
    err = capsys.readouterr().err
    assert code == 2 and "no usable videos" in err and "mute.mp4: has no audio stream" in err
    assert "match.visual_weight > 0" in err
    code = main(args)  # by default a silent video takes part by its pictures: 1 s of them is too little
    err = capsys.readouterr().err
    assert code == 2 and f"pictures only: {mute}" in caplog.text and "not enough footage" in err
    assert not (tmp_path / "o.mp4").exists()


def test_cuts_snap_to_beats(case):
    from dataclasses import replace

    song, videos, _, _ = case
    config = MatchConfig()
    result = match(song, videos, replace(config, search=replace(config.search, snap="beats")))
    beats = result.beats / result.frame_rate
    shot_ends = {(s.source, round(s.end, 3)) for s in result.shots}
    for cut in result.timeline.segments[:-1]:
        on_beat = np.abs(beats - cut.song_end).min() <= 1.5 / result.frame_rate
        assert on_beat or (cut.source, round(cut.source_end, 3)) in shot_ends


def test_speed_range_one_gives_todays_timeline_and_retimed_timelines_validate(case):
    """Speeds 1..1 (and no harmony term) are the matcher as it was: the search over the plain
    shot bank; with the default speed range the timeline still puts the shots back (they
    were recorded at the song's tempo) and every segment's source span is speed x its song span."""
    import math
    from dataclasses import replace

    import torch

    from videothat.audio.onsets import onset_frames
    from videothat.match.assemble import to_timeline, usable_shots
    from videothat.match.correlate import prepare_song, shot_bank
    from videothat.match.search import search

    song, videos, truth, _ = case
    base = MatchConfig()
    old = replace(base, score=replace(base.score, harmony=0.0),
                  search=replace(base.search, speed_min=1.0, speed_max=1.0))
    material = usable_shots(videos)
    shots, curves = material.shots, material.curves
    y = np.concatenate(song.novelty)[: math.ceil(song.duration * song.frame_rate - 1e-9)]
    by_hand = search(shot_bank([torch.from_numpy(c) for c in curves], old.score), prepare_song(torch.from_numpy(y),
                     old.score), frame_rate=song.frame_rate, score=old.score, config=old.search,
                     onsets=torch.from_numpy(onset_frames(y, frame_rate=song.frame_rate)),
                     shot_seconds=[s.duration for s in shots], duration=song.duration)
    assert match(song, videos, old).timeline.to_dict() == to_timeline(song, by_hand, shots).to_dict()
    retimed = match(song, videos, base).timeline.validate()
    for cut in retimed.segments:
        assert cut.source_end - cut.source_start == pytest.approx(cut.speed * cut.duration, abs=1e-3)
    near_one = sum(c.duration for c in retimed.segments if abs(c.speed - 1.0) <= 0.011)  # within 2 steps
    assert near_one / retimed.duration >= 0.9


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 4 s song and one video of its halves swapped, each shot with its own piece of the song."""
    from mediagen import FIXTURES, write_audio

    root = tmp_path_factory.mktemp("tiny")
    song = decode_audio(FIXTURES / "rock_war_of_freedom_30s.ogg", SR)[: 4 * SR]
    write_audio(root / "song.wav", song[None], sr=SR)
    swapped = np.concatenate([song[2 * SR :], song[: 2 * SR]])
    cut_video(root / "v.mp4", [2.0], 4.0, audio=swapped[None], sr=SR)
    return root


@pytest.mark.parametrize("flags", [["-q"], [], ["-v"]], ids=["quiet", "default", "verbose"])
def test_make_keeps_ffmpeg_quiet_unless_verbose(tiny, tmp_path, flags):
    """A fresh cache runs shot detection (PySceneDetect would switch FFmpeg's printer back on)
    and then encodes: -q leaves stderr empty, a default run shows no encoder statistics, -v does."""
    import subprocess
    import sys

    verbose = flags == ["-v"]  # before the command; -q after it
    argv = [sys.executable, "-m", "videothat.cli", *(flags if verbose else []), "make", "--song",
            str(tiny / "song.wav"), "--videos", str(tiny / "v.mp4"), "-o", str(tmp_path / "mv.mp4"), "--cache-dir",
            str(tmp_path / "cache"), *([] if verbose else flags), "render.width=64", "render.height=64",
            "render.fps=5"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"video: {tmp_path / 'mv.mp4'}" in run.stdout
    if flags == ["-q"]:
        assert run.stderr == ""
    assert ("[libx264 @" in run.stderr) == verbose and ("[aac @" in run.stderr) == verbose
