"""Errors and warnings: one test per error class, each raising the CLI's message for the same
command line; quirk warnings as nanobragg.QuirkWarning with the CLI's text; bad Python
arguments as TypeError/ValueError; nothing printed, nothing written."""

import os
import warnings

import pytest

import nanobragg

BASE = "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 32 -nonoise -nopgm".split()


def test_hierarchy():
    for cls in [
        nanobragg.UsageError,
        nanobragg.InputError,
        nanobragg.OutputError,
        nanobragg.InvalidError,
        nanobragg.MemoryLimitError,
        nanobragg.CancelledError,
    ]:
        assert issubclass(cls, nanobragg.Error) and cls is not nanobragg.Error
        assert cls.__module__ == "nanobragg" and cls.__doc__
    assert issubclass(nanobragg.Error, Exception)
    assert issubclass(nanobragg.QuirkWarning, nanobragg.NanobraggWarning)
    assert issubclass(nanobragg.PixelWarning, UserWarning)


def expect(cls, args, cli, folder, *words):
    """Simulation(args) raises `cls` with the CLI's message; no file is created."""
    from conftest import cli_error

    before = sorted(os.listdir(folder))
    # the CLI's hint names its -help; the package's names nanobragg.usage()
    want = cli_error(cli, folder, args).removesuffix(" (nanoBragg -help lists every option)")
    with pytest.raises(cls) as e:
        nanobragg.Simulation(args)
    assert str(e.value).startswith(want), (str(e.value), want)
    for w in words:
        assert w in str(e.value)
    assert sorted(os.listdir(folder)) == before
    return e.value


def test_usage_error(cli, in_tmp, capfd):
    e = expect(nanobragg.UsageError, [*BASE, "-dispstesp", "3"], cli, in_tmp, "'-dispsteps'")
    assert str(e).endswith("(nanobragg.usage() lists every option)")
    expect(nanobragg.UsageError, [*BASE, "-N"], cli, in_tmp, "-N")
    expect(nanobragg.UsageError, [*BASE, "-distance", "far"], cli, in_tmp, "far")
    assert capfd.readouterr() == ("", "")


def test_input_error(cli, in_tmp, capfd):
    e = expect(nanobragg.InputError, [*BASE, "-hkl", "missing.hkl"], cli, in_tmp, "missing.hkl")
    assert e.filename == "missing.hkl" and e.line is None
    (in_tmp / "bad.hkl").write_text("0 0 0 10\n1 0 0 10 5\n")
    e = expect(nanobragg.InputError, [*BASE, "-hkl", "bad.hkl"], cli, in_tmp, "line 2")
    assert e.filename == "bad.hkl" and e.line == 2
    assert capfd.readouterr() == ("", "")


def test_invalid_error(cli, in_tmp):
    expect(nanobragg.InvalidError, [*BASE, "-lambda", "0"], cli, in_tmp, "wavelength")


def test_memory_limit_error(cli, in_tmp, monkeypatch):
    # read by the library when it sets up; the CLI run inherits it
    monkeypatch.setenv("NANOBRAGG_MEMORY_LIMIT", "100000000")
    args = [*BASE, "-detpixels", "8000"]
    expect(nanobragg.MemoryLimitError, args, cli, in_tmp, "100 MB this run may use")
    monkeypatch.delenv("NANOBRAGG_MEMORY_LIMIT")
    nanobragg.Simulation(args)  # fits without the limit


def test_output_error(cli, in_tmp):
    args = [*BASE, "-floatfile", "no/such/folder/float.bin"]
    from conftest import cli_error

    want = cli_error(cli, in_tmp, args)
    sim = nanobragg.Simulation(args)  # outputs are checked when written
    with pytest.raises(nanobragg.OutputError) as e:
        sim.write()
    assert str(e.value) == want
    assert e.value.filename == "no/such/folder/float.bin"
    assert os.listdir(in_tmp) == []


# about a second with the exact kernel: long enough for the callback to be called during it
LONG = ["-detpixels", "1000", "-oversample", "4", *BASE[:-4]]


def test_cancelled_error():
    sim = nanobragg.Simulation(LONG)
    calls = []

    def stop(done, total):
        calls.append((done, total))
        return True

    with pytest.raises(nanobragg.CancelledError, match="cancelled"):
        sim.render(precision="double", progress=stop)
    assert len(calls) == 1 and calls[0][0] < calls[0][1] == 1000 * 1000
    assert sim.image is None  # a cancelled render leaves nothing behind


def test_callback_exception_stops_the_render():
    sim = nanobragg.Simulation(LONG)

    def boom(done, total):
        raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        sim.render(precision="double", progress=boom)


def test_progress_reaches_the_total():
    sim = nanobragg.Simulation(BASE)
    calls = []
    sim.render(progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (32 * 32, 32 * 32)
    assert all(d <= t for d, t in calls) and calls == sorted(calls)


def test_quirk_warning(cli, in_tmp):
    args = [*BASE, "-misset", "random", "-misset_seed", "777", "-lambda", "1.0", "-N", "5"]
    p_err = __import__("conftest").run_cli(cli, in_tmp, args).stderr
    want = [l[len("nanoBragg: warning: ") :] for l in p_err.splitlines()]
    assert len(want) == 1 and "-fix_quirks" in want[0]
    with pytest.warns(nanobragg.QuirkWarning) as record:
        sim = nanobragg.Simulation(args)
    assert [str(w.message) for w in record] == want == sim.warnings
    assert record[0].filename == __file__  # attributed to the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(nanobragg.QuirkWarning):
            nanobragg.Simulation(args)
        nanobragg.Simulation(["-fix_quirks", *args])  # no quirk, no warning


def test_bad_python_arguments():
    sim = nanobragg.Simulation(BASE)
    with pytest.raises(ValueError, match="single"):
        sim.render(precision="half")
    with pytest.raises(ValueError, match="threads"):
        sim.render(threads=0)
    with pytest.raises(ValueError, match="threads"):
        sim.render(threads=-1)
    with pytest.raises(TypeError, match="argument 2 is dict"):
        nanobragg.Simulation(["-N", {}])
    with pytest.raises(TypeError, match="argument 2 is bool"):
        nanobragg.Simulation(["-N", True])
    with pytest.raises(TypeError):
        nanobragg.Simulation(b"-N 5")
    with pytest.raises(TypeError):
        nanobragg.Simulation(5)
    with pytest.raises(nanobragg.UsageError, match="not valid UTF-8"):
        nanobragg.Simulation([*BASE, "-floatfile", "\udcff.bin"])


def test_args_forms_agree(tmp_path):
    import pathlib

    import numpy as np

    text = "-default_F 100 -cell 100 100 100 90 90 90 -N 5 -detpixels 32 -nonoise -nopgm"
    ref = nanobragg.Simulation(text.split()).render()
    assert np.array_equal(nanobragg.Simulation(text).render(), ref)
    mixed = ["-default_F", 100, "-cell", *[100.0] * 3, *[np.int64(90)] * 3, "-N", np.int32(5)]
    mixed += ["-detpixels", 32, "-nonoise", "-nopgm"]
    assert np.array_equal(nanobragg.Simulation(mixed).render(), ref)
    quoted = nanobragg.Simulation(text + " -floatfile 'a b.bin'")
    assert quoted.output_files[0] == "a b.bin"
    path = nanobragg.Simulation([*text.split(), "-floatfile", pathlib.Path("x") / "f.bin"])
    assert path.output_files[0] == os.path.join("x", "f.bin")


def test_nothing_is_printed(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim = nanobragg.Simulation([*BASE, "-pngfile", "p.png"])
    sim.render()
    sim.write()
    sim.stats(), sim.int_image(), sim.noise_image(seed=1), sim.pgm(), sim.png()
    for bad in [["-nonsense"], [*BASE, "-hkl", "missing"]]:
        with pytest.raises(nanobragg.Error):
            nanobragg.Simulation(bad)
    assert capfd.readouterr() == ("", "")
