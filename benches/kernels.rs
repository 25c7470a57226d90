//! Kernel throughput in pixel-steps per second on the benchmark cases of
//! tests/data/golden/perf_cases.tsv, every kernel measured in the same run so the ratios mean
//! something: the SIMD kernel, the exact f64 kernel and (with `--features c-ref`) the C
//! reference kernel in c_ref/.
//!
//! A pixel-step is one evaluation of the innermost loop: one sub-pixel × source × φ step ×
//! mosaic domain × sensor layer of one rendered pixel.
//!
//!     cargo bench --bench kernels                       # SIMD and exact kernels
//!     cargo bench --bench kernels --features c-ref      # plus the C reference
//!     RAYON_NUM_THREADS=1 cargo bench --bench kernels   # one thread
//!     cargo bench --bench kernels -- simd               # only the SIMD kernel
//!     cargo bench --bench kernels -- simd_x             # both widths (on an AVX-512 CPU)

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nanobragg::kernel::Silent;
use nanobragg::kernel::simd::Width;
use nanobragg::{Precision, RenderPlan, Simulation};
use std::path::Path;

/// The benchmark cases as render plans (set up in a scratch folder holding the golden inputs).
fn plans() -> Vec<(String, RenderPlan)> {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden");
    let dir = std::env::temp_dir().join(format!("nanobragg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for e in std::fs::read_dir(golden.join("inputs")).expect("inputs") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dir.join(e.file_name())).expect("copy input");
    }
    let cwd = std::env::current_dir().expect("cwd");
    std::env::set_current_dir(&dir).expect("chdir");
    let text = std::fs::read_to_string(golden.join("perf_cases.tsv")).expect("perf_cases.tsv");
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (name, args) = line.split_once('\t').expect("name<TAB>args");
        let _ = std::fs::remove_file(dir.join("Fdump.bin"));
        let args: Vec<&str> = args.split_whitespace().collect();
        let sim = Simulation::from_args_with_time_seed(&args, -1).expect("perf case setup");
        out.push((name.to_string(), sim.plan().clone()));
    }
    std::env::set_current_dir(cwd).expect("chdir back");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Cases with more pixel-steps than this are measured with the SIMD kernel only.
const SLOW_KERNELS_MAX: u64 = 2_000_000_000;

fn kernels(c: &mut Criterion) {
    for (name, plan) in plans() {
        let mut g = c.benchmark_group(&name);
        // (exact: counts and products far below 2^53)
        let steps = nanobragg::memory::pixel_steps(&plan) as u64;
        g.throughput(Throughput::Elements(steps));
        g.sample_size(10);
        g.bench_function("simd", |b| {
            b.iter(|| {
                nanobragg::render_plan(&plan, Precision::Single, &mut Silent).expect("render")
            })
        });
        // on an AVX-512 CPU both widths run (sixteen lanes are the default there): both
        if nanobragg::kernel::simd::width() == Width::X16 {
            for (label, width) in [("simd_x8", Width::X8), ("simd_x16", Width::X16)] {
                let kernel = nanobragg::kernel::simd::kernel_of(width);
                g.bench_function(label, |b| {
                    b.iter(|| nanobragg::kernel::render(&plan, kernel.as_ref(), &mut Silent))
                });
            }
        }
        if steps > SLOW_KERNELS_MAX {
            // the exact and C kernels (~20 M pixel-steps/s) would take minutes per sample
            eprintln!("{name}: {steps} pixel-steps, the SIMD kernel only");
            g.finish();
            continue;
        }
        g.bench_function("exact", |b| {
            b.iter(|| {
                nanobragg::render_plan(&plan, Precision::Double, &mut Silent).expect("render")
            })
        });
        #[cfg(feature = "c-ref")]
        {
            let src = [
                plan.sources.iter().map(|s| s.dir[0]).collect::<Vec<_>>(),
                plan.sources.iter().map(|s| s.dir[1]).collect(),
                plan.sources.iter().map(|s| s.dir[2]).collect(),
                plan.sources.iter().map(|s| s.lambda).collect(),
            ];
            let params = nanobragg::ffi::params_from_plan(&plan, &src);
            let mut img = vec![0f32; plan.fpixels * plan.spixels];
            g.bench_function("c_ref", |b| {
                b.iter(|| {
                    // SAFETY: params point into `plan` and `src`, alive for the call.
                    let rc = unsafe {
                        nanobragg::c_ref::nb_ref_render(&params, img.as_mut_ptr(), img.len())
                    };
                    assert_eq!(rc, 0);
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
