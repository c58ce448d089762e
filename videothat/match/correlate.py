"""Scores of shots against a song: every (shot, song offset) pair in one batched call.

For a shot novelty curve ``x`` of ``L`` frames placed at song frame ``o`` of a song curve
``y`` of ``T`` frames, over the ``m = min(L, T - o)`` frames that overlap::

    score(o) = sum_{k < m} x[k] * y[o + k] / (m / frame_rate) ** power

(VideoThat's original score with ``power`` = 0.5; it later used 0.75). Before scoring,
a constant or each curve's mean may be subtracted from both curves (``subtract``), so
that a note against silence lowers the score and silence against silence raises it.

:func:`correlate` computes all offsets of all shots with FFTs, chunked over shots so
memory stays bounded; :func:`prefix_scores` computes, for one song position, the score
of every prefix length of every shot (and in-point): the scores of trimmed shots that
the search needs to end a segment on a song onset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from videothat.errors import ParameterError

SUBTRACT_MODES = ("none", "mean")


@dataclass(frozen=True, kw_only=True)
class ScoreConfig:
    """How a (shot, offset) pair is scored (units in comments)."""

    power: float = 0.5  # p: the raw sum is divided by (overlap in seconds) ** p
    subtract: str | float = "mean"  # "none", "mean" (each curve's own mean) or a constant

    def __post_init__(self) -> None:
        if not 0.0 <= self.power <= 2.0:
            raise ParameterError(f"power={self.power} must be in [0, 2]")
        if isinstance(self.subtract, str) and self.subtract not in SUBTRACT_MODES:
            try:
                float(self.subtract)
            except ValueError:
                raise ParameterError(
                    f"subtract={self.subtract!r} must be one of {SUBTRACT_MODES} or a number"
                ) from None


@dataclass(frozen=True)
class ShotBank:
    """Shot curves ready for scoring, on one device.

    ``curves`` [shape=(S, L_max)] float32 (centred per ``subtract``, zero past each
    length), ``lengths`` [shape=(S,)] int64 frames.
    """

    curves: Tensor
    lengths: Tensor

    @property
    def device(self) -> torch.device:
        return self.curves.device

    def __len__(self) -> int:
        return self.curves.shape[0]


def shot_bank(curves: Sequence[Tensor], config: ScoreConfig, *, device: torch.device | str = "cpu") -> ShotBank:
    """Pad shot curves into one tensor and move it to ``device`` (once).

    Each curve has its own mean (or the constant) subtracted before padding, so padded
    frames contribute nothing.
    """
    if len(curves) == 0:
        raise ParameterError("no shot curves to score")
    tensors = [torch.as_tensor(c, dtype=torch.float32) for c in curves]
    lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.int64)
    if bool((lengths == 0).any()):
        raise ParameterError("shot curves must have at least one frame")
    padded = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True)  # [S, L_max], zero padded
    valid = torch.arange(padded.shape[1])[None, :] < lengths[:, None]
    if config.subtract == "mean":
        padded = torch.where(valid, padded - (padded.sum(1) / lengths)[:, None], 0.0)
    elif config.subtract != "none":
        padded = torch.where(valid, padded - float(config.subtract), 0.0)
    return ShotBank(padded.to(device), lengths.to(device))


def prepare_song(curve: Tensor, config: ScoreConfig, *, device: torch.device | str = "cpu") -> Tensor:
    """The song curve with the same subtraction as the shots. [shape=(T,)]"""
    curve = torch.as_tensor(curve, dtype=torch.float32)
    if config.subtract == "mean":
        curve = curve - curve.mean()
    elif config.subtract != "none":
        curve = curve - float(config.subtract)
    return curve.to(device)


def length_norm(frames: Tensor, *, frame_rate: float, power: float) -> Tensor:
    """(frames / frame_rate) ** power, the score's denominator (frames >= 1)."""
    return (frames.to(torch.float32) / frame_rate).pow(power)


def correlate(
    bank: ShotBank,
    song: Tensor,
    *,
    frame_rate: float,
    power: float,
    max_elements: int = 1 << 25,
) -> Tensor:
    """Score of every shot at every song offset.

    Parameters
    ----------
    bank : shots, [shape=(S, L_max)]
    song : [shape=(T,)] on the bank's device
    frame_rate : curve frames per second
    power : length normalisation exponent p
    max_elements : complex FFT elements per shot chunk (bounds memory to about
        ``16 * max_elements`` bytes beside the output)

    Returns
    -------
    [shape=(S, T)] float32: ``scores[s, o]`` for the shot's first frame at song frame o.
    """
    out = torch.empty(len(bank), song.shape[0], device=song.device, dtype=torch.float32)
    for s0, chunk in _score_chunks(bank, song, frame_rate=frame_rate, power=power, max_elements=max_elements):
        out[s0 : s0 + chunk.shape[0]] = chunk
    return out


def best_offsets(
    bank: ShotBank,
    song: Tensor,
    *,
    frame_rate: float,
    power: float,
    max_frames: int,
    min_frames: int = 1,
    max_elements: int = 1 << 25,
) -> tuple[Tensor, Tensor, Tensor]:
    """Each shot's best song offset, without holding the whole (S, T) score matrix.

    Shots are cut to their first ``max_frames`` frames; an offset counts only if the
    placement (length ``min(L, T - o)``) is at least ``min_frames`` long and leaves
    either no room or at least ``min_frames`` before and after it.

    Returns scores, offsets, lengths, each [shape=(S,)] (score -inf where none fits).
    """
    cut = ShotBank(bank.curves[:, :max_frames], bank.lengths.clamp(max=max_frames))
    t = song.shape[0]
    o = torch.arange(t, device=song.device)
    scores = torch.empty(len(bank), device=song.device)
    offsets = torch.empty(len(bank), dtype=torch.int64, device=song.device)
    for s0, chunk in _score_chunks(cut, song, frame_rate=frame_rate, power=power, max_elements=max_elements):
        lengths = torch.minimum(cut.lengths[s0 : s0 + chunk.shape[0], None], t - o[None, :])
        after = t - o[None, :] - lengths
        fits = (lengths >= min(min_frames, t)) & ((o == 0) | (o >= min_frames))[None, :]
        fits &= (after == 0) | (after >= min_frames)
        scores[s0 : s0 + chunk.shape[0]], offsets[s0 : s0 + chunk.shape[0]] = (
            torch.where(fits, chunk, -torch.inf).max(dim=1)
        )
    lengths = torch.minimum(cut.lengths, t - offsets)
    return scores, offsets, lengths


def _score_chunks(bank: ShotBank, song: Tensor, *, frame_rate: float, power: float, max_elements: int):
    """Yield (first shot, scores [shape=(chunk, T)]) over chunks of shots (one FFT batch each)."""
    n_shots, l_max = bank.curves.shape
    t = song.shape[0]
    n_fft = _fast_len(t + l_max - 1)
    song_f = torch.fft.rfft(song.to(torch.float32), n=n_fft)
    chunk = max(1, max_elements // (n_fft // 2 + 1))
    offsets = torch.arange(t, device=song.device)
    for s0 in range(0, n_shots, chunk):  # chunks bound memory; each is one batched FFT
        shots_f = torch.fft.rfft(bank.curves[s0 : s0 + chunk], n=n_fft)
        raw = torch.fft.irfft(song_f * shots_f.conj(), n=n_fft)[:, :t]
        overlap = torch.minimum(bank.lengths[s0 : s0 + chunk, None], t - offsets[None, :])
        yield s0, raw / length_norm(overlap, frame_rate=frame_rate, power=power)


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (sizes FFTs are fast at)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35
            while size < n:
                size *= 2
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


def prefix_scores(
    bank: ShotBank,
    song: Tensor,
    position: int,
    *,
    max_frames: int,
    frame_rate: float,
    power: float,
    in_points: Tensor | None = None,
) -> Tensor:
    """Scores of every prefix of every shot (from each in-point) placed at ``position``.

    ``scores[s, j, l - 1]`` is the score of shot ``s`` played from its frame
    ``in_points[j]`` for ``l`` frames, starting at song frame ``position``; -inf where the
    shot has fewer than ``in_point + l`` frames. ``l`` runs to ``min(max_frames, T - position)``.

    Returns [shape=(S, J, K)] float32, J = len(in_points) (default: in-point 0 only).
    """
    if in_points is None:
        in_points = torch.zeros(1, dtype=torch.int64, device=bank.device)
    k = min(max_frames, song.shape[0] - position)
    if k <= 0:
        raise ParameterError(f"position={position} is not inside the song ({song.shape[0]} frames)")
    steps = torch.arange(k, device=bank.device)
    frames = in_points[:, None] + steps[None, :]  # [J, K] shot frame of each step
    inside = frames < bank.curves.shape[1]
    shot_vals = bank.curves[:, frames.clamp(max=bank.curves.shape[1] - 1)] * inside  # [S, J, K]
    raw = torch.cumsum(shot_vals * song[position : position + k], dim=-1)
    scores = raw / length_norm(steps + 1, frame_rate=frame_rate, power=power)
    valid = frames[None, :, :] < bank.lengths[:, None, None]
    return torch.where(valid, scores, torch.full_like(scores, -torch.inf))
