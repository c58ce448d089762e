"""Test media: the real clips' folder (``tests/data``) and the synthetic media writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videothat.media.synthetic import (  # noqa: F401  (re-exported for the tests)
    bouncing_frames,
    clicks,
    cut_video,
    segment_frames,
    tone,
    write_audio,
    write_video,
)

FIXTURES = Path(__file__).resolve().parent / "data"  # real clips kept in the repository (tests/data)
SR = 22050

# The rock fixture's first 24 s cut into 8 pieces, spread over three videos in shuffled order.
PIECE_BOUNDS = [0.0, 2.4, 5.6, 8.0, 11.2, 14.0, 17.6, 20.8, 24.0]
LAYOUT = {"v0.mp4": [5, 0, 3], "v1.mp4": [7, 2], "v2.mp4": [1, 6, 4]}


def reconstruction_case(root: Path) -> tuple[Path, list[Path], dict[str, list[tuple[float, float, float]]]]:
    """A song (``song.wav``) and videos made of its pieces plus ``other.mp4`` (another song).

    Returns (song, videos, truth): ``truth[video name]`` lists ``(start, end, song_time)``
    of each shot, in seconds.
    """
    from videothat.media.audio import decode_audio

    song = decode_audio(next(p for p in sorted(FIXTURES.glob("*.ogg")) if "rock" in p.name), SR)[: 24 * SR]
    song_path = write_audio(root / "song.wav", song[None], sr=SR)
    pieces = list(zip(PIECE_BOUNDS, PIECE_BOUNDS[1:], strict=False))
    truth = {}
    for name, idx in LAYOUT.items():
        audio = np.concatenate([song[round(pieces[i][0] * SR) : round(pieces[i][1] * SR)] for i in idx])
        starts = np.cumsum([0.0] + [pieces[i][1] - pieces[i][0] for i in idx])
        cut_video(root / name, list(starts[1:-1]), float(starts[-1]), audio=audio[None], sr=SR,
                  first_seed=10 * len(truth))
        truth[name] = [(float(a), float(b), pieces[i][0]) for a, b, i in zip(starts[:-1], starts[1:], idx, strict=True)]
    other = decode_audio(next(p for p in sorted(FIXTURES.glob("*.ogg")) if "electro" in p.name), SR)[: 6 * SR]
    cut_video(root / "other.mp4", [3.0], 6.0, audio=other[None], sr=SR, first_seed=99)
    return song_path, [root / n for n in [*LAYOUT, "other.mp4"]], truth
