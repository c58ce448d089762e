"""Exact or approximate k-nearest-neighbour search of vectors held in memory (FAISS).

The on-disk archive index is :mod:`videothat.index.store`; this module serves searches that
live for one job (mosaic units against a target's units). Index types are FAISS factory
strings with Euclidean distance (``"Flat"`` exact; ``"HNSW32"``, ``"IVF1024,Flat"``
approximate), searched on the GPU when the device is CUDA and FAISS was built with it.
"""

from __future__ import annotations

import logging

import numpy as np

from videothat.core.errors import ParameterError

log = logging.getLogger(__name__)

NPROBE = 16  # IVF lists searched per query


def on_device(index, device: str):
    """(the index to search with, the GPU resources keeping it alive or None): a GPU copy of
    ``index`` when ``device`` is CUDA and FAISS has GPUs, else ``index`` itself."""
    import faiss

    if not str(device).startswith("cuda") or not hasattr(faiss, "StandardGpuResources"):
        return index, None
    gpu = int(str(device).partition(":")[2] or 0)
    try:
        resources = faiss.StandardGpuResources()
        return faiss.index_cpu_to_gpu(resources, gpu, index), resources
    except RuntimeError as exc:  # an index type without a GPU version: search on the CPU
        log.warning("searching on the CPU (%s)", str(exc).strip().splitlines()[-1])
        return index, None


def nearest(queries: np.ndarray, base: np.ndarray, k: int, *, factory: str = "Flat", device: str = "cpu"
            ) -> tuple[np.ndarray, np.ndarray]:
    """(Euclidean distances, row indices of ``base``) [shape=(Q, k)] of each query's ``k``
    nearest rows, nearest first (-1 and inf where an approximate index finds fewer).

    ``queries`` [shape=(Q, D)] and ``base`` [shape=(N, D)] float; ``factory`` a FAISS index
    description, trained on ``base`` when it needs training.
    """
    import faiss

    if base.ndim != 2 or queries.ndim != 2 or base.shape[1] != queries.shape[1]:
        raise ParameterError(f"queries {queries.shape} and base {base.shape} must be (Q, D) and (N, D)")
    if not 1 <= k <= base.shape[0]:
        raise ParameterError(f"k={k} must be in [1, {base.shape[0]}] (the rows searched)")
    base = np.ascontiguousarray(base, dtype=np.float32)
    try:
        index = faiss.index_factory(base.shape[1], factory, faiss.METRIC_L2)
    except RuntimeError as exc:
        raise ParameterError(f"index type {factory!r} is not a FAISS factory string ({exc})") from exc
    if not index.is_trained:
        try:
            index.train(base)
        except RuntimeError as exc:
            raise ParameterError(f"index type {factory!r} cannot be trained on {base.shape[0]} vectors; "
                                 f"use Flat or fewer lists ({str(exc).strip().splitlines()[-1]})") from exc
    index.add(base)
    try:  # an IVF index searches NPROBE of its lists (FAISS's default, 1, misses too many)
        faiss.extract_index_ivf(index).nprobe = NPROBE
    except (RuntimeError, TypeError):  # not an IVF index
        pass
    searcher, _resources = on_device(index, device)
    squared, ids = searcher.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    distances = np.where(ids >= 0, np.sqrt(np.maximum(squared, 0.0)), np.inf)
    return distances.astype(np.float32), ids.astype(np.int64)
