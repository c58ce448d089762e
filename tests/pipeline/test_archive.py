"""Archive jobs end to end on generated media: index build/add/remove, resumption, Ray
ingest, shortlists, queries, and the CLI around them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mediagen import SR, reconstruction_case, write_audio
from videothat.analysis import AnalysisConfig, analyze
from videothat.catalog import Catalog
from videothat.cli import main
from videothat.index.config import IndexConfig
from videothat.index.shortlist import shortlist
from videothat.index.store import FingerprintStore
from videothat.media.audio import decode_audio
from videothat.pipeline import archive


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    song, videos, truth = reconstruction_case(root)
    return song, videos, truth, root / "cache"


def _build(case, index_dir, *paths, extra=()):
    song, videos, _, cache = case
    return main(["index", "build", *map(str, paths or videos), "--index", str(index_dir),
                 "--cache-dir", str(cache), "-q", *extra])


def _fixture_music_index(case, tmp_path, *overrides):
    """``tmp_path/music``: a songs index of the audio fixtures built with ``overrides``;
    returns the folder of the fixtures (links)."""
    from conftest import AUDIO_FIXTURES

    library = tmp_path / "library"
    library.mkdir()
    for path in AUDIO_FIXTURES:
        (library / path.name).symlink_to(path)
    assert _build(case, tmp_path / "music", library, extra=["--songs", *overrides]) == 0
    return library


def _contents(root):
    store = FingerprintStore.open(root)
    rows = store.db.execute("SELECT v.id, f.path, f.hash, v.shot, v.start, v.kind FROM vectors v "
                            "JOIN files f ON v.file = f.id ORDER BY v.id").fetchall()
    vectors = np.stack([store.index.reconstruct(r[0]) for r in rows])
    return rows, vectors


def test_build_again_add_remove_stats(case, tmp_path, capsys):
    song, videos, _, cache = case
    idx = tmp_path / "idx"
    assert _build(case, idx, *videos[:2]) == 0
    assert "indexed 2 file(s)" in capsys.readouterr().out
    assert _build(case, idx) == 0  # the first two are skipped by content
    assert "indexed 2 file(s)" in capsys.readouterr().out and FingerprintStore.open(idx).stats()["files"] == 4
    assert main(["index", "remove", str(videos[1]), "--index", str(idx)]) == 0
    assert "removed 1 file(s)" in capsys.readouterr().out
    assert main(["index", "stats", "--index", str(idx)]) == 0
    stats = capsys.readouterr().out
    assert "files       3" in stats and "encoder     rhythm" in stats
    assert str(videos[1].resolve()) not in FingerprintStore.open(idx).files()


def test_bad_files_are_reported_and_the_rest_indexed(case, tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00not a video" * 100)
    code = _build(case, tmp_path / "idx", case[1][0], bad)
    err = capsys.readouterr().err
    assert code == 1 and "broken.mp4" in err
    assert FingerprintStore.open(tmp_path / "idx").stats()["files"] == 1


def test_a_killed_build_resumes(case, tmp_path, monkeypatch):
    _, videos, _, cache = case
    added = []
    real_add = FingerprintStore.add

    def add_then_die(self, *args, **kwargs):
        if len(added) == 2:
            raise KeyboardInterrupt
        added.append(1)
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(FingerprintStore, "add", add_then_die)
    with pytest.raises(KeyboardInterrupt):
        archive.ingest(videos, tmp_path / "idx", AnalysisConfig(), IndexConfig(), cache_dir=cache, chunk_files=1)
    assert FingerprintStore.open(tmp_path / "idx").stats()["files"] == 2  # saved on the way out
    monkeypatch.undo()
    report = archive.ingest(videos, tmp_path / "idx", AnalysisConfig(), IndexConfig(), cache_dir=cache)
    assert len(report.already) == 2 and len(report.added) == 2
    archive.ingest(videos, tmp_path / "clean", AnalysisConfig(), IndexConfig(), cache_dir=cache)
    (rows, vectors), (clean_rows, clean_vectors) = _contents(tmp_path / "idx"), _contents(tmp_path / "clean")
    assert rows == clean_rows and np.array_equal(vectors, clean_vectors)


@pytest.mark.slow
def test_ray_ingest_equals_single_process(case, tmp_path):
    pytest.importorskip("ray")
    _, videos, _, cache = case
    config = IndexConfig(encoder="timbre")
    archive.ingest(videos, tmp_path / "one", AnalysisConfig(), config, cache_dir=cache)
    report = archive.ingest(videos, tmp_path / "ray", AnalysisConfig(), config, cache_dir=tmp_path / "c2",
                            workers=2, chunk_files=1)
    assert len(report.added) == len(videos) and not report.failures
    (rows, vectors), (ray_rows, ray_vectors) = _contents(tmp_path / "one"), _contents(tmp_path / "ray")
    assert rows == ray_rows and len(rows) > 20
    np.testing.assert_allclose(vectors, ray_vectors, atol=1e-6)


@pytest.mark.parametrize("rank", ["votes", "best"])
def test_shortlist_holds_every_true_shot(case, tmp_path, rank):
    song, videos, truth, cache = case
    archive.ingest(videos, tmp_path / "idx", AnalysisConfig(), IndexConfig(), cache_dir=cache)
    store = FingerprintStore.open(tmp_path / "idx")
    songs = AnalysisConfig().for_songs()
    catalog = Catalog(cache, songs.cache_params())
    (song_analysis,) = analyze([song], songs, catalog=catalog).analyses
    true_shots = {(str(v.resolve()), i) for v in videos for i in range(len(truth.get(v.name, [])))}
    chosen = shortlist(song_analysis, store, IndexConfig(k=1, shortlist_rank=rank))  # best per window
    found = {(path, shot) for path, shots in chosen.items() for shot in shots}
    assert true_shots <= found
    if rank == "votes":  # shots that line up with the song window after window come first
        chosen = shortlist(song_analysis, store, IndexConfig(shortlist=len(true_shots)))
        got = {(path, shot) for path, shots in chosen.items() for shot in shots}
        assert got == true_shots, (len(true_shots), sorted(true_shots - got), sorted(got - true_shots))


def test_match_with_index_puts_every_shot_back(case, tmp_path, capsys):
    song, videos, truth, cache = case
    assert _build(case, tmp_path / "idx") == 0
    out = tmp_path / "cut"
    assert main(["match", "--song", str(song), "--index", str(tmp_path / "idx"), "-o", str(out),
                 "--cache-dir", str(cache), "-q", "index.k=2"]) == 0
    timeline = json.loads((tmp_path / "cut.timeline.json").read_text())
    correct = sum(
        seg["song_end"] - seg["song_start"]
        for seg in timeline["segments"]
        for a, b, song_t in truth.get(seg["source"].rsplit("/", 1)[-1], [])
        if a - 1e-6 <= seg["source_start"] < b and abs(song_t + seg["source_start"] - a - seg["song_start"]) < 0.04
    )
    assert correct / timeline["duration"] >= 0.95


def test_query_song_names_shot_and_source_time(case, tmp_path, capsys):
    song, videos, truth, cache = case
    assert _build(case, tmp_path / "idx", extra=["index.rhythm.window=2.0"]) == 0
    capsys.readouterr()
    out = tmp_path / "q.json"
    assert main(["query", "--song", str(song), "--index", str(tmp_path / "idx"), "-k", "3", "-o", str(out),
                 "--cache-dir", str(cache)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows, checked, right = json.loads(out.read_text()), 0, 0
    # the text lists what the JSON holds: the -k best shots of every window, a line each
    assert lines == [f"song {r['song_time']:7.2f} s  {i:2d}. {m['score']:.3f}  {m['source']} shot {m['shot']} at "
                     f"{m['source_time']:.2f} s" for r in rows for i, m in enumerate(r["matches"], 1)]
    assert all(len(r["matches"]) == 3 for r in rows)
    # windows of the index's hop tile the whole song, its last partial window included
    duration = decode_audio(song, SR).size / SR
    assert len(rows) == int(np.ceil(duration / 0.25 - 1e-6)) and rows[0]["song_time"] == 0.0
    assert all(a["song_end"] == b["song_time"] for a, b in zip(rows, rows[1:], strict=False))
    assert rows[-1]["song_end"] == pytest.approx(duration, abs=1e-3)
    assert min(m["source_time"] for r in rows for m in r["matches"]) >= 0.0
    spans = [(song_t, song_t + b - a, name, a) for name, shots in truth.items() for a, b, song_t in shots]
    for row in rows:
        inside = [s for s in spans if s[0] <= row["song_time"] and row["song_time"] + 2.0 <= s[1]]
        if inside:  # the part lies inside one piece: that piece's shot is among the best, at the right time
            song_t, _, name, a = inside[0]
            checked += 1
            right += any(m["source"].endswith(name) and abs(m["source_time"] - (a + row["song_time"] - song_t)) < 0.05
                         for m in row["matches"])
    # a riff repeats across the rock song, so other shots can fit a part equally well; chance is ~0
    assert checked >= 10 and right >= 0.6 * checked


def test_song_windows_take_the_query_windows_starting_in_them():
    from videothat.pipeline.queries import _windows_per_part

    starts = np.round(np.arange(0.1, 3.0 - 1.5 + 1e-9, 0.025), 6)  # 1.5 s windows of a 3.1 s song, after a 0.1 s edge
    parts = _windows_per_part(starts, 0.25, 3.1)
    assert len(parts) == 13  # 12 whole windows and 0.1 s
    for p, members in enumerate(parts):
        inside = np.flatnonzero((starts >= p * 0.25 - 1e-9) & (starts < (p + 1) * 0.25 - 1e-9))
        assert members.tolist() == (inside.tolist() or [len(starts) - 1])  # past the last start: the last one


def test_query_video_finds_the_song_and_where(case, tmp_path, capsys):
    from conftest import AUDIO_FIXTURES

    _fixture_music_index(case, tmp_path, "index.encoder=timbre")
    rock = decode_audio(next(p for p in AUDIO_FIXTURES if "rock" in p.name), SR)
    excerpt = rock[round(11.3 * SR) : round(16.3 * SR)]
    noise = np.random.default_rng(0).standard_normal(excerpt.size).astype(np.float32)
    noisy = 0.3 * (excerpt + noise * np.sqrt(np.mean(excerpt**2) / 10))  # 10 dB SNR, -10 dB gain
    clip = write_audio(tmp_path / "clip.wav", noisy[None], sr=SR)
    capsys.readouterr()
    out = tmp_path / "songs.json"
    assert main(["query", "--video", str(clip), "--index", str(tmp_path / "music"), "-o", str(out),
                 "--cache-dir", str(case[3])]) == 0
    best = json.loads(out.read_text())[0]
    assert "rock" in best["song"] and abs(best["offset"] - 11.3) <= 0.5
    assert "1. " in capsys.readouterr().out
    # `index add` takes the index's own mode: the clip goes in whole, as a song
    assert main(["index", "add", str(clip), "--index", str(tmp_path / "music"), "--cache-dir", str(case[3]), "-q"]) == 0
    assert FingerprintStore.open(tmp_path / "music").stats()["files"] == len(AUDIO_FIXTURES) + 1


@pytest.mark.parametrize(("args", "words"), [
    (["query", "--song", "{song}", "--index", "{tmp}/none"], "not a VideoThat index"),
    (["index", "add", "{song}", "--index", "{tmp}/none"], "not a VideoThat index"),
    (["index", "build", "{song}", "--index", "{tmp}/new", "index.type=NoSuchIndex"], "FAISS factory"),
    (["index", "build", "{song}", "--index", "{tmp}/new", "index.encoder=magic"], "index.encoder"),
    (["query", "--song", "{song}", "--index", "{tmp}/x", "-k", "0"], "-k 0"),
])
def test_errors_are_one_line(case, tmp_path, capsys, args, words):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "CURRENT").write_text("gen-000001")
    args = [a.format(song=case[0], tmp=tmp_path) for a in args]
    assert main([*args, "--cache-dir", str(case[3])] if args[0] == "query" else args) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_music_for_a_video_without_sound_points_to_query_by_pictures(case, tmp_path, capsys):
    from mediagen import cut_video
    from videothat.cli import PICTURES_HINT, build_parser

    mute = cut_video(tmp_path / "mute.mp4", [1.0], 3.0)
    silent = cut_video(tmp_path / "silent.mp4", [1.0], 3.0, audio=np.zeros((1, 3 * SR), np.float32), sr=SR)
    quiet_song = write_audio(tmp_path / "quiet.wav", np.zeros((1, 3 * SR), np.float32), sr=SR)
    library = _fixture_music_index(case, tmp_path, "index.encoder=timbre")
    assert _build(case, tmp_path / "marks", library, extra=["--songs"]) == 0  # landmarks
    capsys.readouterr()
    for index in ("music", "marks"):
        for clip in (mute, silent, quiet_song):
            assert main(["query", "--video", str(clip), "--index", str(tmp_path / index),
                         "--cache-dir", str(case[3])]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and clip.name in err
            assert (PICTURES_HINT in err) == (clip != quiet_song), (index, err)  # a sound file has no pictures
    # the hint names options the command has
    hint = PICTURES_HINT.split("query ", 1)[1].split(" (", 1)[0].split()
    assert build_parser().parse_args(["query", "--video", "v.mp4", "--index", "i", *hint]).by == "pictures"


def test_querying_the_wrong_kind_of_index_says_so(case, tmp_path, capsys):
    assert _build(case, tmp_path / "idx", case[1][0]) == 0
    capsys.readouterr()
    assert main(["query", "--video", str(case[1][1]), "--index", str(tmp_path / "idx"),
                 "--cache-dir", str(case[3])]) == 2
    assert "index of shots" in capsys.readouterr().err


def test_learned_encoder_indexes_and_queries_and_guards_its_weights(case, tmp_path, capsys):
    from conftest import AUDIO_FIXTURES
    from videothat.audio.config import EmbedConfig
    from videothat.audio.embed import AudioEncoder
    from videothat.core.weights import save_encoder

    torch.manual_seed(0)
    config = EmbedConfig(window=0.5, n_mels=32, channels=(8, 16, 32), dim=32)
    weights = save_encoder(AudioEncoder(config).eval(), config, tmp_path / "enc.safetensors")
    _fixture_music_index(case, tmp_path, "index.encoder=learned", f"index.learned.checkpoint={weights}")
    stats = FingerprintStore.open(tmp_path / "music").stats()
    assert stats["encoder"] == "learned" and stats["dim"] == 32
    rock = decode_audio(next(p for p in AUDIO_FIXTURES if "rock" in p.name), SR)
    clip = write_audio(tmp_path / "clip.wav", 0.5 * rock[None, round(7.0 * SR) : round(10.0 * SR)], sr=SR)
    out = tmp_path / "songs.json"
    query = ["query", "--video", str(clip), "--index", str(tmp_path / "music"), "-o", str(out),
             "--cache-dir", str(case[3])]
    assert main(query) == 0
    best = json.loads(out.read_text())[0]
    assert "rock" in best["song"] and abs(best["offset"] - 7.0) <= 0.5
    save_encoder(AudioEncoder(config).eval(), config, weights)  # other weights under the same name
    capsys.readouterr()
    assert main(query) != 0
    assert "not the ones the index was built with" in capsys.readouterr().err


def test_music_by_pictures_equals_a_brute_force_query_and_guards_its_pairing(case, video_manifest, tmp_path,
                                                                             capsys):
    """A soundtrack pair exported like a run: a music index of its audio encoder, queried with
    a video's pictures, ranks exactly what embedding each window by hand and voting does."""
    from train.objectives import SoundtrackObjective
    from videothat.audio.augment import AugmentConfig
    from videothat.audio.config import EmbedConfig
    from videothat.index.vote import vote
    from videothat.media.frames import sample_frames
    from videothat.vision.encoders import VideoEncoder, load_video_encoder

    def export(seed, out):
        torch.manual_seed(seed)
        video = VideoEncoder(trunk="frames", dim=16, frames=4, size=32, widths=(4, 8), steps=4)
        embed = EmbedConfig(window=1.0, n_mels=32, channels=(8, 16, 32), dim=16, steps=4)
        return SoundtrackObjective(embed, AugmentConfig(), temperature=0.1, device=torch.device("cpu"),
                                   video=video).export(out, step=0)

    audio, video = export(0, tmp_path / "run")
    _, other_video = export(1, tmp_path / "other")
    library = _fixture_music_index(case, tmp_path, "index.encoder=learned", f"index.learned.checkpoint={audio}")
    flash = video_manifest.parent / "flash.mp4"
    out = tmp_path / "found.json"
    query = ["query", "--video", str(flash), "--index", str(tmp_path / "music"), "--by", "pictures", "-k", "3",
             "--cache-dir", str(case[3]), "-o", str(out), "index.query_hop=0.25"]
    assert main([*query, "--video-encoder", str(video)]) == 0
    found = json.loads(out.read_text())

    model, _ = load_video_encoder(video)
    store = FingerprintStore.open(tmp_path / "music")
    hop = 11 * 512 / 22050  # index.learned.hop=0.25 s in whole STFT frames
    starts = np.arange(0.0, 8.0 - 1.0 + 1e-9, 0.25)
    with torch.no_grad():
        vectors = model(torch.stack([sample_frames(flash, t, t + 1.0, n=4, height=32, width=32) for t in starts]))
    want = vote(store.search(vectors.numpy(), k=IndexConfig().k), starts, bin_seconds=hop, top=3)
    assert [(r["song"], r["offset"], r["votes"]) for r in found] == \
        [(w.path, round(w.offset, 3), w.votes) for w in want]
    assert np.allclose([r["score"] for r in found], [w.score for w in want], atol=1e-3)

    capsys.readouterr()
    assert main([*query, "--video-encoder", str(other_video)]) != 0  # trained with another audio encoder
    assert "not trained with the audio encoder" in capsys.readouterr().err
    assert main(query) != 0
    assert "--video-encoder" in capsys.readouterr().err
    assert _build(case, tmp_path / "rhythm", library, extra=["--songs"]) == 0
    assert main([*query[:4], str(tmp_path / "rhythm"), *query[5:], "--video-encoder", str(video)]) != 0
    assert "music by pictures needs" in capsys.readouterr().err
    song = write_audio(tmp_path / "sound_only.wav", np.zeros((1, 3 * SR), np.float32), sr=SR)
    assert main(["query", "--video", str(song), *query[3:], "--video-encoder", str(video)]) != 0
    assert "no video stream" in capsys.readouterr().err
