"""Music for a video: videos cut from a known song, with and without the song as their
sound, must get that song back at the place they were cut from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videothat.cli import main
from videothat.core.errors import NoVideoError, ParameterError
from videothat.media.audio import decode_audio
from videothat.media.synthetic import cut_video
from videothat.pipeline.run import Configs, Run

SR = 22050
OFFSET, LENGTH = 2.0, 10.0


def _onsets(sound: np.ndarray) -> np.ndarray:
    import torch

    from videothat.audio.config import NoveltyConfig
    from videothat.audio.novelty import onset_strength
    from videothat.audio.onsets import onset_frames

    config = NoveltyConfig(chroma=False)
    curve = onset_strength([torch.from_numpy(sound)], config=config).curves[0].numpy()
    return onset_frames(curve, frame_rate=config.frame_rate) / config.frame_rate


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A landmark index of the four fixture songs, and a video cut on the electro song's
    onsets from OFFSET s (irregularly: 0.3 .. 1 s apart), once silent and once with the song."""
    from conftest import AUDIO_FIXTURES

    root = tmp_path_factory.mktemp("music")
    assert main(["index", "build", *map(str, AUDIO_FIXTURES), "--songs", "--index", str(root / "lib"),
                 "--cache-dir", str(root / "cache"), "-q"]) == 0
    song = next(p for p in AUDIO_FIXTURES if "electro" in p.name)
    sound = decode_audio(song, SR)
    onsets = _onsets(sound)
    rng = np.random.default_rng(1)
    cuts: list[float] = []
    for t in onsets[(onsets > OFFSET + 0.3) & (onsets < OFFSET + LENGTH - 0.3)] - OFFSET:
        if not cuts or t - cuts[-1] >= rng.uniform(0.3, 1.0):
            cuts.append(round(t * 25) / 25)
    excerpt = sound[round(OFFSET * SR) : round((OFFSET + LENGTH) * SR)][None]
    silent = cut_video(root / "silent.mp4", cuts, LENGTH)
    with_song = cut_video(root / "with_song.mp4", cuts, LENGTH, audio=excerpt, sr=SR)
    return root, song, silent, with_song


def _choose(root, video, **kw):
    from videothat.match.config import MusicConfig
    from videothat.pipeline.music import choose_music
    from videothat.vision.config import EventConfig

    return choose_music(video, root / "lib", Configs(), MusicConfig(**kw), EventConfig(), Run(root / "cache"))[0]


@pytest.mark.parametrize("which", ["silent", "with_song"])
def test_a_video_cut_from_a_song_gets_that_song_from_that_place(library, which):
    root, song, silent, with_song = library
    choices = _choose(root, silent if which == "silent" else with_song)
    assert choices[0].song == str(song) and abs(choices[0].offset - OFFSET) <= 0.05
    assert (choices[0].sound is None) == (which == "silent")
    assert len({c.song for c in choices}) == len(choices) == 4  # every song of the index, ranked


def test_the_job_writes_the_song_under_the_pictures_faded(library, tmp_path, capsys):
    root, song, silent, _ = library
    out = tmp_path / "out.mp4"
    assert main(["music", "--video", str(silent), "--index", str(root / "lib"), "-o", str(out), "--cache-dir",
                 str(root / "cache"), "-q", "-k", "2", "music.fade_in=0.5", "music.fade_out=1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(" 1.") and song.name in printed.splitlines()[0] and "from 2.0" in printed
    import json

    listing = json.loads((tmp_path / "out.music.json").read_text())
    assert Path(listing["video"]).resolve() == silent.resolve() and "song" not in listing  # the video: "video"
    assert all(c["song"] for c in listing["choices"])  # each choice's song is a song
    offset = listing["choices"][0]["offset"]
    heard, want = decode_audio(out, SR), decode_audio(song, SR)[round(offset * SR) : round((offset + LENGTH) * SR)]
    assert abs(heard.size / SR - LENGTH) < 0.1
    assert np.abs(heard[: SR // 100]).max() < 0.05 * np.abs(want).max()  # faded in
    a, b = 2 * SR, 8 * SR
    r = max(np.corrcoef(heard[a + k : b + k], want[a:b])[0, 1] for k in range(-300, 301))  # the AAC delay, a few ms
    assert r > 0.9
    assert (tmp_path / "out.music.json").is_file() and not list(tmp_path.glob(".*tmp*"))


def test_wrong_inputs_are_named(library, tmp_path):
    from videothat.match.config import MusicConfig
    from videothat.pipeline.music import choose_music
    from videothat.vision.config import EventConfig

    root, song, silent, with_song = library
    with pytest.raises(NoVideoError, match="has no video stream"):
        _choose(root, song)
    assert main(["index", "build", str(with_song), "--index", str(tmp_path / "shots"), "--cache-dir",
                 str(root / "cache"), "-q"]) == 0
    with pytest.raises(ParameterError, match="index of shots; music for a video needs a music index"):
        choose_music(silent, tmp_path / "shots", Configs(), MusicConfig(), EventConfig(), Run(root / "cache"))
    with pytest.raises(ParameterError, match="top=0"):
        choose_music(silent, root / "lib", Configs(), MusicConfig(), EventConfig(), Run(root / "cache"), top=0)


def test_the_report_shows_the_chosen_song_and_every_choice(library, tmp_path, capsys):
    """``--report``: a self-contained page that names the chosen song and every listed choice,
    whose table scores are OUT.music.json's, with the song's sync with the video's events."""
    import base64
    import html
    import json
    import re

    root, song, _, with_song = library
    out = tmp_path / "out.mp4"
    assert main(["music", "--video", str(with_song), "--index", str(root / "lib"), "-o", str(out), "--cache-dir",
                 str(root / "cache"), "-q", "-k", "3", "--report"]) == 0
    page_path = tmp_path / "out.report.html"
    assert f"report: {page_path}" in capsys.readouterr().out.splitlines()
    page = page_path.read_text()
    assert "http" not in page.split("<body>")[1]  # nothing fetched from anywhere
    (png,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    choices = json.loads((tmp_path / "out.music.json").read_text())["choices"]
    assert choices[0]["song"] == str(song) and f"<h1>{html.escape(song.name)}</h1>" in page
    rows = re.findall(r"<tr><td>(\d+)</td><td><span title=\"([^\"]*)\">([^<]*)</span></td><td>([^<]*)</td>"
                      r"<td>([^<]*)</td><td>([^<]*)</td></tr>", page)
    assert [(int(r[0]), html.unescape(r[1]), html.unescape(r[2])) for r in rows] == [
        (i, c["song"], Path(c["song"]).name) for i, c in enumerate(choices, 1)]
    assert [float(r[3]) for r in rows] == [round(c["score"], 3) for c in choices]  # the listing's scores
    assert [float(r[4]) for r in rows] == [round(c["offset"], 2) for c in choices]
    assert rows[0][5] == "100 %"
    for card in ("chosen song", "score", "songs ranked", "onsets on events"):
        assert f'<div class="k">{card}</div>' in page
    f = float(re.search(r'<div class="v">([\d.]+)</div><div class="k">onsets on events', page)[1])
    matched, events = map(int, re.search(r"(\d+) of its (\d+) events \(cuts and impacts\) have a song onset", page)
                          .groups())
    assert matched >= 0.9 * events and 0 < f <= 1  # the video is cut on this song's onsets
    assert "<b>of best</b>: the score as a percentage" in page and "-1 to 1" in page


@pytest.mark.parametrize("which", ["video", "song"])
def test_the_report_path_must_not_be_an_input(library, tmp_path, capsys, which):
    """The output check covers OUT.report.html with --report: the video, or a song of the index,
    there is refused before any work, and nothing is written."""
    root, song, silent, _ = library
    target = silent if which == "video" else song
    (tmp_path / "out.report.html").symlink_to(target)
    before = target.read_bytes()
    assert main(["music", "--video", str(silent), "--index", str(root / "lib"), "-o", str(tmp_path / "out.mp4"),
                 "--cache-dir", str(root / "cache"), "-q", "--report"]) == 2
    assert "out.report.html: it is the input" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.report.html"] and target.read_bytes() == before
