"""Music for a video: the song of an index, and the place in it, whose onsets land on the
video's cuts and motion impacts (and, when the video has sound, fit that sound too).

Candidates: every song of the index when it holds at most ``music.candidates``, else the
best by retrieval (the video's sound against the index: landmarks identify a song playing in
it, FAISS fingerprints find songs that sound alike; a learned index with a soundtrack run's
visual encoder also by what the video shows). Each candidate's onset strength (through the
analysis cache), as spikes at its onsets (:func:`videothat.audio.onsets.onset_spikes`), is
then correlated, at every offset where the video fits in the song, with the video's
picture events (:mod:`videothat.pipeline.events`) and, when the video has sound, with that
sound's onset spikes, weighted ``music.sound_weight``: the batched
correlation kernel of the matcher (:func:`videothat.match.correlate.correlate`), one call per
song over all its offsets. The best (song, offset) pairs are the choices; the first is put
under the video's pictures (copied, not re-encoded) with a fade in and out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from videothat.core.errors import ParameterError, VideoThatError
from videothat.match.config import MusicConfig, ScoreConfig
from videothat.pipeline.events import PictureEvents, picture_events
from videothat.pipeline.run import Configs, Run, analyze_files
from videothat.vision.config import EventConfig

SCORE = ScoreConfig(power=1.0, edge=False, harmony=0.0, visual_weight=0.0)  # a correlation per offset
MIN_SECONDS = 1.0  # s, the shortest video a song is fitted to


class MusicError(VideoThatError):
    """No music can be chosen from the index for the video."""


@dataclass(frozen=True)
class MusicChoice:
    """A song for the video: ``offset`` s into it plays at the video's start."""

    song: str
    offset: float
    score: float  # pictures + sound_weight x sound
    pictures: float  # correlation of the video's picture events with the song's onset strength there
    sound: float | None  # the same for the video's own sound (None: the video has none)


class Ranking(NamedTuple):
    """What :func:`choose_music` found: the best choices and what they were chosen from."""

    choices: list[MusicChoice]  # best first
    events: PictureEvents  # the video's
    ranked: int  # songs scored (the usable candidates)
    library: int  # songs in the index


def choose_music(video: str | Path, index_root: Path, configs: Configs, music: MusicConfig, events: EventConfig,
                 run: Run, *, top: int = 5, video_encoder: Path | None = None) -> Ranking:
    """The ``top`` songs of the index at ``index_root`` for ``video``, best first (module doc),
    the video's picture events and how many songs were ranked (a :class:`Ranking`).

    Raises
    ------
    ParameterError : the index is not a music index, or ``top`` < 1.
    NoVideoError, VideoThatError : the video has no pictures or cannot be analysed.
    MusicError : no song of the index can be used.
    """
    if top < 1:
        raise ParameterError(f"top={top} must be >= 1")
    root = Path(index_root)
    songs, analysis = _library(root, configs)
    library = len(songs)
    found = picture_events(video, analysis, configs.analysis.motion, events, run)
    if found.duration < MIN_SECONDS:
        raise MusicError(f"{found.path} lasts {found.duration:.2f} s: too short to fit a song to (at least "
                         f"{MIN_SECONDS:g} s)")
    if not found.curve.any() and not found.analysis.has_audio:
        raise MusicError(f"{found.path} shows no cuts or motion and has no sound: nothing to fit a song to")
    if len(songs) > music.candidates:
        songs = _retrieved(found, root, configs, music, run, video_encoder)
    report = analyze_files(songs, analysis.for_songs(), run)
    usable = [a for a in report.analyses if a.has_audio and a.content_hash != found.analysis.content_hash]
    if not usable:
        reasons = "; ".join(f.message for f in report.failures[:3]) or "none has sound"
        raise MusicError(f"{root}: no usable song for {found.path} ({reasons})")
    bank = _video_bank(found, run)
    choices = [_best_offset(bank, found, a, music, run) for a in usable]
    return Ranking(sorted(choices, key=lambda c: (-c.score, c.song))[:top], found, len(usable), library)


def _library(root: Path, configs: Configs):
    """(the songs of a music index, the analysis to read them with)."""
    from videothat.pipeline.archive import index_analysis, open_store
    from videothat.pipeline.landmark_archive import is_landmark_index, landmark_items

    if is_landmark_index(root):
        return [Path(p) for p in landmark_items(root)], configs.analysis
    store = open_store(root)
    if store.mode != "songs":
        raise ParameterError(f"{root} is an index of shots; music for a video needs a music index "
                             f"(videothat index build MUSIC --songs --index DIR)")
    return [Path(p) for p in store.files()], index_analysis(store, configs.analysis)


def _retrieved(found: PictureEvents, root: Path, configs: Configs, music: MusicConfig, run: Run,
               video_encoder: Path | None) -> list[Path]:
    """The ``music.candidates`` songs retrieval ranks first for the video (by its sound, and
    by its pictures where a visual encoder is given)."""
    from videothat.pipeline.landmark_archive import identify, is_landmark_index
    from videothat.pipeline.queries import query_video, query_video_pictures

    k = music.candidates
    ranked: list[str] = []
    if found.analysis.has_audio:
        if is_landmark_index(root):
            ranked += [m.item for m in identify(found.path, root, top=k)]
        else:
            ranked += [a.path for a in query_video(found.path, root, configs.analysis, configs.index, run=run, top=k)]
    if video_encoder is not None:
        ranked += [a.path for a in query_video_pictures(found.path, root, configs.index, video_encoder=video_encoder,
                                                        run=run, top=k)]
    if not ranked:
        raise ParameterError(f"{root} holds more than music.candidates={k} songs and {found.path} has no sound to "
                             f"look them up by: raise music.candidates, or give --video-encoder (a learned index)")
    return [Path(p) for p in dict.fromkeys(ranked)][:k]


def _video_bank(found: PictureEvents, run: Run):
    """The video's curves ready for scoring against every song: its picture events and, when
    it has sound, that sound's onsets as spikes (a :class:`~videothat.match.correlate.ShotBank`)."""
    import torch

    from videothat.audio.onsets import onset_spikes
    from videothat.match.correlate import shot_bank
    from videothat.pipeline.events import laid_out

    curves = [torch.from_numpy(found.curve)]
    if found.analysis.has_audio:
        sound = laid_out(found.analysis, found.analysis.novelty, found.curve.size)
        curves.append(torch.from_numpy(onset_spikes(sound, frame_rate=found.frame_rate)))
    return shot_bank(curves, SCORE, device=run.device)


def _best_offset(bank, found: PictureEvents, song, music: MusicConfig, run: Run) -> MusicChoice:
    """The offset of ``song`` (analysed whole) where the video (its ``bank``) fits best, with its scores."""
    import torch

    from videothat.audio.onsets import onset_spikes
    from videothat.match.correlate import correlate, prepare_song

    fr = found.frame_rate
    n = found.curve.size
    target = torch.from_numpy(onset_spikes(np.concatenate(song.novelty), frame_rate=song.frame_rate))
    scores = correlate(bank, prepare_song(target, SCORE, device=run.device), frame_rate=fr, config=SCORE)
    last = max(0, target.numel() - n)  # offsets where the whole video lies inside the song
    scores = scores[:, : last + 1].cpu().numpy()
    total = scores[0] + (music.sound_weight * scores[1] if scores.shape[0] > 1 else 0.0)
    best = int(np.argmax(total))
    return MusicChoice(str(song.source), best / fr, float(total[best]), float(scores[0, best]),
                       float(scores[1, best]) if scores.shape[0] > 1 else None)


@dataclass
class MusicVideo:
    """What :func:`make_music` wrote."""

    video: Path
    choices_json: Path
    choices: list[MusicChoice]
    events: PictureEvents
    html: Path | None = None  # the report (``report=True``)


def music_outputs(output: Path, *, report: bool = False) -> list[Path]:
    """What :func:`make_music` writes for ``output``: the video, ``OUT.music.json`` and with
    ``report`` ``OUT.report.html``."""
    return [output, output.with_suffix(".music.json"), *([output.with_suffix(".report.html")] if report else [])]


def make_music(video: str | Path, index_root: Path, configs: Configs, music: MusicConfig, events: EventConfig,
               run: Run, *, output: Path, top: int = 5, report: bool = False, video_encoder: Path | None = None
               ) -> MusicVideo:
    """Choose music (:func:`choose_music`) and write ``output``: the video's pictures with the
    best song from its offset, faded in and out; ``OUT.music.json`` lists the ``top`` choices
    and, with ``report``, ``OUT.report.html`` shows them (all checked before any work:
    :func:`~videothat.core.outputs.check_outputs`)."""
    from videothat.audio.splice import faded
    from videothat.core.atomic import atomic_write
    from videothat.core.outputs import check_outputs
    from videothat.media.audio import decode_audio_range
    from videothat.media.mux import with_sound
    from videothat.media.probe import probe
    from videothat.media.render import AUDIO_RATE
    from videothat.pipeline.archive import guarded_inputs

    wanted = music_outputs(output, report=report)
    check_outputs(wanted, inputs=guarded_inputs(wanted, [Path(video)], Path(index_root)))
    ranking = choose_music(video, index_root, configs, music, events, run, top=top, video_encoder=video_encoder)
    choices, found = ranking.choices, ranking.events
    best = choices[0]
    sound = decode_audio_range(best.song, AUDIO_RATE, best.offset, found.duration)
    playing = min(sound.size, max(0, round((probe(best.song).duration - best.offset) * AUDIO_RATE)))
    sound[playing:] = 0.0  # a song shorter than the video: it fades out at its own end
    song = sound.copy()  # the song as it is from the offset (the report's onsets), before the fades
    sound[:playing] = faded(sound[:playing], AUDIO_RATE, fade_in=music.fade_in, fade_out=music.fade_out)
    with_sound(Path(video), sound, AUDIO_RATE, output, render=configs.render)
    text = json.dumps({"video": str(found.path), "duration": found.duration,
                       "choices": [asdict(replace(c, offset=round(c.offset, 3))) for c in choices]}, indent=1)
    atomic_write(wanted[1], lambda f: f.write(text.encode()))
    html = None
    if report:
        from videothat.report.music import write_music_report

        html = write_music_report(ranking, song, AUDIO_RATE, wanted[2], sound_weight=music.sound_weight,
                                  video=output)
    return MusicVideo(output, wanted[1], choices, found, html)
