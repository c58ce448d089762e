"""Spectral novelty (onset strength), batched over waveforms of different lengths.

The definition is exactly that of ``librosa.onset.onset_strength`` (Böck & Widmer 2013,
"Maximum filter vibrato suppression for onset detection")::

    S      = power_to_db(melspectrogram(y))                       # [shape=(n_mels, T)]
    ref    = maximum_filter1d(S, max_size, axis=mel)              # or S when max_size == 1
    flux_t = mean_m max(0, S[m, t] - ref[m, t - lag])
    out    = flux shifted right by lag (+ n_fft // (2 hop) when centred), zero-filled, T frames

How it is batched: every waveform is laid out in one flat buffer, each in its own
region that starts on a multiple of ``hop_length`` (with the centring zeros of
``librosa.stft(pad_mode="constant")`` around it). All STFT frames of all items are then
rows of a single strided view of that buffer, so the whole batch is one stream of
uniform row blocks (window → rFFT → power → mel) with no per-item work and only
``n_fft // hop_length`` wasted rows per item. The per-item dB ceiling, the lagged
difference and the final gather are vectorised over rows with item ids.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.functional as AF
from torch import Tensor, nn

from videothat.audio.chroma import chroma_filterbank
from videothat.audio.config import NoveltyConfig
from videothat.core.errors import ParameterError

__all__ = ["NoveltyBatch", "NoveltyConfig", "SpectralNovelty", "mel_filterbank", "onset_strength"]

AMIN = 1e-10  # power floor of power_to_db (librosa's amin)


@dataclass(frozen=True)
class NoveltyBatch:
    """Novelty curves of a batch.

    ``curves`` [shape=(B, T_max)] float32, zero past each item's length;
    ``lengths`` [shape=(B,)] int64 frames; ``frame_rate`` in frames per second.
    """

    curves: Tensor
    lengths: Tensor
    frame_rate: float
    chroma: Tensor | None = None  # [shape=(B, T_max, 12)] pitch-class power per frame, when asked for

    def unbatch(self) -> list[Tensor]:
        """Per-item curves, each [shape=(lengths[i],)], on the CPU, each owning its memory
        (not views that would keep the padded batch alive)."""
        curves = self.curves.cpu()
        return [curves[i, :n].clone() for i, n in enumerate(self.lengths.tolist())]

    def unbatch_chroma(self) -> list[Tensor] | None:
        """Per-item chroma, each [shape=(lengths[i], 12)] on the CPU (None if not computed)."""
        if self.chroma is None:
            return None
        chroma = self.chroma.cpu()
        return [chroma[i, :n].clone() for i, n in enumerate(self.lengths.tolist())]


def mel_filterbank(
    config: NoveltyConfig, *, device: torch.device | str | None = None
) -> Tensor:
    """Slaney-style mel filterbank, as ``librosa.filters.mel``. [shape=(n_fft//2+1, n_mels)]"""
    return AF.melscale_fbanks(
        n_freqs=config.n_fft // 2 + 1,
        f_min=config.fmin,
        f_max=config.f_max,
        n_mels=config.n_mels,
        sample_rate=config.sample_rate,
        norm="slaney",
        mel_scale="slaney",
    ).to(device)


def onset_strength(
    waveforms: Sequence[Tensor] | Tensor,
    *,
    config: NoveltyConfig,
    lengths: Tensor | Sequence[int] | None = None,
    device: torch.device | str | None = None,
    mel_fb: Tensor | None = None,
    window: Tensor | None = None,
    batch_frames: int | None = None,
    chroma_fb: Tensor | None = None,
) -> NoveltyBatch:
    """Onset strength of many waveforms in one call (and, with ``config.chroma``, their
    chroma from the same STFT frames, see :mod:`videothat.audio.chroma`).

    Parameters
    ----------
    waveforms : list of [shape=(n_i,)] tensors, or [shape=(B, n_max)] with ``lengths``
        Mono float audio in [-1, 1] at ``config.sample_rate``.
    config : NoveltyConfig
    lengths : [shape=(B,)], optional
        Valid samples per row when ``waveforms`` is a padded 2-D tensor.
    device : where to compute; default: the device of the input.
    mel_fb, window, chroma_fb : precomputed buffers (see :class:`SpectralNovelty`).
    batch_frames : STFT frames per row block, which bounds the temporary memory
        (about ``batch_frames * n_fft * 12`` bytes). Default: 512 on the CPU (blocks
        that stay in cache), 16384 on CUDA (blocks that fill the GPU), fewer for an
        ``n_fft`` above 2048 so that the block's bytes stay those of 2048.

    Returns
    -------
    NoveltyBatch with curves [shape=(B, T_max)], T_i = ``config.n_frames(n_i)``, and
    chroma [shape=(B, T_max, 12)] (frame t: the STFT frame centred on sample t hop).
    """
    items = _as_list(waveforms, lengths)
    device = torch.device(device) if device is not None else items[0].device
    if mel_fb is None:
        mel_fb = mel_filterbank(config, device=device)
    if window is None:
        window = torch.hann_window(config.n_fft, device=device)
    layout = _Layout.build(torch.tensor([w.shape[0] for w in items]), config)
    if config.chroma and chroma_fb is None:
        chroma_fb = chroma_filterbank(config.sample_rate, config.n_fft, device=device)
    flat = layout.pack(items).to(device=device, dtype=torch.float32)  # the one transfer
    mel, chroma_rows = _mel_power_rows(flat, config, mel_fb.to(device), window.to(device), batch_frames,
                                       chroma_fb.to(device) if config.chroma else None)
    flux = _flux_rows(mel, layout.row_item(device), len(items), config)
    curves = layout.gather(flux, config)
    if config.detrend:
        curves = _detrend(curves, layout.n_frames.to(device))
    chroma = None if chroma_rows is None else layout.gather_rows(chroma_rows)
    return NoveltyBatch(curves, layout.n_frames.clone(), config.frame_rate, chroma)


@functools.lru_cache(maxsize=16)
def edge_frames(config: NoveltyConfig) -> int:
    """How many leading frames of a curve depend on audio before the clip's start.

    A clip cut from longer audio (a shot) has a curve whose first frames differ from the
    longer audio's curve at the same time: the front padding, STFT windows that reach
    before the start, and the ``lag``. Measured, not derived: the curve of seeded noise
    against the curve of the same noise cut ``64`` frames in, compared frame by frame
    (5 frames at the defaults: 116 ms).
    """
    hop, skip = config.hop_length, 64
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal(hop * (skip + 128)).astype(np.float32))
    whole, cut = onset_strength([0.1 * noise, 0.1 * noise[skip * hop :]], config=config).unbatch()
    n = min(64, cut.shape[0], whole.shape[0] - skip)
    differ = (cut[:n] - whole[skip : skip + n]).abs() > 1e-4 * float(whole.abs().max())
    where = differ.nonzero()
    return int(where[-1]) + 1 if where.numel() else 0


def _as_list(
    waveforms: Sequence[Tensor] | Tensor, lengths: Tensor | Sequence[int] | None
) -> list[Tensor]:
    """Per-item 1-D waveforms from a list, a 1-D tensor or a padded (B, n_max) tensor."""
    if isinstance(waveforms, Tensor):
        if waveforms.ndim == 1:
            waveforms = waveforms[None]
        if waveforms.ndim != 2:
            raise ParameterError(
                f"waveforms must be 1-D or (batch, time), got shape {tuple(waveforms.shape)}"
            )
        n_max = waveforms.shape[1]
        lens = [n_max] * waveforms.shape[0] if lengths is None else [int(n) for n in lengths]
        if len(lens) != waveforms.shape[0] or any(not 0 <= n <= n_max for n in lens):
            raise ParameterError(f"lengths must give one length in [0, {n_max}] per row")
        return [row[:n].float() for row, n in zip(waveforms, lens, strict=True)]
    if len(waveforms) == 0:
        raise ParameterError("onset_strength needs at least one waveform")
    for i, w in enumerate(waveforms):
        if w.ndim != 1:
            raise ParameterError(f"waveform {i} must be 1-D (mono), got shape {tuple(w.shape)}")
    return [w if w.dtype == torch.float32 else w.float() for w in waveforms]


@dataclass(frozen=True)
class _Layout:
    """Where each item lives in the flat buffer and in frame rows (all int64, CPU)."""

    lengths: Tensor  # [B] samples
    n_frames: Tensor  # [B] frames
    region_start: Tensor  # [B] first sample of each item's region (multiple of hop)
    total: int  # samples in the flat buffer
    pad_left: int
    hop: int
    n_fft: int

    @staticmethod
    def build(lengths: Tensor, config: NoveltyConfig) -> _Layout:
        hop, n_fft = config.hop_length, config.n_fft
        pad_left = n_fft // 2  # librosa.stft(center=True, pad_mode="constant")
        n_frames = 1 + lengths // hop
        need = torch.maximum((n_frames - 1) * hop + n_fft, lengths + pad_left)
        region = (need + hop - 1) // hop * hop
        region_start = torch.cumsum(region, 0) - region
        total = int(region.sum()) + n_fft  # tail: every row start has a full frame
        return _Layout(lengths, n_frames, region_start, total, pad_left, hop, n_fft)

    def pack(self, items: list[Tensor]) -> Tensor:
        """Concatenate the items with zeros between them into their regions.

        [shape=(n_i,)] each -> [shape=(total,)] on the items' device (one copy, no scatter)
        """
        ends = torch.cat([self.region_start[1:], torch.tensor([self.total])])
        gaps = ends - self.region_start - self.lengths - self.pad_left  # zeros after item i
        gaps[:-1] += self.pad_left  # ... and the centring zeros that open region i + 1
        zeros = items[0].new_zeros(max(self.pad_left, int(gaps.max())))
        pieces = [zeros[: self.pad_left]]
        for item, gap in zip(items, gaps.tolist(), strict=True):
            pieces += [item, zeros[:gap]]
        return torch.cat(pieces)

    def row_item(self, device: torch.device) -> Tensor:
        """Item id of every frame row, -1 for rows between items. [shape=(R,)]"""
        n_rows = (self.total - self.n_fft) // self.hop + 1
        row_start = self.region_start // self.hop
        ids = torch.full((n_rows,), -1, dtype=torch.int64)
        rows = torch.repeat_interleave(row_start - (torch.cumsum(self.n_frames, 0) - self.n_frames), self.n_frames)
        rows = rows + torch.arange(int(self.n_frames.sum()))
        ids[rows] = torch.repeat_interleave(torch.arange(len(self.lengths)), self.n_frames)
        return ids.to(device)

    def gather_rows(self, rows: Tensor) -> Tensor:
        """Per-item frames of per-row features [shape=(R, C)]: out[b, t] = rows[row_start_b + t]
        (the STFT frame centred on sample t hop of item b), 0 past T_b. -> [shape=(B, T_max, C)]"""
        device = rows.device
        t = torch.arange(max(int(self.n_frames.max()), 1), device=device)
        index = ((self.region_start // self.hop).to(device)[:, None] + t[None, :]).clamp(max=rows.shape[0] - 1)
        valid = t[None, :] < self.n_frames.to(device)[:, None]
        return torch.where(valid[..., None], rows[index], torch.zeros((), device=device))

    def gather(self, flux: Tensor, config: NoveltyConfig) -> Tensor:
        """Per-item curves from per-row flux. -> [shape=(B, T_max)]

        out[b, t] = flux[row_start_b + t - c] for c + lag <= t < T_b, else 0, where
        c = n_fft // (2 hop) when centred (librosa's framing compensation).
        """
        device = flux.device
        c = config.n_fft // (2 * config.hop_length) if config.center else 0
        t_max = max(int(self.n_frames.max()), 1)
        t = torch.arange(t_max, device=device)
        row_start = (self.region_start // self.hop).to(device)
        rows = row_start[:, None] + t[None, :] - c
        valid = (t[None, :] >= c + config.lag) & (t[None, :] < self.n_frames.to(device)[:, None])
        rows = rows.clamp(0, flux.shape[0] - 1)
        return torch.where(valid, flux[rows], torch.zeros((), device=device))


def _mel_power_rows(
    flat: Tensor, config: NoveltyConfig, mel_fb: Tensor, window: Tensor, batch_frames: int | None,
    chroma_fb: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Mel power of every frame row of the flat buffer [shape=(R, n_mels)], and with
    ``chroma_fb`` [shape=(n_fft // 2 + 1, 12)] its chroma [shape=(R, 12)] (else None)."""
    if batch_frames is None:
        default = 512 if flat.device.type == "cpu" else 16384
        batch_frames = max(1, default * 2048 // max(config.n_fft, 2048))
    if batch_frames <= 0:
        raise ParameterError(f"batch_frames={batch_frames} must be a positive integer")
    n_rows = (flat.shape[0] - config.n_fft) // config.hop_length + 1
    frames = flat.unfold(0, config.n_fft, config.hop_length)  # view, [R, n_fft]
    bands = _mel_bands(mel_fb)
    out = torch.empty((n_rows, config.n_mels), device=flat.device, dtype=flat.dtype)
    chroma = None
    if chroma_fb is not None:
        bins = (chroma_fb > 0).any(dim=1).nonzero()[:, 0]
        c0, c1 = int(bins[0]), int(bins[-1]) + 1  # only the bins the pitch classes use
        chroma_w = chroma_fb[c0:c1].contiguous()
        chroma = torch.empty((n_rows, chroma_fb.shape[1]), device=flat.device, dtype=flat.dtype)
    # Preallocated block buffers: small blocks reused stay in cache on the CPU and
    # avoid an allocation per block on either device.
    block = min(batch_frames, n_rows)
    windowed = flat.new_empty((block, config.n_fft))
    spec = flat.new_empty((block, config.n_fft // 2 + 1), dtype=torch.complex64)
    power = flat.new_empty((block, config.n_fft // 2 + 1))
    for r0 in range(0, n_rows, block):
        n = min(block, n_rows - r0)
        torch.mul(frames[r0 : r0 + n], window, out=windowed[:n])
        torch.fft.rfft(windowed[:n], out=spec[:n])
        re_im = torch.view_as_real(spec[:n])
        torch.mul(re_im[..., 0], re_im[..., 0], out=power[:n])
        power[:n].addcmul_(re_im[..., 1], re_im[..., 1])
        for f0, f1, m0, m1, weights in bands:
            torch.matmul(power[:n, f0:f1], weights, out=out[r0 : r0 + n, m0:m1])
        if chroma is not None:
            torch.matmul(power[:n, c0:c1], chroma_w, out=chroma[r0 : r0 + n])
    return out, chroma


def _mel_bands(mel_fb: Tensor, bands_per_group: int = 16) -> list[tuple[int, int, int, int, Tensor]]:
    """Split the filterbank into groups of adjacent mel bands, each with its bin range.

    Mel filters are triangles, so a group of bands touches only a narrow range of FFT
    bins: multiplying those ranges alone does about 1/8 of the dense work for 128
    bands, with identical results. -> [(bin_lo, bin_hi, band_lo, band_hi, weights)]
    """
    groups = []
    for m0 in range(0, mel_fb.shape[1], bands_per_group):
        m1 = min(m0 + bands_per_group, mel_fb.shape[1])
        bins = (mel_fb[:, m0:m1] > 0).any(dim=1).nonzero()[:, 0]
        f0, f1 = (int(bins[0]), int(bins[-1]) + 1) if bins.numel() else (0, 1)
        groups.append((f0, f1, m0, m1, mel_fb[f0:f1, m0:m1].contiguous()))
    return groups


def _flux_rows(mel: Tensor, row_item: Tensor, n_items: int, config: NoveltyConfig) -> Tensor:
    """Spectral flux per row from mel power. [shape=(R, M)] -> [shape=(R,)]

    Overwrites ``mel`` with its dB values (it is a temporary of :func:`onset_strength`).

    Row r holds mean_m max(0, S[r] - ref[r - lag]); rows < lag are 0. Rows whose lagged
    partner lies in another item are discarded by :meth:`_Layout.gather`.
    """
    db = mel.clamp_(min=AMIN).log10_().mul_(10.0)  # power_to_db, in place on `mel`
    if config.top_db is not None:
        valid = row_item >= 0
        row_peak = torch.where(valid, db.amax(dim=1), torch.full_like(db[:, 0], -torch.inf))
        item_peak = torch.full((n_items,), -torch.inf, device=db.device, dtype=db.dtype)
        item_peak = item_peak.scatter_reduce(0, row_item.clamp(min=0), row_peak, "amax")
        floor = item_peak[row_item.clamp(min=0)] - config.top_db
        db.clamp_(min=floor[:, None])
    ref = _max_filter_bands(db, config.max_size)
    lag = config.lag
    flux = torch.zeros(db.shape[0], device=db.device, dtype=db.dtype)
    flux[lag:] = torch.sub(db[lag:], ref[:-lag]).clamp_(min=0).mean(dim=1)
    return flux


def _max_filter_bands(db: Tensor, size: int) -> Tensor:
    """Maximum filter across mel bands, as ``scipy.ndimage.maximum_filter1d(axis=mel)``.

    scipy's window for index i is [i - size//2, i + size - 1 - size//2]; its default
    'reflect' border only repeats values already inside that window, so padding with
    -inf gives identical results. [shape=(R, M)] -> same
    """
    if size == 1:
        return db
    padded = F.pad(db[:, None, :], (size // 2, size - 1 - size // 2), value=-math.inf)
    return F.max_pool1d(padded, kernel_size=size, stride=1)[:, 0, :]


def _detrend(curves: Tensor, n_frames: Tensor) -> Tensor:
    """librosa's DC removal, lfilter([1, -1], [1, -0.99]) along time. [B, T] -> [B, T]"""
    a = torch.tensor([1.0, -0.99], device=curves.device, dtype=curves.dtype)
    b = torch.tensor([1.0, -1.0], device=curves.device, dtype=curves.dtype)
    out = AF.lfilter(curves, a, b, clamp=False)
    valid = torch.arange(curves.shape[1], device=curves.device)[None, :] < n_frames[:, None]
    return torch.where(valid, out, torch.zeros((), device=curves.device, dtype=curves.dtype))


class SpectralNovelty(nn.Module):
    """Holds the window and mel filterbank on a device and calls :func:`onset_strength`.

    >>> novelty = SpectralNovelty(NoveltyConfig(), device="cpu")
    >>> batch = novelty([torch.zeros(22050), torch.zeros(44100)])
    >>> batch.curves.shape
    torch.Size([2, 87])
    """

    def __init__(
        self,
        config: NoveltyConfig,
        *,
        device: torch.device | str | None = None,
        batch_frames: int | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.batch_frames = batch_frames
        self.register_buffer("window", torch.hann_window(config.n_fft, device=device))
        self.register_buffer("mel_fb", mel_filterbank(config, device=device))
        self.register_buffer("chroma_fb", chroma_filterbank(config.sample_rate, config.n_fft, device=device))

    @property
    def device(self) -> torch.device:
        return self.window.device

    def forward(
        self, waveforms: Sequence[Tensor] | Tensor, lengths: Tensor | Sequence[int] | None = None
    ) -> NoveltyBatch:
        return onset_strength(
            waveforms,
            config=self.config,
            lengths=lengths,
            device=self.device,
            mel_fb=self.mel_fb,
            window=self.window,
            batch_frames=self.batch_frames,
            chroma_fb=self.chroma_fb,
        )
