"""People outlined in the rendered video (``render.outline=people``).

:func:`draw_outline` draws person boxes, and the contours of their masks where the detector
gives masks, onto an RGB frame; :func:`people_overlay` makes the callable the renderer
(:func:`videothat.media.render.render`'s ``overlay``) applies to each source picture before
it is fitted and encoded, detecting people lazily as the render reaches each source time.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videothat.core.errors import ParameterError
from videothat.vision.people import MASKRCNN_SIZE, Detections, PersonConfig, detect_people, load_maskrcnn

if TYPE_CHECKING:
    import torch

COLOR = (0, 255, 0)  # RGB of the outline: bright green
WIDTH = 2  # pixels: outline thickness
EVERY = 0.2  # s of source time one detection serves (people move little in 0.2 s)
CACHE = 64  # detections kept (a render reads each source forwards: only recent ones matter)


def draw_outline(frame: np.ndarray, detections: Detections, *, color: tuple[int, int, int] = COLOR,
                 width: int = WIDTH) -> np.ndarray:
    """``frame`` with each detected person's box, and mask contour if any, drawn on it.

    Parameters
    ----------
    frame : [shape=(H, W, 3)] uint8 RGB; left unchanged
    detections : people found in this frame, or in a frame of the same picture at another
        size (boxes and masks are scaled from ``detections.size`` to H x W)
    color : RGB of the lines; width : pixels, lines drawn inside each box's edges

    Returns
    -------
    A new [shape=(H, W, 3)] uint8 array.
    """
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ParameterError(f"frame of shape {frame.shape} and dtype {frame.dtype} must be [H, W, 3] uint8 RGB")
    if width < 1:
        raise ParameterError(f"width={width} pixels must be >= 1")
    out = frame.copy()
    lines = box_lines(detections, frame.shape[:2], width)
    if detections.masks is not None and len(detections):
        lines |= mask_contours(detections.masks, frame.shape[:2], width)
    out[lines] = color
    return out


def box_lines(detections: Detections, size: tuple[int, int], width: int) -> np.ndarray:
    """Pixels [shape=size] bool on the edges of the boxes (``width`` pixels inside each edge),
    boxes scaled from ``detections.size`` to ``size`` (H, W)."""
    height, w_ = size
    lines = np.zeros(size, bool)
    if not len(detections):
        return lines
    scale = np.array([w_ / detections.size[1], height / detections.size[0]] * 2, np.float32)
    boxes = np.round(detections.boxes * scale).astype(np.int64)
    boxes = np.clip(boxes, 0, [w_, height, w_, height])
    for x0, y0, x1, y1 in boxes.tolist():  # K boxes (a few): one slice assignment per edge
        if x1 <= x0 or y1 <= y0:
            continue
        lines[y0 : min(y0 + width, y1), x0:x1] = True
        lines[max(y1 - width, y0) : y1, x0:x1] = True
        lines[y0:y1, x0 : min(x0 + width, x1)] = True
        lines[y0:y1, max(x1 - width, x0) : x1] = True
    return lines


def mask_contours(masks: np.ndarray, size: tuple[int, int], width: int) -> np.ndarray:
    """Pixels [shape=size] bool within ``width`` pixels inside the edge of any mask of
    ``masks`` [shape=(K, h, w)] bool (resized to ``size`` (H, W), nearest-neighbour); the
    frame's border is not an edge."""
    if masks.shape[1:] != tuple(size):
        rows = np.minimum((np.arange(size[0]) + 0.5) * masks.shape[1] / size[0], masks.shape[1] - 1).astype(int)
        cols = np.minimum((np.arange(size[1]) + 0.5) * masks.shape[2] / size[1], masks.shape[2] - 1).astype(int)
        masks = masks[:, rows][:, :, cols]
    inner = masks.copy()  # erosion by a (2 width + 1)-pixel square: separable minimum
    for axis in (1, 2):
        padded = np.pad(inner, [(0, 0)] + [(width, width) if a == axis else (0, 0) for a in (1, 2)], mode="edge")
        n = inner.shape[axis]
        inner = np.logical_and.reduce([padded.take(range(k, k + n), axis=axis) for k in range(2 * width + 1)])
    return (masks & ~inner).any(axis=0)


Detect = Callable[[np.ndarray], "list[Detections]"]


class PeopleOverlay:
    """The renderer's ``overlay``: outlines the people in pictures of ``sources``.

    Called as ``overlay(source, time, frame)`` with a source's path, the source time (s) the
    picture shows and the picture [shape=(H, W, 3)] uint8 RGB; returns the outlined picture,
    or None (the picture stays as decoded) when nobody is there or ``source`` is not one of
    ``sources``. People are detected in the first picture the render shows of each
    ``every``-second stretch of a source (time bucket ``floor(time / every)``) and those
    detections serve the whole stretch; the last :data:`CACHE` buckets are kept.

    Parameters
    ----------
    sources : the videos whose people to outline
    detect : frames [shape=(N, H, W, 3)] uint8 -> N :class:`Detections` (see :func:`people_overlay`)
    every : s of source time one detection serves, > 0
    """

    def __init__(self, sources: Iterable[str | Path], detect: Detect, *, every: float = EVERY) -> None:
        if not (math.isfinite(every) and every > 0):
            raise ParameterError(f"every={every} s must be > 0")
        self.sources = {Path(s) for s in sources}
        self.detect, self.every = detect, every
        self.detections: OrderedDict[tuple[Path, int], Detections] = OrderedDict()
        self.calls = 0  # detections run (for tests and progress)

    def __call__(self, source: Path, time: float, frame: np.ndarray) -> np.ndarray | None:
        source = Path(source)
        if source not in self.sources:
            return None
        key = (source, math.floor(time / self.every + 1e-9))
        found = self.detections.get(key)
        if found is None:
            found = self.detect(frame[None])[0]
            self.calls += 1
            self.detections[key] = found
            if len(self.detections) > CACHE:
                self.detections.popitem(last=False)
        return draw_outline(frame, found) if len(found) else None


def people_overlay(sources: Iterable[str | Path], config: PersonConfig, device: torch.device | str = "cpu", *,
                   every: float = EVERY, detect: Detect | None = None) -> PeopleOverlay:
    """The ``overlay`` for :func:`videothat.media.render.render` that outlines people.

    Parameters
    ----------
    sources : the videos whose people to outline (others are left as they are)
    config : the person detector (a ``maskrcnn`` model is loaded here, so a bad weights file
        fails before the render starts)
    device : where detection runs
    every : s of source time one detection serves (see :class:`PeopleOverlay`)
    detect : frames [shape=(N, H, W, 3)] uint8 -> N Detections, instead of
        ``detect_people(frames, config, device)`` (tests, or detections made beforehand)

    Examples
    --------
    >>> overlay = people_overlay([clip], PersonConfig(), "cpu")  # doctest: +SKIP
    >>> render(timeline, out, RenderConfig(outline="people"), song_audio=a, song_rate=sr,
    ...        overlay=overlay)  # doctest: +SKIP
    """
    if detect is None:
        if config.detector == "maskrcnn":
            load_maskrcnn(config.weights, device, size=config.size or MASKRCNN_SIZE)

        def detect(frames: np.ndarray) -> list[Detections]:
            return detect_people(frames, config, device)

    return PeopleOverlay(sources, detect, every=every)
