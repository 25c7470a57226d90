//! What one image of a series costs on one thread, by part: the render (SIMD kernel), the
//! products (statistics, integer and Poisson noise images) and the set-up of the image's
//! simulation from the prepared series. The cases are the default and heavy images of
//! `benches/series.sh` (128×128 with noise images; the program's defaults, and -N 5 so
//! -oversample 6), whose series are compared with loops of single runs there.
//!
//!     cargo bench --bench series_image

use criterion::{Criterion, criterion_group, criterion_main};
use nanobragg::Series;
use nanobragg::kernel::Silent;

const SCAN: &str = "-cell 100 100 100 90 90 90 -default_F 100 -detpixels 128 -pixel 0.4 \
    -distance 100 -phi 1 -osc 0.1 -nopgm -seed 1 -images 200 -floatfile img_%05d.bin \
    -intfile img_%05d.img -noisefile noise_%05d.img";

fn series_image(c: &mut Criterion) {
    for (name, extra) in [("default_128", ""), ("heavy_128", "-N 5")] {
        let args: Vec<&str> = SCAN
            .split_whitespace()
            .chain(extra.split_whitespace())
            .collect();
        let series = Series::from_args(&args).expect("series set-up");
        let sim = series.image(2).expect("image 2");
        let rendered = sim.render_serial(&mut Silent).expect("render");
        let mut g = c.benchmark_group(format!("series_image_{name}"));
        g.bench_function("set_up", |b| b.iter(|| series.image(2).expect("image 2")));
        g.bench_function("render", |b| {
            b.iter(|| sim.render_serial(&mut Silent).expect("render"))
        });
        g.bench_function("products", |b| {
            b.iter(|| sim.products(&rendered).expect("products"))
        });
        g.finish();
    }
}

criterion_group!(benches, series_image);
criterion_main!(benches);
