"""The media package's render config (units in field comments). The shot detection config,
:class:`~videothat.media.shots.ShotConfig`, lives beside the detectors it names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from videothat.core.configs import Bounds, check_fields
from videothat.core.errors import ParameterError

FITS = ("letterbox", "crop")
OUTLINES = ("none", "people")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


@dataclass(frozen=True, kw_only=True)
class RenderConfig:
    """Output format (units in comments)."""

    width: int = 1280  # pixels
    height: int = 720  # pixels
    fps: float = 30.0  # output frames per second
    fit: str = "letterbox"  # letterbox (whole picture, black bars) | crop (fill, cut the edges)
    crf: int = 20  # H.264 quality: 0 lossless ... 51 worst; 18-23 is visually good
    preset: str = "veryfast"  # x264 speed/size trade-off: ultrafast ... veryslow
    audio_bitrate: int = 192_000  # bits per second of the AAC sound track
    crossfade: float = 0.0  # s of blending around each cut; 0 = hard cuts (on the song's onsets)
    outline: str = "none"  # none | people (boxes, or silhouettes, around the people the detector finds)

    BOUNDS: ClassVar[Bounds] = {"width": (16, 7680), "height": (16, 4320), "fps": (1.0, 120.0), "crf": (0, 51),
                                "audio_bitrate": (16_000, 512_000), "crossfade": (0.0, 2.0)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.width % 2 or self.height % 2:
            raise ParameterError(f"size {self.width}x{self.height} must be even (H.264 halves the colour planes)")
        if self.fit not in FITS:
            raise ParameterError(f"fit={self.fit!r} must be one of {FITS}")
        if self.preset not in PRESETS:
            raise ParameterError(f"preset={self.preset!r} must be one of {', '.join(PRESETS)}")
        if self.outline not in OUTLINES:
            raise ParameterError(f"outline={self.outline!r} must be one of {OUTLINES}")

    def preview(self) -> RenderConfig:
        """A fast, small variant (360p, 15 fps, ultrafast)."""
        height = 360
        width = min(self.BOUNDS["width"][1], max(16, round(self.width * height / self.height / 2) * 2))
        return RenderConfig(width=width, height=height, fps=15.0, fit=self.fit, crf=28, preset="ultrafast",
                            audio_bitrate=96_000, crossfade=self.crossfade, outline=self.outline)
