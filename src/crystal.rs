//! The crystal lattice: unit cell from `-cell` and/or a MOSFLM matrix, missetting, and the
//! real/reciprocal regeneration of nanoBragg.c's main/cell phase.
//!
//! Reciprocal vectors are in Å⁻¹; the final real-space vectors `a0, b0, c0` are in metres
//! (the φ = 0, unmosaicked orientation used by the pixel loop).

use crate::vec3::{M3, V3, cross, dot, magnitude, rescale, rotate_umat, rotate_xyz, scale};

/// How to build the reciprocal cell before regeneration.
#[derive(Clone, Debug)]
pub struct CellInput {
    /// `-cell` lengths (Å) and angles (rad), if given.
    pub cell: Option<([f64; 3], [f64; 3])>,
    /// Reciprocal vectors a*, b*, c* from a matrix file, already divided by λ0 (Å⁻¹).
    pub matrix: Option<[V3; 3]>,
    /// Missetting rotations about X, Y, Z (rad), applied to the reciprocal vectors.
    pub misset: Option<V3>,
    /// A rotation matrix applied to the reciprocal vectors after the misset (v ← U·v; a
    /// library variation, no command-line equivalent).
    pub rotation: Option<M3>,
    /// Use textbook relations for the triclinic c*_z (`-fix_quirks`).
    pub textbook_cstar: bool,
}

/// Cell parameters for printing: lengths and angles (rad).
#[derive(Clone, Copy, Debug, Default)]
pub struct CellParams {
    pub lengths: V3,
    pub angles: V3,
}

/// The regenerated lattice.
#[derive(Clone, Debug)]
pub struct Crystal {
    /// Real-space cell vectors in metres (φ = 0, no mosaic).
    pub a0: V3,
    pub b0: V3,
    pub c0: V3,
    /// Real-space vectors in Å (for printing).
    pub a_ang: [V3; 3],
    /// Final reciprocal vectors in Å⁻¹ (used by the GAUSS/TOPHAT shapes).
    pub recip: [V3; 3],
    /// Direct and reciprocal cell parameters for printing.
    pub direct: CellParams,
    pub reciprocal: CellParams,
    /// Cell volume, Å³.
    pub volume: f64,
    /// Messages the reference prints while building the cell (warnings).
    pub messages: Vec<String>,
    /// The non-textbook c*_z changed the cell (for the quirk warning).
    pub cstar_quirk: bool,
}

fn clamp_angles(sin: &mut [f64; 3], cos: &mut [f64; 3]) {
    for s in sin.iter_mut() {
        *s = s.clamp(-1.0, 1.0);
    }
    for c in cos.iter_mut() {
        if *c * *c > 1.0 {
            *c = 1.0;
        }
    }
}

/// The reference's warning block for reciprocal angles out of range, as it prints it (the
/// beta lines padded with two spaces; the last label differs between its two blocks).
fn oddball_star_lines(sin: &[f64; 3], cos: &[f64; 3], last: &str) -> Vec<String> {
    let labels = [
        ("sin(alpha_star) =", "cos(alpha_star) ="),
        ("sin(beta_star)  =", "cos(beta_star)  ="),
        ("sin(gamma_star) =", last),
    ];
    let g = |x: f64| crate::cfmt::fmt_g_prec(x, 25);
    let mut v = vec!["WARNING: oddball reciprocal cell angles:".to_string()];
    for (k, (ls, lc)) in labels.iter().enumerate() {
        v.push(format!("{ls} {}", g(sin[k])));
        v.push(format!("{lc} {}", g(cos[k])));
    }
    v
}

fn oddball(v: &[f64]) -> bool {
    v.iter().any(|x| *x > 1.0000001 || *x < -1.0000001)
}

/// Build the lattice. Returns the crystal, or `None` when neither a cell nor a matrix is given.
pub fn build(input: &CellInput) -> Crystal {
    let mut msgs = Vec::new();
    let mut a_star: V3 = [0.0; 3];
    let mut b_star: V3 = [0.0; 3];
    let mut c_star: V3 = [0.0; 3];
    let mut lengths = [0.0; 3];
    let mut v_cell = 0.0;
    let mut cstar_quirk = false;

    if let Some((len, ang)) = input.cell {
        let [a, mut b, mut c] = len;
        let [mut alpha, mut beta, mut gamma] = ang;
        if b <= 0.0 {
            b = a;
        }
        if c <= 0.0 {
            c = a;
        }
        let right = std::f64::consts::PI / 2.0;
        if alpha <= 0.0 {
            alpha = right;
        }
        if beta <= 0.0 {
            beta = right;
        }
        if gamma <= 0.0 {
            gamma = right;
        }
        lengths = [a, b, c];
        let aavg = (alpha + beta + gamma) / 2.0;
        let mut skew =
            aavg.sin() * (aavg - alpha).sin() * (aavg - beta).sin() * (aavg - gamma).sin();
        if skew < 0.0 {
            skew = -skew;
        }
        v_cell = 2.0 * a * b * c * skew.sqrt();
        if v_cell <= 0.0 {
            msgs.push(format!(
                "WARNING: impossible unit cell volume: {}",
                crate::cfmt::fmt_g(v_cell)
            ));
            v_cell = f64::MIN_POSITIVE;
        }
        let v_star = 1.0 / v_cell;
        let mut len_star = [
            b * c * alpha.sin() * v_star,
            c * a * beta.sin() * v_star,
            a * b * gamma.sin() * v_star,
        ];
        if len_star.iter().any(|x| *x <= 0.0) {
            msgs.push(format!(
                "WARNING: impossible reciprocal cell lengths: {} {} {}",
                crate::cfmt::fmt_g(len_star[0]),
                crate::cfmt::fmt_g(len_star[1]),
                crate::cfmt::fmt_g(len_star[2])
            ));
            for x in len_star.iter_mut() {
                *x = x.abs();
                if *x <= 0.0 {
                    *x = f64::MIN_POSITIVE;
                }
            }
        }
        let mut sin_star = [
            a * v_star / len_star[1] / len_star[2],
            b * v_star / len_star[0] / len_star[2],
            c * v_star / len_star[0] / len_star[1],
        ];
        let mut cos_star = [
            (beta.cos() * gamma.cos() - alpha.cos()) / (beta.sin() * gamma.sin()),
            (gamma.cos() * alpha.cos() - beta.cos()) / (gamma.sin() * alpha.sin()),
            (alpha.cos() * beta.cos() - gamma.cos()) / (alpha.sin() * beta.sin()),
        ];
        if oddball(&sin_star) || oddball(&cos_star) {
            // the reference's text, typo included
            msgs.extend(oddball_star_lines(
                &sin_star,
                &cos_star,
                "cos9gamma_star) =",
            ));
        }
        clamp_angles(&mut sin_star, &mut cos_star);
        a_star = [len_star[0], 0.0, 0.0];
        b_star = [len_star[1] * cos_star[2], len_star[1] * sin_star[2], 0.0];
        let textbook_z = 1.0 / (v_cell * len_star[0] * len_star[1] * sin_star[2]);
        let quirk_z = len_star[2] * v_cell / (a * b * c * sin_star[2]);
        c_star = [
            len_star[2] * cos_star[1],
            len_star[2] * (cos_star[0] - cos_star[1] * cos_star[2]) / sin_star[2],
            if input.textbook_cstar {
                textbook_z
            } else {
                quirk_z
            },
        ];
        cstar_quirk = ((quirk_z - textbook_z) / textbook_z).abs() > 1e-9;
    }

    if let Some(m) = input.matrix {
        [a_star, b_star, c_star] = m;
    }

    if let Some([rx, ry, rz]) = input.misset {
        a_star = rotate_xyz(&a_star, rx, ry, rz);
        b_star = rotate_xyz(&b_star, rx, ry, rz);
        c_star = rotate_xyz(&c_star, rx, ry, rz);
    }

    if let Some(u) = &input.rotation {
        a_star = rotate_umat(&a_star, u);
        b_star = rotate_umat(&b_star, u);
        c_star = rotate_umat(&c_star, u);
    }

    let mut axb = cross(&a_star, &b_star);
    let mut bxc = cross(&b_star, &c_star);
    let mut cxa = cross(&c_star, &a_star);
    let mut v_star = dot(&a_star, &bxc);
    if input.cell.is_some() {
        bxc = rescale(&bxc, lengths[0] / v_cell);
        cxa = rescale(&cxa, lengths[1] / v_cell);
        axb = rescale(&axb, lengths[2] / v_cell);
        v_star = 1.0 / v_cell;
    }
    let v_cell = 1.0 / v_star;
    let a = scale(&bxc, v_cell);
    let b = scale(&cxa, v_cell);
    let c = scale(&axb, v_cell);
    let a_star = scale(&cross(&b, &c), v_star);
    let b_star = scale(&cross(&c, &a), v_star);
    let c_star = scale(&cross(&a, &b), v_star);

    let (la, lb, lc) = (magnitude(&a), magnitude(&b), magnitude(&c));
    let (las, lbs, lcs) = (magnitude(&a_star), magnitude(&b_star), magnitude(&c_star));
    let mut sin = [
        las * v_cell / lb / lc,
        lbs * v_cell / la / lc,
        lcs * v_cell / la / lb,
    ];
    let mut cos = [
        dot(&b, &c) / lb / lc,
        dot(&a, &c) / la / lc,
        dot(&a, &b) / la / lb,
    ];
    if oddball(&sin) || oddball(&cos) {
        msgs.push("WARNING: oddball cell angles:".to_string());
        let names = ["alpha", "beta ", "gamma"];
        for k in 0..3 {
            msgs.push(format!(
                "sin_{} = {}",
                names[k],
                crate::cfmt::fmt_g_prec(sin[k], 25)
            ));
            msgs.push(format!(
                "cos_{} = {}",
                names[k],
                crate::cfmt::fmt_g_prec(cos[k], 25)
            ));
        }
    }
    clamp_angles(&mut sin, &mut cos);
    let angles = [
        sin[0].atan2(cos[0]),
        sin[1].atan2(cos[1]),
        sin[2].atan2(cos[2]),
    ];

    let mut sin_s = [
        la * v_star / lbs / lcs,
        lb * v_star / las / lcs,
        lc * v_star / las / lbs,
    ];
    let mut cos_s = [
        dot(&b_star, &c_star) / lbs / lcs,
        dot(&a_star, &c_star) / las / lcs,
        dot(&a_star, &b_star) / las / lbs,
    ];
    if oddball(&sin_s) || oddball(&cos_s) {
        msgs.extend(oddball_star_lines(&sin_s, &cos_s, "cos(gamma_star) ="));
    }
    clamp_angles(&mut sin_s, &mut cos_s);
    let angles_s = [
        sin_s[0].atan2(cos_s[0]),
        sin_s[1].atan2(cos_s[1]),
        sin_s[2].atan2(cos_s[2]),
    ];

    Crystal {
        a0: scale(&a, 1e-10),
        b0: scale(&b, 1e-10),
        c0: scale(&c, 1e-10),
        a_ang: [a, b, c],
        recip: [a_star, b_star, c_star],
        direct: CellParams {
            lengths: [la, lb, lc],
            angles,
        },
        reciprocal: CellParams {
            lengths: [las, lbs, lcs],
            angles: angles_s,
        },
        volume: v_cell,
        messages: msgs,
        cstar_quirk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::RTD;

    fn cell(l: V3, a: V3, textbook: bool) -> Crystal {
        build(&CellInput {
            cell: Some((l, [a[0] / RTD, a[1] / RTD, a[2] / RTD])),
            matrix: None,
            misset: None,
            rotation: None,
            textbook_cstar: textbook,
        })
    }

    #[test]
    fn cubic_cell_is_diagonal() {
        let c = cell([100.0; 3], [90.0; 3], false);
        assert!((c.a0[0] - 100e-10).abs() < 1e-22);
        assert!(c.a0[1].abs() < 1e-24 && c.a0[2].abs() < 1e-24);
        assert!((c.recip[1][1] - 0.01).abs() < 1e-15);
        assert!((c.volume - 1e6).abs() < 1e-6);
        assert!(!c.cstar_quirk);
    }

    /// reference-behaviour 5.1: for 70 80 90 75 85 95 the reference's c*_z gives cell angles
    /// 75.0391, 85.0136, 95.0081 degrees; the textbook relations give the input back.
    #[test]
    fn triclinic_quirk_and_textbook_fix() {
        let c = cell([70.0, 80.0, 90.0], [75.0, 85.0, 95.0], false);
        let deg: Vec<f64> = c.direct.angles.iter().map(|x| x * RTD).collect();
        assert!((deg[0] - 75.0391).abs() < 1e-4, "{deg:?}");
        assert!((deg[1] - 85.0136).abs() < 1e-4, "{deg:?}");
        assert!((deg[2] - 95.0081).abs() < 1e-4, "{deg:?}");
        assert!(c.cstar_quirk);
        let t = cell([70.0, 80.0, 90.0], [75.0, 85.0, 95.0], true);
        let deg: Vec<f64> = t.direct.angles.iter().map(|x| x * RTD).collect();
        assert!(
            (deg[0] - 75.0).abs() < 1e-9
                && (deg[1] - 85.0).abs() < 1e-9
                && (deg[2] - 95.0).abs() < 1e-9,
            "{deg:?}"
        );
        // lengths restored exactly in both cases
        assert!(
            (c.direct.lengths[0] - 70.0).abs() < 1e-9 && (t.direct.lengths[2] - 90.0).abs() < 1e-9
        );
    }

    /// With the textbook relations the regenerated vectors are exactly dual (with the
    /// reference's c*_z the volume used for V* is not the lattice's, so a·a* ≠ 1).
    #[test]
    fn real_and_reciprocal_are_dual() {
        let c = cell([50.0, 60.0, 70.0], [80.0, 100.0, 110.0], true);
        let [a, b, cc] = c.a_ang;
        let [sa, sb, sc] = c.recip;
        assert!((dot(&a, &sa) - 1.0).abs() < 1e-12);
        assert!(
            dot(&a, &sb).abs() < 1e-12 && dot(&b, &sc).abs() < 1e-12 && dot(&cc, &sa).abs() < 1e-12
        );
    }

    #[test]
    fn misset_rotates_the_lattice() {
        let base = cell([100.0; 3], [90.0; 3], false);
        let rot = build(&CellInput {
            cell: Some(([100.0; 3], [std::f64::consts::FRAC_PI_2; 3])),
            matrix: None,
            misset: Some([0.0, 0.0, 90.0 / RTD]),
            rotation: None,
            textbook_cstar: false,
        });
        // a* along x rotated 90° about z goes to y
        assert!((rot.recip[0][1] - base.recip[0][0]).abs() < 1e-15);
        assert!(rot.recip[0][0].abs() < 1e-15);
    }
}
