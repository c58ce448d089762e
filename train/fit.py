"""Train an experiment: ``python -m train.fit experiment=fingerprint train.manifest=train.csv``.

``fit(cfg)`` is a plain function of the composed config (``configs/fit.yaml`` and its
groups); :func:`main` is the thin ``@hydra.main`` around it, so sweeps work
(``python -m train.fit -m experiment=fingerprint train.lr=1e-3,3e-4``: one run folder per
job). A run writes into ``train.out_dir`` (default: Hydra's run folder):
``checkpoints/last.safetensors`` every ``train.checkpoint_every`` steps and at the end (a
killed run started again with the same ``out_dir`` resumes from it, and sees the same
batches it would have), ``tensorboard/`` scalars (loss, learning rate, in-batch pair
accuracy, items/s), the exported encoders (``audio_encoder.safetensors``, and
``video_encoder.safetensors`` for ``soundtrack``) and ``metrics.json`` (held-out
evaluation when ``train.val_manifest`` is set).
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from train.checkpoint import load_checkpoint, save_checkpoint
from train.config import TrainConfig
from train.manifest import read_manifest
from train.objectives import OBJECTIVES, Objective
from videothat.audio.augment import AugmentConfig
from videothat.audio.config import EmbedConfig
from videothat.core.atomic import atomic_write
from videothat.core.device import resolve_device
from videothat.core.errors import ParameterError, VideoThatError

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoints/last.safetensors"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to 0 at ``steps``."""
    warm = min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
    return config.lr * warm * 0.5 * (1 + math.cos(math.pi * min(step, config.steps) / config.steps))


def build_objective(cfg: Mapping, train: TrainConfig, device: torch.device) -> Objective:
    """The experiment's objective with freshly initialised models (seeded)."""
    embed = EmbedConfig(**dict(cfg.get("embed", {})))
    aug = AugmentConfig(**dict(cfg.get("augment", {})))
    seed_everything(train.seed)
    return OBJECTIVES.get(train.objective).from_config(cfg, embed, aug, temperature=train.temperature, device=device)


def step_generator(device: torch.device, seed: int, step: int) -> torch.Generator:
    """The augmentation generator of one step: a function of (seed, step) only, so resuming is exact."""
    return torch.Generator(device).manual_seed(seed * 1_000_003 + step)


def make_loader(objective: Objective, data, train: TrainConfig, first_step: int) -> DataLoader:
    """Batches for steps ``first_step`` .. ``steps - 1``: item indices ``step * batch_size + j``."""
    indices = range(first_step * train.batch_size, train.steps * train.batch_size)
    return DataLoader(data, batch_size=train.batch_size, sampler=indices, num_workers=train.workers,
                      pin_memory=objective.device.type == "cuda", persistent_workers=False,
                      prefetch_factor=4 if train.workers else None)


def fit(cfg: Mapping) -> dict[str, float]:
    """Train the experiment ``cfg`` describes; returns its final metrics (see the module docstring)."""
    train = TrainConfig.from_dict(dict(cfg["train"]))
    if not train.out_dir:
        raise ParameterError("train.out_dir is required outside `python -m train.fit`")
    out = Path(train.out_dir)
    device = resolve_device(str(cfg.get("device", "auto")))
    objective = build_objective(cfg, train, device)
    clips = read_manifest(train.manifest, need_video=objective.needs_video)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    step = 0
    if train.resume and (out / CHECKPOINT).exists():
        step = load_checkpoint(out / CHECKPOINT, objective.modules, optimizer)
        log.info("resuming %s from step %d", out / CHECKPOINT, step)
    data = objective.dataset(clips, seed=train.seed, cache_seconds=train.cache_seconds,
                             frame_cache_mb=train.frame_cache_mb)
    metrics = run_steps(objective, optimizer, make_loader(objective, data, train, step), train, step, out,
                        dict(cfg))
    objective.export(out, train.steps)
    if train.val_manifest:
        val = read_manifest(train.val_manifest, need_video=objective.needs_video)
        metrics |= {f"val/{k}": v for k, v in objective.evaluate(val, items=train.eval_items, seed=train.seed,
                                                                  workers=train.workers).items()}
    atomic_write(out / "metrics.json", lambda f: f.write(json.dumps(metrics, indent=2).encode()))
    return metrics


def run_steps(objective: Objective, optimizer: torch.optim.Optimizer, loader: DataLoader, train: TrainConfig,
              step: int, out: Path, config: dict) -> dict[str, float]:
    """The optimisation loop from ``step`` to ``train.steps``, with logging and checkpoints."""
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    writer = SummaryWriter(str(out / "tensorboard"), purge_step=step)
    objective.train(True)
    metrics: dict[str, float] = {}
    t0, seen = time.perf_counter(), 0
    bar = tqdm(loader, initial=step, total=train.steps, desc=f"train {objective.name}", unit="step")
    for batch in bar:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, train)
        loss, extra = objective.loss(batch, step_generator(objective.device, train.seed, step))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}; lower train.lr or check the data")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(objective.parameters(), train.grad_clip)
        optimizer.step()
        step, seen = step + 1, seen + train.batch_size
        metrics = {"loss": float(loss.detach()), **extra}
        bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{extra['pair_accuracy']:.2f}")
        if step % train.log_every == 0 or step == train.steps:
            for key, value in metrics.items():
                writer.add_scalar(f"train/{key}", value, step)
            writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)
            writer.add_scalar("train/items_per_s", seen / (time.perf_counter() - t0), step)
        if step % train.checkpoint_every == 0 or step == train.steps:
            save_checkpoint(out / CHECKPOINT, objective.modules, optimizer, step, config)
    writer.close()
    return metrics


def main() -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    from videothat.settings import CONFIG_DIR

    config_dir = str(CONFIG_DIR)

    @hydra.main(config_path=config_dir, config_name="fit", version_base="1.3")
    def _run(cfg: DictConfig) -> float:
        plain = OmegaConf.to_container(cfg, resolve=True)
        if not plain["train"].get("out_dir"):
            plain["train"]["out_dir"] = HydraConfig.get().runtime.output_dir
        try:
            metrics = fit(plain)
        except VideoThatError as exc:  # bad data or parameters: one line, non-zero exit
            print(f"train.fit: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        log.info("metrics: %s", json.dumps(metrics))
        return metrics.get("loss", float("nan"))

    _run()


if __name__ == "__main__":
    main()
