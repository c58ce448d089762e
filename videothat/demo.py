"""Built-in demo material: a real song (shipped) cut into generated videos, plus real footage.

The song's shots are spread shuffled over generated videos whose pictures are drifting
textures with hard cuts and whose sound is each shot's own piece of the song; the shipped
hand-held clip joins them. Made once per folder, deterministically.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

SONG = "rock_war_of_freedom_30s.ogg"
FOOTAGE = "handheld_box_with_sound.mp4"
SAMPLE_RATE = 22050
FPS = 25


def data_file(name: str) -> Path:
    """A file shipped in ``videothat/data``."""
    return Path(str(resources.files("videothat") / "data" / name))


def build_demo(folder: Path, *, n_videos: int = 3, seed: int = 7) -> tuple[Path, list[Path]]:
    """Write the demo videos into ``folder`` (if not there yet); return (song, videos)."""
    from videothat.media.audio import decode_audio
    from videothat.media.synthetic import cut_video

    folder.mkdir(parents=True, exist_ok=True)
    song = data_file(SONG)
    videos = [folder / f"demo_video_{i}.mp4" for i in range(n_videos)]
    if not all(v.exists() for v in videos):
        rng = np.random.default_rng(seed)
        audio = decode_audio(song, SAMPLE_RATE)
        bounds = _shot_bounds(rng, audio.size / SAMPLE_RATE)
        order = rng.permutation(len(bounds) - 1)
        for i, (path, shots) in enumerate(zip(videos, np.array_split(order, n_videos), strict=True)):
            pieces = [audio[round(bounds[k] * SAMPLE_RATE) : round(bounds[k + 1] * SAMPLE_RATE)] for k in shots]
            cuts = np.cumsum([p.size / SAMPLE_RATE for p in pieces])
            tmp = path.with_name(path.stem + ".tmp.mp4")
            cut_video(tmp, [round(c * FPS) / FPS for c in cuts[:-1]], float(cuts[-1]), fps=FPS,
                      audio=np.concatenate(pieces)[None], sr=SAMPLE_RATE, first_seed=100 * (i + 1), size=(360, 640))
            tmp.replace(path)
    return song, [*videos, data_file(FOOTAGE)]


def _shot_bounds(rng: np.random.Generator, duration: float) -> list[float]:
    """Cut times from 0 to ``duration`` with shots of 1.5-4 s, on video frames."""
    bounds = [0.0]
    while duration - bounds[-1] > 4.0:
        bounds.append(round((bounds[-1] + rng.uniform(1.5, 4.0)) * FPS) / FPS)
    return [*bounds, duration]
