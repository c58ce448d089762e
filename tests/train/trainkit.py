"""Tiny experiments composed from the real configs (shrunk so a step takes well under a second);
their data are the ``audio_manifest`` and ``video_manifest`` fixtures of ``tests/conftest.py``."""

from __future__ import annotations

from videothat.settings import compose_config

TINY = ["embed.window=0.5", "embed.n_mels=32", "embed.channels=[8,16,32]", "embed.dim=16",
        "train.batch_size=8", "train.steps=3", "train.workers=0", "train.warmup_steps=1", "train.log_every=1",
        "train.checkpoint_every=1", "train.eval_items=16"]


def compose(overrides: list[str]) -> dict:
    return compose_config(overrides, config_name="fit")
