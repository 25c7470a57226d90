//! 8-bit greyscale PNG (the `-pngfile` preview; not a reference format).

/// Encode `gray` (fpixels × spixels bytes, fast index fastest) as a PNG.
pub fn encode(fpixels: usize, spixels: usize, gray: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let (w, h) = (
            u32::try_from(fpixels).map_err(std::io::Error::other)?,
            u32::try_from(spixels).map_err(std::io::Error::other)?,
        );
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(gray)
            .map_err(std::io::Error::other)?;
    }
    Ok(out)
}
