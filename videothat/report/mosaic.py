"""A self-contained HTML report of a mosaic: the target's and the rebuilt sound's spectrograms
side by side, the lengths of the runs of consecutive frames, figures and the cut list.

Figures: log-spectral distance between the target and the rebuilt sound (dB RMS of the
difference of their 40-band log-mel spectra, each frame's mean level removed, as the unit
descriptors are loudness-normalised), onset F-measure of the rebuilt sound's onsets against
the target's (50 ms), runs and their lengths, videos used. Each video has one colour (a
legend names them) in the strip under the spectrograms and in the table; the table's times
are the target's, and its distance is the chosen units' (lower is closer), not a negated score.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from videothat.report.measures import onset_f_measure, onset_times
from videothat.report.page import Column, figure_png, html_page, legend_html, segment_table, source_colours

N_FFT, HOP = 2048, 512  # samples of the report's spectrogram frames at 44.1 kHz (46 ms / 11.6 ms)
DISTANCE_BANDS = 40  # mel bands of the log-spectral distance
DISTANCE_RATE = 22050  # Hz the distance is measured at (the units' own rate)
FLOOR_DB = 80.0  # dB under a spectrogram's peak where it is floored
PLOT_BANDS = 96  # mel bands of the plotted spectrograms
DB = 10 / np.log(10)  # natural log of power -> dB
MAX_ROWS = 400  # segments listed in the table
DISTANCE_NOTE = ("how far the sound the segment plays is from the target's there: the mean distance between their "
                 "units' loudness-normalised spectra (0 = the same sound; lower is closer; the timeline file stores "
                 "it negated, as its score)")


def log_mel(sound: np.ndarray, rate: int, n_mels: int) -> np.ndarray:
    """Log-mel power (dB) [shape=(n_mels, frames)] of a mono sound at ``rate`` Hz, floored
    FLOOR_DB under its peak (as librosa's ``power_to_db``)."""
    import torch
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate=rate, n_fft=N_FFT * rate // 44100,
                                               hop_length=HOP * rate // 44100, n_mels=n_mels, norm="slaney",
                                               mel_scale="slaney")
    db = (DB * torch.log(mel(torch.from_numpy(np.ascontiguousarray(sound, np.float32))) + 1e-10)).numpy()
    return np.maximum(db, db.max(initial=0.0) - FLOOR_DB)


def log_spectral_distance(target: np.ndarray, rebuilt: np.ndarray, rate: int) -> float:
    """dB RMS difference of the two sounds' 40-band log-mel spectra up to DISTANCE_RATE / 2
    (the band the units are described in), each frame's mean level removed."""
    import torch
    import torchaudio

    n = min(target.size, rebuilt.size)
    a, b = (log_mel(torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(x[:n], np.float32)), rate,
                                                   DISTANCE_RATE).numpy(), DISTANCE_RATE, DISTANCE_BANDS)
            for x in (target, rebuilt))
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _spectrogram_plot(target: np.ndarray, rebuilt: np.ndarray, rate: int, segments, colours: dict[str, str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spectra = [log_mel(x, rate, PLOT_BANDS) for x in (target, rebuilt)]
    top = max(float(s.max()) for s in spectra)
    fig, axes = plt.subplots(2, 2, figsize=(14, 4.8), sharex=True, height_ratios=[10, 1],
                             gridspec_kw={"hspace": 0.08})
    axes, strips = axes[0], axes[1]
    for ax, spectrum, name in zip(axes, spectra, ("target", "rebuilt from the videos' own sound"), strict=True):
        image = ax.imshow(spectrum, origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top,
                          extent=(0, spectrum.shape[1] * HOP / rate, 0, PLOT_BANDS))
        ax.set_title(name, fontsize=11, loc="left")
    for strip in strips:  # which video each stretch of the output comes from, under both (the same times)
        for cut in segments:
            strip.axvspan(cut.song_start, cut.song_end, color=colours[str(cut.source)], lw=0)
        strip.set_yticks([])
        strip.set_xlabel("target time (s)")
    for cut in segments[1 : 2001]:  # the joins, as ticks along the top of the rebuilt sound
        axes[1].axvline(cut.song_start, ymin=0.96, ymax=1.0, color="#7fd4ff", lw=0.6)
    axes[0].set_ylabel("mel band")
    strips[0].set_ylabel("video", rotation=0, ha="right", va="center")
    fig.colorbar(image, ax=[*axes, *strips], label="dB", fraction=0.025)
    return figure_png(fig)


def log_ticks(low: float, high: float) -> list[float]:
    """Ticks (s) for a log axis from ``low`` to ``high`` (> 0): the 1-2-5 steps inside it, or,
    when fewer than two fall inside (a narrow range), three values spread over it rounded to as
    few significant digits as keep two or more inside; for labels in plain numbers (0.05, 2, 3.7)."""
    steps = [m * 10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
             for m in (1, 2, 5)]
    inside = [float(f"{t:.3g}") for t in steps if low <= t <= high]
    for digits in range(2, 17):
        if len(inside) >= 2:
            break
        inside = sorted({v for t in np.geomspace(low, high, 5)[1:-1] if low <= (v := float(f"{t:.{digits}g}")) <= high})
    return inside


def _run_plot(run_seconds: np.ndarray) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, ax = plt.subplots(figsize=(7, 3.2))
    low, high = max(1e-3, float(run_seconds.min())) * 0.9, float(run_seconds.max()) * 1.1 + 1e-6
    ax.hist(run_seconds, bins=np.geomspace(low, high, 25), weights=run_seconds, color="#2a9d8f")
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = log_ticks(low, high)
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("run length (s): consecutive frames of one video")
    ax.set_ylabel("seconds of output")
    ax.spines[["top", "right"]].set_visible(False)
    return figure_png(fig)


def write_mosaic_report(plan, target: np.ndarray, rebuilt: np.ndarray, rate: int, path: Path, *,
                        video: Path | None = None) -> Path:
    """Write the report of a :class:`~videothat.pipeline.mosaic.MosaicPlan` to ``path``
    (atomically): ``target`` and ``rebuilt`` are mono sounds at ``rate`` Hz."""
    from videothat.core.atomic import atomic_write

    timeline = plan.timeline
    n = round(timeline.duration * rate)
    target, rebuilt = target[:n], rebuilt[:n]
    seconds = plan.run_seconds
    used = len({c.source for c in timeline.segments})
    figures = [
        ("spectral distance", f"{log_spectral_distance(target, rebuilt, rate):.2f} dB",
         "how far the rebuilt sound's spectrum is from the target's, loudness aside (the RMS "
         "difference of 40 bands up to 11 kHz): 0 dB = the same, lower is closer"),
        ("onset F-measure", f"{onset_f_measure(*(onset_times(x, rate, hop=HOP) for x in (target, rebuilt))):.2f}",
         "the rebuilt sound's onsets against the target's, 50 ms"),
        ("runs", f"{len(seconds)}", f"mean {seconds.mean():.2f} s, longest {seconds.max():.2f} s, "
                                    f"{len(seconds) / timeline.duration:.1f} per second"),
        ("videos used", f"{used}", f"over {timeline.duration:.1f} s of target"),
    ]
    colours = source_colours(timeline.segments)
    listed = timeline.segments[:MAX_ROWS]
    distance = Column("distance", [f"{max(0.0, -c.score):.3f}" for c in listed], DISTANCE_NOTE)
    table = segment_table(listed, colours, over="target", columns=[distance], more=len(timeline.segments) - len(listed))
    body = (f"{legend_html(colours, what='videos')}\n"
            f'<img alt="spectrograms of the target and the rebuilt sound" src="data:image/png;base64,'
            f'{_spectrogram_plot(target, rebuilt, rate, timeline.segments, colours)}">\n'
            f'<h2>Run lengths</h2>\n<img alt="run lengths" src="data:image/png;base64,{_run_plot(seconds)}">\n'
            f"<h2>Segments</h2>\n"
            f"{table}")
    page = html_page(Path(timeline.song).name, "VideoThat mosaic report", figures, body, video=video)
    atomic_write(path, lambda f: f.write(page.encode()))
    return path
