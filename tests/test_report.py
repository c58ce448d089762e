"""The HTML report: its figures against independent references, and the page itself."""

from __future__ import annotations

import base64
import json
import re

import mir_eval
import numpy as np
import pytest

from videothat.report import onset_f_measure


@pytest.mark.parametrize("seed", range(5))
def test_onset_f_measure_equals_mir_eval(seed):
    rng = np.random.default_rng(seed)
    reference = np.sort(rng.uniform(0, 30, 60))
    kept = reference[rng.random(60) < 0.7]
    estimate = np.sort(np.concatenate([kept + rng.normal(0, 0.04, kept.size), rng.uniform(0, 30, 15)]))
    want = mir_eval.onset.f_measure(reference, estimate, window=0.05)[0]
    assert onset_f_measure(reference, estimate) == pytest.approx(want)


def test_onset_f_measure_edges():
    assert onset_f_measure(np.array([]), np.array([1.0])) == 0.0
    assert onset_f_measure(np.array([1.0, 2.0]), np.array([1.01, 2.2])) == pytest.approx(0.5)


@pytest.mark.slow
def test_make_report_is_self_contained(tmp_path, capsys):
    from mediagen import FIXTURES
    from videothat.cli import main

    out = tmp_path / "mv.mp4"
    code = main(["make", "--song", str(FIXTURES / "rock_war_of_freedom_30s.ogg"), "--videos",
                 str(FIXTURES / "handheld_box_with_sound.mp4"), "-o", str(out), "--report", "--preview", "-q",
                 "--cache-dir", str(tmp_path / "c"), "match.reuse=true", "match.in_point_step=1.0",
                 "render.width=160", "render.height=90"])
    assert code == 0 and "report:" in capsys.readouterr().out
    page = (tmp_path / "mv.report.html").read_text()
    assert "http" not in page.split("<body>")[1]  # nothing fetched from anywhere
    (png,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    timeline = (tmp_path / "mv.timeline.json").read_text()
    assert page.count("<tr><td>") == timeline.count('"source":')
    for label in ("onset F-measure", "cuts on onsets", "shots used", "segments"):
        assert label in page
    _check_sources_and_speeds(page, json.loads(timeline)["segments"])
    assert "exp(" not in page and "d^2" not in page  # the cards speak in words
    assert "<b>score</b>: how well the segment" in page and "of best</th>" in page


def _check_sources_and_speeds(page: str, segments: list[dict]) -> None:
    """Every source of the timeline is in the page's legend with one colour, each table row
    shows its source in that colour, and the speeds as the timeline has them (unrounded)."""
    from videothat.report.page import speed_text

    legend = dict((name, colour) for colour, name in re.findall(
        r'<span class="sw" style="background:(#[0-9a-f]{6})"></span>([^<]+)</span>', page.split("<table>")[0]))
    names = [s["source"].rsplit("/", 1)[-1] for s in segments]
    assert set(legend) == set(names) and len(set(legend.values())) == len(legend)
    rows = re.findall(r'<tr><td>\d+</td><td><span class="sw" style="background:(#[0-9a-f]{6})"></span>([^<]+)</td>'
                      r"(?:<td>[^<]*</td>){5}<td>([^<]*)</td>", page)
    assert [(legend[n], n, speed_text(s["speed"])) for n, s in zip(names, segments, strict=True)] == rows


def test_speeds_are_shown_as_they_are():
    from videothat.report.page import speed_text

    assert speed_text(1.0) == "×1" and speed_text(1.005) == "×1.005" and speed_text(0.9950248756218907) == "×0.995"
    assert speed_text(1.2) == "×1.2" and speed_text(1.00001) == "×1.00001" and speed_text(0.99999) == "×0.99999"
    assert all(speed_text(s) != "×1" for s in (1 + 1e-9, 1 - 1e-12))


def _cuts():
    from pathlib import Path

    from videothat.core.timeline import Cut

    return [Cut(Path("/a/x.mp4"), 0.0, 2.01, 0.0, 2.0, 3.2, 1.005), Cut(Path("/b/y.mp4"), 1.0, 2.0, 2.0, 3.0, 1.9),
            Cut(Path("/a/x.mp4"), 5.0, 5.995, 3.0, 4.0, 2.5, 0.995)]


@pytest.mark.parametrize("over", ["song", "target", "video"])
def test_a_segment_table_names_its_own_times_colours_each_source_and_explains_its_columns(over):
    from videothat.report.page import Column, legend_html, segment_table, source_colours

    cuts = _cuts()
    colours = source_colours(cuts)
    assert list(colours) == ["/a/x.mp4", "/b/y.mp4"] and len(set(colours.values())) == 2
    legend = legend_html(colours)
    assert all(f'background:{c}"></span>{name}' in legend for c, name in zip(colours.values(), ["x.mp4", "y.mp4"]))
    table = segment_table(cuts, colours, over=over, columns=[Column("fit", ["1", "2", "3"], "what fit means")])
    assert f">{over} start</th>" in table and f">{over} end</th>" in table
    assert (">song start</th>" in table) == (over == "song")
    x, y = (f"background:{colours[s]}" for s in ("/a/x.mp4", "/b/y.mp4"))
    assert table.count(x) == 2 and table.count(y) == 1
    assert "<td>×1.005</td>" in table and "<td>×0.995</td>" in table and "1.00</td><td>1." not in table
    assert '<th title="what fit means">fit</th>' in table and "<b>fit</b>: what fit means" in table


def test_match_scores_are_explained_and_given_against_the_best():
    from videothat.report import score_columns

    score, of_best = score_columns(_cuts())
    assert score.values == ["3.200", "1.900", "2.500"] and of_best.values == ["100 %", "59 %", "78 %"]
    assert "Higher is better" in score.note


def test_log_ticks_are_plain_numbers_inside_the_range():
    from videothat.report.mosaic import log_ticks

    assert log_ticks(0.02, 3.0) == [0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
    for low, high in [(3.33, 4.07), (3.71, 3.79), (0.118, 0.122)]:  # no 1-2-5 step inside: spread over it
        ticks = log_ticks(low, high)
        assert len(ticks) >= 2 and all(low <= t <= high for t in ticks) and ticks == sorted(ticks)
        assert all(len(f"{t:g}") <= 6 for t in ticks)  # plain, short labels (3.5, 3.75, 0.12)


def test_beat_alignment_equals_a_brute_force_loop():
    import math

    from videothat.report import beat_alignment

    rng = np.random.default_rng(3)
    beats, events = np.sort(rng.uniform(0, 10, 17)), rng.uniform(0, 10, 9)
    expected = np.mean([math.exp(-min(abs(b - e) for e in events) ** 2 / (2 * 0.05 ** 2)) for b in beats])
    assert beat_alignment(beats, events) == pytest.approx(expected, rel=1e-12)
    assert beat_alignment(beats, beats) == 1.0
    grid = np.arange(0.5, 10, 0.5)
    assert beat_alignment(grid, grid + 0.05) == pytest.approx(math.exp(-0.5))
    assert beat_alignment(beats, []) == 0.0 and beat_alignment([], events) == 0.0
    assert beat_alignment([1.0, 2.0], [1.5]) == pytest.approx(math.exp(-0.25 / 0.005))
