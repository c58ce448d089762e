"""Damaged state on disk: a cache entry cut short or overwritten is recomputed; a damaged
index is an error naming the file and the command that rebuilds it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from badkit import broken_cache_entries, make_media, run, temp_files
from videothat.cli import main


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("damage") / "media")


def _arrays(entry):
    with np.load(entry, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


DAMAGE = {
    "cut-in-half": lambda b: b[: len(b) // 2],
    "cut-to-ten-bytes": lambda b: b[:10],
    "zeroed": lambda b: bytes(len(b)),
    "emptied": lambda b: b"",
    "tail-overwritten": lambda b: b[:-64] + b"\xff" * 64,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_cache_entry_is_recomputed(media, tmp_path, capsys, damage):
    cache = tmp_path / "cache"
    argv = ["analyze", str(media / "good.mp4"), "--cache-dir", str(cache), "-q"]
    assert run(argv, capsys).code == 0
    entries = sorted(cache.glob("v*/*/*.npz"))
    assert len(entries) == 2  # the sound's analysis and the pictures'
    whole = {e: _arrays(e) for e in entries}
    for entry in entries:
        entry.write_bytes(DAMAGE[damage](entry.read_bytes()))
    outcome = run(argv, capsys)
    assert outcome.code == 0 and "files analysed  1 (0 from cache)" in outcome.out
    for entry, arrays in whole.items():  # rewritten whole, with what it held before
        again = _arrays(entry)
        assert again.keys() == arrays.keys() and all(np.array_equal(again[k], arrays[k]) for k in arrays)
    assert broken_cache_entries(cache) == [] and temp_files(cache) == []
    assert "(1 from cache)" in run(argv, capsys).out


def test_damaged_verdicts_and_memos_are_started_afresh(media, tmp_path, capsys):
    cache = tmp_path / "cache"
    argv = ["analyze", str(media / "text.mp4"), "audio.n_fft=1024", "--cache-dir", str(cache), "-q"]
    assert run(argv, capsys).code == 1
    (verdict,) = cache.glob("v*/*/*.failed.json")
    verdict.write_text('{"format_vers')
    for memo in [cache / "hashes.sqlite", *cache.glob("configs/*.json")]:
        memo.write_bytes(b"\0garbage" * 100)
    outcome = run(argv, capsys)
    assert outcome.code == 1 and "text.mp4: cannot be read as media" in outcome.err
    assert broken_cache_entries(cache) == [] and temp_files(cache) == []
    assert '"problem"' in verdict.read_text()


@pytest.fixture(scope="module")
def indexes(media, tmp_path_factory):
    root = tmp_path_factory.mktemp("indexes")
    cache = root / "cache"
    for argv in (["index", "build", str(media / "good.mp4"), "--index", str(root / "shots.idx")],
                 ["index", "build", str(media / "song.wav"), "--songs", "--index", str(root / "music.idx")]):
        assert main([*argv, "--cache-dir", str(cache), "-q"]) == 0
    return root


# (index, file damaged, the damage); every command that opens it must name the file and the rebuild
INDEX_DAMAGE = {
    "faiss-cut": ("shots.idx", "gen-000001/index.faiss", DAMAGE["cut-in-half"]),
    "faiss-zeroed": ("shots.idx", "gen-000001/index.faiss", DAMAGE["zeroed"]),
    "sqlite-overwritten": ("shots.idx", "gen-000001/meta.sqlite", DAMAGE["zeroed"]),
    "current-garbage": ("shots.idx", "CURRENT", lambda b: b"\xff\xfe\x00"),
    "landmarks-cut": ("music.idx", "landmarks.npz", DAMAGE["cut-in-half"]),
    "landmarks-emptied": ("music.idx", "landmarks.npz", DAMAGE["emptied"]),
}


@pytest.mark.parametrize("damage", list(INDEX_DAMAGE))
def test_a_damaged_index_names_the_file_and_the_rebuild(media, indexes, tmp_path, capsys, damage):
    name, file, how = INDEX_DAMAGE[damage]
    index = tmp_path / name
    shutil.copytree(indexes / name, index)
    (index / file).write_bytes(how((index / file).read_bytes()))
    cache = ["--cache-dir", str(tmp_path / "cache"), "-q"]
    music = name == "music.idx"
    commands = [["index", "stats", "--index", str(index)],
                ["index", "add", str(media / "good2.mp4"), *(["--songs"] if music else []), "--index", str(index),
                 *cache],
                ["index", "remove", str(media / "good.mp4"), "--index", str(index)],
                ["query", "--video" if music else "--song", str(media / "song.wav"), "--index", str(index), *cache]]
    if not music:
        commands.append(["make", "--song", str(media / "song.wav"), "--index", str(index), "-o",
                         str(tmp_path / "mv.mp4"), *cache])
    for argv in commands:
        outcome = run(argv, capsys)
        assert outcome.code == 2, (argv, outcome)
        assert file.split("/")[-1] in outcome.err and "videothat index build" in outcome.err \
            and f"--index {index}" in outcome.err, (argv, outcome.err)
        assert outcome.err.count("\n") == 1
    assert not (tmp_path / "mv.mp4").exists() and temp_files(tmp_path) == []
