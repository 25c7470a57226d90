"""Float images from Python against the nanoBragg CLI and the reference program's golden
images, for every golden case (and the reference-defect cases, with and without -fix_quirks):

* precision="double": bit-identical to the CLI's -precision double image, and to the
  reference's image within the bar tests/golden.rs applies to the CLI;
* precision="single": within the single-precision bar against the reference (correlation
  >= 0.99999, |sum ratio - 1| <= 1e-4, finite where the reference is), and bit-identical to
  the CLI's default (single) image when both are the same SIMD build.
"""

import subprocess

import numpy as np
import pytest

import nanobragg
from conftest import ALL_CASES, prepare, read_f32, run_cli, correlation, same_bits

# the golden cases that hit a quirk warn, as the CLI does (tested in test_errors.py)
pytestmark = pytest.mark.filterwarnings("ignore::nanobragg.QuirkWarning")

# (case, mode, golden folder): the reference's own outputs, and -fix_quirks against the
# physically corrected images of the compat cases
RUNS = [(c, (), c.outputs) for c in ALL_CASES] + [
    (c, ("-fix_quirks",), c.corrected) for c in ALL_CASES if c.corrected is not None
]
IDS = [c.name + ("-fix_quirks" if mode else "") for c, mode, _ in RUNS]


def python_image(case, mode, folder, monkeypatch, precision):
    monkeypatch.chdir(folder)
    sim = nanobragg.Simulation([*mode, *case.args])
    image = sim.render(precision=precision)
    assert image.dtype == np.float32 and image.flags.c_contiguous
    assert image.shape == sim.shape
    return image


def within_golden_bar(image, gold):
    """tests/golden.rs's bar for the CLI: identical, or <= 1 ulp on >= 99.9 % of pixels with
    correlation >= 0.999999."""
    a = image.ravel().astype(np.float32)
    b = gold.astype(np.float32)
    if same_bits(a, b):
        return True
    ulp = np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))
    return np.mean(ulp <= 1) >= 0.999 and correlation(a, b) >= 0.999999


@pytest.mark.parametrize("case,mode,gold_dir", RUNS, ids=IDS)
def test_double_is_bit_identical_to_the_cli(case, mode, gold_dir, cli, tmp_path, monkeypatch):
    folder = prepare(case, tmp_path / "py")
    image = python_image(case, mode, folder, monkeypatch, "double")
    cli_dir = prepare(case, tmp_path / "cli")
    run_cli(cli, cli_dir, ["-precision", "double", *mode, *case.args])
    want = read_f32(cli_dir / "float.bin").reshape(image.shape)
    assert same_bits(image, want), f"{case.name}: Python and CLI double images differ"
    gold = read_f32(gold_dir / "float.bin")
    assert within_golden_bar(image, gold), f"{case.name}: not the reference's image"


def _cli_simd(cli):
    out = subprocess.run([str(cli), "-version"], capture_output=True, text=True).stdout
    return out.split("single-precision kernel: ", 1)[-1].strip()


@pytest.mark.parametrize("case,mode,gold_dir", RUNS, ids=IDS)
def test_single_is_within_the_bar(case, mode, gold_dir, cli, tmp_path, monkeypatch):
    folder = prepare(case, tmp_path / "py")
    image = python_image(case, mode, folder, monkeypatch, "single")
    gold = read_f32(gold_dir / "float.bin").reshape(image.shape)
    finite = np.isfinite(gold)
    assert np.isfinite(image[finite]).all(), f"{case.name}: NaN or inf where the reference is finite"
    corr = correlation(image, gold)
    ratio = float(image.astype(np.float64).sum() / gold.astype(np.float64).sum())
    assert corr >= 0.99999, f"{case.name}: correlation {corr}"
    assert abs(ratio - 1) <= 1e-4, f"{case.name}: sum ratio {ratio}"
    if _cli_simd(cli) == nanobragg.simd_info():
        cli_dir = prepare(case, tmp_path / "cli")
        run_cli(cli, cli_dir, ["-precision", "single", *mode, *case.args])
        want = read_f32(cli_dir / "float.bin").reshape(image.shape)
        assert same_bits(image, want), f"{case.name}: Python and CLI single images differ"
