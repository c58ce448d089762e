"""Every command against every kind of bad input: a clear error, nothing lost.

Each case runs ``videothat`` in this process and checks the CLI's contract: the exit code,
that the message names the file or key, that no traceback is printed, that no temporary
file, output or cache entry is left half-written (and, for a case refused before any work,
that no work was done at all), and that no input changed. The cases are listed in
docs/cli.md ("Bad input"); the kill, concurrency and damaged-state tests are beside this file.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from badkit import (
    broken_cache_entries,
    fingerprints,
    make_media,
    run,
    temp_files,
    unwritable_folder,
    work_done,
)
from videothat.cli import main

NO_CACHE = ("index remove", "index stats")  # commands without --cache-dir


@dataclass(frozen=True)
class Case:
    """``videothat ARGV`` (placeholders below) exits ``code`` and its stderr names every one
    of ``says``; ``early``: refused before any work (nothing in the cache)."""

    argv: str
    code: int
    says: tuple[str, ...]
    early: bool = False


# placeholders: {m} the media folder, {o} this case's output folder (holding folders named
# isdir.mp4, isdir.timeline.json, isdir.json, rep.report.html and isdir2.timeline.json),
# {ro} a folder nothing can be written in, {idx}/{music} a shots/music index (read only),
# {widx}/{wmusic} this case's own copy of one (written).
S, V = "--song {m}/song.wav", "--videos {m}/good.mp4"
MAKE, MATCH, MOSAIC = f"make {S} {V} -o {{o}}/mv.mp4", f"match {S} {V} -o {{o}}/mv", \
    f"mosaic --target {{m}}/song.wav {V} -o {{o}}/mosaic.mp4"
QUERY = "query --song {m}/song.wav --index {idx}"
SOUNDTRACK, MUSIC = "soundtrack --video {m}/noaudio.mp4 --index {idx}", "music --video {m}/good.mp4 --index {music}"
BUILD = "index build {m}/good.mp4 --index {o}/new.idx"

CASES = {
    # -- analyze: media ------------------------------------------------------------------------------------
    "analyze/missing": Case("analyze {m}/missing.mp4", 1, ("missing.mp4", "no such file")),
    "analyze/empty": Case("analyze {m}/empty.mp4", 1, ("empty.mp4", "empty (0 bytes)")),
    "analyze/zero-length": Case("analyze {m}/zero.wav", 1, ("zero.wav",)),
    "analyze/truncated": Case("analyze {m}/truncated.mp4", 1, ("truncated.mp4", "cannot be read")),
    "analyze/text-as-mp4": Case("analyze {m}/text.mp4", 1, ("text.mp4", "cannot be read as media")),
    "analyze/no-audio": Case("analyze {m}/noaudio.mp4 match.visual_weight=0", 1, ("noaudio.mp4", "no audio stream")),
    "analyze/no-audio-by-pictures": Case("analyze {m}/noaudio.mp4", 0, ("pictures only   1",)),
    "analyze/silent-audio": Case("analyze {m}/silent.wav", 1, ("silent.wav", "silent")),
    "analyze/silent-video": Case("analyze {m}/silent.mp4 match.visual_weight=0", 1, ("silent.mp4", "silent")),
    "analyze/one-frame": Case("analyze {m}/oneframe.mp4", 0, ("files analysed  1",)),
    "analyze/hours-long-claim": Case("analyze {m}/hours.wav", 0, ("files analysed  1",)),
    "analyze/non-ascii-name": Case("analyze '{m}/vidéo 音.mp4'", 0, ("files analysed  1",)),
    "analyze/folder-without-media": Case("analyze {m}/nomedia", 1, ("nomedia", "holds no media")),
    "analyze/folder-of-good-and-bad": Case("analyze {m} match.visual_weight=0", 1,
                                           ("text.mp4", "empty.mp4", "truncated.mp4", "noaudio.mp4")),
    "analyze/no-paths": Case("analyze audio.n_fft=1024", 2, ("at least one file",), early=True),
    # -- analyze: overrides ------------------------------------------------------------------------------
    "analyze/unknown-key": Case("analyze {m}/good.mp4 audio.nonsense=1", 2,
                                 ("unknown key audio.nonsense", "see 'videothat config'"), True),
    "analyze/unknown-key-added": Case("analyze {m}/good.mp4 +audio.nonsense=1", 2, ("audio.nonsense",), True),
    "analyze/unknown-section": Case("analyze {m}/good.mp4 nonsense.key=1", 2, ("nonsense.key",), True),
    "analyze/unknown-option": Case("analyze {m}/good.mp4 shots=histogram", 2, ("histogram",), True),
    "analyze/huge-n_fft": Case("analyze {m}/good.mp4 audio.n_fft=100000000", 2, ("audio.n_fft=100000000",), True),
    "analyze/huge-sample_rate": Case("analyze {m}/good.mp4 audio.sample_rate=10000000", 2,
                                     ("audio.sample_rate",), True),
    "analyze/tiny-hop": Case("analyze {m}/good.mp4 audio.hop_length=1", 2, ("audio.hop_length=1",), True),
    "analyze/huge-n_mels": Case("analyze {m}/good.mp4 audio.n_mels=100000", 2, ("audio.n_mels",), True),
    "analyze/huge-max_size": Case("analyze {m}/good.mp4 audio.max_size=100000000", 2, ("audio.max_size",), True),
    "analyze/huge-block": Case("analyze {m}/good.mp4 analysis.batch_frames=1000000", 2, ("batch_frames",), True),
    "analyze/many-workers": Case("analyze {m}/good.mp4 analysis.workers=1000", 2, ("analysis.workers",), True),
    "analyze/nan-fmax": Case("analyze {m}/good.mp4 audio.fmax=nan", 2, ("audio.fmax=nan", "finite"), True),
    "analyze/nan-top_db": Case("analyze {m}/good.mp4 audio.top_db=nan", 2, ("audio.top_db=nan",), True),
    "analyze/inf-top_db": Case("analyze {m}/good.mp4 audio.top_db=inf", 2, ("audio.top_db=inf",), True),
    "analyze/-inf-fmin": Case("analyze {m}/good.mp4 audio.fmin=-inf", 2, ("audio.fmin",), True),
    "analyze/nan-silence_db": Case("analyze {m}/good.mp4 analysis.silence_db=nan", 2, ("analysis.silence_db",), True),
    "analyze/inf-shot-length": Case("analyze {m}/good.mp4 shots.min_length=inf", 2, ("shots.min_length",), True),
    "analyze/nan-motion": Case("analyze {m}/good.mp4 vision.motion.blur=nan", 2, ("vision.motion.blur",), True),
    "analyze/text-for-int": Case("analyze {m}/good.mp4 audio.n_fft=abc", 2, ("audio.n_fft='abc'",), True),
    "analyze/text-for-bool": Case("analyze {m}/good.mp4 audio.center=maybe", 2, ("audio.center",), True),
    "analyze/bad-device": Case("analyze {m}/good.mp4 device=tpu", 2, ("device='tpu'",), True),
    # -- analyze: caches ---------------------------------------------------------------------------------
    "analyze/cache-unwritable": Case("analyze {m}/good.mp4 --cache-dir {ro}/cache", 0,
                                     ("{ro}/cache", "without a cache", "--cache-dir")),
    "analyze/cache-is-a-file": Case("analyze {m}/good.mp4 --cache-dir {m}/song.wav", 0,
                                    ("song.wav is not a folder", "without a cache")),
    # -- make: the song ----------------------------------------------------------------------------------
    "make/song-missing": Case(f"make --song {{m}}/missing.wav {V} -o {{o}}/mv.mp4", 2, ("song", "missing.wav")),
    "make/song-empty": Case(f"make --song {{m}}/empty.mp4 {V} -o {{o}}/mv.mp4", 2, ("empty.mp4", "0 bytes")),
    "make/song-zero-length": Case(f"make --song {{m}}/zero.wav {V} -o {{o}}/mv.mp4", 2, ("zero.wav",)),
    "make/song-truncated": Case(f"make --song {{m}}/truncated.mp4 {V} -o {{o}}/mv.mp4", 2, ("truncated.mp4",)),
    "make/song-text": Case(f"make --song {{m}}/text.mp4 {V} -o {{o}}/mv.mp4", 2, ("text.mp4", "cannot be read")),
    "make/song-silent": Case(f"make --song {{m}}/silent.wav {V} -o {{o}}/mv.mp4", 2, ("silent.wav", "silent")),
    "make/song-without-sound": Case(f"make --song {{m}}/noaudio.mp4 {V} -o {{o}}/mv.mp4", 2,
                                    ("noaudio.mp4", "no audio")),
    # -- make: the videos --------------------------------------------------------------------------------
    "make/videos-missing": Case(f"make {S} --videos {{m}}/missing.mp4 -o {{o}}/mv.mp4", 2, ("missing.mp4",)),
    "make/videos-empty": Case(f"make {S} --videos {{m}}/empty.mp4 -o {{o}}/mv.mp4", 2, ("empty.mp4",)),
    "make/videos-truncated": Case(f"make {S} --videos {{m}}/truncated.mp4 -o {{o}}/mv.mp4", 2, ("truncated.mp4",)),
    "make/videos-text": Case(f"make {S} --videos {{m}}/text.mp4 -o {{o}}/mv.mp4", 2, ("text.mp4", "no usable")),
    "make/videos-no-audio": Case(f"make {S} --videos {{m}}/noaudio.mp4 -o {{o}}/mv.mp4 match.visual_weight=0", 2,
                                 ("noaudio.mp4", "no audio stream")),
    "make/videos-silent": Case(f"make {S} --videos {{m}}/silent.mp4 -o {{o}}/mv.mp4 match.visual_weight=0", 2,
                               ("silent.mp4", "silent")),
    "make/videos-one-frame": Case(f"make {S} --videos {{m}}/oneframe.mp4 -o {{o}}/mv.mp4", 2, ("match.min_length",)),
    "make/videos-audio-only": Case(f"make {S} --videos {{m}}/hours.wav -o {{o}}/mv.mp4", 2, ("no usable videos",)),
    "make/no-song": Case(f"make {V} -o {{o}}/mv.mp4", 2, ("--song",), True),
    "make/no-videos": Case(f"make {S} -o {{o}}/mv.mp4", 2, ("--videos", "--index"), True),
    # -- make: outputs -----------------------------------------------------------------------------------
    "make/out-is-a-folder": Case(f"make {S} {V} -o {{o}}/isdir.mp4", 2, ("isdir.mp4", "is a folder"), True),
    "make/out-folder-missing": Case(f"make {S} {V} -o {{o}}/nowhere/mv.mp4", 2, ("nowhere", "does not exist"), True),
    "make/out-folder-unwritable": Case(f"make {S} {V} -o {{ro}}/mv.mp4", 2, ("{ro}", "not writable"), True),
    "make/out-under-a-file": Case(f"make {S} {V} -o {{m}}/song.wav/mv.mp4", 2, ("song.wav", "not a folder"), True),
    "make/out-is-the-video": Case(f"make {S} {V} -o {{m}}/good.mp4", 2, ("good.mp4", "is the input"), True),
    "make/out-is-the-video-no-suffix": Case(f"make {S} {V} -o {{m}}/good", 2, ("good.mp4", "is the input"), True),
    "make/out-is-the-song": Case("make --song {m}/good.mp4 --videos {m}/good2.mp4 -o {m}/good.mp4", 2,
                                 ("good.mp4", "is the input"), True),
    "make/out-is-a-video-in-a-folder": Case(f"make {S} --videos {{m}}/clips -o {{m}}/clips/clip.mp4", 2,
                                            ("clip.mp4", "is the input"), True),
    "make/out-is-an-indexed-video": Case(f"make {S} --index {{idx}} -o {{m}}/good.mp4", 2,
                                         ("good.mp4", "is the input"), True),
    "make/timeline-is-a-folder": Case(f"make {S} {V} -o {{o}}/isdir2.mp4", 2, ("isdir2.timeline.json",), True),
    "make/report-is-a-folder": Case(f"make {S} {V} -o {{o}}/rep.mp4 --report", 2, ("rep.report.html",), True),
    # -- make: overrides and index -----------------------------------------------------------------------
    "make/unknown-key": Case(f"{MAKE} match.beam=4", 2, ("match.beam",), True),
    "make/nan-power": Case(f"{MAKE} match.power=nan", 2, ("match.power=nan",), True),
    "make/inf-floor": Case(f"{MAKE} match.floor=inf", 2, ("match.floor=inf",), True),
    "make/nan-subtract": Case(f"{MAKE} match.subtract=nan", 2, ("match.subtract=nan",), True),
    "make/inf-max_length": Case(f"{MAKE} match.max_length=inf", 2, ("match.max_length",), True),
    "make/huge-beam": Case(f"{MAKE} match.beam_width=100000000", 2, ("match.beam_width",), True),
    "make/huge-expansions": Case(f"{MAKE} match.expansions=100000000", 2, ("match.expansions",), True),
    "make/huge-frames": Case(f"{MAKE} render.width=100000 render.height=100000", 2, ("render.width",), True),
    "make/odd-size": Case(f"{MAKE} render.width=101", 2, ("101", "even"), True),
    "make/nan-fps": Case(f"{MAKE} render.fps=nan", 2, ("render.fps=nan",), True),
    "make/negative-bitrate": Case(f"{MAKE} render.audio_bitrate=-5", 2, ("render.audio_bitrate",), True),
    "make/bad-preset": Case(f"{MAKE} render.preset=blah", 2, ("render.preset='blah'",), True),
    "make/index-missing": Case(f"make {S} --index {{m}}/nowhere.idx -o {{o}}/mv.mp4", 2,
                               ("nowhere.idx", "not a VideoThat index"), True),
    "make/index-is-a-file": Case(f"make {S} --index {{m}}/good.mp4 -o {{o}}/mv.mp4", 2, ("good.mp4",), True),
    # -- match -------------------------------------------------------------------------------------------
    "match/song-missing": Case(f"match --song {{m}}/missing.wav {V} -o {{o}}/mv", 2, ("missing.wav",)),
    "match/videos-text": Case(f"match {S} --videos {{m}}/text.mp4 -o {{o}}/mv", 2, ("text.mp4",)),
    "match/out-is-a-folder": Case(f"match {S} {V} -o {{o}}/isdir", 2, ("isdir.timeline.json", "is a folder"), True),
    "match/out-folder-missing": Case(f"match {S} {V} -o {{o}}/nowhere/mv", 2, ("nowhere",), True),
    "match/out-folder-unwritable": Case(f"match {S} {V} -o {{ro}}/mv", 2, ("not writable",), True),
    "match/nan-harmony": Case(f"{MATCH} match.harmony=nan", 2, ("match.harmony=nan",), True),
    "match/huge-shortlist": Case(f"{MATCH} match.shortlist=100000000", 2, ("match.shortlist",), True),
    # -- mosaic ------------------------------------------------------------------------------------------
    "mosaic/target-missing": Case(f"mosaic --target {{m}}/missing.wav {V} -o {{o}}/m.mp4", 2, ("missing.wav",)),
    "mosaic/target-text": Case(f"mosaic --target {{m}}/text.mp4 {V} -o {{o}}/m.mp4", 2, ("text.mp4",)),
    "mosaic/target-silent": Case(f"mosaic --target {{m}}/silent.wav {V} -o {{o}}/m.mp4", 2, ("silent.wav", "silent")),
    "mosaic/videos-no-audio": Case("mosaic --target {m}/song.wav --videos {m}/noaudio.mp4 -o {o}/m.mp4", 2,
                                   ("noaudio.mp4", "no audio stream")),
    "mosaic/target-one-frame": Case(f"mosaic --target {{m}}/oneframe.mp4 {V} -o {{o}}/m.mp4", 0, ("1 runs over",)),
    "mosaic/target-shorter-than-a-unit": Case(f"mosaic --target {{m}}/oneframe.mp4 {V} -o {{o}}/m.mp4 "
                                              "mosaic.unit_rate=11", 2, ("oneframe.mp4", "shorter than one unit")),
    "mosaic/out-is-the-video": Case(f"mosaic --target {{m}}/song.wav {V} -o {{m}}/good.mp4", 2,
                                    ("good.mp4", "is the input"), True),
    "mosaic/out-is-the-target": Case(f"mosaic --target {{m}}/good2.mp4 {V} -o {{m}}/good2", 2,
                                     ("good2.mp4", "is the input"), True),
    "mosaic/out-is-a-folder": Case(f"mosaic --target {{m}}/song.wav {V} -o {{o}}/isdir.mp4", 2, ("isdir.mp4",), True),
    "mosaic/report-is-a-folder": Case(f"mosaic --target {{m}}/song.wav {V} -o {{o}}/rep.mp4 --report", 2,
                                      ("rep.report.html", "is a folder"), True),
    "mosaic/nan-continuity": Case(f"{MOSAIC} mosaic.continuity=nan", 2, ("mosaic.continuity=nan",), True),
    "mosaic/inf-mix": Case(f"{MOSAIC} mosaic.mix=inf", 2, ("mosaic.mix=inf",), True),
    "mosaic/huge-longest": Case(f"{MOSAIC} mosaic.longest=1e9", 2, ("mosaic.longest",), True),
    "mosaic/unknown-sound": Case(f"{MOSAIC} mosaic.sound=loud", 2, ("mosaic.sound='loud'",), True),
    "mosaic/huge-k": Case(f"{MOSAIC} mosaic.k=100000", 2, ("mosaic.k=100000",), True),
    "mosaic/unknown-key": Case(f"{MOSAIC} mosaic.nope=1", 2, ("mosaic.nope",), True),
    # -- soundtrack --------------------------------------------------------------------------------------
    "soundtrack/video-missing": Case("soundtrack --video {m}/missing.mp4 --index {idx} -o {o}/s.mp4", 2,
                                     ("missing.mp4",)),
    "soundtrack/video-text": Case("soundtrack --video {m}/text.mp4 --index {idx} -o {o}/s.mp4", 2, ("text.mp4",)),
    "soundtrack/video-no-pictures": Case("soundtrack --video {m}/song.wav --index {idx} -o {o}/s.mp4", 2,
                                         ("song.wav", "no video stream"), True),
    "soundtrack/video-one-frame": Case("soundtrack --video {m}/oneframe.mp4 --index {idx} -o {o}/s.mp4", 2,
                                       ("oneframe.mp4",)),
    "soundtrack/index-missing": Case("soundtrack --video {m}/noaudio.mp4 --index {o}/none.idx -o {o}/s.mp4", 2,
                                     ("none.idx", "not a VideoThat index"), True),
    "soundtrack/landmark-index": Case("soundtrack --video {m}/noaudio.mp4 --index {music} -o {o}/s.mp4", 2,
                                      ("landmark index", "index.encoder=rhythm"), True),
    "soundtrack/out-is-the-video": Case("soundtrack --video {m}/good.mp4 --index {idx} -o {m}/good.mp4", 2,
                                        ("good.mp4", "is the input"), True),
    "soundtrack/out-is-an-indexed-video": Case(f"{SOUNDTRACK} -o {{m}}/good.mp4", 2, ("good.mp4", "is the input"),
                                               True),
    "soundtrack/out-is-a-folder": Case(f"{SOUNDTRACK} -o {{o}}/isdir.mp4", 2, ("isdir.mp4", "is a folder"), True),
    "soundtrack/report-is-a-folder": Case(f"{SOUNDTRACK} -o {{o}}/rep.mp4 --report", 2, ("rep.report.html",), True),
    "soundtrack/nan-continuity": Case(f"{SOUNDTRACK} -o {{o}}/s.mp4 soundtrack.continuity=nan", 2,
                                      ("soundtrack.continuity=nan",), True),
    "soundtrack/window-under-hop": Case(f"{SOUNDTRACK} -o {{o}}/s.mp4 soundtrack.window=0.1", 2,
                                        ("soundtrack", "window=0.1"), True),
    "soundtrack/huge-k": Case(f"{SOUNDTRACK} -o {{o}}/s.mp4 soundtrack.k=100000", 2, ("soundtrack.k=100000",), True),
    # -- music -------------------------------------------------------------------------------------------
    "music/video-missing": Case("music --video {m}/missing.mp4 --index {music} -o {o}/m.mp4", 2, ("missing.mp4",)),
    "music/video-text": Case("music --video {m}/text.mp4 --index {music} -o {o}/m.mp4", 2, ("text.mp4",)),
    "music/video-no-pictures": Case("music --video {m}/song.wav --index {music} -o {o}/m.mp4", 2,
                                    ("song.wav", "no video stream"), True),
    "music/video-one-frame": Case("music --video {m}/oneframe.mp4 --index {music} -o {o}/m.mp4", 2,
                                  ("oneframe.mp4", "too short")),
    "music/shots-index": Case("music --video {m}/good.mp4 --index {idx} -o {o}/m.mp4", 2,
                              ("index of shots", "--songs"), True),
    "music/out-is-the-video": Case(f"{MUSIC} -o {{m}}/good.mp4", 2, ("good.mp4", "is the input"), True),
    "music/out-is-a-folder": Case(f"{MUSIC} -o {{o}}/isdir.mp4", 2, ("isdir.mp4", "is a folder"), True),
    "music/report-is-a-folder": Case(f"{MUSIC} -o {{o}}/rep.mp4 --report", 2, ("rep.report.html", "is a folder"), True),
    "music/k-zero": Case(f"{MUSIC} -o {{o}}/m.mp4 -k 0", 2, ("--top 0",), True),
    "music/nan-fade": Case(f"{MUSIC} -o {{o}}/m.mp4 music.fade_in=nan", 2, ("music.fade_in=nan",), True),
    "music/huge-candidates": Case(f"{MUSIC} -o {{o}}/m.mp4 music.candidates=1000000000", 2, ("music.candidates",),
                                  True),
    # -- demo --------------------------------------------------------------------------------------------
    "demo/out-is-a-folder": Case("demo -o {o}/isdir.mp4", 2, ("isdir.mp4", "is a folder"), True),
    "demo/out-folder-missing": Case("demo -o {o}/nowhere/demo.mp4", 2, ("nowhere",), True),
    "demo/nan-fps": Case("demo -o {o}/demo.mp4 render.fps=nan", 2, ("render.fps=nan",), True),
    # -- index build / add / remove / stats --------------------------------------------------------------
    "index-build/bad-media": Case("index build {m}/text.mp4 {m}/empty.mp4 --index {o}/new.idx", 1,
                                  ("text.mp4", "empty.mp4")),
    "index-build/missing-media": Case("index build {m}/missing.mp4 --index {o}/new.idx", 1, ("missing.mp4",)),
    "index-build/no-pictures": Case("index build {m}/song.wav --index {o}/new.idx", 1, ("song.wav", "no pictures")),
    "index-build/index-is-a-file": Case("index build {m}/good.mp4 --index {m}/song.wav", 2,
                                        ("song.wav", "is a file"), True),
    "index-build/index-unwritable": Case("index build {m}/good.mp4 --index {ro}/new.idx", 2, ("not writable",), True),
    "index-build/nan-query-hop": Case(f"{BUILD} index.query_hop=nan", 2, ("index.query_hop=nan",), True),
    "index-build/huge-k": Case(f"{BUILD} index.k=100000", 2, ("index.k=100000",), True),
    "index-build/huge-window": Case(f"{BUILD} index.rhythm.window=1e9", 2, ("index.rhythm.window",), True),
    "index-build/bad-type": Case(f"{BUILD} index.type=Nonsense", 2, ("Nonsense",), True),
    "index-build/unknown-key": Case(f"{BUILD} index.nope=1", 2, ("index.nope",), True),
    "index-build/negative-workers": Case(f"{BUILD} --workers -1", 2, ("--workers",), True),
    "index-build/landmarks-need-songs": Case(f"{BUILD} index.encoder=landmarks", 2, ("--songs",), True),
    "index-build/nan-landmarks": Case("index build {m}/song.wav --songs --index {o}/new.idx "
                                      "index.landmarks.min_db=nan", 2, ("index.landmarks.min_db=nan",), True),
    "index-build/songs-silent": Case("index build {m}/silent.wav --songs --index {o}/new.idx", 1,
                                     ("silent.wav", "no landmarks")),
    "index-add/no-index": Case("index add {m}/good.mp4 --index {o}/none.idx", 2, ("none.idx", "index build"), True),
    "index-add/bad-media": Case("index add {m}/text.mp4 --index {widx}", 1, ("text.mp4",)),
    "index-add/songs-bad-media": Case("index add {m}/truncated.mp4 --index {wmusic}", 1, ("truncated.mp4",)),
    "index-remove/no-index": Case("index remove {m}/good.mp4 --index {o}/none.idx", 2, ("none.idx",), True),
    "index-remove/not-indexed": Case("index remove {m}/text.mp4 --index {widx}", 1, ("removed 0 file(s)",), True),
    "index-stats/no-index": Case("index stats --index {o}/none.idx", 2, ("none.idx", "index build"), True),
    "index-stats/a-file": Case("index stats --index {m}/song.wav", 2, ("song.wav", "not a VideoThat index"), True),
    # -- query -------------------------------------------------------------------------------------------
    "query/index-missing": Case("query --song {m}/song.wav --index {o}/none.idx", 2, ("none.idx",), True),
    "query/song-missing": Case("query --song {m}/missing.wav --index {idx}", 2, ("missing.wav",)),
    "query/song-text": Case("query --song {m}/text.mp4 --index {idx}", 2, ("text.mp4",)),
    "query/video-missing": Case("query --video {m}/missing.mp4 --index {music}", 2, ("missing.mp4",)),
    "query/video-text": Case("query --video {m}/text.mp4 --index {music}", 2, ("text.mp4",)),
    "query/video-no-audio": Case("query --video {m}/noaudio.mp4 --index {music}", 2, ("noaudio.mp4", "no audio")),
    "query/k-zero": Case(f"{QUERY} -k 0", 2, ("-k 0",), True),
    "query/k-huge": Case(f"{QUERY} -k 100000000", 2, ("-k 100000000",), True),
    "query/out-is-a-folder": Case(f"{QUERY} -o {{o}}/isdir.json", 2, ("isdir.json", "is a folder"), True),
    "query/out-folder-missing": Case(f"{QUERY} -o {{o}}/nowhere/q.json", 2, ("nowhere",), True),
    "query/out-is-the-video": Case("query --video {m}/song.json --index {music} -o {m}/song.json", 2,
                                   ("song.json", "is the input"), True),
    "query/text-for-int": Case(f"{QUERY} index.k=abc", 2, ("index.k='abc'",), True),
    "query/nan-hop": Case(f"{QUERY} index.query_hop=nan", 2, ("index.query_hop=nan",), True),
    "query/landmarks-with-overrides": Case("query --video {m}/good.mp4 --index {music} index.k=4", 2,
                                           ("overrides",), True),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The media, a shots index and a music index built from them, and their fingerprints."""
    root = tmp_path_factory.mktemp("bad-input")
    media = make_media(root / "media")
    (media / "song.json").write_bytes((media / "song.wav").read_bytes())  # a sound whose name looks like output
    cache = root / "cache"
    for argv in (["index", "build", str(media / "good.mp4"), "--index", str(root / "shots.idx")],
                 ["index", "build", str(media / "song.wav"), "--songs", "--index", str(root / "music.idx")]):
        assert main([*argv, "--cache-dir", str(cache), "-q"]) == 0
    inputs = {"m": media, "idx": root / "shots.idx", "music": root / "music.idx"}
    return {**inputs, "ro": unwritable_folder(root), "before": {k: fingerprints(v) for k, v in inputs.items()}}


def _argv(case: Case, world: dict, tmp_path) -> list[str]:
    if "{ro}" in case.argv and world["ro"] is None:
        pytest.skip("no folder here refuses writes")
    out = tmp_path / "out"
    for folder in ("isdir.mp4", "isdir.timeline.json", "isdir.json", "rep.report.html", "isdir2.timeline.json"):
        (out / folder).mkdir(parents=True)
    names = {"m": world["m"], "o": out, "idx": world["idx"], "music": world["music"], "ro": world["ro"],
             "widx": tmp_path / "shots.idx", "wmusic": tmp_path / "music.idx"}
    for copy in ("idx", "music"):
        if "{w" + copy + "}" in case.argv:
            shutil.copytree(world[copy], names["w" + copy])
    argv = shlex.split(case.argv.format(**names))
    if not any(" ".join(argv).startswith(c) for c in NO_CACHE) and "--cache-dir" not in argv:
        argv += ["--cache-dir", str(tmp_path / "cache")]
    return [*argv, "-q"] if not any(" ".join(argv).startswith(c) for c in NO_CACHE) else argv


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, world, tmp_path, capsys):
    case = CASES[name]
    argv = _argv(case, world, tmp_path)
    outcome = run(argv, capsys)
    said = outcome.err + outcome.out
    assert outcome.code == case.code, said
    for word in case.says:
        assert word.format(ro=world["ro"]) in said, said
    if case.code == 2:
        assert outcome.err.strip().splitlines()[-1].startswith(("videothat: error: ", "videothat ")), outcome.err
    cache, out = tmp_path / "cache", tmp_path / "out"
    assert temp_files(tmp_path, world["m"]) == []
    assert broken_cache_entries(cache) == []
    if case.early:
        assert work_done(cache) == []
    if case.code:  # a failed command wrote no output; an index build that ran left a whole (empty) index
        made = sorted(p.name for p in out.iterdir() if p.is_file() or p.name.endswith((".idx", "_material")))
        assert made == (["new.idx"] if name.startswith("index-build/") and not case.early else [])
        if made:
            assert run(["index", "stats", "--index", str(out / "new.idx")], capsys).code == 0
    assert {k: fingerprints(world[k]) for k in world["before"]} == world["before"]  # no input changed


@pytest.mark.parametrize("name", ["make/out-is-a-folder", "analyze/nan-fmax", "analyze/text-as-mp4",
                                  "index-build/index-is-a-file"])
def test_the_command_itself_prints_one_line(name, world, tmp_path):
    """The same cases through the real ``videothat`` process: one line on stderr, no traceback,
    no log noise from the decoders."""
    case = CASES[name]
    done = subprocess.run([sys.executable, "-m", "videothat.cli", *_argv(case, world, tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == case.code and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_non_ascii_names_everywhere_make_a_video(world, tmp_path, capsys):
    """A song, a video and an output folder and name in several scripts: the whole job runs."""
    folder = tmp_path / "sortie é 出力"
    folder.mkdir()
    shutil.copy(world["m"] / "song.wav", folder / "chanson ü 歌.wav")
    outcome = run(["make", "--song", str(folder / "chanson ü 歌.wav"), "--videos", str(world["m"] / "vidéo 音.mp4"),
                   "-o", str(folder / "clip ñ 動画"), "--report", "--cache-dir", str(tmp_path / "cache"), "-q",
                   "render.width=160", "render.height=96", "render.fps=10"], capsys)
    assert outcome.code == 0, outcome.err
    made = sorted(p.name for p in folder.iterdir())
    assert made == ["chanson ü 歌.wav", "clip ñ 動画.mp4", "clip ñ 動画.otio", "clip ñ 動画.report.html",
                    "clip ñ 動画.timeline.json"]
    timeline = json.loads((folder / "clip ñ 動画.timeline.json").read_text())
    assert {Path(c["source"]).name for c in timeline["segments"]} == {"vidéo 音.mp4"}
    assert temp_files(tmp_path) == []
