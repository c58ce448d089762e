#!/usr/bin/env bash
# make_eval_set.sh CORPUS_DIR   (data tool: a wider evaluation set for scripts/eval_reconstruct.py)
#
# The development corpus (scripts/build_corpus.sh) uses 10 of the tracks and 2 of the
# MIDI files its Debian packages hold. This script makes the rest into an evaluation set,
# from the corpus's own download cache (CORPUS_DIR/.cache, so nothing new is fetched):
#
#   CORPUS_DIR/eval/music/*.wav   every other music track of those packages that lasts at
#                                 least MIN_SEC s (first MAX_SEC s, 22050 Hz mono)
#   CORPUS_DIR/eval/pairs/*.wav   for every MIDI file: rendition A (FluidSynth, FluidR3 GM) and
#                                 rendition B (another synthesizer and/or soundfont, some at
#                                 another tempo); pairs.csv in the corpus's format
#
# Idempotent: files already there are kept. Needs the corpus (with its cache) and the
# tools build_corpus.sh installed (ffmpeg, fluidsynth, timidity, soundfonts).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CORPUS_DIR" >&2; exit 2; }
T=$(cd "$1" && pwd)
X=$T/.cache/x
[ -d "$X" ] || { echo "$T/.cache/x: no corpus cache; build the corpus first (without CLEAN_CACHE=1): bash scripts/build_corpus.sh $T" >&2; exit 2; }
for tool in ffmpeg ffprobe fluidsynth timidity; do
  command -v $tool >/dev/null || { echo "$tool missing: run bash scripts/build_corpus.sh $T first (it installs it)" >&2; exit 2; }
done
MIN_SEC=${MIN_SEC:-60}
MAX_SEC=${MAX_SEC:-90}
PAIR_SEC=${PAIR_SEC:-75}
SR=22050
M=$T/eval/music
P=$T/eval/pairs
mkdir -p "$M" "$P"
SF_FLUID=/usr/share/sounds/sf2/FluidR3_GM.sf2
SF_TIM=/usr/share/sounds/sf2/TimGM6mb.sf2

duration() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
to_wav() {  # IN OUT CAP: mono 22050 Hz s16, first CAP s
  ffmpeg -nostdin -v error -y -i "$1" -t "$3" -map 0:a:0 -ac 1 -ar $SR -c:a pcm_s16le "$2.part.wav" && mv "$2.part.wav" "$2"
}

# ---------------------------------------------------------------- music: tracks the corpus does not use
USED="War of freedom|Escape from chaosland|electro.ogg|toxcity.ogg|mechanic.ogg|pingus-4.it|gd-giirm.s3m|spunkyrace-ks.ogg|race1-jt.ogg|introzik.ogg"
{
  find "$X/fretsonfire-songs-sectoid" -name song.ogg
  find "$X/pushover-data" -path '*themes*' -name '*.ogg'
  find "$X/pingus-data" -path '*music*' \( -name '*.it' -o -name '*.s3m' -o -name '*.xm' -o -name '*.mod' \)
  find "$X/extremetuxracer-data" -path '*music*' -name '*.ogg'
  find "$X/frozen-bubble-data" -name '*zik*.ogg'
} | sort | while read -r f; do
  grep -qE "$USED" <<< "$f" && continue
  pkg=$(sed "s|^$X/||; s|/.*||" <<< "$f")
  base=$(basename "$f"); [ "$base" = song.ogg ] && base=$(basename "$(dirname "$f")")
  id=$(echo "${pkg%%-*}_${base%.*}" | tr 'A-Z ' 'a-z_' | tr -cd 'a-z0-9_-')
  out=$M/$id.wav
  [ -s "$out" ] && continue
  d=$(duration "$f" 2>/dev/null || echo 0)
  awk -v d="$d" -v m="$MIN_SEC" 'BEGIN{exit !(d+0 >= m+0)}' || { echo "skip $id ($d s)"; continue; }
  to_wav "$f" "$out" "$MAX_SEC" || { echo "skip $id (ffmpeg cannot read it)"; rm -f "$out.part.wav"; continue; }
  echo "music $id"
done

# ---------------------------------------------------------------- pairs: every MIDI, two renditions
# B is chosen in turn from these renditions (synth | soundfont or config | tempo %)
RENDITIONS=("fluid|$SF_TIM|100" "timidity|freepats|90" "timidity|$SF_TIM|110" "timidity|freepats|100"
            "timidity|$SF_TIM|90" "fluid|$SF_TIM|100" "timidity|freepats|110" "timidity|$SF_TIM|95")
TIM_SF_CFG=$P/.timgm6mb.cfg
echo "soundfont $SF_TIM" > "$TIM_SF_CFG"
echo "pair,file_a,file_b,source_midi,source_package,tempo_ratio_b_over_a,time_map,note" > "$P/pairs.csv.part"
i=0
for mid in $(find "$X/openttd-openmsx" -name '*.mid' | sort); do
  stem=$(basename "$mid" .mid)
  case $stem in boogi_marabi_redfarn|the_fast_route) continue;; esac  # the corpus's own pairs
  IFS='|' read -r synth sf tempo <<< "${RENDITIONS[$((i % ${#RENDITIONS[@]}))]}"
  i=$((i + 1))
  a=e$(printf %02d $i)_${stem}_A_fluidsynth_FluidR3.wav
  sfname=$(basename "$sf" .sf2)
  b=e$(printf %02d $i)_${stem}_B_${synth}_${sfname}_tempo${tempo}.wav
  if [ ! -s "$P/$a" ]; then
    fluidsynth -ni -q -r 44100 -g 0.5 -F "$P/$a.tmp.wav" "$SF_FLUID" "$mid" >/dev/null 2>&1 || true
    [ -s "$P/$a.tmp.wav" ] && to_wav "$P/$a.tmp.wav" "$P/$a" "$PAIR_SEC"; rm -f "$P/$a.tmp.wav"
  fi
  if [ ! -s "$P/$b" ]; then
    cap=$(awk -v s="$PAIR_SEC" -v t="$tempo" 'BEGIN{printf "%.3f", s * 100 / t + 2}')
    if [ "$synth" = fluid ]; then
      fluidsynth -ni -q -r 44100 -g 0.5 -F "$P/$b.tmp.wav" "$sf" "$mid" >/dev/null 2>&1 || true
    else
      cfg=/etc/timidity/freepats.cfg; [ "$sf" = freepats ] || cfg=$TIM_SF_CFG
      timidity -c "$cfg" -idq -Ow -s 44100 -T "$tempo" -o "$P/$b.tmp.wav" "$mid" >/dev/null 2>&1 || true
    fi
    [ -s "$P/$b.tmp.wav" ] && to_wav "$P/$b.tmp.wav" "$P/$b" "$cap"; rm -f "$P/$b.tmp.wav"
  fi
  [ -s "$P/$a" ] && [ -s "$P/$b" ] || { echo "skip pair $stem (render failed)"; continue; }
  ratio=$(awk -v t="$tempo" 'BEGIN{printf "%.2f", t / 100}')
  echo "e$(printf %02d $i),$a,$b,openmsx/$stem.mid,openttd-openmsx (GPL-2),$ratio,t_b = t_a / $ratio,$synth $sfname tempo $tempo%" >> "$P/pairs.csv.part"
  echo "pair $stem ($synth $sfname $tempo%)"
done
mv "$P/pairs.csv.part" "$P/pairs.csv"
cp -f "$X/openttd-openmsx/usr/share/doc/openttd-openmsx/copyright" "$P/openttd-openmsx.copyright" 2>/dev/null || true
echo "eval set: $(ls "$M"/*.wav | wc -l) tracks in $M, $(($(wc -l < "$P/pairs.csv") - 1)) pairs in $P"
