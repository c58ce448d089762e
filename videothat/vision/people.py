"""People in frames: person boxes (and silhouettes) per frame, and a per-shot people score.

Detectors, registered by name in :data:`PERSON_DETECTORS`:

- ``opencv`` (default, no weights): OpenCV's default people detector (HOG + linear SVM,
  Dalal & Triggs 2005) computed in torch by :mod:`videothat.vision.hog`, batched over
  frames on the device. Frames are first resized to between 480 and 720 pixels high
  (small frames upscaled so a person filling half of a 240-line frame fills more than
  HOG's 128-pixel window), or to ``size`` pixels on their shorter side. Finds standing
  and walking people at least ~1/6 of the frame high; no masks.
- ``maskrcnn``: torchvision's Mask R-CNN (ResNet-50 FPN, the 91 COCO classes; person is
  label 1) with its state dict read from the local file ``weights`` (VideoThat never
  downloads weights). Finds people in any pose and gives their masks.

This module imports only numpy at import time (torch and torchvision when detecting), so
configs that hold a :class:`PersonConfig` load fast.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from videothat.core.configs import Bounds, check_fields
from videothat.core.errors import ParameterError
from videothat.core.registry import Registry

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

HOG_HEIGHTS = (480, 720)  # pixels: opencv resizes frames to a height in this range (size=None)
MASKRCNN_SIZE = 800  # pixels: maskrcnn's shorter side (size=None), torchvision's default
MASKRCNN_MAX_RATIO = 1333 / 800  # longer side at most this times the shorter (torchvision's default)
MASKRCNN_BATCH = {"cuda": 8, "cpu": 2}  # frames per Mask R-CNN forward
MASK_THRESHOLD = 0.5  # a pixel belongs to a person where its mask probability exceeds this
PERSON_LABEL = 1  # COCO category id of "person"
COCO_CLASSES = 91  # torchvision's COCO head: 90 category ids + background

Detector = Callable[["Tensor", "PersonConfig", "torch.device"], "list[Detections]"]
PERSON_DETECTORS: Registry[Detector] = Registry("person detector")


@dataclass(frozen=True, kw_only=True)
class PersonConfig:
    """Person detection (units in comments).

    ``weights`` goes with ``detector="maskrcnn"`` only: giving it with ``opencv`` is an error
    (rather than silently switching detectors), and ``maskrcnn`` without it is one too.
    """

    detector: str = "opencv"  # opencv (HOG people detector, no weights) | maskrcnn (needs weights)
    weights: str | None = None  # maskrcnn: local state dict file (.pt/.pth, or .safetensors); never downloaded
    min_score: float = 0.5  # in (0, 1): opencv: logistic of the SVM margin (0.5 = on it); maskrcnn: probability
    frames: int = 3  # frames sampled per shot for its people score
    size: int | None = None  # pixels of the shorter side detectors see; None: opencv 480-720 high, maskrcnn 800

    BOUNDS: ClassVar[Bounds] = {"frames": (1, 64), "size": (64, 4096)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.detector not in PERSON_DETECTORS:
            raise ParameterError(f"detector={self.detector!r} must be one of {', '.join(PERSON_DETECTORS.names)}")
        if self.detector == "maskrcnn" and not self.weights:
            raise ParameterError("detector='maskrcnn' needs weights=PATH, a local torchvision maskrcnn_resnet50_fpn "
                                 "state dict (VideoThat never downloads weights)")
        if self.detector != "maskrcnn" and self.weights:
            raise ParameterError(f"weights={self.weights!r} is for detector='maskrcnn'; detector={self.detector!r} "
                                 f"uses none (set detector=maskrcnn to use them)")
        if not 0.0 < self.min_score < 1.0:
            raise ParameterError(f"min_score={self.min_score} must be in (0, 1)")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Detections:
    """The people found in one frame.

    boxes : [shape=(K, 4)] float32 (x0, y0, x1, y1) in pixels of the frame, inside it
    scores : [shape=(K,)] float32 in [min_score, 1), strongest first
    masks : [shape=(K, H, W)] bool silhouettes (maskrcnn), or None (opencv)
    size : (H, W) pixels of the frame the boxes refer to
    """

    boxes: np.ndarray
    scores: np.ndarray
    masks: np.ndarray | None
    size: tuple[int, int]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def area_fractions(self) -> np.ndarray:
        """Each box's area as a fraction of the frame's: [shape=(K,)] float32 in [0, 1]."""
        w, h = self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1]
        return (w * h / float(self.size[0] * self.size[1])).astype(np.float32)


def detect_people(frames: np.ndarray | Tensor, config: PersonConfig,
                  device: torch.device | str = "cpu") -> list[Detections]:
    """The people in each frame, with the detector ``config`` names.

    Parameters
    ----------
    frames : [shape=(N, H, W, 3)] uint8 RGB, numpy or torch (moved to ``device`` once)
    config : which detector, its weights and score threshold
    device : where the detector runs

    Returns
    -------
    N :class:`Detections`, boxes in pixels of ``frames``.

    Raises
    ------
    ParameterError : frames of another shape or dtype; maskrcnn weights missing or unfit.
    """
    import torch

    frames = torch.as_tensor(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ParameterError(f"frames of shape {tuple(frames.shape)} and dtype {frames.dtype} must be "
                             f"[N, H, W, 3] uint8 RGB")
    device = torch.device(device)
    if frames.shape[0] == 0:
        return []
    return PERSON_DETECTORS.get(config.detector)(frames.to(device), config, device)


def people_score(detections: Sequence[Detections]) -> float:
    """How much a shot is about people: the mean over its sampled frames of the largest
    person's box area as a fraction of the frame (0 for a frame with nobody).

    In [0, 1]: 0 when no sampled frame shows a person; a person filling a quarter of the
    frame in every sampled frame scores 0.25; a person in one frame of three, a third of that.
    """
    if not detections:
        return 0.0
    return float(np.mean([d.area_fractions().max() if len(d) else 0.0 for d in detections]))


def people_scores(frames_per_shot: Sequence[np.ndarray | Tensor], config: PersonConfig,
                  device: torch.device | str = "cpu") -> np.ndarray:
    """:func:`people_score` of each shot, its sampled frames [shape=(k_i, H, W, 3)] uint8
    (one size for all shots) detected in one batch: [shape=(S,)] float32."""
    import torch

    if not frames_per_shot:
        return np.zeros(0, np.float32)
    counts = np.cumsum([0] + [len(f) for f in frames_per_shot])
    found = detect_people(torch.cat([torch.as_tensor(f) for f in frames_per_shot]), config, device)
    return np.array([people_score(found[a:b]) for a, b in zip(counts[:-1], counts[1:], strict=True)], np.float32)


def _resize(frames: Tensor, height: int, width: int) -> Tensor:
    """[N, H, W, 3] uint8 -> [N, height, width, 3] uint8 (antialiased when shrinking)."""
    import torch.nn.functional as F

    if (height, width) == tuple(frames.shape[1:3]):
        return frames
    x = frames.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=height < frames.shape[1],
                      align_corners=False)
    return x.round().clamp(0, 255).to(frames.dtype).permute(0, 2, 3, 1).contiguous()


def _hog_scale(height: int, width: int, size: int | None) -> float:
    """Factor frames are resized by before HOG (see the module docstring)."""
    if size is not None:
        return size / min(height, width)
    return min(max(height, HOG_HEIGHTS[0]), HOG_HEIGHTS[1]) / height


@PERSON_DETECTORS.register("opencv")
def _detect_hog(frames: Tensor, config: PersonConfig, device: torch.device) -> list[Detections]:
    import torch

    from videothat.vision import hog

    height, width = frames.shape[1:3]
    scale = _hog_scale(height, width, config.size)
    work = _resize(frames, max(1, round(height * scale)), max(1, round(width * scale)))
    threshold = math.log(config.min_score / (1 - config.min_score))  # SVM score whose logistic is min_score
    out = []
    for boxes, scores in hog.detect(work, threshold):
        bounds = torch.tensor([width, height, width, height], device=boxes.device, dtype=boxes.dtype)
        boxes = torch.minimum((boxes / scale).clamp(min=0), bounds)
        out.append(Detections(boxes.cpu().numpy().astype(np.float32), torch.sigmoid(scores).cpu().numpy(),
                              None, (height, width)))
    return out


@PERSON_DETECTORS.register("maskrcnn")
def _detect_maskrcnn(frames: Tensor, config: PersonConfig, device: torch.device) -> list[Detections]:
    import torch

    size = config.size or MASKRCNN_SIZE
    model = load_maskrcnn(config.weights, device, size=size)
    images = frames.permute(0, 3, 1, 2).float() / 255.0
    step = MASKRCNN_BATCH["cuda" if device.type == "cuda" else "cpu"]
    out = []
    with torch.inference_mode():
        for a in range(0, images.shape[0], step):
            out += [_person_detections(r, config.min_score, tuple(frames.shape[1:3]))
                    for r in model(list(images[a : a + step]))]
    return out


def _person_detections(result: dict[str, Tensor], min_score: float, size: tuple[int, int]) -> Detections:
    """The persons among one image's Mask R-CNN outputs, on the CPU."""
    keep = (result["labels"] == PERSON_LABEL) & (result["scores"] >= min_score)
    order = result["scores"][keep].argsort(descending=True)
    masks = result["masks"][keep][order, 0] > MASK_THRESHOLD
    return Detections(result["boxes"][keep][order].float().cpu().numpy(),
                      result["scores"][keep][order].float().cpu().numpy(), masks.cpu().numpy(), size)


def load_maskrcnn(weights: str | Path | None, device: torch.device | str = "cpu", *,
                  size: int = MASKRCNN_SIZE) -> nn.Module:
    """torchvision's ``maskrcnn_resnet50_fpn`` (91 COCO classes) with the state dict in the local
    file ``weights``, in eval mode on ``device``, seeing frames ``size`` pixels on their
    shorter side. Cached: one model per (file, modification time, device, size).

    Raises
    ------
    ParameterError : the file is missing, is not a state dict, or its keys or shapes do not
        fit the model.
    """
    import torch

    path = Path(weights) if weights else None
    if path is None or not path.is_file():
        raise ParameterError(f"weights={weights}: no such file; give a local torchvision maskrcnn_resnet50_fpn "
                             f"state dict (.pt, .pth or .safetensors): VideoThat never downloads weights")
    return _cached_maskrcnn(str(path.resolve()), path.stat().st_mtime_ns, str(torch.device(device)), size)


@functools.lru_cache(maxsize=2)
def _cached_maskrcnn(path: str, mtime: int, device: str, size: int) -> nn.Module:
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    state = read_state_dict(Path(path))
    model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=COCO_CLASSES,
                                  min_size=size, max_size=round(size * MASKRCNN_MAX_RATIO))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes differ
        raise ParameterError(f"weights={path}: tensors do not fit maskrcnn_resnet50_fpn with {COCO_CLASSES} "
                             f"classes ({str(exc).splitlines()[-1].strip()})") from exc
    if missing or unexpected:
        raise ParameterError(f"weights={path}: not a maskrcnn_resnet50_fpn state dict ({len(missing)} keys missing, "
                             f"e.g. {missing[:2]}; {len(unexpected)} unexpected, e.g. {unexpected[:2]})")
    return model.to(device).eval()


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """Names -> tensors from a ``.safetensors`` file or a ``torch.save`` file (loaded with
    ``weights_only=True``: never unpickles code); a checkpoint's ``model`` or ``state_dict``
    entry is taken when the file holds one.

    Raises
    ------
    ParameterError : unreadable, or not a mapping of names to tensors.
    """
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load and safetensors raise many kinds for a file that is not theirs
        raise ParameterError(f"weights={path}: not a readable state dict file ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from exc
    if isinstance(state, dict):
        state = next((state[k] for k in ("model", "state_dict") if isinstance(state.get(k), dict)), state)
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ParameterError(f"weights={path}: holds a {type(state).__name__}, not a state dict "
                             f"(a mapping of parameter names to tensors)")
    return state
