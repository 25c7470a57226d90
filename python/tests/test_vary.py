"""Simulation.vary(): cheap variations of one prepared experiment. Each variation must render
exactly the image of a fresh Simulation built from the equivalent command line (an
independent set-up of every stage), bit for bit, in both precisions."""

import math
import shutil

import numpy as np
import pytest

import nanobragg
from conftest import GOLDEN, same_bits

# the oblique cell's warning is issued by every Simulation of BASE (tested in test_errors.py)
pytestmark = pytest.mark.filterwarnings("ignore:the oblique cell:nanobragg.QuirkWarning")

BASE = (
    "-hkl P1.hkl -cell 60 70 80 88 92 95 -N 4 -lambda 1 -distance 80 -detpixels 48 "
    "-pixel 0.3 -oversample 1 -phi 2 -osc 0.5 -phisteps 2 -mosaic 0.3 -mosaic_dom 3 "
    "-mosaic_seed 9 -seed 11 -nopgm"
).split()


@pytest.fixture
def hkl_dir(tmp_path, monkeypatch):
    inputs = GOLDEN / "inputs"
    hkl = next(p for p in sorted(inputs.iterdir()) if p.suffix == ".hkl")
    shutil.copy(hkl, tmp_path / "P1.hkl")
    monkeypatch.chdir(tmp_path)
    return tmp_path


VARIATIONS = [
    dict(phi=7.25),
    dict(misset=(10.0, -20.5, 33.0)),
    dict(random_orientation=1234),
    dict(seed=77),
    dict(mosaic_seed=5),
    dict(fluence=3.5e24),
    dict(cells=(3, 5, 6)),
    dict(phi=-4.0, random_orientation=99, seed=3, fluence=1e23, cells=(2, 2, 7)),
]


@pytest.mark.parametrize("kw", VARIATIONS, ids=[",".join(v) for v in VARIATIONS])
@pytest.mark.parametrize("precision", ["double", "single"])
def test_a_variation_is_the_run_of_its_equivalent_command_line(hkl_dir, kw, precision):
    base = nanobragg.Simulation(BASE)
    varied = base.vary(**kw)
    # the equivalent options are listed after the base arguments
    assert varied.args[: len(BASE)] == tuple(BASE) and len(varied.args) > len(BASE)
    fresh = nanobragg.Simulation(list(varied.args))
    a = varied.render(precision=precision)
    b = fresh.render(precision=precision)
    assert same_bits(a, b), kw
    # noise images follow the seed of each
    assert np.array_equal(varied.noise_image(), fresh.noise_image())
    # and the variation changed something (the base image or its noise is different)
    base_image = base.render(precision=precision)
    assert not same_bits(a, base_image) or not np.array_equal(
        varied.noise_image(), base.noise_image()
    ), kw


def test_a_rotation_matrix_is_the_misset_it_equals(hkl_dir):
    # nanoBragg's misset rotates about X, then Y, then Z: U = Rz Ry Rx
    x, y, z = (math.radians(v) for v in (10.0, -20.5, 33.0))
    rx = np.array([[1, 0, 0], [0, math.cos(x), -math.sin(x)], [0, math.sin(x), math.cos(x)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(z), -math.sin(z), 0], [math.sin(z), math.cos(z), 0], [0, 0, 1]])
    u = rz @ ry @ rx
    base = nanobragg.Simulation(BASE)
    by_matrix = base.vary(rotation=u.tolist()).render(precision="double")
    by_angles = base.vary(misset=(10.0, -20.5, 33.0)).render(precision="double")
    # the same orientation by two routes: equal to rounding, not bit for bit
    assert by_matrix.shape == by_angles.shape
    scale = float(np.abs(by_angles).max())
    assert scale > 0 and float(np.abs(by_matrix - by_angles).max()) <= 1e-6 * scale


def test_variations_leave_the_base_and_each_other_alone(hkl_dir):
    base = nanobragg.Simulation(BASE)
    before = base.render(precision="double").copy()
    # a variation warns about what it alone brings in, as the CLI would
    with pytest.warns(nanobragg.QuirkWarning, match="phi = 0"):
        sims = [base.vary(phi=float(i)) for i in range(5)]
    images = [s.render(precision="double") for s in sims]
    assert same_bits(base.render(precision="double"), before)
    assert not same_bits(images[0], images[1])
    assert same_bits(sims[3].render(precision="double"), images[3])


def test_bad_variations_raise_without_changing_anything(hkl_dir):
    base = nanobragg.Simulation(BASE)
    with pytest.raises(ValueError, match="at most one"):
        base.vary(misset=(1.0, 2.0, 3.0), random_orientation=4)
    with pytest.raises(nanobragg.InvalidError, match="rotation"):
        base.vary(rotation=[[1, 0, 0], [0, 1, 0], [0, 0, 2]])
    with pytest.raises(nanobragg.InvalidError, match="fluence"):
        base.vary(fluence=-1.0)
    with pytest.raises(nanobragg.InvalidError, match="unit cells"):
        base.vary(cells=(10**7, 1, 1))
    with pytest.raises(TypeError):
        base.vary(7.0)  # keywords only
    assert base.args == tuple(BASE)


def test_the_series_idiom(hkl_dir):
    """The README's loop: one prepared experiment, a new orientation and seed per image."""
    sim = nanobragg.Simulation(BASE)
    sums = []
    for i in range(1, 21):
        shot = sim.vary(random_orientation=i, seed=i)
        image = shot.render()
        assert image.shape == sim.shape
        sums.append(float(image.sum()))
    assert len(set(sums)) == len(sums)  # every orientation differs
