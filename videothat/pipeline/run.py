"""The parameter objects every job takes: its configs, and the run it is part of."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.analysis import AnalysisConfig
from videothat.catalog import Catalog
from videothat.core.device import check_device_name, resolve_device
from videothat.core.progress import NoProgress, Progress
from videothat.index.config import IndexConfig
from videothat.match.config import MatchConfig
from videothat.media.config import RenderConfig

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, kw_only=True)
class Configs:
    """Every stage's config, as one object (built from the Hydra config by :mod:`videothat.settings`)."""

    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    index: IndexConfig = field(default_factory=IndexConfig)


class Run:
    """What a job needs beside its inputs and configs: the analysis cache folder, the device
    (``auto``, ``cpu``, ``cuda:N``; resolved once, on first use, so a job served from the
    cache never imports torch) and where progress goes."""

    def __init__(self, cache_dir: str | Path, *, device: str = "auto", progress: Progress | None = None) -> None:
        check_device_name(device)
        self.cache_dir = Path(cache_dir)
        self.device_name = device
        self.progress: Progress = progress or NoProgress()

    @cached_property
    def device(self) -> torch.device:
        return resolve_device(self.device_name)

    @contextmanager
    def catalog(self, analysis: AnalysisConfig) -> Iterator[Catalog]:
        """The analysis cache for ``analysis``'s parameters, closed after the block."""
        catalog = Catalog(self.cache_dir, analysis.cache_params())
        try:
            yield catalog
        finally:
            catalog.close()
