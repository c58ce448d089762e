"""One curve per shot from its two senses: the sound's novelty and the pictures' impacts.

With ``weight`` w > 0 a shot is scored on

    x = a + w * (A / V) * v

where ``a`` is its audio novelty curve, ``v`` its visual impact curve, and ``A`` and ``V``
the typical levels of the two senses over all the shots: the median over shots of each
curve's RMS about its mean (``A`` over the shots with sound; the song curve's level,
``reference``, when none has any). One factor for every shot turns motion into sound
units, so a shot that barely moves keeps a small visual term and a hard impact a large
one, as a viewer sees them. The matcher's raw score of ``x`` against the song's onset
strength is the audio score plus w times the visual one (correlations are linear in the
shot curve); with ``normalize=window`` both are divided by the fused curve's energy over
the placement. A shot without usable sound (``a = 0``) is scored by its pictures alone,
one without motion by its sound alone. w = 0 leaves every curve as it was.

A shot without sound is scored as if it had sound of the typical level ``A`` that does not
follow the song (:func:`missing_sound`: the energy ``A^2`` per frame is added to its energy
in the window score). Its score is then about ``w / sqrt(1 + w^2)`` of its pictures' own
correlation (0.29 at w = 0.3, 0.71 at w = 1), so ``w`` weighs pictures against sound the
same way whether a shot has sound or not: without it a silent shot would be scored by its
motion at full weight, beside shots whose sound fits the song.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from videothat.core.errors import ParameterError


def fuse_curves(audio: Sequence[np.ndarray], visual: Sequence[np.ndarray | None], *, weight: float,
                reference: float) -> list[np.ndarray]:
    """Fused curves (see the module doc), one per shot, each [shape=(L_i,)] float32 like
    ``audio[i]``; ``visual[i]`` has the same frames (None: the shot has no picture curve).
    All shots in one padded array, no per-shot arithmetic."""
    if not np.isfinite(weight) or weight < 0:
        raise ParameterError(f"visual_weight={weight} must be a finite number >= 0")
    if len(audio) != len(visual):
        raise ParameterError(f"{len(audio)} audio curves but {len(visual)} visual curves")
    if weight == 0 or not audio:
        return list(audio)
    lengths = np.array([len(a) for a in audio])
    mask = np.arange(lengths.max())[None, :] < lengths[:, None]
    a = _pad(audio, mask)
    v = _pad([np.zeros(n, np.float32) if c is None else c for c, n in zip(visual, lengths, strict=True)], mask)
    level_a, level_v = _level(a, mask, lengths), _level(v, mask, lengths)
    moving = level_v[level_v > 0]
    if moving.size == 0:
        return list(audio)
    typical_a = _typical_sound(level_a, reference)
    fused = (a + weight * typical_a / float(np.median(moving)) * v).astype(np.float32)
    return [fused[i, :n] for i, n in enumerate(lengths)]


def missing_sound(audio: Sequence[np.ndarray], *, reference: float) -> np.ndarray:
    """Per shot, the energy per frame of the typical sound a silent shot lacks ([shape=(S,)]
    float64): ``A^2`` for a shot whose sound curve is flat (no sound, or digital silence),
    0 for the others; ``A`` as in :func:`fuse_curves` (the median level of the shots with
    sound, ``reference`` when none has any)."""
    if not audio:
        return np.zeros(0)
    lengths = np.array([len(a) for a in audio])
    mask = np.arange(lengths.max())[None, :] < lengths[:, None]
    level = _level(_pad(audio, mask), mask, lengths)
    return np.where(level > 0, 0.0, _typical_sound(level, reference) ** 2)


def _typical_sound(level: np.ndarray, reference: float) -> float:
    """``A``: the median of the shots' sound levels [shape=(S,)] over those with sound, or
    ``reference`` when none has any."""
    sound = level[level > 0]
    return float(np.median(sound)) if sound.size else reference


def _pad(curves: Sequence[np.ndarray], mask: np.ndarray) -> np.ndarray:
    out = np.zeros(mask.shape, np.float64)
    out[mask] = np.concatenate([np.asarray(c, np.float64).ravel() for c in curves])
    return out


def _level(x: np.ndarray, mask: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """RMS about the mean over each row's valid frames [shape=(S,)]."""
    mean = x.sum(1) / lengths
    return np.sqrt((((x - mean[:, None]) * mask) ** 2).sum(1) / lengths)
