"""Type stubs of the extension module (re-exported by ``nanobragg``)."""

import os
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

Arg = Union[str, "os.PathLike[str]", int, float]

def simd_info() -> str:
    """The single-precision kernel of this build, e.g. "f32x8 on AVX2 + FMA (x86-64-v3 build)"."""

def usage() -> str:
    """The CLI's option list (nanoBragg -help), by topic, with units and defaults."""

class Error(Exception):
    """Base class of every nanobragg error; str(e) is the message the nanoBragg CLI prints."""

class UsageError(Error):
    """A bad command line: unknown option, missing or non-numeric value, stray argument."""

class InputError(Error):
    """An input file that cannot be read or is malformed."""

    filename: str
    line: Optional[int]

class OutputError(Error):
    """An output file that cannot be written; no file was changed."""

    filename: str

class InvalidError(Error):
    """Parameters that describe no possible experiment, or non-finite pixels to be written."""

class MemoryLimitError(Error):
    """The run would need more memory than it may use."""

class CancelledError(Error):
    """The render was stopped by its progress callback."""

class NanobraggWarning(UserWarning):
    """Base class of nanobragg's warnings."""

class QuirkWarning(NanobraggWarning):
    """A nanoBragg.c quirk changes what the command line asked for (-fix_quirks corrects it)."""

class PixelWarning(NanobraggWarning):
    """Written pixels are negative or not finite."""

class Stats:
    """Statistics of a rendered image, as the nanoBragg CLI prints them after its loop."""

    max_i: float
    max_index: Optional[Tuple[int, int]]
    max_position: Tuple[float, float]
    mean: float
    rms: float
    rmsd: float
    sum: float
    sumsq: float
    count: int
    solid_angle: float
    int_scale: float
    pgm_scale: float
    negative_pixels: int
    nonfinite_pixels: int
    def as_dict(self) -> dict[str, object]: ...

class Simulation:
    """A nanoBragg simulation, set up from the nanoBragg command line."""

    def __init__(self, args: Union[str, Sequence[Arg]]) -> None: ...
    def vary(
        self,
        *,
        phi: Optional[float] = None,
        misset: Optional[Tuple[float, float, float]] = None,
        random_orientation: Optional[int] = None,
        rotation: Optional[Sequence[Sequence[float]]] = None,
        seed: Optional[int] = None,
        mosaic_seed: Optional[int] = None,
        fluence: Optional[float] = None,
        cells: Optional[Tuple[int, int, int]] = None,
    ) -> "Simulation":
        """The same prepared experiment with per-image values changed (no file read again)."""
    def render(
        self,
        precision: Optional[str] = None,
        threads: Optional[int] = None,
        progress: Optional[Callable[[int, int], object]] = None,
    ) -> npt.NDArray[np.float32]:
        """Render the float image: float32 array (slow, fast), the engine's buffer (no copy)."""
    def int_image(self) -> npt.NDArray[np.uint16]:
        """The SMV integer image the CLI writes to -intfile."""
    def noise_image(self, seed: Optional[int] = None) -> npt.NDArray[np.uint16]:
        """The Poisson-noise image the CLI writes to -noisefile (seed: as -seed)."""
    def pgm(self) -> bytes:
        """The PGM file the CLI writes to -pgmfile."""
    def png(self) -> bytes:
        """The PNG preview the CLI writes to -pngfile."""
    def stats(self) -> Stats:
        """Statistics of the last rendered image."""
    def write(self) -> list[str]:
        """Write the files the options name; returns the lines the CLI prints after its loop."""
    def printout(self) -> list[str]:
        """The -printout lines."""
    @property
    def args(self) -> Tuple[str, ...]: ...
    @property
    def shape(self) -> Tuple[int, int]: ...
    @property
    def precision(self) -> str: ...
    @property
    def transcript(self) -> list[str]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def output_files(self) -> list[str]: ...
    @property
    def image(self) -> Optional[npt.NDArray[np.float32]]: ...
