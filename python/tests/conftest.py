"""Shared helpers: the golden cases of the reference program, the nanoBragg CLI to compare
with, scratch folders holding the golden input files."""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden"


@dataclass
class Case:
    name: str
    args: List[str]
    #: files to copy before running: (destination, source name in inputs/)
    setup: List[Tuple[str, str]]
    #: the reference program's outputs
    outputs: Path
    #: the physically corrected outputs (-fix_quirks), compat cases only
    corrected: Optional[Path] = None


def _read_cases(tsv: str, folder: str, corrected: Optional[str]) -> List[Case]:
    cases = []
    for line in (GOLDEN / tsv).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        setup = [tuple(kv.split("=", 1)) for kv in cols[2].split()] if len(cols) > 2 else []
        cases.append(
            Case(
                name=cols[0],
                args=cols[1].split(),
                setup=setup,
                outputs=GOLDEN / folder / cols[0],
                corrected=(GOLDEN / corrected / cols[0]) if corrected else None,
            )
        )
    return cases


CASES = _read_cases("cases.tsv", "cases", None)
COMPAT_CASES = _read_cases("compat_cases.tsv", "compat/cases", "compat/corrected")
ALL_CASES = CASES + COMPAT_CASES


def case_named(name: str) -> Case:
    return next(c for c in ALL_CASES if c.name == name)


def prepare(case: Case, folder: Path) -> Path:
    """`folder` (created) holding every golden input file and the case's set-up copies."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in (GOLDEN / "inputs").iterdir():
        shutil.copy(f, folder / f.name)
    for dst, src in case.setup:
        shutil.copy(GOLDEN / "inputs" / src, folder / dst)
    return folder


def read_f32(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<f4")


def read_smv(path: Path) -> Tuple[dict, np.ndarray]:
    """An SMV image: its header keys and its uint16 pixels (slow, fast)."""
    raw = path.read_bytes()
    head = raw[:512].decode("ascii", "replace")
    keys = {}
    for entry in head.splitlines():
        if "=" in entry:
            k, v = entry.split("=", 1)
            keys[k.strip()] = v.strip().rstrip(";")
    size = int(keys["HEADER_BYTES"])
    assert keys["TYPE"] == "unsigned_short"
    order = "<" if keys["BYTE_ORDER"] == "little_endian" else ">"
    pixels = np.frombuffer(raw[size:], dtype=order + "u2")
    return keys, pixels.reshape(int(keys["SIZE2"]), int(keys["SIZE1"]))


def _find_cli() -> Path:
    env = os.environ.get("NANOBRAGG_CLI")
    if env:
        return Path(env)
    built = REPO / "target" / "release" / "nanoBragg"
    if not built.exists():
        # the CLI of this checkout, built the ordinary way
        subprocess.run(
            ["cargo", "build", "--release", "--bin", "nanoBragg"], cwd=REPO, check=True
        )
    return built


@pytest.fixture(scope="session")
def cli() -> Path:
    """The nanoBragg program to compare with (NANOBRAGG_CLI, else target/release/nanoBragg,
    built if missing)."""
    path = _find_cli()
    assert path.exists(), f"{path}: the nanoBragg CLI is missing"
    return path


def run_cli(cli: Path, folder: Path, args: List[str], check: bool = True):
    """Run the CLI in `folder` on two threads; returns the finished process."""
    env = dict(os.environ, RAYON_NUM_THREADS="2")
    p = subprocess.run(
        [str(cli), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    if check:
        assert p.returncode == 0, f"{args}: {p.stderr}"
    return p


def cli_error(cli: Path, folder: Path, args: List[str]) -> str:
    """The CLI's error message (after "nanoBragg: error: ") for a run that must fail."""
    p = run_cli(cli, folder, args, check=False)
    assert p.returncode == 9, p.stderr
    lines = [l for l in p.stderr.splitlines() if "warning:" not in l]
    assert len(lines) == 1 and lines[0].startswith("nanoBragg: error: "), p.stderr
    return lines[0][len("nanoBragg: error: ") :]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test in a fresh folder (relative file names resolve there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    if np.array_equal(a, b):
        return 1.0
    return float(np.corrcoef(a, b)[0, 1])


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))
