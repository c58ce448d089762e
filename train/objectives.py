"""What each experiment trains: its models, its data, its loss, its evaluation, its exports.

* ``fingerprint``: one :class:`~videothat.audio.embed.AudioEncoder`; a clean window and a
  shifted, degraded copy of it (codec in the loader, the rest batched on the device) are
  pulled together with NT-Xent, every other window of the batch pushed apart. Exported as
  ``audio_encoder.safetensors``, which ``index.encoder=learned`` uses.
* ``soundtrack``: an audio encoder and a :class:`~videothat.vision.encoders.VideoEncoder`;
  frames of a clip and the sound over them are pulled together (symmetric InfoNCE),
  mismatched pairs of the batch pushed apart. Evaluated by video -> audio retrieval on
  held-out clips. Exports both encoders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from train.data import AudioVisualPairs, ClipSampler, FingerprintPairs
from train.evaluate import recall_at
from train.losses import info_nce, nt_xent, pair_accuracy
from train.manifest import Clip
from videothat.audio.augment import AugmentConfig, augment
from videothat.audio.config import EmbedConfig
from videothat.audio.embed import AudioEncoder
from videothat.core.registry import Registry
from videothat.core.weights import save_encoder

EVAL_BATCH = 64


class Objective:
    """Base: ``modules`` hold every trained weight; subclasses define data, loss and exports.
    Each is registered by its ``train.objective`` name in :data:`OBJECTIVES` and built from
    the composed config by :meth:`from_config`."""

    needs_video = False

    def __init__(self, embed: EmbedConfig, augment_config: AugmentConfig, *, temperature: float,
                 device: torch.device) -> None:
        self.embed, self.augment, self.temperature, self.device = embed, augment_config, temperature, device
        self.modules: dict[str, nn.Module] = {"audio": AudioEncoder(embed).to(device)}

    def parameters(self) -> list[nn.Parameter]:
        return [p for m in self.modules.values() for p in m.parameters()]

    def train(self, mode: bool = True) -> None:
        for m in self.modules.values():
            m.train(mode)

    def degrade(self, audio: Tensor, gen: torch.Generator) -> Tensor:
        return augment(audio.to(self.device, non_blocking=True), self.embed.sample_rate, self.augment, gen)

    def export(self, out: Path, step: int) -> list[Path]:
        return [save_encoder(self.modules["audio"], self.embed, out / "audio_encoder.safetensors",
                             extra={"objective": self.name, "step": step})]

    @classmethod
    def from_config(cls, cfg: Mapping, embed: EmbedConfig, augment_config: AugmentConfig, *, temperature: float,
                    device: torch.device) -> Objective:
        """The objective with fresh models; ``cfg`` is the whole composed config."""
        return cls(embed, augment_config, temperature=temperature, device=device)


OBJECTIVES: Registry[type[Objective]] = Registry("training objective")


@OBJECTIVES.register("fingerprint")
class FingerprintObjective(Objective):
    name = "fingerprint"

    def dataset(self, clips: Sequence[Clip], *, seed: int, cache_seconds: float,
                frame_cache_mb: float = 0.0) -> FingerprintPairs:
        """Items of the data set (``frame_cache_mb`` unused: no pictures)."""
        return FingerprintPairs(clips, self.embed, self.augment, seed=seed, cache_seconds=cache_seconds)

    def loss(self, batch: tuple[Tensor, Tensor], gen: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        clean, other = batch
        encoder = self.modules["audio"]
        a = encoder(clean.to(self.device, non_blocking=True))
        b = encoder(self.degrade(other, gen))
        return nt_xent(a, b, self.temperature), {"pair_accuracy": pair_accuracy(a.detach(), b.detach())}

    @torch.no_grad()
    def evaluate(self, clips: Sequence[Clip], *, items: int, seed: int, workers: int) -> dict[str, float]:
        """Held-out windows against their degraded copies: recall@k of the copy among all windows."""
        self.train(False)
        data = FingerprintPairs(clips, self.embed, self.augment, seed=seed + 1)
        loader = DataLoader(torch.utils.data.Subset(data, range(items)), batch_size=EVAL_BATCH, num_workers=workers)
        gen = torch.Generator(self.device).manual_seed(seed + 1)
        encoder = self.modules["audio"]
        pairs = [(encoder(a.to(self.device)), encoder(self.degrade(b, gen))) for a, b in loader]
        a, b = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
        return recall_at(b, a, ks=(1, 5, 10))


def recolour(frames: Tensor, gen: torch.Generator) -> Tensor:
    """Each clip [shape=(B, T, H, W, 3)] uint8 with its colour channels in a random order and a
    random gain (0.6-1.4): colours say nothing about the sound, so the encoder must not lean on them."""
    b = frames.shape[0]
    order = torch.argsort(torch.rand(b, 3, generator=gen, device=frames.device), dim=1)
    shuffled = frames.gather(4, order[:, None, None, None, :].expand_as(frames))
    gain = 0.6 + 0.8 * torch.rand(b, 1, 1, 1, 1, generator=gen, device=frames.device)
    return (shuffled.float() * gain).clamp(0, 255).to(torch.uint8)


@OBJECTIVES.register("soundtrack")
class SoundtrackObjective(Objective):
    name = "soundtrack"
    needs_video = True

    def __init__(self, embed: EmbedConfig, augment_config: AugmentConfig, *, temperature: float,
                 device: torch.device, video: nn.Module) -> None:
        super().__init__(embed, augment_config, temperature=temperature, device=device)
        self.modules["video"] = video.to(device)

    @classmethod
    def from_config(cls, cfg: Mapping, embed: EmbedConfig, augment_config: AugmentConfig, *, temperature: float,
                    device: torch.device) -> SoundtrackObjective:
        from hydra.utils import instantiate  # the encoder group names its class with _target_

        return cls(embed, augment_config, temperature=temperature, device=device,
                   video=instantiate(dict(cfg["encoder"])))

    def dataset(self, clips: Sequence[Clip], *, seed: int, cache_seconds: float, frame_cache_mb: float = 512.0,
                spots: list | None = None) -> AudioVisualPairs:
        video = self.modules["video"]
        return AudioVisualPairs(clips, self.embed, frames=video.frames, size=video.size, seed=seed, spots=spots,
                                cache_seconds=cache_seconds, frame_cache_mb=frame_cache_mb)

    def loss(self, batch: tuple[Tensor, Tensor], gen: torch.Generator) -> tuple[Tensor, dict[str, float]]:
        frames, audio = batch
        v = self.modules["video"](recolour(frames.to(self.device, non_blocking=True), gen))
        a = self.modules["audio"](self.degrade(audio, gen))
        return info_nce(v, a, self.temperature), {"pair_accuracy": pair_accuracy(v.detach(), a.detach())}

    @torch.no_grad()
    def embed_pairs(self, clips: Sequence[Clip], *, items: int, workers: int) -> tuple[Tensor, Tensor]:
        """(video, audio) embeddings [shape=(N, dim)] of ``items`` spots spread over ``clips``."""
        self.train(False)
        spots = ClipSampler(clips, self.embed.window).grid(items)
        loader = DataLoader(self.dataset(clips, seed=0, cache_seconds=7200.0, spots=spots), batch_size=EVAL_BATCH,
                            num_workers=workers)
        pairs = [(self.modules["video"](f.to(self.device)), self.modules["audio"](a.to(self.device)))
                 for f, a in loader]
        return torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])

    def evaluate(self, clips: Sequence[Clip], *, items: int, seed: int, workers: int) -> dict[str, float]:
        """Video -> audio retrieval on held-out clips: recall@1/5/10 and what chance gives."""
        v, a = self.embed_pairs(clips, items=items, workers=workers)
        return recall_at(v, a, ks=(1, 5, 10))

    def export(self, out: Path, step: int) -> list[Path]:
        from videothat.core.hashing import content_hash

        video = self.modules["video"]
        audio = super().export(out, step)
        return audio + [
            save_encoder(video, video.config(), out / "video_encoder.safetensors", kind="video",
                         extra={"objective": self.name, "step": step, "audio_window": self.embed.window,
                                "audio_digest": content_hash(audio[0])})]
