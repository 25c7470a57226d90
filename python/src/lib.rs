//! The extension module `nanobragg._nanobragg`, re-exported by the Python package `nanobragg`
//! (python/nanobragg/__init__.py). Everything here is a thin layer over the `nanobragg` crate:
//!
//! * `Simulation(args)` is `nanobragg::Simulation::from_args` (the CLI's options, defaults and
//!   set-up, with the GIL released); its quirk warnings become `QuirkWarning`s.
//! * `render()` runs the library's render driver with the GIL released and hands the engine's
//!   image `Vec` to numpy as the array's buffer (no copy). An observer polls, at most every
//!   [`POLL`], for Ctrl-C (on the main thread) and calls the progress callback.
//! * The products (integer, noise, PGM and PNG images, statistics) are computed by the
//!   library's functions from the last rendered array, as the CLI computes them;
//!   `write()` writes the CLI's files through `Simulation::finish`.
//! * Library errors become exceptions of the `nanobragg.Error` hierarchy with the CLI's
//!   message. Nothing here prints.

use nanobragg::kernel::{InterpTrigger, Observer, Rendered};
use nanobragg::{Error as NbError, Precision, RenderPlan, output, stats};
use numpy::PyArray2;
use numpy::PyArrayMethods;
use numpy::ndarray::Array2;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple};
use std::ffi::CString;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

create_exception!(
    nanobragg,
    Error,
    PyException,
    "Base class of every nanobragg error; str(e) is the message the nanoBragg CLI prints."
);
create_exception!(
    nanobragg,
    UsageError,
    Error,
    "A bad command line: unknown option, missing or non-numeric value, stray argument."
);
create_exception!(
    nanobragg,
    InputError,
    Error,
    "An input file that cannot be read or is malformed (attributes: filename, line)."
);
create_exception!(
    nanobragg,
    OutputError,
    Error,
    "An output file that cannot be written (attribute: filename); no file was changed."
);
create_exception!(
    nanobragg,
    InvalidError,
    Error,
    "Parameters that describe no possible experiment, or an image with NaN/infinite pixels \
     that would be written without -allow_nonfinite."
);
create_exception!(
    nanobragg,
    MemoryLimitError,
    Error,
    "The run would need more memory than it may use (NANOBRAGG_MEMORY_LIMIT, cgroup, RAM)."
);
create_exception!(
    nanobragg,
    CancelledError,
    Error,
    "The render was stopped by its progress callback."
);
create_exception!(
    nanobragg,
    NanobraggWarning,
    PyUserWarning,
    "Base class of nanobragg's warnings."
);
create_exception!(
    nanobragg,
    QuirkWarning,
    NanobraggWarning,
    "A nanoBragg.c quirk changes what the command line asked for (-fix_quirks corrects it); \
     the CLI prints these on stderr."
);
create_exception!(
    nanobragg,
    PixelWarning,
    NanobraggWarning,
    "Written pixels are negative or not finite (the CLI's warnings after writing)."
);

/// How often a render on the main thread checks for Ctrl-C, and calls the progress callback.
const POLL: Duration = Duration::from_millis(25);

/// The exception for a library error, with the CLI's message.
fn py_err(py: Python<'_>, e: NbError) -> PyErr {
    let msg = e.to_string();
    let set = |err: PyErr, key: &str, value: Bound<'_, PyAny>| {
        // an attribute that cannot be set leaves the message, which says it all
        let _ = err.value(py).setattr(key, value);
        err
    };
    match e {
        NbError::Usage(m) => {
            let lost = m.starts_with("unknown option") || m.starts_with("no ");
            let hint = if lost {
                " (nanobragg.usage() lists every option)"
            } else {
                ""
            };
            UsageError::new_err(format!("{msg}{hint}"))
        }
        NbError::Input { file, line, .. } => {
            let err = InputError::new_err(msg);
            let err = set(err, "filename", PyString::new(py, &file).into_any());
            match line.map(|l| l.into_pyobject(py)) {
                Some(Ok(l)) => set(err, "line", l.into_any()),
                _ => set(err, "line", py.None().into_bound(py)),
            }
        }
        NbError::Output { file, .. } => {
            let err = OutputError::new_err(msg);
            set(err, "filename", PyString::new(py, &file).into_any())
        }
        NbError::Invalid(_) => InvalidError::new_err(msg),
        NbError::Memory(_) => MemoryLimitError::new_err(msg),
        // not reached: the module does not import on such a CPU (ImportError)
        NbError::Cpu(_) => Error::new_err(msg),
        NbError::Cancelled => CancelledError::new_err(msg),
    }
}

/// Issue a Python warning of `category` (an error when the warnings filter says so).
fn warn(py: Python<'_>, category: &Bound<'_, PyAny>, text: &str) -> PyResult<()> {
    let text = CString::new(text.replace('\0', "\\0")).unwrap_or_default();
    PyErr::warn(py, category, &text, 1)
}

/// The command line as strings: one string is split like a shell (`shlex.split`); a sequence
/// may hold strings, path-like objects and numbers.
fn arg_strings(py: Python<'_>, args: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let items: Vec<Bound<'_, PyAny>> = if args.is_instance_of::<PyString>() {
        let split = py.import("shlex")?.call_method1("split", (args,))?;
        split.try_iter()?.collect::<PyResult<_>>()?
    } else if args.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "args must be a string or a sequence of strings, not bytes",
        ));
    } else {
        args.try_iter()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "args must be a string or a sequence of strings, not {}",
                    type_name(args)
                ))
            })?
            .collect::<PyResult<_>>()?
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let text = if item.is_instance_of::<PyString>() {
            item.clone()
        } else if item.is_instance_of::<PyBool>() {
            return Err(arg_type_error(i, item));
        } else if item.is_instance_of::<PyInt>() || item.is_instance_of::<PyFloat>() {
            item.str()?.into_any()
        } else if item.hasattr("__fspath__")? {
            let p = py.import("os")?.call_method1("fspath", (item,))?;
            if !p.is_instance_of::<PyString>() {
                return Err(arg_type_error(i, item));
            }
            p
        } else if item.hasattr("__index__")? {
            py.import("operator")?
                .call_method1("index", (item,))?
                .str()?
                .into_any()
        } else if item.hasattr("__float__")? {
            item.call_method0("__float__")?.str()?.into_any()
        } else {
            return Err(arg_type_error(i, item));
        };
        let s = text.cast::<PyString>()?;
        match s.to_cow() {
            Ok(t) => out.push(t.into_owned()),
            Err(_) => {
                return Err(UsageError::new_err(format!(
                    "argument {} ({}) is not valid UTF-8",
                    i + 1,
                    s.repr()?
                )));
            }
        }
    }
    Ok(out)
}

fn type_name(x: &Bound<'_, PyAny>) -> String {
    x.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn arg_type_error(i: usize, item: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "argument {} is {}: give strings, numbers or paths",
        i + 1,
        type_name(item)
    ))
}

fn parse_precision(p: Option<&str>) -> PyResult<Option<Precision>> {
    match p {
        None => Ok(None),
        Some("single") => Ok(Some(Precision::Single)),
        Some("double") => Ok(Some(Precision::Double)),
        Some(other) => Err(PyValueError::new_err(format!(
            "precision must be \"single\" or \"double\" (or None for the -precision option), not {other:?}"
        ))),
    }
}

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::Single => "single",
        Precision::Double => "double",
    }
}

/// Whether the calling thread is Python's main thread (the one Ctrl-C interrupts).
fn on_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import("threading")?;
    let main = threading.call_method0("main_thread")?;
    let current = threading.call_method0("current_thread")?;
    Ok(main.is(&current))
}

/// The render's observer: on the main thread it checks for signals (Ctrl-C), and it calls the
/// progress callback, each at most every [`POLL`], holding the GIL only for that.
struct PyObserver<'a> {
    signals: bool,
    progress: Option<&'a Py<PyAny>>,
    total: usize,
    done: usize,
    last_poll: Instant,
    /// A KeyboardInterrupt (or other exception from a signal handler or the callback).
    error: Option<PyErr>,
    /// The callback asked to stop.
    stop: bool,
}

impl Observer for PyObserver<'_> {
    fn progress(&mut self, rank_done: usize) {
        self.done = self.done.max(rank_done);
    }

    fn stop_requested(&mut self) -> bool {
        if self.stop || self.error.is_some() {
            return true;
        }
        if !self.signals && self.progress.is_none() {
            return false;
        }
        let now = Instant::now();
        if now.duration_since(self.last_poll) < POLL {
            return false;
        }
        self.last_poll = now;
        Python::attach(|py| {
            if self.signals
                && let Err(e) = py.check_signals()
            {
                self.error = Some(e);
                return;
            }
            if let Some(cb) = self.progress {
                match cb
                    .call1(py, (self.done, self.total))
                    .and_then(|r| r.is_truthy(py))
                {
                    Ok(stop) => self.stop = stop,
                    Err(e) => self.error = Some(e),
                }
            }
        });
        self.stop || self.error.is_some()
    }
}

/// What is kept of the last render besides its image.
#[derive(Clone, Copy)]
struct Meta {
    exact: bool,
    omega_sum: f64,
    interp_trigger: Option<InterpTrigger>,
    /// Address of the engine's image buffer (the array's data, if no copy was made).
    address: usize,
}

struct Last {
    /// The array `render()` returned (its buffer is the engine's image).
    image: Py<PyAny>,
    meta: Meta,
}

/// Statistics of a rendered image, as the nanoBragg CLI prints them after its loop.
#[pyclass(frozen, get_all, module = "nanobragg", name = "Stats")]
struct PyStats {
    /// Largest rendered pixel value (photons).
    max_i: f64,
    /// Where it is, as a numpy index of the image: (slow, fast); None when no pixel is > 0.
    max_index: Option<(usize, usize)>,
    /// (fast, slow) detector coordinates of that pixel's last sub-pixel, metres: the CLI's
    /// "max_I = ... at X Y".
    max_position: (f64, f64),
    /// Mean over rendered pixels.
    mean: f64,
    /// Root mean square over rendered pixels.
    rms: f64,
    /// Root mean square deviation from the mean, over every ROI pixel (masked ones too).
    rmsd: f64,
    /// Sum over rendered pixels (the reference's sum).
    sum: f64,
    /// Sum of squares over rendered pixels (the reference's sumsqr).
    sumsq: f64,
    /// Rendered pixels (inside the ROI and not masked).
    count: usize,
    /// Solid angle of the detector in steradians (the CLI prints it).
    solid_angle: f64,
    /// Scale of the integer (SMV) image: -scale, else 55000/max_i.
    int_scale: f64,
    /// Scale of the PGM image: -pgmscale, else 250/(5 rmsd).
    pgm_scale: f64,
    /// Rendered pixels below zero.
    negative_pixels: usize,
    /// Rendered pixels that are NaN or infinite.
    nonfinite_pixels: usize,
}

#[pymethods]
impl PyStats {
    /// The statistics as a dict.
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("max_i", self.max_i)?;
        d.set_item("max_index", self.max_index)?;
        d.set_item("max_position", self.max_position)?;
        d.set_item("mean", self.mean)?;
        d.set_item("rms", self.rms)?;
        d.set_item("rmsd", self.rmsd)?;
        d.set_item("sum", self.sum)?;
        d.set_item("sumsq", self.sumsq)?;
        d.set_item("count", self.count)?;
        d.set_item("solid_angle", self.solid_angle)?;
        d.set_item("int_scale", self.int_scale)?;
        d.set_item("pgm_scale", self.pgm_scale)?;
        d.set_item("negative_pixels", self.negative_pixels)?;
        d.set_item("nonfinite_pixels", self.nonfinite_pixels)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let index = match self.max_index {
            Some((s, f)) => format!("({s}, {f})"),
            None => "None".into(),
        };
        format!(
            "Stats(max_i={}, max_index={index}, mean={}, rms={}, rmsd={}, count={})",
            self.max_i, self.mean, self.rms, self.rmsd, self.count
        )
    }
}

/// The statistics the CLI computes for a render: in the reference's serial order for the
/// exact kernel, row by row otherwise (`nanobragg::stats::of`).
fn image_stats(plan: &RenderPlan, image: &[f32], exact: bool) -> stats::Stats {
    if exact {
        stats::compute(plan, image)
    } else {
        stats::compute_rows(plan, image)
    }
}

/// A (slow, fast) array that takes `pixels` as its buffer.
fn to_array<'py, T: numpy::Element>(
    py: Python<'py>,
    plan: &RenderPlan,
    pixels: Vec<T>,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    let a = Array2::from_shape_vec((plan.spixels, plan.fpixels), pixels)
        .map_err(|e| PyValueError::new_err(format!("image shape: {e}")))?;
    Ok(PyArray2::from_owned_array(py, a))
}

/// A nanoBragg simulation, set up from the nanoBragg command line.
///
/// args: the CLI's options, as one string (split like a shell) or a sequence of strings
/// (numbers and paths are accepted too), e.g.
/// "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 128". Same options, defaults,
/// units and file formats as the nanoBragg program (nanobragg.usage() lists them); input
/// files (-hkl, -mat, -img, ...) are read now, relative to the current directory.
///
/// Raises UsageError, InputError, InvalidError or MemoryLimitError with the CLI's message;
/// the CLI's quirk warnings are issued as nanobragg.QuirkWarning.
///
/// render() returns the float image as a numpy array; int_image(), noise_image(), pgm(),
/// png(), stats() and write() derive the CLI's other products from the last rendered image
/// (rendering first if nothing has been rendered yet).
#[pyclass(frozen, module = "nanobragg", name = "Simulation")]
struct Sim {
    /// The shared set-up stages, for vary().
    prepared: Arc<nanobragg::Prepared>,
    sim: nanobragg::Simulation,
    args: Vec<String>,
    last: Mutex<Option<Last>>,
}

impl Sim {
    fn plan(&self) -> &RenderPlan {
        self.sim.plan()
    }

    fn opts(&self) -> &nanobragg::options::Options {
        &self.sim.experiment().opts
    }

    fn render_array<'py>(
        &self,
        py: Python<'py>,
        precision: Option<Precision>,
        threads: Option<usize>,
        progress: Option<&Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let precision = precision.unwrap_or(self.opts().precision);
        let plan = self.plan();
        let total = (0..plan.spixels).map(|s| plan.rendered_in_row(s)).sum();
        let mut obs = PyObserver {
            signals: on_main_thread(py)?,
            progress,
            total,
            done: 0,
            last_poll: Instant::now(),
            error: None,
            stop: false,
        };
        let sim = &self.sim;
        let result = py.detach(|| sim.render_with(Some(precision), threads, &mut obs));
        if let Some(e) = obs.error.take() {
            return Err(e);
        }
        let r = match result {
            Ok(r) => r,
            Err(NbError::Cancelled) => {
                return Err(CancelledError::new_err(
                    "the render was cancelled: the progress callback returned a true value",
                ));
            }
            Err(e) => return Err(py_err(py, e)),
        };
        let meta = Meta {
            exact: r.exact,
            omega_sum: r.omega_sum,
            interp_trigger: r.interp_trigger,
            address: r.image.as_ptr() as usize,
        };
        // the engine's Vec becomes the array's buffer
        let array = to_array(py, plan, r.image)?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Last {
            image: array.clone().into_any().unbind(),
            meta,
        });
        if let Some(cb) = progress {
            cb.call1(py, (total, total))?;
        }
        Ok(array)
    }

    /// The last rendered array and what the render reported, rendering with the options'
    /// precision first when nothing was rendered yet.
    fn last<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyArray2<f32>>, Meta)> {
        let held = {
            let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            last.as_ref().map(|l| (l.image.clone_ref(py), l.meta))
        };
        let Some((image, meta)) = held else {
            self.render_array(py, None, None, None)?;
            return self.last(py);
        };
        let image = image.into_bound(py);
        let array = image.cast_into::<PyArray2<f32>>().map_err(|e| {
            PyTypeError::new_err(format!(
                "the rendered image was changed in place into {}; render again",
                type_name(&e.into_inner())
            ))
        })?;
        Ok((array, meta))
    }

    /// Run `f` on the last rendered image (as it is now), without the GIL.
    fn with_image<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&[f32], Meta) -> T + Send,
    ) -> PyResult<T> {
        let (array, meta) = self.last(py)?;
        let ro = array.try_readonly().map_err(|e| {
            PyValueError::new_err(format!("the rendered image cannot be read: {e}"))
        })?;
        let image = ro.as_slice().map_err(|_| {
            PyValueError::new_err("the rendered image is no longer contiguous; render again")
        })?;
        let plan = self.plan();
        if image.len() != plan.fpixels * plan.spixels {
            return Err(PyValueError::new_err(format!(
                "the rendered image has {} pixels, the detector {}; render again",
                image.len(),
                plan.fpixels * plan.spixels
            )));
        }
        Ok(py.detach(|| f(image, meta)))
    }
}

#[pymethods]
impl Sim {
    #[new]
    #[pyo3(signature = (args))]
    fn new(py: Python<'_>, args: &Bound<'_, PyAny>) -> PyResult<Self> {
        let args = arg_strings(py, args)?;
        let (prepared, sim) = py
            .detach(|| {
                let p = nanobragg::Prepared::from_args(&args)?;
                let sim = p.base()?;
                Ok((p, sim))
            })
            .map_err(|e| py_err(py, e))?;
        let category = py.get_type::<QuirkWarning>();
        for w in sim.warnings() {
            warn(py, category.as_any(), w)?;
        }
        Ok(Sim {
            prepared: Arc::new(prepared),
            sim,
            args,
            last: Mutex::new(None),
        })
    }

    /// A variation of this simulation: the same prepared experiment (structure factors,
    /// detector, sources, mask: shared, not read or copied again) with the per-image stages
    /// run again for what is given; None keeps this simulation's value. Costs microseconds,
    /// so a loop of renders is dominated by the renders.
    ///
    /// phi: spindle start in degrees (-phi); the oscillation and its steps stay.
    /// misset: (x, y, z) misset angles in degrees (-misset x y z).
    /// random_orientation: a seed: the random orientation -misset random -misset_seed SEED
    ///     draws.
    /// rotation: a 3x3 rotation matrix U (proper, orthonormal to 1e-9) applied to the
    ///     reciprocal cell (a* <- U a*, ...) in place of any misset; no CLI equivalent.
    /// seed: noise seed (-seed); mosaic_seed: mosaic-domain seed (-mosaic_seed).
    /// fluence: photons per m^2 (-fluence; not with -flux).
    /// cells: (Na, Nb, Nc) unit cells (-Na -Nb -Nc; not with -xtalsize).
    ///
    /// The result renders exactly as Simulation(args + the equivalent options); its args
    /// property lists them (a rotation matrix has none).
    #[pyo3(signature = (*, phi = None, misset = None, random_orientation = None, rotation = None, seed = None, mosaic_seed = None, fluence = None, cells = None))]
    #[allow(clippy::too_many_arguments)]
    fn vary(
        &self,
        py: Python<'_>,
        phi: Option<f64>,
        misset: Option<[f64; 3]>,
        random_orientation: Option<i32>,
        rotation: Option<[[f64; 3]; 3]>,
        seed: Option<i32>,
        mosaic_seed: Option<i32>,
        fluence: Option<f64>,
        cells: Option<[u32; 3]>,
    ) -> PyResult<Sim> {
        let orientations = [
            misset.is_some(),
            random_orientation.is_some(),
            rotation.is_some(),
        ];
        if orientations.iter().filter(|x| **x).count() > 1 {
            return Err(PyValueError::new_err(
                "give at most one of misset, random_orientation and rotation",
            ));
        }
        let mut v = nanobragg::Variation::new();
        let mut extra: Vec<String> = Vec::new();
        let num = |x: f64| format!("{x:?}");
        if let Some(p) = phi {
            v = v.phi(p);
            extra.extend(["-phi".into(), num(p)]);
        }
        if let Some(m) = misset {
            v = v.misset(m);
            extra.push("-misset".into());
            extra.extend(m.iter().map(|x| num(*x)));
        }
        if let Some(u) = rotation {
            v = v.rotation([
                u[0][0], u[0][1], u[0][2], u[1][0], u[1][1], u[1][2], u[2][0], u[2][1], u[2][2],
            ]);
        }
        if let Some(s) = seed {
            v = v.seed(s);
            extra.extend(["-seed".into(), s.to_string()]);
        }
        if let Some(s) = mosaic_seed {
            v = v.mosaic_seed(s);
            extra.extend(["-mosaic_seed".into(), s.to_string()]);
        }
        if let Some(f) = fluence {
            v = v.fluence(f);
            extra.extend(["-fluence".into(), num(f)]);
        }
        if let Some(n) = cells {
            v = v.cells(n);
            for (name, k) in ["-Na", "-Nb", "-Nc"].iter().zip(n) {
                extra.extend([name.to_string(), k.to_string()]);
            }
        }
        if let Some(s) = random_orientation {
            // last: nanoBragg.c also reads -misset_seed followed by three words as angles
            v = v.random_orientation(s);
            extra.extend([
                "-misset".into(),
                "random".into(),
                "-misset_seed".into(),
                s.to_string(),
            ]);
        }
        let prepared = &self.prepared;
        let sim = py.detach(|| prepared.vary(&v)).map_err(|e| py_err(py, e))?;
        let category = py.get_type::<QuirkWarning>();
        for w in sim.warnings() {
            if !self.sim.warnings().contains(w) {
                warn(py, category.as_any(), w)?;
            }
        }
        let mut args = self.args.clone();
        args.extend(extra);
        Ok(Sim {
            prepared: Arc::clone(&self.prepared),
            sim,
            args,
            last: Mutex::new(None),
        })
    }

    /// Render the float image (photons per pixel) and return it as a float32 numpy array of
    /// shape (slow, fast), C-contiguous, whose buffer is the engine's (no copy).
    ///
    /// precision: "single" (SIMD kernel), "double" (exact kernel, bit-identical to
    ///     nanoBragg.c), or None for the -precision option (default single).
    /// threads: worker threads for this render (None: RAYON_NUM_THREADS, else one per core);
    ///     the image does not depend on it.
    /// progress: None, or a callable progress(done, total) called with rendered pixel
    ///     counts every 25 to 50 ms while rendering and once at the end, on the calling
    ///     thread; a true return value stops the render (CancelledError), an exception stops
    ///     it and propagates.
    ///
    /// The GIL is released while rendering, so other Python threads (and renders) run. On
    /// the main thread Ctrl-C stops the render within about 0.1 s (KeyboardInterrupt).
    /// The array is kept as the simulation's last image: int_image(), stats(), write() ...
    /// use it as it is then (changes made to it in place included).
    #[pyo3(signature = (precision = None, threads = None, progress = None))]
    fn render<'py>(
        &self,
        py: Python<'py>,
        precision: Option<&str>,
        threads: Option<i64>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let precision = parse_precision(precision)?;
        let threads = match threads {
            None => None,
            Some(n) => Some(usize::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "threads must be at least 1 (or None: RAYON_NUM_THREADS, else one per core), not {n}"
                ))
            })?),
        };
        self.render_array(py, precision, threads, progress.as_ref())
    }

    /// The integer image the CLI writes to -intfile (SMV pixels): uint16 array (slow, fast),
    /// value·scale + adc rounded and clipped to [0, 65535] (scale: -scale, else 55000/max).
    fn int_image<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u16>>> {
        let (plan, o) = (self.plan(), self.opts());
        let pixels = self.with_image(py, |img, _| {
            nanobragg::pool::install(|| {
                let scale = output::int_scale(o.intfile_scale, stats::max(plan, img).0);
                output::int_image(plan, img, scale, o.adc)
            })
        })?;
        to_array(py, plan, pixels.map_err(|e| py_err(py, e))?)
    }

    /// The Poisson-noise image the CLI writes to -noisefile: uint16 array (slow, fast).
    ///
    /// seed: the noise seed, as -seed (None: the -seed option, else the CLI's default, the
    ///     time at set-up). The same seed gives the same image as the CLI with -seed.
    #[pyo3(signature = (seed = None))]
    fn noise_image<'py>(
        &self,
        py: Python<'py>,
        seed: Option<i64>,
    ) -> PyResult<Bound<'py, PyArray2<u16>>> {
        let (plan, o) = (self.plan(), self.opts());
        let mut state = match seed {
            None => o.seed,
            Some(s) if i32::try_from(s).is_ok() => -s,
            Some(s) => {
                return Err(PyValueError::new_err(format!(
                    "seed {s} is not a 32-bit integer (the CLI's -seed)"
                )));
            }
        };
        let mut rng = self.sim.experiment().rng.clone();
        let noise = self.with_image(py, |img, _| {
            output::noise_image(plan, img, o.adc, &mut rng, &mut state)
        })?;
        to_array(py, plan, noise.pixels)
    }

    /// The PGM file the CLI writes to -pgmfile (header and pixels), as bytes.
    fn pgm<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let (plan, o) = (self.plan(), self.opts());
        let bytes = self.with_image(py, |img, meta| {
            nanobragg::pool::install(|| {
                let st = image_stats(plan, img, meta.exact);
                let int_scale = output::int_scale(o.intfile_scale, st.max_i);
                let scale = output::pgm_scale(o.pgm_scale, int_scale, st.rmsd);
                let pixels = output::pgm_bytes(plan, img, scale);
                nanobragg::io::pgm::encode(plan.fpixels, plan.spixels, scale, &pixels)
            })
        })?;
        Ok(PyBytes::new(py, &bytes.map_err(|e| py_err(py, e))?))
    }

    /// The 8-bit log-scaled PNG preview the CLI writes to -pngfile, as PNG file bytes.
    fn png<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let plan = self.plan();
        let bytes = self.with_image(py, |img, _| {
            let gray = output::png_preview(plan, img);
            nanobragg::io::png::encode(plan.fpixels, plan.spixels, &gray)
        })?;
        let bytes = bytes.map_err(|e| InvalidError::new_err(format!("PNG preview: {e}")))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The statistics of the last rendered image (max and its pixel, mean, rms, rmsd, ...):
    /// the values behind the CLI's "max_I = ...", "mean= ... rms= ... rmsd= ..." lines.
    fn stats(&self, py: Python<'_>) -> PyResult<PyStats> {
        let (plan, o) = (self.plan(), self.opts());
        let steps = self.sim.experiment().steps as f64;
        let result = self.with_image(py, |img, meta| {
            nanobragg::pool::install(|| {
                let st = image_stats(plan, img, meta.exact);
                let index = stats::max(plan, img).1;
                let (nonfinite, _, negative) = nanobragg::unusual(plan, img);
                let int_scale = output::int_scale(o.intfile_scale, st.max_i);
                PyStats {
                    max_i: st.max_i,
                    max_index: index.map(|i| (i / plan.fpixels, i % plan.fpixels)),
                    max_position: (st.max_pos[0], st.max_pos[1]),
                    mean: st.mean,
                    rms: st.rms,
                    rmsd: st.rmsd,
                    sum: st.sum,
                    sumsq: st.sumsq,
                    count: st.count,
                    solid_angle: meta.omega_sum / steps,
                    int_scale,
                    pgm_scale: output::pgm_scale(o.pgm_scale, int_scale, st.rmsd),
                    negative_pixels: negative,
                    nonfinite_pixels: nonfinite,
                }
            })
        })?;
        result.map_err(|e| py_err(py, e))
    }

    /// Write the files the options name (float image, SMV integer and noise images, PGM,
    /// PNG preview, Fdump.bin), byte-identical to the CLI's, from the last rendered image.
    /// All or nothing: when one cannot be written no file is changed (OutputError).
    /// Returns the lines the CLI prints after its pixel loop.
    ///
    /// Raises InvalidError when pixels are NaN or infinite (unless -allow_nonfinite), as the
    /// CLI does; negative or (allowed) non-finite pixels give a PixelWarning.
    fn write(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let sim = &self.sim;
        py.detach(|| sim.check_outputs())
            .map_err(|e| py_err(py, e))?;
        let written = self.with_image(py, |img, meta| {
            // the library's writer takes the image by value: one copy, beside the file writes
            let r = Rendered {
                image: img.to_vec(),
                interp_trigger: meta.interp_trigger,
                omega_sum: meta.omega_sum,
                exact: meta.exact,
                stats: None,
                unusual: None,
            };
            let mut lines = Vec::new();
            sim.finish(&r, &mut |l| lines.push(l.to_string()))
                .map(|p| (lines, p.negative_pixels, p.nonfinite_pixels))
        })?;
        let (lines, negative, nonfinite) = written.map_err(|e| py_err(py, e))?;
        let category = py.get_type::<PixelWarning>();
        if negative > 0 {
            warn(
                py,
                category.as_any(),
                &format!(
                    "{negative} pixels are negative, as nanoBragg.c computes them (a detector that faces away from the sample has negative solid angles)"
                ),
            )?;
        }
        if nonfinite > 0 {
            warn(
                py,
                category.as_any(),
                &format!(
                    "{nonfinite} pixels are NaN or infinite (written as they are: -allow_nonfinite)"
                ),
            )?;
        }
        Ok(lines)
    }

    /// The -printout lines (the CLI prints them after the render): the dump of the pixel
    /// -printout_pixel, or of every rendered pixel; empty without -printout.
    fn printout(&self, py: Python<'_>) -> Vec<String> {
        let sim = &self.sim;
        py.detach(|| sim.printout_lines())
    }

    /// The arguments, as strings.
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.args)
    }

    /// The image shape (slow, fast) = (-detpixels_y, -detpixels_x).
    #[getter]
    fn shape(&self) -> (usize, usize) {
        (self.plan().spixels, self.plan().fpixels)
    }

    /// The -precision option ("single" unless given): render()'s default.
    #[getter]
    fn precision(&self) -> &'static str {
        precision_name(self.opts().precision)
    }

    /// The lines the CLI prints before its pixel loop.
    #[getter]
    fn transcript(&self) -> Vec<String> {
        self.sim.transcript().to_vec()
    }

    /// The quirk warnings (issued as QuirkWarning when the simulation was made).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.sim.warnings().to_vec()
    }

    /// The image files write() writes (float, SMV, PGM, noise, PNG), as the options name
    /// them (write() also writes Fdump.bin when -hkl was read, as the CLI does).
    #[getter]
    fn output_files(&self) -> Vec<String> {
        self.sim
            .output_files()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The last array render() returned, or None.
    #[getter]
    fn image<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref().map(|l| l.image.clone_ref(py).into_bound(py))
    }

    /// Address of the engine's buffer of the last render (tests: the array's data is there).
    #[getter]
    fn _engine_buffer_address(&self) -> Option<usize> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref().map(|l| l.meta.address)
    }

    fn __repr__(&self) -> String {
        let (s, f) = self.shape();
        let mut shown = self.args.join(" ");
        if shown.chars().count() > 80 {
            shown = shown.chars().take(77).collect::<String>() + "...";
        }
        format!(
            "<nanobragg.Simulation {f}x{s} pixels, {} precision: {shown:?}>",
            self.precision()
        )
    }
}

/// The single-precision kernel of this build, e.g. "f32x8 on AVX2 + FMA (x86-64-v3 build)".
#[pyfunction]
fn simd_info() -> &'static str {
    nanobragg::simd_info()
}

/// The CLI's option list (nanoBragg -help), by topic, with units and defaults.
#[pyfunction]
fn usage() -> String {
    nanobragg::cli::usage()
}

/// Why the module does not import on this CPU (see [`PyInit__nanobragg`]).
const UNSUPPORTED: &std::ffi::CStr = if cfg!(target_feature = "avx512f") {
    c"this build of nanobragg needs a CPU with AVX-512F, AVX2 and FMA (x86-64-v4); rebuild the package for this machine: RUSTFLAGS=\"-C target-cpu=x86-64\" pip install ./python"
} else {
    c"this build of nanobragg needs a CPU with AVX2 and FMA (x86-64-v3); rebuild the package for this machine: RUSTFLAGS=\"-C target-cpu=x86-64\" pip install ./python"
};

/// The module's entry point: asks the CPU first (as the CLI does), before any code compiled for
/// the build's instruction sets runs (pyo3's module set-up included), and raises ImportError on
/// a CPU without them instead of dying of an illegal instruction; then pyo3's multi-phase
/// initialisation of [`nanobragg_module`].
///
/// # Safety
/// Called by the Python interpreter, with the GIL, when it imports the module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PyInit__nanobragg() -> *mut pyo3::ffi::PyObject {
    if !nanobragg::cpu::supported() {
        // SAFETY: the interpreter holds the GIL during module initialisation; both pointers
        // are static.
        unsafe { pyo3::ffi::PyErr_SetString(pyo3::ffi::PyExc_ImportError, UNSUPPORTED.as_ptr()) };
        return std::ptr::null_mut();
    }
    nanobragg_module::_PYO3_DEF.init_multi_phase()
}

/// The module's contents (pyo3 exports its own entry point under the name below, unused:
/// Python calls [`PyInit__nanobragg`]).
#[pymodule]
#[pyo3(name = "_nanobragg_contents")]
fn nanobragg_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // numpy now: its C API is set up on first use, and a failure there (numpy missing, or a
    // KeyboardInterrupt while it is imported) would be a panic in the middle of a render
    py.import("numpy")?;
    PyArray2::from_owned_array(py, Array2::<f32>::zeros((0, 0)));
    PyArray2::from_owned_array(py, Array2::<u16>::zeros((0, 0)));
    m.add_class::<Sim>()?;
    m.add_class::<PyStats>()?;
    m.add_function(wrap_pyfunction!(simd_info, m)?)?;
    m.add_function(wrap_pyfunction!(usage, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("OutputError", py.get_type::<OutputError>())?;
    m.add("InvalidError", py.get_type::<InvalidError>())?;
    m.add("MemoryLimitError", py.get_type::<MemoryLimitError>())?;
    m.add("CancelledError", py.get_type::<CancelledError>())?;
    m.add("NanobraggWarning", py.get_type::<NanobraggWarning>())?;
    m.add("QuirkWarning", py.get_type::<QuirkWarning>())?;
    m.add("PixelWarning", py.get_type::<PixelWarning>())?;
    Ok(())
}
