//! SMV (ADSC) images: the reference's writer and header reader.
//!
//! Writing: a `{ ... }` header of `KEY=value;` lines with C `%g` numbers, a form feed, spaces up
//! to byte 512, then unsigned 16-bit pixels in little-endian order.
//!
//! Reading (`-img`, `-mask`): keys are looked up like the reference does: the **last**
//! occurrence of the key text anywhere in the header (so `DISTANCE` also matches inside
//! `CLOSE_DISTANCE`), then the first `=` after it, then a C `atof`.

use crate::cfmt::fmt_g;
use crate::error::{Error, Result};

/// Values written into an SMV header, already in header units (mm, Å, degrees, pixels).
#[derive(Clone, Debug, PartialEq)]
pub struct SmvHeader {
    pub size1: i32,
    pub size2: i32,
    pub pixel_size: f64,
    pub distance: f64,
    pub wavelength: f64,
    pub beam_center_x: f64,
    pub beam_center_y: f64,
    pub adxv_center: [f64; 2],
    pub mosflm_center: [f64; 2],
    pub denzo_beam: [f64; 2],
    pub dials_origin: [f64; 3],
    pub xds_org: [f64; 2],
    pub close_distance: f64,
    pub phi: f64,
    pub osc_start: f64,
    pub osc_range: f64,
    pub twotheta: f64,
}

/// Header text, exactly as the reference prints it (no padding).
pub fn header_text(h: &SmvHeader) -> String {
    let g = fmt_g;
    let mut s = String::new();
    s.push_str("{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n");
    s.push_str(&format!(
        "SIZE1={};\nSIZE2={};\nPIXEL_SIZE={};\nDISTANCE={};\n",
        h.size1,
        h.size2,
        g(h.pixel_size),
        g(h.distance)
    ));
    s.push_str(&format!("WAVELENGTH={};\n", g(h.wavelength)));
    s.push_str(&format!(
        "BEAM_CENTER_X={};\nBEAM_CENTER_Y={};\n",
        g(h.beam_center_x),
        g(h.beam_center_y)
    ));
    s.push_str(&format!(
        "ADXV_CENTER_X={};\nADXV_CENTER_Y={};\n",
        g(h.adxv_center[0]),
        g(h.adxv_center[1])
    ));
    s.push_str(&format!(
        "MOSFLM_CENTER_X={};\nMOSFLM_CENTER_Y={};\n",
        g(h.mosflm_center[0]),
        g(h.mosflm_center[1])
    ));
    s.push_str(&format!(
        "DENZO_X_BEAM={};\nDENZO_Y_BEAM={};\n",
        g(h.denzo_beam[0]),
        g(h.denzo_beam[1])
    ));
    s.push_str(&format!(
        "DIALS_ORIGIN={},{},{}\n",
        g(h.dials_origin[0]),
        g(h.dials_origin[1]),
        g(h.dials_origin[2])
    ));
    s.push_str(&format!(
        "XDS_ORGX={};\nXDS_ORGY={};\n",
        g(h.xds_org[0]),
        g(h.xds_org[1])
    ));
    s.push_str(&format!("CLOSE_DISTANCE={};\n", g(h.close_distance)));
    s.push_str(&format!(
        "PHI={};\nOSC_START={};\nOSC_RANGE={};\n",
        g(h.phi),
        g(h.osc_start),
        g(h.osc_range)
    ));
    s.push_str(&format!("TWOTHETA={};\n", g(h.twotheta)));
    s.push_str("DETECTOR_SN=000;\nBEAMLINE=fake;\n}\x0c");
    s
}

/// The header block: header text padded with spaces to 512 bytes (not padded if longer).
pub fn header_block(h: &SmvHeader) -> Vec<u8> {
    let mut out = header_text(h).into_bytes();
    while out.len() < 512 {
        out.push(b' ');
    }
    out
}

/// The pixels as little-endian u16 bytes, without copying on little-endian hosts.
pub fn pixel_bytes(pixels: &[u16]) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        std::borrow::Cow::Borrowed(wide::bytemuck::cast_slice(pixels))
    } else {
        std::borrow::Cow::Owned(pixels.iter().flat_map(|p| p.to_le_bytes()).collect())
    }
}

/// A complete SMV file: header, padding to 512 bytes (none if the header is longer), pixels.
pub fn encode(h: &SmvHeader, pixels: &[u16]) -> Vec<u8> {
    let mut out = header_block(h);
    out.extend_from_slice(&pixel_bytes(pixels));
    out
}

/// An SMV file read for its header (and pixels, for masks).
#[derive(Clone, Debug)]
pub struct SmvFile {
    /// Header text up to HEADER_BYTES (cut at the first NUL byte, as C string functions see it).
    pub header: String,
    pub header_size: usize,
    pub width: i32,
    pub height: i32,
    /// Pixels in file order, converted from the file's byte order.
    pub pixels: Vec<u16>,
}

impl SmvFile {
    /// The reference's header lookup: last occurrence of `key`, then the first `=` after it.
    /// `None` when the key is absent; `Some(0.0)` when no `=` follows it.
    pub fn value_of(&self, key: &str) -> Option<f64> {
        value_of(&self.header, key)
    }
}

fn value_of(header: &str, key: &str) -> Option<f64> {
    let mut pos = None;
    let mut from = 0;
    while let Some(p) = header[from..].find(key) {
        from += p + key.len();
        pos = Some(from);
    }
    let start = pos?;
    match header[start..].find('=') {
        Some(eq) => Some(crate::cfmt::atof(&header[start + eq + 1..])),
        None => Some(0.0),
    }
}

/// Parse an SMV file. Errors name the file: not an SMV header, a header size or image size that
/// does not fit the file, missing dimensions.
pub fn parse(path: &str, bytes: &[u8]) -> Result<SmvFile> {
    let bad = |m: String| Error::input(path, None, m);
    if bytes.len() < 12 || &bytes[..12] != b"{\nHEADER_BYT" {
        return Err(bad(
            "does not look like an SMV (ADSC) image: it must start with \"{\\nHEADER_BYTES=\""
                .into(),
        ));
    }
    let first = &bytes[..bytes.len().min(512)];
    let as_text = |b: &[u8]| {
        let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    };
    let hs = value_of(&as_text(first), "HEADER_BYTES").unwrap_or(0.0);
    if !(1.0..=1e7).contains(&hs) || hs.fract() != 0.0 {
        return Err(bad(format!("invalid HEADER_BYTES value {}", fmt_g(hs))));
    }
    let header_size = hs as usize;
    if bytes.len() < header_size {
        return Err(bad(format!(
            "truncated: {} bytes, header alone is {header_size}",
            bytes.len()
        )));
    }
    let header = as_text(&bytes[..header_size]);
    let dim = |k: &str| value_of(&header, k);
    let mut width = dim("SIZE1");
    let mut height = dim("SIZE2");
    if width == Some(0.0) {
        let d = dim("DETECTOR_DIMENSIONS");
        width = d;
        height = d;
    }
    let (w, h) = match (width, height) {
        (Some(w), Some(h)) if w >= 1.0 && h >= 1.0 && w < 1e6 && h < 1e6 => (w as i32, h as i32),
        _ => return Err(bad("missing or invalid SIZE1/SIZE2 in the header".into())),
    };
    let n = w as usize * h as usize;
    if !header_size.is_multiple_of(2) {
        return Err(bad(format!("HEADER_BYTES={header_size} is odd")));
    }
    let need = header_size + 2 * n;
    if bytes.len() < need {
        return Err(bad(format!(
            "truncated: {} bytes, a {w}x{h} image with a {header_size}-byte header needs {need}",
            bytes.len()
        )));
    }
    let big = {
        let mut last = None;
        let mut from = 0;
        while let Some(p) = header[from..].find("BYTE_ORDER=") {
            from += p + 11;
            last = Some(from);
        }
        last.map(|p| header[p..].starts_with("big_endian"))
            .unwrap_or(false)
    };
    let pixels = bytes[header_size..need]
        .chunks_exact(2)
        .map(|c| {
            if big {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        })
        .collect();
    Ok(SmvFile {
        header,
        header_size,
        width: w,
        height: h,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> SmvHeader {
        SmvHeader {
            size1: 4,
            size2: 3,
            pixel_size: 0.1,
            distance: 100.0,
            wavelength: 1.0,
            beam_center_x: 6.45,
            beam_center_y: 6.45,
            adxv_center: [6.5, 6.3],
            mosflm_center: [6.45, 6.45],
            denzo_beam: [6.5, 6.5],
            dials_origin: [-6.5, 6.5, -100.0],
            xds_org: [65.5, 65.5],
            close_distance: 100.0,
            phi: 0.0,
            osc_start: 0.0,
            osc_range: 0.0,
            twotheta: 0.0,
        }
    }

    #[test]
    fn write_then_read_back() {
        let px: Vec<u16> = (0..12).map(|i| i * 1000).collect();
        let bytes = encode(&header(), &px);
        assert_eq!(bytes.len(), 512 + 24);
        assert_eq!(bytes[bytes.len() - 24..bytes.len() - 22], [0, 0]);
        let f = parse("a.img", &bytes).unwrap();
        assert_eq!((f.width, f.height, f.header_size), (4, 3, 512));
        assert_eq!(f.pixels, px);
        assert_eq!(f.value_of("PIXEL_SIZE"), Some(0.1));
        assert_eq!(f.value_of("WAVELENGTH"), Some(1.0));
        // last-occurrence substring rule: DISTANCE matches CLOSE_DISTANCE
        assert_eq!(f.value_of("DISTANCE"), Some(100.0));
        assert_eq!(f.value_of("ORGX"), Some(65.5));
        assert_eq!(f.value_of("NOSUCHKEY"), None);
    }

    #[test]
    fn last_occurrence_wins() {
        let h = "{\nHEADER_BYTES=512;\nDISTANCE=120.0;\nSAMPLE_DISTANCE=80.0;\nKEYONLY\n}";
        assert_eq!(value_of(h, "DISTANCE"), Some(80.0));
        assert_eq!(value_of(h, "KEYONLY"), Some(0.0));
    }

    #[test]
    fn big_endian_pixels_are_swapped() {
        let mut bytes =
            b"{\nHEADER_BYTES=512;\nBYTE_ORDER=big_endian;\nSIZE1=2;\nSIZE2=1;\n}".to_vec();
        bytes.resize(512, b' ');
        bytes.extend_from_slice(&[0x01, 0x02, 0x00, 0x05]);
        let f = parse("b.img", &bytes).unwrap();
        assert_eq!(f.pixels, vec![0x0102, 5]);
    }

    #[test]
    fn corrupt_files_are_errors() {
        let good = encode(&header(), &[0u16; 12]);
        let e = parse("t.img", &good[..600.min(good.len() - 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.img") && e.contains("truncated"), "{e}");
        let e = parse("t.img", b"P5\n4 3\n255\n").unwrap_err().to_string();
        assert!(e.contains("SMV"), "{e}");
        let mut nosize = b"{\nHEADER_BYTES=512;\n}".to_vec();
        nosize.resize(600, b' ');
        assert!(
            parse("t.img", &nosize)
                .unwrap_err()
                .to_string()
                .contains("SIZE1")
        );
        let mut huge = b"{\nHEADER_BYTES=99999999999;\n}".to_vec();
        huge.resize(600, b' ');
        assert!(parse("t.img", &huge).is_err());
    }
}
