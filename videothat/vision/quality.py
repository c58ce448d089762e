"""Shot quality: how bright, how sharp, and which shots are near-duplicates of each other.

Pure tensor functions over RGB frames [shape=(N, H, W, 3)] uint8, batched (one call per
batch of frames, no Python loop over frames) on whatever device the frames are on:

- :func:`brightness`: mean luma (BT.601 weights) in [0, 1];
- :func:`sharpness`: variance of the Laplacian of luma, the usual blur measure (Pech-Pacheco
  et al., "Diatom autofocusing in brightfield microscopy", ICPR 2000), in grey levels² (luma
  on the 0-255 scale) at the resolution given: it grows with detail and with resolution, so
  compare shots at one frame size;
- :func:`signature`: a 64-bit perceptual hash (pHash: the signs of the lowest 8x8 DCT
  coefficients of a 32x32 luma thumbnail against their median), and
  :func:`near_duplicates`, groups of signatures within a Hamming distance of each other;
- :func:`shot_quality`: all three per shot, over a few frames sampled from each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from videothat.core.errors import ParameterError

LUMA = (0.299, 0.587, 0.114)  # BT.601 weights of R, G, B (as cv2.COLOR_RGB2GRAY)
THUMB = 32  # pixels: side of the luma thumbnail a signature is computed on
HASH_SIDE = 8  # the lowest HASH_SIDE x HASH_SIDE DCT coefficients are the signature's bits
BITS = HASH_SIDE * HASH_SIDE  # 64
EDGE_BATCH = 4096  # signature rows compared at once in near_duplicates (memory: rows x S floats)


def _check_frames(frames: Tensor) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ParameterError(f"frames of shape {tuple(frames.shape)} and dtype {frames.dtype} must be "
                             f"[N, H, W, 3] uint8 RGB")


def luma(frames: Tensor) -> Tensor:
    """RGB frames [shape=(N, H, W, 3)] uint8 -> luma [shape=(N, H, W)] float32 in [0, 255]."""
    _check_frames(frames)
    weights = torch.tensor(LUMA, device=frames.device, dtype=torch.float32)
    return frames.float() @ weights


def brightness(frames: Tensor) -> Tensor:
    """Mean luma of each frame.

    Parameters
    ----------
    frames : [shape=(N, H, W, 3)] uint8 RGB

    Returns
    -------
    [shape=(N,)] float32 in [0, 1]: 0 black, 1 white.
    """
    return luma(frames).mean(dim=(1, 2)) / 255.0


def sharpness(frames: Tensor) -> Tensor:
    """Variance of the Laplacian of each frame's luma: high for crisp detail, low for blur.

    The Laplacian is the 4-neighbour kernel ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` with
    reflected borders (``cv2.Laplacian(gray, cv2.CV_64F).var()``, OpenCV's default), on luma
    in grey levels (0-255).

    Parameters
    ----------
    frames : [shape=(N, H, W, 3)] uint8 RGB, H and W at least 2

    Returns
    -------
    [shape=(N,)] float32, grey levels²: comparable between frames of one size only (a
    downscaled frame looks sharper).
    """
    gray = luma(frames)[:, None]
    if min(gray.shape[-2:]) < 2:
        raise ParameterError(f"frames of {tuple(frames.shape[1:3])} pixels must be at least 2x2 for a Laplacian")
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], device=gray.device)
    lap = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="reflect"), kernel[None, None])
    return lap.flatten(1).var(dim=1, correction=0)


def _dct_matrix(n: int, device: torch.device) -> Tensor:
    """Orthonormal DCT-II basis [n, n]: ``D @ x`` is the DCT of the columns of ``x``."""
    k = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    i = torch.arange(n, device=device, dtype=torch.float32)[None]
    basis = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    basis[0] /= math.sqrt(2.0)
    return basis


def signature(frames: Tensor) -> Tensor:
    """Perceptual hash of each frame: 64 bits that change little under noise, compression,
    small shifts and brightness changes, and a lot between different pictures.

    Luma is area-averaged to a 32x32 thumbnail; bit ``8 * u + v`` says whether DCT
    coefficient (u, v) (u, v < 8) exceeds the median of those 64 coefficients less the DC
    term (pHash, Zauner 2010).

    Parameters
    ----------
    frames : [shape=(N, H, W, 3)] uint8 RGB

    Returns
    -------
    [shape=(N, 64)] bool
    """
    thumb = F.adaptive_avg_pool2d(luma(frames)[:, None], THUMB)[:, 0]  # [N, 32, 32]
    basis = _dct_matrix(THUMB, thumb.device)
    coeffs = (basis @ thumb @ basis.T)[:, :HASH_SIDE, :HASH_SIDE].flatten(1)  # [N, 64]
    median = coeffs[:, 1:].median(dim=1, keepdim=True).values
    return coeffs > median


def hamming(a: Tensor, b: Tensor) -> Tensor:
    """Hamming distances between signatures ``a`` [shape=(S, 64)] and ``b`` [shape=(T, 64)]
    bool: [shape=(S, T)] int64 (one matrix product)."""
    x, y = a.float(), b.float()
    same_ones = x @ y.T
    return (x.sum(1)[:, None] + y.sum(1)[None] - 2 * same_ones).round().long()


def near_duplicates(signatures: Tensor, max_distance: int) -> Tensor:
    """Group signatures that are within ``max_distance`` bits of each other.

    Groups are the connected components of the graph linking every pair at Hamming distance
    <= ``max_distance`` (single linkage: a chain of near pairs is one group), found by
    min-label propagation over the edge list.

    Parameters
    ----------
    signatures : [shape=(S, 64)] bool (see :func:`signature`)
    max_distance : bits, in [0, 64]; ~10 finds re-encoded or slightly changed pictures

    Returns
    -------
    [shape=(S,)] int64 group ids 0, 1, ... numbered in order of first appearance;
    signatures with the same id are near-duplicates.

    Examples
    --------
    >>> sigs = torch.zeros(3, 64, dtype=torch.bool); sigs[2, :32] = True
    >>> near_duplicates(sigs, 4).tolist()
    [0, 0, 1]
    """
    if not 0 <= max_distance <= BITS:
        raise ParameterError(f"max_distance={max_distance} bits must be in [0, {BITS}]")
    if signatures.ndim != 2 or signatures.shape[1] != BITS:
        raise ParameterError(f"signatures of shape {tuple(signatures.shape)} must be [S, {BITS}]")
    n = signatures.shape[0]
    edges = [(hamming(signatures[a : a + EDGE_BATCH], signatures) <= max_distance).nonzero() + a * torch.tensor(
        [1, 0], device=signatures.device) for a in range(0, n, EDGE_BATCH)]
    if not edges:
        return torch.zeros(0, dtype=torch.long, device=signatures.device)
    src, dst = torch.cat(edges).T
    labels = torch.arange(n, device=signatures.device)
    while True:
        new = labels.scatter_reduce(0, src, labels[dst], reduce="amin")
        if torch.equal(new, labels):
            break
        labels = new
    return torch.unique(labels, return_inverse=True)[1]  # labels are each group's first index: in order


@dataclass(frozen=True)
class ShotQuality:
    """Quality of S shots (columns over shots, on the frames' device).

    brightness : [shape=(S,)] float32 in [0, 1], median over the shot's frames
    sharpness : [shape=(S,)] float32 grey levels², median over the shot's frames
    signature : [shape=(S, 64)] bool, of the shot's middle frame
    """

    brightness: Tensor
    sharpness: Tensor
    signature: Tensor

    def __len__(self) -> int:
        return self.brightness.shape[0]


def shot_quality(frames_per_shot: Sequence[Tensor], *, device: torch.device | str | None = None) -> ShotQuality:
    """Brightness, sharpness and signature of each shot from a few frames sampled in it.

    All shots' frames go through each measure in one batch (moved to ``device`` once, if
    given), then are split back per shot: median brightness and sharpness (robust to one
    flash or one blurred frame; of an even count, the lower middle value), and the signature
    of the middle frame (index ``k // 2`` of ``k``).

    Parameters
    ----------
    frames_per_shot : S tensors [shape=(k_i, H, W, 3)] uint8 RGB, k_i >= 1, one H x W for all
        (e.g. :func:`videothat.media.frames.sample_frames` with a fixed height and width)

    Returns
    -------
    ShotQuality with S rows.
    """
    if not frames_per_shot:
        return ShotQuality(torch.zeros(0), torch.zeros(0), torch.zeros(0, BITS, dtype=torch.bool))
    counts = [f.shape[0] for f in frames_per_shot]
    if min(counts) < 1:
        raise ParameterError(f"shot {counts.index(min(counts))} has no frames; sample at least one per shot")
    sizes = {tuple(f.shape[1:]) for f in frames_per_shot}
    if len(sizes) > 1:
        raise ParameterError(f"frames of shots must share one size; got {sorted(sizes)}")
    frames = torch.cat(list(frames_per_shot)).to(device) if device is not None else torch.cat(list(frames_per_shot))
    n = torch.tensor(counts, device=frames.device)
    starts = torch.cumsum(n, 0) - n
    # per-shot rows of frame indices, padded with -1 where a shot has fewer frames
    slot = torch.arange(max(counts), device=frames.device)
    index = torch.where(slot[None] < n[:, None], starts[:, None] + slot[None], -1)

    def median(values: Tensor) -> Tensor:
        padded = torch.where(index >= 0, values[index.clamp(min=0)], torch.nan)
        return padded.nanmedian(dim=1).values

    return ShotQuality(median(brightness(frames)), median(sharpness(frames)), signature(frames[starts + n // 2]))
