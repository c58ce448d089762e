"""Which shots are worth placing by how they look: too dark, too blurred, too still, or a
near duplicate of another (``match.min_brightness``, ``min_sharpness``, ``min_motion``,
``duplicates``), from the shots' :class:`~videothat.core.records.ShotLooks`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from videothat.core.records import FileAnalysis, ShotLooks

log = logging.getLogger(__name__)


def keep_masks(videos: Sequence[FileAnalysis], *, min_brightness: float = 0.0, min_sharpness: float = 0.0,
               min_motion: float = 0.0, duplicates: int = -1) -> list[np.ndarray]:
    """Per video, [shape=(S_i,)] bool: the shots at least as bright, sharp and moving as
    asked (units of :class:`~videothat.core.records.ShotLooks`). Videos whose pictures were
    not analysed keep every shot. Of a group of near duplicates (signatures within
    ``duplicates`` bits, over all videos; -1 = off) the longest shot stays."""
    masks = []
    for a in videos:
        keep = np.ones(len(a.shots), bool)
        if a.looks is not None:
            keep &= a.looks.brightness >= min_brightness
            keep &= a.looks.sharpness >= min_sharpness
            keep &= a.looks.motion >= min_motion
        masks.append(keep)
    if duplicates >= 0:
        _drop_duplicates(videos, masks, duplicates)
    dropped = sum(int((~m).sum()) for m in masks)
    if dropped:
        log.info("looks: %d of %d shots left out (dark, blurred, still or duplicates)", dropped,
                 sum(len(m) for m in masks))
    return masks


def _drop_duplicates(videos: Sequence[FileAnalysis], masks: list[np.ndarray], max_distance: int) -> None:
    import torch

    from videothat.vision.quality import near_duplicates

    rows = [(v, i) for v, a in enumerate(videos) if a.looks is not None for i in np.flatnonzero(masks[v])]
    if len(rows) < 2:
        return
    signatures = torch.from_numpy(np.stack([videos[v].looks.signature[i] for v, i in rows]))
    groups = near_duplicates(signatures, max_distance).numpy()
    lengths = np.array([videos[v].shots[i].duration for v, i in rows])
    order = np.lexsort((-lengths, groups))  # by group, longest first
    first = np.ones(len(order), bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    for k in order[~first]:
        v, i = rows[k]
        masks[v][i] = False


def keep_shots(a: FileAnalysis, keep: np.ndarray) -> FileAnalysis:
    """``a`` with only the shots ``keep`` [shape=(S,)] bool (and their curves and looks)."""
    if keep.all():
        return a
    index = np.flatnonzero(keep)

    def pick(items):
        return None if items is None else [items[i] for i in index]

    looks = None if a.looks is None else ShotLooks(*(np.asarray(x)[index] for x in (
        a.looks.brightness, a.looks.sharpness, a.looks.motion, a.looks.signature)))
    return replace(a, shots=pick(a.shots), novelty=pick(a.novelty), chroma=pick(a.chroma), visual=pick(a.visual),
                   looks=looks)
