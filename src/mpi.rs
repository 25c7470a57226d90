//! MPI (cargo feature `mpi`, the `mpi` crate over the system's MPI library).
//!
//! Two uses, both started by an MPI launcher (`mpirun -np N nanoBragg ...`, `srun --mpi=...`):
//!
//! * **A series** (`-images`, `-shots`): rank r of the world renders its share exactly as
//!   without MPI ([`crate::series::shard`]); at the end every rank sends the manifest lines it
//!   wrote to rank 0, which writes the merged manifest and prints the totals ([`gather_series`]).
//! * **One image split across ranks**: rank k renders the k-th contiguous block of rows
//!   ([`render_split`]). Rows carry the reference's serial state (the orientation left by the
//!   last spindle rotation, the interpolation switch-off, the E-vector normalisation), so
//!   ranks k > 0 start from the state the first row leaves, the usual state of every later row;
//!   rank 0 receives the blocks in order and renders again, itself, any block whose starting
//!   state proves different. The solid-angle sum is then added in the serial order, passed
//!   from rank to rank. The image and every output are those of the one-process render, bit
//!   for bit, in both precisions (each pixel's accumulation order never changes).

use crate::error::{Error, Result};
use crate::kernel::{self, Block, InterpTrigger, Observer, Rendered, SerialState, Silent};
use crate::series::manifest::{self, Entry};
use crate::series::run::Summary;
use crate::series::shard::Shard;
use crate::{RenderPlan, Series, Simulation};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// The MPI world of this process.
pub struct World {
    _universe: mpi::environment::Universe,
    comm: SimpleCommunicator,
    /// This process's rank and the number of processes.
    pub rank: u64,
    pub size: u64,
}

/// Variables an MPI launcher sets (Open MPI, PMIx, MPICH/Hydra and Slurm's PMI).
const LAUNCHER_VARS: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"];

impl World {
    /// Initialise MPI when an MPI launcher started this process (a plain run of an MPI build
    /// does not initialise MPI); `None` otherwise.
    pub fn from_launcher() -> Option<World> {
        if !LAUNCHER_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
            return None;
        }
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
        let comm = universe.world();
        Some(World {
            rank: comm.rank() as u64,
            size: comm.size() as u64,
            comm,
            _universe: universe,
        })
    }

    /// This process's shard of a series.
    pub fn shard(&self) -> Shard {
        Shard {
            rank: self.rank,
            ranks: self.size,
            source: "MPI".into(),
        }
    }

    /// Stop every process of the world with `code` (after an error on one of them).
    pub fn abort(&self, code: i32) -> ! {
        self.comm.abort(code)
    }
}

/// What rank 0 learns at the end of a series.
#[derive(Clone, Debug)]
pub struct Totals {
    /// Images rendered and skipped by every rank, and the slowest rank's seconds.
    pub rendered: u64,
    pub skipped: u64,
    pub seconds: f64,
    /// The merged manifest.
    pub merged: manifest::Merged,
}

const TAG_LINES: i32 = 1;
const TAG_COUNTS: i32 = 2;

/// Send this rank's manifest lines and counts to rank 0; rank 0 merges them with the
/// manifest and its parts, writes the manifest and returns the totals (other ranks: `None`).
pub fn gather_series(w: &World, series: &Series, s: &Summary) -> Result<Option<Totals>> {
    let counts = [s.rendered as f64, s.skipped as f64, s.seconds];
    if w.rank != 0 {
        let text: String = s.entries.iter().map(manifest::line).collect();
        let root = w.comm.process_at_rank(0);
        root.send_with_tag(text.as_bytes(), TAG_LINES);
        root.send_with_tag(&counts[..], TAG_COUNTS);
        return Ok(None);
    }
    let mut entries: Vec<Entry> = s.entries.clone();
    let (mut rendered, mut skipped, mut seconds) = (s.rendered, s.skipped, s.seconds);
    for k in 1..w.size {
        let p = w.comm.process_at_rank(k as i32);
        let (bytes, _) = p.receive_vec_with_tag::<u8>(TAG_LINES);
        let (c, _) = p.receive_vec_with_tag::<f64>(TAG_COUNTS);
        for line in String::from_utf8_lossy(&bytes).lines() {
            let e: Entry = serde_json::from_str(line).map_err(|e| {
                Error::invalid(format!(
                    "rank {k} sent a manifest line that does not parse: {e}"
                ))
            })?;
            entries.push(e);
        }
        rendered += c[0] as u64;
        skipped += c[1] as u64;
        seconds = seconds.max(c[2]);
    }
    let merged = manifest::merge_with(series.manifest(), entries)?;
    Ok(Some(Totals {
        rendered,
        skipped,
        seconds,
        merged,
    }))
}

const TAG_ENTRY: i32 = 10;
const TAG_EXIT: i32 = 11;
const TAG_TRIGGER: i32 = 12;
const TAG_IMAGE: i32 = 13;
const TAG_RUNNING: i32 = 20;
const TAG_FOLDED: i32 = 21;

/// The rows of rank `k` of `n`: the k-th of n contiguous blocks.
pub fn rows_of(spixels: usize, k: u64, n: u64) -> std::ops::Range<usize> {
    let at = |k: u64| (spixels as u128 * k as u128 / n as u128) as usize;
    at(k)..at(k + 1)
}

fn state_words(s: &SerialState) -> [u32; 3] {
    [s.stale_phi as u32, s.interp_on as u32, s.polar_idx]
}

fn state_of(w: &[u32]) -> SerialState {
    SerialState {
        stale_phi: w[0] != 0,
        interp_on: w[1] != 0,
        polar_idx: w[2],
    }
}

fn trigger_words(t: &Option<InterpTrigger>) -> [f64; 9] {
    match t {
        None => [0.0; 9],
        Some(t) => [
            1.0,
            t.fpixel as f64,
            t.spixel as f64,
            t.hkl[0],
            t.hkl[1],
            t.hkl[2],
            t.hkl0[0] as f64,
            t.hkl0[1] as f64,
            t.hkl0[2] as f64,
        ],
    }
}

fn trigger_of(w: &[f64]) -> Option<InterpTrigger> {
    (w[0] != 0.0).then(|| InterpTrigger {
        fpixel: w[1] as usize,
        spixel: w[2] as usize,
        hkl: [w[3], w[4], w[5]],
        hkl0: [w[6] as i32, w[7] as i32, w[8] as i32],
    })
}

/// Render `sim`'s image split across the world's ranks. Rank 0 returns the image (the
/// one-process render's) and replays its progress and interpolation warning into `obs`;
/// other ranks return `None`. Every rank must call it with the same simulation.
pub fn render_split(
    w: &World,
    sim: &Simulation,
    obs: &mut dyn Observer,
) -> Result<Option<Rendered>> {
    let plan = sim.plan();
    let kernel = crate::row_kernel(plan, sim.precision());
    let initial = kernel::initial_state(plan);
    let rows = rows_of(plan.spixels, w.rank, w.size);
    let entry = if w.rank == 0 || rows.is_empty() {
        initial
    } else {
        // the state every row after the first usually starts from
        kernel::render_block(plan, kernel.as_ref(), 0..1, initial, &mut Silent)?.exit
    };
    let block = kernel::render_block(plan, kernel.as_ref(), rows, entry, &mut Silent)?;
    if w.rank != 0 {
        send_block(w, &block);
        fold_omega(w, &block.omega_terms);
        return Ok(None);
    }
    let (blocks, local) = collect_blocks(w, plan, kernel.as_ref(), block)?;
    let omega_sum = chain_omega(w, &blocks, &local);
    let trigger = blocks.iter().find_map(|b| b.trigger);
    let mut image = Vec::with_capacity(plan.fpixels * plan.spixels);
    for b in &blocks {
        image.extend_from_slice(&b.image);
    }
    replay(plan, trigger.as_ref(), obs);
    let exact = kernel.exact();
    let stats = if exact {
        None
    } else {
        Some(crate::pool::install(|| {
            crate::stats::compute_rows(plan, &image)
        })?)
    };
    Ok(Some(Rendered {
        image,
        interp_trigger: trigger,
        omega_sum,
        exact,
        stats,
        unusual: None,
    }))
}

/// Rank k > 0: the block's states, first interpolation trigger and pixels to rank 0.
fn send_block(w: &World, b: &Block) {
    let root = w.comm.process_at_rank(0);
    root.send_with_tag(&state_words(&b.entry)[..], TAG_ENTRY);
    root.send_with_tag(&state_words(&b.exit)[..], TAG_EXIT);
    root.send_with_tag(&trigger_words(&b.trigger)[..], TAG_TRIGGER);
    root.send_with_tag(&b.image[..], TAG_IMAGE);
}

/// Rank 0: every block in order, each checked to start from the state the one before left;
/// a block that did not is rendered again here. Returns the blocks and which are local
/// (rank 0's own, or rendered again: their solid angles are added here).
fn collect_blocks(
    w: &World,
    plan: &RenderPlan,
    kernel: &dyn kernel::RowKernel,
    own: Block,
) -> Result<(Vec<Block>, Vec<bool>)> {
    let mut state = own.exit;
    let (mut blocks, mut local) = (vec![own], vec![true]);
    for k in 1..w.size {
        let p = w.comm.process_at_rank(k as i32);
        let (entry, _) = p.receive_vec_with_tag::<u32>(TAG_ENTRY);
        let (exit, _) = p.receive_vec_with_tag::<u32>(TAG_EXIT);
        let (trig, _) = p.receive_vec_with_tag::<f64>(TAG_TRIGGER);
        let (image, _) = p.receive_vec_with_tag::<f32>(TAG_IMAGE);
        let rows = rows_of(plan.spixels, k, w.size);
        let entry = state_of(&entry);
        let b = if entry == state || rows.is_empty() {
            local.push(false);
            Block {
                exit: if rows.is_empty() {
                    state
                } else {
                    state_of(&exit)
                },
                rows,
                entry,
                image,
                trigger: trigger_of(&trig),
                omega_terms: Default::default(),
            }
        } else {
            local.push(true);
            kernel::render_block(plan, kernel, rows, state, &mut Silent)?
        };
        state = b.exit;
        blocks.push(b);
    }
    Ok((blocks, local))
}

/// Rank 0: the solid-angle sum in serial order. Each remote block's rank adds its own terms to
/// the running sum and sends it back; rank 0 adds the local blocks' terms.
fn chain_omega(w: &World, blocks: &[Block], local: &[bool]) -> f64 {
    let mut running = 0.0f64;
    for (k, (b, here)) in blocks.iter().zip(local).enumerate() {
        if k == 0 {
            b.omega_terms.add_to(&mut running);
            continue;
        }
        let p = w.comm.process_at_rank(k as i32);
        if *here {
            p.send_with_tag(&[0.0, running][..], TAG_RUNNING);
            b.omega_terms.add_to(&mut running);
        } else {
            p.send_with_tag(&[1.0, running][..], TAG_RUNNING);
            let (folded, _) = p.receive_vec_with_tag::<f64>(TAG_FOLDED);
            running = folded[0];
        }
    }
    running
}

/// Rank k > 0: add this block's solid angles to the running sum when rank 0 asks for them.
fn fold_omega(w: &World, terms: &kernel::OmegaTerms) {
    let root = w.comm.process_at_rank(0);
    let (msg, _) = root.receive_vec_with_tag::<f64>(TAG_RUNNING);
    if msg[0] != 0.0 {
        let mut running = msg[1];
        terms.add_to(&mut running);
        root.send_with_tag(&[running][..], TAG_FOLDED);
    }
}

/// Report progress row by row, and the first interpolation trigger where the one-process
/// render reports it.
fn replay(plan: &RenderPlan, trigger: Option<&InterpTrigger>, obs: &mut dyn Observer) {
    let mut rank = 0;
    for s in 0..plan.spixels {
        if let Some(t) = trigger.filter(|t| t.spixel == s) {
            let before = (0..t.fpixel).filter(|&x| plan.is_rendered(x, s)).count();
            obs.progress(rank + before);
            obs.interp_trigger(t, rank + before);
        }
        rank += plan.rendered_in_row(s);
        obs.progress(rank);
    }
}
