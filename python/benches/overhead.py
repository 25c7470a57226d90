"""Per-call cost of the Python package against shelling out to the CLI, on a 128x128 image.

    python python/benches/overhead.py [--cli target/release/nanoBragg] [--runs 200]

Medians (and quartiles) in microseconds of:
  * Simulation(args) + render()         in process (set-up from the command line, render)
  * render() alone                      the same simulation rendered again
  * Simulation(args)                    set-up alone
  * CLI via subprocess + np.fromfile    what a Python script pays today: run nanoBragg,
                                        read its float image back
  * CLI via subprocess, no read         the process alone
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(Path(__file__).resolve().parents[2] / "target/release/nanoBragg"))
    ap.add_argument("--runs", type=int, default=200)
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
    if a.interrupts:
        ms = interrupt_latency(a.interrupts)
        print()
        print(f"Ctrl-C: SIGINT to KeyboardInterrupt, median {statistics.median(ms):.0f} ms "
              f"(max {max(ms):.0f} ms) over {len(ms)} long renders")


if __name__ == "__main__":
    main()
