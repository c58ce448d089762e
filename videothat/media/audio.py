"""Decode the audio of any container ffmpeg reads to mono float32 at a chosen rate."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

from videothat.core.errors import CorruptMediaError, NoAudioError
from videothat.media.probe import open_container

log = logging.getLogger(__name__)

TRUNCATION_TOLERANCE_S = 1.0  # decoded audio may fall this short of the header's duration
SEEK_PREROLL_S = 0.2  # s decoded before a seek target and dropped (codecs such as AAC need it to settle)


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
        samples, _ = _decode_stream(path, container, stream, sample_rate)
        declared = stream.duration * stream.time_base if stream.duration else None
    _check_complete(path, samples.size / sample_rate, declared)
    return np.clip(samples, -1.0, 1.0, out=samples)


def decode_audio_range(path: str | Path, sample_rate: int, start: float, duration: float) -> np.ndarray:
    """``duration`` s of the first audio stream of ``path`` from ``start`` s, mono at
    ``sample_rate`` [shape=(round(duration * sample_rate),)] float32, zero-padded past the end.

    Seeks (to the packet :data:`SEEK_PREROLL_S` before ``start``) instead of decoding from
    the beginning, so windows of long files (films) load fast. Raises as :func:`decode_audio`.
    """
    path = Path(path)
    n = round(duration * sample_rate)
    with open_container(path) as container:
        if not container.streams.audio:
            raise NoAudioError(path, "has no audio stream")
        stream = container.streams.audio[0]
        origin = float(stream.start_time * stream.time_base) if stream.start_time else 0.0  # decode_audio's 0 s
        if start > 0 and stream.time_base:
            target = origin + max(0.0, start - SEEK_PREROLL_S)
            container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        samples, t0 = _decode_stream(path, container, stream, sample_rate, until=origin + start + duration)
        t0 -= origin
    first = round((start - t0) * sample_rate)
    out = np.zeros(n, dtype=np.float32)
    piece = samples[max(0, first) : max(0, first) + n]
    out[max(0, -first) : max(0, -first) + piece.size] = piece[: n - max(0, -first)]
    return np.clip(out, -1.0, 1.0, out=out)


def _decode_stream(path: Path, container, stream, sample_rate: int, *, until: float | None = None
                   ) -> tuple[np.ndarray, float]:
    """(mono samples [n] float32 at ``sample_rate``, time in s of the first one) from the
    container's current position to the end, or to just past ``until`` s."""
    stream.thread_type = "AUTO"
    resampler = av.AudioResampler(format="fltp", rate=sample_rate)
    chunks: list[np.ndarray] = []
    decoded = 0  # samples in chunks
    t0: float | None = None
    try:
        for frame in container.decode(stream):
            if t0 is None:
                t0 = float(frame.time) if frame.time is not None else 0.0
            for out in resampler.resample(frame):
                chunks.append(_mono(out))
                decoded += chunks[-1].size
            if until is not None and t0 + decoded / sample_rate > until:
                break
        chunks.extend(_mono(out) for out in resampler.resample(None))
    except av.error.FFmpegError as exc:
        done = decoded / sample_rate
        raise CorruptMediaError(
            path, f"audio is corrupt after {done:.2f} s ({getattr(exc, 'strerror', exc)})"
        ) from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return samples, t0 or 0.0


def lossy_roundtrip(audio: np.ndarray, sample_rate: int, *, bit_rate: int, codec: str = "libmp3lame",
                    container: str = "mp3") -> np.ndarray:
    """``audio`` [shape=(n,)] float32 encoded with a lossy ``codec`` at ``bit_rate`` bits/s and
    decoded again, in memory, aligned and cut to its input's length (codec delay removed)."""
    import io

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=sample_rate)
        stream.bit_rate, stream.layout = bit_rate, "mono"
        encode_audio(out, stream, audio[None].astype(np.float32), sample_rate)
    buffer.seek(0)
    with av.open(buffer, mode="r") as src:
        decoded, _ = _decode_stream(Path(f"<{codec} buffer>"), src, src.streams.audio[0], sample_rate)
    return _align(decoded, audio)


def _align(decoded: np.ndarray, reference: np.ndarray, max_lag: int = 4096) -> np.ndarray:
    """``decoded`` shifted by the lag (0..max_lag samples of codec delay) whose first
    2^14 samples correlate best with ``reference``'s, cut or zero-padded to its length."""
    n = reference.size
    probe = reference[: 1 << 14]
    span = decoded[: probe.size + max_lag]
    size = 1 << int(np.ceil(np.log2(max(2, span.size + probe.size))))
    corr = np.fft.irfft(np.fft.rfft(span, size) * np.conj(np.fft.rfft(probe, size)), size)
    lag = int(np.argmax(corr[: max(1, min(max_lag, span.size - probe.size) + 1)]))
    out = np.zeros(n, dtype=np.float32)
    piece = decoded[lag : lag + n]
    out[: piece.size] = piece
    return out


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
    (converted to the stream's rate, layout and sample format), then flush it. Mono audio
    into a stereo stream plays at its own level on both channels (libswresample's upmix
    would lower it by 3 dB)."""
    from fractions import Fraction

    if audio.shape[0] == 1 and stream.layout.nb_channels == 2:
        audio = np.repeat(audio, 2, axis=0)
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
