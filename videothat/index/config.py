"""Parameters of fingerprints and the index (no heavy imports, so configs load fast)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from videothat.core.configs import Bounds, check_fields
from videothat.core.errors import ParameterError

FAISS_ENCODER_NAMES = ("rhythm", "timbre", "learned")  # vectors in a FAISS store (index.encoders.ENCODERS)
ENCODER_NAMES = (*FAISS_ENCODER_NAMES, "landmarks")  # landmarks: a hash table (index.landmarks)


@dataclass(frozen=True, kw_only=True)
class LandmarkConfig:
    """Landmark fingerprints (:mod:`videothat.index.landmarks`): spectral peak pairs."""

    sample_rate: int = 11025  # Hz the sound is analysed at
    n_fft: int = 512  # samples per STFT frame
    hop_length: int = 256  # samples between frames (23 ms at 11025 Hz: the offset resolution)
    fmax: float = 4000.0  # Hz, highest peak frequency (what survives low-pass filters and lossy codecs)
    peak_bins: int = 6  # a peak is the largest within this many bins either side
    peak_frames: int = 4  # ... and this many frames either side
    min_db: float = 10.0  # dB a peak stands above its frame's median
    density: int = 30  # strongest peaks kept per second
    fanout: int = 6  # pairs per anchor peak

    BOUNDS: ClassVar[Bounds] = {"sample_rate": (4000, 48000), "n_fft": (64, 8192), "hop_length": (1, 8192),
                                "fmax": (1.0, 24000.0), "peak_bins": (0, 64), "peak_frames": (0, 64),
                                "min_db": (0.0, 60.0), "density": (1, 200), "fanout": (1, 32)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.hop_length > self.n_fft:
            raise ParameterError(f"hop_length={self.hop_length} must not exceed n_fft={self.n_fft}")
        if self.fmax > self.sample_rate / 2:
            raise ParameterError(f"fmax={self.fmax} Hz must be at most sample_rate / 2 ({self.sample_rate / 2} Hz)")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class RhythmConfig:
    """Rhythm fingerprints: windows of the novelty curve (what the matcher scores)."""

    window: float = 1.5  # s of curve per fingerprint (at most a typical shot)
    hop: float = 0.25  # s between fingerprint starts
    edge: bool = True  # leave out each curve's first frames, which depend on the sound before the cut (match.edge)

    BOUNDS: ClassVar[Bounds] = {"window": (0.05, 60.0), "hop": (0.005, 60.0)}

    def __post_init__(self) -> None:
        check_fields(self)
        _check_window(self.window, self.hop)


@dataclass(frozen=True, kw_only=True)
class TimbreConfig:
    """Content fingerprints: log-mel energies pooled over blocks of a window."""

    window: float = 1.0  # s per fingerprint
    hop: float = 0.25  # s between fingerprint starts
    blocks: int = 8  # time blocks per window (mean log-mel per block)
    n_mels: int = 32  # mel bands
    fmin: float = 100.0  # Hz, lowest mel edge
    fmax: float = 4000.0  # Hz, highest mel edge (what survives low-pass filters and lossy codecs)
    n_fft: int = 2048  # samples per STFT frame
    hop_length: int = 512  # samples between STFT frames

    BOUNDS: ClassVar[Bounds] = {"window": (0.05, 60.0), "hop": (0.005, 60.0), "blocks": (1, 64), "n_mels": (1, 256),
                                "fmin": (0.0, 48000.0), "fmax": (1.0, 48000.0), "n_fft": (64, 16384),
                                "hop_length": (16, 16384)}

    def __post_init__(self) -> None:
        check_fields(self)
        _check_window(self.window, self.hop)
        if self.fmin >= self.fmax:
            raise ParameterError(f"need fmin ({self.fmin} Hz) < fmax ({self.fmax} Hz)")
        if self.hop_length > self.n_fft:
            raise ParameterError(f"hop_length={self.hop_length} must not exceed n_fft={self.n_fft}")


@dataclass(frozen=True, kw_only=True)
class LearnedConfig:
    """Learned fingerprints: a trained :class:`~videothat.audio.embed.AudioEncoder` (its window)."""

    checkpoint: str | None = None  # audio_encoder.safetensors written by `python -m train.fit experiment=fingerprint`
    hop: float = 0.25  # s between fingerprint starts

    BOUNDS: ClassVar[Bounds] = {"hop": (0.005, 60.0)}

    def __post_init__(self) -> None:
        check_fields(self)


SHORTLIST_RANKS = ("votes", "best")


@dataclass(frozen=True, kw_only=True)
class IndexConfig:
    """Which fingerprint encoder, which FAISS index, and how queries run."""

    encoder: str = "rhythm"  # rhythm | timbre | learned | landmarks (music identification; --songs indexes only)
    type: str = "Flat"  # FAISS factory string: Flat (exact), PCAR64,IVF1024,PQ16, HNSW32, ...
    nprobe: int = 16  # IVF lists searched per query (recall/speed)
    train_size: int = 65536  # vectors gathered before a compressed index is trained
    k: int = 32  # neighbours fetched per query window
    shortlist: int = 512  # make/match --index: shots the matcher scores (the best ranked by shortlist_rank)
    shortlist_rank: str = "votes"  # votes: similarity summed over windows on one song offset | best: best window
    query_hop: float = 0.025  # s between query windows (about a curve frame, so one lines up with each indexed window)
    query_votes: int = 1  # query --video: nearest neighbours of each query window that vote (1: its nearest; <= k)
    save_every: float = 60.0  # s between saves of the index while building (a killed run keeps them)
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    timbre: TimbreConfig = field(default_factory=TimbreConfig)
    learned: LearnedConfig = field(default_factory=LearnedConfig)
    landmarks: LandmarkConfig = field(default_factory=LandmarkConfig)

    BOUNDS: ClassVar[Bounds] = {"nprobe": (1, 65536), "train_size": (1, 1 << 22), "k": (1, 4096),
                                "shortlist": (1, 1 << 20), "query_hop": (0.005, 10.0), "query_votes": (1, 4096),
                                "save_every": (1e-6, 86400.0)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.encoder not in ENCODER_NAMES:
            raise ParameterError(f"index.encoder={self.encoder!r} must be one of {', '.join(ENCODER_NAMES)}")
        if self.encoder == "learned" and not self.learned.checkpoint:
            raise ParameterError("index.encoder=learned needs index.learned.checkpoint=PATH/audio_encoder.safetensors")
        if self.query_votes > self.k:
            raise ParameterError(f"index.query_votes={self.query_votes} must be in [1, index.k={self.k}]")
        if self.shortlist_rank not in SHORTLIST_RANKS:
            raise ParameterError(f"index.shortlist_rank={self.shortlist_rank!r} must be one of {SHORTLIST_RANKS}")

    def encoder_params(self) -> dict[str, object]:
        """The chosen encoder's own parameters (stored with the index)."""
        return asdict(getattr(self, self.encoder))


def _check_window(window: float, hop: float) -> None:
    if hop > window:
        raise ParameterError(f"need hop ({hop} s) <= window ({window} s)")
