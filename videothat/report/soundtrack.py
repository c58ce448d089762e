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

from videothat.report.measures import WINDOW_S, mean_offset, onset_curve, onset_f_measure, onset_times
from videothat.report.page import (Column, figure_png, html_page, legend_html, segment_table, shade_sources,
                                   source_colours)


ALIGNMENT_NOTE = ("how well the chosen sounds' onsets follow the video's events: the mean, over the video's "
                  "short stretches (soundtrack.hop), of the correlation of the sound's onset strength with the "
                  "events around each, from -1 to 1 (1: in step; 0: no relation)")


def sync_figures(events: np.ndarray, sound: np.ndarray, rate: int) -> tuple[float, float | None, np.ndarray]:
    """(onset F of the sound's onsets against ``events`` (s), mean offset (s) of the matched
    pairs or None, the sound's onset times) of a mono ``sound`` at ``rate`` Hz."""
    onsets = onset_times(sound, rate)
    return onset_f_measure(events, onsets), mean_offset(events, onsets), onsets


def _plot(plan, sound: np.ndarray, rate: int, onsets: np.ndarray, colours: dict[str, str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events, timeline = plan.events, plan.timeline
    t = np.arange(events.curve.size) / events.frame_rate
    strength, frame_rate = onset_curve(sound, rate)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 5.6), sharex=True, height_ratios=[3, 1.2])
    shade_sources(top, timeline.segments, colours)
    top.plot(t, events.curve / (events.curve.max() or 1.0), color="#2a9d8f", lw=0.9,
             label="the video's events (impacts and cuts)")
    top.plot(np.arange(strength.size) / frame_rate, -strength / (strength.max() or 1.0), color="#d1495b", lw=0.9,
             label="the new sound's onset strength (downwards)")
    top.legend(loc="upper right", fontsize=9, frameon=False)
    top.set_title("The new sound under the video (background: sound source, as in the legend)", fontsize=11,
                  loc="left")
    top.set_ylim(-1.08, 1.12)
    top.set_yticks([1, 0.5, 0, -0.5, -1], ["1", "0.5", "0", "0.5", "1"])
    top.axhline(0, color="#999", lw=0.5)
    top.set_ylabel("strength, 1 = its peak\n(video events up, sound onsets down)")
    for x in events.cuts:
        bottom.axvline(x, ymin=0.0, ymax=0.3, color="#1f5fbf", lw=1.2)
    for x in events.impacts:
        bottom.axvline(x, ymin=0.35, ymax=0.62, color="#2a9d8f", lw=1.0)
    for x in onsets:
        bottom.axvline(x, ymin=0.68, ymax=1.0, color="#d1495b", lw=0.8)
    bottom.set_yticks([0.15, 0.48, 0.84], ["cuts", "motion impacts", "sound onsets"])
    bottom.set_ylim(0, 1)
    bottom.set_xlabel("video time (s)")
    bottom.set_xlim(0, timeline.duration)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return figure_png(fig)


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
