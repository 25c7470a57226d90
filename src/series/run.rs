//! Rendering a process's share of a series: every image of the shard, each written all or
//! nothing and then listed in the rank's manifest part; images listed with their files
//! complete (in the part or in the merged manifest) are skipped, so a killed or pre-empted run
//! started again continues where it stopped and ends with the same files.
//!
//! The first image renders alone, with every thread (its log is the single run's). Small
//! images (fewer than [`CONCURRENT_BELOW`] pixels) then render several at once, one per
//! thread, each on its thread alone, so that the serial parts of an image (noise draws,
//! statistics, writing) overlap; larger ones one after the other, each with every thread.
//! Each image is the same either way, bit for bit.

use super::Series;
use super::manifest::{self, Entry, Output};
use super::shard::Shard;
use crate::Simulation;
use crate::error::{Error, Result};
use crate::kernel::{Observer, Silent};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Images with fewer pixels render several at once (see the module documentation).
pub const CONCURRENT_BELOW: usize = 1 << 18;

/// What the caller sees of a run (the library prints nothing).
pub trait Events {
    /// Before the first image this process renders: its simulation (warnings, transcript).
    fn first(&mut self, _sim: &Simulation) {}
    /// The observer of the first image's render (progress, interpolation warning).
    fn observer(&mut self, i: u64) -> &mut dyn Observer;
    /// A line the reference prints after its loop, for the first image rendered.
    fn say(&mut self, _line: &str) {}
    /// Image `e.image` is done: rendered now, or `skipped` (complete from an earlier run).
    fn done(&mut self, _e: &Entry, _skipped: bool) {}
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Images in the series, this rank's share, rendered now and skipped.
    pub images: u64,
    pub share: u64,
    pub rendered: u64,
    pub skipped: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// The manifest part written.
    pub part: String,
    /// The entries written now, in the order written.
    pub entries: Vec<Entry>,
}

/// The images already done, from the rank's part and the merged manifest: the latest entry
/// of this series per image, and the part as read.
fn done_before(
    series: &Series,
    part: &str,
) -> Result<(std::collections::HashMap<u64, Entry>, manifest::Read)> {
    let own = manifest::read(part)?;
    let mut done = std::collections::HashMap::new();
    if part != series.manifest() {
        for e in manifest::read(series.manifest())?.entries {
            if e.series == series.id() {
                done.insert(e.image, e);
            }
        }
    }
    for e in &own.entries {
        if e.series == series.id() {
            done.insert(e.image, e.clone());
        }
    }
    Ok((done, own))
}

/// Render this shard's images of `series` that are not complete yet.
pub fn run(series: &Series, shard: &Shard, ev: &mut dyn Events) -> Result<Summary> {
    let t0 = std::time::Instant::now();
    let part = manifest::part_path(series.manifest(), shard.rank, shard.ranks);
    let (done, own) = done_before(series, &part)?;
    let mut log = manifest::Log::open(&part, &own)?;
    let mut s = Summary {
        images: series.images(),
        share: shard.count(series.images()),
        part: part.clone(),
        ..Summary::default()
    };
    let mut todo = Vec::new();
    for i in shard.images(series.images()) {
        match done.get(&i).filter(|e| e.files_complete()) {
            Some(e) => {
                s.skipped += 1;
                ev.done(e, true);
            }
            None => todo.push(i),
        }
    }
    if let Some((&first, rest)) = todo.split_first() {
        let mut sim = series.image(first)?;
        sim.set_write_dump(true);
        sim.check_outputs()?;
        ev.first(&sim);
        let e = render_first(series, shard, first, sim, ev)?;
        record(&mut log, &mut s, ev, e)?;
        let threads = crate::pool::get(None)?.current_num_threads().max(1);
        let pixels = series.prepared().base_pixels();
        let small = pixels < CONCURRENT_BELOW;
        if threads > 1 && small && rest.len() > 1 {
            concurrent(series, shard, rest, threads, &mut log, &mut s, ev)?;
        } else {
            for &i in rest {
                // one thread and a small image: on this thread, as the concurrent images are
                let e = render_image(series, shard, i, threads == 1 && small)?;
                record(&mut log, &mut s, ev, e)?;
            }
        }
    }
    s.seconds = t0.elapsed().as_secs_f64();
    Ok(s)
}

/// List a rendered image in the manifest part and tell the caller.
fn record(log: &mut manifest::Log, s: &mut Summary, ev: &mut dyn Events, e: Entry) -> Result<()> {
    log.append(&e)?;
    s.rendered += 1;
    ev.done(&e, false);
    s.entries.push(e);
    Ok(())
}

/// Render images `todo` on `workers` threads at once, each image on one thread; entries are
/// listed as images complete. The first error stops the workers (images under way finish).
fn concurrent(
    series: &Series,
    shard: &Shard,
    todo: &[u64],
    workers: usize,
    log: &mut manifest::Log,
    s: &mut Summary,
    ev: &mut dyn Events,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut first_error: Option<Error> = None;
    std::thread::scope(|sc| {
        let (tx, rx) = std::sync::mpsc::channel::<Result<Entry>>();
        for _ in 0..workers.min(todo.len()) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            sc.spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let Some(&i) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let r = render_image(series, shard, i, true);
                    if r.is_err() {
                        stop.store(true, Ordering::Release);
                    }
                    if tx.send(r).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for r in rx {
            let recorded = r.and_then(|e| record(log, s, ev, e));
            if let Err(e) = recorded {
                stop.store(true, Ordering::Release);
                first_error.get_or_insert(e);
            }
        }
    });
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Render the first image with every thread and the caller's observer, print-ready.
fn render_first(
    series: &Series,
    shard: &Shard,
    i: u64,
    sim: Simulation,
    ev: &mut dyn Events,
) -> Result<Entry> {
    let t = std::time::Instant::now();
    let r = sim.render(ev.observer(i))?;
    let mut lines = Vec::new();
    let p = sim.finish(&r, &mut |l| lines.push(l.to_string()))?;
    for l in &lines {
        ev.say(l);
    }
    Ok(entry(series, shard, i, &sim, &p, t))
}

/// Render image `i` (on the calling thread alone when `serial`) and write its files.
fn render_image(series: &Series, shard: &Shard, i: u64, serial: bool) -> Result<Entry> {
    let t = std::time::Instant::now();
    let mut sim = series.image(i)?;
    sim.set_write_dump(false);
    if !serial {
        // a large image: a bad output path costs no render (writing checks the paths anyway,
        // so small images skip this second look)
        sim.check_outputs()?;
    }
    let r = if serial {
        sim.render_serial(&mut Silent)?
    } else {
        sim.render(&mut Silent)?
    };
    let p = sim.finish(&r, &mut |_| {})?;
    Ok(entry(series, shard, i, &sim, &p, t))
}

/// The manifest entry of a written image.
fn entry(
    series: &Series,
    shard: &Shard,
    i: u64,
    sim: &Simulation,
    p: &crate::Written,
    t: std::time::Instant,
) -> Entry {
    let outputs = sim
        .output_files()
        .into_iter()
        .map(|f| Output {
            file: f.to_string(),
            bytes: std::fs::metadata(f).map(|m| m.len()).unwrap_or(0),
        })
        .collect();
    let finite = |x: f64| x.is_finite().then_some(x);
    Entry {
        image: i,
        images: series.images(),
        series: series.id().to_string(),
        rank: shard.rank,
        ranks: shard.ranks,
        args: series.image_args(i),
        seeds: Series::seeds(sim),
        outputs,
        sum: finite(p.stats.sum),
        max: finite(p.stats.max_i),
        seconds: t.elapsed().as_secs_f64(),
    }
}
