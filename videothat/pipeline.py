"""The jobs, orchestrated in one place. Stages take and return plain values.

``analyze``: files -> (cached) shots and per-shot novelty curves. Files are decoded and
cut into shots on a thread pool while the main thread computes novelty for many files'
shots in one device batch and stores each file's entry as soon as its batch is done.
``match_files``: a song and videos -> a timeline placing the videos' shots on the song.
``make_video``: the same, rendered to a music video with its timeline beside it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videothat.catalog import Catalog, FileAnalysis
from videothat.config import AnalysisConfig, MatchConfig, resolve_device
from videothat.errors import MediaError, NoAudioError, VideoThatError
from videothat.media.discover import find_media
from videothat.media.shots import Shot, whole_file_shot

if TYPE_CHECKING:  # heavy imports wait until a file really needs decoding
    import torch

    from videothat.audio.novelty import SpectralNovelty
    from videothat.index.config import IndexConfig
    from videothat.match.assemble import MatchResult
    from videothat.match.timeline import Timeline
    from videothat.media.render import RenderConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """A file that could not be analysed and why (one line)."""

    path: Path
    message: str


@dataclass
class AnalysisReport:
    """Outcome of :func:`analyze`: analyses in input order, failures, cache hits."""

    analyses: list[FileAnalysis] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    cached: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage (decode/shots summed over threads)

    def add_time(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @property
    def n_shots(self) -> int:
        return sum(len(a.shots) for a in self.analyses)

    @property
    def total_duration(self) -> float:
        return sum(a.duration for a in self.analyses)


@dataclass
class _Decoded:
    """A file decoded and cut into shots, waiting for its novelty."""

    path: Path
    digest: str
    duration: float
    has_video: bool
    shots: list[Shot]
    waves: list[torch.Tensor]  # per shot, [shape=(n_i,)] float32
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per stage on this file

    @property
    def audio_seconds(self) -> float:
        return sum(s.duration for s in self.shots)


def analyze(
    paths: Iterable[str | Path],
    config: AnalysisConfig,
    *,
    catalog: Catalog,
    on_file: Callable[[Path, str], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    as_song: bool = False,
) -> AnalysisReport:
    """Analyse media files (shots + novelty), reusing and filling ``catalog``.

    Bad files are reported in ``report.failures`` and never stop the others.
    ``on_total(n)`` is called once with the number of files, ``on_file(path, status)``
    after each file with status ``cached``, ``analysed`` or ``failed``. With ``as_song``
    every file is analysed whole, as one shot (a song, even if it has pictures); the
    catalog must then be one made for songs (see :func:`song_catalog_params`).
    """
    files, problems = find_media(paths)
    report = AnalysisReport(failures=[Failure(e.path, str(e)) for e in problems])
    if on_total:
        on_total(len(files))
    notify = on_file or (lambda path, status: None)
    novelty = _LazyNovelty(config)
    pending: list[_Decoded] = []
    for path, result in _prepare_all(files, config, catalog, as_song):
        if isinstance(result, FileAnalysis):
            report.analyses.append(result)
            report.cached += 1
            notify(path, "cached")
        elif isinstance(result, _Decoded):
            pending.append(result)
            notify(path, "analysed")  # decoding and shots are the slow part; novelty is batched
            for stage, spent in result.seconds.items():
                report.add_time(stage, spent)
            if sum(p.audio_seconds for p in pending) >= config.batch_seconds:
                _finish(pending, novelty, catalog, report)
        else:
            report.failures.append(Failure(path, result))
            notify(path, "failed")
    _finish(pending, novelty, catalog, report)
    order = {p: i for i, p in enumerate(files)}
    report.analyses.sort(key=lambda a: order.get(a.source, len(order)))
    return report


def _prepare_all(
    files: list[Path], config: AnalysisConfig, catalog: Catalog, as_song: bool
) -> Iterator[tuple[Path, FileAnalysis | _Decoded | str]]:
    """Prepare files on a pool, yielding in order, at most ``2 * workers`` in flight."""
    with ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="decode") as pool:
        queue: deque[tuple[Path, Future]] = deque()
        todo = iter(files)
        for path in todo:
            queue.append((path, pool.submit(_prepare, path, config, catalog, as_song)))
            if len(queue) >= 2 * config.workers:
                break
        while queue:
            path, future = queue.popleft()
            nxt = next(todo, None)
            if nxt is not None:
                queue.append((nxt, pool.submit(_prepare, nxt, config, catalog, as_song)))
            yield path, future.result()


def _prepare(path: Path, config: AnalysisConfig, catalog: Catalog, as_song: bool) -> FileAnalysis | _Decoded | str:
    """Cache lookup, else probe, decode and cut one file. Errors come back as text."""
    try:
        digest = catalog.hash_of(path)
        cached = catalog.get(path, digest)
        if cached is not None:
            return cached
        problem = catalog.get_failure(digest)
        if problem is not None:
            return f"{path}: {problem} (cached verdict)"
        try:
            return _decode_and_cut(path, digest, config, as_song)
        except MediaError as exc:  # a verdict on the file's bytes: remember it
            catalog.put_failure(digest, exc.problem)
            raise
    except VideoThatError as exc:
        return str(exc)
    except OSError as exc:
        return f"{path}: cannot read ({exc.strerror or exc})"


def _decode_and_cut(path: Path, digest: str, config: AnalysisConfig, as_song: bool = False) -> _Decoded:
    from videothat.media.audio import decode_audio, peak_dbfs
    from videothat.media.probe import probe
    from videothat.media.shots import detect_shots

    t0 = time.perf_counter()
    info = probe(path)
    if info.audio is None:
        raise NoAudioError(path, "has no audio stream (VideoThat matches shots by their sound)")
    sr = config.novelty.sample_rate
    audio = decode_audio(path, sr)
    level = peak_dbfs(audio)
    if level < config.silence_db:
        raise NoAudioError(
            path, f"audio is silent (peak {level:.1f} dBFS, below silence_db={config.silence_db})"
        )
    duration = audio.size / sr
    t1 = time.perf_counter()
    if info.video is not None and not as_song:
        shots = detect_shots(path, config.shots)
    else:
        shots = whole_file_shot(path, duration)
    t2 = time.perf_counter()
    shots = _clip_to_audio(shots, duration, min_seconds=config.novelty.hop_length / sr)
    if not shots:
        raise MediaError(path, f"no shot overlaps the {duration:.2f} s of audio")
    import torch

    wave = torch.from_numpy(audio)
    waves = [wave[round(s.start * sr) : round(s.end * sr)] for s in shots]
    return _Decoded(path, digest, duration, info.video is not None, shots, waves,
                    {"decode": t1 - t0, "shots": t2 - t1})


def _clip_to_audio(shots: list[Shot], duration: float, *, min_seconds: float) -> list[Shot]:
    """End shots at the end of the audio; drop those with less than ``min_seconds`` of it."""
    clipped = [Shot(s.source, s.start, min(s.end, duration), s.fps) for s in shots]
    return [s for s in clipped if s.duration >= min_seconds]


class _LazyNovelty:
    """Builds the :class:`SpectralNovelty` module (and imports torch) on first use, so a
    run served entirely from the cache starts and ends fast."""

    def __init__(self, config: AnalysisConfig) -> None:
        self.config = config
        self._module: SpectralNovelty | None = None

    def get(self) -> SpectralNovelty:
        if self._module is None:
            from videothat.audio.novelty import SpectralNovelty

            self._module = SpectralNovelty(self.config.novelty, device=resolve_device(self.config.device),
                                           batch_frames=self.config.batch_frames)
        return self._module


def _finish(pending: list[_Decoded], lazy: _LazyNovelty, catalog: Catalog, report: AnalysisReport) -> None:
    """Novelty for all pending files' shots in one batch, then store each file."""
    if not pending:
        return
    t0 = time.perf_counter()
    novelty = lazy.get()
    waves = [w for p in pending for w in p.waves]
    batch = novelty(waves)
    curves, chroma = batch.unbatch(), batch.unbatch_chroma()
    report.add_time("novelty", time.perf_counter() - t0)
    start = 0
    for p in pending:
        span = slice(start, start + len(p.shots))
        mine = [c.numpy().astype(np.float32, copy=False) for c in curves[span]]
        pitch = None if chroma is None else [c.numpy().astype(np.float32, copy=False) for c in chroma[span]]
        start += len(p.shots)
        analysis = FileAnalysis(p.path, p.digest, p.duration, p.has_video, p.shots, mine,
                                novelty.config.frame_rate, pitch)
        catalog.put(analysis)
        report.analyses.append(analysis)
    pending.clear()


def song_catalog_params(config: AnalysisConfig) -> dict[str, object]:
    """Cache key parameters for songs (analysed whole, without shot detection)."""
    return {"novelty": config.novelty.as_dict(), "silence_db": config.silence_db, "whole_file": True}


def match_files(
    song: str | Path,
    videos: Iterable[str | Path],
    analysis: AnalysisConfig,
    matching: MatchConfig,
    *,
    cache_dir: Path,
    on_file: Callable[[Path, str], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_match: Callable[[float], None] | None = None,
    index: Path | None = None,
    index_config: IndexConfig | None = None,
) -> tuple[MatchResult, AnalysisReport]:
    """Analyse a song and videos (through the cache) and place the videos' shots on the song.

    Bad videos are reported in the returned report and skipped. With ``index`` (a
    ``shots`` index folder) the candidates are the shots its fingerprints shortlist for
    the song (``videos`` is then ignored), analysed with the index's parameters.

    Raises
    ------
    VideoThatError : the song cannot be used (missing, no audio, silent, corrupt).
    SearchError : no usable shots, or too little footage for the song.
    """
    from videothat.match.assemble import match
    from videothat.match.search import SearchError

    if index is not None:
        from videothat.archive import index_analysis, open_store, shortlist, shortlisted_analyses
        from videothat.index.config import IndexConfig

        store = open_store(index, mode="shots")
        analysis = index_analysis(store, analysis)
    with _catalog(cache_dir, song_catalog_params(analysis)) as songs:
        song_report = analyze([song], analysis, catalog=songs, as_song=True)
    if song_report.failures:  # the message names the file and the problem
        raise VideoThatError(f"song {song_report.failures[0].message}")
    if index is not None:
        t0 = time.perf_counter()
        chosen = shortlist(song_report.analyses[0], store, index_config or IndexConfig(),
                           device=str(resolve_device(analysis.device)))
        song_report.add_time("shortlist", time.perf_counter() - t0)
        videos = sorted(chosen)
    with _catalog(cache_dir, analysis.cache_params()) as shots:
        report = analyze(videos, analysis, catalog=shots, on_file=on_file, on_total=on_total)
    if index is not None:
        shortlisted_analyses(report, chosen)
    for stage, spent in song_report.seconds.items():
        report.add_time(stage, spent)
    if not any(a.has_video for a in report.analyses):
        reasons = "; ".join(f.message for f in report.failures[:3]) or "no file with pictures was given"
        raise SearchError(f"no usable videos: the matcher needs videos with pictures and sound "
                          f"({len(report.failures)} skipped: {reasons})")
    from videothat.audio.novelty import edge_frames

    t0 = time.perf_counter()
    result = match(song_report.analyses[0], report.analyses, matching, device=resolve_device(analysis.device),
                   progress=on_match, edge_frames=edge_frames(analysis.novelty))
    report.add_time("match", time.perf_counter() - t0)
    return result, report


def write_timeline(timeline: Timeline, stem: Path, *, rate: float = 25.0) -> tuple[Path, Path]:
    """Write ``STEM.timeline.json`` and ``STEM.otio`` (at ``rate`` frames/s), atomically."""
    return (timeline.save_json(stem.with_name(stem.name + ".timeline.json")),
            timeline.save_otio(stem.with_name(stem.name + ".otio"), rate=rate))


@contextmanager
def _catalog(root: Path, params: dict[str, object]) -> Iterator[Catalog]:
    catalog = Catalog(root, params)
    try:
        yield catalog
    finally:
        catalog.close()


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


def make_video(
    song: str | Path,
    videos: Iterable[str | Path],
    analysis: AnalysisConfig,
    matching: MatchConfig,
    rendering: RenderConfig,
    *,
    output: Path,
    cache_dir: Path,
    on_file: Callable[[Path, str], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_render: Callable[[int, int], None] | None = None,
    on_match: Callable[[float], None] | None = None,
    report: bool = False,
    index: Path | None = None,
    index_config: IndexConfig | None = None,
) -> MadeVideo:
    """The main job: analyse (cached), match, render ``output`` (mp4) with the song as sound,
    and write ``OUT.timeline.json`` and ``OUT.otio`` beside it (and ``OUT.report.html`` with
    ``report``). ``on_render(done, total)`` reports rendered frames, ``on_match(fraction)``
    the search. Every output appears only when complete."""
    from videothat.media.audio import decode_audio
    from videothat.media.render import AUDIO_RATE, output_frame_count, render

    result, analysis_report = match_files(song, videos, analysis, matching, cache_dir=cache_dir,
                                          on_file=on_file, on_total=on_total, on_match=on_match,
                                          index=index, index_config=index_config)
    t1 = time.perf_counter()
    total = output_frame_count(result.timeline.duration, rendering.fps)
    done = [0]

    def frames(k: int) -> None:
        done[0] += k
        if on_render:
            on_render(done[0], total)

    audio = decode_audio(song, AUDIO_RATE)
    render(result.timeline, output, rendering, song_audio=audio, song_rate=AUDIO_RATE, on_frames=frames)
    t2 = time.perf_counter()
    stem = output.with_suffix("")
    timeline, otio = write_timeline(result.timeline, stem, rate=rendering.fps)
    page = None
    if report:
        from videothat.report import write_report

        page = write_report(result, stem.with_name(stem.name + ".report.html"), video=output)
    stages = {**analysis_report.seconds, "render": t2 - t1, "write outputs": time.perf_counter() - t2}
    return MadeVideo(output, timeline, otio, result, analysis_report, page, stages)
