"""Parameters of the spectral novelty curve (no heavy imports, so configs load fast)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from videothat.core.configs import Bounds, check_fields
from videothat.core.errors import ParameterError


@dataclass(frozen=True, kw_only=True)
class NoveltyConfig:
    """Parameters of the onset-strength curve (units in field comments).

    Defaults are librosa's, so results compare with ``librosa.onset.onset_strength``.
    """

    sample_rate: int = 22050  # Hz, rate the audio is decoded at
    n_fft: int = 2048  # samples per STFT frame
    hop_length: int = 512  # samples between frames; frame rate = sample_rate / hop_length
    n_mels: int = 128  # mel bands
    fmin: float = 0.0  # Hz, lowest mel edge
    fmax: float | None = None  # Hz, highest mel edge; None = sample_rate / 2
    lag: int = 1  # frames between the compared spectra
    max_size: int = 1  # mel bands of the maximum filter on the reference (1 = off)
    top_db: float | None = 80.0  # dB below each item's peak that the spectrum is floored at
    center: bool = True  # shift the curve by n_fft // (2 hop) frames so onsets line up in time
    detrend: bool = False  # remove the DC component with librosa's leaky differentiator
    chroma: bool = True  # also the 12 pitch-class energies of every frame (for the match's harmony term)

    # ranges that keep memory sane (an hour of sound, its STFT blocks and curves) before any decoding
    BOUNDS: ClassVar[Bounds] = {"sample_rate": (1000, 96000), "n_fft": (16, 16384), "hop_length": (16, 16384),
                                "n_mels": (1, 512), "fmin": (0.0, 48000.0), "fmax": (1.0, 48000.0), "lag": (1, 64),
                                "max_size": (1, 512), "top_db": (0.0, 200.0)}

    def __post_init__(self) -> None:
        check_fields(self)
        if self.hop_length > self.n_fft:
            raise ParameterError(
                f"hop_length={self.hop_length} must not exceed n_fft={self.n_fft}: "
                "frames would skip samples"
            )
        if self.fmin < 0 or self.fmin >= self.f_max:
            raise ParameterError(
                f"fmin={self.fmin} Hz must be in [0, fmax={self.f_max} Hz)"
            )
        if self.f_max > self.sample_rate / 2:
            raise ParameterError(
                f"fmax={self.fmax} Hz exceeds the Nyquist frequency "
                f"{self.sample_rate / 2} Hz of sample_rate={self.sample_rate}"
            )

    @property
    def f_max(self) -> float:
        """Upper mel edge in Hz (``fmax`` or Nyquist)."""
        return float(self.sample_rate / 2 if self.fmax is None else self.fmax)

    @property
    def frame_rate(self) -> float:
        """Curve frames per second."""
        return self.sample_rate / self.hop_length

    def n_frames(self, n_samples: int) -> int:
        """Number of curve frames for a waveform of ``n_samples`` samples."""
        return 1 + n_samples // self.hop_length

    def as_dict(self) -> dict[str, object]:
        """All parameters, e.g. for a cache key."""
        return asdict(self)


def check_steps(steps: object, dim: int) -> None:
    """Raise :class:`ParameterError` unless ``steps`` (0 = not time-aligned) is an integer >= 0
    that divides ``dim`` (see :mod:`videothat.audio.aligned`)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ParameterError(f"steps={steps!r} must be 0 (one pooled vector) or a positive integer")
    if steps and dim % steps:
        raise ParameterError(f"steps={steps} must divide dim={dim} (each step gets dim / steps numbers)")


@dataclass(frozen=True, kw_only=True)
class EmbedConfig:
    """Architecture of the learned audio encoder (stored with its weights).

    Input: ``window`` s of mono audio at ``sample_rate``; front end: log-mel (``n_mels``
    bands between ``fmin`` and ``fmax`` Hz, STFTs of ``n_fft`` every ``hop_length``
    samples, uncentred so a window's frames are those of the clip it was cut from); trunk:
    one conv block per entry of ``channels`` (``convs`` 3x3 convolutions with batch norm
    and GELU, then 2x2 max pooling); head: mean over time, two linear layers to ``dim``; output L2-normalised.

    With ``steps`` > 0 the embedding is time-aligned (:mod:`videothat.audio.aligned`): blocks halve
    the frames only while at least ``steps`` remain, and the head keeps ``steps`` stretches
    of ``dim / steps`` numbers each instead of the mean over time.
    """

    sample_rate: int = 22050  # Hz
    window: float = 1.0  # s of audio per embedding
    n_fft: int = 1024  # samples per STFT frame
    hop_length: int = 512  # samples between STFT frames
    n_mels: int = 64  # mel bands
    fmin: float = 60.0  # Hz
    fmax: float = 8000.0  # Hz
    channels: tuple[int, ...] = (16, 32, 64, 128)  # conv channels per block (each halves bands and frames)
    convs: int = 1  # 3x3 convolutions per block
    dim: int = 128  # embedding length
    steps: int = 0  # 0: one vector per window; > 0: time-aligned, `steps` stretches of dim / steps

    BOUNDS: ClassVar[Bounds] = {"sample_rate": (1000, 96000), "window": (0.01, 60.0), "n_fft": (16, 16384),
                                "hop_length": (16, 16384), "n_mels": (1, 512), "fmin": (0.0, 48000.0),
                                "fmax": (1.0, 48000.0), "channels": (1, 4096), "convs": (1, 16), "dim": (1, 8192),
                                "steps": (0, 8192)}

    def __post_init__(self) -> None:
        check_fields(self)
        check_steps(self.steps, self.dim)
        if not 1 <= len(self.channels) <= 12:
            raise ParameterError(f"channels={list(self.channels)} must be 1 to 12 conv blocks")
        if self.hop_length > self.n_fft:
            raise ParameterError(f"hop_length={self.hop_length} must not exceed n_fft={self.n_fft}")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ParameterError(f"need 0 <= fmin ({self.fmin}) < fmax ({self.fmax}) <= Nyquist "
                                 f"({self.sample_rate / 2} Hz)")
        if self.frames < (self.steps or 2 ** len(self.channels)) or self.n_mels < 2 ** len(self.channels):
            need = f"{self.steps} frames (steps)" if self.steps else f"{2 ** len(self.channels)} frames"
            raise ParameterError(f"window={self.window} s gives {self.frames} frames x {self.n_mels} bands: "
                                 f"{len(self.channels)} pooling blocks need at least {need} and "
                                 f"{2 ** len(self.channels)} bands")

    def time_pools(self) -> tuple[bool, ...]:
        """Which conv blocks halve the frames: all, or with ``steps`` only while ``steps`` remain."""
        pools, frames = [], self.frames
        for _ in self.channels:
            pools.append(not self.steps or frames // 2 >= self.steps)
            frames //= 2 if pools[-1] else 1
        return tuple(pools)

    @property
    def samples(self) -> int:
        """Samples per input window."""
        return round(self.window * self.sample_rate)

    @property
    def frames(self) -> int:
        """STFT frames per input window (uncentred)."""
        return 1 + (self.samples - self.n_fft) // self.hop_length if self.samples >= self.n_fft else 0

    def as_dict(self) -> dict[str, object]:
        """All parameters (JSON-able)."""
        d = asdict(self)
        d["channels"] = list(self.channels)
        if not self.steps:
            del d["steps"]  # the default: files of pooled encoders stay readable by earlier versions
        return d
