"""Retrieval metrics for paired embeddings."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


def recall_at(queries: Tensor, targets: Tensor, *, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """``queries[i]`` should find ``targets[i]`` [both shape=(N, d), unit length] by inner product.

    Returns ``recall@k`` (share of queries whose target ranks in the top k) and
    ``chance@k`` (= k / N, what random rankings give), plus ``items`` (N).
    """
    n = queries.shape[0]
    scores = queries.float() @ targets.float().T
    own = scores.diagonal()[:, None]
    rank = (scores > own).sum(dim=1)  # 0 = first; ties count in the query's favour
    out: dict[str, float] = {"items": float(n)}
    for k in ks:
        out[f"recall@{k}"] = float((rank < k).float().mean())
        out[f"chance@{k}"] = min(1.0, k / max(1, n))
    return out

