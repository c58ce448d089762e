"""Sounds described frame by frame for the mosaic (and their onsets), through the cache.

Each file's description (:func:`videothat.audio.units.unit_descriptors` at a frame rate,
its onset frames, its peak level) is cached under its content hash and the description
parameters, so a second mosaic over the same footage decodes nothing. Files not in the
cache are decoded and described in batches of bounded size, batched on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videothat.analysis import Failure
from videothat.catalog import Catalog
from videothat.core.errors import MediaError
from videothat.media.audio import decode_audio
from videothat.pipeline.run import Run

SR = 22050  # Hz the sounds are described at
DESCRIPTION_VERSION = 1  # bump when the description changes (cache entries of other versions are misses)
DECODE_BUDGET = 1 << 25  # samples decoded before a batch is described (about 25 min of sound, 128 MB)


@dataclass(frozen=True)
class Described:
    """One sound described frame by frame: ``frame_rate`` frames per second."""

    path: Path
    digest: str  # content hash of the file
    shape: np.ndarray  # [shape=(F, n_mels)] float32 loudness-normalised log-mel spectra
    loudness: np.ndarray  # [shape=(F,)] float32 mean log-mel power
    onsets: np.ndarray  # [shape=(O,)] int64 frames of its onsets (empty unless asked for)
    samples: int  # at SR
    peak: float  # largest absolute sample (full scale 1)

    @property
    def duration(self) -> float:
        return self.samples / SR


def describe_sounds(paths: Sequence[Path], *, frame_rate: float, n_mels: int, onsets: bool, run: Run,
                    stage: str = "describe") -> tuple[list[Described], list[Failure]]:
    """The descriptions of ``paths`` (in order, files that fail left out) and the failures,
    reporting one step per file to ``run.progress`` under ``stage``."""
    params = {"kind": "sound-units", "version": DESCRIPTION_VERSION, "sample_rate": SR, "frame_rate": frame_rate,
              "n_mels": n_mels, "onsets": onsets}
    found: dict[Path, Described] = {}
    failures: list[Failure] = []
    pending: list[tuple[Path, str, np.ndarray]] = []
    run.progress.start(stage, len(paths), "file")
    catalog = Catalog(run.cache_dir, params)
    try:
        for path in paths:
            digest = catalog.hash_of(path)
            cached = catalog.get_arrays(digest, params, ".units")
            if cached is not None:
                found[path] = _from_arrays(path, digest, cached)
                run.progress.advance(stage, 1, "cached")
                continue
            try:
                pending.append((path, digest, decode_audio(path, SR)))
            except MediaError as exc:
                failures.append(Failure(path, str(exc)))
                run.progress.advance(stage, 1, "failed")
            if sum(s.size for _, _, s in pending) >= DECODE_BUDGET:
                _describe_pending(pending, found, catalog, params, run, stage)
        _describe_pending(pending, found, catalog, params, run, stage)
    finally:
        catalog.close()
        run.progress.finish(stage)
    return [found[p] for p in paths if p in found], failures


def _describe_pending(pending: list[tuple[Path, str, np.ndarray]], found: dict[Path, Described], catalog: Catalog,
                      params: dict[str, object], run: Run, stage: str) -> None:
    """Describe the decoded sounds of ``pending`` in one batch, cache each, empty the list."""
    if not pending:
        return
    for (path, digest, _), described in zip(pending, _describe([s for _, _, s in pending], params, run), strict=True):
        catalog.put_arrays(digest, params, ".units", _to_arrays(described))
        found[path] = Described(path, digest, *described)
        run.progress.advance(stage, 1, "analysed")
    pending.clear()


def _describe(sounds: list[np.ndarray], params: dict[str, object], run: Run
              ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int, float]]:
    """(shape, loudness, onset frames, samples, peak) of each sound at SR."""
    import torch

    from videothat.audio.units import unit_descriptors

    frame_rate = float(params["frame_rate"])
    tensors = [torch.from_numpy(s) for s in sounds]
    described = unit_descriptors(tensors, sample_rate=SR, unit_rate=frame_rate, n_mels=int(params["n_mels"]),
                                 device=run.device)
    onsets = _onset_frames(tensors, frame_rate, run) if params["onsets"] else [np.zeros(0, np.int64)] * len(sounds)
    return [(shape.cpu().numpy(), loud.cpu().numpy(), found, s.size, float(np.abs(s).max()) if s.size else 0.0)
            for (shape, loud), found, s in zip(described, onsets, sounds, strict=True)]


def _onset_frames(sounds: list, frame_rate: float, run: Run) -> list[np.ndarray]:
    """Onsets of each sound (spectral flux peaks, as librosa's ``onset_detect``) as frames at ``frame_rate``."""
    from videothat.audio.config import NoveltyConfig
    from videothat.audio.novelty import onset_strength
    from videothat.audio.onsets import onset_frames

    config = NoveltyConfig(sample_rate=SR, chroma=False)
    out = []
    for i in range(0, len(sounds), 16):  # a few sounds per call: the curves are padded to the longest
        batch = onset_strength(sounds[i : i + 16], config=config, device=run.device)
        for curve in batch.unbatch():
            frames = onset_frames(curve.numpy(), frame_rate=config.frame_rate)
            out.append(np.round(frames / config.frame_rate * frame_rate).astype(np.int64))
    return out


def _to_arrays(described: tuple[np.ndarray, np.ndarray, np.ndarray, int, float]) -> dict[str, np.ndarray]:
    shape, loudness, onsets, samples, peak = described
    return {"shape": shape, "loudness": loudness, "onsets": onsets, "samples": np.array(samples),
            "peak": np.array(peak)}


def _from_arrays(path: Path, digest: str, arrays: dict[str, np.ndarray]) -> Described:
    return Described(path, digest, arrays["shape"], arrays["loudness"], arrays["onsets"].astype(np.int64),
                     int(arrays["samples"]), float(arrays["peak"]))
