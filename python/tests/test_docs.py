"""Docstrings and type stubs: every public name of the extension has a docstring and a stub,
with the same parameters; help() shows the signatures; the package is marked typed."""

import ast
import inspect
import pydoc
from pathlib import Path

import nanobragg
from nanobragg import _nanobragg

PACKAGE = Path(nanobragg.__file__).parent
STUB = ast.parse((PACKAGE / "_nanobragg.pyi").read_text())


def stub_names(body):
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def stub_class(name):
    return next(n for n in STUB.body if isinstance(n, ast.ClassDef) and n.name == name)


def public(obj):
    return {n for n in dir(obj) if not n.startswith("_")}


def test_typed_package():
    assert (PACKAGE / "py.typed").exists()
    exported = public(_nanobragg) | {"__version__"}
    assert exported <= stub_names(STUB.body) | {"Arg"}
    assert set(nanobragg.__all__) == exported


def test_every_public_name_is_documented_and_stubbed():
    for cls in [nanobragg.Simulation, nanobragg.Stats]:
        assert cls.__doc__ and len(cls.__doc__) > 40
        stubbed = stub_names(stub_class(cls.__name__).body)
        for name in public(cls):
            assert getattr(cls, name).__doc__, f"{cls.__name__}.{name} has no docstring"
            assert name in stubbed, f"{cls.__name__}.{name} is not in the stubs"
    for f in [nanobragg.simd_info, nanobragg.usage]:
        assert f.__doc__


def test_stub_parameters_match():
    methods = {
        n.name: n
        for n in stub_class("Simulation").body
        if isinstance(n, ast.FunctionDef) and n.name != "__init__"
    }
    for name, node in methods.items():
        if any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
            continue
        real = list(inspect.signature(getattr(nanobragg.Simulation, name)).parameters)
        assert [a.arg for a in node.args.args + node.args.kwonlyargs] == real, name
    init = next(n for n in stub_class("Simulation").body if getattr(n, "name", "") == "__init__")
    assert [a.arg for a in init.args.args] == ["self", "args"]
    assert str(inspect.signature(nanobragg.Simulation)) == "(args)"


def test_help_reads_well():
    text = pydoc.render_doc(nanobragg.Simulation, renderer=pydoc.plaintext)
    for s in [
        "Simulation(args)",
        "render(self, /, precision=None, threads=None, progress=None)",
        "noise_image(self, /, seed=None)",
        "bit-identical to",
        "Ctrl-C",
    ]:
        assert s in text, s
    assert "-detpixels" in nanobragg.usage()
    assert nanobragg.simd_info().startswith("f32x")


def test_readme_example(tmp_path, monkeypatch, capsys):
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("\n## Python\n") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "pattern.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert capsys.readouterr().out.startswith("Stats(max_i=")


def test_stats_repr():
    sim = nanobragg.Simulation("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64")
    sim.render()
    st = sim.stats()
    assert repr(st).startswith(f"Stats(max_i={st.max_i!r}, max_index={st.max_index!r}, ")
    assert st.as_dict()["max_index"] == st.max_index


def test_readme_series_idiom(tmp_path, monkeypatch):
    import re
    import shutil

    from conftest import GOLDEN

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("\n## Python\n") :]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[1]
    assert "sim.vary(" in code
    hkl = next(p for p in sorted((GOLDEN / "inputs").iterdir()) if p.suffix == ".hkl")
    shutil.copy(hkl, tmp_path / "P1.hkl")
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    shots = scope["shots"]
    assert shots.shape == (1000, 128, 128)
    # each shot is its own crystal: no two of the first ten images are equal
    sums = {float(s.sum()) for s in shots[:10]}
    assert len(sums) == 10
