"""Parameters of fingerprints and the index (no heavy imports, so configs load fast)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from videothat.core.errors import ParameterError

ENCODER_NAMES = ("rhythm", "timbre", "learned")


@dataclass(frozen=True, kw_only=True)
class RhythmConfig:
    """Rhythm fingerprints: windows of the novelty curve (what the matcher scores)."""

    window: float = 1.5  # s of curve per fingerprint (at most a typical shot)
    hop: float = 0.25  # s between fingerprint starts
    edge: bool = True  # leave out each curve's first frames, which depend on the sound before the cut (match.edge)

    def __post_init__(self) -> None:
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

    def __post_init__(self) -> None:
        _check_window(self.window, self.hop)
        if self.blocks < 1 or self.n_mels < 1:
            raise ParameterError(f"blocks={self.blocks} and n_mels={self.n_mels} must be >= 1")
        if not 0 <= self.fmin < self.fmax:
            raise ParameterError(f"need 0 <= fmin ({self.fmin} Hz) < fmax ({self.fmax} Hz)")
        if not 0 < self.hop_length <= self.n_fft:
            raise ParameterError(f"need 0 < hop_length ({self.hop_length}) <= n_fft ({self.n_fft})")


@dataclass(frozen=True, kw_only=True)
class LearnedConfig:
    """Learned fingerprints: a trained :class:`~videothat.audio.embed.AudioEncoder` (its window)."""

    checkpoint: str | None = None  # audio_encoder.safetensors written by `python -m train.fit experiment=fingerprint`
    hop: float = 0.25  # s between fingerprint starts

    def __post_init__(self) -> None:
        if self.hop <= 0:
            raise ParameterError(f"index.learned.hop={self.hop} s must be positive")


SHORTLIST_RANKS = ("votes", "best")


@dataclass(frozen=True, kw_only=True)
class IndexConfig:
    """Which fingerprint encoder, which FAISS index, and how queries run."""

    encoder: str = "rhythm"  # rhythm | timbre | learned
    type: str = "Flat"  # FAISS factory string: Flat (exact), PCAR64,IVF1024,PQ16, HNSW32, ...
    nprobe: int = 16  # IVF lists searched per query (recall/speed)
    train_size: int = 65536  # vectors gathered before a compressed index is trained
    k: int = 32  # neighbours fetched per query window
    shortlist: int = 512  # make/match --index: shots the matcher scores (the best ranked by shortlist_rank)
    shortlist_rank: str = "votes"  # votes: similarity summed over windows on one song offset | best: best window
    query_hop: float = 0.025  # s between query windows (about a curve frame, so one lines up with each indexed window)
    save_every: float = 60.0  # s between saves of the index while building (a killed run keeps them)
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    timbre: TimbreConfig = field(default_factory=TimbreConfig)
    learned: LearnedConfig = field(default_factory=LearnedConfig)

    def __post_init__(self) -> None:
        if self.encoder not in ENCODER_NAMES:
            raise ParameterError(f"index.encoder={self.encoder!r} must be one of {', '.join(ENCODER_NAMES)}")
        if self.encoder == "learned" and not self.learned.checkpoint:
            raise ParameterError("index.encoder=learned needs index.learned.checkpoint=PATH/audio_encoder.safetensors")
        for name in ("nprobe", "train_size", "k", "shortlist"):
            if getattr(self, name) < 1:
                raise ParameterError(f"index.{name}={getattr(self, name)} must be >= 1")
        if self.query_hop <= 0:
            raise ParameterError(f"index.query_hop={self.query_hop} s must be positive")
        if self.shortlist_rank not in SHORTLIST_RANKS:
            raise ParameterError(f"index.shortlist_rank={self.shortlist_rank!r} must be one of {SHORTLIST_RANKS}")
        if self.save_every <= 0:
            raise ParameterError(f"index.save_every={self.save_every} s must be positive")

    def encoder_params(self) -> dict[str, object]:
        """The chosen encoder's own parameters (stored with the index)."""
        return asdict(getattr(self, self.encoder))


def _check_window(window: float, hop: float) -> None:
    if not 0 < hop <= window:
        raise ParameterError(f"need 0 < hop ({hop} s) <= window ({window} s)")
