"""Sound for a silent video: generated videos whose pictures follow their sound, the sound
stripped from an excerpt of one; the job must find that sound and line its onsets up with
the pictures' turns."""

from __future__ import annotations

import numpy as np
import pytest

from videothat.cli import main
from videothat.core.errors import NoVideoError, ParameterError
from videothat.media.audio import decode_audio
from videothat.media.synthetic import clicks, turning_frames, write_audio, write_video
from videothat.pipeline.run import Configs, Run
from videothat.report.measures import mean_offset, onset_f_measure, onset_times

SR, FPS, SECONDS = 22050, 25, 12
START, LENGTH = 2.12, 6.0  # the silent video shows this stretch of source 1 (not on the index's 0.25 s grid)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    """Four videos with sound (a square turning on each click, clicks at irregular times), a
    rhythm index of them, and the pictures of seconds 2-8 of the second one, silent."""
    root = tmp_path_factory.mktemp("soundtrack")
    (root / "sounds").mkdir()
    rng = np.random.default_rng(0)
    turns = {}
    for i in range(4):
        times = np.cumsum(rng.uniform(0.3, 0.9, 40))
        frames = np.round(times[times < SECONDS - 0.2] * FPS)
        turns[i] = frames / FPS
        pictures = turning_frames(SECONDS * FPS, frames, seed=i)
        write_video(root / "sounds" / f"s{i}.mp4", pictures, fps=FPS, audio=clicks(SECONDS, SR, list(turns[i])), sr=SR)
        if i == 1:
            write_video(root / "silent.mp4", pictures[round(START * FPS) : round((START + LENGTH) * FPS)], fps=FPS)
    assert main(["index", "build", str(root / "sounds"), "--index", str(root / "idx"), "--cache-dir",
                 str(root / "cache"), "-q", "index.encoder=rhythm"]) == 0
    truth = turns[1] - START
    return root, truth[(truth > 0) & (truth < LENGTH)]


def _plan(root, **kw):
    from videothat.match.config import SoundtrackConfig
    from videothat.pipeline.soundtrack import plan_soundtrack
    from videothat.vision.config import EventConfig

    return plan_soundtrack(root / "silent.mp4", root / "idx", Configs(), SoundtrackConfig(), EventConfig(),
                           Run(root / "cache", device="cpu"), **kw)


def _right_fraction(plan, source_name: str) -> float:
    """Fraction of the video whose sound comes from ``source_name`` within 50 ms of its true place."""
    right = sum(c.duration for c in plan.timeline.segments
                if c.source.name == source_name and abs(c.source_start - c.song_start - START) <= 0.05)
    return right / plan.timeline.duration


def test_the_silent_video_gets_its_own_sound_back_on_its_turns(sounds, tmp_path):
    from videothat.match.config import SoundtrackConfig
    from videothat.pipeline.soundtrack import make_soundtrack
    from videothat.vision.config import EventConfig

    root, truth = sounds
    made = make_soundtrack(root / "silent.mp4", root / "idx", Configs(), SoundtrackConfig(), EventConfig(),
                           Run(root / "cache", device="cpu"), output=tmp_path / "out.mp4", report=True)
    assert _right_fraction(made.plan, "s1.mp4") >= 0.9
    heard = decode_audio(made.video, SR)
    assert abs(heard.size / SR - LENGTH) < 0.1
    onsets = onset_times(heard, SR)
    assert onset_f_measure(truth, onsets) >= 0.8  # the new sound's onsets land on the square's turns
    assert abs(mean_offset(truth, onsets)) <= 0.03
    assert made.timeline_json.is_file() and made.otio.is_file() and "onsets on events" in made.html.read_text()
    assert not list(tmp_path.glob(".*tmp*"))
    _check_outputs_name_the_video(made)


def _check_outputs_name_the_video(made):
    """The timeline file names the video ``video`` (not ``song``); each segment's score is its
    alignment, which the report's table shows beside a card of the same mean, under the
    video's own column names, each source in its legend's colour."""
    import json
    import re

    from videothat.core.timeline import Timeline
    from videothat.match.config import SoundtrackConfig

    data = json.loads(made.timeline_json.read_text())
    assert data["video"] == str(made.plan.timeline.song) and "song" not in data
    assert Timeline.load_json(made.timeline_json).over == "video"
    scores = [s["score"] for s in data["segments"]]
    assert all(0 < s <= 1 for s in scores)
    hop = SoundtrackConfig().hop  # each segment: the stretches of hop s it covers
    spans = [(round(s["song_start"] / hop), min(made.plan.scores.size, round(s["song_end"] / hop + 0.49)))
             for s in data["segments"]]
    assert scores == pytest.approx([float(np.mean(made.plan.scores[a:b])) for a, b in spans])
    page = made.html.read_text()
    card = float(re.search(r'<div class="v">([-\d.]+)</div><div class="k">alignment', page)[1])
    assert card == pytest.approx(float(np.mean(made.plan.scores)), abs=0.005)
    shown = re.findall(r"<td>(-?[\d.]+)</td></tr>", page)  # the alignment column, last in each row
    assert shown == [f"{s:.2f}" for s in scores] and "0.000" not in page
    assert ">video start</th>" in page and ">song start</th>" not in page and "<b>alignment</b>:" in page
    for source in {s["source"].rsplit("/", 1)[-1] for s in data["segments"]}:
        assert re.search(rf'<span class="item" title="[^"]+"><span class="sw" style="background:#[0-9a-f]{{6}}">'
                         rf"</span>{re.escape(source)}</span>", page)


def test_the_alignment_pass_beats_the_retrieval_alone(sounds):
    root, _ = sounds
    aligned, alone = _plan(root), _plan(root, align=False)
    assert _right_fraction(aligned, "s1.mp4") > _right_fraction(alone, "s1.mp4") + 0.3
    assert len(aligned.timeline.segments) < len(alone.timeline.segments)  # one sound plays on


def test_wrong_videos_and_indexes_are_named(sounds, tmp_path, capsys):
    root, _ = sounds
    song = write_audio(tmp_path / "song.wav", clicks(2.0, SR, [0.5, 1.0]), sr=SR)
    from videothat.match.config import SoundtrackConfig
    from videothat.pipeline.soundtrack import plan_soundtrack
    from videothat.vision.config import EventConfig

    with pytest.raises(NoVideoError, match="song.wav: has no video stream"):
        plan_soundtrack(song, root / "idx", Configs(), SoundtrackConfig(), EventConfig(), Run(root / "cache"))
    assert main(["index", "build", str(root / "sounds" / "s0.mp4"), "--index", str(tmp_path / "timbre"),
                 "--cache-dir", str(root / "cache"), "-q", "index.encoder=timbre"]) == 0
    with pytest.raises(ParameterError, match="timbre fingerprints, which describe sound, not pictures"):
        plan_soundtrack(root / "silent.mp4", tmp_path / "timbre", Configs(), SoundtrackConfig(), EventConfig(),
                        Run(root / "cache"))
    with pytest.raises(ParameterError, match="built with rhythm fingerprints; sound by pictures with a visual encoder"):
        plan_soundtrack(root / "silent.mp4", root / "idx", Configs(), SoundtrackConfig(), EventConfig(),
                        Run(root / "cache"), video_encoder=tmp_path / "video_encoder.safetensors")
    capsys.readouterr()
    args = ["soundtrack", "--video", str(root / "silent.mp4"), "-o", str(tmp_path / "x.mp4"), "--cache-dir",
            str(root / "cache"), "-q"]
    assert main([*args, "--index", str(tmp_path / "nothing")]) == 2
    assert "not a VideoThat index" in capsys.readouterr().err
    assert main([*args, "--index", str(root / "idx"), "soundtrack.hop=0"]) == 2
    assert "soundtrack.hop" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
