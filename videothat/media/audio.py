"""Decode the audio of any container ffmpeg reads to mono float32 at a chosen rate."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

from videothat.errors import CorruptMediaError, NoAudioError
from videothat.media.probe import open_container

log = logging.getLogger(__name__)

TRUNCATION_TOLERANCE_S = 1.0  # decoded audio may fall this short of the header's duration


def decode_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Decode the first audio stream of ``path`` to mono.

    Resampled by libswresample (PyAV's ``AudioResampler``), then down-mixed as the mean
    of the channels (as ``librosa.to_mono``; swresample's own down-mix adds channels at
    -3 dB each, which clips loud stereo).

    Parameters
    ----------
    path : a media file (mp4, mkv, webm, avi, mpg, ogg, wav, flac, mp3, ...)
    sample_rate : output rate in Hz

    Returns
    -------
    [shape=(n,)] float32 in [-1, 1] at ``sample_rate``.

    Raises
    ------
    NoAudioError : the file has no audio stream.
    CorruptMediaError : unreadable, corrupt mid-stream, or much shorter than its header says.
    """
    path = Path(path)
    with open_container(path) as container:
        if not container.streams.audio:
            raise NoAudioError(path, "has no audio stream (VideoThat matches shots by their sound)")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                chunks.extend(_mono(out) for out in resampler.resample(frame))
            chunks.extend(_mono(out) for out in resampler.resample(None))
        except av.error.FFmpegError as exc:
            done = sum(c.size for c in chunks) / sample_rate
            raise CorruptMediaError(
                path, f"audio is corrupt after {done:.2f} s ({getattr(exc, 'strerror', exc)})"
            ) from exc
        declared = stream.duration * stream.time_base if stream.duration else None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    _check_complete(path, samples.size / sample_rate, declared)
    return np.clip(samples, -1.0, 1.0, out=samples)


def _mono(frame: av.AudioFrame) -> np.ndarray:
    """Planar float frame [channels, n] -> mean over channels [n]."""
    planes = frame.to_ndarray()
    return planes[0].copy() if planes.shape[0] == 1 else planes.mean(axis=0, dtype=np.float32)


def _check_complete(path: Path, decoded_s: float, declared_s: float | None) -> None:
    if decoded_s == 0:
        raise CorruptMediaError(path, "audio stream decodes to no samples (empty or truncated)")
    if declared_s is not None and decoded_s < float(declared_s) - TRUNCATION_TOLERANCE_S:
        raise CorruptMediaError(
            path,
            f"truncated: decoded {decoded_s:.2f} s of audio, its header declares "
            f"{float(declared_s):.2f} s",
        )


def peak_dbfs(samples: np.ndarray) -> float:
    """Peak level in dB relative to full scale (-inf for digital silence)."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def encode_audio(out: av.container.OutputContainer, stream: av.AudioStream, audio: np.ndarray, rate: int) -> None:
    """Encode float audio [shape=(channels, n)] at ``rate`` Hz into ``stream`` of ``out``
    (converted to the stream's rate, layout and sample format), then flush it."""
    from fractions import Fraction

    layout = "mono" if audio.shape[0] == 1 else "stereo"
    resampler = av.AudioResampler(format=stream.codec_context.codec.audio_formats[0].name,
                                  layout=stream.layout.name, rate=stream.rate)
    interleaved = np.ascontiguousarray(audio.T.reshape(1, -1), dtype=np.float32)
    chunk = 4096
    for start in range(0, audio.shape[1], chunk):
        piece = interleaved[:, start * audio.shape[0] : (start + chunk) * audio.shape[0]]
        frame = av.AudioFrame.from_ndarray(piece, format="flt", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        for converted in resampler.resample(frame):
            out.mux(stream.encode(converted))
    for converted in resampler.resample(None):
        out.mux(stream.encode(converted))
    out.mux(stream.encode(None))
