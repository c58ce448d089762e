"""The parameter objects every job takes (its configs, and the run it is part of), and the
analysis of files through a run's cache, which every job starts with."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.analysis import AnalysisConfig, AnalysisReport, analyze
from videothat.catalog import Catalog
from videothat.core.device import check_device_name, resolve_device
from videothat.core.errors import NoAudioError, VideoThatError
from videothat.core.progress import NoProgress, Progress
from videothat.index.config import IndexConfig
from videothat.match.config import MatchConfig
from videothat.media.config import RenderConfig
from videothat.media.discover import find_media
from videothat.vision.people import PersonConfig

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, kw_only=True)
class Configs:
    """Every stage's config, as one object (built from the Hydra config by :mod:`videothat.settings`)."""

    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    person: PersonConfig = field(default_factory=PersonConfig)


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


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files a job will read from ``paths`` (folders expanded as the analysis expands
    them; missing paths left out): what its outputs must not overwrite."""
    return find_media(paths)[0]


def analyze_files(paths: Iterable[str | Path], analysis: AnalysisConfig, run: Run, *,
                  progress: bool = True, note_pictures_only: bool = True) -> AnalysisReport:
    """Analyse files through ``run``'s cache on ``run``'s device (resolved only if a file is
    not cached yet), reporting to ``run.progress`` unless ``progress`` is false; with
    ``note_pictures_only``, a warning for each video without usable sound that the matcher
    will place by its motion (the jobs that want silent video leave it out)."""
    with run.catalog(analysis) as catalog:
        report = analyze(paths, analysis, catalog=catalog, progress=run.progress if progress else None,
                         device=lambda: run.device)
    if note_pictures_only:
        for a in report.analyses:
            if a.source in report.pictures_only:
                log.warning("pictures only: %s (%s): its shots are placed by their motion", a.source, a.audio_problem)
    return report


def analyze_whole(path: str | Path, analysis: AnalysisConfig, run: Run, *, role: str) -> AnalysisReport:
    """Analyse one file whole, as one shot (a song, a query), through ``run``'s cache.

    Raises
    ------
    NoAudioError : a video without usable sound (no audio stream, silent): the message names
        it, the problem and that a ``role`` is matched by its sound.
    VideoThatError : the file cannot be used otherwise; the message starts with ``role`` and names it.
    """
    report = analyze_files([path], analysis.for_songs(), run, progress=False)
    if report.failures:  # the message names the file and the problem
        failure = report.failures[0]
        if failure.audio_problem is not None:  # pictures are no use here: say so, not how the matcher uses them
            raise NoAudioError(failure.path, f"{failure.audio_problem}: a {role} is matched by its sound")
        raise VideoThatError(f"{role} {failure.message}")
    return report
