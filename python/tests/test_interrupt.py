"""Ctrl-C: SIGINT sent to a Python process (as a terminal does) stops its long render with
KeyboardInterrupt, long before the render could have finished, and the package works after
it. Each scenario runs in its own interpreter, so that a failure cannot interrupt pytest.
Also: importing the package on a CPU without AVX2/FMA raises ImportError (under qemu)."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import nanobragg

# some 15 s with the exact kernel on two free cores
LONG = "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 2000 -oversample 8 -nonoise -nopgm"
SMALL = "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 64 -nonoise -nopgm"

# plain: no callback during the render but a C function (dict.__setitem__, no Python code
# that could notice the signal itself); python: a Python progress callback
CHILD = f"""
import signal, sys, time
# Python's own Ctrl-C handler even where the test runs with SIGINT ignored (a background job
# of a non-interactive shell inherits SIG_IGN, and Python then leaves it ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
import nanobragg
sim = nanobragg.Simulation({LONG!r})
seen = {{}}
def python_progress(done, total):
    seen[done] = total
progress = seen.__setitem__ if sys.argv[1] == "plain" else python_progress
print("rendering", flush=True)
try:
    sim.render(precision="double", progress=progress)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), sim.image is None, max(seen, default=0), flush=True)
print("after", repr(float(nanobragg.Simulation({SMALL!r}).render().sum())), flush=True)
"""


@pytest.mark.parametrize("mode", ["plain", "python"])
def test_ctrl_c_stops_a_long_render(mode):
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout.readline() == "rendering\n"
        time.sleep(0.5)  # into the render (it lasts seconds)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=600)
    finally:
        p.kill()
    lines = out.splitlines()
    assert p.returncode == 0, err
    assert lines[0].startswith("interrupted"), out
    _, when, no_image, done = lines[0].split()
    # the render stopped: it kept no image and its progress had not reached the total
    assert no_image == "True"
    assert int(done) < 2000 * 2000
    print(f"Ctrl-C ({mode}): KeyboardInterrupt {float(when) - sent:.3f} s after SIGINT")
    want = float(nanobragg.Simulation(SMALL).render().sum())
    assert lines[1] == f"after {want!r}"
    assert err == ""


def test_import_refused_on_an_old_cpu():
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        pytest.skip("qemu-x86_64 is not installed (.ci/deps.sh installs it)")
    if "x86-64-v3" not in nanobragg.simd_info() and "x86-64-v4" not in nanobragg.simd_info():
        pytest.skip("a portable build runs on any x86-64 CPU")
    code = "import nanobragg"
    p = subprocess.run(
        [qemu, "-cpu", "Nehalem", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 1, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: this build of nanobragg needs a CPU with AVX2 and FMA")
    assert "pip install ./python" in last
    # the same interpreter under the same emulator imports numpy: the refusal is ours
    p = subprocess.run(
        [qemu, "-cpu", "Nehalem", sys.executable, "-c", "import numpy; print(numpy.zeros(3).sum())"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0 and p.stdout == "0.0\n", p.stderr
