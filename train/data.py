"""Training data: windows of sound (and the frames over them) drawn from manifest clips.

Every item is a pure function of ``(seed, index)``: which clip (chosen in proportion to
its length), where in it, and how it is degraded come from ``numpy``'s generator seeded
with both, so a run is reproducible with any number of loader workers and a resumed run
sees exactly the batches it would have seen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from train.manifest import Clip
from videothat.audio.augment import AugmentConfig
from videothat.audio.config import EmbedConfig
from videothat.media.audio import decode_audio, decode_audio_range, lossy_roundtrip

WHOLE_FILE_S = 900.0  # files up to this long are decoded once and kept; longer ones are read by seeking
MAX_FPS = 60.0  # frame rate assumed when judging whether a file's frames fit the cache
QUIET_PEAK = 1e-3  # windows whose peak is below this are redrawn (up to REDRAWS times)
REDRAWS = 8


class AudioSource:
    """Windows of media audio at one rate, with an in-memory cache of short files (per process)."""

    def __init__(self, sample_rate: int, *, cache_seconds: float = 7200.0) -> None:
        self.sample_rate, self.cache_seconds = sample_rate, cache_seconds
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()

    def _whole(self, clip: Clip, kbps: int = 0) -> np.ndarray | None:
        if (clip.file_duration or clip.end) > WHOLE_FILE_S or self.cache_seconds <= 0:
            return None  # long files (films) are read window by window
        key = (str(clip.path), kbps)
        if key not in self._cache:
            audio = decode_audio(clip.path, self.sample_rate) if kbps == 0 else \
                lossy_roundtrip(self._whole(clip), self.sample_rate, bit_rate=kbps * 1000)
            self._cache[key] = audio
            while sum(a.size for a in self._cache.values()) > self.cache_seconds * self.sample_rate \
                    and len(self._cache) > 1:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def window(self, clip: Clip, start: float, duration: float, *, kbps: int = 0) -> np.ndarray:
        """[shape=(round(duration * rate),)] float32 from ``start`` s of the clip's file
        (zero past its end), lossily re-encoded at ``kbps`` kbit/s when > 0."""
        n = round(duration * self.sample_rate)
        whole = self._whole(clip, kbps)
        if whole is None:
            audio = decode_audio_range(clip.path, self.sample_rate, start, duration)
            return lossy_roundtrip(audio, self.sample_rate, bit_rate=kbps * 1000) if kbps else audio
        i = round(start * self.sample_rate)
        out = np.zeros(n, dtype=np.float32)
        piece = whole[i : i + n]
        out[: piece.size] = piece
        return out


class FrameSource:
    """Frames spread over spans of media video, with an in-memory cache (per process) of whole
    short files decoded once at the model's size: up to ``cache_mb`` MB; longer files (films),
    or those that do not fit, are read by seeking (:func:`~videothat.media.frames.sample_frames`).
    Both give the same frames."""

    def __init__(self, size: int, *, cache_mb: float = 512.0) -> None:
        self.size, self.budget = size, cache_mb * 1e6
        self._cache: OrderedDict[str, tuple[torch.Tensor, float]] = OrderedDict()

    def _whole(self, clip: Clip) -> tuple[torch.Tensor, float] | None:
        from videothat.media.frames import decode_frames

        key = str(clip.path)
        if key not in self._cache:
            seconds = clip.file_duration or clip.end
            if seconds > WHOLE_FILE_S or seconds * MAX_FPS * self.size ** 2 * 3 > self.budget:
                return None
            self._cache[key] = decode_frames(clip.path, height=self.size, width=self.size)
            while sum(f.numel() for f, _ in self._cache.values()) > self.budget and len(self._cache) > 1:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def frames(self, clip: Clip, start: float, duration: float, n: int) -> torch.Tensor:
        """``n`` frames [shape=(n, size, size, 3)] uint8 spread over [start, start + duration) s."""
        from videothat.media.frames import frame_indices, frame_times, sample_frames

        whole = self._whole(clip)
        if whole is None:
            return sample_frames(clip.path, start, start + duration, n=n, height=self.size, width=self.size)
        frames, fps = whole
        return frames[torch.from_numpy(frame_indices(frame_times(start, start + duration, n), fps, len(frames)))]


class ClipSampler:
    """Random positions in clips, in proportion to their lengths."""

    def __init__(self, clips: Sequence[Clip], span: float) -> None:
        self.clips, self.span = list(clips), span
        lengths = np.array([c.duration for c in self.clips])
        self.weights = lengths / lengths.sum()

    def draw(self, rng: np.random.Generator) -> tuple[Clip, float]:
        clip = self.clips[int(rng.choice(len(self.clips), p=self.weights))]
        return clip, clip.start + float(rng.uniform(0.0, max(0.0, clip.duration - self.span)))

    def grid(self, n: int) -> list[tuple[Clip, float]]:
        """``n`` positions spread evenly over all clips (for held-out evaluation)."""
        total = sum(c.duration for c in self.clips)
        spots = []
        for clip in self.clips:
            count = max(1, round(n * clip.duration / total))
            room = max(0.0, clip.duration - self.span)
            spots += [(clip, clip.start + room * (k + 0.5) / count) for k in range(count)]
        return spots


class FingerprintPairs(Dataset):
    """Items ``(anchor, positive)``: a window of ``embed.window`` s of clean sound, and the
    same window shifted by up to ``augment.shift_s`` and, with probability
    ``augment.p_codec``, lossily re-encoded (the rest of the degradations are batched on
    the device, :func:`videothat.audio.augment.augment`). Each [shape=(embed.samples,)] float32."""

    def __init__(self, clips: Sequence[Clip], embed: EmbedConfig, augment: AugmentConfig, *, seed: int,
                 cache_seconds: float = 7200.0) -> None:
        self.embed, self.augment, self.seed = embed, augment, seed
        self.sampler = ClipSampler(clips, embed.window + 2 * augment.shift_s)
        self.source = AudioSource(embed.sample_rate, cache_seconds=cache_seconds)
        self.epoch = max(1, round(sum(c.duration for c in clips) / embed.window))

    def __len__(self) -> int:
        return self.epoch  # windows per pass over the data (items are drawn at random)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        n, shift = self.embed.samples, round(self.augment.shift_s * self.embed.sample_rate)
        for _ in range(REDRAWS):
            clip, t = self.sampler.draw(rng)
            segment = self.source.window(clip, t, self.sampler.span)
            if np.abs(segment[shift : shift + n]).max() >= QUIET_PEAK:
                break
        kbps = int(rng.choice(self.augment.codec_kbps)) if rng.random() < self.augment.p_codec else 0
        if kbps:
            segment = np.stack([segment, self.source.window(clip, t, self.sampler.span, kbps=kbps)])
        else:
            segment = np.stack([segment, segment])
        lag = shift + int(rng.integers(-shift, shift + 1))
        anchor, positive = segment[0, shift : shift + n], segment[1, lag : lag + n]
        return torch.from_numpy(anchor.copy()), torch.from_numpy(positive.copy())


class AudioVisualPairs(Dataset):
    """Items ``(frames, audio)``: ``frames`` frames [shape=(T, size, size, 3)] uint8 spread
    over ``embed.window`` s of a video, and the sound over them [shape=(embed.samples,)].

    With ``spots`` (from :meth:`ClipSampler.grid`) item ``i`` is the ``i``-th fixed spot
    (held-out evaluation); otherwise spots are drawn at random from ``(seed, index)``, and
    ``same_clip`` consecutive items share a clip (at other times), so every batch holds
    pairs that differ only in *when*: the model must learn what the pictures do with the
    sound, not only which video goes with which sound."""

    def __init__(self, clips: Sequence[Clip], embed: EmbedConfig, *, frames: int, size: int, seed: int,
                 spots: list[tuple[Clip, float]] | None = None, cache_seconds: float = 7200.0,
                 frame_cache_mb: float = 512.0, same_clip: int = 4) -> None:
        self.embed, self.frames, self.size, self.seed, self.spots = embed, frames, size, seed, spots
        self.same_clip = max(1, same_clip)
        self.sampler = ClipSampler(clips, embed.window)
        self.source = AudioSource(embed.sample_rate, cache_seconds=cache_seconds)
        self.pictures = FrameSource(size, cache_mb=frame_cache_mb)
        self.epoch = len(spots) if spots else max(1, round(sum(c.duration for c in clips) / embed.window))

    def __len__(self) -> int:
        return self.epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.spots:
            clip, t = self.spots[index]
        else:
            clip, _ = self.sampler.draw(np.random.default_rng([self.seed, index // self.same_clip]))
            room = max(0.0, clip.duration - self.embed.window)
            t = clip.start + float(np.random.default_rng([self.seed, index]).uniform(0.0, room))
        pictures = self.pictures.frames(clip, t, self.embed.window, self.frames)
        return pictures, torch.from_numpy(self.source.window(clip, t, self.embed.window))
