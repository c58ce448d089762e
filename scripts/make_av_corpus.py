"""Generate audio-visual training material: videos whose pictures follow their sound.

    python scripts/make_av_corpus.py CORPUS_DIR OUT_DIR [--seconds 20] [--size 128] [--fps 15]
        [--held-out 01_rock 07_industrial ...]

Each track of the corpus (``music/``, ``pairs/``) is cut into pieces of ``--seconds``; each
piece becomes an H.264/AAC video carrying that piece of the track as its sound, drawn in
one of three styles chosen per piece (so the pictures are music visualisations in the
spirit of ffmpeg's showspectrum/showcqt/showvolume, made with numpy, no ffmpeg binary):

* ``bars``: 16 bars whose heights are the log energies of 16 bands at that moment;
* ``disc``: a disc whose radius follows the loudness and whose brightness flashes on onsets
  (positive loudness change), its hue following the spectral centroid;
* ``scroll``: a scrolling spectrogram (the last 4 s, newest on the right).

Colours are random per piece. Writes ``OUT_DIR/videos/*.mp4``, ``OUT_DIR/train.csv`` and,
with ``--held-out`` (substrings of track names), ``OUT_DIR/val.csv`` for ``train.fit``.
"""

from __future__ import annotations

import argparse
import colorsys
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.manifest import Clip, write_manifest  # noqa: E402
from videothat.media.audio import decode_audio  # noqa: E402
from videothat.media.synthetic import write_video  # noqa: E402

SR = 22050
BANDS = 16
STYLES = ("bars", "disc", "scroll")


def band_energies(audio: np.ndarray, fps: int) -> np.ndarray:
    """[frames, BANDS] log energies in [0, 1] (per-track 2nd-98th percentile) at ``fps``."""
    hop, n_fft = SR // fps, 2048
    padded = np.concatenate([np.zeros(n_fft - hop, np.float32), audio])
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2
    edges = np.geomspace(3, spectrum.shape[1] - 1, BANDS + 1).astype(int)
    bands = np.stack([spectrum[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:], strict=True)], axis=1)
    logs = np.log10(bands + 1e-8)
    lo, hi = np.percentile(logs, 2), np.percentile(logs, 98)
    return np.clip((logs - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


def draw(style: str, energies: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Frames [n, size, size, 3] uint8 of one visualisation of ``energies`` [n, BANDS]."""
    hue = rng.random()
    fg = np.array(colorsys.hsv_to_rgb(hue, 0.8, 1.0)) * 255
    bg = np.array(colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.6, 0.2)) * 255
    yy, xx = np.mgrid[0:size, 0:size]
    if style == "bars":
        heights = (energies * size).astype(int)  # [n, B]
        column = np.minimum(xx * BANDS // size, BANDS - 1)  # [S, S] band of each pixel
        lit = (size - 1 - yy)[None] < heights[:, column]  # [n, S, S]
    elif style == "disc":
        loud = energies.mean(axis=1)
        onset = np.clip(np.diff(loud, prepend=loud[:1]) * 6, 0, 1)
        radius = size * (0.1 + 0.38 * loud)
        r = np.hypot(yy - size / 2, xx - size / 2)
        lit = r[None] < radius[:, None, None]
        centroid = (energies * np.arange(BANDS)).sum(1) / np.maximum(energies.sum(1), 1e-6) / BANDS
        colours = np.stack([np.array(colorsys.hsv_to_rgb((hue + 0.3 * c) % 1, 0.8, 0.6 + 0.4 * o)) * 255
                            for c, o in zip(centroid, onset, strict=True)])
        frames = np.where(lit[..., None], colours[:, None, None, :], bg)
        return frames.astype(np.uint8)
    else:  # scroll: last `size` frames of the spectrogram, newest on the right
        history = np.concatenate([np.zeros((size - 1, BANDS), np.float32), energies])
        windows = np.lib.stride_tricks.sliding_window_view(history, size, axis=0)  # [n, B, size]
        rows = np.minimum((size - 1 - yy) * BANDS // size, BANDS - 1)
        level = windows[:, rows, xx]  # [n, S, S]
        return (bg + level[..., None] * (fg - bg)).astype(np.uint8)
    return np.where(lit[..., None], fg, bg).astype(np.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--held-out", nargs="*", default=[])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tracks = sorted((args.corpus / "music").glob("*.wav")) + sorted((args.corpus / "pairs").glob("*.wav"))
    if not tracks:
        sys.exit(f"no tracks under {args.corpus}/music or pairs: build the corpus first")
    (args.out / "videos").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    train, val = [], []
    for path in tracks:
        audio = decode_audio(path, SR)
        piece = round(args.seconds * SR)
        for k in range(max(1, audio.size // piece)):
            part = audio[k * piece : (k + 1) * piece]
            style = STYLES[int(rng.integers(len(STYLES)))]
            frames = draw(style, band_energies(part, args.fps), args.size, rng)
            name = args.out / "videos" / f"{path.stem}_{k:02d}_{style}.mp4"
            if not name.exists():
                write_video(name, frames, fps=args.fps, audio=part[None], sr=SR)
            clip = Clip(name, 0.0, part.size / SR)
            (val if any(h in path.name for h in args.held_out) else train).append(clip)
        print(f"{path.stem}: {k + 1} videos", file=sys.stderr)
    write_manifest(args.out / "train.csv", train)
    if val:
        write_manifest(args.out / "val.csv", val)
    print(f"{len(train)} training videos, {len(val)} held out, under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
