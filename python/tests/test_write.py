"""Files and lines from Python against the CLI's and the reference program's:

* `Simulation(args).write()` creates the same files as the CLI run with the same arguments
  (float image, SMV, PGM, noise, Fdump.bin, PNG preview), byte for byte, for every golden
  case; the transcript and write()'s lines are the CLI's stdout;
* with render(precision="double") first, write() reproduces the reference program's own
  SMV, noise, PGM and Fdump.bin files and its stdout (golden data);
* `fabio.open()` reads the SMV images written from Python with the same pixels.
"""

import filecmp
import os

import numpy as np
import pytest

import nanobragg
from conftest import CASES, prepare, read_f32, read_smv, run_cli, same_bits

# the golden cases that hit a quirk warn, as the CLI does (tested in test_errors.py)
pytestmark = pytest.mark.filterwarnings("ignore::nanobragg.QuirkWarning")


def listing(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_write_matches_the_cli(case, cli, tmp_path, monkeypatch):
    args = ["-noprogress", *case.args, "-pngfile", "preview.png"]
    cli_dir = prepare(case, tmp_path / "cli")
    py_dir = prepare(case, tmp_path / "py")
    out = run_cli(cli, cli_dir, args).stdout.split("\n")

    monkeypatch.chdir(py_dir)
    sim = nanobragg.Simulation(args)
    lines = sim.write()  # renders first: nothing was rendered yet

    assert listing(py_dir) == listing(cli_dir)
    assert {"float.bin", "preview.png"} <= set(listing(py_dir))
    for name in listing(py_dir):
        assert filecmp.cmp(py_dir / name, cli_dir / name, shallow=False), (
            f"{case.name}: {name} differs from the CLI's"
        )
    # stdout: the transcript, the loop's warnings (none with -noprogress besides the
    # interpolation warning), then write()'s lines
    t = sim.transcript
    mmap = lambda lines: [l for l in lines if not l.startswith("mmap(")]  # an address
    assert mmap(out[: len(t)]) == mmap(t)
    assert lines[0] == ""
    assert out[len(out) - len(lines) :] == lines[1:] + [""]


GOLDEN_FILES = ["int.img", "noise.img", "image.pgm", "Fdump.bin"]
WITH_FILES = [c for c in CASES if any((c.outputs / f).exists() for f in GOLDEN_FILES)]


def comparable(lines):
    """The reference's lines without its banner, the mmap line and progress lines."""
    return [
        l
        for l in lines
        if not l.startswith(("nanoBragg nanocrystal", "nanobragg ", "mmap("))
        and not l.endswith("% done")
    ]


@pytest.mark.parametrize("case", WITH_FILES, ids=[c.name for c in WITH_FILES])
def test_double_write_reproduces_the_reference(case, tmp_path, monkeypatch):
    folder = prepare(case, tmp_path)
    monkeypatch.chdir(folder)
    sim = nanobragg.Simulation(case.args)
    image = sim.render(precision="double")
    lines = sim.write()
    assert same_bits(read_f32(folder / "float.bin").reshape(image.shape), image)
    for name in GOLDEN_FILES:
        if (case.outputs / name).exists():
            assert (folder / name).read_bytes() == (case.outputs / name).read_bytes(), (
                f"{case.name}: {name} is not the reference's"
            )
    want = comparable((case.outputs / "stdout.txt").read_text().split("\n"))
    got = comparable(sim.transcript)
    assert want[: len(got)] == got
    assert want[len(want) - len(lines) :] == lines[1:] + [""]


def test_fabio_reads_the_smv_images(tmp_path, monkeypatch):
    fabio = pytest.importorskip("fabio")
    monkeypatch.chdir(tmp_path)
    sim = nanobragg.Simulation(
        "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1 -N 5 -distance 100 "
        "-detpixels_x 96 -detpixels_y 64 -pixel 0.1 -oversample 1 -fluence 1e25 -water 50 "
        "-seed 42 -nopgm -floatfile float.bin -intfile int.img -noisefile noise.img"
    )
    sim.render()
    sim.write()
    for name, pixels in [("int.img", sim.int_image()), ("noise.img", sim.noise_image())]:
        img = fabio.open(str(tmp_path / name))
        assert img.data.shape == (64, 96) == pixels.shape
        assert img.data.dtype == np.uint16
        assert np.array_equal(img.data, pixels), name
        assert np.array_equal(read_smv(tmp_path / name)[1], pixels), name
        assert float(img.header["PIXEL_SIZE"]) == 0.1
        assert int(img.header["SIZE1"]) == 96 and int(img.header["SIZE2"]) == 64
    # the noise image is not the integer image: the test compares different data
    assert not np.array_equal(sim.int_image(), sim.noise_image())


def test_output_error_changes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "float.bin").write_bytes(b"old float")
    (tmp_path / "folder.img").mkdir()
    sim = nanobragg.Simulation(
        "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 32 -nonoise -nopgm "
        "-floatfile float.bin -intfile folder.img"
    )
    sim.render()
    before = listing(tmp_path)
    with pytest.raises(nanobragg.OutputError) as e:
        sim.write()
    assert e.value.filename == "folder.img"
    assert "folder.img" in str(e.value) and "is a folder" in str(e.value)
    assert listing(tmp_path) == before
    assert (tmp_path / "float.bin").read_bytes() == b"old float"


def test_nonfinite_pixels_are_refused_unless_allowed(cli, tmp_path, monkeypatch):
    from conftest import cli_error

    # brighter than a float holds: every pixel is infinite
    args = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -nonoise -nopgm -fluence 1e70".split()
    monkeypatch.chdir(tmp_path)
    want = cli_error(cli, tmp_path, args)
    sim = nanobragg.Simulation(args)
    assert np.isinf(sim.render()).all() and sim.stats().nonfinite_pixels == 256
    with pytest.raises(nanobragg.InvalidError) as e:
        sim.write()
    assert str(e.value) == want and "-allow_nonfinite" in want
    assert listing(tmp_path) == []
    allowed = ["-allow_nonfinite", *args]
    stderr = run_cli(cli, prepare_dir(tmp_path / "cli"), allowed).stderr
    with pytest.warns(nanobragg.PixelWarning) as record:
        nanobragg.Simulation(allowed).write()
    assert [f"nanoBragg: warning: {w.message}" for w in record] == stderr.splitlines()
    assert listing(tmp_path) == ["cli", "floatimage.bin", "intimage.img"]
    for name in ["floatimage.bin", "intimage.img"]:
        assert filecmp.cmp(tmp_path / name, tmp_path / "cli" / name, shallow=False)


def test_negative_pixels_warn(cli, tmp_path, monkeypatch):
    # a detector swung to 2theta = 180 degrees faces away from the sample
    args = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -nonoise -nopgm -twotheta 180".split()
    monkeypatch.chdir(tmp_path)
    stderr = run_cli(cli, prepare_dir(tmp_path / "cli"), args).stderr
    with pytest.warns(nanobragg.PixelWarning) as record:
        sim = nanobragg.Simulation(args)
        sim.write()
    pixels = [f"nanoBragg: warning: {w.message}" for w in record if w.category is nanobragg.PixelWarning]
    assert pixels == [l for l in stderr.splitlines() if "pixels are negative" in l]
    assert len(pixels) == 1 and sim.stats().negative_pixels == 256


def prepare_dir(folder):
    folder.mkdir()
    return folder
