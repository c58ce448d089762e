"""Landmark fingerprints: pairs of spectral peaks, hashed, matched by consistent time offsets.

In the manner of Wang's Shazam paper and Ellis's audfprint: the log-magnitude spectrogram's
local maxima (the strongest few per second, which survive noise, gain, EQ and lossy codecs
far better than whole spectra), each paired with the next few peaks in a target zone ahead
of it. A pair is a 20-bit hash, its anchor's frequency bin, the frequency step and the time
step to the other peak::

    hash = f1 << 12 | (df + 32) << 6 | dt        (f1 < 256, |df| < 32, 0 < dt < 64 frames)

stored with its anchor's frame. A query's pairs look their hashes up (a sorted array and a
binary search, no FAISS) and each match votes for (item, reference frame - query frame):
the same excerpt gives one offset for every pair it shares, chance matches scatter, so a
longer query only adds votes to the right offset. Pure NumPy: no torch import, so a query
from the command line starts fast.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from videothat.core.atomic import atomic_write
from videothat.core.errors import CacheError, ParameterError
from videothat.index.config import LandmarkConfig

FORMAT_VERSION = 1
INDEX_FILE = "landmarks.npz"  # a landmark index folder's hash table (pipeline.landmark_archive)
DT_BITS, DF_BITS = 6, 6
MAX_DT, MAX_DF = (1 << DT_BITS) - 1, (1 << (DF_BITS - 1)) - 1  # frames, bins
MAX_F1 = 255  # anchor bins kept (8 bits)
PAIR_LOOKAHEAD = 8  # candidate partners examined per anchor, as a multiple of fan-out


@dataclass(frozen=True)
class Landmarks:
    """One sound's landmarks: ``hashes`` [shape=(n,)] uint32 and anchor ``frames`` [shape=(n,)]
    int32 (STFT frames of ``LandmarkConfig.hop_length`` samples), in time order."""

    hashes: np.ndarray
    frames: np.ndarray

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


def spectrogram(audio: np.ndarray, config: LandmarkConfig) -> np.ndarray:
    """Log magnitude [shape=(bins, frames)] float32 of mono ``audio`` at ``config.sample_rate``:
    Hann windows of ``n_fft`` samples every ``hop_length``, bins up to ``fmax``."""
    x = np.asarray(audio, np.float32).ravel()
    if x.size < config.n_fft:
        return np.zeros((_bins(config), 0), np.float32)
    frames = sliding_window_view(x, config.n_fft)[:: config.hop_length]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(config.n_fft).astype(np.float32), axis=1))
    return np.log(spectrum[:, : _bins(config)].T.astype(np.float32) + 1e-6)


def _bins(config: LandmarkConfig) -> int:
    return min(MAX_F1 + 1, int(config.fmax / config.sample_rate * config.n_fft) + 1)


def peaks(log_spec: np.ndarray, config: LandmarkConfig) -> tuple[np.ndarray, np.ndarray]:
    """The spectral peaks kept as landmark ends: local maxima over ``2 * peak_bins + 1`` bins x
    ``2 * peak_frames + 1`` frames, above the frame's median by ``min_db``, the ``density``
    strongest per second. Returns (frames, bins), each [shape=(p,)] int32, time order."""
    n_bins, n_frames = log_spec.shape
    if n_frames == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    local = _max_filter(_max_filter(log_spec, config.peak_bins, axis=0), config.peak_frames, axis=1)
    floor = np.median(log_spec, axis=0, keepdims=True) + config.min_db / 20 * np.log(10)
    f, t = np.nonzero((log_spec == local) & (log_spec > floor))
    strength = log_spec[f, t]
    seconds = (t * config.hop_length / config.sample_rate).astype(np.int64)  # 1-s blocks
    order = np.lexsort((-strength, seconds))  # by block, strongest first
    _, start = np.unique(seconds[order], return_index=True)
    rank = np.arange(order.size) - np.repeat(start, np.diff(np.append(start, order.size)))
    keep = order[rank < config.density]
    keep = keep[np.lexsort((f[keep], t[keep]))]
    return t[keep].astype(np.int32), f[keep].astype(np.int32)


def _max_filter(x: np.ndarray, radius: int, *, axis: int) -> np.ndarray:
    """Running maximum over ``2 * radius + 1`` values along ``axis`` (edges padded with -inf)."""
    if radius == 0:
        return x
    pad = [(0, 0), (0, 0)]
    pad[axis] = (radius, radius)
    padded = np.pad(x, pad, constant_values=-np.inf)
    return sliding_window_view(padded, 2 * radius + 1, axis=axis).max(axis=-1)


def pair_peaks(frames: np.ndarray, bins: np.ndarray, config: LandmarkConfig) -> Landmarks:
    """Each peak paired with the first ``fanout`` later peaks in its target zone (1 ..
    ``MAX_DT`` frames later, within ``MAX_DF`` bins), all at once: [p, lookahead] index arithmetic."""
    p = frames.size
    if p < 2:
        return Landmarks(np.zeros(0, np.uint32), np.zeros(0, np.int32))
    ahead = np.arange(1, config.fanout * PAIR_LOOKAHEAD + 1)
    j = np.arange(p)[:, None] + ahead[None, :]
    inside = j < p
    j = np.minimum(j, p - 1)
    dt = frames[j] - frames[:, None]
    df = bins[j] - bins[:, None]
    ok = inside & (dt >= 1) & (dt <= MAX_DT) & (np.abs(df) <= MAX_DF)
    ok &= np.cumsum(ok, axis=1) <= config.fanout
    anchor, slot = np.nonzero(ok)
    hashes = (bins[anchor].astype(np.uint32) << (DF_BITS + DT_BITS)) \
        | ((df[anchor, slot] + MAX_DF + 1).astype(np.uint32) << DT_BITS) | dt[anchor, slot].astype(np.uint32)
    return Landmarks(hashes, frames[anchor].astype(np.int32))


def landmarks(audio: np.ndarray, config: LandmarkConfig) -> Landmarks:
    """Landmarks of mono ``audio`` [shape=(n,)] at ``config.sample_rate``."""
    return pair_peaks(*peaks(spectrogram(audio, config), config), config)


def query_landmarks(audio: np.ndarray, config: LandmarkConfig, *, shifts: int = 4) -> Landmarks:
    """Landmarks of a query: those of ``audio`` analysed from ``shifts`` starts a
    ``1 / shifts`` hop apart, pooled (each distinct (hash, frame) once, ordered by hash, not
    time: :meth:`LandmarkIndex.query` needs no order). An excerpt rarely
    starts on the index's frame grid, and a fraction of a hop changes which local maxima win;
    some shift lies within half of ``hop_length / shifts`` of the grid (audfprint's query shifts)."""
    if shifts < 1:
        raise ParameterError(f"shifts={shifts} must be >= 1")
    x = np.asarray(audio, np.float32).ravel()
    found = [landmarks(x[round(k * config.hop_length / shifts) :], config) for k in range(shifts)]
    hashes = np.concatenate([m.hashes for m in found])
    frames = np.concatenate([m.frames for m in found])
    pairs = np.unique(hashes.astype(np.uint64) << np.uint64(32) | frames.astype(np.uint32).astype(np.uint64))
    return Landmarks((pairs >> np.uint64(32)).astype(np.uint32), (pairs & np.uint64(0xFFFFFFFF)).astype(np.int32))


@dataclass(frozen=True)
class Match:
    """An item and where the query starts in it, with its evidence."""

    item: str
    offset: float  # s into the item at the query's time 0
    votes: int  # query landmarks agreeing with this offset (+-1 frame)
    landmarks: int  # landmarks of the query


class LandmarkIndex:
    """Landmarks of many items in sorted arrays: ``hashes`` uint32 ascending, with each
    entry's item (int32, into ``names``) and anchor frame (int32)."""

    def __init__(self, config: LandmarkConfig, names: Sequence[str], hashes: np.ndarray, items: np.ndarray,
                 frames: np.ndarray, *, extra: dict | None = None) -> None:
        self.config, self.names = config, list(names)
        self.hashes, self.items, self.frames = hashes, items, frames
        self.extra = extra or {}  # what :meth:`save` stored beside the index (e.g. the items' content hashes)

    @classmethod
    def build(cls, config: LandmarkConfig, named: Sequence[tuple[str, Landmarks]]) -> LandmarkIndex:
        """An index of ``(name, landmarks)`` items (names unique)."""
        names = [n for n, _ in named]
        if len(set(names)) != len(names):
            raise ParameterError("item names in a landmark index must be unique")
        hashes = np.concatenate([m.hashes for _, m in named] or [np.zeros(0, np.uint32)])
        items = np.repeat(np.arange(len(named), dtype=np.int32), [len(m) for _, m in named])
        frames = np.concatenate([m.frames for _, m in named] or [np.zeros(0, np.int32)])
        order = np.argsort(hashes, kind="stable")
        return cls(config, names, hashes[order], items[order], frames[order])

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def extended(self, named: Sequence[tuple[str, Landmarks]]) -> LandmarkIndex:
        """This index with more items (names new to it): one merge of sorted arrays."""
        if not named:
            return self
        more = LandmarkIndex.build(self.config, named)
        clash = set(more.names) & set(self.names)
        if clash:
            raise ParameterError(f"already in the landmark index: {sorted(clash)[:3]}")
        hashes = np.concatenate([self.hashes, more.hashes])
        order = np.argsort(hashes, kind="stable")
        items = np.concatenate([self.items, more.items + len(self.names)])
        return LandmarkIndex(self.config, self.names + more.names, hashes[order], items[order],
                             np.concatenate([self.frames, more.frames])[order])

    def without(self, names: Sequence[str]) -> LandmarkIndex:
        """This index less the items ``names`` (unknown names are ignored)."""
        drop = np.isin(np.arange(len(self.names)), [self.names.index(n) for n in names if n in self.names])
        if not drop.any():
            return self
        renumber = np.cumsum(~drop) - 1
        keep = ~drop[self.items]
        return LandmarkIndex(self.config, [n for n, d in zip(self.names, drop, strict=True) if not d],
                             self.hashes[keep], renumber[self.items[keep]].astype(np.int32), self.frames[keep])

    def query(self, found: Landmarks, *, top: int = 10, max_per_hash: int = 256) -> list[Match]:
        """The ``top`` items by their best offset's votes (one offset per item; a vote at the
        next frame either side counts too, as a query rarely starts on the index's frame grid).
        A hash with more than ``max_per_hash`` entries (silence, a tone) is skipped."""
        if len(found) == 0 or len(self) == 0:
            return []
        lo = np.searchsorted(self.hashes, found.hashes, side="left")
        hi = np.searchsorted(self.hashes, found.hashes, side="right")
        count = hi - lo
        use = (count > 0) & (count <= max_per_hash)
        lo, count, q_frames = lo[use], count[use], found.frames[use]
        if lo.size == 0:
            return []
        at = np.repeat(lo - np.cumsum(np.append(0, count[:-1])), count) + np.arange(count.sum())
        items = self.items[at].astype(np.int64)
        offsets = self.frames[at].astype(np.int64) - np.repeat(q_frames, count)
        low = int(offsets.min()) - 1
        span = int(offsets.max()) - low + 2
        cell = items * span + (offsets - low)
        cells, votes = np.unique(cell, return_counts=True)
        near = votes.copy()
        for step in (-1, 1):  # votes one frame either side, from the sorted cells
            where = np.searchsorted(cells, cells + step)
            hit = (where < cells.size) & (cells[np.minimum(where, cells.size - 1)] == cells + step)
            near[hit] += votes[where[hit]]
        order = np.lexsort((cells, -near))  # most votes first
        _, first = np.unique(cells[order] // span, return_index=True)  # each item's best cell
        best = order[first]
        best = best[np.lexsort((best, -near[best]))][:top]
        seconds = self.config.hop_length / self.config.sample_rate
        return [Match(self.names[int(c // span)], (int(c % span) + low) * seconds, int(n), len(found))
                for c, n in zip(cells[best], near[best], strict=True)]

    def save(self, path: Path, *, extra: dict | None = None) -> None:
        """Write the index to ``path`` (.npz, atomically: temp file + rename), with ``extra``
        (JSON-able) in the same file, so both change together (:attr:`extra` after :meth:`load`)."""
        meta = json.dumps({"format": FORMAT_VERSION, "config": self.config.as_dict(), "names": self.names,
                           "extra": extra or {}})

        def write(f) -> None:
            np.savez(f, hashes=self.hashes, items=self.items, frames=self.frames,
                     meta=np.frombuffer(meta.encode(), np.uint8))

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> LandmarkIndex:
        """Read an index :meth:`save` wrote (no pickles).

        Raises
        ------
        CacheError : the file is missing, damaged or of another format version.
        """
        rebuild = (f"rebuild it: remove {path.parent} and run `videothat index build --songs SONGS... "
                   f"--index {path.parent}`")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(data["meta"].tobytes().decode())
                arrays = data["hashes"], data["items"], data["frames"]
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise CacheError(f"{path}: not a readable landmark index ({exc}); {rebuild}") from None
        if meta.get("format") != FORMAT_VERSION:
            raise CacheError(f"{path}: landmark index format {meta.get('format')} (this version reads "
                             f"{FORMAT_VERSION}); {rebuild}")
        return cls(LandmarkConfig(**meta["config"]), meta["names"], *arrays, extra=meta.get("extra"))
