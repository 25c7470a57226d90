//! The `-pngfile` preview: an 8-bit greyscale PNG of the float image on a log scale,
//! 255·ln(1 + I/m)/ln(1 + max/m) with m the median of the positive pixels.

mod common;

use common::{Scratch, read_f32};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn the_preview_is_the_log_scaled_float_image() {
    let dir = Scratch::new("png");
    let args = "-cell 100 100 100 90 90 90 -default_F 100 -N 10 -lambda 1 -distance 100 -detpixels_x 96 -detpixels_y 80 -pixel 0.2 -roi 0 89 0 79 -pngfile p.png -floatfile f.bin -nonoise -nopgm";
    let o = Command::new(BIN)
        .args(args.split_whitespace())
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("writing p.png as a log-scaled 8-bit PNG preview")
    );
    let (w, h, gray) = decode(&std::fs::read(dir.join("p.png")).expect("p.png"));
    assert_eq!((w, h), (96, 80));
    // the same mapping computed here from the float image
    let img = read_f32(&dir.join("f.bin"));
    let in_roi = |i: usize| i % 96 <= 89;
    let mut pos: Vec<f64> = (0..img.len())
        .filter(|&i| in_roi(i) && img[i] > 0.0)
        .map(|i| img[i] as f64)
        .collect();
    pos.sort_by(f64::total_cmp);
    let m = pos[pos.len() / 2];
    let max = *pos.last().unwrap();
    let mut brightest = 0;
    for (i, &v) in img.iter().enumerate() {
        let want = if !in_roi(i) || v <= 0.0 {
            0.0
        } else {
            (255.0 * (v as f64 / m).ln_1p() / (max / m).ln_1p()).round()
        };
        assert!(
            (gray[i] as f64 - want).abs() <= 1.0,
            "pixel {i}: {} vs {want}",
            gray[i]
        );
        brightest = brightest.max(gray[i]);
    }
    assert_eq!(brightest, 255);
    // background (median) pixels are mid-grey, not black: 255·ln 2/ln(1 + max/m)
    let mid = (255.0 * 2f64.ln() / (max / m).ln_1p()).round();
    assert!(mid > 20.0, "background at {mid}");
}

#[test]
fn an_unwritable_preview_is_an_error_and_leaves_no_file() {
    let dir = Scratch::new("png-bad");
    let o = Command::new(BIN)
        .args("-cell 100 100 100 90 90 90 -default_F 100 -N 2 -detpixels 16 -nonoise -nopgm -pngfile missing_dir/p.png".split_whitespace())
        .current_dir(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9), "{err}");
    assert!(err.contains("missing_dir/p.png"), "{err}");
    assert!(!dir.join("missing_dir").exists());
}

#[test]
fn stderr_carries_only_warnings_when_it_is_not_a_terminal() {
    // (the progress bar is drawn only on a terminal; here stderr is a pipe)
    let dir = Scratch::new("quiet");
    let o = Command::new(BIN)
        .args("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 256 -oversample 2 -precision double -nonoise -nopgm".split_whitespace())
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    // a quirk warning is the only kind of line there
    let o = Command::new(BIN)
        .args(
            "-cell 70 80 90 75 85 95 -default_F 100 -N 5 -detpixels 64 -nonoise -nopgm"
                .split_whitespace(),
        )
        .current_dir(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success());
    assert!(
        !err.is_empty() && err.lines().all(|l| l.starts_with("nanoBragg: warning: ")),
        "{err}"
    );
}
