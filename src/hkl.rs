//! Structure factors: the HKL text file, the Fdump.bin cache, and the F grid.
//!
//! The grid covers h_min..=h_max (etc.) plus one extra zero plane per axis, exactly like the
//! reference's padded array, so the Fdump.bin layout (C order, h outer, l inner, little-endian
//! f64) can be written and read byte for byte.

use crate::error::{Error, Result};

/// Structure-factor grid with the reference's index ranges.
#[derive(Clone, Debug, PartialEq)]
pub struct HklGrid {
    /// Minimum and maximum h, k, l.
    pub min: [i32; 3],
    pub max: [i32; 3],
    /// max − min + 1 per axis (the stored array has one more plane per axis).
    pub range: [i32; 3],
    /// (range+1)³ values, h outer, l inner; shared (an image of a series, or a variation of a
    /// prepared experiment, refers to the same values).
    pub data: std::sync::Arc<Vec<f64>>,
    /// Number of "initialized" reflections the reference reports (entries read from the HKL
    /// file, or h_range·k_range·l_range for a dump file). Zero means no grid.
    pub hkls: usize,
}

impl HklGrid {
    fn alloc(min: [i32; 3], max: [i32; 3]) -> Result<HklGrid> {
        let too_large =
            || Error::invalid(format!("HKL index ranges {min:?}..{max:?} are too large"));
        // in i64: the difference of two i32 indices can overflow i32
        let mut range = [0i32; 3];
        for k in 0..3 {
            range[k] = i32::try_from(max[k] as i64 - min[k] as i64 + 1).map_err(|_| too_large())?;
        }
        let n = range
            .iter()
            .try_fold(1usize, |acc, r| {
                usize::try_from(*r + 1)
                    .ok()
                    .and_then(|r| acc.checked_mul(r))
            })
            .filter(|n| *n <= (1usize << 31))
            .ok_or_else(too_large)?;
        // checked before anything is allocated
        crate::memory::refuse_beyond(crate::memory::grid_bytes(&range), |need, have| {
            format!(
                "HKL index ranges {min:?}..{max:?} need a structure-factor grid of {need}, more than the {have}"
            )
        })?;
        Ok(HklGrid {
            min,
            max,
            range,
            data: std::sync::Arc::new(vec![0.0; n]),
            hkls: 0,
        })
    }

    /// Whether a value within the index ranges is 0 (the padding planes are not looked at).
    pub fn has_zero(&self) -> bool {
        let [rh, rk, rl] = self.range;
        (0..rh).any(|h| (0..rk).any(|k| (0..rl).any(|l| self.at(h, k, l) == 0.0)))
    }

    /// Index into `data` of grid offsets (h − h_min, k − k_min, l − l_min).
    #[inline(always)]
    pub fn index(&self, dh: i32, dk: i32, dl: i32) -> usize {
        ((dh as usize) * (self.range[1] as usize + 1) + dk as usize) * (self.range[2] as usize + 1)
            + dl as usize
    }

    /// The values, to fill a grid that is not shared yet (a copy when it is).
    pub fn data_mut(&mut self) -> &mut Vec<f64> {
        std::sync::Arc::make_mut(&mut self.data)
    }

    /// Value at grid offsets.
    #[inline(always)]
    pub fn at(&self, dh: i32, dk: i32, dl: i32) -> f64 {
        self.data[self.index(dh, dk, dl)]
    }

    /// Dump-file bytes: ASCII ranges, "\n\x0c", then the padded array as little-endian f64.
    pub fn to_fdump(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.data.len() * 8);
        self.write_fdump(&mut out).expect("writing to memory");
        out
    }

    /// Write the grid as Fdump.bin (see [`HklGrid::to_fdump`]) without a copy of it in memory.
    pub fn write_fdump(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        write!(
            w,
            "{} {} {} {} {} {}\n\x0c",
            self.min[0], self.max[0], self.min[1], self.max[1], self.min[2], self.max[2]
        )?;
        for chunk in self.data.chunks(8192) {
            let mut buf = [0u8; 8 * 8192];
            for (b, v) in buf.chunks_exact_mut(8).zip(chunk) {
                b.copy_from_slice(&v.to_le_bytes());
            }
            w.write_all(&buf[..8 * chunk.len()])?;
        }
        Ok(())
    }
}

/// Read an HKL text file: one reflection per line, `h k l F`, whitespace separated; blank and
/// `#` comment lines allowed. `default_f` fills the unlisted (non-padding) grid points when
/// non-zero. Non-integer indices, indices beyond ±10^6, wrong column counts and non-numbers are
/// errors naming the line.
pub fn read_hkl_text(path: &str, text: &str, default_f: f64) -> Result<HklGrid> {
    Ok(read_hkl(path, text, default_f, HklRead::Exact)?.grid)
}

/// How to read an HKL file's structure factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HklRead {
    /// Every reflection as written.
    Exact,
    /// As nanoBragg.c's second reading pass does (`"%d%d%d%lg"` groups): a Miller index
    /// written as "1.0" stops it, so that reflection and every later one keep their initial
    /// value (see [`HklText::stopped`]). The ranges come from every reflection either way.
    Reference,
}

/// An HKL file read into a grid.
#[derive(Clone, Debug)]
pub struct HklText {
    pub grid: HklGrid,
    /// In [`HklRead::Reference`] mode, where the second reading pass stopped early: the line
    /// and the index token that stopped it.
    pub stopped: Option<(usize, String)>,
}

/// HKL text of this many bytes or more is read in two halves on two threads; smaller files
/// on the calling thread, where handing half over and joining the entry lists cost more than
/// they save. Measured per run, medians of alternating runs on two threads of a 2-core Xeon VM:
/// the mosaic benchmark's 400 kB file 9.05 -> 8.72 ms for the whole run, a 1.8 MB file
/// 7.82 -> 7.68 ms (a 64x64 image). (On a 2-core AMD EPYC VM, when the second worker was often
/// busy mapping the image buffer ahead, a 1.8 MB file had taken 2.85 ms in halves, 2.46 ms on
/// one thread; that worker now maps only images of 2 MiB or more, see `spare`.)
const SPLIT_TEXT: usize = 256 << 10;

/// Read an HKL text file (see [`read_hkl_text`]) in the given mode.
pub fn read_hkl(path: &str, text: &str, default_f: f64, mode: HklRead) -> Result<HklText> {
    // large files are read in two halves in parallel (split at a line end); the first error
    // in file order wins
    let mid = text.len() / 2;
    let cut = if text.len() >= SPLIT_TEXT && crate::pool::get(None)?.current_num_threads() > 1 {
        text.as_bytes()[mid..].iter().position(|&c| c == b'\n')
    } else {
        None
    };
    let lines = match cut {
        Some(cut) => {
            let (a, b) = text.split_at(mid + cut + 1);
            let (ra, rb) = crate::pool::install(|| {
                rayon::join(|| hkl_lines(path, a, 0), || hkl_lines(path, b, 0))
            })?;
            let mut first = ra?;
            match rb {
                Ok(more) => {
                    first.entries.extend(more.entries);
                    if first.loose.is_none() {
                        let before = a.bytes().filter(|&c| c == b'\n').count();
                        first.loose = more.loose.map(|(n, t)| (n + before, t));
                    }
                }
                Err(e) => {
                    // read the second half again knowing its first line number, for the message
                    let before = a.bytes().filter(|&c| c == b'\n').count();
                    return Err(hkl_lines(path, b, before).err().unwrap_or(e));
                }
            }
            first
        }
        _ => hkl_lines(path, text, 0)?,
    };
    let (entries, loose) = (lines.entries, lines.loose);
    if entries.is_empty() {
        return Err(Error::input(
            path,
            None,
            "no reflections (h k l F lines) found",
        ));
    }
    let mut min = [i32::MAX; 3];
    let mut max = [i32::MIN; 3];
    for (idx, _) in &entries {
        for k in 0..3 {
            min[k] = min[k].min(idx[k]);
            max[k] = max[k].max(idx[k]);
        }
    }
    let mut g = HklGrid::alloc(min, max)?;
    // (offsets computed beside the values borrowed once: `data_mut` checks the sharing)
    let [r0, r1, r2] = g.range.map(|r| r as usize);
    let at = move |dh: usize, dk: usize, dl: usize| (dh * (r1 + 1) + dk) * (r2 + 1) + dl;
    let data = g.data_mut();
    if default_f != 0.0 {
        for h in 0..r0 {
            for k in 0..r1 {
                data[at(h, k, 0)..at(h, k, r2)].fill(default_f);
            }
        }
    }
    let scanned;
    let stored: &[([i32; 3], f64)] = match (mode, &loose) {
        (HklRead::Reference, Some(_)) => {
            scanned = scanf_groups(text);
            &scanned
        }
        _ => &entries,
    };
    for (idx, f) in stored {
        if (0..3).any(|k| idx[k] < min[k] || idx[k] > max[k]) {
            break; // nanoBragg.c would write outside its array here
        }
        let d = [0, 1, 2].map(|k| (idx[k] - min[k]) as usize);
        data[at(d[0], d[1], d[2])] = *f;
    }
    g.hkls = entries.len();
    let stopped = match mode {
        HklRead::Reference => loose,
        HklRead::Exact => None,
    };
    Ok(HklText { grid: g, stopped })
}

/// The groups nanoBragg.c's second pass reads: `fscanf(f, "%d%d%d%lg", ...)` repeated until it
/// reads fewer than four values ("1.0" as h gives 1, then ".0" fails the next `%d`). Comment
/// lines, this program's extension, are skipped.
fn scanf_groups(text: &str) -> Vec<([i32; 3], f64)> {
    let cleaned: String = text
        .split('\n')
        .map(|l| {
            if l.trim_start().starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let b = cleaned.as_bytes();
    let mut p = 0;
    let skip_ws = |p: &mut usize| {
        while *p < b.len() && b[*p].is_ascii_whitespace() {
            *p += 1;
        }
    };
    let int = |p: &mut usize| -> Option<i32> {
        skip_ws(p);
        let (v, n) = crate::cfmt::strtol(&cleaned[*p..]);
        (n > 0).then(|| {
            *p += n;
            v as i32
        })
    };
    let mut out = Vec::new();
    // the three indices are read left to right, as scanf does
    while let (Some(h), Some(k), Some(l)) = (int(&mut p), int(&mut p), int(&mut p)) {
        skip_ws(&mut p);
        let (f, n) = crate::cfmt::strtod(&cleaned[p..]);
        if n == 0 {
            break;
        }
        p += n;
        out.push(([h, k, l], f));
    }
    out
}

/// The reflections of `text` (lines numbered from `first_line` + 1 in messages), and the first
/// Miller index written as a whole number in another form than digits ("1.0"), with its line.
fn hkl_lines(path: &str, text: &str, first_line: usize) -> Result<Lines> {
    let mut entries: Vec<([i32; 3], f64)> = Vec::with_capacity(text.len() / 24);
    let mut loose: Option<(usize, String)> = None;
    // one pass over the bytes: the common line is parsed up to its newline (no separate search
    // for line ends); any other line is cut out and read by the general path
    let b = text.as_bytes();
    let (mut pos, mut n) = (0, 0);
    loop {
        let (entry, end) = match quick_line(&b[pos..]) {
            Some((e, len)) => (Some(e), pos + len),
            None => {
                let end = b[pos..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |i| pos + i);
                let line = &text[pos..end];
                (
                    general_line(path, line, first_line + n + 1, &mut loose)?,
                    end,
                )
            }
        };
        entries.extend(entry);
        if end == b.len() {
            break;
        }
        pos = end + 1;
        n += 1;
    }
    Ok(Lines { entries, loose })
}

/// A line of an HKL file that is not the common form: blank or a comment (`None`), or four
/// columns read in full; `loose` records the first index written in another form than digits.
fn general_line(
    path: &str,
    line: &str,
    lineno: usize,
    loose: &mut Option<(usize, String)>,
) -> Result<Option<([i32; 3], f64)>> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let mut fields = t.split_ascii_whitespace();
    let mut cols: [&str; 4] = [""; 4];
    let mut count = 0;
    for f in fields.by_ref().take(4) {
        cols[count] = f;
        count += 1;
    }
    let extra = fields.count();
    if count != 4 || extra != 0 {
        return Err(Error::input(
            path,
            Some(lineno),
            format!("expected 4 columns (h k l F), found {}", count + extra),
        ));
    }
    let mut idx = [0i32; 3];
    for k in 0..3 {
        // integers are the common spelling; anything else must still be a whole number
        idx[k] = match cols[k].parse::<i32>() {
            Ok(v) if (-MAX_INDEX..=MAX_INDEX).contains(&v) => v,
            _ => {
                let v = crate::cfmt::parse_f64_strict(cols[k]).ok_or_else(|| {
                    Error::input(
                        path,
                        Some(lineno),
                        format!("'{}' is not a number", crate::cfmt::clip(cols[k])),
                    )
                })?;
                if loose.is_none() && v == v.round() {
                    *loose = Some((lineno, cols[k].to_string()));
                }
                let problem = if v != v.round() {
                    Some("is not an integer".to_string())
                } else if v.abs() > MAX_INDEX as f64 {
                    Some(format!("is out of range (at most {MAX_INDEX} in size)"))
                } else {
                    None
                };
                if let Some(p) = problem {
                    return Err(Error::input(
                        path,
                        Some(lineno),
                        format!("Miller index '{}' {p}", crate::cfmt::clip(cols[k])),
                    ));
                }
                v as i32
            }
        };
    }
    let f = crate::cfmt::parse_f64_strict(cols[3])
        .filter(|f| f.is_finite())
        .ok_or_else(|| {
            Error::input(
                path,
                Some(lineno),
                format!("'{}' is not a finite number", crate::cfmt::clip(cols[3])),
            )
        })?;
    if f.abs() > crate::setup::MAX_F {
        return Err(Error::input(
            path,
            Some(lineno),
            format!(
                "F = {} is out of range (|F| at most {}, so that F squared is finite)",
                crate::cfmt::fmt_g(f),
                crate::cfmt::fmt_g(crate::setup::MAX_F)
            ),
        ));
    }
    Ok(Some((idx, f)))
}

/// Largest |h|, |k|, |l| an HKL file may give (larger indices are refused by both paths).
const MAX_INDEX: i32 = 1_000_000;

/// What [`hkl_lines`] reads.
struct Lines {
    entries: Vec<([i32; 3], f64)>,
    loose: Option<(usize, String)>,
}

/// The common line "h k l F" (three integers, then a plain decimal such as 92.274) at the
/// start of `b`, parsed without allocation, and the length of the line (to its newline or the
/// end of `b`); `None` for anything else (then the general path reads or rejects the line).
/// The decimal uses the exact fast path of correctly rounded parsing: an integer mantissa
/// below 2^53 divided by an exact power of ten (at most 10^22).
#[inline]
fn quick_line(b: &[u8]) -> Option<(([i32; 3], f64), usize)> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let mut i = 0;
    let blank = |c: u8| c == b' ' || c == b'\t' || c == b'\r';
    let mut idx = [0i32; 3];
    for v in idx.iter_mut() {
        while i < b.len() && blank(b[i]) {
            i += 1;
        }
        let neg = i < b.len() && b[i] == b'-';
        if neg || (i < b.len() && b[i] == b'+') {
            i += 1;
        }
        let start = i;
        let mut x: i32 = 0;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 7 {
            x = x * 10 + (b[i] - b'0') as i32;
            i += 1;
        }
        // (a larger index goes to the general path, which refuses it)
        if i == start || i >= b.len() || !blank(b[i]) || x > MAX_INDEX {
            return None;
        }
        *v = if neg { -x } else { x };
    }
    while i < b.len() && blank(b[i]) {
        i += 1;
    }
    let neg = i < b.len() && b[i] == b'-';
    if neg || (i < b.len() && b[i] == b'+') {
        i += 1;
    }
    let (mut m, mut digits, mut frac, mut point) = (0u64, 0, 0, false);
    while i < b.len() {
        match b[i] {
            // more than 15 digits: not exact in this path (and m would overflow)
            b'0'..=b'9' if digits == 15 => return None,
            c @ b'0'..=b'9' => {
                m = m * 10 + (c - b'0') as u64;
                digits += 1;
                frac += usize::from(point);
            }
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    while i < b.len() && blank(b[i]) {
        i += 1;
    }
    if (i < b.len() && b[i] != b'\n') || digits == 0 || digits > 15 || frac > 22 {
        return None;
    }
    let v = m as f64 / POW10[frac];
    Some(((idx, if neg { -v } else { v }), i))
}

/// How to treat white-space bytes at the start of an Fdump.bin array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdumpRead {
    /// As the reference: the header's format skips every white-space byte after the ranges,
    /// including leading bytes of the binary data that happen to be white space.
    Reference,
    /// Data start right after "\n\x0c".
    Exact,
}

/// Result of reading a dump file.
#[derive(Clone, Debug)]
pub struct Fdump {
    pub grid: HklGrid,
    /// Bytes of binary data swallowed by the reference's header format (0 normally).
    pub swallowed: usize,
}

/// Read an Fdump.bin file (the reference's own cache format).
pub fn read_fdump(path: &str, bytes: &[u8], mode: FdumpRead) -> Result<Fdump> {
    let bad = |m: &str| Error::input(path, None, format!("not a valid Fdump file: {m}"));
    // six integers separated by white space
    let mut pos = 0;
    let mut vals = [0i32; 6];
    for v in vals.iter_mut() {
        while pos < bytes.len() && is_space(bytes[pos]) {
            pos += 1;
        }
        let start = pos;
        if pos < bytes.len() && (bytes[pos] == b'-' || bytes[pos] == b'+') {
            pos += 1;
        }
        let ds = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == ds || pos - start > 11 {
            return Err(bad("header does not start with six integers"));
        }
        let s = std::str::from_utf8(&bytes[start..pos]).map_err(|_| bad("header"))?;
        *v = s.parse().map_err(|_| bad("header integer out of range"))?;
    }
    let min = [vals[0], vals[2], vals[4]];
    let max = [vals[1], vals[3], vals[5]];
    if (0..3).any(|k| max[k] < min[k]) {
        return Err(bad("index ranges are empty"));
    }
    // the writer puts exactly "\n\x0c" after the ranges
    let exact_start = if bytes.get(pos..pos + 2) == Some(b"\n\x0c") {
        pos + 2
    } else {
        return Err(bad("missing newline/form feed after the index ranges"));
    };
    let mut ws_end = pos;
    while ws_end < bytes.len() && is_space(bytes[ws_end]) {
        ws_end += 1;
    }
    // the array's size from the ranges (one padding plane per axis), checked against the file
    // before the grid is allocated
    let need = (0..3)
        .map(|k| (max[k] as i64 - min[k] as i64 + 2) as u128)
        .product::<u128>()
        * 8;
    let avail = (bytes.len() - exact_start) as u128;
    if avail < need {
        return Err(bad(&format!(
            "truncated: {} bytes of data, expected {need}",
            avail
        )));
    }
    if avail > need {
        return Err(bad(&format!(
            "{} unexpected bytes after the data",
            avail - need
        )));
    }
    let mut grid = HklGrid::alloc(min, max)?;
    let (start, swallowed) = match mode {
        FdumpRead::Exact => (exact_start, 0),
        FdumpRead::Reference => (ws_end, ws_end - exact_start),
    };
    let data = &bytes[start..];
    // A short final read (after swallowed bytes) leaves the rest zero, byte by byte.
    for (i, v) in grid.data_mut().iter_mut().enumerate() {
        let lo = (i * 8).min(data.len());
        let hi = (i * 8 + 8).min(data.len());
        let mut b = [0u8; 8];
        b[..hi - lo].copy_from_slice(&data[lo..hi]);
        *v = f64::from_le_bytes(b);
    }
    if let Some(i) = grid
        .data
        .iter()
        .position(|v| !v.is_finite() || v.abs() > crate::setup::MAX_F)
    {
        let d = grid.range.map(|r| (r + 1) as usize);
        let hkl = [
            grid.min[0] as i64 + (i / (d[1] * d[2])) as i64,
            grid.min[1] as i64 + (i / d[2] % d[1]) as i64,
            grid.min[2] as i64 + (i % d[2]) as i64,
        ];
        return Err(bad(&format!(
            "the structure factor of {} {} {} (value {} of the file) is {}: the file is damaged",
            hkl[0],
            hkl[1],
            hkl[2],
            i + 1,
            crate::cfmt::fmt_g(grid.data[i])
        )));
    }
    grid.hkls = (grid.range[0] as usize) * (grid.range[1] as usize) * (grid.range[2] as usize);
    Ok(Fdump { grid, swallowed })
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_counts_within_the_index_ranges_only() {
        let mut g = HklGrid::alloc([-1, 0, 0], [1, 1, 2]).expect("grid");
        // every value nonzero, then a zero in the padding planes (never looked up)
        g.data_mut().iter_mut().for_each(|v| *v = 7.0);
        let pad = g.index(3, 0, 0);
        g.data_mut()[pad] = 0.0;
        assert!(!g.has_zero());
        // a zero at the last reachable (h, k, l)
        let last = g.index(2, 1, 2);
        g.data_mut()[last] = 0.0;
        assert!(g.has_zero());
    }

    #[test]
    fn long_decimals_leave_the_quick_path_and_read_like_strtod() {
        // 15 digits: exact in the quick path; more: the general path (no overflow on the way)
        for f in [
            "123456789012.345",
            "1234567890123.4567",
            "12345678901234567890123.5",
            "0.000000000000000000000000001",
        ] {
            let line = format!("1 -2 3 {f}");
            let want: f64 = f.parse().unwrap();
            match quick_line(line.as_bytes()) {
                Some(((idx, v), len)) => {
                    assert_eq!(idx, [1, -2, 3]);
                    assert_eq!(v.to_bits(), want.to_bits(), "{f}");
                    assert_eq!(len, line.len());
                }
                None => assert!(f.len() > 16, "{f}"),
            }
            let g = read_hkl_text("t.hkl", &format!("{line}\n"), 0.0).unwrap();
            assert_eq!(g.at(0, 0, 0).to_bits(), want.to_bits(), "{f}");
        }
    }

    /// Where nanoBragg.c's second reading pass of `text` stops: the line and the index token.
    fn stopped(text: &str) -> Option<(usize, String)> {
        read_hkl("t.hkl", text, 0.0, HklRead::Reference)
            .unwrap()
            .stopped
    }

    #[test]
    fn halves_read_on_two_threads_as_the_whole_on_one() {
        // a text just past the split size, with a comment, a general-path line and a
        // "1.0" index in the second half
        let mut text = String::from("# first\n");
        let mut i = 0usize;
        while text.len() < SPLIT_TEXT + 100 {
            let f = (i % 997) as f64 * 0.125;
            text.push_str(&format!("{} {} {} {f}\n", i % 40, (i / 40) % 40, i / 1600));
            i += 1;
        }
        text.push_str("# late\n  3 3 3 1e2\n1.0 1 1 2\n");
        let read = |threads, t: &str| {
            crate::pool::with_threads(threads, || read_hkl("t.hkl", t, 0.0, HklRead::Reference))
        };
        let (one, two) = (read(1, &text).unwrap(), read(2, &text).unwrap());
        assert_eq!(one.grid, two.grid);
        assert_eq!(one.stopped, two.stopped);
        let lines = text.lines().count();
        assert_eq!(two.stopped, Some((lines, "1.0".to_string())));
        // errors: the first in file order, with the file's line numbers
        let late = text.replacen("\n  3 3 3 1e2\n", "\n  3 3 3 x\n", 1);
        for threads in [1, 2] {
            let e = read(threads, &late).unwrap_err().to_string();
            assert!(e.contains(&format!("t.hkl, line {}:", lines - 1)), "{e}");
        }
        let both = late.replacen("\n1 0 0 0.125\n", "\n1 0 0 y\n", 1);
        let e = read(2, &both).unwrap_err().to_string();
        assert!(e.contains("t.hkl, line 3:") && e.contains("'y'"), "{e}");
    }

    #[test]
    fn one_pass_reading_keeps_lines_and_their_numbers() {
        // quick lines (LF, CRLF, trailing blanks), blank and comment lines, general-path lines
        // ("1.0", exponents) and a last line without a newline, in one text
        let text = "1 2 3 4.5\r\n  \n# c\n-1 0 2 7 \n1.0 0 0 2\n\t0 0 1 3e1\n2 2 2 0.25";
        let r = read_hkl("t.hkl", text, 0.0, HklRead::Exact).unwrap();
        let g = &r.grid;
        assert_eq!(g.hkls, 5);
        for (h, f) in [
            ([1, 2, 3], 4.5),
            ([-1, 0, 2], 7.0),
            ([1, 0, 0], 2.0),
            ([0, 0, 1], 30.0),
            ([2, 2, 2], 0.25),
        ] {
            let i = g.index(h[0] - g.min[0], h[1] - g.min[1], h[2] - g.min[2]);
            assert_eq!(g.data[i], f, "{h:?}");
        }
        // the first index in another spelling than digits, with its line number
        assert_eq!(stopped(text), Some((5, "1.0".to_string())));
        // an error after quick, blank and CRLF lines names the right line
        let e = read_hkl_text("t.hkl", "1 2 3 4\r\n\n  \n5 6 7 8\n1 2 3\n", 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.hkl, line 5") && e.contains("found 3"), "{e}");
        // a quick line ends at its newline: the next line is not read into it; CR and trailing
        // blanks stay in the quick path
        assert_eq!(quick_line(b"1 2 3 4\n5"), Some((([1, 2, 3], 4.0), 7)));
        assert_eq!(quick_line(b"1 2 3 4.5\r\n"), Some((([1, 2, 3], 4.5), 10)));
        assert_eq!(quick_line(b"-1 0 2 7 \n"), Some((([-1, 0, 2], 7.0), 9)));
        assert_eq!(quick_line(b"1 2 3\n4"), None);
    }

    #[test]
    fn grid_layout_and_default_fill() {
        let g = read_hkl_text("t.hkl", "0 0 0 5\n1 -1 2 7.5\n# comment\n\n", 3.0).unwrap();
        assert_eq!(g.min, [0, -1, 0]);
        assert_eq!(g.max, [1, 0, 2]);
        assert_eq!(g.range, [2, 2, 3]);
        assert_eq!(g.data.len(), 3 * 3 * 4);
        assert_eq!(g.at(0, 1, 0), 5.0);
        assert_eq!(g.at(1, 0, 2), 7.5);
        assert_eq!(g.at(1, 1, 1), 3.0);
        // padding planes stay zero
        assert_eq!(g.at(2, 0, 0), 0.0);
        assert_eq!(g.at(0, 2, 0), 0.0);
        assert_eq!(g.at(0, 0, 3), 0.0);
        assert_eq!(g.hkls, 2);
    }

    #[test]
    fn fdump_round_trip() {
        let g = read_hkl_text("t.hkl", "-2 0 1 1.5\n3 4 5 -2.25\n", 0.0).unwrap();
        let bytes = g.to_fdump();
        assert!(bytes.starts_with(b"-2 3 0 4 1 5\n\x0c"));
        assert_eq!(bytes.len(), 14 + 8 * 7 * 6 * 6);
        let back = read_fdump("Fdump.bin", &bytes, FdumpRead::Exact).unwrap();
        assert_eq!(back.grid.data, g.data);
        assert_eq!(back.grid.hkls, 6 * 5 * 5);
    }

    #[test]
    fn fdump_whitespace_swallowing_like_the_reference() {
        // first value's first byte is 0x20 (a space)
        let first = 1.0 + 32.0 * f64::EPSILON;
        assert_eq!(first.to_le_bytes()[0], 0x20);
        let g = read_hkl_text("t.hkl", &format!("0 0 0 {first:e}\n0 0 1 2\n"), 0.0).unwrap();
        let bytes = g.to_fdump();
        let r = read_fdump("F", &bytes, FdumpRead::Reference).unwrap();
        assert_eq!(r.swallowed, 1);
        assert_ne!(r.grid.data, g.data);
        let e = read_fdump("F", &bytes, FdumpRead::Exact).unwrap();
        assert_eq!(e.grid.data, g.data);
    }

    #[test]
    fn bad_inputs_are_errors_with_lines() {
        let e = read_hkl_text("x.hkl", "1 2 3 4\n1 2 3 4 5\n", 0.0)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.hkl, line 2") && e.contains("4 columns"),
            "{e}"
        );
        let e = read_hkl_text("x.hkl", "1 2.5 3 4\n", 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("integer"), "{e}");
        let e = read_hkl_text("x.hkl", "1 2 3 abc\n", 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("abc"), "{e}");
        assert!(read_hkl_text("x.hkl", "\n# only comments\n", 0.0).is_err());
        let g = read_hkl_text("t.hkl", "0 0 0 1\n", 0.0).unwrap();
        let mut b = g.to_fdump();
        b.truncate(b.len() - 3);
        let e = read_fdump("F.bin", &b, FdumpRead::Reference)
            .unwrap_err()
            .to_string();
        assert!(e.contains("F.bin") && e.contains("truncated"), "{e}");
        assert!(read_fdump("F.bin", b"garbage", FdumpRead::Reference).is_err());
        assert!(read_fdump("F.bin", b"", FdumpRead::Reference).is_err());
        // ranges whose width overflows 32 bits, and huge ranges over a short file: errors,
        // decided before any grid is allocated
        let e = read_fdump(
            "F.bin",
            b"-2147483648 2147483647 0 0 0 0\n\x0c",
            FdumpRead::Reference,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = read_fdump("F.bin", b"0 5000 0 5000 0 5000\n\x0c", FdumpRead::Exact)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated") && e.contains("expected 1001200480064"),
            "{e}"
        );
        // indices beyond a million: refused as such, however they are spelled
        for line in [
            "2000000 0 0 1",
            "0 -1000001 0 1",
            "0 0 2000000.0 1",
            "0 0 3e6 1",
            "-2147483648 0 0 1",
        ] {
            let e = read_hkl_text("x.hkl", &format!("1 1 1 1\n{line}\n"), 0.0)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("line 2") && e.contains("out of range"),
                "{line}: {e}"
            );
        }
        let g = read_hkl_text("x.hkl", "1000000 0 0 1\n999999 0 0 1\n", 0.0).unwrap();
        assert_eq!((g.min[0], g.range[0]), (999_999, 2));
        // the limit itself through the general path (an F with an exponent, an index "1000000.0"):
        // read, and only the second spelling is a loose index
        let g = read_hkl_text("x.hkl", "-1000000 0 0 1e0\n-999999 0 0 2\n", 0.0).unwrap();
        assert_eq!((g.min[0], g.range[0]), (-1_000_000, 2));
        let text = "999999 0 0 1\n1000000.0 0 0 2\n";
        let r = read_hkl("x.hkl", text, 0.0, HklRead::Exact).unwrap();
        assert_eq!((r.grid.min[0], r.grid.max[0]), (999_999, 1_000_000));
        assert_eq!(stopped(text), Some((2, "1000000.0".to_string())));
        let e = read_hkl_text("x.hkl", "-1000000 0 0 1\n1000000 0 0 1\n0 -1000000 0 1\n0 1000000 0 1\n0 0 -1000000 1\n0 0 1000000 1\n", 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("too large"), "{e}");
    }
}
