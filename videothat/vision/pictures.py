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
from videothat.core.records import FileAnalysis, ShotLooks
from videothat.vision.config import MotionConfig

if TYPE_CHECKING:
    import torch

    from videothat.catalog import Catalog

log = logging.getLogger(__name__)

PER_FRAME = ("impacts", "motion", "brightness", "sharpness", "signature", "fps")


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
                arrays, status = _picture_arrays(a, config, catalog, device, seconds)
            except VideoThatError as exc:
                failed.append((a.source, f"{exc} (pictures)"))
                progress.advance("pictures", status="failed")
                continue
            looks = shot_looks(arrays, [(s.start, s.end) for s in a.shots])
            kept.append(replace(with_impacts(a, arrays["impacts"], float(arrays["fps"])), looks=looks))
            progress.advance("pictures", status=status)
    finally:
        progress.finish("pictures")
    return kept, failed


def _picture_arrays(a: FileAnalysis, config: MotionConfig, catalog: Catalog, device: Callable[[], torch.device],
                 seconds: dict[str, float]) -> tuple[dict[str, np.ndarray], str]:
    """(the whole-file picture arrays (:func:`analyse_pictures`), cached | analysed) of one video."""
    params = config.as_dict()
    cached = catalog.get_pictures(a.content_hash, params)
    if cached is not None and set(cached) >= set(PER_FRAME):
        return cached, "cached"
    from videothat.media.frames import VideoFrames

    with timed("pictures", seconds):
        arrays = analyse_pictures(VideoFrames(a.source), config, device=device())
    catalog.put_pictures(a.content_hash, params, arrays)
    return arrays, "analysed"


def analyse_pictures(video, config: MotionConfig, *, device: torch.device | str = "cpu",
                     chunk_frames: int = 2048) -> dict[str, np.ndarray]:
    """Everything the matcher reads from a video's frames, per frame, in one decoding pass:
    ``impacts`` (:func:`~videothat.vision.motion.file_impacts`), ``motion`` (mean flow
    magnitude from each frame to the next, pixels/frame; the last frame repeats the one
    before), ``brightness``, ``sharpness`` and ``signature`` (:mod:`~videothat.vision.quality`;
    signatures packed, [shape=(count, 8)] uint8), all at ``config.height`` pixels, and ``fps``."""
    import torch

    from videothat.vision.motion import decelerations, directograms, frame_chunks, to_gray
    from videothat.vision.quality import brightness, sharpness, signature

    parts: dict[str, list] = {k: [] for k in ("directo", "brightness", "sharpness", "signature")}
    for a, frames in frame_chunks(video, config.height, device=device, chunk_frames=chunk_frames):
        parts["directo"].append(directograms(to_gray(frames), config))
        own = frames if a == 0 else frames[1:]  # the shared first frame is the last chunk's
        for name, measure in (("brightness", brightness), ("sharpness", sharpness), ("signature", signature)):
            parts[name].append(measure(own))
    directo = torch.cat(parts["directo"])
    motion = directo.sum(-1)  # mean flow magnitude per pair: directogram bins share the pixels
    motion = torch.cat([motion, motion[-1:] if len(motion) else motion.new_zeros(1)])
    out = {"impacts": decelerations(directo, video.count), "motion": motion}
    out.update({k: torch.cat(parts[k]) for k in ("brightness", "sharpness", "signature")})
    arrays = {k: v.cpu().numpy() for k, v in out.items()}
    arrays["signature"] = np.packbits(arrays["signature"], axis=1)
    return {**{k: v.astype(np.float32) if k != "signature" else v for k, v in arrays.items()},
            "fps": np.array(video.fps, np.float64)}


def shot_looks(arrays: dict[str, np.ndarray], spans: Sequence[tuple[float, float]]) -> ShotLooks:
    """Per shot (``spans`` in seconds) the medians of brightness and sharpness, the mean
    motion and the middle frame's signature, from :func:`analyse_pictures`' arrays."""
    fps, n = float(arrays["fps"]), len(arrays["brightness"])
    bounds = np.asarray(list(spans), np.float64).reshape(-1, 2)
    first = np.clip(np.round(bounds[:, 0] * fps).astype(np.int64), 0, n - 1)
    last = np.clip(np.round(bounds[:, 1] * fps).astype(np.int64), first + 1, n)  # exclusive
    mid = (first + last - 1) // 2
    # medians per shot: shots are few (tens per file); each a slice of the per-frame arrays
    medians = {k: np.array([np.median(arrays[k][a:b]) for a, b in zip(first, last, strict=True)], np.float32)
               for k in ("brightness", "sharpness")}
    csum = np.concatenate([[0.0], np.cumsum(arrays["motion"], dtype=np.float64)])
    motion = ((csum[last] - csum[first]) / (last - first)).astype(np.float32)
    signature = np.unpackbits(arrays["signature"][mid], axis=1)[:, :64].astype(bool)
    return ShotLooks(medians["brightness"], medians["sharpness"], motion, signature)


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
