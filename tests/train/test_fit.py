"""Training: configs compose and instantiate, losses fall, checkpoints resume exactly."""

from __future__ import annotations

import json

import pytest
import torch
from hydra.utils import instantiate
from trainkit import TINY, compose

from train.checkpoint import load_checkpoint, save_checkpoint
from train.config import TrainConfig
from train.fit import build_objective, fit, step_generator
from train.manifest import read_manifest
from train.objectives import FingerprintObjective
from videothat.audio.augment import AugmentConfig
from videothat.audio.config import EmbedConfig
from videothat.core.errors import ParameterError
from videothat.vision.encoders import VideoEncoder


@pytest.mark.parametrize("overrides", [[], ["experiment=fingerprint"], ["experiment=soundtrack"],
                                       ["experiment=soundtrack", "encoder=small3d"],
                                       ["experiment=soundtrack", "encoder=frames"]])
def test_every_group_composes_and_instantiates(overrides):
    cfg = compose([*overrides, "train.manifest=x.csv"])
    TrainConfig.from_dict(cfg["train"]), EmbedConfig(**cfg["embed"]), AugmentConfig(**cfg["augment"])
    assert isinstance(instantiate(cfg["encoder"]), VideoEncoder)
    if "experiment=soundtrack" in overrides:
        assert cfg["train"]["objective"] == "soundtrack" and cfg["embed"]["window"] == 2.0
        assert cfg["embed"]["steps"] == cfg["encoder"]["steps"] == (16 if "encoder=frames" in overrides else 0)


def test_missing_manifest_and_unknown_keys_are_errors():
    with pytest.raises(ParameterError, match="manifest"):
        TrainConfig.from_dict(compose([])["train"])
    with pytest.raises(ParameterError, match="train.colour"):
        TrainConfig.from_dict({**compose(["train.manifest=x"])["train"], "colour": 1})


def _objective_and_batch(experiment: str, manifest, tmp_path):
    experiment, _, encoder = experiment.partition("/")
    extra = [f"encoder={encoder or 'small3d'}", "encoder.size=32", "encoder.frames=4", "encoder.widths=[4,8]",
             "embed.window=1.0"] if experiment == "soundtrack" else []
    cfg = compose([f"experiment={experiment}", *TINY, *extra, f"train.manifest={manifest}",
                   f"train.out_dir={tmp_path}"])
    train = TrainConfig.from_dict(cfg["train"])
    objective = build_objective(cfg, train, torch.device("cpu"))
    data = objective.dataset(read_manifest(manifest, need_video=objective.needs_video), seed=0, cache_seconds=600)
    batch = torch.utils.data.default_collate([data[i] for i in range(train.batch_size)])
    return cfg, objective, batch


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["fingerprint", "soundtrack", "soundtrack/frames"])
def test_loss_is_finite_and_falls_on_a_fixed_batch(experiment, audio_manifest, video_manifest, tmp_path):
    manifest = audio_manifest if experiment == "fingerprint" else video_manifest
    _, objective, batch = _objective_and_batch(experiment, manifest, tmp_path)
    optimizer = torch.optim.Adam(objective.parameters(), lr=3e-3)
    objective.train(True)
    losses = []
    for _ in range(6):
        loss, _ = objective.loss(batch, step_generator(torch.device("cpu"), 0, 0))
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0], losses


def test_items_are_a_function_of_seed_and_index(audio_manifest):
    clips = read_manifest(audio_manifest)
    a = FingerprintObjective(EmbedConfig(window=0.5, n_mels=32, channels=(8, 16, 32)), AugmentConfig(p_codec=0.5),
                             temperature=0.1, device=torch.device("cpu"))
    one, two = a.dataset(clips, seed=3, cache_seconds=600), a.dataset(clips, seed=3, cache_seconds=0)
    for i in (0, 7, 12345):
        assert all(torch.equal(x, y) for x, y in zip(one[i], two[i], strict=True))  # cached or seeking: same
    assert not torch.equal(one[0][0], a.dataset(clips, seed=4, cache_seconds=600)[0][0])


def test_cached_frames_equal_seeking(video_manifest):
    from train.data import AudioVisualPairs

    clips = read_manifest(video_manifest, need_video=True)
    embed = EmbedConfig(window=1.0, n_mels=32, channels=(8, 16, 32))
    cached, seeking = (AudioVisualPairs(clips, embed, frames=5, size=24, seed=1, frame_cache_mb=mb) for mb in (64, 0))
    for i in (0, 3, 77):
        (f, a), (g, b) = cached[i], seeking[i]
        assert torch.equal(f, g) and torch.equal(a, b)
    assert len(cached.pictures._cache) > 0 and len(seeking.pictures._cache) == 0


def test_checkpoint_round_trip(audio_manifest, tmp_path):
    _, objective, batch = _objective_and_batch("fingerprint", audio_manifest, tmp_path)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=1e-3)
    loss, _ = objective.loss(batch, step_generator(torch.device("cpu"), 0, 0))
    loss.backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "c.safetensors", objective.modules, optimizer, 1, {"a": 1})
    _, other, _ = _objective_and_batch("fingerprint", audio_manifest, tmp_path / "b")
    other_opt = torch.optim.AdamW(other.parameters(), lr=1e-3)
    assert load_checkpoint(path, other.modules, other_opt) == 1
    for x, y in zip(objective.parameters(), other.parameters(), strict=True):
        assert torch.equal(x, y)
    assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], other_opt.state_dict()["state"][0]["exp_avg"])


@pytest.mark.slow
def test_killed_run_resumes_with_the_same_next_loss(audio_manifest, tmp_path, monkeypatch):
    cfg = compose(["experiment=fingerprint", *TINY, "train.steps=4", f"train.manifest={audio_manifest}"])
    straight = fit({**cfg, "train": {**cfg["train"], "out_dir": str(tmp_path / "straight")}})

    calls = {"n": 0}
    original = FingerprintObjective.loss

    def dies_at_step_three(self, batch, gen):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed after two steps were checkpointed
        return original(self, batch, gen)

    killed = {**cfg, "train": {**cfg["train"], "out_dir": str(tmp_path / "killed")}}
    monkeypatch.setattr(FingerprintObjective, "loss", dies_at_step_three)
    with pytest.raises(KeyboardInterrupt):
        fit(killed)
    monkeypatch.setattr(FingerprintObjective, "loss", original)
    resumed = fit(killed)
    assert resumed["loss"] == straight["loss"]
    assert (tmp_path / "killed" / "audio_encoder.safetensors").exists()
    assert list((tmp_path / "killed" / "tensorboard").iterdir())


@pytest.mark.slow
def test_fit_evaluates_held_out_clips(video_manifest, tmp_path):
    cfg = compose(["experiment=soundtrack", *TINY, "train.steps=2", "encoder=small3d", "encoder.size=32",
                   "encoder.frames=4", "encoder.widths=[4,8]", "embed.window=1.0",
                   f"train.manifest={video_manifest}", f"train.val_manifest={video_manifest}",
                   f"train.out_dir={tmp_path}"])
    metrics = fit(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["val/items"] == metrics["val/items"] >= 8
    assert 0 <= saved["val/recall@5"] <= 1 and saved["val/chance@5"] == pytest.approx(5 / saved["val/items"])
    assert (tmp_path / "video_encoder.safetensors").exists()


@pytest.mark.slow
def test_hydra_multirun_sweeps_into_one_folder_per_job(audio_manifest, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "train.fit", "-m", "experiment=fingerprint", *TINY, "train.steps=1",
               f"train.manifest={audio_manifest}", "train.lr=1e-3,2e-3", f"hydra.sweep.dir={tmp_path}"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for job in ("0", "1"):
        assert (tmp_path / job / "audio_encoder.safetensors").exists()
        assert "loss" in json.loads((tmp_path / job / "metrics.json").read_text())
