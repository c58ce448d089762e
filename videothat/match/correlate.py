"""Scores of shots against a song: every (shot, song offset) pair in one batched call.

For a shot novelty curve ``x`` of ``L`` frames placed at song frame ``o`` of a song curve
``y`` of ``T`` frames, over the ``m = min(L, T - o)`` frames that overlap (``m`` seconds
written ``m_s``)::

    raw(o)   = sum_{k < m} x[k] * y[o + k]
    none:      score = raw / m_s ** power                     (VideoThat's original score)
    window:    score = raw / sqrt((|x|^2 + m f) (|y_o|^2 + m f)) * m_s ** (1 - power)

``power`` is 0.5 by default (the original; it later used 0.75). With ``normalize="window"``
both curves are scaled to unit energy over the overlap (``|x|^2``, ``|y_o|^2``: sums of
squares over it; ``f``: ``floor`` times the song curve's variance, so flat stretches do not
divide by ~0): the raw sum of two unit-RMS curves, i.e. ``m`` times their correlation, then
divided by ``m_s ** power`` as in the original. A shot is then judged by how its onsets
line up with the song's, not by how loud either is; by Cauchy-Schwarz an exact copy of the
song scores highest at its own place. Before scoring, a constant or each curve's mean may be
subtracted (``subtract``), so that a note against silence lowers the score and silence
against silence raises it.

:func:`correlate` computes all offsets of all shots with FFTs, chunked over shots so
memory stays bounded; :func:`prefix_scores` computes, for one song position, the score
of every prefix length of every shot (and in-point): the scores of trimmed shots that
the search needs to end a segment on a song onset.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from videothat.audio.chroma import block_edges, harmony
from videothat.core.errors import ParameterError
from videothat.match.config import ScoreConfig


@dataclass(frozen=True)
class ShotBank:
    """Shot curves ready for scoring, on one device.

    ``curves`` [shape=(S, L_max)] float32 (with ``subtract`` applied, zero past each
    length); ``lengths`` [shape=(S,)] int64 frames; ``energy`` [shape=(S, L_max + 1)]
    cumulative sums of ``curves ** 2`` (``energy[:, m]`` = energy of the first m frames).
    """

    curves: Tensor
    lengths: Tensor
    energy: Tensor
    chroma: Tensor | None = None  # [S, L_max + 1, 12] float32 running sums of chroma (the harmony term)

    @property
    def device(self) -> torch.device:
        return self.curves.device

    def __len__(self) -> int:
        return self.curves.shape[0]

    def truncated(self, frames: int) -> ShotBank:
        """The bank with every shot cut to its first ``frames`` frames."""
        chroma = None if self.chroma is None else self.chroma[:, : frames + 1]
        return ShotBank(self.curves[:, :frames], self.lengths.clamp(max=frames), self.energy[:, : frames + 1], chroma)


@dataclass(frozen=True)
class SongCurve:
    """The song curve ready for scoring: ``curve`` [shape=(T,)], ``energy`` [shape=(T + 1,)]
    cumulative sums of its squares, ``floor`` the energy per frame added by ``window``."""

    curve: Tensor
    energy: Tensor
    floor: float
    chroma: Tensor | None = None  # [T + 1, 12] float32 running sums of the song's chroma

    def __len__(self) -> int:
        return self.curve.shape[0]


def _subtract(curve: Tensor, valid: Tensor, config: ScoreConfig) -> Tensor:
    """Apply ``config.compress`` and ``config.subtract`` along the last dim over ``valid``
    frames; zero elsewhere."""
    if config.compress == "log":
        curve = torch.log1p(curve.clamp(min=0))
    if config.subtract == "none":
        return torch.where(valid, curve, 0.0)
    if config.subtract == "mean":
        mean = (curve * valid).sum(-1, keepdim=True) / valid.sum(-1, keepdim=True).clamp(min=1)
        return torch.where(valid, curve - mean, 0.0)
    return torch.where(valid, curve - float(config.subtract), 0.0)


def _cumulative_energy(curves: Tensor) -> Tensor:
    """[..., n] -> [..., n + 1]: 0 then running sums of squares, kept in float64: the energy
    of a stretch is a difference of two of them, which float32 would cancel away."""
    zero = torch.zeros(*curves.shape[:-1], 1, dtype=torch.float64, device=curves.device)
    return torch.cat([zero, torch.cumsum(curves.double() ** 2, dim=-1)], dim=-1)


def shot_bank(curves: Sequence[Tensor], config: ScoreConfig, *, device: torch.device | str = "cpu",
              edge_frames: int = 0, chroma: Sequence[Tensor] | None = None,
              quiet: Sequence[float] | Tensor | None = None) -> ShotBank:
    """Pad shot curves into one tensor, apply ``subtract``, and move it to ``device`` (once).

    With ``config.edge``, each curve's first ``edge_frames`` frames (those that depend on
    the sound before the shot, see :func:`videothat.audio.novelty.edge_frames`) are left
    out of the mean and set to zero (after ``subtract``), so they add nothing to scores.
    ``chroma``: each shot's chroma [shape=(L_i, 12)], for the harmony term (``config.harmony``).
    ``quiet`` [shape=(S,)]: energy per frame added to each shot's energy (the sound a silent
    shot lacks, see :func:`videothat.match.fuse.missing_sound`): the window score then divides
    by it too, as if the shot had that much sound that does not follow the song.
    """
    padded, lengths = _pad(curves, device)
    bank = _bank(padded, lengths, torch.full_like(lengths, edge_frames), config, _per_row(quiet, len(padded), 1,
                                                                                        padded.device))
    if chroma is None or config.harmony == 0:
        return bank
    return replace(bank, chroma=_running_chroma(_pad_chroma(chroma, padded.shape[1], device)))


SPEED_UNITY = 0.01  # speeds within 1 % of 1 (either way, in log) are 1: no visible change, only drift at cuts


def speed_grid(speed_min: float, speed_max: float, step: float) -> list[float]:
    """Playback speeds from ``speed_min`` to ``speed_max``: 1 and its multiples by
    ``(1 + step) ** k`` in both directions, the range's ends included (an end nearer than
    half a step to the grid's last speed takes its place), less the speeds within
    SPEED_UNITY of 1 (other than 1). Ascending."""
    down = math.floor(math.log(1.0 / speed_min) / math.log1p(step) + 1e-9)
    up = math.floor(math.log(speed_max) / math.log1p(step) + 1e-9)
    speeds = [(1 + step) ** k for k in range(-down, up + 1)]
    half = math.sqrt(1 + step)  # ends nearer than half a step replace the grid's last speed
    if speed_min < speeds[0] - 1e-9:
        keep = speeds[0] / speed_min > half or speeds[0] == 1.0  # 1 always stays
        speeds = [speed_min, *speeds] if keep else [speed_min, *speeds[1:]]
    if speed_max > speeds[-1] + 1e-9:
        keep = speed_max / speeds[-1] > half or speeds[-1] == 1.0
        speeds = [*speeds, speed_max] if keep else [*speeds[:-1], speed_max]
    return [s for s in speeds if s == 1.0 or abs(math.log(s)) >= math.log1p(SPEED_UNITY) - 1e-12]


def retimed_bank(curves: Sequence[Tensor], speeds: Sequence[float] | Tensor, config: ScoreConfig, *,
                 device: torch.device | str = "cpu", edge_frames: int = 0,
                 chroma: Sequence[Tensor] | None = None, quiet: Sequence[float] | Tensor | None = None) -> ShotBank:
    """A bank of every shot at every playback speed: row ``s * R + r`` is shot ``s`` played at
    ``speeds[r]`` (source seconds per song second), R = len(speeds); or, with ``speeds`` a
    [shape=(S, R)] tensor, at its own speeds ``speeds[s, r]``.

    Played at speed ``r``, the shot's curve frame ``k`` (song time) shows source time ``r k``:
    the curve is resampled by linear interpolation, ``x_r[k] = x(r k)``, for the
    ``floor((L - 1) / r) + 1`` frames inside the shot (all shots and speeds in one gather);
    its edge frames become ``ceil(edge_frames / r)``; ``chroma`` is resampled the same way;
    ``quiet`` as in :func:`shot_bank`, per shot. Speed 1 rows equal :func:`shot_bank`'s.
    """
    padded, lengths = _pad(curves, device)
    rates = torch.as_tensor(speeds, dtype=torch.float64).to(padded.device)
    rates = rates.expand(len(padded), -1) if rates.dim() == 1 else rates  # [S, R]
    n_max = int(((lengths.max() - 1) / rates.min()).floor()) + 1
    at = rates[..., None] * torch.arange(n_max, device=padded.device, dtype=torch.float64)  # [S, R, K]
    below = at.floor().long().clamp(max=padded.shape[1] - 1)
    frac = (at - below).float()
    above = (below + 1).clamp(max=padded.shape[1] - 1)
    shot = torch.arange(len(padded), device=padded.device)[:, None, None]
    retimed = padded[shot, below] * (1 - frac) + padded[shot, above] * frac  # [S, R, K]
    new_lengths = (((lengths[:, None] - 1).double() / rates).floor().long() + 1).clamp(max=n_max)
    inside = torch.arange(n_max, device=padded.device) < new_lengths[..., None]  # [S, R, K]
    retimed = torch.where(inside, retimed, 0.0)
    edges = torch.ceil(edge_frames / rates - 1e-9).long().expand_as(new_lengths)
    bank = _bank(retimed.flatten(0, 1), new_lengths.flatten(), edges.flatten(), config,
                 _per_row(quiet, len(padded), rates.shape[1], padded.device))
    if chroma is None or config.harmony == 0:
        return bank
    pitch = _pad_chroma(chroma, padded.shape[1], device)  # [S, L, 12]
    pitch = pitch[shot, below] * (1 - frac[..., None]) + pitch[shot, above] * frac[..., None]  # [S, R, K, 12]
    pitch = torch.where(inside[..., None], pitch, 0.0)
    return replace(bank, chroma=_running_chroma(pitch.flatten(0, 1)))


def _pad_chroma(chroma: Sequence[Tensor], frames: int, device: torch.device | str) -> Tensor:
    """Chroma [L_i, 12] each -> [S, frames, 12] float32 on ``device``, zero-padded (or cut)."""
    padded = torch.nn.utils.rnn.pad_sequence([torch.as_tensor(c, dtype=torch.float32)[:frames] for c in chroma],
                                             batch_first=True)  # [S, <= frames, 12]
    return torch.nn.functional.pad(padded, (0, 0, 0, frames - padded.shape[1])).to(device)


def _running_chroma(chroma: Tensor) -> Tensor:
    """[..., L, 12] -> [..., L + 1, 12]: 0 then running sums over frames (float32)."""
    zero = torch.zeros(*chroma.shape[:-2], 1, chroma.shape[-1], device=chroma.device)
    return torch.cat([zero, torch.cumsum(chroma, dim=-2)], dim=-2)


def speed_window(speeds: Sequence[float], best: Tensor, keep: int) -> Tensor:
    """The ``keep`` neighbouring speeds of the grid ``speeds`` around index ``best`` [shape=(S,)]
    of each shot (shifted inside the grid at its ends). Returns [shape=(S, keep)] float64, ascending."""
    grid = torch.tensor(list(speeds), dtype=torch.float64)
    keep = min(keep, len(grid))
    low = (best - keep // 2).clamp(0, len(grid) - keep)
    return grid[low[:, None] + torch.arange(keep)]


@dataclass(frozen=True)
class SpeedFit:
    """Each shot's best speed and what it gains over speed 1."""

    best: Tensor  # [S] int64 index into the grid of the speed the shot fits best at
    gain: Tensor  # [S] float64: the shot's best correlation at that speed less its best at speed 1
    fit: Tensor  # [S] float64: the shot's best correlation at that speed


def best_speeds(curves: Sequence[Tensor], speeds: Sequence[float], song: SongCurve, *, frame_rate: float,
                config: ScoreConfig, max_frames: int, min_frames: int, edge_frames: int = 0,
                coarse: int = 6, max_rows: int = 4096, quiet: Tensor | None = None) -> SpeedFit:
    """The speed of ``speeds`` (an ascending grid holding 1) at which each shot fits the song
    best (its best score at any offset, the shot cut to ``max_frames``): a shot recorded at
    another tempo plays at the speed that brings it back to the song's. Coarse to fine: every
    ``coarse``-th speed of the grid and 1 first, then every speed within half a coarse step of
    each shot's best coarse one. Shots are scored in chunks of about ``max_rows`` (shot,
    speed) rows (memory).

    ``gain``: the fit of the best placement at the best speed less that of the best at
    speed 1, both as correlations (the window score divided by ``overlap_s ** (1 - power)``;
    with ``normalize="none"``, relative to the speed-1 score's size), so a margin on it
    means the same for short and long shots. ``quiet``: as in :func:`shot_bank`.
    """
    grid = torch.tensor(list(speeds), dtype=torch.float64)
    one = int(torch.argmin((grid - 1.0).abs()))
    steps = sorted({*range(0, len(grid), coarse), len(grid) - 1, one})
    first, fit = _best_rows(curves, grid[steps].expand(len(curves), -1), song, frame_rate, config, max_frames,
                            min_frames, edge_frames, max_rows, quiet)
    at_one = fit[:, steps.index(one)]
    best = torch.tensor(steps)[first]  # [S] grid index of each shot's best coarse speed
    best_fit = fit.gather(1, first[:, None])[:, 0]
    reach = coarse // 2
    if reach > 0:
        near = (best[:, None] + torch.arange(-reach, reach + 1)).clamp(0, len(grid) - 1)  # [S, 2 reach + 1]
        pick, fine = _best_rows(curves, grid[near], song, frame_rate, config, max_frames, min_frames, edge_frames,
                                max_rows, quiet)
        best, best_fit = near.gather(1, pick[:, None])[:, 0], fine.gather(1, pick[:, None])[:, 0]
    gain = best_fit - at_one
    if config.normalize == "none":
        gain = gain / at_one.abs().clamp(min=1e-12)
    return SpeedFit(best, torch.where(torch.isfinite(gain), gain, 0.0), best_fit)


def _best_rows(curves: Sequence[Tensor], rates: Tensor, song: SongCurve, frame_rate: float, config: ScoreConfig,
               max_frames: int, min_frames: int, edge_frames: int, max_rows: int,
               quiet: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """For each shot, the index r of its speeds ``rates[s]`` ([shape=(S, R)]) at which it
    scores best at any song offset ([shape=(S,)] int64), and the fit of that best placement
    at every speed ([shape=(S, R)] float64: a correlation in window mode, see
    :func:`best_speeds`), on the CPU."""
    chunk = max(1, max_rows // rates.shape[1])
    scores, fits = [], []
    for s0 in range(0, len(curves), chunk):  # chunks of shots bound the retimed bank's memory
        bank = retimed_bank(curves[s0 : s0 + chunk], rates[s0 : s0 + chunk], config, device=song.curve.device,
                            edge_frames=edge_frames, quiet=None if quiet is None else quiet[s0 : s0 + chunk])
        best, _, lengths = best_offsets(bank, song, frame_rate=frame_rate, config=config, max_frames=max_frames,
                                        min_frames=min_frames)
        fit = best
        if config.normalize == "window":  # score = correlation x overlap_s ** (1 - power)
            fit = best / (lengths.clamp(min=1).to(torch.float32) / frame_rate).pow(1.0 - config.power)
        scores.append(best.view(-1, rates.shape[1]).cpu())
        fits.append(fit.double().view(-1, rates.shape[1]).cpu())
    return torch.cat(scores).argmax(dim=1), torch.cat(fits)


def _pad(curves: Sequence[Tensor], device: torch.device | str) -> tuple[Tensor, Tensor]:
    """Curves -> ([S, L_max] float32 zero-padded, [S] int64 lengths), both on ``device``."""
    if len(curves) == 0:
        raise ParameterError("no shot curves to score")
    tensors = [torch.as_tensor(c, dtype=torch.float32) for c in curves]
    lengths = torch.tensor([t.shape[0] for t in tensors], dtype=torch.int64)
    if bool((lengths == 0).any()):
        raise ParameterError("shot curves must have at least one frame")
    padded = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True).to(device)  # [S, L_max]
    return padded, lengths.to(device)


def _per_row(quiet: Sequence[float] | Tensor | None, shots: int, rows_per_shot: int,
             device: torch.device | str) -> Tensor | None:
    """Per-shot ``quiet`` energies [shape=(shots,)] repeated for each shot's bank rows, or None."""
    if quiet is None:
        return None
    values = torch.as_tensor(quiet, dtype=torch.float64).to(device)
    if values.shape != (shots,):
        raise ParameterError(f"quiet has shape {tuple(values.shape)}, need ({shots},): one value per shot")
    return values.repeat_interleave(rows_per_shot)


def _bank(padded: Tensor, lengths: Tensor, edges: Tensor, config: ScoreConfig, quiet: Tensor | None = None
          ) -> ShotBank:
    """The bank of padded curves [S, L] with lengths [S] and edge frames [S] (see :func:`shot_bank`);
    ``quiet`` [S] float64 energy per frame added to each row's cumulative energy."""
    frame = torch.arange(padded.shape[1], device=padded.device)[None, :]
    valid = frame < lengths[:, None]
    if config.edge:
        edge = edges[:, None]
        valid &= (frame >= edge) | (lengths[:, None] <= edge)  # a shot all edge keeps its frames
    centred = _subtract(padded, valid, config)
    energy = _cumulative_energy(centred)
    if quiet is not None and bool((quiet > 0).any()):
        energy = energy + quiet[:, None] * torch.arange(energy.shape[1], device=energy.device, dtype=torch.float64)
    return ShotBank(centred, lengths, energy)


def prepare_song(curve: Tensor, config: ScoreConfig, *, device: torch.device | str = "cpu",
                 chroma: Tensor | None = None) -> SongCurve:
    """The song curve with the shots' ``subtract``, and its energies; with ``chroma``
    [shape=(T, 12)] its running sums for the harmony term."""
    curve = torch.as_tensor(curve, dtype=torch.float32).to(device)
    if curve.numel() == 0:
        raise ParameterError("the song curve is empty")
    centred = _subtract(curve, torch.ones_like(curve, dtype=torch.bool), config)
    floor = config.floor * float(torch.var(curve, correction=0)) + 1e-12
    running = None
    if chroma is not None and config.harmony > 0:
        running = _running_chroma(_pad_chroma([chroma], len(curve), device)[0])
    return SongCurve(centred, _cumulative_energy(centred), floor, running)


def finish_scores(raw: Tensor, shot_energy: Tensor, song_energy: Tensor, frames: Tensor, *,
                  frame_rate: float, floor: float, config: ScoreConfig) -> Tensor:
    """Scores from raw sums over ``frames`` overlapping frames (all broadcastable)."""
    seconds = frames.to(torch.float32) / frame_rate
    if config.normalize == "none":
        return raw / seconds.pow(config.power)
    norm = torch.sqrt((shot_energy + frames * floor) * (song_energy + frames * floor))
    return raw / norm * seconds.pow(1.0 - config.power)


def correlate(
    bank: ShotBank, song: SongCurve, *, frame_rate: float, config: ScoreConfig, max_elements: int = 1 << 24
) -> Tensor:
    """Score of every shot at every song offset.

    ``max_elements`` bounds the complex FFT elements per chunk of shots (memory about
    ``32 * max_elements`` bytes beside the output).

    Returns [shape=(S, T)] float32: ``scores[s, o]`` for the shot's first frame at song frame o.
    """
    out = torch.empty(len(bank), len(song), device=bank.device, dtype=torch.float32)
    for s0, chunk in _score_chunks(bank, song, frame_rate=frame_rate, config=config, max_elements=max_elements):
        out[s0 : s0 + chunk.shape[0]] = chunk
    return out


def best_offsets(
    bank: ShotBank, song: SongCurve, *, frame_rate: float, config: ScoreConfig, max_frames: int,
    min_frames: int = 1, max_elements: int = 1 << 24,
) -> tuple[Tensor, Tensor, Tensor]:
    """Each shot's best song offset, without holding the whole (S, T) score matrix.

    Shots are cut to their first ``max_frames`` frames; an offset counts only if the
    placement (length ``min(L, T - o)``) is at least ``min_frames`` long and leaves
    either no room or at least ``min_frames`` before and after it.

    Returns scores, offsets, lengths, each [shape=(S,)] (score -inf where none fits).
    """
    cut = bank.truncated(max_frames)
    t = len(song)
    o = torch.arange(t, device=bank.device)
    scores = torch.empty(len(bank), device=bank.device)
    offsets = torch.empty(len(bank), dtype=torch.int64, device=bank.device)
    for s0, chunk in _score_chunks(cut, song, frame_rate=frame_rate, config=config, max_elements=max_elements):
        rows = slice(s0, s0 + chunk.shape[0])
        lengths = torch.minimum(cut.lengths[rows, None], t - o[None, :])
        after = t - o[None, :] - lengths
        fits = (lengths >= min(min_frames, t)) & ((o == 0) | (o >= min_frames))[None, :]
        fits &= (after == 0) | (after >= min_frames)
        scores[rows], offsets[rows] = torch.where(fits, chunk, -torch.inf).max(dim=1)
    return scores, offsets, torch.minimum(cut.lengths, t - offsets)


def shortlist(
    bank: ShotBank, song: SongCurve, *, frame_rate: float, config: ScoreConfig, lengths: Sequence[int], k: int,
    max_elements: int = 1 << 24,
) -> Tensor:
    """The ``k`` best shots at every song frame, for each of several placement lengths.

    For each length in ``lengths`` (frames), shots are cut to that length and scored at
    every offset with :func:`correlate`; the top ``k`` per offset are kept, chunk by chunk,
    so the (S, T) matrix is never held. Returns [shape=(T, len(lengths) * k)] int64 shot
    indices (a shot may appear under several lengths).
    """
    t = len(song)
    k = min(k, len(bank))
    picks = []
    for frames in lengths:
        best = torch.full((t, k), -torch.inf, device=bank.device)
        index = torch.zeros((t, k), dtype=torch.int64, device=bank.device)
        chunks = _score_chunks(bank.truncated(frames), song, frame_rate=frame_rate, config=config,
                               max_elements=max_elements)
        for s0, chunk in chunks:
            ids = torch.arange(s0, s0 + chunk.shape[0], device=bank.device).expand(t, -1)
            best, where = torch.cat([best, chunk.T], dim=1).topk(k, dim=1)
            index = torch.cat([index, ids], dim=1).gather(1, where)
        picks.append(index)
    return torch.cat(picks, dim=1)


def _score_chunks(
    bank: ShotBank, song: SongCurve, *, frame_rate: float, config: ScoreConfig, max_elements: int
) -> Iterator[tuple[int, Tensor]]:
    """Yield (first shot, scores [shape=(chunk, T)]) over chunks of shots (one FFT batch each)."""
    n_shots, l_max = bank.curves.shape
    t = len(song)
    n_fft = _fast_len(t + l_max - 1)
    # The FFT correlates the song minus its mean (a large constant part would dominate the
    # float32 round-off); the mean's share, mean * (sum of the shot over the overlap), is added back.
    level = song.curve.mean()
    song_f = torch.fft.rfft(song.curve - level, n=n_fft)
    chunk = max(1, max_elements // (n_fft // 2 + 1))
    offsets = torch.arange(t, device=bank.device)
    for s0 in range(0, n_shots, chunk):  # chunks bound memory; each is one batched FFT
        rows = slice(s0, s0 + chunk)
        curves = bank.curves[rows]
        overlap = torch.minimum(bank.lengths[rows, None], t - offsets[None, :])  # [c, T]
        sums = torch.cat([curves.new_zeros(curves.shape[0], 1, dtype=torch.float64),
                          torch.cumsum(curves.double(), dim=1)], dim=1)
        raw = torch.fft.irfft(song_f * torch.fft.rfft(curves, n=n_fft).conj(), n=n_fft)[:, :t]
        raw = raw + level * sums.gather(1, overlap).float()
        shot_energy = bank.energy[rows].gather(1, overlap).float()
        song_energy = (song.energy[offsets[None, :] + overlap] - song.energy[offsets][None, :]).float()
        yield s0, finish_scores(raw, shot_energy, song_energy, overlap, frame_rate=frame_rate,
                                floor=song.floor, config=config)


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
    bank: ShotBank, song: SongCurve, position: int, *, max_frames: int, frame_rate: float,
    config: ScoreConfig, in_points: Tensor | None = None,
) -> Tensor:
    """Scores of every prefix of every shot (from each in-point) placed at ``position``.

    ``scores[s, j, l - 1]`` is the score of shot ``s`` played from its frame
    ``in_points[j]`` for ``l`` frames, starting at song frame ``position``; -inf where the
    shot has fewer than ``in_point + l`` frames. ``l`` runs to ``min(max_frames, T - position)``
    (or to the longest shot's length from the first in-point, if that is shorter). One
    position of :func:`prefix_scores_at`.

    Returns [shape=(S, J, K)] float32, J = len(in_points) (default: in-point 0 only).
    """
    shots = torch.arange(len(bank), device=bank.device)[None, :]
    positions = torch.tensor([position], device=bank.device)
    return prefix_scores_at(bank, song, positions, shots, max_frames=max_frames, frame_rate=frame_rate,
                            config=config, in_points=in_points)[0]


def prefix_scores_at(
    bank: ShotBank, song: SongCurve, positions: Tensor, shots: Tensor, *, max_frames: int, frame_rate: float,
    config: ScoreConfig, in_points: Tensor | None = None,
) -> Tensor:
    """:func:`prefix_scores` at several song positions at once, each for its own shots.

    ``positions`` [shape=(P,)] int64 song frames; ``shots`` [shape=(P, N)] int64 bank
    indices scored at each position. ``scores[p, n, j, l - 1]``: shot ``shots[p, n]`` from
    its frame ``in_points[j]`` for ``l`` frames from song frame ``positions[p]``; -inf where
    the shot or the song is too short. ``l`` runs to ``min(max_frames, T - min(positions))``
    (or to the longest shot's length from the first in-point, if that is shorter).

    Returns [shape=(P, N, J, K)] float32.
    """
    if in_points is None:
        in_points = torch.zeros(1, dtype=torch.int64, device=bank.device)
    raw = prefix_raw(bank, song, positions, shots, max_frames=max_frames, in_points=in_points)
    every = torch.meshgrid(*(torch.arange(n, device=bank.device) for n in raw.shape), indexing="ij")
    scores = segment_scores(bank, song, raw, positions, shots, in_points, tuple(x.flatten() for x in every),
                            frame_rate=frame_rate, config=config)
    return scores.view(raw.shape)


def prefix_raw(bank: ShotBank, song: SongCurve, positions: Tensor, shots: Tensor, *, max_frames: int,
               in_points: Tensor) -> Tensor:
    """Raw sums of every prefix: ``raw[p, n, j, l - 1] = sum_{i < l} x[in_points[j] + i] *
    y[positions[p] + i]`` for shot ``x`` = ``shots[p, n]`` (zero past either curve's end),
    for ``l`` up to ``min(max_frames, T - min(positions), L_max - min(in_points))``.

    Returns [shape=(P, N, J, K)] float32.
    """
    t, l_max = len(song), bank.curves.shape[1]
    if int(positions.min()) < 0 or int(positions.max()) >= t:
        raise ParameterError(f"positions {positions.tolist()} are not all inside the song ({t} frames)")
    k = min(max_frames, t - int(positions.min()), l_max - int(in_points.min()))  # longer: -inf anyway
    steps = torch.arange(k, device=bank.device)
    needed = int(in_points.max()) + k  # shot frames read
    rows = bank.curves[:, : min(needed, l_max)][shots]  # [P, N, <= needed]: row slices, no element gather
    if needed > l_max:  # later in-points read past the longest shot: zeros
        rows = torch.nn.functional.pad(rows, (0, needed - l_max))
    if len(in_points) == 1:
        shot_vals = rows[:, :, None, int(in_points[0]) :]  # [P, N, 1, K], a view
    else:
        shot_vals = rows.unfold(-1, k, 1)[:, :, in_points, :]  # [P, N, J, K]: x[in_points[j] + step]
    song_at = positions[:, None] + steps[None, :]  # [P, K] song frame of each step
    song_vals = song.curve[song_at.clamp(max=t - 1)] * (song_at < t)
    return torch.cumsum(shot_vals * song_vals[:, None, None, :], dim=-1)


def segment_scores(
    bank: ShotBank, song: SongCurve, raw: Tensor, positions: Tensor, shots: Tensor, in_points: Tensor,
    index: tuple[Tensor, Tensor, Tensor, Tensor], *, frame_rate: float, config: ScoreConfig,
) -> Tensor:
    """Scores of the segments ``index`` = (p, n, j, l - 1) [each shape=(C,)] of a
    :func:`prefix_raw` result ``raw``: shot ``shots[p, n]`` from frame ``in_points[j]`` for
    ``l`` frames at song frame ``positions[p]``. -inf where the shot or the song is too short.

    Returns [shape=(C,)] float32.
    """
    p, n, j, m = index
    shot, start, at, length = shots[p, n], in_points[j], positions[p], m + 1
    t, l_max = len(song), bank.curves.shape[1]
    valid = (start + length <= bank.lengths[shot]) & (at + length <= t)
    shot_energy = (bank.energy[shot, (start + length).clamp(max=l_max)] - bank.energy[shot, start]).float()
    song_energy = (song.energy[(at + length).clamp(max=t)] - song.energy[at]).float()
    scores = finish_scores(raw[p, n, j, m], shot_energy, song_energy, length, frame_rate=frame_rate,
                           floor=song.floor, config=config)
    if bank.chroma is not None and song.chroma is not None and config.harmony > 0:
        seconds = length.to(torch.float32) / frame_rate
        scale = seconds.pow(1.0 - config.power) if config.normalize == "window" else seconds.pow(-config.power)
        scores = scores + config.harmony * scale * harmony_scores(bank, song, shot, start, at, length,
                                                                  blocks=config.harmony_blocks)
    return torch.where(valid, scores, torch.full_like(scores, -torch.inf))


def harmony_scores(bank: ShotBank, song: SongCurve, shot: Tensor, start: Tensor, at: Tensor, length: Tensor, *,
                   blocks: int, chunk: int = 1 << 18) -> Tensor:
    """How alike the shot's and the song's chords and tunes are over each segment: the mean
    cosine of their pitch-class profiles over ``blocks`` consecutive stretches
    (:func:`videothat.audio.chroma.block_profiles`), for shot ``shot`` from frame ``start``
    for ``length`` frames at song frame ``at`` (each [shape=(C,)] int64), in chunks of
    ``chunk`` segments (memory). Returns [shape=(C,)] float32 in [-1, 1]."""
    out = torch.empty(len(shot), device=bank.device)
    l_max, t = bank.chroma.shape[1] - 1, song.chroma.shape[0] - 1
    for c0 in range(0, len(shot), chunk):
        part = slice(c0, c0 + chunk)
        edges = block_edges(start[part], length[part], blocks)  # [c, blocks + 1] shot frames
        own = bank.chroma[shot[part, None], edges.clamp(max=l_max)]
        theirs = song.chroma[(edges - start[part, None] + at[part, None]).clamp(max=t)]
        out[part] = harmony(own, theirs)
    return out
