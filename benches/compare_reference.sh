#!/usr/bin/env bash
# Time this program's CLI against the reference nanoBragg on the benchmark cases
# (tests/data/golden/perf_cases.tsv), on the same cores, and report speed and accuracy.
#
#   NB_C_BIN=/path/to/nanoBragg benches/compare_reference.sh
#
# The reference is the C program built with OpenMP (its own instructions:
# gcc -O3 -o nanoBragg nanoBragg.c -lm -fopenmp). Without NB_C_BIN the script says so and exits 0.
#
# Settings (environment):
#   RUNS=7          timed runs per program and case, alternating reference / this program
#   THREADS=2       OMP_NUM_THREADS for the reference, RAYON_NUM_THREADS for this program
#   CPUS=0,1        cores both are pinned to (taskset on this script, inherited by the runs, so
#                   no extra process is timed; default: no pinning)
#   NB_RUST_BIN=…   this program's binary (default: target/release/nanoBragg, built if missing;
#                   e.g. the AVX-512 build, see README)
#   ONLY=name       one case
#   REF_ONE=1       also time the reference on one thread (OMP_NUM_THREADS=1) in the same
#                   alternation and report its own 1→THREADS speed-up: what the machine's cores
#                   give a program whose run is almost all parallel work (off by default: it
#                   adds a long single-threaded reference run per case and run)
#
# Each run starts in the case's folder with no output files from an earlier run (both
# programs write float.bin and intimage.img there). Reported per case: median wall-clock
# time of each program, the ratio reference/this, this program's median on one thread and its
# 1→THREADS speed-up, and the accuracy of this program's float image against the reference's
# (correlation, sum ratio) from nanoBragg-parity.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${NB_C_BIN:-}" ]]; then
    echo "NB_C_BIN is not set: skipping the comparison with the reference nanoBragg"
    exit 0
fi
[[ -x "$NB_C_BIN" ]] || { echo "NB_C_BIN=$NB_C_BIN is not an executable" >&2; exit 2; }
NB_C_BIN=$(readlink -f "$NB_C_BIN")
RUNS=${RUNS:-7}
THREADS=${THREADS:-2}
CPUS=${CPUS:-}
if [[ -z "${NB_RUST_BIN:-}" ]]; then
    cargo build --release --quiet --bins
    NB_RUST_BIN=target/release/nanoBragg
fi
NB_RUST_BIN=$(readlink -f "$NB_RUST_BIN")
PARITY=$(dirname "$NB_RUST_BIN")/nanoBragg-parity
[[ -x "$PARITY" ]] || PARITY=$(readlink -f target/release/nanoBragg-parity)
GOLDEN=$(readlink -f tests/data/golden)
if [[ -n "$CPUS" ]]; then taskset -pc "$CPUS" $$ >/dev/null; fi

# microseconds from bash's own clock ($EPOCHREALTIME), read without starting a process or a
# subshell, so nothing but the program is timed
us() { echo $(( 10#${1%[.,]*} * 1000000 + 10#${1#*[.,]} )); }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# time_run ENVVAR=VALUE BIN ARGS...: wall-clock microseconds of one run in the current folder
time_run() {
    local name=${1%%=*} value=${1#*=} bin=$2; shift 2
    rm -f float.bin intimage.img noiseimage.img image.pgm Fdump.bin
    local t0=$EPOCHREALTIME
    # a subshell that execs the program: no extra process beyond the one being timed
    ( export "$name=$value"; exec "$bin" "$@" ) >/dev/null 2>&1 || { echo "failed: $bin $*" >&2; exit 1; }
    local t1=$EPOCHREALTIME
    echo $(( $(us "$t1") - $(us "$t0") ))
}

echo "reference: $NB_C_BIN"
echo "this:      $NB_RUST_BIN"
echo "runs: $RUNS alternating; threads: $THREADS; cores: ${CPUS:-any}; machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
printf '%-26s %10s %10s %8s %11s %8s %14s %12s%s\n' case ref_ms this_ms ratio this_1t_ms 1t/Nt correlation sum_ratio-1 \
    "$([[ -n "${REF_ONE:-}" ]] && printf ' %11s %8s' ref_1t_ms ref_1t/Nt)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
while IFS=$'\t' read -r name args; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ -n "${ONLY:-}" && "$name" != "$ONLY" ]] && continue
    dir="$scratch/$name"; mkdir -p "$dir"; cp "$GOLDEN"/inputs/* "$dir"/; chmod u+w "$dir"/*
    cd "$dir"
    read -r -a argv <<<"$args"
    ref=(); this=(); one=(); ref_one=()
    for _ in $(seq "$RUNS"); do
        ref+=("$(time_run OMP_NUM_THREADS="$THREADS" "$NB_C_BIN" "${argv[@]}")")
        this+=("$(time_run RAYON_NUM_THREADS="$THREADS" "$NB_RUST_BIN" "${argv[@]}")")
        one+=("$(time_run RAYON_NUM_THREADS=1 "$NB_RUST_BIN" "${argv[@]}")")
        if [[ -n "${REF_ONE:-}" ]]; then
            ref_one+=("$(time_run OMP_NUM_THREADS=1 "$NB_C_BIN" "${argv[@]}")")
        fi
    done
    # accuracy: the reference's image against this program's, through the parity tool
    time_run OMP_NUM_THREADS="$THREADS" "$NB_C_BIN" "${argv[@]}" >/dev/null
    cp float.bin "$scratch/$name.ref.bin"
    rm -f Fdump.bin float.bin intimage.img
    "$PARITY" --rust-bin "$NB_RUST_BIN" --c-image "$scratch/$name.ref.bin" --out "$scratch/reports" \
        --name "$name" -- "${argv[@]}" >/dev/null || true
    m=$(cat "$scratch"/reports/"$name"/*/metrics.json)
    corr=$(sed -n 's/.*"correlation": \([^,]*\),.*/\1/p' <<<"$m")
    sr=$(sed -n 's/.*"sum_ratio": \([^,]*\),.*/\1/p' <<<"$m")
    mr=$(median "${ref[@]}"); mt=$(median "${this[@]}"); m1=$(median "${one[@]}")
    r1=0; [[ -n "${REF_ONE:-}" ]] && r1=$(median "${ref_one[@]}")
    awk -v n="$name" -v r="$mr" -v t="$mt" -v o="$m1" -v c="$corr" -v s="$sr" -v r1="$r1" 'BEGIN {
        printf "%-26s %10.1f %10.1f %7.1fx %11.1f %7.2fx %14.10f %+12.2e", n, r/1000, t/1000, r/t, o/1000, o/t, c, s-1
        if (r1 > 0) printf " %11.1f %7.2fx", r1/1000, r1/r
        printf "\n" }'
    cd - >/dev/null
done < "$GOLDEN/perf_cases.tsv"
