"""Mosaic mode end to end: a target cut from one video's own sound is rebuilt from that place."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from videothat.cli import main
from videothat.media.audio import decode_audio
from videothat.media.synthetic import segment_frames, write_audio, write_video
from videothat.pipeline.mosaic import MosaicError, make_mosaic
from videothat.pipeline.run import Configs, Run

SR = 22050
START, SECONDS = 3.0, 5.0


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    from conftest import AUDIO_FIXTURES, VIDEO_FIXTURE

    root = tmp_path_factory.mktemp("mosaic")
    other_sound = decode_audio(next(p for p in AUDIO_FIXTURES if "rock" in p.name), 44100)[: 12 * 44100]
    other = write_video(root / "other.mp4", segment_frames(12 * 25, 3), fps=25, audio=other_sound[None])
    own = decode_audio(VIDEO_FIXTURE, SR)
    target = write_audio(root / "target.wav", own[round(START * SR) : round((START + SECONDS) * SR)][None], sr=SR)
    return root, target, [VIDEO_FIXTURE, other]


def _configs():
    from videothat.media.config import RenderConfig

    return Configs(render=RenderConfig(width=96, height=64, fps=12))


def test_a_target_from_one_video_is_rebuilt_from_that_place(material, tmp_path):
    from conftest import VIDEO_FIXTURE
    from videothat.match.config import MosaicConfig

    root, target, videos = material
    made = make_mosaic(target, videos, _configs(), MosaicConfig(), Run(tmp_path / "cache"), output=tmp_path / "m.mp4")
    assert made.video.is_file() and made.timeline_json.is_file() and made.otio.is_file()
    assert not list(tmp_path.glob("*.tmp*"))
    written = json.loads(made.timeline_json.read_text())
    assert Path(written["target"]) == Path(target) and "song" not in written  # the mosaic's own key
    t = np.arange(0, SECONDS, 0.01)
    right = 0
    for cut in made.timeline.segments:
        inside = (t >= cut.song_start) & (t < cut.song_end)
        if cut.source == VIDEO_FIXTURE:
            source_t = cut.source_start + (t[inside] - cut.song_start)
            right += int(np.sum(np.abs(source_t - (START + t[inside])) <= 0.04))
    assert right / t.size >= 0.95
    assert made.plan.runs.mean() >= 10  # runs of frames, not flicker



def test_continuity_holds_runs_where_the_nearest_unit_flickers(material, tmp_path):
    """A noisy target (10 dB): the nearest unit of each target unit jumps around; the
    Viterbi pass plays long runs, at a slightly larger descriptor distance."""
    from videothat.match.config import MosaicConfig

    root, target, videos = material
    x = decode_audio(target, SR)
    noisy = write_audio(tmp_path / "noisy.wav", (x + np.random.default_rng(0).standard_normal(x.size).astype(
        np.float32) * x.std() / 3)[None], sr=SR)
    runs = {}
    for continuity in (0.0, 1.0):
        made = make_mosaic(noisy, videos, _configs(), MosaicConfig(continuity=continuity), Run(tmp_path / "cache"),
                           output=tmp_path / f"c{continuity:g}.mp4")
        runs[continuity] = (made.plan.runs.mean(), made.plan.distance)
    assert runs[1.0][0] >= 1.5 * runs[0.0][0] and runs[0.0][1] <= runs[1.0][1] + 1e-9


def test_bad_targets_and_sources_are_named(material, tmp_path, capsys):
    from videothat.match.config import MosaicConfig

    root, target, videos = material
    silent = write_audio(tmp_path / "silent.wav", np.zeros((1, 2 * SR), np.float32), sr=SR)
    with pytest.raises(MosaicError, match="silent.wav: the target is silent"):
        make_mosaic(silent, videos, _configs(), MosaicConfig(), Run(tmp_path / "cache"), output=tmp_path / "x.mp4")
    with pytest.raises(MosaicError, match="no usable videos.*target.wav: has no video stream"):
        make_mosaic(target, [target], _configs(), MosaicConfig(), Run(tmp_path / "cache"), output=tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    assert main(["mosaic", "--target", str(target), "--videos", str(videos[1]), "-o", str(tmp_path / "cli.mp4"),
                 "--cache-dir", str(tmp_path / "cache"), "-q", "mosaic.k=4", "render.width=96", "render.height=64",
                 "render.fps=12"]) == 0
    out = capsys.readouterr().out
    assert "runs over 5.0 s" in out and (tmp_path / "cli.mp4").is_file()
    assert main(["mosaic", "--target", str(target), "--videos", str(videos[1]), "-o", str(tmp_path / "y.mp4"),
                 "mosaic.continuity=-1"]) == 2
    assert "mosaic.continuity" in capsys.readouterr().err


class _Tally:
    """A progress that counts each stage's statuses."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}

    def start(self, stage, total, unit):
        self.counts[stage] = {}

    def advance(self, stage, amount=1.0, status=None):
        if status:
            self.counts[stage][status] = self.counts[stage].get(status, 0) + 1

    def finish(self, stage):
        pass


def test_onset_units_rebuild_the_place_and_the_cache_serves_a_rerun(material, tmp_path):
    """Onset-to-onset slices: the target's onsets and the video's are detected separately
    (a few ms apart), so placement is looser than with frame units, yet mostly right."""
    from conftest import VIDEO_FIXTURE
    from videothat.match.config import MosaicConfig
    from videothat.pipeline.mosaic import plan_mosaic

    root, target, videos = material
    config = MosaicConfig(unit="onset")
    first = plan_mosaic(target, videos, config, Run(tmp_path / "cache"))
    t = np.arange(0, SECONDS, 0.01)
    right = 0
    for cut in first.timeline.segments:
        inside = (t >= cut.song_start) & (t < cut.song_end)
        if cut.source == VIDEO_FIXTURE:
            right += int(np.sum(np.abs(cut.source_start + (t[inside] - cut.song_start) - (START + t[inside])) <= 0.04))
    assert right / t.size >= 0.85
    assert first.run_seconds.sum() == pytest.approx(SECONDS, abs=0.02) and first.run_seconds.mean() >= 0.5
    tally = _Tally()
    again = plan_mosaic(target, videos, config, Run(tmp_path / "cache", progress=tally))
    assert tally.counts["sources"] == {"cached": 2} and tally.counts["target"] == {"cached": 1}
    assert again.timeline.to_dict() == first.timeline.to_dict()


@pytest.mark.parametrize("sound", ["source", "mix"])
def test_the_sound_track_is_the_rebuilt_sound_or_a_mix_and_the_report_shows_it(material, tmp_path, sound):
    import re

    from videothat.match.config import MosaicConfig

    root, target, videos = material
    made = make_mosaic(target, videos, _configs(), MosaicConfig(sound=sound), Run(tmp_path / "cache"),
                       output=tmp_path / "m.mp4", report=True)
    heard = decode_audio(made.video, SR)  # in the target's band (it was cut at SR)
    want = decode_audio(target, SR)
    n = min(heard.size, want.size) - SR // 10
    lag = int(np.argmax([np.dot(heard[k : k + n], want[:n]) for k in range(0, 2048, 2)])) * 2  # the AAC delay
    r = np.corrcoef(heard[lag : lag + n], want[:n])[0, 1]
    assert r > 0.9  # rebuilt from the very place the target was cut from
    page = made.html.read_text()
    assert page.count("data:image/png;base64,") == 2
    distance = float(re.search(r'<div class="v">([\d.]+) dB</div><div class="k">spectral distance', page)[1])
    assert distance < 2.0
    # a mosaic's times are the target's, not a song's; its distances are shown, not negated scores
    assert ">target start</th>" in page and ">target end</th>" in page and "song start" not in page
    shown = re.findall(r"<td>(-?[\d.]+)</td></tr>", page)
    assert len(shown) == len(made.timeline.segments) and all(not d.startswith("-") for d in shown)
    assert [float(d) for d in shown] == pytest.approx([-c.score for c in made.timeline.segments], abs=5e-4)
    legend = page.split("<table>")[0]
    assert all(f"</span>{c.source.name}</span>" in legend for c in made.timeline.segments)
    assert not list(tmp_path.glob(".*tmp*"))
