"""Sound for a silent video: sounds of an index placed on what the video shows.

The video's picture events (motion impacts and cuts, :mod:`videothat.pipeline.events`)
are the target, cut into stretches of ``soundtrack.hop`` s. The index answers each stretch
with time-aligned sound windows: a rhythm index by fingerprints of the event curve itself
(motion rhythm against sound rhythm), a learned one through a soundtrack run's visual
encoder (``video_encoder``). The ``soundtrack.candidates`` files its answers favour are then
aligned exactly: for every stretch, the correlation of each file's onsets (as spikes,
:func:`videothat.audio.onsets.onset_spikes`) with the events over ``soundtrack.window`` s
around it, at every lag (:func:`videothat.match.align.best_lags`, FFTs); the
``soundtrack.k`` best alignments of each stretch, and those of the ``soundtrack.follow``
stretches either side, are its candidates. A Viterbi pass
(:func:`videothat.match.units.best_units`) picks one per stretch, a change of sound or lag
costing ``soundtrack.continuity``, so sounds play on for seconds with their onsets on the
video's events. Runs of one alignment become the segments of a timeline; the pieces are
joined with equal-power crossfades and put under the video's pictures (copied, not
re-encoded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from videothat.core.errors import ParameterError, VideoThatError
from videothat.core.progress import timed
from videothat.core.timeline import Cut, Timeline
from videothat.match.config import SoundtrackConfig
from videothat.pipeline.events import PictureEvents, laid_out, picture_events
from videothat.pipeline.make import write_timeline
from videothat.pipeline.run import Configs, Run, analyze_files
from videothat.vision.config import EventConfig

JOIN_TOLERANCE_S = 0.03  # s: stretches of one source whose alignments differ this little play on as one
UNFIT = 1e3  # cost of a candidate that cannot play its stretch (kept finite: every stretch must get a sound)


class SoundtrackError(VideoThatError):
    """No sound track can be made from the index for the video."""


@dataclass(frozen=True)
class Hits:
    """The index's answers for each stretch: source (index into ``paths``; -1 none) and lag
    (source time minus video time, s), [shape=(Q, K)] each, best first."""

    source: np.ndarray
    lag: np.ndarray
    paths: list[Path]
    similarity: np.ndarray  # [shape=(Q, K)] the index's score of each hit

    def files(self, n: int) -> list[int]:
        """The ``n`` files (indices into ``paths``) with the largest summed similarity of hits."""
        found = self.source >= 0
        weights = np.maximum(self.similarity[found], 0)
        total = np.bincount(self.source[found], weights=weights, minlength=len(self.paths))
        return sorted(np.argsort(-total, kind="stable")[:n].tolist())


@dataclass
class SoundtrackPlan:
    """The sound track before it is rendered, and how it was chosen."""

    timeline: Timeline  # sound sources over the video (``over="video"``: ``song`` is the video; scores: alignment)
    events: PictureEvents
    scores: np.ndarray  # [shape=(Q,)] correlation of each stretch's chosen alignment with the events
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Soundtrack:
    """What :func:`make_soundtrack` wrote, and the plan it came from."""

    video: Path
    timeline_json: Path
    otio: Path
    plan: SoundtrackPlan
    html: Path | None = None


def plan_soundtrack(video: str | Path, index_root: Path, configs: Configs, soundtrack: SoundtrackConfig,
                    events: EventConfig, run: Run, *, video_encoder: Path | None = None, align: bool = True
                    ) -> SoundtrackPlan:
    """Choose a sound for every stretch of ``video`` from the index at ``index_root`` (module
    doc). ``align`` false skips the alignment pass: each stretch takes its best hit as the
    index returned it (the retrieval alone, for comparison).

    Raises
    ------
    ParameterError : the index cannot be asked by pictures (wrong kind, or no encoder given).
    NoVideoError, VideoThatError : the video has no pictures or cannot be analysed.
    SoundtrackError : the index returns no usable sound for the video.
    """
    from videothat.pipeline.archive import index_analysis

    seconds: dict[str, float] = {}
    store = _askable_store(Path(index_root), video_encoder)
    analysis = index_analysis(store, configs.analysis)
    with timed("pictures", seconds):
        found = picture_events(video, analysis, configs.analysis.motion, events, run)
    with timed("search", seconds):
        hits = _hits(found, store, configs, soundtrack, run, video_encoder)
    with timed("sources", seconds):
        curves, lengths, hits = _source_curves(hits, hits.files(soundtrack.candidates) if align else None, store,
                                               analysis, found, run)
    with timed("align", seconds):
        state, lag, scores = _choose(found, hits, curves, lengths, soundtrack, run, align=align)
    timeline = _timeline(found, hits.paths, state, lag, scores, soundtrack.hop)
    return SoundtrackPlan(timeline, found, scores, seconds)


def _askable_store(root: Path, video_encoder: Path | None):
    """The store at ``root`` if pictures can ask it: rhythm fingerprints, or learned ones with a visual encoder."""
    from videothat.pipeline.archive import open_store
    from videothat.pipeline.landmark_archive import is_landmark_index

    fix = "a rhythm index (videothat index build SOUNDS --index DIR index.encoder=rhythm)"
    if is_landmark_index(root):
        raise ParameterError(f"{root}: a landmark index identifies music and holds no curves to align; sound for a "
                             f"silent video needs {fix}")
    store = open_store(root)
    name = store.encoder.get("name")
    if video_encoder is None and name != "rhythm":
        raise ParameterError(f"{root}: built with {name} fingerprints, which describe sound, not pictures; sound for "
                             f"a silent video needs {fix}, or a learned one with --video-encoder "
                             f"RUN/video_encoder.safetensors")
    return store


def _hits(found: PictureEvents, store, configs: Configs, soundtrack: SoundtrackConfig, run: Run,
          video_encoder: Path | None) -> Hits:
    """The index's time-aligned hits for each stretch of the video."""
    from videothat.index.encode import query_fingerprints
    from videothat.pipeline.queries import picture_vectors

    index = replace(configs.index, query_hop=soundtrack.hop)
    if not found.curve.any():
        raise SoundtrackError(f"{found.path}: its pictures show no cuts or motion to put sound on")
    if video_encoder is not None:
        vectors, starts, _ = picture_vectors(found.path, store, index, video_encoder=video_encoder, run=run)
        window = float(store.encoder.get("model", {}).get("window", soundtrack.window))
    else:
        window = float(store.encoder["params"]["window"])
        if found.duration < window:
            raise SoundtrackError(f"{found.path} lasts {found.duration:.2f} s: too short for the index's {window:g} s "
                                  f"fingerprints")
        vectors, starts, _ = query_fingerprints(found.as_song(), store, index, device=str(run.device))
    similarity, ids = store.search_arrays(vectors, k=index.k)
    if ids.size == 0 or not (ids >= 0).any():
        raise SoundtrackError(f"{store.root}: the index returned no sound for {found.path}")
    names, file_of, _, start_of = store.shots_of(ids[ids >= 0])
    everything = store.files()
    if len(everything) <= soundtrack.candidates:  # a small index: every file is aligned, not only those hit
        names = names + sorted(set(everything) - set(names))  # hit files keep their indices; the others follow
    source = np.full(ids.shape, -1, np.int64)
    lag = np.zeros(ids.shape, np.float64)
    source[ids >= 0] = file_of
    lag[ids >= 0] = start_of - np.broadcast_to(starts[:, None], ids.shape)[ids >= 0]
    q = np.arange(_stretches(found.duration, soundtrack.hop))
    step = float(np.median(np.diff(starts))) if starts.size > 1 else soundtrack.hop
    row = np.clip(np.round(((q + 0.5) * soundtrack.hop - window / 2) / step), 0, len(starts) - 1).astype(np.int64)
    return Hits(source[row], lag[row], [Path(n) for n in names], similarity[row])


def _stretches(duration: float, hop: float) -> int:
    return max(1, math.ceil(duration / hop - 1e-9))


def _source_curves(hits: Hits, files: list[int] | None, store, analysis, found: PictureEvents, run: Run):
    """(the onsets as spikes (:func:`~videothat.audio.onsets.onset_spikes`) over the whole
    file of ``files`` (indices into ``hits.paths``; None: every hit file) [shape=(S, L)]
    zero-padded, their lengths, the hits on those files only), less the files that cannot be
    analysed or are the video itself."""
    import torch

    from videothat.audio.onsets import onset_spikes

    files = list(range(len(hits.paths))) if files is None else files
    wanted = analysis.for_songs() if store.mode == "songs" else replace(analysis, motion=None)
    report = analyze_files([hits.paths[i] for i in files], wanted, run, progress=False)
    by_path = {Path(a.source).resolve(): a for a in report.analyses}
    curves, keep = [], np.full(len(hits.paths), -1, np.int64)
    for i in files:  # one whole-file curve per file
        a = by_path.get(Path(hits.paths[i]).resolve())
        if a is None or a.content_hash == found.analysis.content_hash or not a.has_audio:
            continue
        keep[i] = len(curves)
        whole = laid_out(a, a.novelty, max(1, math.ceil(a.duration * a.frame_rate - 1e-9)))
        curves.append(torch.from_numpy(onset_spikes(whole, frame_rate=a.frame_rate)))
    if not curves:
        reasons = "; ".join(f.message for f in report.failures[:3]) or "only the video itself"
        raise SoundtrackError(f"no usable sound among the index's answers for {found.path} ({reasons})")
    lengths = torch.tensor([c.numel() for c in curves])
    padded = torch.nn.utils.rnn.pad_sequence(curves, batch_first=True)  # [S, L_max], zero-padded
    source = np.where(hits.source >= 0, keep[np.maximum(hits.source, 0)], -1)
    kept = [p for p, k in zip(hits.paths, keep, strict=True) if k >= 0]
    return padded.to(run.device), lengths.to(run.device), Hits(source, hits.lag, kept, hits.similarity)


def _choose(found: PictureEvents, hits: Hits, curves, lengths, soundtrack: SoundtrackConfig, run: Run, *,
            align: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, lag in frames, score) [shape=(Q,)] each: the alignment pass and the Viterbi
    pass (or, without ``align``, each stretch's best hit as it is)."""
    import torch

    from videothat.match.align import best_lags, carried, window_scores
    from videothat.match.units import best_units

    fr, device = found.frame_rate, run.device
    q_n = hits.source.shape[0]
    q = np.arange(q_n)
    first = np.round(q * soundtrack.hop * fr).astype(np.int64)
    end = np.append(first[1:], math.ceil(found.duration * fr - 1e-9))
    centre = np.round((q + 0.5) * soundtrack.hop * fr).astype(np.int64)
    window = max(2, round(soundtrack.window * fr))
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
    target, starts = as_tensor(found.curve.astype(np.float32)), as_tensor(centre - window // 2)
    plays = as_tensor(np.stack([first, end], axis=1))
    if not align:  # the index's best hit for each stretch, as it is
        source, lag = as_tensor(hits.source), as_tensor(np.round(hits.lag * fr).astype(np.int64))
        score = window_scores(target, curves, lengths, starts, window, source, lag, plays=plays)
        pick = torch.zeros(q_n, dtype=torch.int64, device=device)
    else:
        _, source, lag = best_lags(target, curves, lengths, starts, window, k=soundtrack.k, plays=plays)
        source, lag = carried(source, lag, follow=soundtrack.follow)
        score = window_scores(target, curves, lengths, starts, window, source, lag, plays=plays)
        seen = np.clip(np.minimum(centre - window // 2 + window, target.numel()) - np.maximum(centre - window // 2, 0),
                       1, window) / window  # a correlation over fewer frames (at the ends) counts for less
        cost = torch.where(torch.isfinite(score), -score * as_tensor(seen.astype(np.float32))[:, None], UNFIT)
        position = lag + torch.arange(q_n, device=device)[:, None]  # the same lag on: the next "unit"
        pick, _ = best_units(cost, source, position, continuity=soundtrack.continuity)
    rows = torch.arange(q_n, device=device)
    chosen = [t[rows, pick].cpu().numpy() for t in (source, lag, score)]
    return chosen[0], chosen[1], np.where(np.isfinite(chosen[2]), chosen[2], 0.0)  # unplayable: no alignment


def _timeline(found: PictureEvents, paths: list[Path], source: np.ndarray, lag: np.ndarray, scores: np.ndarray,
              hop: float) -> Timeline:
    """Runs of stretches with one (source, lag) as segments tiling the video (a lag within
    JOIN_TOLERANCE_S of the stretch before's is taken as the same: no skip of a few ms), over
    the video (``over="video"``); a segment's score is the mean of its stretches' ``scores``
    (their alignment with the events)."""
    if (source < 0).any():
        raise SoundtrackError(f"the index has no sound for part of {found.path}")
    lag = lag.copy()
    for q in range(1, lag.size):  # sequential: an alignment a frame or so off the one before plays on as it
        if source[q] == source[q - 1] and abs(lag[q] - lag[q - 1]) <= round(JOIN_TOLERANCE_S * found.frame_rate):
            lag[q] = lag[q - 1]
    breaks = np.flatnonzero(np.append(True, (source[1:] != source[:-1]) | (lag[1:] != lag[:-1])))
    ends = np.append(breaks[1:], source.size)
    cuts = []
    for a, b in zip(breaks.tolist(), ends.tolist(), strict=True):  # one Cut per segment
        start, stop = a * hop, found.duration if b == source.size else b * hop
        source_start = max(0.0, start + lag[a] / found.frame_rate)
        cuts.append(Cut(paths[source[a]], source_start, source_start + stop - start, start, stop,
                        float(np.mean(scores[a:b]))))
    return Timeline(found.path, found.duration, cuts, over="video").validate()


def make_soundtrack(video: str | Path, index_root: Path, configs: Configs, soundtrack: SoundtrackConfig,
                    events: EventConfig, run: Run, *, output: Path, report: bool = False,
                    video_encoder: Path | None = None) -> Soundtrack:
    """Plan the sound track (:func:`plan_soundtrack`) and write ``output``: the video's
    pictures with it; ``.timeline.json``, ``.otio`` and, with ``report``, ``.report.html`` beside it
    (all checked before any work: :func:`~videothat.core.outputs.check_outputs`)."""
    from videothat.audio.splice import splice
    from videothat.core.outputs import check_outputs
    from videothat.media.audio import decode_audio
    from videothat.media.mux import with_sound
    from videothat.media.render import AUDIO_RATE
    from videothat.pipeline.archive import guarded_inputs
    from videothat.pipeline.make import video_outputs

    wanted = video_outputs(output, report=report)
    check_outputs(wanted, inputs=guarded_inputs(wanted, [Path(video)], Path(index_root)))
    plan = plan_soundtrack(video, index_root, configs, soundtrack, events, run, video_encoder=video_encoder)
    with timed("sound", plan.seconds):
        paths = dict.fromkeys(Path(c.source) for c in plan.timeline.segments)
        sound = splice(plan.timeline, {p: decode_audio(p, AUDIO_RATE) for p in paths}, rate=AUDIO_RATE,
                       crossfade=soundtrack.crossfade)
        with_sound(Path(video), sound, AUDIO_RATE, output, render=configs.render)
    with timed("write outputs", plan.seconds):
        json_path, otio_path = write_timeline(plan.timeline, output.with_suffix(""), rate=configs.render.fps)
        html = None
        if report:
            from videothat.report.soundtrack import write_soundtrack_report

            html = write_soundtrack_report(plan, sound, AUDIO_RATE, output.with_suffix(".report.html"), video=output)
    return Soundtrack(output, json_path, otio_path, plan, html)
