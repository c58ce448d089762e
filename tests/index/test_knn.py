"""In-memory nearest-neighbour search (FAISS) against a brute-force numpy search."""

from __future__ import annotations

import numpy as np
import pytest

from videothat.core.errors import ParameterError
from videothat.index.knn import nearest


def test_flat_search_equals_brute_force():
    rng = np.random.default_rng(0)
    base, queries = rng.standard_normal((500, 12)), rng.standard_normal((40, 12))
    distances, ids = nearest(queries, base, 5)
    brute = np.linalg.norm(queries[:, None, :] - base[None], axis=-1)
    np.testing.assert_array_equal(ids, np.argsort(brute, axis=1)[:, :5])
    np.testing.assert_allclose(distances, np.sort(brute, axis=1)[:, :5], rtol=1e-4)


def test_graph_index_finds_most_true_neighbours():
    rng = np.random.default_rng(1)
    base, queries = rng.standard_normal((3000, 16)), rng.standard_normal((100, 16))
    _, ids = nearest(queries, base, 1, factory="HNSW32")
    truth = np.argmin(np.linalg.norm(queries[:, None, :] - base[None], axis=-1), axis=1)
    assert np.mean(ids[:, 0] == truth) >= 0.9


def test_bad_searches_are_refused():
    base = np.zeros((10, 4))
    with pytest.raises(ParameterError, match="k=11"):
        nearest(base, base, 11)
    with pytest.raises(ParameterError, match="'Nonsense7'"):
        nearest(base, base, 1, factory="Nonsense7")
    with pytest.raises(ParameterError, match="cannot be trained"):
        nearest(base, base, 1, factory="IVF64,Flat")
    with pytest.raises(ParameterError, match="must be"):
        nearest(np.zeros((3, 5)), base, 1)
