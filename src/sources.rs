//! X-ray sources: read from a source file, or generated from divergence and dispersion.
//!
//! A source is a point at (X, Y, Z) relative to the sample (only its direction matters), a
//! weight that is read but never used (every source counts once; the final division by the
//! number of sources normalises), and a wavelength in metres that is used per source.

use crate::error::{Error, Result};
use crate::vec3::{V3, rotate_axis};

/// One source as listed (positions raw, before normalisation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Source {
    pub pos: V3,
    /// Read and printed, never used in the sums.
    pub weight: f64,
    /// Wavelength, metres.
    pub lambda: f64,
}

/// Result of reading a source file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub sources: Vec<Source>,
    /// The first line whose missing columns the reference reads as 0 (see
    /// [`read_source_file`]), when `reference_eol` reproduced that.
    pub zero_filled: Option<usize>,
}

const DELIMS: &[char] = &[' ', '\t', ',', ';', ':', '!'];

/// Parse a source file: up to five numbers per line (X Y Z weight λ) separated by any of
/// space, tab, `,`, `;`, `:`, `!`. Blank lines and `#` comments are skipped. Missing columns
/// take the defaults: position −10 m along the beam, weight 1, λ = λ0.
///
/// The reference reads the missing columns of a line that ends in "\r\n", or of a last line
/// that lacks its newline, as 0.0 instead, and a blank line of that kind as a source with
/// every column 0; with `reference_eol` that is reproduced (a zero wavelength gives NaN
/// pixels, as in the reference).
pub fn read_source_file(
    path: &str,
    text: &str,
    beam: &V3,
    lambda0: f64,
    reference_eol: bool,
) -> Result<SourceFile> {
    let mut sources = Vec::new();
    let mut zero_filled = None;
    let mut rest = text;
    let mut lineno = 0;
    while !rest.is_empty() {
        lineno += 1;
        let (line, has_nl) = match rest.find('\n') {
            Some(p) => {
                let l = &rest[..p];
                rest = &rest[p + 1..];
                (l, true)
            }
            None => {
                let l = rest;
                rest = "";
                (l, false)
            }
        };
        let crlf = line.ends_with('\r');
        let line = line.strip_suffix('\r').unwrap_or(line);
        let t = line.trim_matches(DELIMS);
        // a blank line ending in CR LF, or a blank (not empty) last line without a newline,
        // does not end cleanly in the reference's reader: a source of zeros
        let blank_unclean = t.is_empty() && (crlf || (!has_nl && !line.is_empty()));
        if reference_eol && blank_unclean {
            zero_filled.get_or_insert(lineno);
            sources.push(Source {
                pos: [0.0; 3],
                weight: 0.0,
                lambda: 0.0,
            });
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = t.split(DELIMS).filter(|f| !f.is_empty()).collect();
        if fields.len() > 5 {
            return Err(Error::input(
                path,
                Some(lineno),
                format!(
                    "expected at most 5 columns (X Y Z weight lambda), found {}",
                    fields.len()
                ),
            ));
        }
        let names = ["X", "Y", "Z", "weight", "lambda"];
        let mut vals = [f64::NAN; 5];
        for (k, f) in fields.iter().enumerate() {
            vals[k] = crate::cfmt::parse_f64_strict(f)
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::input(
                        path,
                        Some(lineno),
                        format!(
                            "{} '{}' is not a finite number",
                            names[k],
                            crate::cfmt::clip(f)
                        ),
                    )
                })?;
        }
        if fields.len() == 5 && !(vals[4] > 0.0) {
            return Err(Error::input(
                path,
                Some(lineno),
                format!(
                    "lambda {} is not a positive wavelength (metres)",
                    crate::cfmt::fmt_g(vals[4])
                ),
            ));
        }
        let zero_fill = reference_eol && (!has_nl || crlf) && fields.len() < 5;
        if zero_fill {
            zero_filled.get_or_insert(lineno);
        }
        for (k, v) in vals.iter_mut().enumerate().skip(fields.len()) {
            *v = if zero_fill {
                0.0
            } else {
                match k {
                    0..=2 => -10.0 * beam[k],
                    3 => 1.0,
                    _ => lambda0,
                }
            };
        }
        sources.push(Source {
            pos: [vals[0], vals[1], vals[2]],
            weight: vals[3],
            lambda: vals[4],
        });
    }
    if sources.is_empty() {
        return Err(Error::input(
            path,
            None,
            "no sources (X Y Z weight lambda lines) found",
        ));
    }
    Ok(SourceFile {
        sources,
        zero_filled,
    })
}

/// Divergence and dispersion sampling after the auto rules.
#[derive(Clone, Copy, Debug)]
pub struct BeamSampling {
    pub hdivrange: f64,
    pub hdivstep: f64,
    pub hdivsteps: i32,
    pub vdivrange: f64,
    pub vdivstep: f64,
    pub vdivsteps: i32,
    pub dispersion: f64,
    pub dispstep: f64,
    pub dispsteps: i32,
    pub round_div: bool,
}

/// Generated sources and the lines the reference prints while making them.
#[derive(Clone, Debug)]
pub struct Generated {
    pub sources: Vec<Source>,
    /// Divergence points kept (the "divergence steps" count).
    pub divsteps: i32,
    pub lines: Vec<String>,
}

/// Generate the divergence grid (trimmed to an ellipse with `round_div`) times the dispersion
/// wavelengths. Sources sit 10 m up-beam, rotated by vdiv about the E-vector, then hdiv about
/// `vert` (beam × E).
pub fn generate(s: &BeamSampling, beam: &V3, polar: &V3, vert: &V3, lambda0: f64) -> Generated {
    use crate::cfmt::{fmt_g, fmt_g_prec};
    let mut lines = Vec::new();
    let keep = |hdiv: f64, vdiv: f64| {
        let mut test = (hdiv * hdiv - s.hdivstep * s.hdivstep / 4.0 * (1 - s.hdivsteps % 2) as f64)
            / s.hdivrange
            / s.hdivrange;
        test += (vdiv * vdiv - s.vdivstep * s.vdivstep / 4.0 * (1 - s.vdivsteps % 2) as f64)
            / s.vdivrange
            / s.vdivrange;
        !(s.round_div && test * 4.0 > 1.1)
    };
    let mut points = Vec::new();
    for ht in 0..s.hdivsteps {
        for vt in 0..s.vdivsteps {
            let hdiv = s.hdivstep * ht as f64 - s.hdivrange / 2.0;
            let vdiv = s.vdivstep * vt as f64 - s.vdivrange / 2.0;
            if keep(hdiv, vdiv) {
                lines.push(format!(
                    "divergence deviation: {} {}",
                    fmt_g(hdiv),
                    fmt_g(vdiv)
                ));
                points.push((hdiv, vdiv));
            }
        }
    }
    let lambdas: Vec<f64> = (0..s.dispsteps)
        .map(|j| lambda0 * (1.0 + s.dispstep * j as f64 - s.dispersion / 2.0))
        .collect();
    for (j, l) in lambdas.iter().enumerate() {
        lines.push(format!("lambda{} = {}", j, fmt_g_prec(*l, 15)));
    }
    let n = points.len() * lambdas.len();
    let weight = 1.0 / n as f64;
    let mut sources = Vec::with_capacity(n);
    for (hdiv, vdiv) in &points {
        let v0 = [-10.0 * beam[0], -10.0 * beam[1], -10.0 * beam[2]];
        let v1 = rotate_axis(&v0, polar, *vdiv);
        let v2 = rotate_axis(&v1, vert, *hdiv);
        for l in &lambdas {
            sources.push(Source {
                pos: v2,
                weight,
                lambda: *l,
            });
        }
    }
    Generated {
        sources,
        divsteps: points.len() as i32,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling(h: (f64, f64, i32), v: (f64, f64, i32), round: bool) -> BeamSampling {
        BeamSampling {
            hdivrange: h.0,
            hdivstep: h.1,
            hdivsteps: h.2,
            vdivrange: v.0,
            vdivstep: v.1,
            vdivsteps: v.2,
            dispersion: 0.0,
            dispstep: 0.0,
            dispsteps: 1,
            round_div: round,
        }
    }

    #[test]
    fn elliptical_trimming_counts() {
        // reference-behaviour 7.2: 3×3 → 5, 4×4 → 12, 5×5 → 13; one axis only: no trimming.
        let beam = [1.0, 0.0, 0.0];
        let pol = [0.0, 0.0, 1.0];
        let vert = [0.0, -1.0, 0.0];
        for (n, want) in [(3, 5), (4, 12), (5, 13)] {
            let r = 1e-3;
            let st = r / (n - 1) as f64;
            let g = generate(
                &sampling((r, st, n), (r, st, n), true),
                &beam,
                &pol,
                &vert,
                1e-10,
            );
            assert_eq!(g.sources.len(), want, "{n}x{n}");
        }
        let g = generate(
            &sampling((1e-3, 2.5e-4, 5), (0.0, 0.0, 1), true),
            &beam,
            &pol,
            &vert,
            1e-10,
        );
        assert_eq!(g.sources.len(), 5);
        let g = generate(
            &sampling((1e-3, 2.5e-4, 5), (1e-3, 2.5e-4, 5), false),
            &beam,
            &pol,
            &vert,
            1e-10,
        );
        assert_eq!(g.sources.len(), 25);
    }

    #[test]
    fn dispersion_wavelengths() {
        let mut s = sampling((0.0, 0.0, 1), (0.0, 0.0, 1), true);
        s.dispersion = 0.02;
        s.dispstep = 0.02;
        s.dispsteps = 2;
        let g = generate(
            &s,
            &[1.0, 0.0, 0.0],
            &[0.0, 0.0, 1.0],
            &[0.0, -1.0, 0.0],
            1e-10,
        );
        assert_eq!(g.sources.len(), 2);
        assert!((g.sources[0].lambda - 0.99e-10).abs() < 1e-22);
        assert!((g.sources[1].lambda - 1.01e-10).abs() < 1e-22);
        assert_eq!(g.sources[0].pos, [-10.0, 0.0, 0.0]);
    }

    #[test]
    fn source_file_columns_and_defaults() {
        let beam = [1.0, 0.0, 0.0];
        let f = read_source_file(
            "s.txt",
            "# two sources\n-10 0 0 1 1e-10\n\n-10,0.001;0\n",
            &beam,
            2e-10,
            true,
        )
        .unwrap();
        assert_eq!(f.sources.len(), 2);
        assert_eq!(f.sources[1].pos, [-10.0, 0.001, 0.0]);
        assert_eq!(f.sources[1].weight, 1.0);
        assert_eq!(f.sources[1].lambda, 2e-10);
        assert_eq!(f.zero_filled, None);
    }

    #[test]
    fn unterminated_last_line_reads_zeros_like_the_reference() {
        let beam = [1.0, 0.0, 0.0];
        let f = read_source_file("s.txt", "-10 0 0\n-10 0.001 0", &beam, 1e-10, true).unwrap();
        assert_eq!(f.zero_filled, Some(2));
        assert_eq!(f.sources[0].lambda, 1e-10);
        assert_eq!(f.sources[1].lambda, 0.0);
        let f = read_source_file("s.txt", "-10 0 0\n-10 0.001 0", &beam, 1e-10, false).unwrap();
        assert_eq!(f.sources[1].lambda, 1e-10);
    }

    #[test]
    fn unclean_blank_lines_are_zero_sources_like_the_reference() {
        let beam = [1.0, 0.0, 0.0];
        for (text, line) in [
            ("-10 0 0 1 1e-10\n\r\n-10 0.001 0 1 1e-10\n", 2),
            ("-10 0 0 1 1e-10\n   ", 2),
        ] {
            let f = read_source_file("s.txt", text, &beam, 1e-10, true).unwrap();
            assert_eq!(f.zero_filled, Some(line), "{text:?}");
            assert!(
                f.sources
                    .iter()
                    .any(|s| s.lambda == 0.0 && s.pos == [0.0; 3])
            );
            let f = read_source_file("s.txt", text, &beam, 1e-10, false).unwrap();
            assert_eq!(f.zero_filled, None);
            assert!(f.sources.iter().all(|s| s.lambda == 1e-10));
        }
        // a blank line with a plain newline, or an empty end, is skipped by both
        let f = read_source_file("s.txt", "-10 0 0 1 1e-10\n  \n\n", &beam, 1e-10, true).unwrap();
        assert_eq!((f.zero_filled, f.sources.len()), (None, 1));
    }

    #[test]
    fn malformed_source_lines_are_errors() {
        let beam = [1.0, 0.0, 0.0];
        let e = read_source_file(
            "s.txt",
            "-10 0 0 1 1e-10\n-10 0 0 heavy 1e-10\n",
            &beam,
            1e-10,
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("s.txt, line 2") && e.contains("weight"), "{e}");
        assert!(read_source_file("s.txt", "1 2 3 4 5 6\n", &beam, 1e-10, true).is_err());
        assert!(read_source_file("s.txt", "\n\n", &beam, 1e-10, true).is_err());
    }
}
