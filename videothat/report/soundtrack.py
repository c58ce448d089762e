"""A self-contained HTML report of a sound track made for pictures: the video's events (motion
impacts and cuts) with the new sound's onsets and the sources over them, figures and the
list of sound sources.

Figures: onset F-measure of the new sound's onsets against the video's events (impact peaks
and cuts, 50 ms), the mean offset of the matched pairs (positive: the sound comes late), the
alignment the choice was made by (its mean; the table gives each segment's) and the sources
used. Each source has one colour (a legend names them) in the plot and the table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videothat.report.measures import WINDOW_S, onset_curve, sync_figures
from videothat.report.page import (Column, events_plot, html_page, legend_html, segment_table, shade_sources,
                                   source_colours)


ALIGNMENT_NOTE = ("how well the chosen sounds' onsets follow the video's events: the mean, over the video's "
                  "short stretches (soundtrack.hop), of the correlation of the sound's onset strength with the "
                  "events around each, from -1 to 1 (1: in step; 0: no relation)")


def _plot(plan, sound: np.ndarray, rate: int, onsets: np.ndarray, colours: dict[str, str]) -> str:
    strength, frame_rate = onset_curve(sound, rate)
    return events_plot(plan.events, strength, frame_rate, onsets, duration=plan.timeline.duration,
                       title="The new sound under the video (background: sound source, as in the legend)",
                       sound="the new sound", onsets_label="sound onsets",
                       shade=lambda ax: shade_sources(ax, plan.timeline.segments, colours))


def write_soundtrack_report(plan, sound: np.ndarray, rate: int, path: Path, *, video: Path | None = None) -> Path:
    """Write the report of a sound track (``plan``: a
    :class:`~videothat.pipeline.soundtrack.SoundtrackPlan`; ``sound``: the track, mono at
    ``rate`` Hz) to ``path`` (atomically)."""
    from videothat.core.atomic import atomic_write

    events, timeline = plan.events, plan.timeline
    visual = events.events
    f, offset, onsets = sync_figures(visual, sound, rate)
    segments = timeline.segments
    figures = [
        ("onsets on events", f"{f:.2f}", f"F-measure of the new sound's onsets against the {visual.size} visual "
                                         f"events (impacts and cuts), {1000 * WINDOW_S:.0f} ms"),
        ("mean offset", "-" if offset is None else f"{1000 * offset:+.0f} ms", "sound onset minus visual event, "
                                                                                "matched pairs (+: sound late)"),
        ("alignment", f"{float(np.mean(plan.scores)):.2f}", "mean correlation of the chosen sounds' onsets with "
                                                            "the video's events, -1 to 1 (1: in step, 0: "
                                                            "unrelated); per source in the table"),
        ("sources", f"{len({c.source for c in segments})}",
         f"{len(segments)} {'stretch' if len(segments) == 1 else 'stretches'} over {timeline.duration:.1f} s"),
    ]
    colours = source_colours(segments)
    alignment = Column("alignment", [f"{c.score:.2f}" for c in segments],
                       ALIGNMENT_NOTE + " over the segment's stretches (the card above: over the whole video)")
    body = (f"{legend_html(colours, what='sound sources')}\n"
            f'<img alt="the new sound under the video" src="data:image/png;base64,'
            f'{_plot(plan, sound, rate, onsets, colours)}">'
            f"\n<h2>Sound sources</h2>\n{segment_table(segments, colours, over='video', columns=[alignment])}")
    page = html_page(Path(timeline.song).name, "VideoThat sound track report", figures, body, video=video)
    atomic_write(path, lambda f: f.write(page.encode()))
    return path
