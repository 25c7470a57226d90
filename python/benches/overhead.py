"""Per-call cost of the Python package against shelling out to the CLI, on a 128x128 image.

    python python/benches/overhead.py [--cli target/release/nanoBragg] [--runs 200]

Medians (and quartiles) in microseconds of:
  * Simulation(args) + render()         in process (set-up from the command line, render)
  * render() alone                      the same simulation rendered again
  * Simulation(args)                    set-up alone
  * CLI via subprocess + np.fromfile    what a Python script pays today: run nanoBragg,
                                        read its float image back
  * CLI via subprocess, no read         the process alone
then the series idiom: --images renders with a new random orientation each
(`sim.vary(random_orientation=i)`) against as many CLI runs (`-misset random -misset_seed i`,
float image read back), totals and per image; the per-call overhead of a variation is its
median time minus that of `render()` alone;
and the Ctrl-C latency: SIGINT to KeyboardInterrupt in a process rendering a long image.
Set RAYON_NUM_THREADS to fix the thread count of both.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import nanobragg

ARGS = (
    "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 5 -distance 100 "
    "-detpixels 128 -pixel 0.1 -oversample 1 -nonoise -nopgm -floatfile float.bin"
).split()


def timed(f, runs):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def row(name, us):
    q = statistics.quantiles(us, n=4)
    print(f"| {name} | {statistics.median(us):.0f} | {q[0]:.0f}–{q[2]:.0f} |")


CHILD = """
import sys, time
import nanobragg
sim = nanobragg.Simulation(sys.argv[1])
print("ready", flush=True)
try:
    sim.render(precision="double")
except KeyboardInterrupt:
    print(time.monotonic(), flush=True)
"""


def interrupt_latency(runs):
    long = "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 2000 -oversample 8 -nonoise -nopgm"
    out = []
    for _ in range(runs):
        p = subprocess.Popen(
            [sys.executable, "-c", CHILD, long], stdout=subprocess.PIPE, text=True
        )
        p.stdout.readline()
        time.sleep(0.5)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        got = p.communicate(timeout=600)[0]
        out.append((float(got) - sent) * 1e3)
    return out


def series(a, sim):
    n = a.images
    t = time.perf_counter()
    per = []
    for i in range(1, n + 1):
        t1 = time.perf_counter()
        sim.vary(random_orientation=i).render()
        per.append((time.perf_counter() - t1) * 1e6)
    py_total = time.perf_counter() - t
    alone = statistics.median(timed(sim.render, a.runs))
    t = time.perf_counter()
    for i in range(1, n + 1):
        subprocess.run([a.cli, *ARGS, "-misset", "random", "-misset_seed", str(i)],
                       capture_output=True, check=True)
        np.fromfile("float.bin", dtype="<f4")
    cli_total = time.perf_counter() - t
    print()
    print(f"| {n} renders, a new orientation each | total s | per image µs |")
    print("|---|---|---|")
    print(f"| `sim.vary(random_orientation=i).render()` | {py_total:.2f} | {py_total / n * 1e6:.0f} |")
    print(f"| CLI by `subprocess` (`-misset random -misset_seed i`) + `np.fromfile` | {cli_total:.2f} | {cli_total / n * 1e6:.0f} |")
    print()
    print(f"Python is {cli_total / py_total:.1f}x faster; per-call overhead of a variation: "
          f"{statistics.median(per) - alone:.0f} µs (median {statistics.median(per):.0f} µs "
          f"against {alone:.0f} µs for render() alone)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(Path(__file__).resolve().parents[2] / "target/release/nanoBragg"))
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--interrupts", type=int, default=5)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nanobragg-bench-")
    os.chdir(work)
    print(f"nanobragg {nanobragg.__version__}, {nanobragg.simd_info()}, "
          f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}, {a.runs} runs each")
    print()
    print("| 128×128, -precision single | median µs | quartiles µs |")
    print("|---|---|---|")
    sim = nanobragg.Simulation(ARGS)
    sim.render()  # warm: worker threads started
    subprocess.run([a.cli, *ARGS], capture_output=True, check=True)
    row("`Simulation(args)` + `render()`", timed(lambda: nanobragg.Simulation(ARGS).render(), a.runs))
    row("`render()` alone", timed(sim.render, a.runs))
    row("`Simulation(args)` alone", timed(lambda: nanobragg.Simulation(ARGS), a.runs))

    def shell_out():
        subprocess.run([a.cli, *ARGS], capture_output=True, check=True)
        return np.fromfile("float.bin", dtype="<f4").reshape(128, 128)

    row("CLI by `subprocess` + `np.fromfile`", timed(shell_out, a.runs))
    row("CLI by `subprocess`, no read", timed(
        lambda: subprocess.run([a.cli, *ARGS], capture_output=True, check=True), a.runs))
    if a.images:
        series(a, sim)
    if a.interrupts:
        ms = interrupt_latency(a.interrupts)
        print()
        print(f"Ctrl-C: SIGINT to KeyboardInterrupt, median {statistics.median(ms):.0f} ms "
              f"(max {max(ms):.0f} ms) over {len(ms)} long renders")


if __name__ == "__main__":
    main()
