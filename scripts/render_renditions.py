"""MIDI and time maps for the development set's "same piece, two renditions" pairs.

A data tool run by ``scripts/build_corpus.sh`` with its tools venv (music21, numpy, scipy);
not part of the package. Three subcommands:

``scores CORPUS MIDI_DIR LIST MAX``
    Chooses up to MAX candidate scores from music21's bundled corpus (every folder but
    ``omr/``; round-robin over the folders, each folder's files in sha1 order; an ``.abc``
    collection gives its first tune), and writes for each piece whose MIDI lasts at least
    ``--min-sec`` s ``ID_A.mid`` (the score's tempo, repeats expanded, a General MIDI program
    per part from one family chosen per piece) and ``ID_B.mid`` (the same events, every tempo
    scaled by the piece's ratio), both cut after ``--clip-s`` s of A. LIST (TSV) gets one row per candidate, also the rejected
    ones with why; rows already there are reused, so a rerun parses nothing it has seen.
``pair IN.mid A.mid B.mid RATIO CLIP_S``
    A: IN's first CLIP_S s; B: the same with every tempo scaled by RATIO (B plays RATIO times
    as fast). Both MIDI files are cut after CLIP_S s of A, so no synthesizer renders more.
``timemap LIST OUT_DIR RESULT``
    For each row of LIST (pair, wav_a, wav_b, nominal ratio): anchors (t_a, t_b) from the
    cross-correlation of onset-strength envelopes (5 s windows of A every 2.5 s, best lag of B
    within 0.3 s of the nominal map ``t_b = t_a / ratio``), written to OUT_DIR/PAIR.csv, a
    fitted line, and a verdict: ``ok``, or why the pair is left out.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import re
import signal
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")
FAMILIES = {  # General MIDI programs (0-based) per part, top part first; the lowest part gets the last
    "piano": (0, 0),
    "strings": (40, 42),
    "organ": (19, 19),
    "guitar": (24, 25),
    "winds": (73, 70),
}
SYNTHS_B = ("fluidsynth/TimGM6mb", "timidity/freepats", "timidity/TimGM6mb")
FPS = 22050 / 256  # onset envelope frames per second
MAX_DEPART_MS = 25.0
MIN_CORR = 0.3
MIN_MATCHED = 0.6



def write_tsv(path: Path, fields: list[str], rows: list[dict]) -> None:
    """``rows`` as a tab-separated table with a header, written whole (temp file + rename)."""
    tmp = path.with_suffix(".part")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)

def sha_int(text: str) -> int:
    """A stable integer from TEXT (sha1), for deterministic per-piece choices."""
    return int(hashlib.sha1(text.encode()).hexdigest(), 16)


def piece_choices(pid: str) -> tuple[float, str, str]:
    """(tempo ratio B/A, instrument family, B's synth/soundfont) for piece PID, drawn from sha1."""
    h = sha_int("ratio:" + pid)
    if h % 4 == 0:
        ratio = 1.0
    else:
        u = (h >> 8) % 10_000 / 9_999
        ratio = round(math.exp(math.log(0.8) + u * (math.log(1.25) - math.log(0.8))), 3)
    family = sorted(FAMILIES)[sha_int("family:" + pid) % len(FAMILIES)]
    synth = SYNTHS_B[sha_int("synth:" + pid) % len(SYNTHS_B)]
    return ratio, family, synth


class Timeout(BaseException):
    """A score took longer than allowed (a BaseException: no `except Exception` swallows it)."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise Timeout


def midi_seconds(path: Path) -> float:
    """Length of a MIDI file in seconds: its last event, through its tempo map."""
    from music21 import midi

    mf = _read_midi(path)
    tempos: list[tuple[int, int]] = []
    last = 0
    for track in mf.tracks:
        tick = 0
        for ev in track.events:
            if isinstance(ev, midi.DeltaTime):
                tick += ev.time
                continue
            last = max(last, tick)
            if ev.type == midi.MetaEvents.SET_TEMPO:
                tempos.append((tick, int.from_bytes(ev.data[:3], "big")))
    tempos.sort()
    if not tempos or tempos[0][0] > 0:
        tempos.insert(0, (0, 500_000))
    secs, prev_tick, mpqn = 0.0, 0, 500_000
    for tick, value in tempos + [(last, 0)]:
        if tick > last:
            tick = last
        secs += (tick - prev_tick) * mpqn / 1e6 / mf.ticksPerQuarterNote
        prev_tick, mpqn = tick, value or mpqn
    return secs


def _read_midi(path: Path) -> Any:
    from music21 import midi

    mf = midi.MidiFile()
    mf.open(str(path))
    mf.read()
    mf.close()
    return mf


def _write_midi(mf: Any, dst: Path) -> None:
    tmp = dst.with_suffix(".part.mid")
    mf.open(str(tmp), "wb")
    mf.write()
    mf.close()
    tmp.replace(dst)


def _clip(mf: Any, seconds: float) -> None:
    """Drop every event after SECONDS (the tempo map of MF), so a synthesizer renders no more."""
    from music21 import midi

    tempos = sorted((tick, int.from_bytes(ev.data[:3], "big")) for track in mf.tracks
                    for tick, ev in _timed(track) if ev.type == midi.MetaEvents.SET_TEMPO)
    if not tempos or tempos[0][0] > 0:
        tempos.insert(0, (0, 500_000))
    limit, left = None, seconds
    for (tick, mpqn), (nxt, _) in zip(tempos, tempos[1:] + [(10**12, 0)]):
        span = (nxt - tick) * mpqn / 1e6 / mf.ticksPerQuarterNote
        if span >= left:
            limit = tick + int(left * 1e6 / mpqn * mf.ticksPerQuarterNote)
            break
        left -= span
    cvm = midi.ChannelVoiceMessages
    for track in mf.tracks:
        kept: list[Any] = []
        tick, sounding = 0, set()
        for ev in track.events:
            if isinstance(ev, midi.DeltaTime):
                tick += ev.time
                if tick > limit:
                    break
            elif ev.type == cvm.NOTE_ON and ev.velocity:
                sounding.add((ev.channel, ev.pitch))
            elif ev.type in (cvm.NOTE_ON, cvm.NOTE_OFF):
                sounding.discard((ev.channel, ev.pitch))
            kept.append(ev)
        if len(kept) < len(track.events):  # cut: stop what sounds (else a synth renders forever), end the track
            if not isinstance(kept[-1], midi.DeltaTime):
                kept.append(midi.DeltaTime(track, time=0))
            closing = []
            for channel, pitch in sorted(sounding):
                off = midi.MidiEvent(track, type=cvm.NOTE_OFF, channel=channel)
                off.pitch, off.velocity = pitch, 0
                closing.append(off)
            for channel in sorted({c for c, _ in sounding}):  # sustain pedal up
                cc = midi.MidiEvent(track, type=cvm.CONTROLLER_CHANGE, channel=channel)
                cc.parameter1, cc.parameter2 = 64, 0
                closing.append(cc)
            end = midi.MidiEvent(track, type=midi.MetaEvents.END_OF_TRACK)
            end.data = b""
            for ev in closing + [end]:
                kept += [ev, midi.DeltaTime(track, time=0)]
            track.events = kept[:-1]


def _timed(track: Any) -> list[tuple[int, Any]]:
    """(tick, event) for the events of TRACK that are not delta times."""
    from music21 import midi

    out, tick = [], 0
    for ev in track.events:
        if isinstance(ev, midi.DeltaTime):
            tick += ev.time
        else:
            out.append((tick, ev))
    return out


def make_pair(src: Path, dst_a: Path, dst_b: Path, ratio: float, clip_s: float) -> None:
    """DST_A: SRC's first CLIP_S s; DST_B: the same events with every tempo scaled (B plays RATIO
    times as fast; a missing tempo at t=0, the default 120 qpm, is made explicit first)."""
    from music21 import midi

    mf = _read_midi(src)
    _clip(mf, clip_s)
    _write_midi(mf, dst_a)
    found_at_zero = False
    for track in mf.tracks:
        for tick, ev in _timed(track):
            if ev.type == midi.MetaEvents.SET_TEMPO:
                found_at_zero |= tick == 0
                mpqn = int.from_bytes(ev.data[:3], "big")
                ev.data = max(1, min(0xFFFFFF, round(mpqn / ratio))).to_bytes(3, "big")
    if not found_at_zero:
        track = mf.tracks[0]
        ev = midi.MidiEvent(track, type=midi.MetaEvents.SET_TEMPO)
        ev.data = round(500_000 / ratio).to_bytes(3, "big")
        track.events[0:0] = [midi.DeltaTime(track, time=0), ev]
    _write_midi(mf, dst_b)


def candidates(root: Path, cap: int) -> list[Path]:
    """Up to CAP score files: round-robin over the top folders (sha1 order), files in sha1 order."""
    folders: dict[str, list[Path]] = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if len(rel.parts) < 2 or rel.parts[0] in ("omr", "_metadataCache") or path.suffix.lower() not in SUFFIXES:
            continue
        folders.setdefault(rel.parts[0], []).append(path)
    queues = [sorted(files, key=lambda p: sha_int(str(p.relative_to(root))))
              for _, files in sorted(folders.items(), key=lambda kv: sha_int(kv[0]))]
    out: list[Path] = []
    while len(out) < cap and any(queues):
        for queue in queues:
            if queue and len(out) < cap:
                out.append(queue.pop(0))
    return out


def piece_id(rel: Path) -> str:
    """m21_FOLDER_..._STEM, lower case, safe for file names."""
    text = "_".join(rel.with_suffix("").parts).lower()
    return "m21_" + "".join(c if c.isalnum() else "_" for c in text)[:80]


def write_score_midi(path: Path, pid: str, out_a: Path, limit_s: int) -> None:
    """Parse PATH (first tune of a collection), set the programs and write rendition A's MIDI."""
    from music21 import converter, instrument, stream

    signal.alarm(limit_s)
    try:
        if path.suffix == ".abc":  # a collection: its first tune (by its X: reference number)
            first = re.search(r"^X:\s*(\d+)", path.read_text(errors="replace"), re.M)
            score = converter.parse(str(path), number=int(first.group(1)) if first else None)
        else:
            score = converter.parse(str(path))
        if isinstance(score, stream.Opus):
            score = score.scores[0]
        try:
            score = score.expandRepeats()
        except Exception:  # noqa: BLE001 - malformed repeats: the score as written
            pass
        _, family, _ = piece_choices(pid)
        top, low = FAMILIES[family]
        parts = list(score.parts) or [score]
        for i, part in enumerate(parts):
            for inst in list(part.recurse().getElementsByClass(instrument.Instrument)):
                inst.activeSite.remove(inst)
            new = instrument.Instrument()
            new.midiProgram = low if i == len(parts) - 1 and len(parts) > 1 else top
            part.insert(0, new)
        tmp = out_a.with_suffix(".part.mid")
        score.write("midi", fp=str(tmp))
        tmp.replace(out_a)
    finally:
        signal.alarm(0)


def cmd_scores(root: Path, midi_dir: Path, listing: Path, cap: int, min_sec: float, limit_s: int,
               clip_s: float) -> None:
    """Write A/B MIDI for up to CAP candidates; LIST gets a row per candidate (reused on reruns)."""
    signal.signal(signal.SIGALRM, _alarm)
    midi_dir.mkdir(parents=True, exist_ok=True)
    fields = ["id", "folder", "source_path", "ratio", "family", "synth_b", "midi_a_s", "status"]
    seen: dict[str, dict[str, str]] = {}
    if listing.exists():
        with listing.open() as f:
            seen = {row["source_path"]: row for row in csv.DictReader(f, delimiter="\t")}
    rows = []
    started = time.time()
    for n, path in enumerate(candidates(root, cap), 1):
        rel = path.relative_to(root)
        pid = piece_id(rel)
        ratio, family, synth = piece_choices(pid)
        a, b = midi_dir / f"{pid}_A.mid", midi_dir / f"{pid}_B.mid"
        row = seen.get(str(rel))
        if row is None or (row["status"] == "ok" and not (a.exists() and b.exists())):
            row = {"id": pid, "folder": rel.parts[0], "source_path": str(rel), "ratio": f"{ratio:g}",
                   "family": family, "synth_b": synth, "midi_a_s": "", "status": "ok"}
            t0 = time.time()
            full = midi_dir / f"{pid}_full.mid"
            try:
                write_score_midi(path, pid, full, limit_s)
                secs = midi_seconds(full)
                row["midi_a_s"] = f"{secs:.1f}"
                if secs < min_sec:
                    row["status"] = f"short ({secs:.0f} s)"
                else:
                    make_pair(full, a, b, ratio, clip_s)
            except Timeout:
                row["status"] = f"slow (over {limit_s} s)"
            except Exception as exc:  # noqa: BLE001 - any unreadable score is skipped, with why
                row["status"] = "error: " + " ".join(str(exc).split())[:120]
            full.unlink(missing_ok=True)
            if row["status"] != "ok":
                a.unlink(missing_ok=True)
                b.unlink(missing_ok=True)
            print(f"  [{n}] {rel}: {row['status']} ({time.time() - t0:.1f} s)", flush=True)
        rows.append(row)
    write_tsv(listing, fields, rows)
    ok = sum(r["status"] == "ok" for r in rows)
    print(f"music21: {len(rows)} candidates, {ok} pieces of at least {min_sec:g} s ({time.time() - started:.0f} s)")


def read_wav(path: Path) -> np.ndarray:
    """Mono s16 WAV as float samples (the builder writes 22050 Hz mono)."""
    with wave.open(str(path)) as w:
        if w.getframerate() != 22050 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: not 22050 Hz mono s16")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def onset_envelope(x: np.ndarray) -> np.ndarray:
    """Spectral flux of log band energies (48 log-spaced bands, 50 Hz-8 kHz), FPS frames per s."""
    from scipy.signal import stft

    if len(x) < 22050:  # under a second: nothing to measure
        return np.zeros(0)
    _, _, z = stft(x, fs=22050, nperseg=2048, noverlap=2048 - 256, boundary=None, padded=False)
    mag = np.abs(z)
    freqs = np.fft.rfftfreq(2048, 1 / 22050)
    edges = np.geomspace(50, 8000, 49)
    band = np.stack([mag[(freqs >= lo) & (freqs < hi)].sum(axis=0) for lo, hi in zip(edges[:-1], edges[1:])])
    logb = np.log1p(100 * band)
    flux = np.maximum(0, np.diff(logb, axis=1)).sum(axis=0)
    flux = np.concatenate([[0.0], flux])
    kernel = np.ones(int(FPS)) / int(FPS)  # subtract a 1 s running mean: onsets, not loudness
    return flux - np.convolve(flux, kernel, mode="same")


def anchors(env_a: np.ndarray, env_b: np.ndarray, ratio: float) -> list[tuple[float, float, float]]:
    """(t_a, t_b, correlation) per 5 s window of A (every 2.5 s); B searched within 0.3 s of t_a / ratio."""
    # B's envelope on A's clock by the nominal map, so a window of A lines up with no stretch
    t_frames = np.arange(int(len(env_b) * ratio)) / FPS
    b_on_a = np.interp(t_frames / ratio * FPS, np.arange(len(env_b)), env_b)
    win, hop, lag = int(5 * FPS), int(2.5 * FPS), int(0.3 * FPS)
    out = []
    for start in range(0, len(env_a) - win + 1, hop):
        wa = env_a[start:start + win]
        if start - lag < 0 or start + win + lag > len(b_on_a) or wa.std() == 0:
            continue
        wa = (wa - wa.mean()) / wa.std()
        seg = b_on_a[start - lag:start + win + lag]
        cors = np.empty(2 * lag + 1)
        for k in range(2 * lag + 1):
            wb = seg[k:k + win]
            sd = wb.std()
            cors[k] = float(np.mean(wa * (wb - wb.mean()) / sd)) if sd > 0 else 0.0
        k = int(np.argmax(cors))
        frac = 0.0
        if 0 < k < 2 * lag:  # parabolic peak: below a frame
            c0, c1, c2 = cors[k - 1], cors[k], cors[k + 1]
            den = c0 - 2 * c1 + c2
            frac = 0.5 * (c0 - c2) / den if den != 0 else 0.0
        shift = (k - lag + frac) / FPS  # B (on A's clock) is late by shift
        t_a = (start + win / 2) / FPS
        out.append((t_a, (t_a + shift) / ratio, float(cors[k])))
    return out


def judge(rows: list[tuple[float, float, float]], ratio: float, length_a: float) -> dict[str, str]:
    """Fitted ratio, offset, residual and the verdict for one pair's anchors."""
    good = [(ta, tb) for ta, tb, c in rows if c >= MIN_CORR]
    res = {"fitted_ratio": "", "fitted_offset_s": "", "residual_ms": "", "max_depart_ms": "",
           "matched": f"{len(good)}/{len(rows)}", "verdict": "ok"}
    if len(rows) < 4 or len(good) < MIN_MATCHED * len(rows):
        res["verdict"] = f"does not line up ({len(good)} of {len(rows)} windows correlate >= {MIN_CORR})"
        return res
    ta, tb = np.array(good).T
    slope, offset = np.polyfit(ta, tb, 1)
    resid = tb - (slope * ta + offset)
    ends = np.array([0.0, length_a])
    depart = np.abs((slope * ends + offset) - ends / ratio).max() * 1000  # a line: its ends are the extremes
    res.update(fitted_ratio=f"{1 / slope:.4f}", fitted_offset_s=f"{offset:.4f}",
               residual_ms=f"{np.sqrt(np.mean(resid ** 2)) * 1000:.1f}", max_depart_ms=f"{depart:.1f}")
    if depart > MAX_DEPART_MS:
        res["verdict"] = f"departs from the nominal map by {depart:.0f} ms"
    elif float(res["residual_ms"]) > MAX_DEPART_MS:
        res["verdict"] = f"anchors scatter ({res['residual_ms']} ms rms about the fitted line)"
    return res


def cmd_timemap(listing: Path, out_dir: Path, result: Path) -> None:
    """Measure (or reread) every pair's anchors, fit, judge; RESULT gets one TSV row per pair."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fields = ["pair", "fitted_ratio", "fitted_offset_s", "residual_ms", "max_depart_ms", "matched", "verdict"]
    rows = []
    with listing.open() as f:
        items = list(csv.DictReader(f, delimiter="\t"))
    for item in items:
        pair, ratio = item["pair"], float(item["ratio"])
        cache = out_dir / f"{pair}.csv"
        length_a = float(item["length_a"])
        if cache.exists():
            with cache.open() as f:
                anc = [(float(r["t_a"]), float(r["t_b"]), float(r["corr"])) for r in csv.DictReader(f)]
        else:
            env_a, env_b = onset_envelope(read_wav(Path(item["wav_a"]))), onset_envelope(read_wav(Path(item["wav_b"])))
            anc = anchors(env_a, env_b, ratio) if len(env_a) and len(env_b) else []
            tmp = cache.with_suffix(".part")
            with tmp.open("w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["t_a", "t_b", "corr"])
                w.writerows([f"{a:.4f}", f"{b:.4f}", f"{c:.3f}"] for a, b, c in anc)
            tmp.replace(cache)
        res = judge(anc, ratio, length_a)
        rows.append({"pair": pair, **res})
        if res["verdict"] != "ok":
            print(f"  left out {pair}: {res['verdict']}", flush=True)
    write_tsv(result, fields, rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scores")
    s.add_argument("corpus", type=Path)
    s.add_argument("midi_dir", type=Path)
    s.add_argument("listing", type=Path)
    s.add_argument("max", type=int)
    s.add_argument("--min-sec", type=float, default=45.0)
    s.add_argument("--limit-s", type=int, default=10, help="skip a score whose parse and MIDI take longer")
    s.add_argument("--clip-s", type=float, default=78.0, help="cut both MIDI files after this much of A")
    t = sub.add_parser("pair")
    t.add_argument("src", type=Path)
    t.add_argument("dst_a", type=Path)
    t.add_argument("dst_b", type=Path)
    t.add_argument("ratio", type=float)
    t.add_argument("clip_s", type=float)
    m = sub.add_parser("timemap")
    m.add_argument("listing", type=Path)
    m.add_argument("out_dir", type=Path)
    m.add_argument("result", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "scores":
        cmd_scores(args.corpus, args.midi_dir, args.listing, args.max, args.min_sec, args.limit_s, args.clip_s)
    elif args.cmd == "pair":
        make_pair(args.src, args.dst_a, args.dst_b, args.ratio, args.clip_s)
    else:
        cmd_timemap(args.listing, args.out_dir, args.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
