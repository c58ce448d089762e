"""Visual encoders for short clips: torchvision's video models (action recognition nets),
a compact 3D conv net, or a per-frame 2D conv net whose embedding is time-aligned with the
audio encoder's (:mod:`videothat.aligned`), with a projection to a unit-length embedding.

Input: frames [shape=(B, T, H, W, 3)] uint8 RGB (as :func:`videothat.media.frames.sample_frames`
gives them, stacked); output [shape=(B, dim)] float32, L2-normalised. On CUDA the trunk
runs under bf16 autocast. Weights never come from the network: ``weights`` names a local
file (a torchvision state dict loaded with ``weights_only=True``, or safetensors).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from videothat.aligned import SequenceHead, check_steps
from videothat.errors import CacheError, ParameterError

TORCHVISION_TRUNKS = ("r3d_18", "mc3_18", "r2plus1d_18")
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)  # torchvision's video models were trained with these
KINETICS_STD = (0.22803, 0.22145, 0.216989)


class Small3D(nn.Module):
    """A compact 3D conv trunk: per width, conv 3x3x3 + batch norm + ReLU, then pooling
    (space every block, time from the second); global average pool. [B,3,T,H,W] -> [B, widths[-1]]."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for k, c in enumerate(widths):
            layers += [nn.Conv3d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm3d(c), nn.ReLU(inplace=True),
                       nn.MaxPool3d((2 if k else 1, 2, 2))]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.out_features = c_in

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x).mean(dim=(2, 3, 4))


class FrameNet(nn.Module):
    """A per-frame 2D conv trunk: per width, conv 3x3 + batch norm + ReLU + 2x2 max pooling,
    then each frame's map averaged to a ``grid`` x ``grid`` layout and flattened, so where
    things are in the picture (which bar, how far up) survives.
    [B,3,T,H,W] -> per-frame features [B, widths[-1] * grid ** 2, T]."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 64), grid: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in widths:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in = c
        self.body, self.grid = nn.Sequential(*layers), grid
        self.out_features = c_in * grid * grid

    def forward(self, x: Tensor) -> Tensor:
        b, _, t = x.shape[:3]
        frames = x.transpose(1, 2).flatten(0, 1)  # pack batch: frames of all clips, [B * T, 3, H, W]
        h = nn.functional.adaptive_avg_pool2d(self.body(frames), self.grid).flatten(1)
        return h.view(b, t, -1).transpose(1, 2)  # unpack batch


ALIGNED_TRUNKS = ("frames",)


def build_trunk(name: str, *, widths: tuple[int, ...] = (16, 32, 64, 128)) -> tuple[nn.Module, int]:
    """(trunk, features): a torchvision video model without its classifier, ``small3d``, or
    ``frames`` (per-frame features, for time-aligned embeddings)."""
    if name == "small3d":
        trunk = Small3D(tuple(widths))
        return trunk, trunk.out_features
    if name == "frames":
        trunk = FrameNet(tuple(widths))
        return trunk, trunk.out_features
    if name not in TORCHVISION_TRUNKS:
        raise ParameterError(f"encoder.trunk={name!r} must be small3d, frames or one of "
                             f"{', '.join(TORCHVISION_TRUNKS)}")
    import torchvision.models.video as video

    net = getattr(video, name)(weights=None)  # weights come from a local file, never a download
    features = net.fc.in_features
    net.fc = nn.Identity()
    return net, features


class VideoEncoder(nn.Module):
    """Clips of ``frames`` frames of ``size`` x ``size`` pixels -> unit embeddings of ``dim``.

    ``steps`` > 0 (trunk ``frames`` only, at most ``frames``): the embedding is time-aligned,
    ``steps`` stretches of ``dim / steps``, to pair with an audio encoder of the same ``steps``."""

    def __init__(self, *, trunk: str = "r3d_18", dim: int = 128, frames: int = 8, size: int = 112,
                 widths: tuple[int, ...] = (16, 32, 64, 128), weights: str | None = None, steps: int = 0) -> None:
        super().__init__()
        if frames < 1 or size < 16 or dim < 1:
            raise ParameterError(f"encoder: need frames >= 1, size >= 16, dim >= 1 (got {frames}, {size}, {dim})")
        check_steps(steps, dim)
        if (trunk in ALIGNED_TRUNKS) != (steps > 0) or steps > frames:
            raise ParameterError(f"encoder.steps={steps}: trunk {', '.join(ALIGNED_TRUNKS)} needs 0 < steps <= "
                                 f"frames ({frames}); the other trunks pool time away and need steps=0")
        self.trunk_name, self.dim, self.frames, self.size, self.steps = trunk, dim, frames, size, steps
        self.widths = tuple(int(w) for w in widths)
        self.trunk, features = build_trunk(trunk, widths=self.widths)
        if weights:
            load_trunk_weights(self.trunk, Path(weights))
        if steps:
            self.head: nn.Module = SequenceHead(features, dim=dim, steps=steps)
        else:
            self.head = nn.Sequential(nn.Linear(features, 2 * dim), nn.ReLU(inplace=True), nn.Linear(2 * dim, dim))
        self.register_buffer("mean", torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1), persistent=False)

    def config(self) -> dict[str, object]:
        """Constructor arguments (saved with the weights; ``weights`` is not needed to reload)."""
        return {"trunk": self.trunk_name, "dim": self.dim, "frames": self.frames, "size": self.size,
                "widths": list(self.widths), "steps": self.steps}

    def forward(self, frames: Tensor) -> Tensor:
        if frames.dim() != 5 or frames.shape[-1] != 3:
            raise ParameterError(f"frames must be [B, T, H, W, 3] uint8, got shape {tuple(frames.shape)}")
        x = frames.permute(0, 4, 1, 2, 3).float().div_(255.0)  # [B, 3, T, H, W]
        x = (x - self.mean) / self.std
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.device.type == "cuda"):
            h = self.head(self.trunk(x))
        return nn.functional.normalize(h.float(), dim=1)


def load_trunk_weights(trunk: nn.Module, path: Path) -> None:
    """Load a local state dict into ``trunk`` (its classifier's keys ignored)."""
    if not path.is_file():
        raise CacheError(f"{path}: visual encoder weights not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds on a bad file
        raise CacheError(f"{path}: cannot read weights ({exc})") from exc
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = trunk.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if not k.startswith("fc.")]:
        raise CacheError(f"{path}: weights do not fit the trunk (missing {missing[:3]}, unexpected {unexpected[:3]})")
