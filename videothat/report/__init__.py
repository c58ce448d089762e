"""A self-contained HTML report of a match: plots (embedded PNG), figures and the cut list.

What it shows: the song's novelty with the chosen segments drawn over it and each
segment's own novelty overlaid; cut points against the song's onsets and beats; summary figures
(onset F-measure between the song and the assembled shots' sound, the fraction of cuts
within 50 ms of a song onset, the visual beat alignment of the placed shots' motion with
the song's beats both ways, shots used of those available); and the segment table. Each
source video has one colour (a legend names them) in the plot and the table; the table says
what its score is and gives it as a percentage of the best, and speeds as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videothat.audio.onsets import onset_frames
from videothat.match.assemble import MatchResult
from videothat.report.measures import SIGMA_S, WINDOW_S, beat_alignment, onset_f_measure
from videothat.report.page import (Column, figure_png, html_page, legend_html, of_best, segment_table, shade_sources,
                                   source_colours)

__all__ = ["Summary", "beat_alignment", "onset_f_measure", "summarize", "visual_impacts", "write_report"]


@dataclass(frozen=True)
class Summary:
    """Figures of a match."""

    onset_f: float  # song onsets vs onsets of the assembled shots' sound (50 ms)
    cuts_on_onsets: float  # fraction of inner cuts within 50 ms of a song onset
    shots_used: int
    shots_available: int
    segments: int
    visual_on_beats: float | None = None  # beat_alignment(song beats, placed visual impacts); None: no pictures
    beats_on_visual: float | None = None  # beat_alignment(placed visual impacts, song beats)
    visual_impacts: int = 0  # visual impacts of the placed shots


def assembled_curve(result: MatchResult, *, which: str = "sound") -> np.ndarray:
    """A curve of the shots as placed: each segment's curve from its in-point, played at the
    segment's speed. ``which``: ``sound`` (audio novelty), ``visual`` (visual impacts) or
    ``scored`` (what the matcher scored). [T]"""
    curves = {"sound": result.sound_curves, "visual": result.visual, "scored": result.curves}[which]
    out = np.zeros_like(result.song_curve)
    if curves is None:
        return out
    for p in result.placements:
        piece = retimed_piece(curves[p.shot], p.in_frame, p.length, p.speed)
        end = min(p.start + piece.size, out.size)
        out[p.start : end] = piece[: end - p.start]
    return out


def retimed_piece(curve: np.ndarray, in_frame: int, length: int, speed: float = 1.0) -> np.ndarray:
    """``length`` frames of ``curve`` [F] from ``in_frame`` played at ``speed``: song frame
    k reads curve frame ``in_frame + speed * k``, linearly interpolated (exact samples at
    speed 1). Frames past the curve's end are left out (the piece is shorter)."""
    if speed == 1.0:
        return curve[in_frame : in_frame + length]
    positions = in_frame + speed * np.arange(length)
    positions = positions[positions <= curve.size - 1]
    return np.interp(positions, np.arange(curve.size), curve).astype(curve.dtype)


def summarize(result: MatchResult) -> Summary:
    fr = result.frame_rate
    song_onsets = result.onsets / fr
    shot_onsets = onset_frames(assembled_curve(result, which="sound"), frame_rate=fr) / fr
    cuts = np.array([c.song_start for c in result.timeline.segments[1:]])
    near = (np.abs(cuts[:, None] - song_onsets[None, :]).min(axis=1) <= WINDOW_S) if cuts.size and song_onsets.size \
        else np.zeros(0, dtype=bool)
    impacts = visual_impacts(result)
    beats = result.beats / fr
    return Summary(
        onset_f=onset_f_measure(song_onsets, shot_onsets),
        cuts_on_onsets=float(near.mean()) if near.size else 1.0,
        shots_used=len({p.shot for p in result.placements}),
        shots_available=len(result.shots),
        segments=len(result.timeline.segments),
        visual_on_beats=None if impacts is None else beat_alignment(beats, impacts),
        beats_on_visual=None if impacts is None else beat_alignment(impacts, beats),
        visual_impacts=0 if impacts is None else impacts.size,
    )


def visual_impacts(result: MatchResult) -> np.ndarray | None:
    """Times (s, song time) of the visual impacts of the placed shots: peaks of their impact
    curves as placed (cuts themselves not counted: ``cuts_on_onsets`` measures those), picked
    as onsets are; None when the pictures were not analysed."""
    if result.visual is None:
        return None
    return onset_frames(assembled_curve(result, which="visual"), frame_rate=result.frame_rate) / result.frame_rate


def _timeline_plot(result: MatchResult, colours: dict[str, str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fr = result.frame_rate
    t = np.arange(result.song_curve.size) / fr
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 6.6), sharex=True, height_ratios=[3, 1.6])
    shade_sources(top, result.timeline.segments, colours)
    top.plot(t, result.song_curve, color="#222", lw=0.8, label="song novelty")
    shot = assembled_curve(result, which="sound")
    top.plot(t, shot, color="#d1495b", lw=0.9, alpha=0.85, label="each segment's own sound (novelty)")
    for cut in result.timeline.segments[1:]:
        top.axvline(cut.song_start, color="#1f5fbf", lw=1.0, alpha=0.8)
    top.set_ylabel("onset strength")
    top.legend(loc="upper right", fontsize=9, frameon=False)
    top.set_title("Segments over the song (background: source video, as in the legend; blue lines: cuts)",
                  fontsize=11, loc="left")
    for beat in result.beats / fr:
        bottom.axvline(beat, ymin=0.51, ymax=0.74, color="#e09f3e", lw=1.0)
    for cut in result.timeline.segments[1:]:
        bottom.axvline(cut.song_start, ymin=0.0, ymax=0.23, color="#1f5fbf", lw=1.4)
    impacts = visual_impacts(result)
    for impact in [] if impacts is None else impacts:
        bottom.axvline(impact, ymin=0.26, ymax=0.48, color="#2a9d8f", lw=1.0)
    for onset in result.onsets / fr:
        bottom.axvline(onset, ymin=0.77, ymax=1.0, color="#555", lw=0.6)
    bottom.set_yticks([0.12, 0.37, 0.62, 0.88], ["cuts", "visual impacts", "beats", "song onsets"])
    bottom.set_ylim(0, 1)
    bottom.set_xlabel("song time (s)")
    bottom.set_xlim(0, result.timeline.duration)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return figure_png(fig)


SCORE_NOTE = ("how well the segment's onsets (its sound, and its motion where the pictures count) line up with "
              "the song's there: their correlation summed over the segment's frames, divided by a power of its "
              "length (match.power), plus how alike their chords are (match.harmony). Higher is better, 0 is "
              "no relation; it grows with the segment's length and has no fixed top, so compare the segments "
              "of one report")


def score_columns(segments) -> list[Column]:
    """The match score of each segment, and that score as a percentage of the report's best."""
    return [Column("score", [f"{c.score:.3f}" for c in segments], SCORE_NOTE),
            Column("of best", of_best([c.score for c in segments]),
                   "the score as a percentage of the highest score in this report")]


def write_report(result: MatchResult, path: Path, *, video: Path | None = None) -> Path:
    """Write the HTML report to ``path`` (atomically) and return it."""
    from videothat.core.atomic import atomic_write

    summary = summarize(result)
    bpm = 60 * result.frame_rate / float(np.median(np.diff(result.beats))) if result.beats.size > 1 else 0.0
    figures = [
        ("onset F-measure", f"{summary.onset_f:.2f}", "song onsets vs the placed shots' onsets, 50 ms"),
        ("cuts on onsets", f"{100 * summary.cuts_on_onsets:.0f} %", "cuts within 50 ms of a song onset"),
        *([] if summary.visual_on_beats is None else [
            ("visual beats", f"{summary.visual_on_beats:.2f} / {summary.beats_on_visual:.2f}",
             f"how closely the song's beats fall on the placed shots' {summary.visual_impacts} motion impacts "
             f"/ the impacts on the beats: 1 = right on, 0.6 = {1000 * SIGMA_S:.0f} ms off, "
             f"near 0 = {3000 * SIGMA_S:.0f} ms or more")]),
        ("shots used", f"{summary.shots_used} / {summary.shots_available}", "of the usable shots"),
        ("segments", f"{summary.segments}", f"over {result.timeline.duration:.1f} s of song at {bpm:.0f} BPM"),
    ]
    segments = result.timeline.segments
    colours = source_colours(segments)
    body = (f"{legend_html(colours, what='source videos')}\n"
            f'<img alt="segments over the song\'s novelty" src="data:image/png;base64,'
            f'{_timeline_plot(result, colours)}">\n'
            f"<h2>Segments</h2>\n{segment_table(segments, colours, over='song', columns=score_columns(segments))}")
    page = html_page(Path(result.timeline.song).name, "VideoThat match report", figures, body, video=video)
    atomic_write(path, lambda f: f.write(page.encode()))
    return path
