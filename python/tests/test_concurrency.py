"""Threads, the GIL and fork: renders from two Python threads are in flight at the same time
and give the sequential images; other Python code runs while a render does (the GIL is
released); threads= does not change the image; a child forked by multiprocessing renders."""

import multiprocessing
import sys
import threading
import time

import numpy as np
import pytest

import nanobragg

# long enough with the exact kernel for several progress calls (one per 50 ms) during each:
# 0.4-0.7 s on a 2-core Xeon VM in 2026-12 (-oversample 3 took 0.11 s there, and two renders'
# two or three calls each did not always interleave)
LONG_A = "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 700 -oversample 8 -nonoise -nopgm"
LONG_B = "-default_F 80 -cell 90 100 110 90 90 90 -N 4 -detpixels 600 -oversample 8 -nonoise -nopgm"
SHORT = "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 96 -mosaic 0.5 -mosaic_dom 5 -nonoise -nopgm"


# The progress callbacks below are C functions (list.insert, dict.__setitem__): they run no
# Python bytecode, so a render could never give the GIL away inside them. Python code of other
# threads runs between them only if the render releases the GIL.


def test_two_threads_render_at_the_same_time():
    sims = [nanobragg.Simulation(LONG_A), nanobragg.Simulation(LONG_B)]
    totals = [700 * 700, 600 * 600]
    order = []  # progress(done, total) = order.insert(done, total): appends total (done > len)
    images = [None, None]
    errors = []
    barrier = threading.Barrier(2)

    def work(i):
        try:
            barrier.wait()
            images[i] = sims[i].render(precision="double", progress=order.insert)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(order) == set(totals)
    # the calls during the renders (each render's last call is made after it) interleave:
    # both were rendering at the same time
    during = order[:]
    for t in totals:
        del during[len(during) - 1 - during[::-1].index(t)]
    runs = [t for k, t in enumerate(during) if k == 0 or during[k - 1] != t]
    assert len(runs) >= 3, f"one render ran after the other: {order}"
    for sim, image in zip(sims, images):
        assert np.array_equal(image, sim.render(precision="double"))


def test_python_runs_while_a_render_does():
    sim = nanobragg.Simulation(LONG_A)
    events = {}  # progress(done, total) = events[done] = total; this thread adds -1, -2, ...
    t = threading.Thread(
        target=sim.render, kwargs={"precision": "double", "progress": events.__setitem__}
    )
    t.start()
    k = 0
    while t.is_alive():
        k += 1
        events[-k] = 0
        time.sleep(0.005)
    t.join()
    keys = list(events)
    renders = [i for i, key in enumerate(keys) if key >= 0]
    # this thread's Python code ran between two of the render's progress calls
    assert any(keys[i] < 0 for i in range(renders[0], renders[-1])), keys
    assert keys[renders[-1]] == 700 * 700


def test_one_simulation_from_two_threads():
    sim = nanobragg.Simulation(SHORT)
    want = sim.render()
    out = []
    threads = [threading.Thread(target=lambda: out.append(sim.render())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and all(np.array_equal(o, want) for o in out)
    assert sim.image is out[0] or sim.image is out[1]


@pytest.mark.filterwarnings("ignore::nanobragg.QuirkWarning")  # the phi = 0 step's
@pytest.mark.parametrize("precision", ["single", "double"])
def test_thread_counts_give_the_same_image(precision):
    sim = nanobragg.Simulation(SHORT + " -phi 0 -osc 3 -phisteps 3")
    want = sim.render(precision=precision)
    for n in [1, 2, 3]:
        assert np.array_equal(sim.render(precision=precision, threads=n), want), n


def _child(sim, conn):
    try:
        a = sim.render()
        b = nanobragg.Simulation(SHORT).render(precision="double", threads=2)
        conn.send((a.tobytes(), b.tobytes(), sim.stats().max_i))
    except BaseException as e:  # reported by the parent
        conn.send(repr(e))
    conn.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads (Python >= 3.12)
def test_forked_child_renders():
    sim = nanobragg.Simulation(SHORT)
    # the parent's worker pools exist before the fork
    want = sim.render()
    want_double = nanobragg.Simulation(SHORT).render(precision="double", threads=2)
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(sim, child))
    p.start()
    got = parent.recv() if parent.poll(120) else "no answer from the child in 120 s"
    p.join(30)
    if p.is_alive():
        p.kill()
    assert isinstance(got, tuple), got
    assert p.exitcode == 0
    a, b, max_i = got
    assert a == want.tobytes() and b == want_double.tobytes()
    assert max_i == sim.stats().max_i
