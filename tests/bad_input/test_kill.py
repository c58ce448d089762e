"""Killed and concurrent runs: SIGKILL during ``analyze``, ``make`` (while rendering) and
``index build``/``add``, then the same command again, gives what an uninterrupted run gives
and leaves no temporary file; two processes on one cache share it, two writers of one index
are refused with a message naming the first, and readers keep reading while it is written."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from badkit import SONG_SECONDS, SR, broken_cache_entries, make_media, temp_files
from mediagen import cut_video
from videothat.media.audio import decode_audio

pytestmark = pytest.mark.slow

N_VIDEOS = 16  # two chunks of an index build: a kill lands between their saves


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The bad-input media and a folder of videos whose sound is pieces of the song."""
    root = make_media(tmp_path_factory.mktemp("kill") / "media")
    song = decode_audio(root / "song.wav", SR)
    (root / "many").mkdir()
    for i in range(N_VIDEOS):
        piece = np.roll(song, i * SR // 2)[None]
        cut_video(root / "many" / f"v{i}.mp4", [1.5, 3.5], SONG_SECONDS, audio=piece, sr=SR, size=(48, 64),
                  first_seed=10 * i)
    return root


def videothat(*args: str | Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "videothat.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, code: int = 0) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == code, err
    assert "Traceback" not in err
    return out + err


def kill_when(process: subprocess.Popen, ready, timeout: float = 300) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds (it must still be running then)."""
    t0 = time.monotonic()
    while not ready():
        assert process.poll() is None, "the command ended before it could be killed"
        assert time.monotonic() - t0 < timeout
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _entries(cache: Path) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for entry in sorted(cache.glob("v*/*/*.npz")):
        with np.load(entry, allow_pickle=False) as z:
            out[entry.name] = {k: z[k] for k in z.files}
    return out


def _same_entries(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys()
        for key in a[name]:
            x, y = a[name][key], b[name][key]
            assert np.array_equal(x, y) if x.dtype.kind in "USO" else np.allclose(x, y, rtol=1e-5, atol=1e-6), \
                (name, key)


def test_a_killed_analyze_resumes_to_the_same_cache(media, tmp_path):
    cache, whole = tmp_path / "cache", tmp_path / "whole"
    args = ("analyze", media / "many", "--cache-dir", cache, "-q")
    for entries in (1, 5):  # killed after the first entry, then again further on
        kill_when(videothat(*args), lambda n=entries: len(list(cache.glob("v*/*/*.npz"))) >= n)
    assert f"files analysed  {N_VIDEOS}" in finish(videothat(*args))
    finish(videothat("analyze", media / "many", "--cache-dir", whole, "-q"))
    _same_entries(_entries(cache), _entries(whole))
    assert temp_files(cache) == [] and broken_cache_entries(cache) == []


def test_a_make_killed_while_rendering_renders_again(media, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    out.mkdir()
    args = ["make", "--song", media / "song.wav", "--videos", media / "many", "--cache-dir", cache, "-q",
            "render.width=640", "render.height=360", "render.fps=60", "render.preset=medium"]
    kill_when(videothat(*args, "-o", out / "mv.mp4"), lambda: any(out.glob(".mv.*.mp4.tmp")))
    assert list(out.glob(".mv.*.mp4.tmp")) and not (out / "mv.mp4").exists()  # the kill left a partial render
    finish(videothat(*args, "-o", out / "mv.mp4"))
    finish(videothat(*args, "-o", tmp_path / "whole.mp4"))
    assert temp_files(out) == [] and temp_files(cache) == []
    timelines = [json.loads(p.read_text()) for p in (out / "mv.timeline.json", tmp_path / "whole.timeline.json")]
    assert timelines[0]["segments"] == timelines[1]["segments"]
    assert (out / "mv.mp4").read_bytes() == (tmp_path / "whole.mp4").read_bytes()


def _index_contents(root: Path) -> list[tuple]:
    """(file, shot, window start, fingerprint) of every vector of an index, in a stable order."""
    import faiss

    current = (root / "CURRENT").read_text().strip()
    db = sqlite3.connect(root / current / "meta.sqlite")
    rows = db.execute("SELECT v.id, f.path, v.shot, v.start FROM vectors v JOIN files f ON v.file = f.id").fetchall()
    db.close()
    index = faiss.read_index(str(root / current / "index.faiss"))
    return sorted((path, shot, start, tuple(np.round(index.reconstruct(vid), 5))) for vid, path, shot, start in rows)


@pytest.mark.parametrize("action", ["build", "add"])
def test_a_killed_index_build_or_add_resumes_to_the_same_index(media, tmp_path, action):
    idx, whole, cache = tmp_path / "shots.idx", tmp_path / "whole.idx", tmp_path / "cache"
    common = ("--cache-dir", cache, "-q", "index.save_every=1e-6")  # a save after every file
    for root in (idx, whole):
        if action == "add":
            finish(videothat("index", "build", media / "good.mp4", "--index", root, *common))
    files = [media / "many" / f"v{i}.mp4" for i in range(N_VIDEOS)]
    current = idx / "CURRENT"
    before = current.read_text() if action == "add" else None
    kill_when(videothat("index", action, *files, "--index", idx, *common),
              lambda: current.is_file() and current.read_text() not in ("", before))
    assert len({row[0] for row in _index_contents(idx)}) < N_VIDEOS + (action == "add")  # killed part way
    finish(videothat("index", action, *files, "--index", idx, *common))
    finish(videothat("index", action, *files, "--index", whole, *common))
    assert _index_contents(idx) == _index_contents(whole)
    assert temp_files(idx) == [] and [p.name for p in idx.iterdir() if p.name.startswith("gen-")] == \
        [(idx / "CURRENT").read_text().strip()]


def test_two_analyses_share_one_cache(media, tmp_path):
    cache, alone = tmp_path / "cache", tmp_path / "alone"
    files = [media / "many" / f"v{i}.mp4" for i in range(6)]
    both = [videothat("analyze", *files, "--cache-dir", cache, "-q") for _ in range(2)]
    for process in both:
        finish(process)
    finish(videothat("analyze", *files, "--cache-dir", alone, "-q"))
    _same_entries(_entries(cache), _entries(alone))
    assert temp_files(cache) == [] and broken_cache_entries(cache) == []


def test_a_second_index_writer_is_refused_and_readers_keep_reading(media, tmp_path):
    idx, cache = tmp_path / "shots.idx", tmp_path / "cache"
    finish(videothat("index", "build", media / "good.mp4", "--index", idx, "--cache-dir", cache, "-q"))
    writer = videothat("index", "add", media / "many", "--index", idx, "--cache-dir", cache, "-q",
                       "index.save_every=1e-6")
    lock = idx / ".lock"
    t0 = time.monotonic()
    while f"process {writer.pid} " not in (lock.read_text() if lock.is_file() else ""):
        assert writer.poll() is None and time.monotonic() - t0 < 300
        time.sleep(0.02)
    second = finish(videothat("index", "add", media / "good2.mp4", "--index", idx, "--cache-dir", cache, "-q"), 2)
    assert f"index {idx} is being written by process {writer.pid}" in second and second.count("\n") == 1
    while writer.poll() is None:  # readers take no lock: stats and queries work throughout
        assert "files" in finish(videothat("index", "stats", "--index", idx))
        finish(videothat("query", "--song", media / "song.wav", "--index", idx, "--cache-dir", cache, "-k", "1"))
    finish(writer)
    assert f"files       {1 + N_VIDEOS}" in finish(videothat("index", "stats", "--index", idx))
    assert os.path.getsize(lock) > 0 and temp_files(idx) == []
