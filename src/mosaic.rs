//! Mosaic domains: one rotation matrix per domain, drawn from the mosaic seed.

use crate::rng::Ran1;
use crate::vec3::{IDENTITY, M3};

/// Domain orientation matrices. Each domain draws three uniforms (even when the spread is 0);
/// domain 0 is then replaced by the identity, as in the reference.
pub fn domain_matrices(spread: f64, domains: usize, rng: &mut Ran1, seed: &mut i64) -> Vec<M3> {
    let mut out = Vec::with_capacity(domains);
    for d in 0..domains {
        let m = rng.cap_rotation(spread as f32, seed);
        out.push(if d == 0 { IDENTITY } else { m });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_domain_is_identity_and_draws_are_consumed() {
        let mut r = Ran1::new();
        let mut s = -12345678;
        let m = domain_matrices(0.01, 3, &mut r, &mut s);
        assert_eq!(m[0], IDENTITY);
        assert_ne!(m[1], IDENTITY);
        // the same seed without the identity replacement gives the same later domains
        let mut r2 = Ran1::new();
        let mut s2 = -12345678;
        let _ = r2.cap_rotation(0.01, &mut s2);
        assert_eq!(r2.cap_rotation(0.01, &mut s2), m[1]);
    }
}
