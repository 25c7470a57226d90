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
