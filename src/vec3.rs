//! 3-vector arithmetic in the reference program's exact order of operations.
//!
//! Every function here evaluates left to right exactly as nanoBragg.c's helpers do
//! (`dot_product`, `cross_product`, `magnitude`, `unitize`, `rotate`, `rotate_axis`,
//! `rotate_umat`), so that results are bit-identical. No fused multiply-add is ever used.

/// A vector (x, y, z).
pub type V3 = [f64; 3];

/// Row-major 3×3 matrix (nanoBragg's `umat[9]`).
pub type M3 = [f64; 9];

/// The identity matrix.
pub const IDENTITY: M3 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

/// `(x1·y1 + x2·y2) + x3·y3`.
#[inline(always)]
pub fn dot(x: &V3, y: &V3) -> f64 {
    x[0] * y[0] + x[1] * y[1] + x[2] * y[2]
}

/// Textbook cross product.
#[inline(always)]
pub fn cross(x: &V3, y: &V3) -> V3 {
    [
        x[1] * y[2] - x[2] * y[1],
        x[2] * y[0] - x[0] * y[2],
        x[0] * y[1] - x[1] * y[0],
    ]
}

/// `sqrt((x² + y²) + z²)`.
#[inline(always)]
pub fn magnitude(v: &V3) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// `[v0/s, v1/s, v2/s]`, the three divisions in one vector instruction: each lane is an IEEE
/// division, so the bits are those of three scalar ones (the exact kernel's q = (d − i)/λ).
#[inline(always)]
pub fn div3(v: V3, s: f64) -> V3 {
    let q = (wide::f64x4::from([v[0], v[1], v[2], 1.0]) / wide::f64x4::splat(s)).to_array();
    [q[0], q[1], q[2]]
}

/// Unit vector by component-wise division; a zero vector stays zero. Returns (length, unit).
#[inline(always)]
pub fn unitize(v: &V3) -> (f64, V3) {
    let mag = magnitude(v);
    if mag != 0.0 {
        (mag, [v[0] / mag, v[1] / mag, v[2] / mag])
    } else {
        (mag, [0.0; 3])
    }
}

/// Unit vector only.
#[inline(always)]
pub fn unit(v: &V3) -> V3 {
    unitize(v).1
}

/// `scale·v` component-wise.
#[inline(always)]
pub fn scale(v: &V3, s: f64) -> V3 {
    [s * v[0], s * v[1], s * v[2]]
}

/// Force a vector to length `new_mag`: `(new_mag/old)·v`, an old length ≤ 0 counting as 1.
pub fn rescale(v: &V3, new_mag: f64) -> V3 {
    let mut old = magnitude(v);
    if old <= 0.0 {
        old = 1.0;
    }
    [
        new_mag / old * v[0],
        new_mag / old * v[1],
        new_mag / old * v[2],
    ]
}

/// Rotation about lab X by `rx`, then Y by `ry`, then Z by `rz` (radians, right-handed);
/// a zero angle skips its step entirely.
pub fn rotate_xyz(v: &V3, rx: f64, ry: f64, rz: f64) -> V3 {
    let [mut x, mut y, mut z] = *v;
    if rx != 0.0 {
        let (s, c) = (rx.sin(), rx.cos());
        let ny = y * c + z * (-s);
        let nz = y * s + z * c;
        y = ny;
        z = nz;
    }
    if ry != 0.0 {
        let (s, c) = (ry.sin(), ry.cos());
        let nx = x * c + y * 0.0 + z * s;
        let nz = x * (-s) + y * 0.0 + z * c;
        x = nx;
        z = nz;
    }
    if rz != 0.0 {
        let (s, c) = (rz.sin(), rz.cos());
        let nx = x * c + y * (-s);
        let ny = x * s + y * c;
        x = nx;
        y = ny;
    }
    [x, y, z]
}

/// Right-handed rotation of `v` by `phi` radians about the unit vector `axis` (always
/// evaluated, even for phi = 0).
#[inline(always)]
pub fn rotate_axis(v: &V3, axis: &V3, phi: f64) -> V3 {
    let sinphi = phi.sin();
    let cosphi = phi.cos();
    let d = (axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2]) * (1.0 - cosphi);
    [
        axis[0] * d + v[0] * cosphi + (-axis[2] * v[1] + axis[1] * v[2]) * sinphi,
        axis[1] * d + v[1] * cosphi + (axis[2] * v[0] - axis[0] * v[2]) * sinphi,
        axis[2] * d + v[2] * cosphi + (-axis[1] * v[0] + axis[0] * v[1]) * sinphi,
    ]
}

/// `U·v` for a row-major matrix.
#[inline(always)]
pub fn rotate_umat(v: &V3, u: &M3) -> V3 {
    [
        u[0] * v[0] + u[1] * v[1] + u[2] * v[2],
        u[3] * v[0] + u[4] * v[1] + u[5] * v[2],
        u[6] * v[0] + u[7] * v[1] + u[8] * v[2],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div3_is_three_scalar_divisions_bit_for_bit() {
        let xs = [
            0.0,
            -0.0,
            1.0,
            -3.5,
            1e-310,
            -2.2250738585072014e-308,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.1,
            1.0 / 3.0,
            -7.000000000000001,
        ];
        for &s in &xs {
            for (i, &a) in xs.iter().enumerate() {
                let v = [a, xs[(i + 3) % xs.len()], xs[(i + 7) % xs.len()]];
                let q = div3(v, s);
                for k in 0..3 {
                    assert_eq!(q[k].to_bits(), (v[k] / s).to_bits(), "{:?} / {s}", v[k]);
                }
            }
        }
    }

    fn close(a: &V3, b: &V3) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn rotations_are_right_handed() {
        let q = std::f64::consts::FRAC_PI_2;
        assert!(close(
            &rotate_xyz(&[0.0, 1.0, 0.0], q, 0.0, 0.0),
            &[0.0, 0.0, 1.0]
        ));
        assert!(close(
            &rotate_xyz(&[0.0, 0.0, 1.0], 0.0, q, 0.0),
            &[1.0, 0.0, 0.0]
        ));
        assert!(close(
            &rotate_xyz(&[1.0, 0.0, 0.0], 0.0, 0.0, q),
            &[0.0, 1.0, 0.0]
        ));
        assert!(close(
            &rotate_axis(&[1.0, 0.0, 0.0], &[0.0, 0.0, 1.0], q),
            &[0.0, 1.0, 0.0]
        ));
        // X then Y then Z order: a vector along y, rotated 90° about x goes to z, then about y to x.
        assert!(close(
            &rotate_xyz(&[0.0, 1.0, 0.0], q, q, 0.0),
            &[1.0, 0.0, 0.0]
        ));
    }

    #[test]
    fn zero_angle_steps_are_skipped() {
        let v = [-0.0, 1.0, 2.0];
        let r = rotate_xyz(&v, 0.0, 0.0, 0.0);
        assert_eq!(r[0].to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn axis_rotation_matches_matrix_rotation() {
        let axis = unit(&[1.0, 2.0, 3.0]);
        let v = [0.3, -0.2, 0.9];
        let phi: f64 = 0.7;
        let r = rotate_axis(&v, &axis, phi);
        // Rodrigues matrix, computed independently
        let (s, c) = phi.sin_cos();
        let t = 1.0 - c;
        let [x, y, z] = axis;
        let m = [
            t * x * x + c,
            t * x * y - s * z,
            t * x * z + s * y,
            t * x * y + s * z,
            t * y * y + c,
            t * y * z - s * x,
            t * x * z - s * y,
            t * y * z + s * x,
            t * z * z + c,
        ];
        assert!(close(&r, &rotate_umat(&v, &m)));
        assert!((magnitude(&r) - magnitude(&v)).abs() < 1e-15);
    }

    #[test]
    fn unitize_zero_vector_is_zero() {
        assert_eq!(unitize(&[0.0; 3]), (0.0, [0.0; 3]));
        assert_eq!(rescale(&[0.0; 3], 5.0), [0.0; 3]);
        assert!(close(&rescale(&[3.0, 0.0, 4.0], 10.0), &[6.0, 0.0, 8.0]));
    }
}
