"""The products in memory against the files and lines of the CLI run with the same options:
integer and noise images (any seed), PGM and PNG bytes, statistics, -printout lines, the
transcript; and the array render() returns: float32, (slow, fast), C-contiguous, the engine's
own buffer."""

import numpy as np
import pytest

import nanobragg
from conftest import case_named, prepare, read_f32, read_smv, run_cli

NOISY = (
    "-default_F 100 -cell 100 100 100 90 90 90 -lambda 1.0 -N 5 -distance 100 "
    "-detpixels_x 80 -detpixels_y 48 -pixel 0.1 -oversample 1 -fluence 1e25 -water 50 "
    "-seed 42 -roi 5 70 3 40 -floatfile float.bin -intfile int.img -noisefile noise.img "
    "-pgmfile image.pgm -pngfile preview.png"
).split()


def cli_run(cli, folder, args):
    folder.mkdir()
    return run_cli(cli, folder, ["-noprogress", *args]).stdout.split("\n")


def line_starting(lines, prefix):
    return next(l for l in lines if l.startswith(prefix))


@pytest.mark.parametrize("precision", ["single", "double"])
def test_products_equal_the_cli_files(precision, cli, tmp_path, monkeypatch):
    args = ["-precision", precision, *NOISY]
    out = cli_run(cli, tmp_path / "cli", args)
    monkeypatch.chdir(tmp_path)
    sim = nanobragg.Simulation(args)
    image = sim.render()
    assert np.array_equal(image.ravel().view(np.uint32), read_f32(tmp_path / "cli/float.bin").view(np.uint32))
    _, want = read_smv(tmp_path / "cli/int.img")
    got = sim.int_image()
    assert got.dtype == np.uint16 and got.shape == (48, 80) and got.flags.c_contiguous
    assert np.array_equal(got, want)
    assert np.array_equal(sim.noise_image(), read_smv(tmp_path / "cli/noise.img")[1])
    assert sim.pgm() == (tmp_path / "cli/image.pgm").read_bytes()
    assert sim.png() == (tmp_path / "cli/preview.png").read_bytes()

    st = sim.stats()
    assert line_starting(out, "max_I = ") == "max_I = %g  at %g %g" % (st.max_i, *st.max_position)
    assert line_starting(out, "mean= ") == "mean= %g rms= %g rmsd= %g" % (st.mean, st.rms, st.rmsd)
    assert line_starting(out, "intfile_scale = ") == "intfile_scale = %g" % st.int_scale
    assert line_starting(out, "pgm_scale = ") == "pgm_scale = %g" % st.pgm_scale
    assert line_starting(out, "solid angle subtended").startswith(
        "solid angle subtended by detector = %g steradian" % st.solid_angle
    )
    # the statistics from the image itself, independently
    roi = image[3:41, 5:71].astype(np.float64)
    assert st.count == roi.size
    assert st.max_i == roi.max()
    assert image[st.max_index] == st.max_i
    assert st.max_index == np.unravel_index(np.argmax(image), image.shape)
    assert st.mean == pytest.approx(roi.mean(), rel=1e-12)
    assert st.rmsd == pytest.approx(roi.std(ddof=1), rel=1e-9)
    assert st.sum == pytest.approx(roi.sum(), rel=1e-12)
    assert st.negative_pixels == 0 and st.nonfinite_pixels == 0
    assert set(st.as_dict()) >= {"max_i", "max_index", "mean", "rms", "rmsd", "count"}


def test_noise_seed_gives_the_cli_image_of_that_seed(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim = nanobragg.Simulation(NOISY)
    sim.render()
    for seed in [7, 123456, -5]:
        folder = tmp_path / f"cli{seed}"
        cli_run(cli, folder, [*NOISY, "-seed", str(seed)])
        assert np.array_equal(sim.noise_image(seed=seed), read_smv(folder / "noise.img")[1])
    assert not np.array_equal(sim.noise_image(seed=7), sim.noise_image(seed=8))
    # the default is the -seed option
    assert np.array_equal(sim.noise_image(), sim.noise_image(seed=42))
    with pytest.raises(ValueError, match="32-bit"):
        sim.noise_image(seed=2**40)


def test_render_hands_over_the_engine_buffer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim = nanobragg.Simulation(NOISY)
    assert sim.image is None and sim._engine_buffer_address is None
    image = sim.render()
    assert image.dtype == np.float32
    assert image.shape == sim.shape == (48, 80)
    assert image.flags.c_contiguous and image.flags.writeable
    assert not image.flags.owndata  # numpy did not allocate it ...
    # ... its data is the Vec the engine rendered into
    assert image.__array_interface__["data"][0] == sim._engine_buffer_address
    assert sim.image is image
    again = sim.render()
    assert again is not image and sim.image is again
    assert again.__array_interface__["data"][0] == sim._engine_buffer_address
    assert np.array_equal(again, image)


def test_products_follow_the_last_image(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim = nanobragg.Simulation(NOISY)
    image = sim.render()
    before = sim.stats()
    image *= 2  # changed in place: the products are those of the changed image
    after = sim.stats()
    assert after.max_i == 2 * before.max_i
    assert after.int_scale == pytest.approx(before.int_scale / 2)
    image.dtype = np.int32  # reinterpreted in place: refused, not misread
    with pytest.raises(TypeError, match="render again"):
        sim.stats()


def test_products_render_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim = nanobragg.Simulation(NOISY)
    st = sim.stats()
    assert sim.image is not None and st.max_i == float(sim.image[3:41, 5:71].max())


def test_printout_lines(cli, tmp_path, monkeypatch):
    case = case_named("cubic_default")
    args = [*case.args, "-printout", "-printout_pixel", "40", "70"]
    folder = prepare(case, tmp_path / "cli")
    out = run_cli(cli, folder, args).stdout.split("\n")
    monkeypatch.chdir(prepare(case, tmp_path / "py"))
    lines = nanobragg.Simulation(args).printout()
    assert lines[0].split()[:2] == ["40", "70"]
    start = out.index(lines[0])
    assert out[start : start + len(lines)] == lines
    assert nanobragg.Simulation(case.args).printout() == []


def test_transcript_and_properties(cli, tmp_path, monkeypatch):
    case = case_named("mat_hkl")
    folder = prepare(case, tmp_path / "cli")
    out = run_cli(cli, folder, ["-noprogress", *case.args]).stdout.split("\n")
    monkeypatch.chdir(prepare(case, tmp_path / "py"))
    sim = nanobragg.Simulation(case.args)
    assert len(sim.transcript) > 20 and out[: len(sim.transcript)] == sim.transcript
    assert sim.args == tuple(case.args)
    assert sim.precision == "single"
    assert nanobragg.Simulation(["-precision", "double", *case.args]).precision == "double"
    assert sim.output_files == ["float.bin", "intimage.img"]
    assert sim.warnings == []
    assert "128x128 pixels" in repr(sim)
