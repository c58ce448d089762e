"""Visual encoders for short clips: torchvision's video models (action recognition nets),
a compact 3D conv net, or a per-frame 2D conv net whose embedding is time-aligned with the
audio encoder's (:mod:`videothat.audio.aligned`), with a projection to a unit-length embedding.

Input: frames [shape=(B, T, H, W, 3)] uint8 RGB (as :func:`videothat.media.frames.sample_frames`
gives them, stacked); output [shape=(B, dim)] float32, L2-normalised. On CUDA the trunk
runs under bf16 autocast. Weights never come from the network: ``weights`` names a local
file (a torchvision state dict loaded with ``weights_only=True``, or safetensors).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from videothat.audio.aligned import SequenceHead, check_steps
from videothat.core.errors import CacheError, ParameterError
from videothat.core.registry import Registry

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

    def per_frame(self, frames: Tensor) -> Tensor:
        """Frames [shape=(N, 3, H, W)] -> features [shape=(N, out_features)]."""
        return nn.functional.adaptive_avg_pool2d(self.body(frames), self.grid).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        b, _, t = x.shape[:3]
        h = self.per_frame(x.transpose(1, 2).flatten(0, 1))  # pack batch: frames of all clips, [B * T, 3, H, W]
        return h.view(b, t, -1).transpose(1, 2)  # unpack batch


ALIGNED_TRUNKS = ("frames",)  # trunks with per-frame features (time-aligned embeddings)
TrunkBuilder = Callable[[tuple[int, ...]], tuple[nn.Module, int]]  # widths -> (trunk, output features)
TRUNKS: Registry[TrunkBuilder] = Registry("visual trunk")


@TRUNKS.register("small3d")
def _small3d(widths: tuple[int, ...]) -> tuple[nn.Module, int]:
    trunk = Small3D(tuple(widths))
    return trunk, trunk.out_features


@TRUNKS.register("frames")
def _frames(widths: tuple[int, ...]) -> tuple[nn.Module, int]:
    trunk = FrameNet(tuple(widths))
    return trunk, trunk.out_features


def _torchvision(name: str) -> TrunkBuilder:
    def build(widths: tuple[int, ...]) -> tuple[nn.Module, int]:
        import torchvision.models.video as video

        net = getattr(video, name)(weights=None)  # weights come from a local file, never a download
        features = net.fc.in_features
        net.fc = nn.Identity()
        return net, features

    return build


for _name in TORCHVISION_TRUNKS:
    TRUNKS.register(_name)(_torchvision(_name))


def build_trunk(name: str, *, widths: tuple[int, ...] = (16, 32, 64, 128)) -> tuple[nn.Module, int]:
    """(trunk, features): a registered trunk (:data:`TRUNKS`): a torchvision video model
    without its classifier, ``small3d``, or ``frames`` (per-frame features, for time-aligned
    embeddings). ``widths`` are the channels of the small trunks' stages."""
    if name not in TRUNKS:
        raise ParameterError(f"encoder.trunk={name!r} must be one of {', '.join(TRUNKS.names)}")
    return TRUNKS.get(name)(tuple(widths))


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
        conf: dict[str, object] = {"trunk": self.trunk_name, "dim": self.dim, "frames": self.frames,
                                   "size": self.size, "widths": list(self.widths)}
        return conf | ({"steps": self.steps} if self.steps else {})  # pooled: as earlier versions wrote it

    def _normalised(self, frames: Tensor) -> Tensor:
        """uint8 RGB [shape=(..., H, W, 3)] -> float [shape=(..., 3, H, W)] with the trunk's mean and spread."""
        x = frames.movedim(-1, -3).float().div_(255.0)
        return (x - self.mean.view(3, 1, 1)) / self.std.view(3, 1, 1)

    def forward(self, frames: Tensor) -> Tensor:
        if frames.dim() != 5 or frames.shape[-1] != 3:
            raise ParameterError(f"frames must be [B, T, H, W, 3] uint8, got shape {tuple(frames.shape)}")
        x = self._normalised(frames).transpose(1, 2)  # [B, 3, T, H, W]
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.device.type == "cuda"):
            h = self.head(self.trunk(x))
        return nn.functional.normalize(h.float(), dim=1)

    def embed_windows(self, video: Tensor, indices: Tensor, *, batch: int = 64) -> Tensor:
        """Embeddings of clips cut from one video's frames [shape=(N, H, W, 3)] uint8, clip
        ``i`` being frames ``indices[i]`` [shape=(W, frames)] int64: the same as
        ``self(video[indices])``, in batches of ``batch`` clips. A per-frame trunk sees each
        frame once, however many overlapping clips share it. [shape=(W, dim)]"""
        if len(indices) == 0:
            return torch.zeros(0, self.dim, device=video.device)
        if self.trunk_name not in ALIGNED_TRUNKS:
            return torch.cat([self(video[indices[a : a + batch]]) for a in range(0, len(indices), batch)])
        used, where = torch.unique(indices, return_inverse=True)  # frames any clip needs; where: [W, frames]
        step = batch * self.frames
        with torch.autocast(video.device.type, dtype=torch.bfloat16, enabled=video.device.type == "cuda"):
            features = torch.cat([self.trunk.per_frame(self._normalised(video[used[a : a + step]]))
                                  for a in range(0, len(used), step)])  # [U, F]
            h = torch.cat([self.head(features[where[a : a + batch]].transpose(1, 2))
                           for a in range(0, len(where), batch)])
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


def load_video_encoder(path: str | Path, *, device: torch.device | str = "cpu") -> tuple[VideoEncoder, dict]:
    """The :class:`VideoEncoder` a soundtrack run exported to ``path`` (safetensors, never
    unpickled), in eval mode on ``device``, and the export's extra metadata (``audio_window``,
    ``audio_digest``: the audio encoder it was trained with).

    Raises
    ------
    CacheError : missing, unreadable, or the weights do not fit their config.
    """
    from videothat.core.weights import load_module

    model, extra = load_module(path, lambda conf: VideoEncoder(**conf), kind="video", device=device)
    return model, extra  # type: ignore[return-value]


WINDOW_BATCH = 256  # picture windows embedded together (their frames decoded once, together)


@torch.no_grad()
def embed_video_windows(model: VideoEncoder, path: str | Path, starts: np.ndarray, window: float, *,
                        batch: int = WINDOW_BATCH) -> np.ndarray:
    """Embeddings of the pictures of ``window`` s from each of ``starts`` (s) of a video,
    ``model.frames`` frames each. [shape=(len(starts), dim)] float32.

    The video is opened once and streamed: ``batch`` windows at a time, the frames they
    need are decoded once (at the model's size) and shared between overlapping windows
    (:meth:`VideoEncoder.embed_windows`), so memory stays bounded on a film of any length.

    Raises
    ------
    CorruptMediaError : no decodable video stream.
    """
    from videothat.media.frames import VideoFrames, frame_indices, frame_times

    device, n = next(model.parameters()).device, model.frames
    starts = np.asarray(starts, dtype=np.float64)
    if not len(starts):
        return np.zeros((0, model.dim), np.float32)
    video = VideoFrames(path)
    indices = frame_indices(frame_times(starts, starts + window, n), video.fps, video.count)  # [W, n]
    out = []
    for a in range(0, len(indices), batch):
        needed, local = np.unique(indices[a : a + batch], return_inverse=True)
        frames = video.get(needed, height=model.size, width=model.size).to(device)
        local = torch.from_numpy(local.reshape(-1, n)).to(device)
        out.append(model.embed_windows(frames, local).cpu().numpy())
    return np.concatenate(out)


def check_pairing(model: VideoEncoder, extra: dict, audio_encoder: dict, *, path: Path, index: Path) -> None:
    """Raise :class:`ParameterError` unless the visual encoder ``model`` (with the ``extra``
    metadata of its file at ``path``) was trained beside the audio encoder an index was
    built with (``audio_encoder``: the index's encoder description)."""
    audio = dict(audio_encoder.get("model", {}))
    digest = audio_encoder.get("digest")
    paired = extra.get("audio_digest", digest) == digest  # older exports: no digest
    fits = (model.dim, model.steps, extra.get("audio_window", audio.get("window"))) == \
        (audio.get("dim"), audio.get("steps", 0), audio.get("window"))
    if not (paired and fits):
        raise ParameterError(f"{path}: this visual encoder was not trained with the audio encoder "
                             f"{index} was built with; use the audio_encoder.safetensors of the same run")
