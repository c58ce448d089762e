"""Fan work out over a Ray cluster (a local Ray instance when no address is given).

VideoThat does not run its own distributed engine: :func:`ray_map` hands chunks of work to
Ray tasks and yields their results in submission order, at most ``workers`` in flight.
The same code runs on a laptop (``workers`` local processes) and on a cluster started with
``ray start --head`` (pass ``address="auto"`` or ``"ray://HEAD:10001"``); every node needs
VideoThat installed and the media paths readable under the same names.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from videothat.core.errors import ParameterError, VideoThatError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def ray_map(fn: Callable[[T], R], items: Iterable[T], *, workers: int, address: str | None = None) -> Iterator[R]:
    """``fn(item)`` for every item as Ray tasks (one CPU each), results in input order.

    ``fn`` must be a module-level function (workers import it by name). Raises
    :class:`VideoThatError` if Ray is missing or cannot start, :class:`ParameterError`
    for ``workers < 1``.
    """
    if workers < 1:
        raise ParameterError(f"workers={workers} must be >= 1")
    ray = _start(workers, address)
    task = ray.remote(num_cpus=1)(fn)
    pending: deque = deque()
    try:
        for item in items:
            pending.append(task.remote(item))
            if len(pending) >= workers:
                yield ray.get(pending.popleft())
        while pending:
            yield ray.get(pending.popleft())
    finally:
        for ref in pending:  # interrupted: do not leave work running
            ray.cancel(ref, force=True)


def _start(workers: int, address: str | None):
    try:
        import ray
    except ImportError as exc:
        raise VideoThatError("distributed ingest needs Ray: pip install 'ray>=2.9'") from exc
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise VideoThatError(f"cannot start Ray{f' at {address}' if address else ''}: {exc}") from exc
        log.info("Ray resources: %s", ray.cluster_resources())
    return ray
