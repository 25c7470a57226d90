"""nanobragg: X-ray diffraction images of nanocrystals, as numpy arrays.

The engine of the ``nanoBragg`` program (a fast, exact successor to James Holton's
nanoBragg.c), in process. A simulation takes the program's command line::

    import nanobragg
    sim = nanobragg.Simulation("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 256")
    image = sim.render()             # float32 array (slow, fast), photons per pixel
    print(sim.stats().max_i)         # the CLI's statistics
    sim.write()                      # the files the options name, as the CLI writes them

``render(precision="double")`` is bit-identical to nanoBragg.c; the default single precision
is the SIMD kernel. Errors raise subclasses of :class:`nanobragg.Error` carrying the CLI's
message; the CLI's quirk warnings are issued as :class:`nanobragg.QuirkWarning`.
``nanobragg.usage()`` lists every option; ``nanobragg.simd_info()`` names the build's
single-precision kernel.
"""

from ._nanobragg import (
    CancelledError,
    Error,
    InputError,
    InvalidError,
    MemoryLimitError,
    NanobraggWarning,
    OutputError,
    PixelWarning,
    QuirkWarning,
    Simulation,
    Stats,
    UsageError,
    __version__,
    simd_info,
    usage,
)

__all__ = [
    "CancelledError",
    "Error",
    "InputError",
    "InvalidError",
    "MemoryLimitError",
    "NanobraggWarning",
    "OutputError",
    "PixelWarning",
    "QuirkWarning",
    "Simulation",
    "Stats",
    "UsageError",
    "__version__",
    "simd_info",
    "usage",
]
