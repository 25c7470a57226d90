//! `nanoBragg`: the command-line front end. Parses like nanoBragg.c, prints its messages on
//! stdout, this program's warnings and errors on stderr, and exits 9 on any error (the
//! reference's status for usage and fatal errors).
#![allow(non_snake_case)]

mod series_cli;

use nanobragg::Simulation;
use nanobragg::kernel::{InterpTrigger, Observer};
use std::io::Write;
use std::process::ExitCode;

pub(crate) const EXIT_ERROR: u8 = 9;

/// Large buffers (images) in 2 MiB-aligned mappings advised for huge pages: fewer page faults
/// while the image is first written (see `nanobragg::huge_alloc`).
#[global_allocator]
static ALLOC: nanobragg::huge_alloc::HugePageAlloc = nanobragg::huge_alloc::HugePageAlloc;

/// Prints the reference's progress lines and the interpolation warning as rows complete, and
/// on a terminal a progress bar on stderr for renders that take more than a second.
pub(crate) struct Console<'a, W: Write> {
    pub(crate) out: &'a mut W,
    pub(crate) progress: bool,
    pub(crate) interp_warning: bool,
    pub(crate) total: usize,
    pub(crate) done: usize,
    pub(crate) bar: Bar,
}

/// The stderr progress bar: shown only when stderr is a terminal, `-noprogress` is absent and
/// the render has run for a second.
pub(crate) struct Bar {
    enabled: bool,
    start: std::time::Instant,
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    pub(crate) fn new(enabled: bool) -> Bar {
        use std::io::IsTerminal;
        Bar {
            enabled: enabled && std::io::stderr().is_terminal(),
            start: std::time::Instant::now(),
            bar: None,
        }
    }

    fn update(&mut self, done: usize, total: usize) {
        if !self.enabled || total == 0 {
            return;
        }
        if self.bar.is_none() && self.start.elapsed() >= std::time::Duration::from_secs(1) {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total as u64),
                indicatif::ProgressDrawTarget::stderr(),
            )
            .with_elapsed(self.start.elapsed());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "rendering {bar:40} {percent:>3}% {elapsed_precise} (eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl<W: Write> Observer for Console<'_, W> {
    fn progress(&mut self, rank_done: usize) {
        if self.progress && rank_done > self.done {
            for l in nanobragg::progress_lines(self.done, rank_done, self.total) {
                let _ = writeln!(self.out, "{l}");
            }
            let _ = self.out.flush();
        }
        self.done = self.done.max(rank_done);
        self.bar.update(self.done, self.total);
    }

    fn interp_trigger(&mut self, t: &InterpTrigger, _rank: usize) {
        if self.interp_warning {
            let _ = write!(self.out, "{}", nanobragg::interp_warning(t));
            let _ = self.out.flush();
        }
    }
}

/// Print the unsupported-CPU line and exit, using only precompiled std code and static data.
#[cold]
#[inline(never)]
fn refuse_cpu() -> ! {
    let mut e = std::io::stderr();
    let _ = e.write_all(b"nanoBragg: error: ");
    let _ = e.write_all(nanobragg::cpu::UNSUPPORTED.as_bytes());
    let _ = e.write_all(b"\n");
    std::process::exit(EXIT_ERROR as i32)
}

fn main() -> ExitCode {
    // before anything else (and with no code that could use AVX): this build's instruction
    // sets must exist on this CPU
    if !nanobragg::cpu::supported() {
        refuse_cpu();
    }
    // a kernel width asked for by NANOBRAGG_SIMD that cannot be used is refused, not ignored
    if let Err(e) = nanobragg::kernel::simd::requested_width() {
        to_stderr(&format!("nanoBragg: error: {e}"));
        return ExitCode::from(EXIT_ERROR);
    }
    let mut args: Vec<String> = Vec::new();
    for (i, a) in std::env::args_os().enumerate().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(raw) => {
                to_stderr(&format!(
                    "nanoBragg: error: argument {i} ({}) is not valid UTF-8",
                    nanobragg::cfmt::clip(&raw.to_string_lossy())
                ));
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    if args
        .iter()
        .any(|a| a == "-h" || a == "-help" || a == "--help")
    {
        let _ = std::io::stdout().write_all(nanobragg::cli::usage().as_bytes());
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "-version" || a == "--version") {
        let _ = write!(
            std::io::stdout(),
            "nanoBragg (nanobragg) {}\nsingle-precision kernel: {}\n",
            env!("CARGO_PKG_VERSION"),
            nanobragg::cpu::simd()
        );
        return ExitCode::SUCCESS;
    }
    if args.is_empty() {
        to_stderr(
            "nanoBragg: error: no arguments: a run needs a crystal (-cell or -mat) and structure factors (-hkl or -default_F); nanoBragg -help lists every option",
        );
        return ExitCode::from(EXIT_ERROR);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // a run that names no crystal or structure factors, or an unknown option
            let lost = matches!(&e, nanobragg::Error::Usage(m)
                if m.starts_with("unknown option") || m.starts_with("no "));
            let hint = if lost {
                " (nanoBragg -help lists every option)"
            } else {
                ""
            };
            to_stderr(&format!("nanoBragg: error: {e}{hint}"));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Write one line to stderr. A stderr that cannot be written (closed, `2>/dev/full`) must
/// never stop a run or panic, so failures are ignored.
pub(crate) fn to_stderr(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// On SIGINT or SIGTERM: remove the run's temporary files (never a half-written output, no
/// hidden leftovers) and exit with 128 + the signal number, as a shell reports it.
///
/// The thread that waits for the signals is the program's first: before it waits, it probes
/// the memory limits (`memory::warm`, ~0.3 ms), so that the run's memory checks find the
/// result instead of waiting for it (a signal meanwhile is handled when the probe ends).
/// Returns false when no handler could be set up (and no probe started).
fn handle_signals() -> bool {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return false; // without a handler the default action applies: exit at once
    };
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            nanobragg::memory::warm();
            if let Some(sig) = signals.forever().next() {
                nanobragg::io::remove_temporaries();
                std::process::exit(128 + sig);
            }
        })
        .is_ok()
}

fn run(args: &[String]) -> nanobragg::Result<()> {
    let probing = handle_signals();
    if args.iter().any(|a| a == "-merge") {
        return merge(args);
    }
    if args.iter().any(|a| a == "-images" || a == "-shots") {
        return series_cli::run(args);
    }
    run_single(args, probing)
}

/// `-merge FILE`: join the ranks' manifest parts; exit status 1 when images are missing.
fn merge(args: &[String]) -> nanobragg::Result<()> {
    let [flag, file] = args else {
        return Err(nanobragg::Error::usage(
            "-merge takes the manifest and nothing else: nanoBragg -merge series.jsonl",
        ));
    };
    debug_assert_eq!(flag, "-merge");
    let m = nanobragg::series::manifest::merge(file)?;
    println!(
        "{file}: {} of {} images listed ({} files read, {:.1} s of rendering)",
        m.present,
        m.images,
        m.parts.len(),
        m.seconds
    );
    if m.images == 0 {
        return Err(nanobragg::Error::input(
            file,
            None,
            "no manifest entries here or in its rank parts",
        ));
    }
    if !m.missing.is_empty() {
        println!(
            "missing {} images: {}",
            m.missing.len(),
            nanobragg::series::manifest::ranges(&m.missing)
        );
        let _ = std::io::stdout().flush();
        std::process::exit(1);
    }
    Ok(())
}

fn run_single(args: &[String], probing: bool) -> nanobragg::Result<()> {
    let t0 = std::time::Instant::now();
    // start the worker threads now: they come up while the command line and input files are
    // read, instead of when the first parallel work (a large HKL file, the render) waits;
    // the memory limits are probed meanwhile (by the signal thread, else by a worker)
    let pool = nanobragg::pool::get(None)?;
    if !probing {
        pool.spawn(nanobragg::memory::warm);
    }
    let timing = std::env::var_os("NANOBRAGG_TIMING").is_some();
    let lap = |what: &str| {
        if timing {
            to_stderr(&format!(
                "timing: {what} {:.2} ms",
                t0.elapsed().as_secs_f64() * 1e3
            ));
        }
    };
    let sim = Simulation::from_args(args)?;
    // one image split across the ranks of an MPI launch: ranks other than 0 only render
    #[cfg(feature = "mpi")]
    let world = nanobragg::mpi::World::from_launcher().filter(|w| w.size > 1);
    #[cfg(feature = "mpi")]
    if let Some(w) = world.as_ref().filter(|w| w.rank != 0) {
        if let Err(e) = nanobragg::mpi::render_split(w, &sim, &mut nanobragg::kernel::Silent) {
            to_stderr(&format!("nanoBragg: error: rank {}: {e}", w.rank));
            w.abort(EXIT_ERROR as i32);
        }
        return Ok(());
    }
    // a bad output path costs no render time
    #[cfg(feature = "mpi")]
    if let (Err(e), Some(w)) = (sim.check_outputs(), world.as_ref()) {
        to_stderr(&format!("nanoBragg: error: {e}"));
        w.abort(EXIT_ERROR as i32);
    }
    sim.check_outputs()?;
    // the float image's file is written while the image is rendered (not for an image split
    // over MPI ranks, which rank 0 writes when it has them all)
    #[cfg(feature = "mpi")]
    let float = match world {
        Some(_) => None,
        None => sim.stage_float()?,
    };
    #[cfg(not(feature = "mpi"))]
    let float = sim.stage_float()?;
    lap("setup");
    for w in sim.warnings() {
        to_stderr(&format!("nanoBragg: warning: {w}"));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in sim.transcript() {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    let opts = &sim.experiment().opts;
    let mut console = Console {
        out: &mut out,
        progress: opts.progress && !opts.printout,
        // with -printout the warning is printed by the dump pass, at its pixel
        interp_warning: !opts.printout,
        total: nanobragg::progress_total(sim.plan()),
        done: 0,
        bar: Bar::new(opts.progress),
    };
    #[cfg(feature = "mpi")]
    let rendered = match world.as_ref() {
        Some(w) => match nanobragg::mpi::render_split(w, &sim, &mut console) {
            Ok(r) => Ok(r.expect("rank 0 has the image")),
            Err(e) => {
                to_stderr(&format!("nanoBragg: error: {e}"));
                w.abort(EXIT_ERROR as i32);
            }
        },
        None => sim.render_writing(&mut console, float.as_ref()),
    };
    #[cfg(not(feature = "mpi"))]
    let rendered = sim.render_writing(&mut console, float.as_ref());
    console.bar.finish();
    let rendered = rendered?;
    lap("render");
    if opts.printout {
        let out = std::cell::RefCell::new(&mut out);
        nanobragg::printout(
            sim.plan(),
            opts.printout_pixel,
            opts.lambda0,
            sim.experiment().steps as f64,
            &mut |t| {
                let _ = write!(out.borrow_mut(), "{}", nanobragg::interp_warning(t));
            },
            &mut |lines| {
                for l in lines {
                    let _ = writeln!(out.borrow_mut(), "{l}");
                }
            },
        );
    }
    let result = sim.finish_written(&rendered, float, &mut |l| {
        let _ = writeln!(out, "{l}");
    });
    let _ = out.flush();
    lap("outputs");
    let products = result?;
    if products.negative_pixels > 0 {
        to_stderr(&format!(
            "nanoBragg: warning: {} pixels are negative, as nanoBragg.c computes them (a detector that faces away from the sample has negative solid angles)",
            products.negative_pixels
        ));
    }
    if products.nonfinite_pixels > 0 {
        to_stderr(&format!(
            "nanoBragg: warning: {} pixels are NaN or infinite (written as they are: -allow_nonfinite)",
            products.nonfinite_pixels
        ));
    }
    Ok(())
}
