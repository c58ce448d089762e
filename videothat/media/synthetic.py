"""Synthetic media written with PyAV (no ffmpeg binary needed).

Used by the tests, the evaluation scripts and the built-in demo: shots of distinct
drifting textures with hard cuts at exact frame boundaries, over any sound track.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import av
import numpy as np

from videothat.media.audio import encode_audio


def tone(seconds: float, sr: int, freq: float = 440.0, *, amp: float = 0.5, channels: int = 1) -> np.ndarray:
    """A sine tone [shape=(channels, n)] float32."""
    t = np.arange(int(round(seconds * sr))) / sr
    wave = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(wave[None], channels, axis=0)


def clicks(seconds: float, sr: int, times: list[float], *, amp: float = 0.8) -> np.ndarray:
    """Decaying noise bursts at ``times`` (s) over silence. [shape=(1, n)] float32"""
    rng = np.random.default_rng(0)
    out = np.zeros(int(round(seconds * sr)), dtype=np.float32)
    burst = (rng.standard_normal(sr // 20) * np.exp(-np.arange(sr // 20) / (sr / 200))).astype(np.float32)
    for t in times:
        i = int(round(t * sr))
        out[i : i + burst.size] += amp * burst[: max(0, out.size - i)]
    return out[None]


def segment_frames(n_frames: int, seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """Frames of one synthetic shot: a textured pattern with its own colours, drifting.

    [shape=(n_frames, H, W, 3)] uint8. Different seeds give clearly different shots.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    base = rng.integers(0, 256, size=(h // 8, w // 8, 3), dtype=np.uint8)
    base = np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))
    tint = rng.integers(0, 256, size=3)
    frames = []
    for k in range(n_frames):
        shifted = np.roll(base, shift=k, axis=1).astype(np.int32)
        frames.append(((shifted + tint) // 2).astype(np.uint8))
    return np.stack(frames)


def write_video(
    path: Path,
    frames: np.ndarray,
    *,
    fps: int = 25,
    audio: np.ndarray | None = None,
    sr: int = 44100,
    vcodec: str = "libx264",
    acodec: str = "aac",
    options: dict[str, str] | None = None,
) -> Path:
    """Write RGB ``frames`` [N, H, W, 3] and optional ``audio`` [C, n] float32 to ``path``.

    ``options`` are muxer options, e.g. ``{"movflags": "faststart"}`` (index first).
    """
    with av.open(str(path), mode="w", options=options or {}) as out:
        vs = out.add_stream(vcodec, rate=fps)
        vs.width, vs.height = frames.shape[2], frames.shape[1]
        vs.pix_fmt = "yuv420p"
        a_s = None
        if audio is not None:
            a_s = out.add_stream(acodec, rate=sr)
            a_s.layout = "mono" if audio.shape[0] == 1 else "stereo"
        for img in frames:
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if a_s is not None:
            encode_audio(out, a_s, audio, sr)
    return path


def write_audio(path: Path, audio: np.ndarray, *, sr: int = 44100, codec: str = "pcm_s16le",
                bit_rate: int | None = None) -> Path:
    """Write ``audio`` [C, n] float32 to an audio-only container chosen by ``path``'s suffix
    (``bit_rate`` in bits/s for lossy codecs)."""
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=sr)
        if bit_rate:
            stream.bit_rate = bit_rate
        stream.layout = "mono" if audio.shape[0] == 1 else "stereo"
        encode_audio(out, stream, audio, sr)
    return path


def _square_scene(size: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a dim blocky background [shape=(H, W, 3)], a bright square texture [shape=(S, S, 3)])
    uint8, ``S = max(8, H // 5)``; seeds give different colours."""
    rng = np.random.default_rng(seed)
    h, w = size
    side = max(8, h // 5)
    background = np.kron(rng.integers(0, 256, size=(h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8),
                         np.ones((16, 16, 1), dtype=np.uint8))[:h, :w] // 3
    return background, rng.integers(120, 256, size=(side, side, 3), dtype=np.uint8)


def bouncing_frames(n_frames: int, period: int, seed: int, size: tuple[int, int] = (96, 128), *,
                    phase: int = 0, speed: float = 2.0) -> np.ndarray:
    """Frames of a textured square sliding left and right over a still background at
    ``speed`` pixels per frame (at most), turning back every ``period`` frames (at frames
    ``phase + k * period``): a visual impact each time it turns. [shape=(n_frames, H, W, 3)]
    uint8; seeds give different colours."""
    background, texture = _square_scene(size, seed)
    (h, w), side = size, texture.shape[0]
    step = min(speed, (w - side - 8) / period)
    frames = np.repeat(background[None], n_frames, axis=0)
    for k in range(n_frames):
        t = (k - phase) % (2 * period)
        x = 4 + round(step * (t if t <= period else 2 * period - t))
        frames[k, h // 2 - side // 2 : h // 2 - side // 2 + side, x : x + side] = texture
    return frames


def turning_frames(n_frames: int, turns: np.ndarray, seed: int, size: tuple[int, int] = (96, 128), *,
                   reach: int = 32) -> np.ndarray:
    """Frames of a textured square swinging ``reach`` pixels to and fro over a still
    background, arriving at one end and turning back exactly at each of the frames
    ``turns`` (increasing), each swing at its own steady speed: a visual impact at every
    turn and nowhere else. [shape=(n_frames, H, W, 3)] uint8; seeds give different colours."""
    background, texture = _square_scene(size, seed)
    (h, w), side = size, texture.shape[0]
    knots = np.concatenate([[0], np.asarray(turns, np.float64), [max(n_frames, 1)]])
    left = (w - side - reach) // 2
    sides = np.where(np.arange(knots.size) % 2 == 0, left, left + reach).astype(np.float64)  # left at frame 0, ...
    xs = np.interp(np.arange(n_frames), knots[:-1], sides[:-1])
    frames = np.empty((n_frames, h, w, 3), np.uint8)
    top = h // 2 - side // 2
    for k, x in enumerate(xs):  # the square at a sub-pixel place: two whole-pixel places blended (smooth motion)
        low, frac = int(np.floor(x)), x - np.floor(x)
        picture = np.zeros((2, h, w, 3), np.float32) + background
        for j, at in enumerate((low, low + 1)):
            picture[j, top : top + side, at : at + side] = texture
        frames[k] = np.round((1 - frac) * picture[0] + frac * picture[1]).astype(np.uint8)
    return frames


def cut_video(
    path: Path, cut_times: list[float], duration: float, *, fps: int = 25, audio: np.ndarray | None = None,
    sr: int = 44100, first_seed: int = 1, size: tuple[int, int] = (96, 128),
) -> Path:
    """A video with hard cuts at ``cut_times`` (s, on frame boundaries) and ``duration`` s.

    Shot i shows the texture of seed ``first_seed + i``.
    """
    bounds = [0, *[round(t * fps) for t in cut_times], round(duration * fps)]
    frames = np.concatenate(
        [segment_frames(b - a, seed=first_seed + i, size=size) for i, (a, b) in enumerate(pairwise(bounds))]
    )
    return write_video(path, frames, fps=fps, audio=audio, sr=sr)
