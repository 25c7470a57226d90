//! The per-image stages: what an image of a series may change (options, orientation,
//! crystal size, spindle start, mosaic domains, seeds), each returning its value with the
//! lines it prints and the warnings it raises.

use super::{AVOGADRO, PhiSampling, Stage, stages::Sampling};
use crate::cfmt::{fmt_f, fmt_g, pad_left, pad_right};
use crate::crystal::{self, CellInput, Crystal};
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::io;
use crate::options::{Interpolation, Misset, Options, RTD};
use crate::rng::{Ran1, umat_to_misset};
use crate::vec3::{M3, V3, scale};

/// Stage "interpolation": tricubic interpolation of F, decided from the cell counts when not
/// given (`hkls` = 0, no grid, turns it off without a word, as in the reference).
pub fn interpolation(o: &Options, hkls: usize) -> Stage<bool> {
    let mut st = Stage::new(false);
    st.value = match o.interpolate {
        Interpolation::On => true,
        Interpolation::Off => false,
        Interpolation::Auto => {
            let [na, nb, nc] = o.n_cells;
            if na <= 2.0 || nb <= 2.0 || nc <= 2.0 {
                st.lines
                    .push("auto-selected tricubic interpolation of structure factors".to_string());
                true
            } else {
                st.lines.push("auto-selected no interpolation".to_string());
                false
            }
        }
    } && hkls != 0;
    st
}

/// The crystal and the random generator after the orientation draws (the mosaic domains and
/// the noise image continue its shuffle table).
#[derive(Clone, Debug)]
pub struct Oriented {
    pub crystal: Crystal,
    pub rng: Ran1,
}

/// A matrix file already read: its name and reciprocal vectors (Å⁻¹, divided by λ0).
pub type MatrixFile = (String, [V3; 3]);

/// Stage "crystal": the cell from `-cell` and/or `-mat`, the random or given misset, then
/// `rotation` (a rotation matrix applied to the reciprocal cell after the misset; library
/// variations only). `cached` is a matrix file read before (read again when it is another).
pub fn crystal(
    o: &Options,
    rotation: Option<&M3>,
    cached: Option<&MatrixFile>,
) -> Result<Stage<Oriented>> {
    let mut st = Stage::new(());
    let mut rng = Ran1::new();
    let matrix = match &o.matfile {
        Some(m) => {
            let v = match cached {
                Some((name, v)) if name == m => *v,
                _ => read_matrix(m, &io::read_text(m)?, o.lambda0)?,
            };
            st.lines.push(format!("reading {m}"));
            Some(v)
        }
        None => None,
    };
    let mut misset = match o.misset {
        Misset::Angles(a) => Some(a),
        _ => None,
    };
    if o.misset == Misset::Random {
        let mut seed = o.misset_seed;
        let a = umat_to_misset(&rng.cap_rotation(90.0, &mut seed));
        st.lines.push(format!(
            "random orientation misset angles: {} {} {} deg",
            fmt_f(a[0] * RTD, 6),
            fmt_f(a[1] * RTD, 6),
            fmt_f(a[2] * RTD, 6)
        ));
        misset = Some(a);
    }
    let cr = crystal::build(&CellInput {
        cell: o.user_cell.then_some((o.cell_lengths, o.cell_angles)),
        matrix,
        misset,
        rotation: rotation.copied(),
        textbook_cstar: o.fix_cell,
    });
    if cr.cstar_quirk && !o.fix_cell {
        st.warnings.push("the oblique cell's reciprocal c* z component uses nanoBragg.c's non-textbook formula, so the cell angles differ slightly from -cell (see \"Unit Cell\"); -fix_cell uses the textbook relations".to_string());
    }
    st.lines.extend(cr.messages.iter().cloned());
    st.lines.extend(cell_lines(&cr));
    check_cell(o, &cr)?;
    Ok(st.with(Oriented { crystal: cr, rng }))
}

/// A matrix must be right-handed and span a volume; a cell must have one.
fn check_cell(o: &Options, cr: &Crystal) -> Result<()> {
    let finite = cr
        .a0
        .iter()
        .chain(&cr.b0)
        .chain(&cr.c0)
        .all(|x| x.is_finite());
    match &o.matfile {
        Some(m) if finite && cr.volume < 0.0 => Err(Error::input(
            m,
            None,
            "the matrix is left-handed (negative determinant): a*, b*, c* must form a right-handed set",
        )),
        Some(m) if !finite || !(cr.volume > 0.0) => Err(Error::input(
            m,
            None,
            "the matrix is singular: its reciprocal vectors span no volume",
        )),
        None if !finite => Err(Error::invalid(
            "the unit cell is degenerate: check the -cell lengths and angles (the angles must make a cell with volume)",
        )),
        _ => Ok(()),
    }
}

/// Crystal size in unit cells and the pixel oversampling.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// Unit cells along a, b, c (from `-N` or the crystal size).
    pub n_cells: [f64; 3],
    /// Sub-pixels per pixel edge (given, or chosen from the spot size).
    pub oversample: i32,
}

/// Stage "size": unit cells from `-N` or `-xtalsize`, and the oversampling the spot size
/// needs on this detector.
pub fn size(o: &Options, cr: &Crystal, det: &Detector) -> Result<Stage<Size>> {
    let mut st = Stage::new(());
    let lens = [
        crate::vec3::magnitude(&cr.a0),
        crate::vec3::magnitude(&cr.b0),
        crate::vec3::magnitude(&cr.c0),
    ];
    let n = cell_counts(o, &lens)?;
    let xtal = [lens[0] * n[0], lens[1] * n[1], lens[2] * n[2]];
    st.lines.push(format!(
        "crystal is {} x {} x {} microns",
        fmt_g(xtal[0] * 1e6),
        fmt_g(xtal[1] * 1e6),
        fmt_g(xtal[2] * 1e6)
    ));
    let mut xmax = xtal[0];
    if xmax < xtal[1] {
        xmax = xtal[1];
    }
    if xmax < xtal[2] {
        xmax = xtal[2];
    }
    let reciprocal_pixel = o.lambda0 * det.distance / det.pixel_size;
    let recommended = crate::cfmt::c_int((3.0 * xmax / reciprocal_pixel).ceil()).max(1);
    let mut oversample = o.oversample;
    if oversample <= 0 {
        oversample = recommended;
        st.lines
            .push(format!("auto-selected {oversample}-fold oversampling"));
    }
    if oversample < recommended {
        st.lines.extend([
            format!(
                "WARNING: maximum dimension of sample is {} A",
                fmt_g(xmax * 1e10)
            ),
            format!(
                "         but reciprocal pixel size is {} A",
                fmt_g(reciprocal_pixel * 1e10)
            ),
            "         intensity may vary significantly across a pixel!".to_string(),
            format!("         recommend -oversample {recommended} to work around this"),
        ]);
    }
    let volume = xtal[0] * xtal[1] * xtal[2];
    let mw = volume * 1.2e6 * AVOGADRO / (n[0] * n[1] * n[2]);
    st.lines.push(format!("approximate MW = {}", fmt_g(mw)));
    Ok(st.with(Size {
        n_cells: n,
        oversample: oversample.max(1),
    }))
}

/// Unit cells per axis: from the crystal size where given (rounded up), at least 1, at most
/// [`super::MAX_CELLS`].
fn cell_counts(o: &Options, lens: &[f64; 3]) -> Result<[f64; 3]> {
    let mut n = o.n_cells;
    for k in 0..3 {
        if o.sample_size[k] > 0.0 {
            n[k] = (o.sample_size[k] / lens[k]).ceil();
        }
        if n[k] <= 1.0 {
            n[k] = 1.0;
        }
    }
    for k in 0..3 {
        if n[k] > super::MAX_CELLS {
            let from = if o.sample_size[k] > 0.0 {
                "from the crystal size, -xtalsize/-sample_size"
            } else {
                "-N/-Na/-Nb/-Nc"
            };
            return Err(Error::invalid(format!(
                "{} unit cells along {} ({from}): at most 10^6 per axis",
                fmt_g(n[k]),
                ["a", "b", "c"][k]
            )));
        }
    }
    Ok(n)
}

/// The `phi0 = ...` lines of the spindle steps.
pub fn phi_lines(phi: &PhiSampling) -> Vec<String> {
    (0..phi.steps)
        .map(|p| {
            format!(
                "phi{} = {}",
                p,
                fmt_g((phi.phi0 + phi.step * p as f64) * RTD)
            )
        })
        .collect()
}

/// Stage "mosaic": the domain matrices, drawn from the mosaic seed with the generator the
/// orientation draws left.
pub fn mosaic(o: &Options, s: &Sampling, rng: &mut Ran1) -> Stage<Vec<M3>> {
    let mut seed = o.mosaic_seed;
    let umats =
        crate::mosaic::domain_matrices(s.mosaic_spread, s.mosaic_domains as usize, rng, &mut seed);
    let mut st = Stage::new(umats);
    st.lines.push(format!(
        "  created a total of {} mosaic domains",
        s.mosaic_domains
    ));
    st
}

/// Read a MOSFLM A matrix: nine numbers (whitespace separated, further lines ignored); its
/// columns are a*, b*, c*, divided here by λ0 in Å.
pub fn read_matrix(path: &str, text: &str, lambda0: f64) -> Result<[V3; 3]> {
    let mut nums = Vec::with_capacity(9);
    'lines: for (n, line) in text.lines().enumerate() {
        for tok in line.split_whitespace() {
            let v = crate::cfmt::parse_f64_strict(tok)
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Error::input(
                        path,
                        Some(n + 1),
                        format!("'{}' is not a number", crate::cfmt::clip(tok)),
                    )
                })?;
            nums.push(v);
            if nums.len() == 9 {
                break 'lines;
            }
        }
    }
    if nums.len() < 9 {
        return Err(Error::input(
            path,
            None,
            format!("expected 9 numbers (a 3x3 matrix), found {}", nums.len()),
        ));
    }
    let s = 1e-10 / lambda0;
    Ok([
        scale(&[nums[0], nums[3], nums[6]], s),
        scale(&[nums[1], nums[4], nums[7]], s),
        scale(&[nums[2], nums[5], nums[8]], s),
    ])
}

fn cell_lines(c: &Crystal) -> Vec<String> {
    let mut v = Vec::new();
    let d = &c.direct;
    let r = &c.reciprocal;
    let cell = |title: &str, lengths: &[f64; 3], angles: &[f64; 3]| {
        let mut line = title.to_string();
        for x in lengths.iter().chain(&angles.map(|a| a * RTD)) {
            line.push(' ');
            line.push_str(&fmt_g(*x));
        }
        line
    };
    v.push(cell("Unit Cell:", &d.lengths, &d.angles));
    v.push(cell("Recp Cell:", &r.lengths, &r.angles));
    v.push(format!("volume = {} A^3", fmt_g(c.volume)));
    let block = |title: &str, names: [&str; 3], vecs: &[V3; 3]| {
        let mut b = vec![title.to_string()];
        b.push(format!(
            "     {}  {}  {}",
            pad_right(names[0], 10),
            pad_right(names[1], 10),
            pad_right(names[2], 10)
        ));
        for (k, axis) in ["X", "Y", "Z"].iter().enumerate() {
            b.push(format!(
                "{}: {} {} {}",
                axis,
                pad_left(&fmt_f(vecs[0][k], 8), 11),
                pad_left(&fmt_f(vecs[1][k], 8), 11),
                pad_left(&fmt_f(vecs[2][k], 8), 11)
            ));
        }
        b
    };
    v.extend(block(
        "real-space cell vectors (Angstrom):",
        ["a", "b", "c"],
        &c.a_ang,
    ));
    v.extend(block(
        "reciprocal-space cell vectors (Angstrom^-1):",
        ["a_star", "b_star", "c_star"],
        &c.recip,
    ));
    v
}
