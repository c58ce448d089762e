"""Progress reporting and stage timing for long jobs, without callbacks threaded through.

A job receives one :class:`Progress` and reports on it by stage name (``analyze``,
``match``, ``render``, ``index``); the CLI draws bars, tests record, :class:`NoProgress`
ignores. :func:`timed` adds a block's wall time to a per-stage dict.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Protocol, runtime_checkable


@runtime_checkable
class Progress(Protocol):
    """Where a job reports how far it is."""

    def start(self, stage: str, total: float, unit: str) -> None:
        """``stage`` begins with ``total`` units of work (files, frames, percent)."""

    def advance(self, stage: str, amount: float = 1.0, status: str | None = None) -> None:
        """``amount`` more units of ``stage`` are done; ``status`` tallies an outcome
        (``cached``, ``analysed``, ``failed``, ``indexed``, ...)."""

    def finish(self, stage: str) -> None:
        """``stage`` is over (also when it stopped early)."""


class NoProgress:
    """A :class:`Progress` that reports nothing."""

    def start(self, stage: str, total: float, unit: str) -> None:
        pass

    def advance(self, stage: str, amount: float = 1.0, status: str | None = None) -> None:
        pass

    def finish(self, stage: str) -> None:
        pass


class Fraction:
    """Reports a stage's progress given as fractions 0..1 (in percent) on a :class:`Progress`."""

    def __init__(self, progress: Progress, stage: str) -> None:
        self.progress, self.stage, self.done = progress, stage, 0
        progress.start(stage, 100, "%")

    def __call__(self, fraction: float) -> None:
        now = round(100 * min(max(fraction, 0.0), 1.0))
        if now > self.done:
            self.progress.advance(self.stage, now - self.done)
            self.done = now


@contextmanager
def timed(stage: str, seconds: MutableMapping[str, float]) -> Iterator[None]:
    """Add the block's wall time (s) to ``seconds[stage]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - t0
