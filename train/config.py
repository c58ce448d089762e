"""The training loop's parameters (the ``train`` config group)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from videothat.core.configs import Bounds, build_config, check_fields
from videothat.core.errors import ParameterError

OBJECTIVES = ("fingerprint", "soundtrack")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """What to train on, for how long, and where results go (units in comments)."""

    objective: str = "fingerprint"  # fingerprint | soundtrack
    manifest: str = "???"  # CSV/JSONL of media (+ time ranges) to train on
    val_manifest: str | None = None  # held-out media, evaluated at the end
    out_dir: str | None = None  # checkpoints, TensorBoard logs, exported encoders; None = Hydra's run folder
    steps: int = 2000  # optimiser steps
    batch_size: int = 128  # items per step
    lr: float = 1e-3  # peak learning rate (AdamW)
    weight_decay: float = 1e-4
    warmup_steps: int = 100  # linear warm-up, then cosine decay to 0
    temperature: float = 0.1  # of the contrastive softmax
    grad_clip: float = 5.0  # max gradient norm; 0 = off
    workers: int = 2  # DataLoader worker processes (0 = load in the main process)
    log_every: int = 20  # steps between TensorBoard scalars
    checkpoint_every: int = 200  # steps between checkpoints (and at the end)
    resume: bool = True  # continue from out_dir/checkpoints/last.safetensors when it exists
    seed: int = 0  # everything random (data, augmentation, initial weights) follows from it
    eval_items: int = 512  # held-out items evaluated at the end (spread evenly over the validation clips)
    cache_seconds: float = 7200.0  # s of decoded audio each loader process keeps (whole files up to 15 min)
    frame_cache_mb: float = 512.0  # MB of decoded frames (at the encoder's size) each loader process keeps

    BOUNDS: ClassVar[Bounds] = {"steps": (1, 10**8), "batch_size": (2, 65536), "lr": (1e-12, 10.0),
                                "weight_decay": (0.0, 10.0), "warmup_steps": (0, 10**8), "temperature": (1e-6, 100.0),
                                "grad_clip": (0.0, 1e6), "workers": (0, 256), "log_every": (1, 10**8),
                                "checkpoint_every": (1, 10**8), "seed": (0, 2**63 - 1), "eval_items": (1, 10**7),
                                "cache_seconds": (0.0, 10**6), "frame_cache_mb": (0.0, 10**6)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.objective not in OBJECTIVES:
            raise ParameterError(f"train.objective={self.objective!r} must be one of {', '.join(OBJECTIVES)}")
        if self.manifest in ("???", "", None):
            raise ParameterError("train.manifest is required: python -m train.fit experiment=... train.manifest=FILE")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return build_config(cls, values, "train")
