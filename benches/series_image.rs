//! What one image of a series costs on one thread, by part: the render (SIMD kernel), the
//! products (statistics, integer and Poisson noise images) and the set-up of the image's
//! simulation from the prepared series. The case is the heavy image of `benches/series.sh`
//! (128×128, -N 5 so -oversample 6, noise image), whose series is compared with a loop of
//! single runs there.
//!
//!     cargo bench --bench series_image

use criterion::{Criterion, criterion_group, criterion_main};
use nanobragg::Series;
use nanobragg::kernel::Silent;

const ARGS: &str = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 128 -pixel 0.4 \
    -distance 100 -phi 1 -osc 0.1 -nopgm -seed 1 -images 200 -floatfile img_%05d.bin \
    -intfile img_%05d.img -noisefile noise_%05d.img";

fn series_image(c: &mut Criterion) {
    let args: Vec<&str> = ARGS.split_whitespace().collect();
    let series = Series::from_args(&args).expect("series set-up");
    let sim = series.image(2).expect("image 2");
    let rendered = sim.render_serial(&mut Silent).expect("render");
    let mut g = c.benchmark_group("series_image_128");
    g.bench_function("set_up", |b| b.iter(|| series.image(2).expect("image 2")));
    g.bench_function("render", |b| {
        b.iter(|| sim.render_serial(&mut Silent).expect("render"))
    });
    g.bench_function("products", |b| {
        b.iter(|| sim.products(&rendered).expect("products"))
    });
    g.finish();
}

criterion_group!(benches, series_image);
criterion_main!(benches);
