"""Device names (``auto``, ``cpu``, ``cuda``, ``cuda:N``) checked and resolved once per job."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from videothat.core.errors import ParameterError

if TYPE_CHECKING:
    import torch

DEVICE_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


def check_device_name(name: str) -> None:
    """Raise :class:`ParameterError` unless ``name`` is a device name (no torch import)."""
    if not DEVICE_NAME.match(name):
        raise ParameterError(f"device={name!r} must be auto, cpu, cuda or cuda:N")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; other names are checked."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ParameterError(f"device={name!r} is not a device name (auto, cpu, cuda, cuda:N)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={name!r} asked for, but CUDA is not available here; use auto or cpu")
    return device
