"""Parameters of the visual analyses (no heavy imports, so configs load fast)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from videothat.core.errors import ParameterError


@dataclass(frozen=True, kw_only=True)
class MotionConfig:
    """Parameters of the impact curve (units in comments)."""

    height: int = 72  # pixels; frames are resized to this height (width keeps the aspect ratio)
    bins: int = 8  # directions of the directogram
    window: int = 7  # pixels, side of the Lucas-Kanade window (odd)
    blur: float = 1.5  # pixels, Gaussian sigma applied before the flow (widens its range)

    def __post_init__(self) -> None:
        if not 16 <= self.height <= 1080:
            raise ParameterError(f"height={self.height} pixels must be in [16, 1080]")
        if not 2 <= self.bins <= 64:
            raise ParameterError(f"bins={self.bins} must be in [2, 64]")
        if self.window < 3 or self.window % 2 == 0 or self.window > 31:
            raise ParameterError(f"window={self.window} pixels must be odd and in [3, 31]")
        if not (math.isfinite(self.blur) and 0.0 <= self.blur <= 10.0):
            raise ParameterError(f"blur={self.blur} pixels must be in [0, 10]")
        if math.ceil(3 * self.blur) >= self.height // 2:
            raise ParameterError(f"blur={self.blur} pixels is too wide for frames {self.height} pixels high "
                                 f"(3 x blur must stay under height / 2)")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class EventConfig:
    """How a video's visual events become one curve (the soundtrack and music jobs)."""

    cut_weight: float = 1.0  # height of a cut in the event curve, in units of the strongest impacts (99th percentile)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cut_weight) and 0.0 <= self.cut_weight <= 100.0):
            raise ParameterError(f"cut_weight={self.cut_weight} must be in [0, 100]")
