"""The pictures' part of the analysis stage: each video's visual impact curve, cached.

Each video is decoded small (``MotionConfig.height``) and its impact curve computed over
the whole file once (:func:`~videothat.vision.motion.file_impacts`), stored in the
catalog under the file's content hash and the motion parameters, then read per shot on
the novelty frames (:func:`~videothat.vision.motion.shot_impacts`), so changing the shot
detection or the audio parameters never decodes the pictures again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videothat.core.errors import VideoThatError
from videothat.core.progress import Progress, timed
from videothat.core.records import FileAnalysis
from videothat.vision.config import MotionConfig

if TYPE_CHECKING:
    import torch

    from videothat.catalog import Catalog

log = logging.getLogger(__name__)


def attach_impacts(analyses: list[FileAnalysis], config: MotionConfig, *, catalog: Catalog, progress: Progress,
                   device: Callable[[], torch.device], seconds: dict[str, float] | None = None
                   ) -> tuple[list[FileAnalysis], list[tuple[Path, str]]]:
    """Every video of ``analyses`` with its per-shot impact curves (``visual``), from the
    catalog or computed on ``device()`` (called only if a file is not cached); the others
    unchanged. Returns (the analyses, in order, less the videos whose frames cannot be
    decoded; those as (path, message)). ``progress`` hears stage ``pictures`` advance per
    video with status ``cached``, ``analysed`` or ``failed``; ``seconds["pictures"]`` adds
    the time spent computing."""
    seconds = {} if seconds is None else seconds
    progress.start("pictures", sum(a.has_video for a in analyses), "file")
    kept, failed = [], []
    try:
        for a in analyses:
            if not a.has_video:
                kept.append(a)
                continue
            try:
                curve, fps, status = _whole_curve(a, config, catalog, device, seconds)
            except VideoThatError as exc:
                failed.append((a.source, f"{exc} (pictures)"))
                progress.advance("pictures", status="failed")
                continue
            kept.append(with_impacts(a, curve, fps))
            progress.advance("pictures", status=status)
    finally:
        progress.finish("pictures")
    return kept, failed


def _whole_curve(a: FileAnalysis, config: MotionConfig, catalog: Catalog, device: Callable[[], torch.device],
                 seconds: dict[str, float]) -> tuple[np.ndarray, float, str]:
    """(whole-file impact curve, video fps, cached | analysed) of one video."""
    params = config.as_dict()
    cached = catalog.get_impacts(a.content_hash, params)
    if cached is not None:
        return (*cached, "cached")
    from videothat.media.frames import VideoFrames
    from videothat.vision.motion import file_impacts

    with timed("pictures", seconds):
        video = VideoFrames(a.source)
        curve = file_impacts(video, config, device=device()).cpu().numpy().astype(np.float32)
    catalog.put_impacts(a.content_hash, params, curve, video.fps)
    return curve, video.fps, "analysed"


def with_impacts(a: FileAnalysis, curve: np.ndarray, fps: float) -> FileAnalysis:
    """``a`` with ``visual``: its whole-file impact curve ``curve`` [shape=(frames,)] at ``fps``
    read per shot on the frames of its novelty curves (:func:`shot_impacts`)."""
    per_shot = shot_impacts(curve, fps, [(s.start, s.end) for s in a.shots], [len(n) for n in a.novelty],
                            frame_rate=a.frame_rate)
    return replace(a, visual=per_shot)


def shot_impacts(curve: np.ndarray, fps: float, spans: Sequence[tuple[float, float]], lengths: Sequence[int], *,
                 frame_rate: float) -> list[np.ndarray]:
    """Per shot, a whole-file impact curve ``curve`` [shape=(count,)] at ``fps`` read at
    ``frame_rate`` frames/s from the shot's start: [shape=(lengths[i],)] float32 each, frame
    ``j`` at ``start_i + j / frame_rate`` s, linearly interpolated between video frames.

    Only the shot's own frames count (frames ``round(start * fps)`` to ``round(end * fps) - 1``,
    ``spans`` in seconds): its first and last frames read 0, as for a shot analysed alone
    (:func:`~videothat.vision.motion.impact_curves`), since their flow pairs reach across
    the cut; after its last frame the curve is 0. All shots in one gather (numpy: a cached
    analysis needs no torch).
    """
    curve = np.asarray(curve, np.float32)
    n, sizes = len(curve), np.asarray(list(lengths), np.int64)
    if n == 0 or sizes.sum() == 0:
        return [np.zeros(k, np.float32) for k in sizes]
    bounds = np.asarray(list(spans), np.float64).reshape(-1, 2)
    first = np.clip(np.round(bounds[:, 0] * fps).astype(np.int64), 0, n)
    last = np.minimum(np.round(bounds[:, 1] * fps).astype(np.int64) - 1, n - 1)  # inclusive
    shot = np.repeat(np.arange(len(sizes)), sizes)
    step = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    position = (bounds[shot, 0] + step / frame_rate) * fps  # video frames
    lo = np.floor(position).astype(np.int64)
    frac = (position - lo).astype(np.float32)

    def read(index: np.ndarray) -> np.ndarray:  # the curve inside the shot; its edge frames and outside: 0
        inside = (index > first[shot]) & (index < last[shot])
        return np.where(inside, curve[np.clip(index, 0, n - 1)], np.float32(0))

    values = (read(lo) * (1 - frac) + read(lo + 1) * frac).astype(np.float32)
    return np.split(values, np.cumsum(sizes)[:-1])
