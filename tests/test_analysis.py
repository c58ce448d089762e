"""`analyze` end to end: real fixtures, generated media, every bad input, cache and resume."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

import videothat.analysis as pipeline
from conftest import AUDIO_FIXTURES, VIDEO_FIXTURE
from mediagen import clicks, cut_video, tone
from videothat.analysis import AnalysisConfig
from videothat.catalog import Catalog
from videothat.cli import main
from videothat.core.errors import ParameterError
from videothat.settings import analysis_config

CUTS = [1.2, 2.6, 4.0]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A folder of good and bad media, as a user's footage folder might be."""
    root = tmp_path_factory.mktemp("archive")
    (root / "good").mkdir()
    shutil.copy(VIDEO_FIXTURE, root / "good" / "handheld.mp4")
    shutil.copy(AUDIO_FIXTURES[0], root / "good" / "song.ogg")
    cut_video(root / "good" / "cuts.mp4", CUTS, 5.0, audio=clicks(5.0, 44100, [0.5, 1.5, 3.0, 4.5]))
    (root / "bad").mkdir()
    cut_video(root / "bad" / "mute.mp4", [], 1.0)
    cut_video(root / "bad" / "silent.mp4", [], 1.0, audio=tone(1.0, 44100, amp=0.0))
    (root / "bad" / "empty.mkv").write_bytes(b"")
    (root / "bad" / "junk.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "bad" / "notes.txt").write_text("not media, not picked up from a folder")
    return root


def _run(paths, tmp_path, config=None, **kw):
    catalog = Catalog(tmp_path / "cache", (config or AnalysisConfig()).cache_params())
    try:
        return pipeline.analyze(paths, config or AnalysisConfig(), catalog=catalog, **kw)
    finally:
        catalog.close()


def test_good_files_analysed_bad_ones_reported(archive, tmp_path):
    report = _run([archive, tmp_path / "missing.mp4"], tmp_path)
    names = sorted(a.source.name for a in report.analyses)
    assert names == ["cuts.mp4", "handheld.mp4", "song.ogg"]
    problems = {f.path.name: f.message for f in report.failures}
    assert set(problems) == {"mute.mp4", "silent.mp4", "empty.mkv", "junk.mp4", "missing.mp4"}
    assert "has no audio stream" in problems["mute.mp4"]
    assert "audio is silent" in problems["silent.mp4"]
    assert "is empty (0 bytes)" in problems["empty.mkv"]
    assert "cannot be read as media" in problems["junk.mp4"]
    assert "no such file" in problems["missing.mp4"]
    cuts = next(a for a in report.analyses if a.source.name == "cuts.mp4")
    assert [round(s.start, 2) for s in cuts.shots] == [0.0, *CUTS]
    for shot, curve in zip(cuts.shots, cuts.novelty, strict=True):
        assert curve.shape == (1 + round(shot.duration * 22050) // 512,)
    song = next(a for a in report.analyses if a.source.name == "song.ogg")
    assert not song.has_video and len(song.shots) == 1 and song.duration == pytest.approx(20.0)


def test_shot_curves_equal_novelty_of_the_shot_audio(archive, tmp_path):
    import torch

    from videothat.audio.novelty import onset_strength
    from videothat.media.audio import decode_audio

    report = _run([archive / "good" / "cuts.mp4"], tmp_path)
    (analysis,) = report.analyses
    audio = decode_audio(analysis.source, 22050)
    config = AnalysisConfig().novelty
    for shot, curve in zip(analysis.shots, analysis.novelty, strict=True):
        piece = torch.from_numpy(audio[round(shot.start * 22050) : round(shot.end * 22050)])
        want = onset_strength([piece], config=config).unbatch()[0].numpy()
        np.testing.assert_allclose(curve, want, atol=1e-5)


def test_second_run_decodes_nothing(archive, tmp_path, monkeypatch):
    first = _run([archive], tmp_path)
    monkeypatch.setattr(pipeline, "_decode_and_cut", lambda *a: pytest.fail("decoded again"))
    second = _run([archive], tmp_path)
    assert second.cached == 3 and len(second.analyses) == 3
    # bad files keep their verdict without being decoded again
    assert {f.path.name for f in second.failures} == {f.path.name for f in first.failures}
    verdicts = {f.path.name for f in second.failures if "cached verdict" in f.message}
    assert verdicts == {"empty.mkv", "junk.mp4"}  # the videos without sound are cached analyses (pictures)
    unused = {f.path.name: f.message for f in second.failures if f.path.name in ("mute.mp4", "silent.mp4")}
    assert set(unused) == {"mute.mp4", "silent.mp4"}
    assert all("match.visual_weight" in m for m in unused.values())
    for a, b in zip(first.analyses, second.analyses, strict=True):
        assert a.shots == b.shots
        for x, y in zip(a.novelty, b.novelty, strict=True):
            np.testing.assert_array_equal(x, y)


def test_killed_run_resumes(archive, tmp_path, monkeypatch):
    files = sorted((archive / "good").iterdir())
    config = AnalysisConfig(batch_seconds=0.1, workers=1)  # store after every file
    real = pipeline._decode_and_cut

    def die_on_third(path, digest, cfg):
        if path.name == files[2].name:
            raise KeyboardInterrupt
        return real(path, digest, cfg)

    monkeypatch.setattr(pipeline, "_decode_and_cut", die_on_third)
    with pytest.raises(KeyboardInterrupt):
        _run(files, tmp_path, config)
    monkeypatch.setattr(pipeline, "_decode_and_cut", real)
    resumed = _run(files, tmp_path, config)
    assert resumed.cached == 2 and len(resumed.analyses) == 3


def test_analysis_config_rejects_unknown_and_bad_values():
    with pytest.raises(ParameterError, match="audio.hopp_length"):
        analysis_config({"audio": {"hopp_length": 3}})
    with pytest.raises(ParameterError, match="hop_length=-5"):
        analysis_config({"audio": {"hop_length": -5}})
    with pytest.raises(ParameterError, match="device"):
        analysis_config({"device": "tpu"})


def test_cli_analyze_summary_and_exit_codes(archive, tmp_path, capsys, caplog):
    cache = str(tmp_path / "cache")
    assert main(["analyze", str(archive / "good"), "--cache-dir", cache, "-q"]) == 0
    out = capsys.readouterr().out
    assert "files analysed  3 (0 from cache)" in out and "failures        0" in out
    assert main(["analyze", str(archive), "--cache-dir", cache, "-q"]) == 1
    captured = capsys.readouterr()
    # by default (match.visual_weight > 0) the videos without sound are used by their pictures
    assert "5 (3 from cache)" in captured.out and "pictures only   2" in captured.out
    assert "pictures only: " in caplog.text and "mute.mp4 (has no audio stream)" in caplog.text
    assert "FAILED" in captured.err and "junk.mp4" in captured.err and "FAILED " + str(archive / "bad" / "mute.mp4") \
        not in captured.err
    assert main(["analyze", str(archive), "match.visual_weight=0", "--cache-dir", cache, "-q"]) == 1
    captured = capsys.readouterr()
    assert "3 (3 from cache)" in captured.out and "mute.mp4" in captured.err and "visual_weight" in captured.err


@pytest.mark.parametrize(
    "override, word",
    [("audio.hop_length=-512", "hop_length"), ("audio.n_fft=256", "hop_length"),
     ("audio.nope=1", "nope"), ("shots=histogram", "histogram"), ("analysis.workers=0", "workers")],
)
def test_cli_rejects_nonsense_overrides(archive, tmp_path, capsys, override, word):
    code = main(["analyze", str(archive / "good"), override, "--cache-dir", str(tmp_path), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and word in err and err.count("\n") == 1


def test_cli_folder_without_media(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("hi")
    assert main(["analyze", str(tmp_path / "docs"), "--cache-dir", str(tmp_path / "c"), "-q"]) == 1
    assert "folder holds no media files" in capsys.readouterr().err


def test_cached_analyze_imports_neither_torch_nor_hydra(tmp_path):
    """A rerun served from the cache starts fast: no torch, no decoder, no Hydra import."""
    import subprocess
    import sys

    cache = tmp_path / "cache"
    folder = tmp_path / "media"
    folder.mkdir()
    shutil.copy(AUDIO_FIXTURES[0], folder / "song.ogg")
    shutil.copy(VIDEO_FIXTURE, folder / "clip.mp4")
    probe = ("import sys; from videothat.cli import main; code = main(['analyze', sys.argv[1], '--cache-dir', "
             "sys.argv[2], '-q']); heavy = [m for m in ('torch', 'av', 'cv2', 'scenedetect', 'hydra') "
             "if m in sys.modules]; print('HEAVY', heavy); sys.exit(code)")
    runs = [subprocess.run([sys.executable, "-c", probe, str(folder), str(cache)], capture_output=True, text=True)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    assert "HEAVY []" not in runs[0].stdout  # the first run does decode
    assert "HEAVY []" in runs[1].stdout and "2 from cache" in runs[1].stdout


def test_registries_agree_with_the_names_configs_check():
    from train.config import OBJECTIVES as OBJECTIVE_NAMES
    from train.objectives import OBJECTIVES
    from videothat.index.config import ENCODER_NAMES, FAISS_ENCODER_NAMES
    from videothat.index.encoders import ENCODERS

    assert set(ENCODERS.names) == set(FAISS_ENCODER_NAMES) == set(ENCODER_NAMES) - {"landmarks"}
    assert set(OBJECTIVES.names) == set(OBJECTIVE_NAMES)


def test_with_pictures_silent_videos_are_kept_and_every_video_has_impacts(archive, tmp_path, monkeypatch):
    from videothat.vision.config import MotionConfig

    config = AnalysisConfig(motion=MotionConfig(height=32))
    first = _run([archive], tmp_path, config)
    names = {a.source.name: a for a in first.analyses}
    assert set(names) == {"handheld.mp4", "song.ogg", "cuts.mp4", "mute.mp4", "silent.mp4"}
    assert {p.name for p in first.pictures_only} == {"mute.mp4", "silent.mp4"}
    assert {f.path.name for f in first.failures} == {"empty.mkv", "junk.mp4"}
    assert "no audio stream" in names["mute.mp4"].audio_problem and "silent" in names["silent.mp4"].audio_problem
    for name, a in names.items():
        if not a.has_video:
            assert a.visual is None
            continue
        assert [len(v) for v in a.visual] == [len(n) for n in a.novelty], name
        if not a.has_audio:
            assert all(not n.any() for n in a.novelty)  # flat: no sound to score
    assert max(float(v.max()) for v in names["handheld.mp4"].visual) > 0  # a hand-held camera moves
    # the impacts are cached: a second run decodes no frames, and gives the same curves
    import videothat.vision.pictures as pictures

    monkeypatch.setattr(pictures, "analyse_pictures", lambda *a, **k: pytest.fail("pictures decoded again"))
    second = _run([archive], tmp_path, config)
    for a, b in zip(first.analyses, second.analyses, strict=True):
        for x, y in zip(a.visual or [], b.visual or [], strict=True):
            np.testing.assert_array_equal(x, y)


def test_impacts_follow_a_change_of_shots_without_decoding_again(archive, tmp_path, monkeypatch):
    """The whole-file curve is keyed by content and motion parameters only: other shots read it again."""
    from videothat.media.shots import ShotConfig
    from videothat.vision.config import MotionConfig
    from videothat.vision.pictures import with_impacts

    video = archive / "good" / "cuts.mp4"
    config = AnalysisConfig(motion=MotionConfig(height=32))
    (cut,) = _run([video], tmp_path, config).analyses
    import videothat.vision.pictures as pictures

    monkeypatch.setattr(pictures, "analyse_pictures", lambda *a, **k: pytest.fail("pictures decoded again"))
    (whole,) = _run([video], tmp_path, replace(config, shots=ShotConfig(detector="whole"))).analyses
    assert len(cut.shots) == 4 and len(whole.shots) == 1
    catalog = Catalog(tmp_path / "cache", config.cache_params())
    arrays = catalog.get_pictures(cut.content_hash, config.motion.as_dict())
    catalog.close()
    curve, fps = arrays["impacts"], float(arrays["fps"])
    np.testing.assert_array_equal(with_impacts(cut, curve, fps).visual[1], cut.visual[1])
    assert len(curve) == round(5.0 * fps)
    assert whole.looks.brightness.shape == (1,) and cut.looks.signature.shape == (4, 64)
