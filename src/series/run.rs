//! Rendering a process's share of a series: every image of the shard in order, each written
//! all or nothing and then listed in the rank's manifest part; images listed with their files
//! complete (in the part or in the merged manifest) are skipped, so a killed or pre-empted run
//! started again continues where it stopped and ends with the same files.

use super::Series;
use super::manifest::{self, Entry, Output};
use super::shard::Shard;
use crate::Simulation;
use crate::error::Result;
use crate::kernel::Observer;

/// What the caller sees of a run (the library prints nothing).
pub trait Events {
    /// Before the first image this process renders: its simulation (warnings, transcript).
    fn first(&mut self, _sim: &Simulation) {}
    /// The observer of image `i`'s render (progress, interpolation warning, cancelling).
    fn observer(&mut self, i: u64) -> &mut dyn Observer;
    /// A line the reference prints after its loop, for the first image rendered.
    fn say(&mut self, _line: &str) {}
    /// Image `e.image` is done: rendered now, or `skipped` (complete from an earlier run).
    fn done(&mut self, _e: &Entry, _skipped: bool, _sim: Option<&Simulation>) {}
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
    /// The entries written now, in order.
    pub entries: Vec<Entry>,
}

/// The images already done, from the rank's part and the merged manifest: the latest entry
/// of this series per image.
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
    for i in shard.images(series.images()) {
        if let Some(e) = done.get(&i).filter(|e| e.files_complete()) {
            s.skipped += 1;
            ev.done(e, true, None);
            continue;
        }
        let e = render_one(series, shard, i, s.rendered == 0, ev)?;
        log.append(&e.0)?;
        s.rendered += 1;
        ev.done(&e.0, false, Some(&e.1));
        s.entries.push(e.0);
    }
    s.seconds = t0.elapsed().as_secs_f64();
    Ok(s)
}

/// Render image `i` and write its files (Fdump.bin too when it is the process's first).
fn render_one(
    series: &Series,
    shard: &Shard,
    i: u64,
    first: bool,
    ev: &mut dyn Events,
) -> Result<(Entry, Simulation)> {
    let t = std::time::Instant::now();
    let mut sim = series.image(i)?;
    sim.set_write_dump(first);
    sim.check_outputs()?;
    if first {
        ev.first(&sim);
    }
    let r = sim.render(ev.observer(i))?;
    let p = if first {
        let mut lines = Vec::new();
        let p = sim.finish(&r, &mut |l| lines.push(l.to_string()))?;
        for l in &lines {
            ev.say(l);
        }
        p
    } else {
        sim.finish(&r, &mut |_| {})?
    };
    let outputs = sim
        .output_files()
        .into_iter()
        .map(|f| Output {
            file: f.to_string(),
            bytes: std::fs::metadata(f).map(|m| m.len()).unwrap_or(0),
        })
        .collect();
    let finite = |x: f64| x.is_finite().then_some(x);
    let e = Entry {
        image: i,
        images: series.images(),
        series: series.id().to_string(),
        rank: shard.rank,
        ranks: shard.ranks,
        args: series.image_args(i),
        seeds: Series::seeds(&sim),
        outputs,
        sum: finite(p.stats.sum),
        max: finite(p.stats.max_i),
        seconds: t.elapsed().as_secs_f64(),
    };
    Ok((e, sim))
}
