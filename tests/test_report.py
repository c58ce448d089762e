"""The HTML report: its figures against independent references, and the page itself."""

from __future__ import annotations

import base64
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
