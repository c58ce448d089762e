"""Typed configuration objects built from plain mappings (e.g. a composed Hydra config).

The library takes these objects; it never reads Hydra, globals or environment variables
for tunables. :func:`analysis_config` validates every key, so a typo in an override is
an error that names the key rather than a silently ignored value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from videothat.audio.config import NoveltyConfig
from videothat.errors import ParameterError
from videothat.index.config import IndexConfig, LearnedConfig, RhythmConfig, TimbreConfig
from videothat.match.config import ScoreConfig, SearchConfig
from videothat.media.shots import ShotConfig

if TYPE_CHECKING:
    import torch

DEVICE_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


@dataclass(frozen=True, kw_only=True)
class AnalysisConfig:
    """How files are analysed: audio novelty, shot detection, batching and device."""

    novelty: NoveltyConfig = field(default_factory=NoveltyConfig)
    shots: ShotConfig = field(default_factory=ShotConfig)
    silence_db: float = -60.0  # dBFS; a file whose audio peak is below this is rejected as silent
    batch_seconds: float = 600.0  # s of shot audio per novelty batch (bounds device memory)
    batch_frames: int | None = None  # STFT frames per block; None = per-device default
    workers: int = 2  # files decoded and cut into shots concurrently
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self) -> None:
        if not self.batch_seconds > 0:
            raise ParameterError(f"batch_seconds={self.batch_seconds} must be positive")
        if self.batch_frames is not None and self.batch_frames < 1:
            raise ParameterError(f"batch_frames={self.batch_frames} must be >= 1 or null")
        if self.workers < 1:
            raise ParameterError(f"workers={self.workers} must be >= 1")
        if self.silence_db > 0:
            raise ParameterError(f"silence_db={self.silence_db} dBFS must be <= 0")
        if not DEVICE_NAME.match(self.device):
            raise ParameterError(f"device={self.device!r} must be auto, cpu, cuda or cuda:N")

    def cache_params(self) -> dict[str, object]:
        """The parameters that change analysis results (the cache key)."""
        return {
            "novelty": self.novelty.as_dict(),
            "shots": self.shots.as_dict(),
            "silence_db": self.silence_db,
        }


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; other names are checked."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ParameterError(f"device={name!r} is not a device name (auto, cpu, cuda, cuda:N)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device={name!r} asked for, but CUDA is not available here; use auto or cpu")
    return device


def _build(cls: type, section: str, values: Mapping[str, object]):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ParameterError(f"unknown key(s) {', '.join(section + '.' + k for k in unknown)}; "
                             f"known: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ParameterError(f"{section}: {exc}") from exc


def analysis_config(cfg: Mapping[str, object]) -> AnalysisConfig:
    """Build an :class:`AnalysisConfig` from the ``audio``, ``shots`` and ``analysis`` sections.

    ``audio`` holds :class:`NoveltyConfig` fields, ``shots`` :class:`ShotConfig` fields,
    ``analysis`` the rest of :class:`AnalysisConfig`; ``device`` is top level.
    """
    audio = dict(cfg.get("audio", {}))
    analysis = dict(cfg.get("analysis", {}))
    return _build(
        AnalysisConfig,
        "analysis",
        {
            "novelty": _build(NoveltyConfig, "audio", audio),
            "shots": _build(ShotConfig, "shots", dict(cfg.get("shots", {}))),
            "device": str(cfg.get("device", "auto")),
            **analysis,
        },
    )


@dataclass(frozen=True, kw_only=True)
class MatchConfig:
    """How shots are scored and placed: :class:`ScoreConfig` and :class:`SearchConfig`."""

    score: ScoreConfig = field(default_factory=ScoreConfig)
    search: SearchConfig = field(default_factory=SearchConfig)


def match_config(cfg: Mapping[str, object]) -> MatchConfig:
    """Build a :class:`MatchConfig` from the flat ``match`` section."""
    section = dict(cfg.get("match", {}))
    score_keys = {f.name for f in fields(ScoreConfig)}
    search_keys = {f.name for f in fields(SearchConfig)}
    unknown = sorted(set(section) - score_keys - search_keys)
    if unknown:
        raise ParameterError(f"unknown key(s) {', '.join('match.' + k for k in unknown)}; "
                             f"known: {', '.join(sorted(score_keys | search_keys))}")
    return MatchConfig(
        score=_build(ScoreConfig, "match", {k: v for k, v in section.items() if k in score_keys}),
        search=_build(SearchConfig, "match", {k: v for k, v in section.items() if k in search_keys}),
    )


def index_config(section: Mapping[str, object]) -> IndexConfig:
    """Build an :class:`IndexConfig` from the ``index`` section (unknown keys rejected)."""
    values = dict(section)
    for name, cls in (("rhythm", RhythmConfig), ("timbre", TimbreConfig), ("learned", LearnedConfig)):
        if name in values:
            values[name] = _build(cls, f"index.{name}", dict(values[name]))
    return _build(IndexConfig, "index", values)


def render_config(cfg: Mapping[str, object]):
    """Build a :class:`videothat.media.render.RenderConfig` from the ``render`` section."""
    from videothat.media.render import RenderConfig

    return _build(RenderConfig, "render", dict(cfg.get("render", {})))
