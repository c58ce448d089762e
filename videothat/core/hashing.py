"""Content and parameter hashes: the keys of caches and indexes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HASH_CHUNK = 1 << 20  # bytes read at a time while hashing


def content_hash(path: str | Path) -> str:
    """BLAKE2b-128 of a file's bytes, hex."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def params_key(params: dict[str, object], *, version: int) -> str:
    """Short stable hash of parameters (JSON with sorted keys) under a format ``version``."""
    text = json.dumps({"format": version, **params}, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
