"""Music identification from the command line: `index build --songs` (landmarks by default),
`query --video EXCERPT` (text, --json, -o), add, remove, stats, damaged indexes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from videothat.cli import main
from videothat.index.landmarks import LandmarkIndex
from videothat.media.audio import decode_audio
from videothat.media.synthetic import write_audio
from videothat.pipeline.landmark_archive import CONTENTS_FILE, LANDMARKS_FILE

SR = 22050


@pytest.fixture()
def library(tmp_path):
    from conftest import AUDIO_FIXTURES

    folder = tmp_path / "library"
    folder.mkdir()
    for path in AUDIO_FIXTURES:
        (folder / path.name).symlink_to(path)
    return folder


def _excerpt(tmp_path, source, start, seconds=2.0, noise=0.3):
    x = decode_audio(source, SR)[round(start * SR) : round((start + seconds) * SR)]
    x = x + noise * x.std() * np.random.default_rng(0).standard_normal(x.size).astype(np.float32)
    return write_audio(tmp_path / f"q{start:g}.wav", x[None], sr=SR)


def test_build_query_add_remove(library, tmp_path, capsys):
    idx, cache = tmp_path / "music.idx", tmp_path / "cache"
    names = sorted(p.name for p in library.iterdir())
    first = names[:-1]
    assert main(["index", "build", *(str(library / n) for n in first), "--songs", "--index", str(idx),
                 "--cache-dir", str(cache), "-q"]) == 0
    assert (idx / LANDMARKS_FILE).is_file() and not (idx / "CURRENT").exists()
    assert main(["index", "add", str(library), "--index", str(idx), "--cache-dir", str(cache), "-q"]) == 0
    out = capsys.readouterr().out
    assert "indexed 1 file(s)" in out and f"{len(first)} already there" in out
    whole = LandmarkIndex.load(idx / LANDMARKS_FILE)
    assert sorted(n.rsplit("/", 1)[-1] for n in whole.names) == names

    song = library / "rock_war_of_freedom_30s.ogg"
    query = _excerpt(tmp_path, song, 11.3)
    assert main(["query", "--video", str(query), "--index", str(idx), "-k", "2", "--json",
                 "-o", str(tmp_path / "found.json")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == json.loads((tmp_path / "found.json").read_text())
    assert rows[0]["song"].endswith("rock_war_of_freedom_30s.ogg") and abs(rows[0]["offset"] - 11.3) < 0.05
    assert rows[0]["votes"] > 10 * rows[1]["votes"]

    assert main(["index", "remove", str(song), "--index", str(idx)]) == 0
    assert main(["query", "--video", str(query), "--index", str(idx), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert all(not r["song"].endswith("rock_war_of_freedom_30s.ogg") for r in rows)
    assert main(["index", "stats", "--index", str(idx)]) == 0
    assert "landmarks" in capsys.readouterr().out


def test_added_files_give_the_index_a_fresh_build_gives(library, tmp_path):
    cache = tmp_path / "cache"
    files = sorted(str(p) for p in library.iterdir())
    assert main(["index", "build", *files, "--songs", "--index", str(tmp_path / "all"), "--cache-dir", str(cache),
                 "-q"]) == 0
    assert main(["index", "build", files[0], "--songs", "--index", str(tmp_path / "grown"), "--cache-dir",
                 str(cache), "-q"]) == 0
    assert main(["index", "add", *files[1:], "--index", str(tmp_path / "grown"), "--cache-dir", str(cache),
                 "-q"]) == 0
    a, b = (LandmarkIndex.load(tmp_path / d / LANDMARKS_FILE) for d in ("all", "grown"))
    assert a.names == b.names
    for x, y in ((a.hashes, b.hashes), (a.items, b.items), (a.frames, b.frames)):
        np.testing.assert_array_equal(x, y)


def test_bad_uses_and_damage_are_named(library, tmp_path, capsys):
    idx, cache = tmp_path / "music.idx", tmp_path / "cache"
    silent = write_audio(tmp_path / "silent.wav", np.zeros((1, 2 * SR), np.float32), sr=SR)
    assert main(["index", "build", str(library), str(silent), "--songs", "--index", str(idx), "--cache-dir",
                 str(cache), "-q"]) == 1  # the silent file fails, the rest is indexed
    err = capsys.readouterr().err
    assert "silent.wav" in err and "no landmarks" in err
    query = _excerpt(tmp_path, library / "electro_pushover_20s.ogg", 4.0)
    assert main(["query", "--song", str(query), "--index", str(idx)]) == 2
    assert "identifies music" in capsys.readouterr().err
    assert main(["index", "build", str(library), "--index", str(tmp_path / "shots"), "index.encoder=landmarks",
                 "--cache-dir", str(cache), "-q"]) == 2
    assert "--songs" in capsys.readouterr().err
    (idx / LANDMARKS_FILE).write_bytes(b"not an index")
    assert main(["query", "--video", str(query), "--index", str(idx)]) != 0
    err = capsys.readouterr().err
    assert LANDMARKS_FILE in err and "rebuild" in err and "Traceback" not in err
    assert not (idx / CONTENTS_FILE).exists()  # the content hashes live in the index file


def test_a_killed_build_keeps_its_saves_and_resumes(library, tmp_path, monkeypatch):
    import videothat.pipeline.landmark_archive as archive
    from videothat.index.config import IndexConfig
    from videothat.pipeline.landmark_archive import ingest_landmarks

    files = sorted(library.iterdir())
    idx, cache = tmp_path / "music.idx", tmp_path / "cache"
    real, calls = archive.decode_audio, []

    def dies_on_the_third(path, sr):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a kill would, mid-build
        return real(path, sr)

    monkeypatch.setattr(archive, "decode_audio", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        ingest_landmarks(files, idx, IndexConfig(save_every=1e-6), cache_dir=cache, create=True)
    saved = LandmarkIndex.load(idx / LANDMARKS_FILE)
    assert len(saved.names) == 2 and not list(idx.glob("*.tmp*"))
    monkeypatch.setattr(archive, "decode_audio", real)
    report = ingest_landmarks(files, idx, IndexConfig(), cache_dir=cache, create=True)
    assert len(report.already) == 2 and len(report.added) == len(files) - 2
    whole = ingest_landmarks(files, tmp_path / "fresh", IndexConfig(), cache_dir=cache, create=True)
    assert whole.stats["landmarks"] == report.stats["landmarks"]
