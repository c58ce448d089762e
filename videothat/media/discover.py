"""Turn the paths a user typed into the media files to analyse."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from videothat.core.errors import CorruptMediaError, MediaError, MediaNotFoundError

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .mpg .mpeg .ts .mts .m2ts .flv .wmv .ogv .3gp".split()
)
AUDIO_EXTENSIONS = frozenset(".wav .flac .mp3 .ogg .oga .opus .m4a .aac .wma .aif .aiff".split())
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS


def find_media(paths: Iterable[str | Path]) -> tuple[list[Path], list[MediaError]]:
    """Expand files and folders (recursively) into media files.

    A file named explicitly is kept whatever its extension; inside folders only files
    with a known media extension (``MEDIA_EXTENSIONS``) are taken, hidden ones skipped.

    Returns
    -------
    files : unique paths, in the order given (folders sorted)
    problems : one error per missing path or folder without media
    """
    files: list[Path] = []
    problems: list[MediaError] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in MEDIA_EXTENSIONS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                problems.append(
                    MediaNotFoundError(path, "folder holds no media files (looked for "
                                       + " ".join(sorted(MEDIA_EXTENSIONS)) + ")")
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(MediaNotFoundError(path, "no such file or folder"))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique, problems


def check_file(path: str | Path) -> Path:
    """Return ``path`` as a Path if it is a non-empty regular file, else raise."""
    path = Path(path)
    if not path.exists():
        raise MediaNotFoundError(path, "no such file")
    if not path.is_file():
        raise MediaNotFoundError(path, "is not a regular file")
    if path.stat().st_size == 0:
        raise CorruptMediaError(path, "is empty (0 bytes)")
    return path
