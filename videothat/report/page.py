"""The parts every HTML report shares: the page, its figure cards, embedded plots (the video's
events against a sound's onsets), the colour of each source, cut lists and other tables with
explained columns."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# matplotlib's tab20 reordered: its ten strong colours first, then their light variants
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
           "#dbdb8d", "#9edae5")
SHADE_ALPHA = 0.16  # opacity of a source's colour behind a plot's curves


def figure_png(fig) -> str:
    """A matplotlib figure as base64 PNG (for ``<img src="data:image/png;base64,...">``); closes it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def source_colours(segments) -> dict[str, str]:
    """A colour (``#rrggbb``) per source file of ``segments`` (timeline cuts), in the order of
    their file names (then paths): the same source has the same colour in every plot, legend
    and table of a report. Past len(PALETTE) sources the colours repeat (the legend and the
    table still name each)."""
    sources = sorted({str(c.source) for c in segments}, key=lambda s: (Path(s).name, s))
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sources)}


def shade_sources(ax, segments, colours: dict[str, str]) -> None:
    """Shade each segment's song span on ``ax`` in its source's colour: faint behind the
    curves, with a strip of the full colour along the top (what the legend's swatches show)."""
    for cut in segments:
        colour = colours[str(cut.source)]
        ax.axvspan(cut.song_start, cut.song_end, color=colour, alpha=SHADE_ALPHA, lw=0)
        ax.axvspan(cut.song_start, cut.song_end, ymin=0.965, ymax=1.0, color=colour, lw=0)


def legend_html(colours: dict[str, str], *, what: str = "source") -> str:
    """A legend of ``colours`` (source path -> colour): a swatch and the file name each."""
    items = "".join(f'<span class="item" title="{html.escape(s)}"><span class="sw" style="background:{c}"></span>'
                    f"{html.escape(Path(s).name)}</span>" for s, c in colours.items())
    return f'<div class="legend"><span class="what">{html.escape(what)}:</span> {items}</div>'


def speed_text(speed: float) -> str:
    """A playback speed as it is: ``×1`` as recorded, else with the digits that tell it from 1
    (at least four significant: ``×1.005``, ``×0.995``; never a rounded ``×1.00``)."""
    if speed == 1.0:
        return "×1"
    digits = 4
    while float(f"{speed:.{digits}g}") == 1.0 and digits < 17:
        digits += 1
    return f"×{speed:.{digits}g}"


@dataclass(frozen=True)
class Column:
    """An extra column of a segment table: ``name`` (header), one ``values`` entry per segment
    (HTML-safe text) and a ``note`` saying what it is (the header's tooltip and a caption)."""

    name: str
    values: Sequence[str]
    note: str


def segment_table(segments, colours: dict[str, str], *, over: str = "song", columns: Sequence[Column] = (),
                  more: int = 0) -> str:
    """Timeline cuts as an HTML table: #, source (with its colour), in, out, ``over`` start and
    end (what the segment times run over: ``song``, ``target``, ``video``), length, speed,
    then ``columns``; a caption under it says what the columns mean (and that ``more``
    segments are only in the timeline file)."""
    tip = {"in (s)": "where the segment starts in its source", "out (s)": "where it ends in its source",
           f"{over} start": f"where it starts in the {over} (s)", f"{over} end": f"where it ends in the {over} (s)",
           "length": f"{over} seconds", "speed": f"source seconds per {over} second: ×1 plays as recorded"}
    header = "".join(f'<th title="{html.escape(t)}">{html.escape(k)}</th>' for k, t in tip.items())
    header += "".join(f'<th title="{html.escape(c.note)}">{html.escape(c.name)}</th>' for c in columns)
    rows = "\n".join(
        f'<tr><td>{i + 1}</td><td><span class="sw" style="background:{colours[str(c.source)]}"></span>'
        f"{html.escape(Path(c.source).name)}</td><td>{c.source_start:.2f}</td><td>{c.source_end:.2f}</td>"
        f"<td>{c.song_start:.2f}</td><td>{c.song_end:.2f}</td><td>{c.duration:.2f}</td><td>{speed_text(c.speed)}</td>"
        + "".join(f"<td>{col.values[i]}</td>" for col in columns) + "</tr>"
        for i, c in enumerate(segments))
    notes = [f"<b>speed</b>: {tip['speed']}", *(f"<b>{html.escape(c.name)}</b>: {html.escape(c.note)}"
                                                 for c in columns)]
    if more:
        notes.append(f"... and {more} more segments in the timeline file")
    return (f"<table><tr><th>#</th><th>source</th>{header}</tr>\n{rows}\n</table>\n"
            f'<p class="note">{"<br>".join(notes)}</p>')


def of_best(scores: Sequence[float]) -> list[str]:
    """Each score as a percentage of the highest (``"87 %"``); ``"-"`` each when none is above 0."""
    best = max(scores, default=0.0)
    return [f"{100 * s / best:.0f} %" if best > 0 else "-" for s in scores]


def table_html(columns: Sequence[Column]) -> str:
    """``columns`` as an HTML table (the second column left-aligned: put names there), each
    header with its note as tooltip, and a caption under it that says what each column is."""
    header = "".join(f'<th title="{html.escape(c.note)}">{html.escape(c.name)}</th>' for c in columns)
    rows = "\n".join("<tr>" + "".join(f"<td>{c.values[i]}</td>" for c in columns) + "</tr>"
                     for i in range(min((len(c.values) for c in columns), default=0)))
    notes = "<br>".join(f"<b>{html.escape(c.name)}</b>: {html.escape(c.note)}" for c in columns)
    return f'<table><tr>{header}</tr>\n{rows}\n</table>\n<p class="note">{notes}</p>'


def events_plot(events, strength: np.ndarray, strength_rate: float, onsets: np.ndarray, *, duration: float,
                title: str, sound: str, onsets_label: str, shade: Callable | None = None) -> str:
    """The video's events against a sound's onsets, as base64 PNG: above, the video's event
    curve (``events``: a :class:`~videothat.pipeline.events.PictureEvents`; its ``curve`` on
    ``frame_rate``) up and the sound's onset ``strength`` [shape=(frames,)] at
    ``strength_rate`` frames per second down, each scaled to its peak; below, ticks for the
    video's cuts and motion impacts and the sound's ``onsets`` (s), over ``duration`` s of
    video time. ``sound`` names the sound in the legend ("the new sound"), ``onsets_label``
    its row of ticks; ``shade(ax)``, if given, draws behind the curves (e.g. :func:`shade_sources`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 5.6), sharex=True, height_ratios=[3, 1.2])
    if shade is not None:
        shade(top)
    top.plot(np.arange(events.curve.size) / events.frame_rate, events.curve / (events.curve.max() or 1.0),
             color="#2a9d8f", lw=0.9, label="the video's events (impacts and cuts)")
    top.plot(np.arange(strength.size) / strength_rate, -strength / (strength.max() or 1.0), color="#d1495b", lw=0.9,
             label=f"{sound}'s onset strength (downwards)")
    top.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=9, frameon=False)  # above the peaks
    top.set_title(title, fontsize=11, loc="left", pad=22)  # a line above the legend
    top.set_ylim(-1.08, 1.12)
    top.set_yticks([1, 0.5, 0, -0.5, -1], ["1", "0.5", "0", "0.5", "1"])
    top.axhline(0, color="#999", lw=0.5)
    top.set_ylabel(f"strength, 1 = its peak\n(video events up, {onsets_label} down)")
    for x in events.cuts:
        bottom.axvline(x, ymin=0.0, ymax=0.3, color="#1f5fbf", lw=1.2)
    for x in events.impacts:
        bottom.axvline(x, ymin=0.35, ymax=0.62, color="#2a9d8f", lw=1.0)
    for x in onsets:
        bottom.axvline(x, ymin=0.68, ymax=1.0, color="#d1495b", lw=0.8)
    bottom.set_yticks([0.15, 0.48, 0.84], ["cuts", "motion impacts", onsets_label])
    bottom.set_ylim(0, 1)
    bottom.set_xlabel("video time (s)")
    bottom.set_xlim(0, duration)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return figure_png(fig)


def html_page(title: str, kind: str, figures: list[tuple[str, str, str]], body: str, *, video: Path | None) -> str:
    """A self-contained report page: ``title``, ``kind`` of report, a card per ``(name,
    value, note)`` of ``figures``, then ``body`` (HTML)."""
    cards = "\n".join(f'<div class="card"><div class="v">{v}</div><div class="k">{k}</div>'
                      f'<div class="n">{html.escape(n)}</div></div>' for k, v, n in figures)
    title = html.escape(title)
    video_line = f"<p>Video: <code>{html.escape(str(video))}</code></p>" if video else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>VideoThat report: {title}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.5em; margin-bottom: .2em; }} .sub {{ color: #666; margin-top: 0; }}
.cards {{ display: flex; gap: 1em; flex-wrap: wrap; margin: 1.2em 0; }}
.card {{ flex: 1 1 200px; border: 1px solid #ddd; border-radius: 8px; padding: .8em 1em; }}
.v {{ font-size: 1.9em; font-weight: 600; }} .k {{ font-weight: 600; }} .n {{ color: #666; font-size: .85em; }}
img {{ max-width: 100%; }} table {{ border-collapse: collapse; width: 100%; font-size: .9em; }}
th, td {{ text-align: right; padding: .3em .6em; border-bottom: 1px solid #eee; }}
th:nth-child(2), td:nth-child(2) {{ text-align: left; }} th {{ background: #f6f6f6; }} th[title] {{ cursor: help; }}
.sw {{ display: inline-block; width: .9em; height: .9em; border-radius: 2px; margin-right: .4em;
       vertical-align: -.1em; }}
.legend {{ margin: .6em 0; font-size: .9em; }} .legend .item {{ margin-right: 1.2em; white-space: nowrap; }}
.legend .what {{ color: #666; margin-right: .4em; }} .note {{ color: #555; font-size: .85em; }}
</style></head><body>
<h1>{title}</h1><p class="sub">{html.escape(kind)}</p>{video_line}
<div class="cards">{cards}</div>
{body}
</body></html>
"""
