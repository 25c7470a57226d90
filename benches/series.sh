#!/usr/bin/env bash
# Series benchmark (figures in the README, "Many images and clusters"):
#
#   1. IMAGES small images (128x128 rotation scans, phi advancing by -osc per image) as one
#      series, against the same images as IMAGES separate runs of this program in a shell loop
#      (and of the reference nanoBragg when NB_C_BIN points to its binary), for three kinds
#      of image:
#        default: the program's defaults (1 cell, so 2-fold oversampling) with noise images;
#        heavy:   -N 5 (6-fold oversampling: 36 sub-pixels per pixel) with noise images, where
#                 the render is most of an image and bounds what a series can save;
#        light:   -oversample 1 -nonoise, where a run's fixed costs are nearly everything;
#      series and loop runs alternate, so that a slow spell of the machine hits both;
#   2. the default and heavy series on 1 rank and on 2 ranks (-rank/-ranks, two processes at
#      once), each rank with one thread (RAYON_NUM_THREADS=1), alternating;
#   3. the per-image overhead of a series: (T(IMAGES) - T(1)) / (IMAGES - 1) for series of
#      1x1-pixel images, where the render is nothing (the per-image set-up stages, the plan,
#      writing the three files and the manifest line).
#
#   benches/series.sh            (IMAGES=200 RUNS=5 THREADS=2 SETTLE=30 NB_BIN=target/release/nanoBragg)
#   WORK=/dev/shm benches/series.sh      (the files in memory)
#
# Wall-clock times from bash's $EPOCHREALTIME (no timing process), median of RUNS runs, each
# in a new folder. Not a test: the figures depend on the machine and its load.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${IMAGES:-200}
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}
if [[ -z "${NB_BIN:-}" ]]; then
    cargo build --release --quiet --bin nanoBragg
    NB_BIN=target/release/nanoBragg
fi
NB_BIN=$(readlink -f "$NB_BIN")
[[ -n "${NB_C_BIN:-}" ]] && NB_C_BIN=$(readlink -f "$NB_C_BIN")
OSC=0.1
SCAN="-cell 100 100 100 90 90 90 -default_F 100 -detpixels 128 -pixel 0.4 -distance 100 -phi 1 -osc $OSC -nopgm"
declare -A KIND=([default]="-seed 1" [heavy]="-N 5 -seed 1" [light]="-oversample 1 -nonoise")
work=$(mktemp -d -p "${WORK:-/tmp}")
trap 'rm -rf "$work"' EXIT
# The deletes of an earlier run of this script slow file creation for about 30 s on ext4
# without a journal (see fresh() below): wait that out first (SETTLE=0 skips it).
sleep "${SETTLE:-30}"

us() { echo $(( 10#${1%[.,]*} * 1000000 + 10#${1#*[.,]} )); }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# Each run writes into a new folder, and nothing is deleted before the end: ext4 without a
# journal (this project's machines) makes every file created within seconds of a delete scan
# past the freed inodes, which would charge the benchmark's own clean-up to the next run.
fresh() { cd "$(mktemp -d -p "$work" run.XXXXXX)"; }
noise() { [[ $1 == *-nonoise* ]] || echo "$2"; }

# one series of IMAGES images of kind $1
series() {
    local k=${KIND[$1]}
    RAYON_NUM_THREADS=$THREADS "$NB_BIN" $SCAN $k -images "$IMAGES" -floatfile img_%05d.bin \
        -intfile img_%05d.img $(noise "$k" "-noisefile noise_%05d.img") >/dev/null 2>&1
}
# the same images, one run of binary $2 each (image i: -phi 1+(i-1)*OSC, its own noise seed)
loop() {
    local k=${KIND[$1]} bin=$2 i phi seed
    for ((i = 1; i <= IMAGES; i++)); do
        phi=$(awk -v i="$i" -v o="$OSC" 'BEGIN { printf "%.10g", 1 + (i - 1) * o }')
        seed=${k/-seed 1/-seed $i}
        OMP_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS "$bin" $SCAN $seed -phi "$phi" \
            -floatfile "img_$i.bin" -intfile "img_$i.img" \
            $(noise "$k" "-noisefile noise_$i.img") >/dev/null 2>&1
    done
}
# the series of kind $1 on $2 processes at once, one thread each
ranks() {
    local k=${KIND[$1]} n=$2 r
    for ((r = 0; r < n; r++)); do
        RAYON_NUM_THREADS=1 "$NB_BIN" $SCAN $k -images "$IMAGES" -floatfile img_%05d.bin \
            -intfile img_%05d.img $(noise "$k" "-noisefile noise_%05d.img") \
            -rank "$r" -ranks "$n" >/dev/null 2>&1 &
    done
    wait
}
# per-image overhead: a series of $1 1x1-pixel images
tiny() {
    RAYON_NUM_THREADS=1 "$NB_BIN" -cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 1 \
        -oversample 1 -phi 1 -osc $OSC -seed 1 -nopgm -images "$1" -floatfile img_%05d.bin \
        -intfile img_%05d.img -noisefile noise_%05d.img >/dev/null 2>&1
}

# Time commands A and B (each a quoted command line) RUNS times each, alternating; prints
# the two medians in microseconds.
pair() {
    local a=() b=() t0 t1
    for ((n = 0; n < RUNS; n++)); do
        fresh; t0=$EPOCHREALTIME; eval "$1"; t1=$EPOCHREALTIME
        a+=($(( $(us "$t1") - $(us "$t0") )))
        fresh; t0=$EPOCHREALTIME; eval "$2"; t1=$EPOCHREALTIME
        b+=($(( $(us "$t1") - $(us "$t0") )))
    done
    echo "$(median "${a[@]}") $(median "${b[@]}")"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "$IMAGES images of 128x128 pixels, RUNS=$RUNS, THREADS=$THREADS, files in ${WORK:-/tmp}"
for kind in default heavy light; do
    read -r s l < <(pair "series $kind" "loop $kind $NB_BIN")
    awk -v k="$kind" -v s="$s" -v l="$l" -v n="$IMAGES" 'BEGIN {
        printf "%-8s series:          %8.3f s  (%.2f ms per image)\n", k, s / 1e6, s / 1e3 / n
        printf "%-8s loop of runs:    %8.3f s  (%.2f ms per image)  series is %.1fx faster\n", k, l / 1e6, l / 1e3 / n, l / s }'
done
if [[ -n "${NB_C_BIN:-}" ]]; then
    read -r s c < <(pair "series default" "loop default $NB_C_BIN")
    awk -v s="$s" -v c="$c" -v n="$IMAGES" 'BEGIN {
        printf "default  reference loop:  %8.3f s  (%.2f ms per image)  series is %.1fx faster\n", c / 1e6, c / 1e3 / n, c / s }'
fi
for kind in default heavy; do
    read -r r1 r2 < <(pair "ranks $kind 1" "ranks $kind 2")
    awk -v k="$kind" -v a="$r1" -v b="$r2" 'BEGIN {
        printf "%-8s 1 rank, 1 thread:       %8.3f s\n%-8s 2 ranks, 1 thread each: %8.3f s  (%.2fx)\n", k, a / 1e6, k, b / 1e6, a / b }'
done
read -r t1 tn < <(pair "tiny 1" "tiny $IMAGES")
awk -v a="$t1" -v b="$tn" -v n="$IMAGES" 'BEGIN {
    printf "per-image overhead:       %8.0f us  ((T(%d) - T(1)) / %d for 1x1-pixel images, 1 thread: per-image set-up, plan, 3 files, a manifest line)\n", (b - a) / (n - 1), n, n - 1 }'
