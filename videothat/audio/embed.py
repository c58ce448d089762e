"""Learned audio embeddings: a compact conv encoder over log-mel frames, batched on a device.

:class:`AudioEncoder` maps windows of ``config.window`` s of mono audio to L2-normalised
vectors of ``config.dim``. :func:`embed_clips` embeds every window (every ``hop`` s) of
many clips at once: one STFT per clip, windows cut from its log-mel frames (the STFT is
uncentred, so a window's frames are exactly those of the audio it was cut from), all
windows of all clips through the trunk in large batches; on CUDA the trunk runs in bf16
autocast and, optionally, compiled. Weights are saved and loaded with
:mod:`videothat.core.weights` (safetensors; loading never unpickles).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from videothat.audio.aligned import SequenceHead
from videothat.audio.config import EmbedConfig
from videothat.core.batching import length_chunks
from videothat.core.errors import ParameterError
from videothat.core.weights import load_module

LOG_EPS = 1e-6  # added to mel power before the log
FLAT_STD = 1e-3  # windows whose log-mel spread is below this (digital silence) get no embedding
BATCH_SAMPLES = 1 << 24  # padded clip samples per STFT batch
BATCH_WINDOWS = 1024  # windows per trunk batch

Embeddings = tuple[np.ndarray, np.ndarray]  # vectors [shape=(n, dim)] float32, window starts [shape=(n,)] s


def standardise(log_mel: Tensor) -> Tensor:
    """Each window [shape=(..., n_mels, frames)] minus its mean, over its spread: a gain
    change adds a constant to a log spectrogram, so it cancels."""
    centred = log_mel - log_mel.mean(dim=(-2, -1), keepdim=True)
    return centred / centred.std(dim=(-2, -1), keepdim=True).clamp_min(FLAT_STD)


class ConvBlock(nn.Sequential):
    """``convs`` 3x3 convolutions, each with batch norm and GELU, then max pooling that halves
    the bands and, with ``pool_time``, the frames."""

    def __init__(self, c_in: int, c_out: int, convs: int = 1, *, pool_time: bool = True) -> None:
        layers: list[nn.Module] = []
        for k in range(convs):
            layers += [nn.Conv2d(c_in if k == 0 else c_out, c_out, 3, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.GELU()]
        super().__init__(*layers, nn.MaxPool2d((2, 2) if pool_time else (2, 1)))


class AudioEncoder(nn.Module):
    """Audio windows [shape=(B, config.samples)] -> unit embeddings [shape=(B, config.dim)]."""

    def __init__(self, config: EmbedConfig) -> None:
        super().__init__()
        import torchaudio

        self.config = config
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length,
            f_min=config.fmin, f_max=config.fmax, n_mels=config.n_mels, power=2.0, center=False,
        )
        widths = (1, *config.channels)
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.trunk = nn.Sequential(*(ConvBlock(a, b, config.convs, pool_time=t)
                                     for (a, b), t in zip(pairs, config.time_pools(), strict=True)))
        bands = config.n_mels >> len(config.channels)
        if config.steps:
            self.head: nn.Module = SequenceHead(widths[-1] * bands, dim=config.dim, steps=config.steps)
        else:
            self.head = nn.Sequential(nn.Linear(widths[-1] * bands, 2 * config.dim), nn.GELU(),
                                      nn.Linear(2 * config.dim, config.dim))
        self._compiled: nn.Module | None = None

    def log_mel(self, waves: Tensor) -> Tensor:
        """[shape=(B, n)] audio -> [shape=(B, n_mels, frames)] log mel power (float32)."""
        return torch.log(self.mel(waves.float()) + LOG_EPS)

    def embed_log_mel(self, log_mel: Tensor) -> Tensor:
        """Windows of log mel [shape=(B, n_mels, config.frames)] -> [shape=(B, dim)] unit vectors.

        On CUDA the trunk runs under bf16 autocast; the output is float32."""
        x = standardise(log_mel)[:, None]
        trunk = self.trunk if self._compiled is None else self._compiled
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.device.type == "cuda"):
            h = trunk(x)  # (B, C, bands, frames')
            h = self.head(h.flatten(1, 2) if self.config.steps else h.mean(dim=3).flatten(1))
        return nn.functional.normalize(h.float(), dim=1)

    def forward(self, waves: Tensor) -> Tensor:
        if waves.shape[-1] != self.config.samples:
            raise ParameterError(f"windows have {waves.shape[-1]} samples; this encoder takes "
                                 f"{self.config.samples} ({self.config.window} s at {self.config.sample_rate} Hz)")
        return self.embed_log_mel(self.log_mel(waves))

    def compile_trunk(self) -> None:
        """Use ``torch.compile`` for the trunk (CUDA only: on CPU compiling costs more than it saves)."""
        if next(self.parameters()).device.type == "cuda":  # kept out of the module tree (and its state dict)
            object.__setattr__(self, "_compiled", torch.compile(self.trunk, dynamic=True))


def hop_frames(config: EmbedConfig, hop: float) -> int:
    """STFT frames between window starts for a hop of ``hop`` s (at least one)."""
    if hop <= 0:
        raise ParameterError(f"hop={hop} s must be positive")
    return max(1, round(hop * config.sample_rate / config.hop_length))


@torch.no_grad()
def embed_clips(model: AudioEncoder, waves: Sequence[Tensor], *, hop: float,
                batch_windows: int = BATCH_WINDOWS) -> list[Embeddings]:
    """Embeddings of every window (every ``hop`` s) of each clip [shape=(n_i,)] at the model's rate.

    A clip shorter than a window gets one embedding of itself zero-padded; windows of
    digital silence get none. Returns per clip (vectors [shape=(w_i, dim)] float32, window
    starts [shape=(w_i,)] s).
    """
    cfg, device = model.config, next(model.parameters()).device
    step = hop_frames(cfg, hop)
    out: list[Embeddings | None] = [None] * len(waves)
    lengths = [max(w.shape[-1], cfg.samples) for w in waves]
    for chunk in length_chunks(lengths, BATCH_SAMPLES):
        # pack batch: pad every clip to the longest (and to at least one window)
        batch = torch.zeros(len(chunk), lengths[chunk[0]], device=device)
        for row, i in enumerate(chunk):
            batch[row, : waves[i].shape[-1]] = waves[i].to(device, non_blocking=True)
        log_mel = model.log_mel(batch)  # (B, M, T)
        windows = log_mel.unfold(2, cfg.frames, step).permute(0, 2, 1, 3)  # (B, W, M, frames)
        valid_frames = torch.tensor([1 + (lengths[i] - cfg.n_fft) // cfg.hop_length for i in chunk], device=device)
        inside = torch.arange(windows.shape[1], device=device)[None] * step + cfg.frames <= valid_frames[:, None]
        spread = (windows - windows.mean(dim=(-2, -1), keepdim=True)).std(dim=(-2, -1))
        keep = inside & (spread > FLAT_STD)
        picked = windows[keep]  # (N, M, frames)
        vectors = torch.cat([model.embed_log_mel(picked[s : s + batch_windows])
                             for s in range(0, picked.shape[0], batch_windows)]) if picked.shape[0] else \
            picked.new_zeros(0, cfg.dim)
        # unpack batch
        counts = keep.sum(dim=1).tolist()
        per_clip = vectors.cpu().numpy().astype(np.float32, copy=False)
        w_index = keep.nonzero()[:, 1].cpu().numpy()
        offsets = np.cumsum([0, *counts])
        for row, i in enumerate(chunk):
            a, b = offsets[row], offsets[row + 1]
            out[i] = (np.ascontiguousarray(per_clip[a:b]), w_index[a:b] * step * cfg.hop_length / cfg.sample_rate)
    return out  # type: ignore[return-value]


def load_encoder(path: str | Path, *, device: torch.device | str = "cpu") -> AudioEncoder:
    """The :class:`AudioEncoder` saved at ``path``, in eval mode on ``device``."""
    model, _ = load_module(path, lambda conf: AudioEncoder(EmbedConfig(**conf)), device=device)
    return model  # type: ignore[return-value]
