"""Contrastive losses on L2-normalised embeddings."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def nt_xent(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """SimCLR's NT-Xent: ``a[i]`` and ``b[i]`` [shape=(N, d)] are two views of item ``i``; each
    of the 2N views must pick its partner among the other 2N - 1 (mean cross-entropy)."""
    z = torch.cat([a, b])
    n = a.shape[0]
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, target)


def info_nce(a: Tensor, b: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE (CLIP): ``a[i]`` must pick ``b[i]`` among all of ``b`` and vice versa."""
    logits = a @ b.T / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def pair_accuracy(a: Tensor, b: Tensor) -> float:
    """Share of items whose nearest ``b`` (inner product) is their own partner."""
    return float(((a @ b.T).argmax(dim=1) == torch.arange(a.shape[0], device=a.device)).float().mean())
