"""Fingerprints of analysed files: every shot's windows through a fingerprint encoder, batched."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from videothat.core.errors import VideoThatError
from videothat.core.records import FileAnalysis
from videothat.index.config import IndexConfig
from videothat.index.store import FingerprintStore, VectorInfo


def encode_analyses(analyses: Sequence[FileAnalysis], encoder) -> list[tuple[np.ndarray, list[VectorInfo]]]:
    """Fingerprints of every shot of every analysis, batched; per file (vectors, infos).

    Rhythm fingerprints come from the analyses' novelty curves; other encoders decode the
    files' audio again. ``VectorInfo.start`` is the window's time in its file (s).
    """
    from videothat.index.encoders import RhythmEncoder

    if isinstance(encoder, RhythmEncoder):
        per_shot = encoder.encode_curves([c for a in analyses for c in a.novelty])
    else:
        import torch

        from videothat.media.audio import decode_audio

        sr, waves = encoder.sample_rate, []
        for a in analyses:
            audio = torch.from_numpy(decode_audio(a.source, sr))
            waves += [audio[round(s.start * sr) : round(s.end * sr)] for s in a.shots]
        per_shot = encoder.encode(waves)
    out, k = [], 0
    for a in analyses:
        mine = per_shot[k : k + len(a.shots)]
        k += len(a.shots)
        infos = [VectorInfo(str(a.source), i, float(shot.start + s), encoder.name)
                 for i, (shot, (_, starts)) in enumerate(zip(a.shots, mine, strict=True)) for s in starts]
        vectors = np.concatenate([v for v, _ in mine]) if mine else np.zeros((0, encoder.dim), np.float32)
        out.append((vectors.reshape(-1, encoder.dim), infos))
    return out


def query_fingerprints(analysed: FileAnalysis, store: FingerprintStore, index: IndexConfig, *, device: str
                       ) -> tuple[np.ndarray, np.ndarray, float]:
    """(vectors, window starts in s, the index's hop in s) of a query file analysed whole,
    with the encoder the index was built with and windows every ``index.query_hop`` s."""
    from videothat.index.encoders import encoder_from_description

    encoder = encoder_from_description(store.encoder, device=device)
    store.to_device(device)
    ((vectors, infos),) = encode_analyses([analysed], encoder.with_hop(min(index.query_hop, encoder.hop)))
    if not infos:
        raise VideoThatError(f"query {analysed.source}: too short or too flat for one {encoder.name} fingerprint")
    return vectors, np.array([i.start for i in infos]), encoder.hop
