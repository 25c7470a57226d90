#!/usr/bin/env bash
# Series benchmark (figures in the README, "Many images and clusters"):
#
#   1. IMAGES small images (128x128, a rotation scan with noise) as one series, against the same
#      images as IMAGES separate runs of this program in a shell loop (and of the reference
#      nanoBragg when NB_C_BIN points to its binary);
#      The same for light images (no noise image, -oversample 1: the render is ~10x cheaper),
#      where the fixed costs of a run dominate;
#   2. the same series on 1 rank and on 2 ranks (-rank/-ranks, two processes at once), each
#      rank with one thread (RAYON_NUM_THREADS=1);
#   3. the per-image overhead of a series: (T(IMAGES) - T(1)) / (IMAGES - 1) for series of
#      1x1-pixel images, where the render is nothing (the per-image set-up stages, the plan,
#      writing the three files and the manifest line).
#
#   benches/series.sh            (IMAGES=200 RUNS=3 THREADS=2 NB_BIN=target/release/nanoBragg)
#
# Wall-clock times from bash's $EPOCHREALTIME (no timing process), median of RUNS runs, each
# in a fresh folder. Not a test: the figures depend on the machine and its load.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${IMAGES:-200}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
if [[ -z "${NB_BIN:-}" ]]; then
    cargo build --release --quiet --bin nanoBragg
    NB_BIN=target/release/nanoBragg
fi
NB_BIN=$(readlink -f "$NB_BIN")
OSC=0.1
BASE="-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 128 -pixel 0.4 -distance 100 -phi 1 -osc $OSC -nopgm"
SERIES_OUT="-floatfile img_%05d.bin -intfile img_%05d.img -noisefile noise_%05d.img"
# WORK=/dev/shm puts the files in memory (no disk in the figures); default: a folder in /tmp
work=$(mktemp -d -p "${WORK:-/tmp}")
trap 'rm -rf "$work"' EXIT

us() { echo $(( 10#${1%[.,]*} * 1000000 + 10#${1#*[.,]} )); }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
fresh() { rm -rf "$work/run"; mkdir "$work/run"; cd "$work/run"; }

# one series of IMAGES images
series() {
    RAYON_NUM_THREADS=$THREADS "$NB_BIN" $BASE -seed 1 -images "$IMAGES" $SERIES_OUT >/dev/null 2>&1
}
LIGHT="-oversample 1 -nonoise"
light_series() {
    RAYON_NUM_THREADS=$THREADS "$NB_BIN" $BASE $LIGHT -images "$IMAGES" \
        -floatfile img_%05d.bin -intfile img_%05d.img >/dev/null 2>&1
}
light_loop() {
    local i phi
    for ((i = 1; i <= IMAGES; i++)); do
        phi=$(awk -v i="$i" -v o="$OSC" 'BEGIN { printf "%.10g", 1 + (i - 1) * o }')
        RAYON_NUM_THREADS=$THREADS "$NB_BIN" $BASE $LIGHT -phi "$phi" \
            -floatfile "img_$i.bin" -intfile "img_$i.img" >/dev/null 2>&1
    done
}
# the same images, one run each (the series' image i is -phi 1+(i-1)*OSC with its own seed)
loop() {
    local bin=$1 i phi
    for ((i = 1; i <= IMAGES; i++)); do
        phi=$(awk -v i="$i" -v o="$OSC" 'BEGIN { printf "%.10g", 1 + (i - 1) * o }')
        OMP_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS "$bin" $BASE -phi "$phi" -seed "$i" \
            -floatfile "img_$i.bin" -intfile "img_$i.img" -noisefile "noise_$i.img" >/dev/null 2>&1
    done
}
# the series on RANKS processes at once, one thread each
ranks() {
    local n=$1 r
    for ((r = 0; r < n; r++)); do
        RAYON_NUM_THREADS=1 "$NB_BIN" $BASE -seed 1 -images "$IMAGES" $SERIES_OUT \
            -rank "$r" -ranks "$n" >/dev/null 2>&1 &
    done
    wait
}
# per-image overhead: a series of N 1x1-pixel images
tiny() {
    RAYON_NUM_THREADS=1 "$NB_BIN" -cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 1 \
        -oversample 1 -phi 1 -osc $OSC -seed 1 -nopgm -images "$1" $SERIES_OUT >/dev/null 2>&1
}

timed() {
    local name=$1 t0 t1 v=()
    shift
    for ((k = 0; k < RUNS; k++)); do
        fresh
        t0=$EPOCHREALTIME
        "$@"
        t1=$EPOCHREALTIME
        v+=($(( $(us "$t1") - $(us "$t0") )))
    done
    median "${v[@]}"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "$IMAGES images of 128x128 pixels, RUNS=$RUNS, THREADS=$THREADS"
s=$(timed series series)
l=$(timed loop loop "$NB_BIN")
awk -v s="$s" -v l="$l" -v n="$IMAGES" 'BEGIN {
    printf "series:                   %8.3f s  (%.2f ms per image)\n", s / 1e6, s / 1e3 / n
    printf "loop of separate runs:    %8.3f s  (%.2f ms per image)  series is %.1fx faster\n", l / 1e6, l / 1e3 / n, l / s }'
if [[ -n "${NB_C_BIN:-}" ]]; then
    c=$(timed reference loop "$(readlink -f "$NB_C_BIN")")
    awk -v s="$s" -v c="$c" -v n="$IMAGES" 'BEGIN {
        printf "loop of the reference:    %8.3f s  (%.2f ms per image)  series is %.1fx faster\n", c / 1e6, c / 1e3 / n, c / s }'
fi
ls_=$(timed light-series light_series)
ll=$(timed light-loop light_loop)
awk -v s="$ls_" -v l="$ll" -v n="$IMAGES" 'BEGIN {
    printf "light images, series:     %8.3f s  (%.2f ms per image)\n", s / 1e6, s / 1e3 / n
    printf "light images, loop:       %8.3f s  (%.2f ms per image)  series is %.1fx faster\n", l / 1e6, l / 1e3 / n, l / s }'
r1=$(timed one-rank ranks 1)
r2=$(timed two-ranks ranks 2)
awk -v a="$r1" -v b="$r2" 'BEGIN {
    printf "1 rank, 1 thread:         %8.3f s\n2 ranks, 1 thread each:   %8.3f s  (%.2fx)\n", a / 1e6, b / 1e6, a / b }'
t1=$(timed tiny1 tiny 1)
tn=$(timed tiny tiny "$IMAGES")
awk -v a="$t1" -v b="$tn" -v n="$IMAGES" 'BEGIN {
    printf "per-image overhead:       %8.0f us  ((T(%d) - T(1)) / %d for 1x1-pixel images, 1 thread: per-image set-up, plan, 3 files, a manifest line)\n", (b - a) / (n - 1), n, n - 1 }'
