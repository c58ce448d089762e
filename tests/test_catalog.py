"""The analysis cache: content keys, parameter keys, atomic writes, safe loading."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from videothat.catalog import Catalog
from videothat.core.atomic import atomic_write
from videothat.core.hashing import content_hash
from videothat.core.records import FileAnalysis, Shot


def _analysis(path, digest) -> FileAnalysis:
    shots = [Shot(path, 0.0, 1.5, 25.0), Shot(path, 1.5, 4.0, 25.0)]
    curves = [np.arange(65, dtype=np.float32), np.linspace(0, 1, 108, dtype=np.float32)]
    return FileAnalysis(path, digest, 4.0, True, shots, curves, 22050 / 512)


@pytest.fixture
def media_file(tmp_path):
    path = tmp_path / "a.mp4"
    path.write_bytes(b"not really a video, but content is content" * 100)
    return path


def test_round_trip_and_content_keying(tmp_path, media_file):
    cat = Catalog(tmp_path / "cache", {"x": 1})
    digest = cat.hash_of(media_file)
    assert digest == content_hash(media_file)
    assert cat.get(media_file, digest) is None
    cat.put(_analysis(media_file, digest))
    got = cat.get(media_file, digest)
    assert [(s.start, s.end, s.fps) for s in got.shots] == [(0.0, 1.5, 25.0), (1.5, 4.0, 25.0)]
    for a, b in zip(got.novelty, _analysis(media_file, digest).novelty, strict=True):
        np.testing.assert_array_equal(a, b)
    # the same bytes under another name are a hit, reported under the new name
    copy = tmp_path / "renamed.mp4"
    shutil.copy(media_file, copy)
    hit = cat.get(copy, cat.hash_of(copy))
    assert hit is not None and hit.source == copy and hit.shots[0].source == copy


def test_parameters_are_part_of_the_key(tmp_path, media_file):
    a = Catalog(tmp_path / "cache", {"hop": 512})
    digest = a.hash_of(media_file)
    a.put(_analysis(media_file, digest))
    assert Catalog(tmp_path / "cache", {"hop": 256}).get(media_file, digest) is None
    assert Catalog(tmp_path / "cache", {"hop": 512}).get(media_file, digest) is not None


def test_changed_file_gets_a_new_hash(tmp_path, media_file):
    cat = Catalog(tmp_path / "cache", {})
    before = cat.hash_of(media_file)
    media_file.write_bytes(b"different bytes")
    assert cat.hash_of(media_file) != before


def test_crash_mid_write_leaves_nothing_behind(tmp_path, media_file, monkeypatch):
    cat = Catalog(tmp_path / "cache", {})
    digest = cat.hash_of(media_file)

    def boom(f, **arrays):
        f.write(b"half an entry")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        cat.put(_analysis(media_file, digest))
    entry = cat.entry_path(digest)
    assert not entry.exists() and not list(entry.parent.glob("*.tmp"))
    assert cat.get(media_file, digest) is None


def test_unreadable_entry_is_a_miss_not_a_crash(tmp_path, media_file, caplog):
    cat = Catalog(tmp_path / "cache", {})
    digest = cat.hash_of(media_file)
    cat.entry_path(digest).parent.mkdir(parents=True)
    cat.entry_path(digest).write_bytes(b"garbage")
    assert cat.get(media_file, digest) is None
    assert "unreadable cache entry" in caplog.text


def test_entries_load_without_pickle(tmp_path, media_file):
    cat = Catalog(tmp_path / "cache", {})
    digest = cat.hash_of(media_file)
    entry = cat.put(_analysis(media_file, digest))
    with np.load(entry, allow_pickle=False) as z:
        assert set(z.files) == {"meta", "shot_times", "shot_fps", "novelty", "novelty_offsets"}


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new"


def test_chroma_round_trips_and_old_entries_load_without_it(tmp_path, media_file):
    from dataclasses import replace

    cat = Catalog(tmp_path / "cache", {"x": 2})
    digest = cat.hash_of(media_file)
    plain = _analysis(media_file, digest)
    chroma = [np.random.default_rng(i).random((len(c), 12)).astype(np.float32) for i, c in enumerate(plain.novelty)]
    cat.put(replace(plain, chroma=chroma))
    got = cat.get(media_file, digest)
    for a, b in zip(got.chroma, chroma, strict=True):
        np.testing.assert_array_equal(a, b)
    cat.put(plain)  # an entry written without chroma (as before chroma existed)
    assert cat.get(media_file, digest).chroma is None
