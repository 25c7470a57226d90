//! 8-bit portable greymap (P5), as the reference writes it for `-pgmfile`.

/// `P5\n<f> <s>\n# pixels scaled by <scale %g>\n255\n` followed by one byte per pixel.
pub fn encode(fpixels: usize, spixels: usize, scale: f64, bytes: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "P5\n{} {}\n# pixels scaled by {}\n255\n",
        fpixels,
        spixels,
        crate::cfmt::fmt_g(scale)
    )
    .into_bytes();
    out.extend_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_layout() {
        let b = super::encode(2, 1, 2.5, &[7, 255]);
        assert_eq!(
            b,
            b"P5\n2 1\n# pixels scaled by 2.5\n255\n\x07\xff".to_vec()
        );
    }
}
