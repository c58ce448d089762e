"""A self-contained HTML report of the music chosen for a video: the chosen song's onsets, from
its offset, against the video's events (motion impacts and cuts), figures and the ranked
choices.

Figures: the chosen song, its score (the correlation its choice was made by, in words), the
offset it plays from, how many songs were ranked, and the onset F-measure of its onsets
against the video's events (impacts and cuts, 50 ms) over the video, with the mean offset of
the matched pairs (positive: the song comes late).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from videothat.report.measures import WINDOW_S, matched_events, onset_curve, sync_figures
from videothat.report.page import Column, events_plot, html_page, of_best, table_html


def score_note(sound_weight: float, *, has_sound: bool) -> str:
    """What a choice's score is and its scale, in words."""
    pictures = ("the correlation of the song's onset strength, from its offset, with the video's cuts and motion "
                "impacts, -1 to 1 (1: in step, 0: unrelated)")
    if not has_sound:
        return pictures + " (the video has no sound of its own to fit)"
    return (f"{pictures}, plus music.sound_weight={sound_weight:g} times the same correlation with the video's own "
            f"sound's onsets: -{1 + sound_weight:g} to {1 + sound_weight:g}")


def _score_card(best, sound_weight: float) -> tuple[str, str, str]:
    """The chosen song's score, its parts (pictures, sound) and its scale in words."""
    parts = "" if best.sound is None else f"pictures {best.pictures:.3f} + {sound_weight:g} × sound {best.sound:.3f}: "
    return "score", f"{best.score:.3f}", parts + score_note(sound_weight, has_sound=best.sound is not None)


def _figures(ranking, sound: np.ndarray, rate: int, sound_weight: float) -> tuple[list[tuple[str, str, str]],
                                                                                   np.ndarray]:
    """The cards (name, value, note) and the chosen song's onset times (s of video)."""
    best, found = ranking.choices[0], ranking.events
    visual = found.events
    f, offset, onsets = sync_figures(visual, sound, rate)
    matched = matched_events(visual, onsets)[0].size
    pool = ("every song of the index" if ranking.ranked == ranking.library else
            f"of the index's {ranking.library} songs (the others: not retrieved for the video, or without "
            f"usable sound)")
    figures = [
        ("chosen song", html.escape(Path(best.song).name), "put under the video's pictures, faded in and out"),
        _score_card(best, sound_weight),
        ("from", f"{best.offset:.2f} s", "the place in the song that plays at the video's start"),
        ("songs ranked", f"{ranking.ranked}", pool),
        ("onsets on events", f"{f:.2f}", f"F-measure, 0 to 1, over the video's {found.duration:.1f} s: {matched} of "
                                         f"its {visual.size} events (cuts and impacts) have a song onset within "
                                         f"{1000 * WINDOW_S:.0f} ms, {matched} of the song's {onsets.size} onsets "
                                         f"an event"),
        ("mean offset", "-" if offset is None else f"{1000 * offset:+.0f} ms",
         "song onset minus video event, matched pairs (+: the song comes late)"),
    ]
    return figures, onsets


def _choices_table(choices, sound_weight: float) -> str:
    """The ranked choices: rank, song, score, offset and the score as a percentage of the best."""
    has_sound = choices[0].sound is not None
    scores = [c.score for c in choices]
    return table_html([
        Column("#", [f"{i}" for i in range(1, len(choices) + 1)], "rank by score; 1 is the song under the video"),
        Column("song", [f'<span title="{html.escape(c.song)}">{html.escape(Path(c.song).name)}</span>'
                        for c in choices], "the song's file name (its path in the tooltip and OUT.music.json)"),
        Column("score", [f"{s:.3f}" for s in scores], "how well the song fits the video at its best offset: "
               + score_note(sound_weight, has_sound=has_sound)),
        Column("offset (s)", [f"{c.offset:.2f}" for c in choices],
               "the place in the song (s) that would play at the video's start"),
        Column("of best", of_best(scores), "the score as a percentage of the chosen song's"),
    ])


def write_music_report(ranking, sound: np.ndarray, rate: int, path: Path, *, sound_weight: float,
                       video: Path | None = None) -> Path:
    """Write the report of the music chosen for a video (``ranking``: a
    :class:`~videothat.pipeline.music.Ranking`; ``sound`` [shape=(samples,)]: the chosen song
    from its offset over the video, mono at ``rate`` Hz, before the fades) to ``path``
    (atomically) and return it."""
    from videothat.core.atomic import atomic_write

    best, found = ranking.choices[0], ranking.events
    figures, onsets = _figures(ranking, sound, rate, sound_weight)
    strength, frame_rate = onset_curve(sound, rate)
    name = Path(best.song).name
    plot = events_plot(found, strength, frame_rate, onsets, duration=found.duration,
                       title=f"{name} from {best.offset:.2f} s under the video", sound="the song",
                       onsets_label="song onsets")
    body = (f'<img alt="the song\'s onsets against the video\'s events" src="data:image/png;base64,{plot}">\n'
            f"<h2>Choices</h2>\n{_choices_table(ranking.choices, sound_weight)}")
    page = html_page(name, f"VideoThat music report: the song for {found.path.name}", figures, body, video=video)
    atomic_write(path, lambda f: f.write(page.encode()))
    return path
