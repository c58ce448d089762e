"""Grouping items of different lengths into padded device batches of bounded size."""

from __future__ import annotations

from collections.abc import Sequence


def length_chunks(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices grouped by similar length (longest first), each group's padded size
    (longest length x items) within ``budget`` elements; an item longer than the budget
    is a group of its own."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    chunks: list[list[int]] = []
    for i in order:
        if chunks and lengths[chunks[-1][0]] * (len(chunks[-1]) + 1) <= budget:
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return chunks
