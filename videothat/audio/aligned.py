"""Time-aligned embeddings, shared by the audio and the visual encoders.

An aligned embedding of a clip is ``steps`` consecutive parts of ``dim / steps`` numbers,
part ``k`` describing the ``k``-th of ``steps`` equal stretches of the clip. The inner
product of two such embeddings is the sum over stretches of their similarities, so a
picture sequence matches the sound only where *when* things happen agrees too (a beat
drawn as a flash must fall where the sound has it), which a clip-pooled vector cannot ask.
"""

from __future__ import annotations

from torch import Tensor, nn

from videothat.audio.config import check_steps
from videothat.core.errors import ParameterError

__all__ = ["SequenceHead", "check_steps"]


class SequenceHead(nn.Module):
    """Per-time features [shape=(B, features, T)] -> an aligned embedding [shape=(B, dim)]
    (not normalised), laid out as [dim / steps, steps] flattened.

    The features are averaged into ``steps`` stretches of T (adaptive average pooling:
    equal when ``steps`` divides T, else overlapping by at most a frame), mixed per stretch
    (a 1x1 conv), across neighbouring stretches (a width-3 conv) and projected to ``dim / steps``.
    """

    def __init__(self, features: int, *, dim: int, steps: int, hidden: int = 64) -> None:
        super().__init__()
        check_steps(steps, dim)
        if steps == 0:
            raise ParameterError("a sequence head needs steps > 0")
        self.steps = steps
        self.body = nn.Sequential(nn.Conv1d(features, hidden, 1), nn.GELU(),
                                  nn.Conv1d(hidden, hidden, 3, padding=1), nn.GELU(),
                                  nn.Conv1d(hidden, dim // steps, 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] < self.steps:
            raise ParameterError(f"{x.shape[-1]} time frames cannot fill {self.steps} steps")
        return self.body(nn.functional.adaptive_avg_pool1d(x, self.steps)).flatten(1)
