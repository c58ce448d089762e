"""Fingerprint store: persistence, crash safety, removal, recall of compressed indexes."""

from __future__ import annotations

import numpy as np
import pytest

import videothat.index.store as store_module
from videothat.core.errors import CacheError, ParameterError
from videothat.index.fingerprint import rhythm_fingerprints, window_frames
from videothat.index.store import FingerprintStore, VectorInfo

FR = 22050 / 512


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _infos(n: int) -> list[VectorInfo]:
    return [VectorInfo("", 0, float(i), "rhythm") for i in range(n)]


def test_round_trip_search_remove(tmp_path):
    rng = np.random.default_rng(0)
    a, b = _unit(rng, 20, 16), _unit(rng, 30, 16)
    store = FingerprintStore.create(tmp_path / "idx", dim=16, encoder={"name": "test"}, mode="songs")
    assert store.add(a, _infos(20), path="a.mp4", content_hash="ha") == 20
    assert store.add(b, _infos(30), path="b.mp4", content_hash="hb") == 30
    assert store.add(b, _infos(30), path="b-copy.mp4", content_hash="hb") == 0  # same content: skipped
    store.save()
    again = FingerprintStore.open(tmp_path / "idx")
    assert again.stats()["vectors"] == 50 and again.stats()["files"] == 2
    assert again.encoder == {"name": "test"} and again.mode == "songs" and again.files() == ["a.mp4", "b.mp4"]
    (hits,) = again.search(b[7:8], k=3)
    assert hits[0].info.path == "b.mp4" and hits[0].info.start == 7.0 and hits[0].score == pytest.approx(1.0)
    assert again.remove("b.mp4") == 30
    again.save()
    reopened = FingerprintStore.open(tmp_path / "idx")
    assert all(h.info.path == "a.mp4" for h in reopened.search(b[7:8], k=5)[0])
    assert reopened.generation == 2 and len(list((tmp_path / "idx").glob("gen-*"))) == 1


def test_first_windows_are_each_shots_earliest_window(tmp_path):
    rng = np.random.default_rng(2)
    store = FingerprintStore.create(tmp_path / "idx", dim=8)
    starts = [(0, 0.12), (0, 0.37), (1, 4.62), (1, 4.87), (1, 5.12)]  # (shot, window start in s), rhythm-like
    store.add(_unit(rng, 5, 8), [VectorInfo("a.mp4", shot, t, "rhythm") for shot, t in starts[::-1]], path="a.mp4",
              content_hash="ha")
    store.add(_unit(rng, 1, 8), [VectorInfo("b.mp4", 0, 2.0, "rhythm")], path="b.mp4", content_hash="hb")
    assert store.first_windows(["a.mp4"]) == {("a.mp4", 0): 0.12, ("a.mp4", 1): 4.62}
    assert store.first_windows(["b.mp4", "gone.mp4"]) == {("b.mp4", 0): 2.0}


def test_crash_while_publishing_keeps_the_previous_index(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    store = FingerprintStore.create(tmp_path / "idx", dim=8)
    store.add(_unit(rng, 5, 8), _infos(5), path="a.mp4", content_hash="ha")
    store.save()
    store.add(_unit(rng, 5, 8), _infos(5), path="b.mp4", content_hash="hb")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module, "atomic_write", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save()
    survivor = FingerprintStore.open(tmp_path / "idx")
    assert survivor.stats()["vectors"] == 5 and survivor.stats()["files"] == 1


def test_unusable_folders_and_parameters(tmp_path):
    with pytest.raises(CacheError, match="not a VideoThat index"):
        FingerprintStore.open(tmp_path)
    with pytest.raises(ParameterError, match="factory"):
        FingerprintStore.create(tmp_path, dim=8, factory="NoSuchIndex")
    store = FingerprintStore.create(tmp_path, dim=8)
    with pytest.raises(ParameterError, match="dimension 8"):
        store.add(np.zeros((2, 4), np.float32), _infos(2), path="x", content_hash="x")
    tiny = FingerprintStore.create(tmp_path / "tiny", dim=8, factory="IVF64,Flat")
    tiny.add(_unit(np.random.default_rng(5), 10, 8), _infos(10), path="a", content_hash="a")
    with pytest.raises(ParameterError, match="index.type=Flat"):
        tiny.save()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "CURRENT").write_text("gen-000001")
    with pytest.raises(CacheError, match="incomplete"):
        FingerprintStore.open(tmp_path / "broken")


def _saved(root):
    store = FingerprintStore.create(root, dim=8)
    store.add(_unit(np.random.default_rng(2), 5, 8), _infos(5), path="a.mp4", content_hash="ha")
    store.save()
    return root / "gen-000001"


@pytest.mark.parametrize(("damage", "names"), [
    (lambda gen: (gen / "index.faiss").write_bytes((gen / "index.faiss").read_bytes()[:40]), "index.faiss"),
    (lambda gen: (gen / "index.faiss").write_bytes(b"\0" * 100), "index.faiss"),
    (lambda gen: (gen / "meta.sqlite").write_bytes(b"not a database, not at all" * 10), "meta.sqlite"),
    (lambda gen: (gen.parent / "CURRENT").write_bytes(b"\xff\xfe rubbish"), "CURRENT"),
    (lambda gen: (gen / "meta.sqlite").unlink(), "incomplete"),
])
def test_a_damaged_index_names_the_file_and_the_rebuild(tmp_path, damage, names):
    damage(_saved(tmp_path / "idx"))
    with pytest.raises(CacheError, match=names) as caught:
        FingerprintStore.open(tmp_path / "idx")
    assert f"videothat index build VIDEOS... --index {tmp_path / 'idx'}" in str(caught.value)


def test_a_writer_removes_the_generation_a_killed_save_left(tmp_path):
    _saved(tmp_path / "idx")
    (tmp_path / "idx" / "gen-000002").mkdir()  # half written when the writer was killed
    (tmp_path / "idx" / "gen-000002" / "index.faiss").write_bytes(b"half")
    store = FingerprintStore.open(tmp_path / "idx")
    assert store.stats()["vectors"] == 5
    store.remove_stale()
    assert [p.name for p in (tmp_path / "idx").glob("gen-*")] == ["gen-000001"]


@pytest.mark.slow
def test_ivfpq_recall_against_exact_search(tmp_path):
    rng = np.random.default_rng(2)
    centres = _unit(rng, 50, 32)
    data = centres[rng.integers(0, 50, 10000)] + 0.3 * rng.standard_normal((10000, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[:100] + 0.05 * rng.standard_normal((100, 32)).astype(np.float32)
    flat = FingerprintStore.create(tmp_path / "flat", dim=32)
    ivf = FingerprintStore.create(tmp_path / "ivf", dim=32, factory="IVF64,PQ16", train_size=4000)
    for part in range(10):  # files of 1000 vectors: the IVF trains once 4000 have arrived
        rows = slice(1000 * part, 1000 * (part + 1))
        for s in (flat, ivf):
            s.add(data[rows], _infos(1000), path=f"f{part}", content_hash=f"h{part}")
        assert ivf.index.is_trained == (part >= 3)
    ivf.save()
    ivf = FingerprintStore.open(tmp_path / "ivf")
    assert ivf.stats()["vectors"] == 10000
    exact = [{h.id for h in row} for row in flat.search(queries, k=10)]
    approx = [{h.id for h in row} for row in ivf.search(queries, k=10)]
    recall = np.mean([len(a & e) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.7


def test_fingerprint_inner_product_is_window_correlation():
    rng = np.random.default_rng(3)
    curve = rng.random(600).astype(np.float32) ** 3
    config = {"window": 2.0, "hop": 0.25}
    vectors, starts = rhythm_fingerprints(curve, frame_rate=FR, **config)
    size, hop = window_frames(2.0, 0.25, FR)
    assert vectors.shape == (1 + (600 - size) // hop, size)
    i, j = 3, 11
    a, b = curve[i * hop : i * hop + size], curve[j * hop : j * hop + size]
    assert float(vectors[i] @ vectors[j]) == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-5)
    assert starts[i] == pytest.approx(i * hop / FR)
    flat, _ = rhythm_fingerprints(np.ones(600, np.float32), frame_rate=FR, **config)
    assert flat.shape[0] == 0
    (short,), (start,) = rhythm_fingerprints(curve[:50], frame_rate=FR, **config)  # shorter than a window
    assert start == 0.0 and np.all(short[50:] == 0)
    assert float(short @ vectors[0]) == pytest.approx(
        np.dot(curve[:50] - curve[:50].mean(), vectors[0][:50]) / np.linalg.norm(curve[:50] - curve[:50].mean()),
        abs=1e-5)


def test_fingerprint_edges_centre_to_zero_and_leave_later_windows_alone():
    rng = np.random.default_rng(4)
    curve = rng.random(300).astype(np.float32)
    plain, _ = rhythm_fingerprints(curve, frame_rate=FR, window=1.5, hop=0.25)
    edged, _ = rhythm_fingerprints(curve, frame_rate=FR, window=1.5, hop=0.25, edge=5)
    size, _ = window_frames(1.5, 0.25, FR)
    assert np.all(edged[0, :5] == 0)
    rest = curve[5:size] - curve[5:size].mean()
    np.testing.assert_allclose(edged[0, 5:], rest / np.linalg.norm(rest), atol=1e-6)
    np.testing.assert_array_equal(edged[1:], plain[1:])  # windows after the edge are unchanged


def test_song_window_finds_the_shot_it_came_from(tmp_path):
    """A shot that is a piece of the song: the song's window at that place finds it."""
    rng = np.random.default_rng(4)
    song = rng.random(3000).astype(np.float32) ** 4
    config = {"window": 3.0, "hop": 0.5}
    store = FingerprintStore.create(tmp_path, dim=window_frames(3.0, 0.5, FR)[0])
    for k, start in enumerate(range(0, 2800, 350)):
        vectors, starts = rhythm_fingerprints(song[start : start + 350], frame_rate=FR, **config)
        infos = [VectorInfo(f"shot{k}", k, float(s), "rhythm") for s in starts]
        store.add(vectors, infos, path=f"shot{k}", content_hash=f"h{k}")
    query, _ = rhythm_fingerprints(song[1400:1600], frame_rate=FR, **config)
    (hits,) = store.search(query[:1], k=5)
    assert hits[0].info.path == "shot4" and hits[0].info.start == 0.0


def test_array_search_and_shot_lookup_agree_with_hits(tmp_path):
    rng = np.random.default_rng(3)
    store = FingerprintStore.create(tmp_path / "idx", dim=8, encoder={"name": "test"}, mode="shots")
    for name in ("b.mp4", "a.mp4"):
        store.add(_unit(rng, 12, 8), [VectorInfo("", i // 4, float(i), "rhythm") for i in range(12)],
                  path=name, content_hash=name)
    queries = _unit(rng, 5, 8)
    scores, ids = store.search_arrays(queries, k=30)  # more than stored: capped
    assert scores.shape == ids.shape == (5, 24)
    paths, file_of, shot_of, start_of = store.shots_of(ids[0])
    assert paths == ["a.mp4", "b.mp4"]
    hits = store.search(queries, k=30)
    for row, hit in zip(range(24), hits[0], strict=True):
        assert ids[0, row] == hit.id and scores[0, row] == pytest.approx(hit.score)
        assert (paths[file_of[row]], shot_of[row], start_of[row]) == (hit.info.path, hit.info.shot, hit.info.start)
    with pytest.raises(CacheError, match="rebuild the index"):
        store.shots_of(np.array([10_000]))
