"""Built-in demo material: a real song (shipped) cut into pieces, each carried by real footage.

The song is cut into shots of 1.5-4 s. Each shot becomes a piece of one of the shipped real
clips (pedestrians, a hand-held box and cup, city towers at night, a tree) whose sound is
that shot's piece of the song; the pieces are spread, shuffled, over a few videos, with hard
cuts between footage of different clips. The shipped hand-held clip with its own sound (not
the song's) joins them as a distractor. ``videothat demo`` should put every piece back where
its sound belongs. Made once per folder, deterministically, beside the demo's output so that
its timeline and OpenTimelineIO file stay valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from videothat.core.errors import CorruptMediaError
from videothat.core.timeline import Timeline

SONG = "rock_war_of_freedom_30s.ogg"
FOOTAGE = "handheld_box_with_sound.mp4"  # real footage with its own sound: the distractor
CLIPS = ("demo_pedestrians.mp4", "demo_box.mp4", "demo_cup.mp4", "demo_city.mp4", "demo_tree.mp4")
SAMPLE_RATE = 22050
FPS = 25  # the shipped clips' frame rate: shot bounds fall on their frames
CLIP_SIZE = (640, 360)  # the shipped clips' width and height (scripts/make_demo_clips.py)
MANIFEST = "material.json"
VERSION = 2


@dataclass(frozen=True)
class Piece:
    """One shot of a demo video: ``clip`` frames from ``clip_start`` (s) carry the song from
    ``song_start`` to ``song_end`` (s); it starts ``video_start`` s into its demo video."""

    clip: str
    clip_start: float
    video_start: float
    song_start: float
    song_end: float


@dataclass(frozen=True)
class DemoMaterial:
    song: Path
    videos: list[Path]  # the demo videos, then the distractor
    pieces: dict[str, list[Piece]]  # demo video name -> its shots in video order


def placed_seconds(timeline: Timeline, material: DemoMaterial, *, tolerance: float = 0.04) -> float:
    """Song seconds of ``timeline`` that show a demo piece whose sound is the song there
    (within ``tolerance`` s), on a 10 ms grid: how much the matcher put back in place."""
    t = np.arange(0.0, timeline.duration, 0.01)
    placed = np.zeros(t.size, bool)
    for cut in timeline.segments:
        on = (t >= cut.song_start) & (t < cut.song_end)
        source = cut.source_time(t[on])
        for p in material.pieces.get(Path(cut.source).name, []):
            inside = (source >= p.video_start) & (source < p.video_start + p.song_end - p.song_start)
            right = inside & (np.abs(p.song_start + source - p.video_start - t[on]) < tolerance)
            placed[np.flatnonzero(on)[right]] = True
    return float(placed.sum() * 0.01)


def data_file(name: str) -> Path:
    """A file shipped in ``videothat/data``."""
    return Path(str(resources.files("videothat") / "data" / name))


def build_demo(folder: Path, *, n_videos: int = 3, seed: int = 2) -> DemoMaterial:
    """Write the demo material into ``folder`` unless it is there already; return it."""
    from videothat.media.audio import decode_audio

    folder.mkdir(parents=True, exist_ok=True)
    song = folder / SONG
    videos = [folder / f"demo_video_{i}.mp4" for i in range(n_videos)]
    audio = decode_audio(data_file(SONG), SAMPLE_RATE)
    layout = plan_pieces(np.random.default_rng(seed), audio.size / SAMPLE_RATE, n_videos, song_onsets(audio))
    pieces = {v.name: shots for v, shots in zip(videos, layout, strict=True)}
    if _manifest(folder) != _expected(pieces, seed):
        for path, shots in zip(videos, layout, strict=True):
            write_demo_video(path, shots, audio)
        for name in (SONG, FOOTAGE):
            _copy(data_file(name), folder / name)
        _write_manifest(folder, _expected(pieces, seed))
    return DemoMaterial(song, [*videos, folder / FOOTAGE], pieces)


def demo_folder(output: Path) -> Path:
    """Where the demo material of ``output`` (``OUT.mp4``) goes: ``OUT_material/`` beside it."""
    return output.with_name(output.stem + "_material")


def shot_bounds(rng: np.random.Generator, duration: float, onsets: np.ndarray | None = None) -> list[float]:
    """Cut times from 0 to ``duration`` (s) with shots of 1.5-4 s, on video frames: each cut at
    the song onset (``onsets``, s) nearest a random time in that range, where there is one."""
    bounds = [0.0]
    while duration - bounds[-1] > 4.0:
        target = bounds[-1] + rng.uniform(1.5, 4.0)
        near = [] if onsets is None else onsets[(onsets >= bounds[-1] + 1.5) & (onsets <= bounds[-1] + 4.0)]
        cut = near[np.argmin(np.abs(near - target))] if len(near) else target
        bounds.append(round(cut * FPS) / FPS)
    return [*bounds, duration]


def song_onsets(song: np.ndarray) -> np.ndarray:
    """Onset times (s) of a mono song [shape=(n,)] at :data:`SAMPLE_RATE` Hz."""
    import torch

    from videothat.audio.novelty import NoveltyConfig, onset_strength
    from videothat.audio.onsets import onset_frames

    config = NoveltyConfig(sample_rate=SAMPLE_RATE)
    batch = onset_strength([torch.from_numpy(song)], config=config)
    curve = batch.curves[0, : int(batch.lengths[0])].cpu().numpy()
    return onset_frames(curve, frame_rate=batch.frame_rate) / batch.frame_rate


def plan_pieces(rng: np.random.Generator, duration: float, n_videos: int, onsets: np.ndarray | None = None
                ) -> list[list[Piece]]:
    """The song's shots shuffled over ``n_videos`` videos, each shot on footage of a shipped clip.

    Within a video, neighbouring shots come from different clips (so their cut is a real cut),
    and a clip's pieces never overlap. The clip with the most footage left is taken first.
    """
    frames = np.round(np.asarray(shot_bounds(rng, duration, onsets)) * FPS).astype(int)  # shot bounds in frames
    left = {name: round(_clip_seconds(name) * FPS) for name in CLIPS}
    used = dict.fromkeys(CLIPS, 0)
    layout = []
    for shots in np.array_split(rng.permutation(len(frames) - 1), n_videos):
        pieces, at, previous = [], 0, None
        for k in shots.tolist():
            length = int(frames[k + 1] - frames[k])
            name = max((c for c in CLIPS if c != previous and left[c] >= length), key=lambda c: left[c], default=None)
            if name is None:
                raise CorruptMediaError(f"the shipped demo clips hold too little footage for a "
                                        f"{length / FPS:.2f} s shot; reinstall VideoThat")
            pieces.append(Piece(name, used[name] / FPS, at / FPS, int(frames[k]) / FPS, int(frames[k + 1]) / FPS))
            used[name], left[name], at, previous = used[name] + length, left[name] - length, at + length, name
        layout.append(pieces)
    return layout


def write_demo_video(path: Path, pieces: list[Piece], song: np.ndarray) -> Path:
    """One demo video: each piece's clip frames, with the song's samples of that piece as sound."""
    from fractions import Fraction

    import av

    from videothat.core.atomic import atomic_path
    from videothat.media.audio import encode_audio

    sound = np.concatenate([song[round(p.song_start * SAMPLE_RATE) : round(p.song_end * SAMPLE_RATE)] for p in pieces])
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as out:
        video = out.add_stream("libx264", rate=FPS, options={"crf": "23", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = *CLIP_SIZE, "yuv420p"
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "mono"
        index = 0
        for piece in pieces:
            for frame in clip_frames(piece.clip, round(piece.clip_start * FPS),
                                     round((piece.song_end - piece.song_start) * FPS)):
                frame.pts, frame.time_base, index = index, Fraction(1, FPS), index + 1
                out.mux(video.encode(frame))
        out.mux(video.encode(None))
        encode_audio(out, audio, sound[None], SAMPLE_RATE)
    return path


def clip_frames(name: str, first: int, count: int):
    """Frames ``first`` .. ``first + count - 1`` of a shipped clip (``av.VideoFrame``, 640x360)."""
    import av

    with av.open(str(data_file(name))) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= first + count:
                break
            if i >= first:
                yield frame
    if i < first + count - 1:
        raise CorruptMediaError(f"{data_file(name)}: has {i + 1} frames, the demo needs {first + count}; "
                                "reinstall VideoThat")


def _clip_seconds(name: str) -> float:
    from videothat.media.probe import probe

    return round(probe(data_file(name)).video.duration * FPS) / FPS - 1 / FPS  # whole frames, the last spared


def _expected(pieces: dict[str, list[Piece]], seed: int) -> dict:
    return {"version": VERSION, "seed": seed, "pieces": {k: [vars(p) for p in v] for k, v in pieces.items()}}


def _manifest(folder: Path) -> dict | None:
    """The manifest of the material in ``folder``, or None if any file is missing or it is unreadable."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    names = [SONG, FOOTAGE, *manifest.get("pieces", {})] if isinstance(manifest, dict) else []
    return manifest if names and all((folder / n).is_file() for n in names) else None


def _write_manifest(folder: Path, manifest: dict) -> None:
    from videothat.core.atomic import atomic_write

    atomic_write(folder / MANIFEST, lambda f: f.write(json.dumps(manifest, indent=1).encode()))


def _copy(source: Path, target: Path) -> None:
    from videothat.core.atomic import atomic_write

    atomic_write(target, lambda f: f.write(source.read_bytes()))
