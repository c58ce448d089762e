"""The main jobs: a song and videos -> a timeline (``match_files``), rendered to a music
video with its timeline beside it (``make_video``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.analysis import AnalysisConfig, AnalysisReport
from videothat.core.outputs import check_outputs
from videothat.core.progress import Fraction, timed
from videothat.pipeline.run import Configs, Run, analyze_files, analyze_whole, input_files

if TYPE_CHECKING:
    from videothat.core.timeline import Timeline
    from videothat.match.assemble import MatchResult


def match_files(song: str | Path, videos: Iterable[str | Path], configs: Configs, run: Run, *,
                index: Path | None = None) -> tuple[MatchResult, AnalysisReport]:
    """Analyse a song and videos (through the cache) and place the videos' shots on the song.

    Bad videos are reported in the returned report and skipped. With ``index`` (a
    ``shots`` index folder) the candidates are the shots its fingerprints shortlist for
    the song (``videos`` is then ignored), analysed with the index's parameters.

    Raises
    ------
    VideoThatError : the song cannot be used (missing, no audio, silent, corrupt).
    SearchError : no usable shots, or too little footage for the song.
    """
    if index is None:
        analysis = configs.analysis
        song_report = analyze_whole(song, analysis, run, role="song")
        report = analyze_files(videos, analysis, run)
    else:
        analysis, song_report, report = _from_index(index, song, configs, run)
    for stage, spent in song_report.seconds.items():
        report.add_time(stage, spent)
    return _match(song_report.analyses[0], report, configs, run, analysis), report


def _from_index(index: Path, song: str | Path, configs: Configs, run: Run
                ) -> tuple[AnalysisConfig, AnalysisReport, AnalysisReport]:
    """(the index's analysis parameters, the song's analysis, the shortlisted shots' analyses)."""
    from videothat.index.shortlist import keep_shortlisted, shortlist
    from videothat.pipeline.archive import index_analysis, open_store

    store = open_store(index, mode="shots")
    analysis = index_analysis(store, configs.analysis)
    song_report = analyze_whole(song, analysis, run, role="song")
    with timed("shortlist", song_report.seconds):
        chosen = shortlist(song_report.analyses[0], store, configs.index, device=str(run.device))
    report = analyze_files(sorted(chosen), analysis, run)
    report.analyses = keep_shortlisted(report.analyses, chosen)
    return analysis, song_report, report


def _match(song, report: AnalysisReport, configs: Configs, run: Run, analysis: AnalysisConfig) -> MatchResult:
    from videothat.audio.novelty import edge_frames
    from videothat.match.assemble import match
    from videothat.match.search import SearchError

    if not any(a.has_video for a in report.analyses):
        reasons = "; ".join(f.message for f in report.failures[:3]) or "no file with pictures was given"
        raise SearchError(f"no usable videos: the matcher needs videos with pictures and sound "
                          f"({len(report.failures)} skipped: {reasons})")
    with timed("match", report.seconds):
        try:
            return match(song, _good_looking(report.analyses, configs), configs.match, device=run.device,
                         progress=Fraction(run.progress, "match"), edge_frames=edge_frames(analysis.novelty))
        finally:
            run.progress.finish("match")


def _good_looking(analyses, configs: Configs):
    """The analyses less the shots the looks filters leave out (``match.min_brightness``, ...)."""
    from videothat.vision.looks import keep_masks, keep_shots

    knobs = configs.match.search
    masks = keep_masks(analyses, min_brightness=knobs.min_brightness, min_sharpness=knobs.min_sharpness,
                       min_motion=knobs.min_motion, duplicates=knobs.duplicates)
    return [keep_shots(a, m) for a, m in zip(analyses, masks, strict=True) if m.any()]


def _overlay(result: MatchResult, configs: Configs, run: Run):
    """The render overlay ``render.outline`` asks for (people outlined), or None."""
    if configs.render.outline != "people":
        return None
    from videothat.vision.outline import people_overlay

    return people_overlay(sorted({c.source for c in result.timeline.segments}), configs.person, run.device)


def timeline_paths(stem: Path) -> tuple[Path, Path]:
    """``STEM.timeline.json`` and ``STEM.otio``: where :func:`write_timeline` writes."""
    return stem.with_name(stem.name + ".timeline.json"), stem.with_name(stem.name + ".otio")


def write_timeline(timeline: Timeline, stem: Path, *, rate: float = 25.0) -> tuple[Path, Path]:
    """Write ``STEM.timeline.json`` and ``STEM.otio`` (at ``rate`` frames/s), atomically."""
    json_path, otio_path = timeline_paths(stem)
    return timeline.save_json(json_path), timeline.save_otio(otio_path, rate=rate)


def video_outputs(output: Path, *, report: bool = False) -> list[Path]:
    """What :func:`make_video` writes for ``output`` (``OUT.mp4``): the video, its timeline
    (JSON, OTIO) and with ``report`` the HTML page."""
    stem = output.with_suffix("")
    return [output, *timeline_paths(stem), *([stem.with_name(stem.name + ".report.html")] if report else [])]


@dataclass(frozen=True)
class MadeVideo:
    """What :func:`make_video` wrote, and the match it came from."""

    video: Path
    timeline: Path
    otio: Path
    result: MatchResult
    report: AnalysisReport
    html: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage


def make_video(song: str | Path, videos: Iterable[str | Path], configs: Configs, run: Run, *,
               output: Path, report: bool = False, index: Path | None = None) -> MadeVideo:
    """The main job: analyse (cached), match, render ``output`` (mp4) with the song as sound,
    and write ``OUT.timeline.json`` and ``OUT.otio`` beside it (and ``OUT.report.html`` with
    ``report``). ``run.progress`` hears stages ``analyze``, ``match`` and ``render`` (frames).
    Every output appears only when complete; outputs that cannot be written, or that would
    overwrite an input, are refused before any work (:func:`~videothat.core.outputs.check_outputs`)."""
    from videothat.media.audio import decode_audio
    from videothat.media.render import AUDIO_RATE, output_frame_count, render

    videos = list(videos)
    from videothat.pipeline.archive import guarded_inputs

    wanted = video_outputs(output, report=report)
    outputs = check_outputs(wanted, inputs=guarded_inputs(wanted, input_files([song, *videos]), index))
    result, analysis_report = match_files(song, videos, configs, run, index=index)
    stages = dict(analysis_report.seconds)
    rendering = configs.render
    with timed("render", stages):
        run.progress.start("render", output_frame_count(result.timeline.duration, rendering.fps), "frame")
        try:
            audio = decode_audio(song, AUDIO_RATE)
            render(result.timeline, output, rendering, song_audio=audio, song_rate=AUDIO_RATE,
                   on_frames=lambda k: run.progress.advance("render", k), overlay=_overlay(result, configs, run))
        finally:
            run.progress.finish("render")
    with timed("write outputs", stages):
        timeline, otio = write_timeline(result.timeline, output.with_suffix(""), rate=rendering.fps)
        page = None
        if report:
            from videothat.report import write_report

            page = write_report(result, outputs[-1], video=output)  # OUT.report.html
    return MadeVideo(output, timeline, otio, result, analysis_report, page, stages)
