//! `nanoBragg`: the command-line front end. Parses like nanoBragg.c, prints its messages on
//! stdout, this program's warnings and errors on stderr, and exits 9 on any error (the
//! reference's status for usage and fatal errors).
#![allow(non_snake_case)]

use nanobragg::kernel::{InterpTrigger, Observer};
use nanobragg::{Simulation, cfmt::fmt_g};
use std::io::Write;
use std::process::ExitCode;

const EXIT_ERROR: u8 = 9;

/// Prints the reference's progress lines and the interpolation warning as rows complete.
struct Console<'a, W: Write> {
    out: &'a mut W,
    progress: bool,
    total: usize,
    done: usize,
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
    }

    fn interp_trigger(&mut self, t: &InterpTrigger, _rank: usize) {
        let _ = write!(
            self.out,
            "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: {},{},{},{},{},{} \nWARNING: further warnings will not be printed! ",
            fmt_g(t.hkl[0]),
            fmt_g(t.hkl[1]),
            fmt_g(t.hkl[2]),
            t.hkl0[0],
            t.hkl0[1],
            t.hkl0[2]
        );
        let _ = self.out.flush();
    }
}

/// Print the unsupported-CPU line and exit, using only precompiled std code and static data.
#[cold]
#[inline(never)]
fn refuse_cpu() -> ! {
    use std::io::Write;
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "-h" || a == "-help" || a == "--help")
    {
        print!("{}", nanobragg::cli::usage());
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "-version" || a == "--version") {
        println!("nanoBragg (nanobragg) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nanoBragg: error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(args: &[String]) -> nanobragg::Result<()> {
    let t0 = std::time::Instant::now();
    let timing = std::env::var_os("NANOBRAGG_TIMING").is_some();
    let lap = |what: &str| {
        if timing {
            eprintln!("timing: {what} {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
        }
    };
    let sim = Simulation::from_args(args)?;
    lap("setup");
    for w in sim.warnings() {
        eprintln!("nanoBragg: warning: {w}");
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
        total: nanobragg::progress_total(sim.plan()),
        done: 0,
    };
    let rendered = sim.render(&mut console);
    lap("render");
    for line in sim.printout_lines() {
        let _ = writeln!(out, "{line}");
    }
    let result = sim
        .finish(&rendered, &mut |l| {
            let _ = writeln!(out, "{l}");
        })
        .map(|_| ());
    let _ = out.flush();
    lap("outputs");
    result
}
