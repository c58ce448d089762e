"""Fingerprint encoders: waveforms in, fingerprints of their windows out, batched on a device.

An encoder is chosen by name (``index.encoder``) and rebuilt from the description stored
with an index, so queries always use the encoder the index was built with. To add one,
subclass :class:`FingerprintEncoder` under ``@ENCODERS.register("name")`` (and add the
name to ``index.config.FAISS_ENCODER_NAMES``, which config validation reads without torch).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from videothat.audio.config import NoveltyConfig
from videothat.core.batching import length_chunks
from videothat.core.errors import CacheError, ParameterError
from videothat.core.registry import Registry
from videothat.index.config import IndexConfig, LearnedConfig, RhythmConfig, TimbreConfig
from videothat.index.fingerprint import rhythm_fingerprints, timbre_fingerprints, window_frames

Fingerprints = tuple[np.ndarray, np.ndarray]  # vectors [shape=(n, dim)] float32, window starts [shape=(n,)] s
BATCH_SAMPLES = 1 << 24  # padded samples per device batch (~12.7 min at 22.05 kHz)


class FingerprintEncoder(ABC):
    """Turns clips of sound into unit-length fingerprints of fixed windows."""

    name: ClassVar[str]

    def __init__(self, *, sample_rate: int, device: torch.device | str = "cpu") -> None:
        self.sample_rate = sample_rate
        self.device = torch.device(device)

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of one fingerprint."""

    @property
    @abstractmethod
    def hop(self) -> float:
        """Seconds between window starts."""

    @abstractmethod
    def with_hop(self, hop: float) -> FingerprintEncoder:
        """The same encoder with windows every ``hop`` s (queries use a finer hop than the index)."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """JSON-able description: ``{"name": ..., "sample_rate": ..., "params": {...}}``."""

    @abstractmethod
    def encode(self, waves: Sequence[Tensor]) -> list[Fingerprints]:
        """Fingerprints of each waveform [shape=(n_i,)] float32 at :attr:`sample_rate`."""

    @classmethod
    @abstractmethod
    def from_config(cls, config: IndexConfig, novelty: NoveltyConfig, *, device: torch.device | str
                    ) -> FingerprintEncoder:
        """A new encoder for an index of audio analysed with ``novelty``."""

    @classmethod
    @abstractmethod
    def from_description(cls, description: dict, *, device: torch.device | str) -> FingerprintEncoder:
        """The encoder :meth:`describe` described (KeyError/TypeError if it is unreadable)."""


ENCODERS: Registry[type[FingerprintEncoder]] = Registry("fingerprint encoder")


@ENCODERS.register("rhythm")
class RhythmEncoder(FingerprintEncoder):
    """Windows of the spectral novelty curve (see :func:`rhythm_fingerprints`)."""

    name = "rhythm"

    @classmethod
    def from_config(cls, config: IndexConfig, novelty: NoveltyConfig, *, device: torch.device | str = "cpu"
                    ) -> RhythmEncoder:
        return cls(config.rhythm, novelty, device=device)

    @classmethod
    def from_description(cls, description: dict, *, device: torch.device | str = "cpu") -> RhythmEncoder:
        params = dict(description["params"])
        params.setdefault("edge", False)  # indexes built before edges were left out
        return cls(RhythmConfig(**params), NoveltyConfig(**description["novelty"]), device=device)

    def __init__(self, config: RhythmConfig, novelty: NoveltyConfig, *, device: torch.device | str = "cpu") -> None:
        super().__init__(sample_rate=novelty.sample_rate, device=device)
        self.config, self.novelty = config, novelty
        self._module = None

    @property
    def dim(self) -> int:
        return window_frames(self.config.window, self.config.hop, self.novelty.frame_rate)[0]

    @property
    def hop(self) -> float:
        return self.config.hop

    def with_hop(self, hop: float) -> RhythmEncoder:
        return RhythmEncoder(replace(self.config, hop=hop), self.novelty, device=self.device)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "sample_rate": self.sample_rate,
                "params": asdict(self.config), "novelty": self.novelty.as_dict()}

    def encode_curves(self, curves: Sequence[np.ndarray]) -> list[Fingerprints]:
        """Fingerprints of novelty curves already computed with :attr:`novelty`."""
        from videothat.audio.novelty import edge_frames

        fr, edge = self.novelty.frame_rate, edge_frames(self.novelty) if self.config.edge else 0
        return [rhythm_fingerprints(c, frame_rate=fr, window=self.config.window, hop=self.config.hop, edge=edge)
                for c in curves]

    def encode(self, waves: Sequence[Tensor]) -> list[Fingerprints]:
        if self._module is None:
            from videothat.audio.novelty import SpectralNovelty

            self._module = SpectralNovelty(self.novelty, device=self.device)
        curves = self._module(list(waves)).unbatch()
        return self.encode_curves([c.numpy() for c in curves])


@ENCODERS.register("timbre")
class TimbreEncoder(FingerprintEncoder):
    """Block-pooled log-mel energies (see :func:`timbre_fingerprints`)."""

    name = "timbre"

    @classmethod
    def from_config(cls, config: IndexConfig, novelty: NoveltyConfig, *, device: torch.device | str = "cpu"
                    ) -> TimbreEncoder:
        return cls(config.timbre, sample_rate=novelty.sample_rate, device=device)

    @classmethod
    def from_description(cls, description: dict, *, device: torch.device | str = "cpu") -> TimbreEncoder:
        return cls(TimbreConfig(**description["params"]), sample_rate=int(description["sample_rate"]), device=device)

    def __init__(self, config: TimbreConfig, *, sample_rate: int, device: torch.device | str = "cpu") -> None:
        super().__init__(sample_rate=sample_rate, device=device)
        import torchaudio

        if config.fmax > sample_rate / 2:
            raise ParameterError(f"index.timbre.fmax={config.fmax} Hz exceeds Nyquist ({sample_rate / 2} Hz)")
        self.config = config
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=config.n_fft, hop_length=config.hop_length, f_min=config.fmin,
            f_max=config.fmax, n_mels=config.n_mels, power=2.0,
        ).to(self.device)
        frame_rate = sample_rate / config.hop_length
        self.window_frames, self.hop_frames = window_frames(config.window, config.hop, frame_rate)

    @property
    def dim(self) -> int:
        return self.config.blocks * self.config.n_mels

    @property
    def hop(self) -> float:
        return self.hop_frames * self.config.hop_length / self.sample_rate

    def with_hop(self, hop: float) -> TimbreEncoder:
        return TimbreEncoder(replace(self.config, hop=hop), sample_rate=self.sample_rate, device=self.device)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "sample_rate": self.sample_rate, "params": asdict(self.config)}

    def valid_frames(self, n_samples: int) -> int:
        """STFT frames of a clip whose support lies inside it (so padding never changes them)."""
        half = self.config.n_fft // 2
        return 0 if n_samples < half else (n_samples - half) // self.config.hop_length + 1

    def encode(self, waves: Sequence[Tensor]) -> list[Fingerprints]:
        out: list[Fingerprints | None] = [None] * len(waves)
        for chunk in length_chunks([w.shape[-1] for w in waves], BATCH_SAMPLES):
            batch = torch.nn.utils.rnn.pad_sequence([waves[i] for i in chunk], batch_first=True).to(self.device)
            frames = torch.tensor([self.valid_frames(waves[i].shape[-1]) for i in chunk], device=self.device)
            with torch.no_grad():
                log_mel = torch.log(self.mel(batch) + 1e-10)
                vectors, valid = timbre_fingerprints(log_mel, frames, window=self.window_frames,
                                                     hop=self.hop_frames, blocks=self.config.blocks)
            vectors, valid = vectors.float().cpu().numpy(), valid.cpu().numpy()
            for row, i in enumerate(chunk):
                keep = np.flatnonzero(valid[row])
                out[i] = (np.ascontiguousarray(vectors[row, keep]), keep * self.hop)
        return out  # type: ignore[return-value]


@ENCODERS.register("learned")
class LearnedEncoder(FingerprintEncoder):
    """A trained :class:`~videothat.audio.embed.AudioEncoder`: one embedding per window of
    its own length, every ``config.hop`` s. The index stores the weights' path and digest;
    an index whose weights file changed is refused rather than searched with other vectors."""

    name = "learned"

    @classmethod
    def from_config(cls, config: IndexConfig, novelty: NoveltyConfig, *, device: torch.device | str = "cpu"
                    ) -> LearnedEncoder:
        return cls(config.learned, device=device)

    @classmethod
    def from_description(cls, description: dict, *, device: torch.device | str = "cpu") -> LearnedEncoder:
        return cls(LearnedConfig(**description["params"]), device=device, digest=str(description["digest"]))

    def __init__(self, config: LearnedConfig, *, device: torch.device | str = "cpu", digest: str | None = None
                 ) -> None:
        from videothat.audio.embed import load_encoder
        from videothat.core.hashing import content_hash

        if not config.checkpoint:
            raise ParameterError("the learned encoder needs index.learned.checkpoint=PATH")
        path = Path(config.checkpoint).expanduser().resolve()
        self.digest = content_hash(path) if path.is_file() else ""
        if digest is not None and digest != self.digest:
            raise CacheError(f"{path}: these weights are not the ones the index was built with; rebuild the index")
        self.model = load_encoder(path, device=device)
        self.model.compile_trunk()
        super().__init__(sample_rate=self.model.config.sample_rate, device=device)
        self.config = replace(config, checkpoint=str(path))

    @property
    def dim(self) -> int:
        return self.model.config.dim

    @property
    def hop(self) -> float:
        from videothat.audio.embed import hop_frames

        cfg = self.model.config
        return hop_frames(cfg, self.config.hop) * cfg.hop_length / cfg.sample_rate

    def with_hop(self, hop: float) -> LearnedEncoder:
        other = copy.copy(self)
        other.config = replace(self.config, hop=hop)
        return other

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "sample_rate": self.sample_rate, "params": asdict(self.config),
                "digest": self.digest, "model": self.model.config.as_dict()}

    def encode(self, waves: Sequence[Tensor]) -> list[Fingerprints]:
        from videothat.audio.embed import embed_clips

        return embed_clips(self.model, waves, hop=self.config.hop)


def build_encoder(config: IndexConfig, novelty: NoveltyConfig, *, device: torch.device | str = "cpu"
                  ) -> FingerprintEncoder:
    """The encoder ``config.encoder`` names, for audio analysed with ``novelty``."""
    return ENCODERS.get(config.encoder).from_config(config, novelty, device=device)


def encoder_from_description(description: dict, *, device: torch.device | str = "cpu") -> FingerprintEncoder:
    """Rebuild the encoder an index was built with from its stored description."""
    name = description.get("name")
    if name not in ENCODERS:
        raise CacheError(f"index was built with encoder {name!r}, which this VideoThat does not know")
    try:
        return ENCODERS.get(name).from_description(description, device=device)
    except (KeyError, TypeError) as exc:
        raise CacheError(f"index encoder description is unreadable ({exc}); rebuild the index") from exc
