//! Renders on a chosen number of worker threads (`pool::with_threads`, behind the
//! Python package's `render(threads=n)`): the rows run on a pool of exactly that many threads,
//! and the image and statistics are those of the default pool, for both kernels, including
//! runs whose serial state changes mid-image (spindle rotation, interpolation switch-off).

mod common;

use nanobragg::kernel::{self, InterpTrigger, Prepared, RowKernel, SerialState, Silent};
use nanobragg::{Precision, Simulation};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// The exact kernel, recording the pool (thread index, pool size) of every row it renders.
struct Recording {
    seen: Mutex<BTreeSet<(usize, usize)>>,
}

impl RowKernel for Recording {
    fn render_row(
        &self,
        prep: &Prepared,
        s: usize,
        state: &mut SerialState,
        out: &mut [f32],
        omega: &mut kernel::OmegaTerms,
    ) -> Option<InterpTrigger> {
        if let Some(i) = rayon::current_thread_index() {
            let mut seen = self.seen.lock().unwrap();
            seen.insert((i, rayon::current_num_threads()));
        }
        kernel::exact::Exact.render_row(prep, s, state, out, omega)
    }

    fn exact(&self) -> bool {
        true
    }
}

fn golden_sim(name: &str) -> (Simulation, common::Scratch) {
    let case = common::cases()
        .into_iter()
        .find(|c| c.name == name)
        .expect("golden case");
    let dir = common::prepare(&case);
    let sim = common::in_dir(dir.path(), || Simulation::from_args(&case.args)).expect("set-up");
    (sim, dir)
}

#[test]
fn rows_run_on_a_pool_of_the_requested_size() {
    let (sim, _dir) = golden_sim("mosaic");
    for n in [2, 3] {
        let k = Recording {
            seen: Mutex::new(BTreeSet::new()),
        };
        let r = nanobragg::pool::with_threads(n, || kernel::render(sim.plan(), &k, &mut Silent))
            .expect("render");
        let seen = k.seen.into_inner().unwrap();
        assert!(
            !seen.is_empty(),
            "{n} threads: no row ran on a worker thread"
        );
        assert!(
            seen.iter().all(|&(i, size)| size == n && i < n),
            "{n} threads: rows ran on {seen:?} (thread index, pool size)"
        );
        let plain = kernel::render(sim.plan(), &kernel::exact::Exact, &mut Silent).unwrap();
        assert_eq!(r.image, plain.image, "{n} threads: image differs");
    }
}

#[test]
fn images_do_not_depend_on_the_thread_count() {
    // phi_osc: the spindle rotation changes the serial state; interp_fallback: the
    // interpolation switch-off; cubic_default: neither
    for name in ["phi_osc", "interp_fallback", "cubic_default"] {
        let (sim, _dir) = golden_sim(name);
        for precision in [Precision::Double, Precision::Single] {
            let base = nanobragg::render_plan(sim.plan(), precision, &mut Silent).unwrap();
            for n in [1, 2, 3] {
                let r = nanobragg::pool::with_threads(n, || {
                    nanobragg::render_plan(sim.plan(), precision, &mut Silent)
                })
                .unwrap();
                assert_eq!(r.image, base.image, "{name} {precision:?} on {n} threads");
                assert_eq!(r.omega_sum.to_bits(), base.omega_sum.to_bits());
                assert_eq!(r.stats, base.stats, "{name} {precision:?} on {n} threads");
                assert_eq!(r.interp_trigger, base.interp_trigger);
            }
        }
    }
}

/// A row sink that keeps what it is handed, in blocks of 3 rows.
struct Blocks {
    fpixels: usize,
    image: Mutex<Vec<f32>>,
    puts: Mutex<Vec<usize>>,
}

impl kernel::RowSink for Blocks {
    fn block_rows(&self) -> usize {
        3
    }

    fn put(&self, first: usize, values: &[f32]) {
        assert_eq!(first % 3, 0, "a block starts at a multiple of its rows");
        assert!(values.len() <= 3 * self.fpixels && values.len().is_multiple_of(self.fpixels));
        let at = first * self.fpixels;
        self.image.lock().unwrap()[at..at + values.len()].copy_from_slice(values);
        self.puts.lock().unwrap()[first / 3] += 1;
    }
}

#[test]
fn rows_handed_over_during_the_render_end_as_the_image() {
    // what the program writes into the float image's file while it renders: the last block
    // handed over holds the final rows, also where rows are rendered again after a change of
    // the serial state (phi_osc, interp_fallback), on any number of threads
    for name in ["phi_osc", "interp_fallback", "cubic_default"] {
        let (sim, _dir) = golden_sim(name);
        let plan = sim.plan();
        for precision in [Precision::Double, Precision::Single] {
            for n in [1, 2, 3] {
                let sink = Blocks {
                    fpixels: plan.fpixels,
                    image: Mutex::new(vec![f32::NAN; plan.fpixels * plan.spixels]),
                    puts: Mutex::new(vec![0; plan.spixels.div_ceil(3)]),
                };
                let k = nanobragg::row_kernel(plan, precision);
                let r = nanobragg::pool::with_threads(n, || {
                    kernel::render_into(plan, k.as_ref(), &mut Silent, &sink)
                })
                .unwrap();
                let image = sink.image.into_inner().unwrap();
                let same = image
                    .iter()
                    .zip(&r.image)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{name} {precision:?} on {n} threads");
                let puts = sink.puts.into_inner().unwrap();
                assert!(
                    puts.iter().all(|&p| p >= 1),
                    "{name}: blocks never handed over"
                );
            }
        }
    }
}

/// A kernel whose row 7 changes the serial state, slowly (so that other threads render the
/// rows after it from the old state meanwhile), and whose values show the state a row was
/// rendered from.
struct ChangeAtRow7;

impl RowKernel for ChangeAtRow7 {
    fn render_row(
        &self,
        _prep: &Prepared,
        s: usize,
        state: &mut SerialState,
        out: &mut [f32],
        _omega: &mut kernel::OmegaTerms,
    ) -> Option<InterpTrigger> {
        let v = s as f32 * 10.0 + if state.stale_phi { 2.0 } else { 1.0 };
        out.fill(v);
        if s == 7 {
            std::thread::sleep(std::time::Duration::from_millis(30));
            state.stale_phi = !state.stale_phi;
        }
        None
    }

    fn exact(&self) -> bool {
        true
    }
}

#[test]
fn blocks_rendered_again_are_handed_over_again() {
    // rows after row 7, rendered from the old state while row 7 takes its time, are rendered
    // again: their blocks must come again (else the file would keep the first values)
    let (sim, _dir) = golden_sim("cubic_default");
    let plan = sim.plan();
    let first = if kernel::initial_state(plan).stale_phi {
        2.0
    } else {
        1.0
    };
    for n in [2, 3] {
        let sink = Blocks {
            fpixels: plan.fpixels,
            image: Mutex::new(vec![f32::NAN; plan.fpixels * plan.spixels]),
            puts: Mutex::new(vec![0; plan.spixels.div_ceil(3)]),
        };
        let r = nanobragg::pool::with_threads(n, || {
            kernel::render_into(plan, &ChangeAtRow7, &mut Silent, &sink)
        })
        .unwrap();
        for (s, row) in r.image.chunks(plan.fpixels).enumerate() {
            let want = s as f32 * 10.0 + if s <= 7 { first } else { 3.0 - first };
            assert!(row.iter().all(|&v| v == want), "row {s} of the render");
        }
        assert_eq!(*sink.image.lock().unwrap(), r.image, "{n} threads");
        let puts = sink.puts.into_inner().unwrap();
        assert!(puts[2] >= 2, "rows 6-8 were handed over {} times", puts[2]);
    }
}
