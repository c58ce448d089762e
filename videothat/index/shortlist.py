"""The shortlist: the shots of a shots index whose fingerprints fit a song best (``make --index``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from videothat.core.records import FileAnalysis
from videothat.index.config import IndexConfig
from videothat.index.encode import query_fingerprints
from videothat.index.store import FingerprintStore
from videothat.index.vote import best_offset_sums

OFFSET_BIN = 0.05  # s, offset bins of the shortlist's votes (about two curve frames)


def shortlist(song: FileAnalysis, store: FingerprintStore, index: IndexConfig, *, device: str = "cpu"
              ) -> dict[str, set[int]]:
    """The ``index.shortlist`` shots (file -> shot indices) that fit the song best, from the
    ``index.k`` nearest fingerprints of each song window, ranked by ``index.shortlist_rank``:

    * ``votes``: the similarities of a shot's hits summed per song offset they imply (song
      time minus source time, in bins of ``OFFSET_BIN`` s, a bin's neighbours included), its
      best offset's sum per fingerprint window of the shot: a shot whose windows all line
      up with the song at one place ranks above one with a single good window among many
      (audfprint's offset histogram, normalised so that length alone does not win);
    * ``best``: its single most similar window.

    Ties go to the smaller (path, shot).
    """
    vectors, starts, _ = query_fingerprints(song, store, index, device=device)
    return shortlist_vectors(vectors, starts, store, index)


def shortlist_vectors(vectors: np.ndarray, starts: np.ndarray, store: FingerprintStore, index: IndexConfig
                      ) -> dict[str, set[int]]:
    """:func:`shortlist` from query fingerprints already made: ``vectors`` [shape=(Q, D)] of
    the query windows starting at ``starts`` (s) [shape=(Q,)], in the store's space (the song's
    own, or a visual encoder's paired with the store's audio encoder)."""
    scores, ids = store.search_arrays(vectors, k=index.k)
    query, col = np.nonzero(ids >= 0)
    vector_ids, which = np.unique(ids[query, col], return_inverse=True)
    paths, file_of, shot_of, start_of = store.shots_of(vector_ids)
    base = int(shot_of.max(initial=0)) + 1
    shots = (file_of * base + shot_of)[which]  # per hit, ordered as (path, shot)
    similarity = scores[query, col].astype(np.float64)
    if index.shortlist_rank == "votes":
        offset = np.round((starts[query] - start_of[which]) / OFFSET_BIN).astype(np.int64)
        keys, value = _max_per(*best_offset_sums(shots, offset, np.maximum(similarity, 0.0)))
        windows = store.windows_per_shot(paths)
        count = np.array([windows[(paths[key // base], key % base)] for key in keys.tolist()])
        value = value / count  # per window of the shot: long shots do not win by length
    else:
        keys, value = _max_per(shots, similarity)
    chosen: dict[str, set[int]] = {}
    for key in keys[np.lexsort((keys, -value))[: index.shortlist]].tolist():
        chosen.setdefault(paths[key // base], set()).add(key % base)
    return chosen


def _max_per(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, the largest value of each)."""
    distinct, group = np.unique(keys, return_inverse=True)
    best = np.full(len(distinct), -np.inf)
    np.maximum.at(best, group, values)
    return distinct, best


def keep_shortlisted(analyses: list[FileAnalysis], chosen: dict[str, set[int]]) -> list[FileAnalysis]:
    """The chosen shots of each analysis (files with none chosen left out)."""
    kept = []
    for a in analyses:
        shots = chosen.get(str(Path(a.source).resolve()), set())
        pick = [i for i in range(len(a.shots)) if i in shots]
        if pick:
            kept.append(replace(a, shots=[a.shots[i] for i in pick], novelty=[a.novelty[i] for i in pick],
                                chroma=None if a.chroma is None else [a.chroma[i] for i in pick]))
    return kept
