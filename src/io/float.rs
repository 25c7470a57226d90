//! The raw float image: pixels × float32, native (little-endian) order, fast index fastest,
//! no header (reference `-floatfile`).

/// The image as little-endian float32 bytes, without copying on little-endian hosts.
pub fn le_bytes(image: &[f32]) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        std::borrow::Cow::Borrowed(wide::bytemuck::cast_slice(image))
    } else {
        std::borrow::Cow::Owned(encode(image))
    }
}

/// Encode an image as little-endian float32 bytes.
pub fn encode(image: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.len() * 4);
    for v in image {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decode little-endian float32 bytes (length must be a multiple of 4).
pub fn decode(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let img = vec![0.0f32, -1.5, f32::MAX, 1e-30];
        let b = super::encode(&img);
        assert_eq!(b.len(), 16);
        assert_eq!(super::decode(&b).unwrap(), img);
        assert!(super::decode(&b[..3]).is_none());
    }
}
