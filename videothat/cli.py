"""The ``videothat`` command.

Subcommands parse paths, compose the Hydra config (:mod:`videothat.settings`) with
``key=value`` overrides, call :mod:`videothat.pipeline` and print progress and results.
Errors are one line on stderr and a non-zero exit. Start-up imports only the standard
library: a command served from the cache never imports torch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from videothat.core.errors import ParameterError, VideoThatError

if TYPE_CHECKING:
    from videothat.demo import DemoMaterial

log = logging.getLogger("videothat")

OVERRIDE = re.compile(r"^[+~]{0,2}[A-Za-z_][\w.]*=")
# the analyze and pictures bars' tallies, in order
ANALYZE_STATUSES = {stage: ("cached", "analysed", "failed") for stage in ("analyze", "pictures")}


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/videothat`` (``~/.cache/videothat``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "videothat"


def split_overrides(args: list[str]) -> tuple[list[str], list[str]]:
    """Separate ``key=value`` overrides from paths (an existing path is always a path)."""
    paths, overrides = [], []
    for arg in args:
        (overrides if OVERRIDE.match(arg) and not Path(arg).exists() else paths).append(arg)
    return paths, overrides


def compose_config(overrides: list[str], cache_dir: Path | None = None) -> dict:
    """The composed config; remembered under ``cache_dir`` so a repeated command skips Hydra."""
    from videothat.settings import compose_config as compose

    return compose(overrides, memo=None if cache_dir is None else cache_dir / "configs")


def cmd_analyze(args: argparse.Namespace) -> int:
    from videothat.pipeline.run import analyze_files
    from videothat.settings import analysis_config

    paths, overrides = split_overrides(args.items + args.overrides)
    if not paths:
        raise ParameterError("analyze needs at least one file or folder")
    config = analysis_config(compose_config(overrides, args.cache_dir))
    t0 = time.perf_counter()
    with Bars(args.quiet, ANALYZE_STATUSES) as bars:
        report = analyze_files(paths, config, _run(args, config.device, bars))
    print_summary(report, time.perf_counter() - t0)
    return 1 if report.failures else 0


def _run(args: argparse.Namespace, device: str, progress: Bars | None):
    from videothat.pipeline.run import Run

    return Run(args.cache_dir, device=device, progress=progress)


class Bars:
    """A :class:`~videothat.core.progress.Progress` drawing one tqdm bar per stage, with the
    tally of each stage's ``statuses`` beside it (``labels`` rename stages); closes every bar on exit."""

    def __init__(self, quiet: bool, statuses: dict[str, tuple[str, ...]] | None = None, *,
                 labels: dict[str, str] | None = None) -> None:
        self.quiet, self.statuses, self.labels = quiet, statuses or {}, labels or {}
        self.bars: dict[str, object] = {}
        self.counts: dict[str, dict[str, int]] = {}

    def start(self, stage: str, total: float, unit: str) -> None:
        self.finish(stage)
        if self.quiet:
            return
        from tqdm import tqdm

        self.bars[stage] = tqdm(total=total, unit=unit, desc=self.labels.get(stage, stage), dynamic_ncols=True)
        self.counts[stage] = dict.fromkeys(self.statuses.get(stage, ()), 0)

    def advance(self, stage: str, amount: float = 1.0, status: str | None = None) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            return
        if status is not None:
            counts = self.counts[stage]
            counts[status] = counts.get(status, 0) + 1
            bar.set_postfix(counts, refresh=False)
        bar.update(amount)

    def finish(self, stage: str) -> None:
        bar = self.bars.pop(stage, None)
        if bar is not None:
            bar.close()

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for stage in list(self.bars):
            self.finish(stage)


def cmd_match(args: argparse.Namespace) -> int:
    from videothat.core.outputs import check_outputs
    from videothat.pipeline.make import match_files, timeline_paths, write_timeline
    from videothat.pipeline.run import input_files
    from videothat.settings import configs

    paths, overrides = _sources(args, "match")
    config = configs(compose_config(overrides, args.cache_dir))
    out = _output_path(args.output, ".timeline.json")
    stem = out.with_name(out.name.removesuffix(".timeline.json"))
    check_outputs(timeline_paths(stem), inputs=input_files([args.song, *paths]))
    t0 = time.perf_counter()
    with Bars(args.quiet, ANALYZE_STATUSES) as bars:
        result, report = match_files(args.song, paths, config, _run(args, config.analysis.device, bars),
                                     index=args.index)
    json_path, otio_path = write_timeline(result.timeline, stem)
    _print_outcome(result, report, "", t0)
    print(f"timeline: {json_path}\nOpenTimelineIO: {otio_path}")
    return 0


def _print_outcome(result, report, detail: str, t0: float) -> None:
    """The skipped files (stderr) and one line about the timeline made."""
    for failure in report.failures:
        print(f"skipped {failure.message}", file=sys.stderr)
    timeline = result.timeline
    used = len({p.shot for p in result.placements})
    print(f"{len(timeline.segments)} segments over {timeline.duration:.1f} s from {used} of "
          f"{len(result.shots)} shots{detail} ({time.perf_counter() - t0:.1f} s)")
    from videothat.report import summarize

    s = summarize(result)
    visual = "" if s.visual_on_beats is None else (f", visual beat alignment {s.visual_on_beats:.2f} (beats on "
                                                  f"impacts) / {s.beats_on_visual:.2f} (impacts on beats)")
    print(f"sync: onset F {s.onset_f:.2f}, cuts on onsets {100 * s.cuts_on_onsets:.0f} %{visual}")


def cmd_make(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from videothat.pipeline.make import make_video
    from videothat.settings import configs

    output = _output_path(args.output, ".mp4")
    demo = args.command == "demo"
    paths, overrides = ([], list(args.overrides)) if demo else _sources(args, "make")
    config = configs(compose_config(overrides, args.cache_dir))
    if args.preview:
        config = replace(config, render=config.render.preview())
    material = _demo_material(args, output) if demo else None
    if material is not None:
        song, paths, args.index = material.song, [str(v) for v in material.videos], None
    else:
        song = args.song
    t0 = time.perf_counter()
    with Bars(args.quiet, ANALYZE_STATUSES) as bars:
        made = make_video(song, paths, config, _run(args, config.analysis.device, bars), output=output,
                          report=args.report, index=args.index)
    rendering = config.render
    _print_outcome(made.result, made.report, f", {rendering.width}x{rendering.height} at {rendering.fps:g} fps", t0)
    if material is not None:
        from videothat.demo import placed_seconds

        placed, duration = placed_seconds(made.result.timeline, material), made.result.timeline.duration
        print(f"demo: {placed:.1f} of {duration:.1f} s of the song show the footage that carries that part of it "
              f"({100 * placed / duration:.0f} %)")
    _print_written(made.video, made.timeline, made.otio, made.html)
    return 0


def _demo_material(args: argparse.Namespace, output: Path) -> DemoMaterial:
    """The demo's song and videos, made once the outputs are checked, in a folder beside the
    output (``OUT_material/``) so that the timeline and OTIO files keep pointing at them."""
    from videothat.core.outputs import check_outputs
    from videothat.demo import build_demo, demo_folder
    from videothat.pipeline.make import video_outputs

    check_outputs(video_outputs(output, report=args.report))
    return build_demo(demo_folder(output))


def cmd_mosaic(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from videothat.pipeline.mosaic import make_mosaic
    from videothat.settings import configs, mosaic_config

    paths, overrides = split_overrides(args.items + args.overrides)
    if not paths:
        raise ParameterError("mosaic needs --videos with at least one file or folder")
    if args.sound:
        overrides.append(f"mosaic.sound={args.sound}")
    cfg = compose_config(overrides, args.cache_dir)
    config, mosaic = configs(cfg), mosaic_config(cfg)
    if args.preview:
        config = replace(config, render=config.render.preview())
    output = _output_path(args.output, ".mp4")
    t0 = time.perf_counter()
    with Bars(args.quiet, {stage: ("cached", "analysed", "failed") for stage in ("target", "sources")}) as bars:
        made = make_mosaic(args.target, paths, config, mosaic, _run(args, config.analysis.device, bars),
                           output=output, report=args.report)
    plan = made.plan
    for failure in plan.failures:
        print(f"skipped {failure.message}", file=sys.stderr)
    print(f"{len(plan.runs)} runs over {made.timeline.duration:.1f} s (mean {plan.run_seconds.mean():.2f} s, "
          f"{plan.runs.mean():.1f} {mosaic.unit} units) from {len({c.source for c in made.timeline.segments})} "
          f"videos, mean unit distance {plan.distance:.3f}, sound: {mosaic.sound} ({time.perf_counter() - t0:.1f} s)")
    _print_written(made.video, made.timeline_json, made.otio, made.html)
    return 0


def _print_written(video: Path, timeline: Path, otio: Path, report: Path | None) -> None:
    """The files a job wrote, a line each."""
    print(f"video: {video}\ntimeline: {timeline}\nOpenTimelineIO: {otio}")
    if report:
        print(f"report: {report}")


def cmd_soundtrack(args: argparse.Namespace) -> int:
    from videothat.pipeline.soundtrack import make_soundtrack
    from videothat.settings import configs, event_config, soundtrack_config

    _existing_index(args.index)
    cfg = compose_config(args.overrides, args.cache_dir)
    config = configs(cfg)
    output = _output_path(args.output, ".mp4")
    t0 = time.perf_counter()
    with Bars(args.quiet, ANALYZE_STATUSES) as bars:
        made = make_soundtrack(args.video, args.index, config, soundtrack_config(cfg), event_config(cfg),
                               _run(args, config.analysis.device, bars), output=output, report=args.report,
                               video_encoder=args.video_encoder)
    plan = made.plan
    segments = plan.timeline.segments
    print(f"{len(segments)} sound stretches from {len({c.source for c in segments})} sources over "
          f"{plan.timeline.duration:.1f} s, mean alignment with the pictures {float(plan.scores.mean()):.2f} "
          f"({time.perf_counter() - t0:.1f} s)")
    _print_written(made.video, made.timeline_json, made.otio, made.html)
    return 0


def cmd_music(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from videothat.pipeline.music import make_music
    from videothat.settings import configs, event_config, music_config

    _existing_index(args.index)
    if args.top < 1:
        raise ParameterError(f"--top {args.top} must be >= 1")
    cfg = compose_config(args.overrides, args.cache_dir)
    config = configs(cfg)
    output = _output_path(args.output, ".mp4")
    t0 = time.perf_counter()
    with Bars(args.quiet, ANALYZE_STATUSES) as bars:
        made = make_music(args.video, args.index, config, music_config(cfg), event_config(cfg),
                          _run(args, config.analysis.device, bars), output=output, top=args.top,
                          report=args.report, video_encoder=args.video_encoder)
    if args.json:
        print(json.dumps([asdict(c) for c in made.choices], indent=1))
    else:
        for rank, c in enumerate(made.choices, 1):
            sound = "" if c.sound is None else f", sound {c.sound:.3f}"
            print(f"{rank:2d}. {c.score:6.3f}  {c.song} from {c.offset:.2f} s (pictures {c.pictures:.3f}{sound})")
        print(f"video: {made.video} ({time.perf_counter() - t0:.1f} s)\nchoices: {made.choices_json}")
        if made.html:
            print(f"report: {made.html}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    """index build / add / remove / stats."""
    from videothat.pipeline import landmark_archive as marks

    if args.action in ("stats", "remove"):
        _existing_index(args.index)
        if args.action == "stats":
            _print_stats(marks.landmark_stats(args.index) if marks.is_landmark_index(args.index)
                         else _faiss_archive().open_store(args.index).stats())
            return 0
        remove = marks.remove_landmarks if marks.is_landmark_index(args.index) else _faiss_archive().remove
        files, vectors = remove(args.items, args.index)
        print(f"removed {files} file(s), {vectors} fingerprints")
        return 0 if files else 1
    from videothat.settings import analysis_config, index_config

    paths, overrides = split_overrides(args.items + args.overrides)
    if _uses_landmarks(args, overrides):
        return _index_landmarks(args, paths, overrides)
    archive = _faiss_archive()
    if not paths:
        raise ParameterError(f"index {args.action} needs at least one file or folder")
    if args.action == "add":
        _existing_index(args.index)
    if not 0 <= args.workers <= 1024:
        raise ParameterError(f"--workers {args.workers} must be in [0, 1024]")
    cfg = compose_config(overrides, args.cache_dir)
    t0 = time.perf_counter()
    with Bars(args.quiet, {"index": ("indexed", "already", "failed")},
              labels={"index": f"index {args.action}"}) as bars:
        report = archive.ingest(paths, args.index, analysis_config(cfg), index_config(cfg.get("index", {})),
                                cache_dir=args.cache_dir,
                                mode="songs" if args.songs else "shots" if args.action == "build" else None,
                                create=args.action == "build", workers=args.workers, address=args.ray_address,
                                progress=bars)
    return _print_ingest(report, "fingerprints", t0)


def _print_ingest(report, unit: str, t0: float) -> int:
    """The failed files (stderr), a summary and the index's statistics; exit 1 if any failed."""
    for failure in report.failures:
        print(f"FAILED {failure.message}", file=sys.stderr)
    print(f"indexed {len(report.added)} file(s) ({report.vectors} {unit}), {len(report.already)} already "
          f"there, {len(report.failures)} failed ({time.perf_counter() - t0:.1f} s)")
    _print_stats(report.stats)
    return 1 if report.failures else 0


def _faiss_archive():
    from videothat.pipeline import archive

    return archive


def _uses_landmarks(args: argparse.Namespace, overrides: list[str]) -> bool:
    """Does this ``index build/add`` go to a landmark index? An existing one, ``index.encoder=
    landmarks``, or ``build --songs`` without another encoder named (identification's default)."""
    from videothat.pipeline.landmark_archive import is_landmark_index

    named = [o.split("=", 1)[1] for o in overrides if o.startswith("index.encoder=")]
    if is_landmark_index(args.index):
        if named and named[-1] != "landmarks":
            raise ParameterError(f"--index {args.index} is a landmark index; index.encoder={named[-1]} needs "
                                 f"a folder of its own")
        return True
    if named:
        return named[-1] == "landmarks"
    return args.action == "build" and args.songs and not (args.index / "CURRENT").is_file()


def _index_landmarks(args: argparse.Namespace, paths: list[str], overrides: list[str]) -> int:
    """``index build/add`` of a landmark index (one process: fingerprinting is fast)."""
    from videothat.pipeline.landmark_archive import ingest_landmarks
    from videothat.settings import index_config

    if not paths:
        raise ParameterError(f"index {args.action} needs at least one file or folder")
    if args.action == "build" and not args.songs:
        raise ParameterError("index.encoder=landmarks identifies music: index whole files with --songs")
    cfg = compose_config(overrides, args.cache_dir)
    t0 = time.perf_counter()
    with Bars(args.quiet, {"index": ("indexed", "already", "failed")},
              labels={"index": f"index {args.action}"}) as bars:
        report = ingest_landmarks(paths, args.index, index_config(cfg.get("index", {})), cache_dir=args.cache_dir,
                                  create=args.action == "build", progress=bars)
    return _print_ingest(report, "landmarks", t0)


def cmd_config(args: argparse.Namespace) -> int:
    """Every config key (or those under ``args.prefix``): default, range, meaning."""
    from videothat.settings import SECTION_CLASSES, config_keys

    keys = [k for k in config_keys() if k.key.startswith(args.prefix or "")]
    if not keys:
        raise ParameterError(f"no config key starts with {args.prefix!r}; the sections are "
                             f"{', '.join(['device', *SECTION_CLASSES])}")
    shown = [(k.key, _config_default(k), _config_range(k), _config_meaning(k)) for k in keys]
    widths = [min(max(len(row[i]) for row in shown), cap) for i, cap in ((0, 40), (1, 16), (2, 16))]
    for key, default, bounds, meaning in shown:
        print(f"{key:<{widths[0]}}  {default:<{widths[1]}}  {bounds:<{widths[2]}}  {meaning}".rstrip())
    return 0


def _config_default(key) -> str:
    """A key's default (with its group's other options where they differ), or a group's."""
    if key.variants:
        return f"{key.default} ({key.option}); " + "; ".join(f"{v} ({o})" for o, v in key.variants)
    return key.default


def _config_meaning(key) -> str:
    """A key's meaning; for a group, the options to choose with ``group=option``."""
    if key.options:
        return f"config group: {key.key}={' | '.join(key.options)} (each sets the {key.key}.* keys below)"
    return key.meaning


def _config_range(key) -> str:
    """``[low, high]``, or ``-`` for a key without bounds (or a group)."""
    if key.bounds is None:
        return "-"
    return "[" + ", ".join(f"{b:g}" if isinstance(b, float) else str(b) for b in key.bounds) + "]"


def _print_stats(stats: dict) -> None:
    stats = {**stats, "bytes": f"{stats['bytes'] / 1e6:.2f} MB"}
    width = max(len(k) for k in stats)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in stats.items()))


def cmd_query(args: argparse.Namespace) -> int:
    from videothat.pipeline.landmark_archive import is_landmark_index

    _existing_index(args.index)
    if not 1 <= args.top <= 10000:
        raise ParameterError(f"-k {args.top} must be in [1, 10000]")
    if args.output:
        from videothat.core.outputs import check_outputs

        args.output = check_outputs([_output_path(args.output, ".json")], inputs=[args.song or args.video])[0]
    query = _query_landmarks if is_landmark_index(args.index) else _query_faiss
    return _with_pictures_hint(args, query) if args.video is not None and args.by == "sound" else query(args)


# the options that find music for a video without usable sound (query --by pictures)
PICTURES_HINT = ("to find music for what it shows, query --by pictures --video-encoder RUN/video_encoder.safetensors "
                 "(a soundtrack run's visual encoder) on a music index of that run's audio encoder (index build "
                 "--songs index.encoder=learned index.learned.checkpoint=RUN/audio_encoder.safetensors)")


def _with_pictures_hint(args: argparse.Namespace, query) -> int:
    """``query(args)``; a ``--video`` with pictures whose sound is missing or silent gets
    :data:`PICTURES_HINT`."""
    from videothat.core.errors import NoAudioError

    try:
        return query(args)
    except NoAudioError as exc:
        from videothat.media.probe import probe

        if args.video is None or exc.path.resolve() != args.video.resolve() or probe(exc.path).video is None:
            raise
        raise NoAudioError(exc.path, f"{exc.problem}; {PICTURES_HINT}") from exc


def _query_faiss(args: argparse.Namespace) -> int:
    """``query`` on a FAISS index: shots for a song, or music for a video by its sound or pictures."""
    from videothat.pipeline import queries
    from videothat.settings import analysis_config, index_config

    cfg = compose_config(args.overrides, args.cache_dir)
    analysis, index = analysis_config(cfg), index_config(cfg.get("index", {}))
    run = _run(args, analysis.device, None)
    if args.song is not None and (args.by != "sound" or args.video_encoder is not None):
        raise ParameterError("--by and --video-encoder apply to --video queries (music for a video), not --song")
    if args.song is not None:
        parts = queries.query_song(args.song, args.index, analysis, index, run=run, top=args.top)
        rows = [{"song_time": round(p.start, 3), "song_end": round(p.end, 3),
                 "matches": [{"source": h.info.path, "shot": h.info.shot, "source_time": round(h.info.start, 3),
                              "score": round(h.score, 4)} for h in p.hits]} for p in parts]
        if not args.json:
            for row in rows:
                _print_song_part(row)
    else:
        if args.by == "pictures":
            if args.video_encoder is None:
                raise ParameterError("--by pictures needs --video-encoder RUN/video_encoder.safetensors "
                                     "(a soundtrack run's visual encoder)")
            found = queries.query_video_pictures(args.video, args.index, index, video_encoder=args.video_encoder,
                                                 run=run, top=args.top)
        else:
            found = queries.query_video(args.video, args.index, analysis, index, run=run, top=args.top)
        rows = [{"song": a.path, "offset": round(a.offset, 3), "score": round(a.score, 4), "votes": a.votes}
                for a in found]
        for rank, row in enumerate(rows, 1):
            if not args.json:
                print(f"{rank:2d}. {row['score']:8.3f}  {row['song']} from {row['offset']:.2f} s "
                      f"({row['votes']} windows)")
    _write_rows(args, rows)
    return 0


def _print_song_part(row: dict) -> None:
    """One line per match of a ``query --song`` window (its rank, as in ``--json``), or ``no match``."""
    head = f"song {row['song_time']:7.2f} s"
    if not row["matches"]:
        print(f"{head}  no match")
    for rank, m in enumerate(row["matches"], 1):
        print(f"{head}  {rank:2d}. {m['score']:.3f}  {m['source']} shot {m['shot']} at {m['source_time']:.2f} s")


def _query_landmarks(args: argparse.Namespace) -> int:
    """``query --video`` on a landmark index: which song, and where in it (no torch import)."""
    from videothat.pipeline.landmark_archive import identify

    if args.song is not None:
        raise ParameterError(f"--index {args.index} identifies music (landmarks): ask it with --video EXCERPT; "
                             f"shots for a song need a shots index")
    if args.by != "sound" or args.video_encoder is not None:
        raise ParameterError(f"--index {args.index}: music by pictures needs a music index of a soundtrack run's "
                             f"audio encoder (index build --songs index.encoder=learned "
                             f"index.learned.checkpoint=RUN/audio_encoder.safetensors)")
    if args.overrides:
        raise ParameterError(f"--index {args.index}: a landmark index keeps the parameters it was built with; "
                             f"overrides ({' '.join(args.overrides)}) do not apply")
    found = identify(args.video, args.index, top=args.top)
    rows = [{"song": m.item, "offset": round(m.offset, 3), "score": round(m.votes / max(m.landmarks, 1), 4),
             "votes": m.votes, "landmarks": m.landmarks} for m in found]
    if not args.json:
        if not rows:
            print(f"no match: no indexed song shares landmarks with {args.video}")
        for rank, row in enumerate(rows, 1):
            print(f"{rank:2d}. {row['score']:8.3f}  {row['song']} from {row['offset']:.2f} s "
                  f"({row['votes']} of {row['landmarks']} landmarks agree)")
    _write_rows(args, rows)
    return 0


def _write_rows(args: argparse.Namespace, rows: list[dict]) -> None:
    """The results as JSON on stdout (``--json``) and/or in ``-o`` (atomically)."""
    text = json.dumps(rows, indent=1)
    if args.json:
        print(text)
    if args.output:
        from videothat.core.atomic import atomic_write

        atomic_write(args.output, lambda f: f.write(text.encode()))


def _output_path(path: Path, suffix: str) -> Path:
    """``path`` ending in ``suffix`` (added when missing). Jobs check their outputs with
    :func:`videothat.core.outputs.check_outputs` before any work."""
    return path if path.name.endswith(suffix) else path.with_name(path.name + suffix)


def print_summary(report, seconds: float) -> None:
    rows = [
        ("files analysed", f"{len(report.analyses)} ({report.cached} from cache)"),
        ("shots", f"{report.n_shots}"),
        ("audio duration", f"{report.total_duration:.1f} s"),
        ("failures", f"{len(report.failures)}"),
        ("wall time", f"{seconds:.2f} s"),
    ]
    if report.pictures_only:
        rows.insert(3, ("pictures only", f"{len(report.pictures_only)} (no usable sound: matched by motion alone)"))
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    for failure in report.failures:
        print(f"FAILED {failure.message}", file=sys.stderr)


def _add_sources(p: argparse.ArgumentParser) -> None:
    p.add_argument("--song", type=Path, required=True, help="the song (any audio or video file)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--videos", dest="items", nargs="+", default=[], metavar="PATH|key=value",
                       help="videos with their own sound: files or folders (recursive)")
    group.add_argument("--index", type=Path, metavar="DIR",
                       help="a shots index (videothat index build): score only the shots it shortlists")


def _sources(args: argparse.Namespace, command: str) -> tuple[list[str], list[str]]:
    """(video paths, config overrides) of match/make; no paths needed with --index."""
    paths, overrides = split_overrides(args.items + args.overrides)
    if not paths and args.index is None:
        raise ParameterError(f"{command} needs --videos with at least one file or folder, or --index DIR")
    if args.index is not None:
        _existing_index(args.index)
    return paths, overrides


def _existing_index(root: Path) -> None:
    from videothat.pipeline.landmark_archive import is_landmark_index

    if not (root / "CURRENT").is_file() and not is_landmark_index(root):
        raise ParameterError(f"--index {root}: not a VideoThat index; build one with "
                             f"`videothat index build VIDEOS... --index {root}`")


def _add_common(p: argparse.ArgumentParser) -> None:
    """Cache folder, quiet flag and trailing config overrides of the job commands."""
    p.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                   help="analysis cache folder (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars; only errors on stderr")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videothat",
        description="Match shots to a song by their sound and cut music videos.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages and FFmpeg's own log")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "analyze",
        help="cut videos into shots and compute each shot's spectral novelty (cached)",
        description="Analyse media files and folders (recursive). Config overrides as "
        "key=value, e.g. audio.hop_length=256 shots=adaptive device=cpu.",
    )
    p.add_argument("items", nargs="+", metavar="PATH|key=value")
    p.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                   help="analysis cache folder (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; only errors on stderr")
    p.set_defaults(func=cmd_analyze, overrides=[])
    p = sub.add_parser(
        "match",
        help="place the videos' shots on a song; write the timeline (JSON and OpenTimelineIO)",
        description="Analyse the song and the videos (cached), find where each shot's sound fits the song's "
        "rhythm and write OUT.timeline.json and OUT.otio. Overrides as key=value, e.g. match.beam_width=32.",
    )
    _add_sources(p)
    p.add_argument("-o", "--output", type=Path, default=Path("out.timeline.json"),
                   help="timeline path (default: %(default)s); the .otio goes beside it")
    _add_common(p)
    p.set_defaults(func=cmd_match)
    for name in ("make", "demo"):
        demo = name == "demo"
        p = sub.add_parser(
            name,
            help="run the main job on the built-in demo material" if demo else
            "make a music video: shots of the videos cut to the song's rhythm, the song as sound",
            description=("Make a music video from material VideoThat ships and generates (no arguments, "
                         "no downloads)." if demo else "Analyse (cached), match and render OUT.mp4 with the song "
                         "as its sound; OUT.timeline.json and OUT.otio beside it.")
            + " Overrides as key=value, e.g. render.height=1080 match.beam_width=32.",
        )
        if not demo:
            _add_sources(p)
        p.add_argument("-o", "--output", type=Path, default=Path("videothat_demo.mp4" if demo else "out.mp4"),
                       help="the video (default: %(default)s)")
        p.add_argument("--preview", action="store_true", help="render fast at 360p, 15 fps")
        p.add_argument("--report", action="store_true", default=demo,
                       help="also write OUT.report.html: plots, figures, cut list" + (" (always on)" if demo else ""))
        _add_common(p)
        p.set_defaults(func=cmd_make)
    p = sub.add_parser(
        "mosaic",
        help="rebuild a sound from tiny units of the videos' own sound, showing the frames they come from",
        description="Describe every 1/mosaic.unit_rate s (or every onset slice: mosaic.unit=onset) of the target "
        "and of the videos' sound, pick for each target unit a source unit (nearest descriptors, runs of consecutive "
        "frames preferred: mosaic.continuity) and render OUT.mp4 with the target, the units' own sound or a mix as "
        "its sound; OUT.timeline.json and OUT.otio beside it.",
    )
    p.add_argument("--target", type=Path, required=True, help="the sound to rebuild (any audio or video file)")
    p.add_argument("--videos", dest="items", nargs="+", required=True, metavar="PATH|key=value",
                   help="videos with their own sound: files or folders (recursive)")
    p.add_argument("-o", "--output", type=Path, default=Path("mosaic.mp4"), help="the video (default: %(default)s)")
    p.add_argument("--sound", choices=("target", "source", "mix"),
                   help="sound track: the target, the chosen units' own sound (crossfaded, following the target's "
                   "loudness) or a mix (default: mosaic.sound, target)")
    p.add_argument("--preview", action="store_true", help="render fast at 360p, 15 fps")
    p.add_argument("--report", action="store_true",
                   help="also write OUT.report.html: target and rebuilt spectrograms, run lengths, figures")
    _add_common(p)
    p.set_defaults(func=cmd_mosaic)
    _add_retrieval_jobs(sub)
    _add_index_parsers(sub)
    p = sub.add_parser("config", help="list the config keys: default, allowed range, meaning",
                       description="Every key the key=value overrides may set (and each config group: "
                       "group=option), with its default, the range a number must lie in and what it does, "
                       "from the configs VideoThat ships. PREFIX keeps the keys that start with it: a "
                       "section (match) or a longer prefix (index.rhythm).")
    p.add_argument("prefix", nargs="?", metavar="PREFIX", help="a section or key prefix (default: every key)")
    p.set_defaults(func=cmd_config)
    return parser


def _add_retrieval_jobs(sub) -> None:
    p = sub.add_parser("soundtrack", help="give a silent video a sound track from an index of sounds",
                       description="Find sounds in an index (a rhythm index of videos with sound or of sound files, "
                       "or a learned one with --video-encoder) whose onsets land on the video's cuts and motion "
                       "impacts, and write OUT.mp4: the video's pictures (copied) with them as its sound; "
                       "OUT.timeline.json and OUT.otio beside it. Overrides as key=value, e.g. "
                       "soundtrack.continuity=2.")
    p.add_argument("--video", type=Path, required=True, help="the video (its own sound, if any, is replaced)")
    p.add_argument("--index", type=Path, required=True, metavar="DIR", help="an index of sounds")
    p.add_argument("-o", "--output", type=Path, default=Path("soundtrack.mp4"), help="the video (default: %(default)s)")
    p.add_argument("--video-encoder", type=Path, metavar="FILE",
                   help="a soundtrack run's video_encoder.safetensors (for a learned index)")
    p.add_argument("--report", action="store_true", help="also write OUT.report.html: the new sound's onsets "
                   "against the video's events")
    _add_common(p)
    p.set_defaults(func=cmd_soundtrack)
    p = sub.add_parser("music", help="put the song of a music index that fits a video under it",
                       description="Rank the songs of a music index (index build --songs) by how their onsets land "
                       "on the video's cuts and motion impacts (and fit its own sound, if any), pick the best song "
                       "and offset, and write OUT.mp4: the video's pictures (copied) with that song, faded in and "
                       "out; OUT.music.json lists the --top choices (and, with --report, OUT.report.html shows them). "
                       "Overrides as key=value, e.g. music.fade_out=4.")
    p.add_argument("--video", type=Path, required=True, help="the video")
    p.add_argument("--index", type=Path, required=True, metavar="DIR", help="a music index")
    p.add_argument("-o", "--output", type=Path, default=Path("music.mp4"), help="the video (default: %(default)s)")
    p.add_argument("-k", "--top", type=int, default=5, help="choices listed (default 5)")
    p.add_argument("--video-encoder", type=Path, metavar="FILE",
                   help="a soundtrack run's video_encoder.safetensors (retrieval by pictures in a learned index)")
    p.add_argument("--json", action="store_true", help="print the choices as JSON")
    p.add_argument("--report", action="store_true", help="also write OUT.report.html: the chosen song's onsets "
                   "against the video's events, its score and sync, the --top choices")
    _add_common(p)
    p.set_defaults(func=cmd_music)


def _add_index_parsers(sub) -> None:
    p = sub.add_parser("index", help="fingerprint an archive into a FAISS index on disk (build/add/remove/stats)",
                       description="Keep fingerprints of every shot of an archive (or every song of a music library, "
                       "--songs) in an on-disk FAISS index. Overrides as key=value, e.g. index.type=IVF1024,PQ32 "
                       "index.encoder=timbre.")
    actions = p.add_subparsers(dest="action", required=True)
    for action, text in (("build", "create the index if needed and add files (resumes a killed build)"),
                         ("add", "add files to an existing index (files already in it are skipped)"),
                         ("remove", "remove files from the index"), ("stats", "print what the index holds")):
        a = actions.add_parser(action, help=text, description=text)
        if action != "stats":
            a.add_argument("items", nargs="+", metavar="PATH" if action == "remove" else "PATH|key=value")
        a.add_argument("--index", type=Path, required=True, metavar="DIR", help="index folder")
        if action in ("build", "add"):
            a.add_argument("--songs", action="store_true", help="a music library: index files whole (no shots); "
                           "query it with `videothat query --video`" + ("" if action == "build" else
                                                                          " (default: what the index holds)"))
            a.add_argument("--workers", type=int, default=0, metavar="N",
                           help="fan out over N Ray workers (0 = in this process)")
            a.add_argument("--ray-address", default=None, metavar="ADDR",
                           help="a running Ray cluster (auto, or ray://HEAD:10001); default: start a local one")
            a.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                           help="analysis cache folder (default: %(default)s)")
            a.add_argument("-q", "--quiet", action="store_true", help="no progress bar; only errors on stderr")
            a.set_defaults(overrides=[])
        a.set_defaults(func=cmd_index)
    p = sub.add_parser("query", help="ask an index: shots for a song, or music for a video",
                       description="--song: the shots of a shots index that fit each part of the song best. "
                       "--video: the songs of a music index (built with --songs) that fit the video's sound "
                       "(or, with --by pictures, what it shows), and where in them.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--song", type=Path, help="find shots for this song")
    what.add_argument("--video", type=Path, help="find music for this video (or any file with sound)")
    p.add_argument("--index", type=Path, required=True, metavar="DIR", help="index folder")
    p.add_argument("-k", "--top", type=int, default=5, help="results per song part / songs listed (default 5)")
    p.add_argument("--by", choices=("sound", "pictures"), default="sound",
                   help="--video: match its sound (default) or its pictures (needs --video-encoder and a music "
                   "index of the same soundtrack run's audio encoder)")
    p.add_argument("--video-encoder", type=Path, metavar="FILE",
                   help="a soundtrack run's video_encoder.safetensors (for --by pictures)")
    p.add_argument("-o", "--output", type=Path, help="also write the results as JSON")
    p.add_argument("--json", action="store_true", help="print the results as JSON (instead of lines)")
    _add_common(p)
    p.set_defaults(func=cmd_query)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    stray = [a for a in extra if not OVERRIDE.match(a)]
    if stray or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(stray or extra)}")
    if extra:  # key=value overrides after options: `... --index DIR index.type=Flat`
        args.overrides = [*args.overrides, *extra]
    _set_log_levels(verbose=args.verbose, quiet=getattr(args, "quiet", False))
    try:
        code = _run_command(args)
        sys.stdout.flush()  # a reader gone from stdout shows here, not as a complaint at the interpreter's exit
    except BrokenPipeError:  # stdout closed early (`videothat config | head`): stop without a word
        with contextlib.suppress(OSError, ValueError):  # and without one at exit, flushing the rest
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a process that SIGPIPE ends
    return code


def _run_command(args: argparse.Namespace) -> int:
    """``args.func(args)``, its errors turned into one line on stderr and an exit code."""
    try:
        with contextlib.ExitStack() as cleanup:
            _usable_cache_dir(args, cleanup)
            return args.func(args)
    except VideoThatError as exc:
        print(f"videothat: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the system refused a read or write (disk full, permissions, ...)
        if isinstance(exc, BrokenPipeError) and _stdout_gone():
            raise
        if args.verbose:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"videothat: error: {where}{exc.strerror or exc} (run with -v for the details)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("videothat: interrupted; finished work is cached, rerun to resume", file=sys.stderr)
        return 130


def _stdout_gone() -> bool:
    """Is stdout a pipe whose reader has closed it? (Not some other pipe the job wrote to.)"""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no descriptor (a captured stdout), or no poll
        return False


def _set_log_levels(*, verbose: bool, quiet: bool) -> None:
    """How much the command logs on stderr: with ``-v`` debug messages and FFmpeg's own log
    (its INFO level: encoder settings and statistics, decoder complaints); with ``-q`` errors
    only; otherwise warnings too. FFmpeg's log stays off without ``-v`` (PyAV's default, which
    the library keeps), so a default run never imports PyAV for it."""
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose:
        import av.logging

        # FFmpeg's printer, not PyAV's bridge into logging: that one takes the GIL in decoder threads
        av.logging.restore_default_callback()
        av.logging.set_libav_level(av.logging.INFO)


def _usable_cache_dir(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> None:
    """Keep ``--cache-dir`` when files can be made in it; otherwise say so and run without a
    cache (a temporary folder, removed when the command ends)."""
    cache = getattr(args, "cache_dir", None)
    if cache is None:
        return
    from videothat.core.outputs import folder_problem

    problem = None
    if not cache.exists():
        try:
            cache.mkdir(parents=True)
        except OSError as exc:
            problem = f"cannot be created ({exc.strerror or exc})"
    problem = problem or folder_problem(cache)
    if problem is None:
        return
    print(f"videothat: warning: cache folder {cache} {problem}; running without a cache (nothing is kept for "
          f"the next run); give --cache-dir a writable folder to keep the analyses", file=sys.stderr)
    args.cache_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="videothat-cache-")))


if __name__ == "__main__":
    sys.exit(main())
