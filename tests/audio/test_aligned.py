"""The sequence head: each part of a time-aligned embedding describes its own stretch."""

from __future__ import annotations

import pytest
import torch

from videothat.audio.aligned import SequenceHead
from videothat.core.errors import ParameterError


def test_sequence_head_parts_follow_their_stretch():
    """Features changed in the last stretch leave parts two or more stretches away alone."""
    torch.manual_seed(0)
    head = SequenceHead(12, dim=32, steps=8).eval()
    x = torch.randn(3, 12, 16)
    y = x.clone()
    y[..., -2:] += 1.0  # the 8th stretch of 16 frames
    a, b = (head(z).view(3, 4, 8) for z in (x, y))
    assert torch.equal(a[..., :6], b[..., :6])  # the width-3 mix reaches one stretch back
    assert not torch.allclose(a[..., 7], b[..., 7])
    with pytest.raises(ParameterError, match="steps"):
        head(torch.zeros(1, 12, 4))
