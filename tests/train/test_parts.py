"""Manifests, losses and retrieval metrics, against hand-made references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mediagen import FIXTURES, tone, write_audio, write_video
from train.evaluate import recall_at
from train.losses import info_nce, nt_xent
from train.manifest import read_manifest, write_manifest
from videothat.core.errors import MediaError, NoAudioError, NoVideoError, ParameterError


def test_csv_and_jsonl_manifests(tmp_path):
    song = FIXTURES / "rock_war_of_freedom_30s.ogg"
    (tmp_path / "a.csv").write_text(f"path,start,end\n{song},,\n{song},5,12.5\n{song},25,90\n")
    clips = read_manifest(tmp_path / "a.csv")
    assert [(c.start, round(c.end, 1)) for c in clips] == [(0.0, 30.0), (5.0, 12.5), (25.0, 30.0)]
    write_audio(tmp_path / "local.wav", tone(2.0, 22050), sr=22050)
    (tmp_path / "b.jsonl").write_text('{"path": "local.wav"}\n\n{"path": "local.wav", "start": 0.5}\n')
    clips = read_manifest(tmp_path / "b.jsonl")  # relative to the manifest's folder
    assert clips[0].path == tmp_path / "local.wav" and clips[1].duration == pytest.approx(1.5, abs=0.05)
    write_manifest(tmp_path / "c.csv", clips)
    assert read_manifest(tmp_path / "c.csv") == clips


def test_bad_manifests_name_the_line(tmp_path):
    song = FIXTURES / "rock_war_of_freedom_30s.ogg"
    write_video(tmp_path / "mute.mp4", np.zeros((5, 32, 32, 3), np.uint8))
    cases = {"missing.csv": (f"path\n{song}\n{tmp_path}/nope.wav\n", MediaError, "missing.csv:3"),
             "range.csv": (f"path,start,end\n{song},8,4\n", ParameterError, "range.csv:2"),
             "late.csv": (f"path,start\n{song},31\n", MediaError, "past its end"),
             "mute.csv": ("path\nmute.mp4\n", NoAudioError, "mute.csv:2"),
             "header.csv": (f"file\n{song}\n", ParameterError, "'path' column"),
             "bad.jsonl": ('{"path": 3\n', ParameterError, "bad.jsonl:1"),
             "empty.csv": ("path\n", ParameterError, "no clips")}
    for name, (text, error, words) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(error, match=words):
            read_manifest(tmp_path / name)
    with pytest.raises(NoVideoError, match="needs pictures"):
        (tmp_path / "audio.csv").write_text(f"path\n{song}\n")
        read_manifest(tmp_path / "audio.csv", need_video=True)
    with pytest.raises(ParameterError, match="not found"):
        read_manifest(tmp_path / "absent.csv")


def _unit(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


def test_nt_xent_equals_its_definition():
    a, b, t = _unit(5, 8, 0), _unit(5, 8, 1), 0.2
    z = torch.cat([a, b]).double()
    total = 0.0
    for i in range(10):
        partner = (i + 5) % 10
        logits = [float(z[i] @ z[j]) / t for j in range(10) if j != i]
        total += -(float(z[i] @ z[partner]) / t - math.log(sum(math.exp(x) for x in logits)))
    assert float(nt_xent(a, b, t)) == pytest.approx(total / 10, rel=1e-5)


def test_info_nce_is_symmetric_cross_entropy():
    a, b, t = _unit(6, 4, 2), _unit(6, 4, 3), 0.5
    sims = (a @ b.T).double() / t
    rows = -(sims.diagonal() - sims.logsumexp(1)).mean()
    cols = -(sims.diagonal() - sims.logsumexp(0)).mean()
    assert float(info_nce(a, b, t)) == pytest.approx(float((rows + cols) / 2), rel=1e-5)


def test_recall_equals_a_brute_force_ranking():
    q, t = _unit(40, 6, 4), _unit(40, 6, 5)
    t[:10] = q[:10]  # some queries find their target first
    got = recall_at(q, t, ks=(1, 5, 10))
    for k in (1, 5, 10):
        hits = sum(sum(float(q[i] @ t[j]) > float(q[i] @ t[i]) for j in range(40)) < k for i in range(40))
        assert got[f"recall@{k}"] == pytest.approx(hits / 40)
        assert got[f"chance@{k}"] == pytest.approx(k / 40)
