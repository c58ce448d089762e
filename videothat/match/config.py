"""Parameters of scoring and search (no heavy imports, so configs load fast)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from videothat.core.configs import Bounds, check_fields
from videothat.core.errors import ParameterError

SUBTRACT_MODES = ("none", "mean")
NORMALIZE_MODES = ("window", "none")
MODES = ("sequential", "global", "take")
SNAPS = ("onsets", "beats", "none")


@dataclass(frozen=True, kw_only=True)
class ScoreConfig:
    """How a (shot, offset) pair is scored (units in comments)."""

    power: float = 0.5  # p: the raw sum is divided by (overlap in seconds) ** p
    subtract: str | float = "mean"  # "none", "mean" (each curve's own mean) or a constant
    compress: str = "none"  # none | log: log(1 + curve) before scoring, weighing onset timing over size
    normalize: str = "window"  # window: both curves scaled to unit energy over the overlap; none: raw
    floor: float = 0.05  # window: energy added per frame, as a fraction of the song curve's variance
    edge: bool = True  # leave out each shot's first frames, whose novelty depends on the sound before the cut
    harmony: float = 1.0  # weight of the harmony term (pitch-class profiles alike) beside the rhythm correlation; 0 = off
    harmony_blocks: int = 4  # stretches of a segment whose pitch-class profiles are compared in order
    visual_weight: float = 0.3  # weight of the shot's visual impacts beside its sound (match/fuse.py); 0 = sound only

    BOUNDS: ClassVar[Bounds] = {"power": (0.0, 2.0), "floor": (1e-9, 1000.0), "harmony": (0.0, 10.0),
                                "harmony_blocks": (1, 32), "visual_weight": (0.0, 10.0)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.compress not in ("none", "log"):
            raise ParameterError(f"compress={self.compress!r} must be none or log")
        if self.normalize not in NORMALIZE_MODES:
            raise ParameterError(f"normalize={self.normalize!r} must be one of {NORMALIZE_MODES}")
        if isinstance(self.subtract, str) and self.subtract not in SUBTRACT_MODES:
            raise ParameterError(f"subtract={self.subtract!r} must be one of {SUBTRACT_MODES} or a number")
        if isinstance(self.subtract, float) and abs(self.subtract) > 1e6:
            raise ParameterError(f"subtract={self.subtract} must be in [-1e6, 1e6]")


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Search constraints and effort (units in comments)."""

    beam_width: int = 64  # hypotheses kept per song frame reached; 1 = the original greedy strategy
    expansions: int = 32  # best next segments tried from each hypothesis
    shortlist: int = 64  # shots scored exactly at each song frame: the best by correlation there; 0 = all
    min_length: float = 1.0  # s, shortest segment (the song's end may force a shorter song)
    max_length: float = 8.0  # s, longest segment
    reuse: bool = False  # may a shot appear more than once
    snap: str = "onsets"  # segment ends on song onsets | beats (or the shot's / song's end) | none
    in_point_step: float = 0.0  # s; > 0 also tries in-points every this many seconds into a shot
    mode: str = "sequential"  # sequential | global | take (sources that are long takes of the song, aligned whole)
    pin_threshold: float = 0.0  # global mode: only placements scoring above this are pinned
    speed_min: float = 0.8  # slowest playback speed of a shot (source s per song s); speed_min = speed_max = 1: off
    speed_max: float = 1.25  # fastest playback speed of a shot
    speed_step: float = 0.005  # relative step between tried speeds (geometric grid from 1 towards both ends)
    speed_margin: float = 0.1  # a shot plays at a speed other than 1 only if it fits better there by this (correlation)
    speed_fit: float = 0.65  # ... and fits the song there at least this well (correlation of its best placement)
    min_brightness: float = 0.04  # shots whose median mean luma (0 black .. 1 white) is below this are left out
    min_sharpness: float = 0.0  # shots whose median Laplacian variance (grey levels^2 at the analysis height) is below
    min_motion: float = 0.0  # shots whose mean flow (pixels/frame at the analysis height) is below this are left out
    duplicates: int = -1  # near duplicates: signatures within this many of 64 bits keep only the longest; -1 = off

    BOUNDS: ClassVar[Bounds] = {"beam_width": (1, 1024), "expansions": (1, 1024), "shortlist": (0, 1 << 20),
                                "min_length": (0.01, 600.0), "max_length": (0.01, 600.0), "in_point_step": (0.0, 600.0),
                                "pin_threshold": (-1e3, 1e3), "speed_min": (0.25, 1.0), "speed_max": (1.0, 4.0),
                                "speed_step": (0.001, 0.5), "speed_margin": (0.0, 2.0), "speed_fit": (-1.0, 1.0), "min_brightness": (0.0, 1.0), "min_sharpness": (0.0, 1e6),
                                "min_motion": (0.0, 1e6), "duplicates": (-1, 32)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.min_length > self.max_length:
            raise ParameterError(f"need min_length ({self.min_length} s) <= max_length ({self.max_length} s)")
        if self.snap not in SNAPS:
            raise ParameterError(f"snap={self.snap!r} must be one of {SNAPS}")
        if self.mode not in MODES:
            raise ParameterError(f"mode={self.mode!r} must be one of {MODES}")


@dataclass(frozen=True, kw_only=True)
class MatchConfig:
    """How shots are scored and placed: :class:`ScoreConfig` and :class:`SearchConfig`,
    which share the one flat ``match`` section of the config (``match.floor``, ``match.beam_width``)."""

    FLAT: ClassVar[tuple[str, ...]] = ("score", "search")

    score: ScoreConfig = field(default_factory=ScoreConfig)
    search: SearchConfig = field(default_factory=SearchConfig)


MOSAIC_UNITS = ("frame", "onset")
MOSAIC_SOUNDS = ("target", "source", "mix")


@dataclass(frozen=True, kw_only=True)
class MosaicConfig:
    """Mosaic mode: a target sound rebuilt from short units of the videos' own sound (units in comments)."""

    unit: str = "frame"  # frame: a unit every 1/unit_rate s | onset: a unit from each onset to the next
    unit_rate: float = 25.0  # frame units per second (one per output frame at 25 fps)
    longest: float = 1.0  # s, onset units longer than this are split (a long held note is several units)
    n_mels: int = 40  # mel bands of a unit's descriptor (log energies less their mean: loudness-normalised)
    k: int = 8  # nearest source units considered per target unit
    follow: int = 25  # units: each target unit also considers the continuations of the k nearest of this many before
    continuity: float = 0.75  # cost of a jump (not the next unit of the same source), in median candidate distances
    index: str = "Flat"  # FAISS index type of the unit search (Flat exact; HNSW32 for hours of footage)
    sound: str = "target"  # sound track: target | source (the chosen units' own sound) | mix
    mix: float = 0.5  # share of the source sound in sound=mix (the target has the rest)
    crossfade: float = 0.01  # s, equal-power crossfade at every join of the source sound
    loudness: bool = True  # the source sound follows the target's loudness (40 ms RMS levels)

    BOUNDS: ClassVar[Bounds] = {"unit_rate": (11.0, 200.0), "longest": (0.05, 10.0), "n_mels": (4, 256),
                                "k": (1, 256), "follow": (0, 250), "continuity": (0.0, 100.0), "mix": (0.0, 1.0),
                                "crossfade": (0.0, 0.5)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.unit not in MOSAIC_UNITS:
            raise ParameterError(f"mosaic.unit={self.unit!r} must be one of {', '.join(MOSAIC_UNITS)}")
        if self.sound not in MOSAIC_SOUNDS:
            raise ParameterError(f"mosaic.sound={self.sound!r} must be one of {', '.join(MOSAIC_SOUNDS)}")
        if not self.index:
            raise ParameterError(f"mosaic.index={self.index!r} must be a FAISS index type such as Flat or HNSW32")


@dataclass(frozen=True, kw_only=True)
class SoundtrackConfig:
    """Sound for a silent video (videothat soundtrack): the files the index favours, aligned
    to the video's picture events at every lag, chosen stretch by stretch by a Viterbi pass
    (units in comments)."""

    hop: float = 0.25  # s, the stretches of the video one sound (at one alignment) is chosen for
    window: float = 2.0  # s of picture events around a stretch that a sound's onsets are correlated with
    candidates: int = 64  # files aligned exactly at every lag: those the index's hits favour (all, in a smaller index)
    k: int = 32  # best (file, lag) alignments kept per stretch for the Viterbi pass
    follow: int = 8  # stretches: each also weighs the alignments found for this many stretches either side
    continuity: float = 2.0  # cost of changing sound or alignment between stretches, in correlation units
    crossfade: float = 0.05  # s, equal-power crossfade at each join of the sound track

    BOUNDS: ClassVar[Bounds] = {"hop": (0.02, 10.0), "window": (0.02, 30.0), "candidates": (1, 10_000),
                                "k": (1, 1024), "follow": (0, 200), "continuity": (0.0, 100.0),
                                "crossfade": (0.0, 1.0)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.window < self.hop:
            raise ParameterError(f"window={self.window} s must be at least hop={self.hop} s")


@dataclass(frozen=True, kw_only=True)
class MusicConfig:
    """Music for a video (videothat music): which song, and from where (units in comments)."""

    sound_weight: float = 0.5  # weight of the video's own sound fitting the song, beside its pictures fitting it
    candidates: int = 200  # songs aligned exactly: all songs of a smaller index, else the best by retrieval
    fade_in: float = 0.5  # s, the song's fade in at the video's start
    fade_out: float = 2.0  # s, its fade out at the video's end

    BOUNDS: ClassVar[Bounds] = {"sound_weight": (0.0, 10.0), "candidates": (1, 100_000), "fade_in": (0.0, 60.0),
                                "fade_out": (0.0, 60.0)}

    def __post_init__(self) -> None:
        check_fields(self)
