"""What the bad-input suite shares: a folder of good and bad media, the indexes built from
it, and a runner that holds the CLI to its contract (exit code, a message naming the file
or key, no traceback, nothing left half-written)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import struct
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mediagen import FIXTURES, cut_video, segment_frames, tone, write_audio, write_video
from videothat.cli import main
from videothat.core.outputs import folder_problem
from videothat.media.audio import decode_audio

SR = 22050
SONG_SECONDS = 6.0


def make_media(root: Path) -> Path:
    """Good and bad media in ``root``: a song and videos cut from it, and every kind of file
    a new user might hand over by mistake."""
    root.mkdir(parents=True, exist_ok=True)
    song = decode_audio(next(p for p in sorted(FIXTURES.glob("*.ogg")) if "rock" in p.name), SR)
    song = song[: round(SONG_SECONDS * SR)]
    write_audio(root / "song.wav", song[None], sr=SR)
    cut_video(root / "good.mp4", [2.0, 4.0], SONG_SECONDS, audio=song[None], sr=SR, size=(48, 64))
    cut_video(root / "good2.mp4", [3.0], SONG_SECONDS, audio=song[None], sr=SR, size=(48, 64), first_seed=7)
    shutil.copy(root / "good.mp4", root / "vidéo 音.mp4")  # a non-ASCII name
    (root / "clips").mkdir()
    shutil.copy(root / "good2.mp4", root / "clips" / "clip.mp4")
    (root / "nomedia").mkdir()
    (root / "nomedia" / "notes.txt").write_text("no media here")
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("this is a text file named like a video\n")
    good = (root / "good.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(good[: len(good) // 3])
    write_video(root / "noaudio.mp4", segment_frames(50, 1, size=(48, 64)))
    write_video(root / "silent.mp4", segment_frames(50, 2, size=(48, 64)), audio=np.zeros((1, 2 * SR), np.float32),
                sr=SR)
    write_video(root / "oneframe.mp4", segment_frames(1, 3, size=(48, 64)), audio=tone(0.04, SR), sr=SR)
    write_audio(root / "silent.wav", np.zeros((1, SR), np.float32), sr=SR)
    _wav(root / "zero.wav", b"", claimed=0)  # a valid header, no samples
    samples = (np.sin(np.arange(SR) * 0.3) * 8000).astype("<i2").tobytes()
    _wav(root / "hours.wav", samples, claimed=0xFFFFFF00)  # claims 27 hours, holds 1 s
    return root


def _wav(path: Path, data: bytes, *, claimed: int) -> None:
    """A 16-bit mono WAV whose header claims ``claimed`` bytes of samples and holds ``data``."""
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, SR, 2 * SR, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", min(claimed + 36, 0xFFFFFFFF)) + b"WAVEfmt " + fmt + b"data"
                     + struct.pack("<I", claimed) + data)


def fingerprints(root: Path) -> dict[str, str]:
    """Every file under ``root`` -> its content digest (inputs must never change)."""
    return {str(p.relative_to(root)): hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def unwritable_folder(tmp: Path) -> Path | None:
    """A folder no file can be created in (read-only for a normal user; sysfs for root, whom
    permissions do not stop), or None when this machine has none."""
    if os.geteuid() != 0:
        folder = tmp / "read-only"
        folder.mkdir(exist_ok=True)
        folder.chmod(0o555)
        return folder
    return Path("/sys") if folder_problem(Path("/sys")) else None


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def run(argv: list[str], capsys) -> Outcome:
    """``videothat ARGV`` in this process: any exception escaping it fails the test (the
    user would have seen a traceback)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors: usage and one line, exit 2
        code = exc.code
    except BaseException:
        pytest.fail(f"`videothat {shlex.join(argv)}` raised:\n{traceback.format_exc()}")
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return Outcome(code, captured.out, captured.err)


def temp_files(*folders: Path) -> list[Path]:
    """Temporary files (``*.tmp``) under ``folders``: none may survive a command."""
    return [p for f in folders if f.is_dir() for p in f.rglob("*.tmp")]


def broken_cache_entries(cache: Path) -> list[str]:
    """Cache entries that do not load whole (every one must, after any command)."""
    broken = []
    for entry in sorted(cache.rglob("*")) if cache.is_dir() else []:
        try:
            if entry.suffix == ".npz":
                with np.load(entry, allow_pickle=False) as z:
                    [z[k] for k in z.files]
            elif entry.suffix == ".json":
                json.loads(entry.read_text())
        except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
            broken.append(f"{entry}: {exc}")
    return broken


def work_done(cache: Path) -> list[Path]:
    """What a command left in its cache beside the remembered configs (``configs/``): an
    analysis entry, a verdict, the hash memo. A command refused before any
    work leaves none."""
    return sorted(p for p in cache.rglob("*") if p.is_file() and p.parent.name != "configs") \
        if cache.is_dir() else []
