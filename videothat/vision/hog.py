"""OpenCV's default people detector, in torch: HOG features and a linear SVM over a pyramid.

Dalal & Triggs ("Histograms of Oriented Gradients for Human Detection", CVPR 2005), as
``cv2.HOGDescriptor()`` with ``HOGDescriptor_getDefaultPeopleDetector()`` and
``detectMultiScale`` compute it (OpenCV 4; OpenCV 5 moved both out of its main wheel, so
VideoThat ships the SVM's 3781 coefficients, ``videothat/data/hog_people_svm.npy``, and
computes the rest with tensor ops, batched over frames on any device):

1. per pixel, the gradient ([-1, 0, 1] filters, on the square root of the pixel values,
   reflected borders) of the colour channel where it is strongest; its magnitude voted
   into 9 unsigned orientation bins of 20 degrees (linearly between the two nearest);
2. per 16x16 block at a stride of 8 pixels, the votes of its four 8x8 cells (bilinear in
   position, Gaussian-weighted with sigma 4 around the block centre): one convolution;
   normalised L2-Hys (L2, clipped at 0.2, L2 again);
3. per 64x128 window at a stride of 8, the SVM score ``w . blocks + rho`` (a convolution of
   the block map with the SVM weights), on each level of a pyramid of the frame shrunk by
   1.05 per level until the window no longer fits;
4. windows scoring at least the threshold grouped as ``cv2.groupRectangles`` does (chains of
   windows whose corners lie within 20 % of their size; groups of at least 3 windows; a
   group inside a stronger one dropped).

A person must be at least ~96 pixels tall (the 128-pixel window holds a margin) to be found.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

WIN_H, WIN_W = 128, 64  # pixels: the detection window
CELL, BLOCK, STRIDE = 8, 16, 8  # pixels: cell side, block side (2x2 cells), block and window stride
BINS = 9  # unsigned orientation bins over 180 degrees
SIGMA = (BLOCK + BLOCK) / 8  # pixels: Gaussian weight of a block's pixels (OpenCV's winSigma default)
L2HYS = 0.2  # clip of the L2-normalised block histogram
SCALE_STEP = 1.05  # ratio between pyramid levels
MAX_LEVELS = 64  # pyramid levels at most
GROUP_EPS = 0.2  # windows are one person when their corners lie within this fraction of their size
GROUP_MIN = 3  # windows a person needs (OpenCV: groupThreshold=2, groups of more than 2)
BLOCKS_Y, BLOCKS_X = (WIN_H - BLOCK) // STRIDE + 1, (WIN_W - BLOCK) // STRIDE + 1  # 15 x 7 per window
BATCH_PIXELS = {"cuda": 1 << 25, "cpu": 1 << 21}  # frame pixels per batch at the pyramid's base


@functools.lru_cache(maxsize=4)
def people_svm(device: str = "cpu") -> tuple[Tensor, float]:
    """OpenCV's default people SVM as a convolution weight [1, 36, 15, 7] (channel ``bin *
    4 + cell``, cell ``2 * cx + cy``) and its bias ``rho``."""
    with (resources.files("videothat") / "data" / "hog_people_svm.npy").open("rb") as f:
        coef = np.load(f, allow_pickle=False)
    # OpenCV's layout: blocks column-major (x outer), cells column-major, bins innermost
    w = torch.from_numpy(coef[:-1]).reshape(BLOCKS_X, BLOCKS_Y, 4, BINS).permute(3, 2, 1, 0)
    return w.reshape(1, BINS * 4, BLOCKS_Y, BLOCKS_X).contiguous().to(device), float(coef[-1])


@functools.lru_cache(maxsize=4)
def cell_weights(device: str = "cpu") -> Tensor:
    """Weights [8, 4] of a block's pixels along one axis: row ``p`` (pixel within its 8-pixel
    cell), column ``2 * cell + half`` (which of the block's two cells it votes for, and in
    which half of the block it lies): bilinear in the distance to the cell centres, times
    the Gaussian of the distance to the block centre (separable, as the block's weights are)."""
    pos = (torch.arange(BLOCK, dtype=torch.float32) + 0.5) / CELL - 0.5  # pixel centre, in cells
    tri = (1 - (pos[None] - torch.arange(2.0)[:, None]).abs()).clamp(min=0)  # [cell, pixel]
    d = torch.arange(BLOCK, dtype=torch.float32) - BLOCK / 2
    weights = tri * torch.exp(-(d**2) / (2 * SIGMA**2))[None]  # [cell, pixel of the block]
    return weights.reshape(2, 2, CELL).permute(2, 0, 1).reshape(CELL, 4).to(device)


def _pool_axis(x: Tensor, dim: int, weights: Tensor) -> Tensor:
    """Along ``dim`` (pixels, grouped as [..., cells, 8 pixels, ...] at ``dim - 1, dim``), the
    weighted votes of overlapping blocks: [..., blocks = cells - 1, ..., 2 (block's cell)] with
    the new cell axis last."""
    x = torch.movedim(x, dim, -1) @ weights  # [..., 4]: (cell of the block, half of the block)
    x = x.unflatten(-1, (2, 2))
    x = torch.movedim(x, dim - 1, -3)  # cells axis beside the new ones: [..., cells, 2, 2]
    blocks = x[..., :-1, :, 0] + x[..., 1:, :, 1]  # a block = its first half in cell c, second in c + 1
    return torch.movedim(blocks, -2, dim - 1)  # blocks back in place, the cell-within-block axis last


def orientation_maps(images: Tensor) -> Tensor:
    """Gradient magnitude voted into orientation bins.

    Parameters
    ----------
    images : [shape=(N, 3, H, W)] float32, pixel values in [0, 255]

    Returns
    -------
    [shape=(N, 9, H, W)] float32: per bin, the magnitude (in sqrt-pixel units) voted there.
    """
    x = F.pad(images.clamp(min=0).sqrt(), (1, 1, 1, 1), mode="reflect")  # gamma: square root
    dx = x[..., 1:-1, 2:] - x[..., 1:-1, :-2]
    dy = x[..., 2:, 1:-1] - x[..., :-2, 1:-1]
    strongest = (dx * dx + dy * dy).argmax(dim=1, keepdim=True)  # channel with the largest gradient
    dx, dy = dx.gather(1, strongest)[:, 0], dy.gather(1, strongest)[:, 0]
    mag = torch.sqrt(dx * dx + dy * dy)
    pos = torch.atan2(dy, dx) * (BINS / torch.pi) - 0.5  # in bins; bin k is centred at (k + 0.5) * 20 deg
    low = torch.floor(pos)
    frac = pos - low
    low = torch.remainder(low, BINS).long()
    maps = torch.zeros(images.shape[0], BINS, *mag.shape[1:], device=images.device)
    maps.scatter_add_(1, low[:, None], (mag * (1 - frac))[:, None])
    maps.scatter_add_(1, torch.remainder(low + 1, BINS)[:, None], (mag * frac)[:, None])
    return maps


def block_features(images: Tensor) -> Tensor:
    """L2-Hys-normalised histograms of every 16x16 block at a stride of 8 pixels.

    Parameters
    ----------
    images : [shape=(N, 3, H, W)] float32 in [0, 255], H and W at least 16

    Returns
    -------
    [shape=(N, 36, (H - 16) // 8 + 1, (W - 16) // 8 + 1)] float32, channel ``bin * 4 + cell``.
    """
    maps = orientation_maps(images)
    n, _, h, w = maps.shape
    hc, wc = h // CELL, w // CELL
    cells = maps[..., : hc * CELL, : wc * CELL].reshape(n, BINS, hc, CELL, wc, CELL)
    weights = cell_weights(str(images.device))
    cx = _pool_axis(cells, 5, weights)  # [n, bins, hc, 8, wc - 1, cx]
    cxy = _pool_axis(cx, 3, weights)  # [n, bins, hc - 1, wc - 1, cx, cy]
    hist = cxy.permute(0, 1, 4, 5, 2, 3).reshape(n, BINS * 4, hc - 1, wc - 1)  # channel bin * 4 + 2 * cx + cy
    hist = hist / (hist.norm(dim=1, keepdim=True) + 0.1 * hist.shape[1])
    hist = hist.clamp(max=L2HYS)
    return hist / (hist.norm(dim=1, keepdim=True) + 1e-3)


def window_scores(images: Tensor) -> Tensor:
    """SVM score of every 64x128 window at a stride of 8 pixels (> 0: a person).

    Parameters
    ----------
    images : [shape=(N, 3, H, W)] float32 in [0, 255], H >= 128, W >= 64

    Returns
    -------
    [shape=(N, (H - 128) // 8 + 1, (W - 64) // 8 + 1)] float32: entry (i, j) scores the window
    with its top-left corner at pixel (x=8j, y=8i).
    """
    weight, rho = people_svm(str(images.device))
    return F.conv2d(block_features(images), weight)[:, 0] + rho


def pyramid_scales(height: int, width: int) -> list[float]:
    """Shrink factors of the pyramid's levels (1, 1.05, 1.05², ...) at which the window fits."""
    scales, scale = [], 1.0
    while len(scales) < MAX_LEVELS and round(width / scale) >= WIN_W and round(height / scale) >= WIN_H:
        scales.append(scale)
        scale *= SCALE_STEP
    return scales


def detect_windows(frames: Tensor, threshold: float) -> list[tuple[Tensor, Tensor]]:
    """Every window over the pyramid scoring at least ``threshold``, per frame.

    Parameters
    ----------
    frames : [shape=(N, H, W, 3)] uint8 RGB (on the device to compute on)
    threshold : SVM score a window needs (0 is the SVM's margin)

    Returns
    -------
    per frame, (boxes [shape=(M, 4)] float32 (x0, y0, x1, y1) in pixels of the frame, scores
    [shape=(M,)] float32), on the frames' device.
    """
    n, height, width = frames.shape[:3]
    images = frames.permute(0, 3, 1, 2).float()
    found: list[list[Tensor]] = [[] for _ in range(n)]
    for scale in pyramid_scales(height, width):
        size = (round(height / scale), round(width / scale))
        level = images if scale == 1.0 else F.interpolate(images, size=size, mode="bilinear", align_corners=False)
        scores = window_scores(level.round().clamp(0, 255))  # cv2 resizes uint8 to uint8
        hit = (scores >= threshold).nonzero()  # [M, 3]: frame, row, column
        y, x = hit[:, 1].float() * STRIDE * scale, hit[:, 2].float() * STRIDE * scale
        rows = torch.stack([hit[:, 0].float(), x, y, x + WIN_W * scale, y + WIN_H * scale,
                            scores[hit[:, 0], hit[:, 1], hit[:, 2]]], dim=1)
        for i in hit[:, 0].unique().tolist():
            found[i].append(rows[hit[:, 0] == i, 1:])
    out = []
    for parts in found:
        rows = torch.cat(parts) if parts else torch.zeros(0, 5, device=frames.device)
        out.append((rows[:, :4], rows[:, 4]))
    return out


def group_windows(boxes: Tensor, scores: Tensor, *, eps: float = GROUP_EPS,
                  min_hits: int = GROUP_MIN) -> tuple[Tensor, Tensor]:
    """Windows of one frame grouped into people, as ``cv2.groupRectangles(rects, weights,
    min_hits - 1, eps)`` does.

    Windows are linked when each corner of one lies within ``eps * (min width + min height)
    / 2`` of the other's; a group (a chain of links) with at least ``min_hits`` windows gives
    their mean box and best score, unless it lies inside another group's box (grown by
    ``eps``) that has more windows (more than max(3, its own), or it has under 3).

    Parameters
    ----------
    boxes : [shape=(M, 4)] float32 (x0, y0, x1, y1) pixels; scores : [shape=(M,)] float32

    Returns
    -------
    (boxes [shape=(K, 4)], scores [shape=(K,)]), strongest first.
    """
    if boxes.shape[0] == 0:
        return boxes, scores
    size = boxes[:, 2:] - boxes[:, :2]  # [M, 2] width, height
    delta = eps * torch.minimum(size[:, None], size[None]).sum(-1) / 2  # [M, M] pixels
    group = components(((boxes[:, None] - boxes[None]).abs() <= delta[..., None]).all(-1))
    groups = int(group.max()) + 1
    count = torch.zeros(groups, device=boxes.device).index_add_(0, group, torch.ones_like(scores))
    mean = torch.zeros(groups, 4, device=boxes.device).index_add_(0, group, boxes) / count[:, None]
    best = torch.full((groups,), -torch.inf, device=boxes.device).scatter_reduce(0, group, scores, "amax")
    keep = count >= min_hits
    mean, best, count = mean[keep], best[keep], count[keep]
    keep = ~_inside_stronger(mean, count, eps)
    order = best[keep].argsort(descending=True)
    return mean[keep][order], best[keep][order]


def components(linked: Tensor) -> Tensor:
    """Connected components of the graph ``linked`` [shape=(M, M)] bool (symmetric): [shape=(M,)]
    int64 ids 0, 1, ... in order of each component's first node (min-label propagation)."""
    labels = torch.arange(linked.shape[0], device=linked.device)
    while True:  # every node takes the smallest label it is linked to
        new = torch.where(linked, labels[None], linked.shape[0]).amin(dim=1)
        if torch.equal(new, labels):
            return torch.unique(labels, return_inverse=True)[1]
        labels = new


def _inside_stronger(boxes: Tensor, count: Tensor, eps: float) -> Tensor:
    """[shape=(K,)] bool: box i lies inside another box j (grown by ``eps`` of j's size) that
    has more windows than max(3, i's), or i has under 3 (``cv2.groupRectangles``' last step)."""
    grow = eps * (boxes[:, 2:] - boxes[:, :2])  # of the outer box j
    inside = ((boxes[:, None, :2] >= boxes[None, :, :2] - grow[None])
              & (boxes[:, None, 2:] <= boxes[None, :, 2:] + grow[None])).all(-1)  # [i, j]
    stronger = (count[None] > torch.clamp(count[:, None], min=3)) | (count[:, None] < 3)
    return (inside & stronger & ~torch.eye(boxes.shape[0], dtype=torch.bool, device=boxes.device)).any(1)


def detect(frames: Tensor, threshold: float = 0.0) -> list[tuple[Tensor, Tensor]]:
    """People in each frame: grouped windows (see :func:`group_windows`) scoring at least
    ``threshold`` (SVM score; 0 = the margin, OpenCV's default hitThreshold).

    Parameters
    ----------
    frames : [shape=(N, H, W, 3)] uint8 RGB, on the device to compute on; H >= 128, W >= 64
        (smaller frames find nobody: upscale them first)

    Returns
    -------
    per frame, (boxes [shape=(K, 4)] float32 (x0, y0, x1, y1) in pixels of the frame,
    scores [shape=(K,)] float32 SVM scores), strongest first, on the frames' device.
    """
    n, height, width = frames.shape[:3]
    per_batch = max(1, BATCH_PIXELS["cuda" if frames.is_cuda else "cpu"] // max(1, height * width))
    out = []
    for a in range(0, n, per_batch):
        out += [group_windows(b, s) for b, s in detect_windows(frames[a : a + per_batch], threshold)]
    return out
