"""The analysis stage: files -> (cached) shots, per-shot novelty curves and chroma, and
(with ``motion``) per-shot visual impact curves.

Files are decoded and cut into shots on a thread pool while the main thread computes
novelty for many files' shots in one device batch and stores each file's entry in the
:class:`~videothat.catalog.Catalog` as soon as its batch is done. Songs are analysed with
the ``whole`` shot detector (:meth:`AnalysisConfig.for_songs`): one shot per file.

A video whose sound is missing or silent is analysed by its pictures (all-zero novelty,
``FileAnalysis.audio_problem`` says why); it is kept only when ``motion`` is set (pictures
are analysed), else reported as a failure. With ``motion``, each video's impact curve is
computed over the whole file once, cached beside its audio analysis (same content hash,
the motion parameters as key), and read per shot on the novelty frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from videothat.audio.config import NoveltyConfig
from videothat.catalog import Catalog
from videothat.core.configs import Bounds, check_fields
from videothat.core.device import check_device_name, resolve_device
from videothat.core.errors import MediaError, NoAudioError, ParameterError, VideoThatError
from videothat.core.progress import NoProgress, Progress, timed
from videothat.core.records import FileAnalysis, Shot
from videothat.media.discover import find_media
from videothat.media.shots import ShotConfig
from videothat.vision.config import MotionConfig

if TYPE_CHECKING:  # heavy imports wait until a file really needs decoding
    import torch

    from videothat.audio.novelty import SpectralNovelty
    from videothat.media.probe import MediaInfo


@dataclass(frozen=True, kw_only=True)
class AnalysisConfig:
    """How files are analysed: audio novelty, shot detection, batching and device."""

    novelty: NoveltyConfig = field(default_factory=NoveltyConfig)
    shots: ShotConfig = field(default_factory=ShotConfig)
    silence_db: float = -60.0  # dBFS; a file whose audio peak is below this is rejected as silent
    batch_seconds: float = 600.0  # s of shot audio per novelty batch (bounds device memory)
    batch_frames: int | None = None  # STFT frames per block; None = per-device default
    workers: int = 2  # files decoded and cut into shots concurrently
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    motion: MotionConfig | None = None  # visual impact curves of videos (and silent footage kept); None = sound only

    BOUNDS: ClassVar[Bounds] = {"silence_db": (-200.0, 0.0), "batch_seconds": (0.01, 7200.0),
                                "batch_frames": (1, 1 << 20), "workers": (1, 64)}
    MAX_BLOCK = 1 << 27  # STFT samples of one novelty block (batch_frames x n_fft; x 12 bytes of memory)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.batch_frames is not None and self.batch_frames * self.novelty.n_fft > self.MAX_BLOCK:
            raise ParameterError(f"batch_frames={self.batch_frames} x audio.n_fft={self.novelty.n_fft} samples must "
                                 f"stay under {self.MAX_BLOCK} (12 bytes each): lower batch_frames")
        check_device_name(self.device)

    def for_songs(self) -> AnalysisConfig:
        """The same analysis with each file whole, as one shot (a song, even with pictures)."""
        return replace(self, shots=ShotConfig(detector="whole"), motion=None)

    def cache_params(self) -> dict[str, object]:
        """The parameters that change analysis results (the cache key)."""
        return {
            "novelty": self.novelty.as_dict(),
            "shots": self.shots.as_dict(),
            "silence_db": self.silence_db,
        }


@dataclass(frozen=True)
class Failure:
    """A file that could not be analysed and why (one line); ``audio_problem`` is set when its
    only problem is its sound (a video that its pictures alone could place)."""

    path: Path
    message: str
    audio_problem: str | None = None


@dataclass
class AnalysisReport:
    """Outcome of :func:`analyze`: analyses in input order, failures, cache hits."""

    analyses: list[FileAnalysis] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    cached: int = 0
    pictures_only: list[Path] = field(default_factory=list)  # videos used by their pictures alone (no usable sound)
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
    waves: list[torch.Tensor] | None  # per shot, [shape=(n_i,)] float32; None: no usable sound
    seconds: dict[str, float] = field(default_factory=dict)  # time spent per stage on this file
    audio_problem: str | None = None  # why the sound is unusable (then ``waves`` is None)

    @property
    def audio_seconds(self) -> float:
        return sum(s.duration for s in self.shots)


def analyze(
    paths: Iterable[str | Path],
    config: AnalysisConfig,
    *,
    catalog: Catalog,
    progress: Progress | None = None,
    device: torch.device | Callable[[], torch.device] | None = None,
) -> AnalysisReport:
    """Analyse media files (shots + novelty), reusing and filling ``catalog``.

    Bad files are reported in ``report.failures`` and never stop the others. ``progress``
    hears stage ``analyze`` advance per file with status ``cached``, ``analysed`` or
    ``failed``. ``device`` runs the novelty: a device, or a function returning one (a job's
    device resolved once, :attr:`~videothat.pipeline.run.Run.device`), called only if a file
    needs analysing, so a run served from the cache never imports torch; None resolves
    ``config.device`` then.
    """
    files, problems = find_media(paths)
    report = AnalysisReport(failures=[Failure(e.path, str(e)) for e in problems])
    progress = progress or NoProgress()
    progress.start("analyze", len(files), "file")
    novelty = _LazyNovelty(config, device)
    pending: list[_Decoded] = []
    from_cache: set[Path] = set()
    try:
        for path, result in _prepare_all(files, config, catalog):
            if isinstance(result, FileAnalysis):
                report.analyses.append(result)
                from_cache.add(result.source)
                progress.advance("analyze", status="cached")
            elif isinstance(result, _Decoded):
                pending.append(result)
                progress.advance("analyze", status="analysed")  # decoding and shots are the slow part
                for stage, spent in result.seconds.items():
                    report.add_time(stage, spent)
                if sum(p.audio_seconds for p in pending) >= config.batch_seconds:
                    _finish(pending, novelty, catalog, report)
            else:
                report.failures.append(Failure(path, result))
                progress.advance("analyze", status="failed")
        _finish(pending, novelty, catalog, report)
    finally:
        progress.finish("analyze")
    _keep_silent_footage(report, config)
    report.cached = sum(a.source in from_cache for a in report.analyses)
    if config.motion is not None:
        from videothat.vision.pictures import attach_impacts

        report.analyses, failed = attach_impacts(report.analyses, config.motion, catalog=catalog, progress=progress,
                                                 device=novelty.device, seconds=report.seconds)
        report.failures += [Failure(path, message) for path, message in failed]
        report.pictures_only = [a.source for a in report.analyses if not a.has_audio]
    order = {p: i for i, p in enumerate(files)}
    report.analyses.sort(key=lambda a: order.get(a.source, len(order)))
    return report


def _keep_silent_footage(report: AnalysisReport, config: AnalysisConfig) -> None:
    """Videos without usable sound: kept (by their pictures) when pictures are analysed,
    else failures saying how to use them."""
    kept = []
    for a in report.analyses:
        if a.has_audio:
            kept.append(a)
        elif config.motion is not None:
            kept.append(a)
        else:
            report.failures.append(Failure(a.source, f"{a.source}: {a.audio_problem} (VideoThat matches shots by "
                                                     "their sound; match.visual_weight > 0 uses it by its pictures)",
                                           audio_problem=a.audio_problem))
    report.analyses = kept


def _prepare_all(
    files: list[Path], config: AnalysisConfig, catalog: Catalog
) -> Iterator[tuple[Path, FileAnalysis | _Decoded | str]]:
    """Prepare files on a pool, yielding in order, at most ``2 * workers`` in flight."""
    with ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="decode") as pool:
        queue: deque[tuple[Path, Future]] = deque()
        todo = iter(files)
        for path in todo:
            queue.append((path, pool.submit(_prepare, path, config, catalog)))
            if len(queue) >= 2 * config.workers:
                break
        while queue:
            path, future = queue.popleft()
            nxt = next(todo, None)
            if nxt is not None:
                queue.append((nxt, pool.submit(_prepare, nxt, config, catalog)))
            yield path, future.result()


def _prepare(path: Path, config: AnalysisConfig, catalog: Catalog) -> FileAnalysis | _Decoded | str:
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
            return _decode_and_cut(path, digest, config)
        except MediaError as exc:  # a verdict on the file's bytes: remember it
            catalog.put_failure(digest, exc.problem)
            raise
    except VideoThatError as exc:
        return str(exc)
    except OSError as exc:
        return f"{path}: cannot read ({exc.strerror or exc})"


def _decode_and_cut(path: Path, digest: str, config: AnalysisConfig) -> _Decoded:
    from videothat.media.shots import detect_shots

    seconds: dict[str, float] = {}
    with timed("decode", seconds):
        info, audio, problem = _decode(path, config)
    sr = config.novelty.sample_rate
    duration = audio.size / sr if audio is not None else _video_duration(info)
    shots_config = config.shots if info.video is not None else ShotConfig(detector="whole")
    with timed("shots", seconds):
        shots = detect_shots(path, shots_config, duration=duration)
    shots = _clip_to_audio(shots, duration, min_seconds=config.novelty.hop_length / sr)
    if not shots:
        raise MediaError(path, f"no shot overlaps the {duration:.2f} s of audio")
    waves = None
    if audio is not None:
        import torch

        wave = torch.from_numpy(audio)
        waves = [wave[round(s.start * sr) : round(s.end * sr)] for s in shots]
    return _Decoded(path, digest, duration, info.video is not None, shots, waves, seconds, problem)


def _decode(path: Path, config: AnalysisConfig) -> tuple[MediaInfo, np.ndarray | None, str | None]:
    """(probe info, mono float32 audio at the novelty rate, None) of a file with usable
    sound; (info, None, why) of a video without.

    Raises
    ------
    NoAudioError : a file without pictures has no usable sound.
    """
    from videothat.media.audio import decode_audio, peak_dbfs
    from videothat.media.probe import probe

    info = probe(path)
    if info.audio is None:
        return _no_sound(path, info, "has no audio stream")
    audio = decode_audio(path, config.novelty.sample_rate)
    level = peak_dbfs(audio)
    if level < config.silence_db:
        return _no_sound(path, info, f"audio is silent (peak {level:.1f} dBFS, below silence_db={config.silence_db})")
    return info, audio, None


def _no_sound(path: Path, info: MediaInfo, problem: str) -> tuple[MediaInfo, None, str]:
    if info.video is None:
        raise NoAudioError(path, f"{problem} (and no pictures to use instead)")
    return info, None, problem


def _video_duration(info: MediaInfo) -> float:
    video = info.video
    duration = (video.duration if video is not None and video.duration else None) or info.duration
    if not duration or duration <= 0:
        raise MediaError(info.path, "the video stream has no duration")
    return float(duration)


def _clip_to_audio(shots: list[Shot], duration: float, *, min_seconds: float) -> list[Shot]:
    """End shots at the end of the audio; drop those with less than ``min_seconds`` of it."""
    clipped = [Shot(s.source, s.start, min(s.end, duration), s.fps) for s in shots]
    return [s for s in clipped if s.duration >= min_seconds]


class _LazyNovelty:
    """Builds the :class:`SpectralNovelty` module (and imports torch) on first use, so a
    run served entirely from the cache starts and ends fast."""

    def __init__(self, config: AnalysisConfig, device: torch.device | Callable[[], torch.device] | None) -> None:
        self.config, self._device = config, device
        self._module: SpectralNovelty | None = None

    def device(self) -> torch.device:
        """The device analyses run on (resolved on the first call)."""
        if callable(self._device):
            self._device = self._device()
        elif self._device is None:
            self._device = resolve_device(self.config.device)
        return self._device

    def get(self) -> SpectralNovelty:
        if self._module is None:
            from videothat.audio.novelty import SpectralNovelty

            self._module = SpectralNovelty(self.config.novelty, device=self.device(),
                                           batch_frames=self.config.batch_frames)
        return self._module


def _finish(pending: list[_Decoded], lazy: _LazyNovelty, catalog: Catalog, report: AnalysisReport) -> None:
    """Novelty for all pending files' shots in one batch, then store each file."""
    if not pending:
        return
    sounding = [p for p in pending if p.waves is not None]
    curves: list = []
    chroma: list | None = None
    config = lazy.config.novelty
    if sounding:
        with timed("novelty", report.seconds):
            batch = lazy.get()([w for p in sounding for w in p.waves])
            curves, chroma = batch.unbatch(), batch.unbatch_chroma()
    start = 0
    for p in pending:
        if p.waves is None:  # pictures only: flat novelty on the frames the sound would have had
            sizes = [config.n_frames(round(s.duration * config.sample_rate)) for s in p.shots]
            mine = [np.zeros(n, np.float32) for n in sizes]
            pitch = [np.zeros((n, 12), np.float32) for n in sizes] if config.chroma else None
        else:
            span = slice(start, start + len(p.shots))
            mine = [c.numpy().astype(np.float32, copy=False) for c in curves[span]]
            pitch = None if chroma is None else [c.numpy().astype(np.float32, copy=False) for c in chroma[span]]
            start += len(p.shots)
        analysis = FileAnalysis(p.path, p.digest, p.duration, p.has_video, p.shots, mine, config.frame_rate,
                                pitch, audio_problem=p.audio_problem)
        catalog.put(analysis)
        report.analyses.append(analysis)
    pending.clear()


