"""Training checkpoints as safetensors: model weights, optimiser state, step, config.

Tensors are stored under ``model.<name>.<key>`` and ``optim.<param>.<key>``; the step,
the optimiser's hyper-parameters and the run's config live in the JSON metadata, so a
checkpoint loads without unpickling anything. Written atomically (temp file + rename).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from videothat.core.atomic import atomic_path
from videothat.core.errors import CacheError

FORMAT = "videothat-train-checkpoint"
VERSION = 1


def save_checkpoint(path: Path, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer, step: int,
                    config: dict) -> Path:
    """Write everything needed to continue training from ``step``."""
    from safetensors.torch import save_file

    tensors = {f"model.{name}.{k}": v.detach().contiguous().cpu()
               for name, m in modules.items() for k, v in m.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, float]] = {}
    for idx, state in opt["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    meta = {"format": FORMAT, "version": str(VERSION), "step": str(step), "config": json.dumps(config),
            "param_groups": json.dumps(opt["param_groups"]), "scalars": json.dumps(scalars)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def load_checkpoint(path: Path, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer | None
                    ) -> int:
    """Restore ``modules`` (and ``optimizer``) in place from ``path``; returns the step."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CacheError(f"{path}: unreadable checkpoint ({exc}); delete it to start over") from exc
    if meta.get("format") != FORMAT or meta.get("version") != str(VERSION):
        raise CacheError(f"{path}: not a version-{VERSION} VideoThat checkpoint")
    for name, module in modules.items():
        prefix = f"model.{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CacheError(f"{path}: checkpoint does not fit the model ({exc}); was the config changed?") from exc
    if optimizer is not None:
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                state.setdefault(int(idx), {})[name] = value
        for idx, values in json.loads(meta["scalars"]).items():
            state.setdefault(int(idx), {}).update(values)
        optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    return int(meta["step"])
