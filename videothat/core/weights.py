"""Model weights on disk: safetensors with the model's config in the file's metadata.

A file records its ``kind`` (``audio``, ``video``, ...) and a format version, both checked
on load; loading never unpickles, so a weights file from anywhere is safe to open.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.core.atomic import atomic_path
from videothat.core.errors import CacheError, ParameterError

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

FORMAT = "videothat-audio-encoder"  # the name every VideoThat weights file carries (kept for old files)
VERSION = 1


def save_encoder(model: nn.Module, config: object, path: str | Path, *,
                 kind: str = "audio", extra: dict | None = None) -> Path:
    """Write ``model``'s weights as safetensors with its config (and ``extra``) in the
    metadata, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    conf = config if isinstance(config, dict) else config.as_dict()  # a config dataclass
    meta = {"format": FORMAT, "version": str(VERSION), "kind": kind, "config": json.dumps(conf),
            "extra": json.dumps(extra or {})}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def read_weights(path: str | Path, *, kind: str = "audio") -> tuple[dict[str, Tensor], dict, dict]:
    """(state dict, config dict, extra dict) of a file written by :func:`save_encoder`.

    Raises
    ------
    CacheError : missing, not safetensors, of another kind or format version.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise CacheError(f"{path}: encoder weights not found (train one: python -m train.fit experiment=fingerprint)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CacheError(f"{path}: not a safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        raise CacheError(f"{path}: not a VideoThat {kind} encoder (format={meta.get('format')!r}, "
                         f"kind={meta.get('kind')!r})")
    if meta.get("version") != str(VERSION):
        raise CacheError(f"{path}: encoder format version {meta.get('version')}, this VideoThat reads {VERSION}")
    return state, json.loads(meta["config"]), json.loads(meta.get("extra", "{}"))


def load_module(path: str | Path, build: Callable[[dict], nn.Module], *, kind: str = "audio",
                device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """(``build(config)`` with the weights saved at ``path``, in eval mode on ``device``; the
    file's extra metadata), for a file :func:`save_encoder` wrote.

    Raises
    ------
    CacheError : see :func:`read_weights`; or the weights do not fit their config.
    """
    state, conf, extra = read_weights(path, kind=kind)
    try:
        model = build(conf)
        model.load_state_dict(state, strict=True)
    except (TypeError, RuntimeError, ParameterError) as exc:
        raise CacheError(f"{Path(path)}: weights do not fit their config ({exc})") from exc
    return model.to(device).eval(), extra


