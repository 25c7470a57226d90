//! The `nanoBragg` front end of a series: the log of the first image, one line per image, a
//! progress bar for the series on rank 0 when stderr is a terminal, and a summary line.

use crate::{Bar, Console, to_stderr};
use nanobragg::kernel::{Observer, Silent};
use nanobragg::series::manifest::Entry;
use nanobragg::series::run::{Events, Summary};
use nanobragg::series::shard::{self, Shard};
use nanobragg::{Series, Simulation};
use std::io::Write;

/// The series' progress bar: images done of this rank's share, rate and time left.
struct SeriesBar {
    bar: Option<indicatif::ProgressBar>,
}

impl SeriesBar {
    fn new(enabled: bool, share: u64) -> SeriesBar {
        use std::io::IsTerminal;
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(share),
                indicatif::ProgressDrawTarget::stderr(),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "series {bar:40} {pos}/{len} images {per_sec} (eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        SeriesBar { bar }
    }
}

/// Prints what a run of a series shows.
struct Front<'a, W: Write> {
    out: &'a mut W,
    shard: Shard,
    images: u64,
    /// The first image's render reports progress lines as a single run does.
    first_console: Option<(bool, usize)>,
    done: usize,
    silent: Silent,
    bar: SeriesBar,
    first_image: Option<u64>,
}

impl<W: Write> Observer for Front<'_, W> {
    fn progress(&mut self, rank_done: usize) {
        if let Some((progress, total)) = self.first_console {
            let mut c = Console {
                out: &mut *self.out,
                progress,
                interp_warning: true,
                total,
                done: self.done,
                bar: Bar::new(false),
            };
            c.progress(rank_done);
            self.done = c.done;
        }
    }

    fn interp_trigger(&mut self, t: &nanobragg::kernel::InterpTrigger, _rank: usize) {
        if self.first_console.is_some() {
            let _ = write!(self.out, "{}", nanobragg::interp_warning(t));
        }
    }
}

impl<W: Write> Events for Front<'_, W> {
    fn first(&mut self, sim: &Simulation) {
        if self.shard.rank != 0 {
            return;
        }
        for w in sim.warnings() {
            to_stderr(&format!("nanoBragg: warning: {w}"));
        }
        for line in sim.transcript() {
            let _ = writeln!(self.out, "{line}");
        }
        let _ = self.out.flush();
        let o = &sim.experiment().opts;
        self.first_console = Some((
            o.progress && !o.printout,
            nanobragg::progress_total(sim.plan()),
        ));
    }

    fn observer(&mut self, i: u64) -> &mut dyn Observer {
        if self.first_image.is_none() {
            self.first_image = Some(i);
            if self.first_console.is_some() {
                return self;
            }
        }
        self.first_console = None;
        &mut self.silent
    }

    fn say(&mut self, line: &str) {
        if self.shard.rank == 0 {
            let _ = writeln!(self.out, "{line}");
        }
    }

    fn done(&mut self, e: &Entry, skipped: bool) {
        let n = self.images;
        let line = if skipped {
            format!("image {} of {n}: complete, skipped", e.image)
        } else {
            let files: Vec<&str> = e.outputs.iter().map(|o| o.file.as_str()).collect();
            format!(
                "image {} of {n}: max_I = {} sum = {} wrote {} ({:.3} s)",
                e.image,
                e.max.map_or("nan".into(), nanobragg::cfmt::fmt_g),
                e.sum.map_or("nan".into(), nanobragg::cfmt::fmt_g),
                files.join(" "),
                e.seconds
            )
        };
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
        if let Some(b) = &self.bar.bar {
            b.inc(1);
        }
    }
}

/// The one-line summary of a run.
pub fn summary_line(s: &Summary, shard: &Shard) -> String {
    format!(
        "series: {} images rendered, {} skipped (complete), {} of {} images on rank {} of {} ({}), {:.2} s, {:.1} images/s",
        s.rendered,
        s.skipped,
        s.share,
        s.images,
        shard.rank,
        shard.ranks,
        shard.source,
        s.seconds,
        s.rendered as f64 / s.seconds.max(1e-9)
    )
}

/// Render this process's share of the series of `args`.
pub fn run(args: &[String]) -> nanobragg::Result<()> {
    let series = Series::from_args(args)?;
    #[cfg(feature = "mpi")]
    if let Some(world) = nanobragg::mpi::World::from_launcher() {
        return run_mpi(&series, &world);
    }
    let o = series.prepared().options();
    let shard = shard::resolve(o.rank, o.ranks, &|k| std::env::var(k).ok())?;
    let summary = render(&series, &shard)?;
    println!("{}", summary_line(&summary, &shard));
    Ok(())
}

/// Render the shard, with the front end's output.
pub fn render(series: &Series, shard: &Shard) -> nanobragg::Result<Summary> {
    let o = series.prepared().options();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let share = shard.count(series.images());
    let mut front = Front {
        out: &mut out,
        shard: shard.clone(),
        images: series.images(),
        first_console: None,
        done: 0,
        silent: Silent,
        bar: SeriesBar::new(o.progress && shard.rank == 0, share),
        first_image: None,
    };
    let r = nanobragg::series::run::run(series, shard, &mut front);
    if let Some(b) = front.bar.bar.take() {
        b.finish_and_clear();
    }
    let _ = out.flush();
    r
}

/// A series under MPI: the world's ranks share it; rank 0 gathers the manifest and prints the
/// totals. An error while rendering stops every rank.
#[cfg(feature = "mpi")]
fn run_mpi(series: &Series, world: &nanobragg::mpi::World) -> nanobragg::Result<()> {
    let o = series.prepared().options();
    if o.rank.is_some() || o.ranks.is_some() {
        return Err(nanobragg::Error::usage(
            "-rank and -ranks are MPI's under an MPI launch: leave them out",
        ));
    }
    let shard = world.shard();
    let fail = |e: nanobragg::Error| -> ! {
        to_stderr(&format!("nanoBragg: error: rank {}: {e}", shard.rank));
        world.abort(crate::EXIT_ERROR as i32)
    };
    let summary = render(series, &shard).unwrap_or_else(|e| fail(e));
    println!("{}", summary_line(&summary, &shard));
    let totals = nanobragg::mpi::gather_series(world, series, &summary).unwrap_or_else(|e| fail(e));
    if let Some(t) = totals {
        println!(
            "series (MPI, {} ranks): {} images rendered, {} skipped (complete), {:.2} s, {:.1} images/s; {} lists {} of {} images",
            world.size,
            t.rendered,
            t.skipped,
            t.seconds,
            t.rendered as f64 / t.seconds.max(1e-9),
            series.manifest(),
            t.merged.present,
            t.merged.images
        );
        if !t.merged.missing.is_empty() {
            println!(
                "missing {} images: {}",
                t.merged.missing.len(),
                nanobragg::series::manifest::ranges(&t.merged.missing)
            );
        }
    }
    Ok(())
}
