//! C-compatible number formatting and parsing.
//!
//! nanoBragg.c prints with `printf` conversions (`%g`, `%f`, `%e`, `%.15g`, `%11.8f`, ...) and
//! reads numbers with `atof`/`atoi`/`strtod`. Reproducing its output text and its reading of
//! values needs faithful copies of those rules; Rust's own formatting is exact (correctly
//! rounded, ties to even on the exact binary value), which is what glibc does too, so the
//! conversions below only rearrange Rust's digits into C's layout.

/// `%.{prec}e` as C prints it: one digit, a point, `prec` digits, `e`, sign, at least two
/// exponent digits. `nan`/`-nan`/`inf`/`-inf` as glibc spells them.
pub fn fmt_e(x: f64, prec: usize) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let s = format!("{:.*e}", prec, x);
    let (mant, exp) = s.split_once('e').expect("rust exponent format");
    let exp: i32 = exp.parse().expect("rust exponent digits");
    format!(
        "{}e{}{:02}",
        mant,
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// `%.{prec}f` as C prints it (a negative zero keeps its sign, like glibc).
pub fn fmt_f(x: f64, prec: usize) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    format!("{:.*}", prec, x)
}

/// `%.{prec}g` as C prints it: `%e` or `%f` by the exponent rule, trailing zeros removed.
pub fn fmt_g_prec(x: f64, prec: usize) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let p = if prec == 0 { 1 } else { prec };
    // The exponent X is the one %e would print at precision p-1 (after rounding).
    let e_form = format!("{:.*e}", p - 1, x);
    let (mant, exp) = e_form.split_once('e').expect("rust exponent format");
    let exp: i64 = exp.parse().expect("rust exponent digits");
    if (p as i64) > exp && exp >= -4 {
        // %f with p-1-X decimals rounds at the same decimal place as the %e form (at X's place
        // less p-1; where the %e rounding carried into a new leading digit, the value rounds
        // to that power of ten at either place), so its digits are the mantissa's
        let (sign, digits) = match mant.strip_prefix('-') {
            Some(m) => ("-", m.replace('.', "")),
            None => ("", mant.replace('.', "")),
        };
        let f = if exp >= 0 {
            let (int, frac) = digits.split_at(exp as usize + 1);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        strip_zeros(f)
    } else {
        format!(
            "{}e{}{:02}",
            strip_zeros(mant.to_string()),
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

/// `%g` (six significant digits).
pub fn fmt_g(x: f64) -> String {
    fmt_g_prec(x, 6)
}

/// Right-align `s` in a field of `width` characters (`%11.8f`-style widths).
pub fn pad_left(s: &str, width: usize) -> String {
    format!("{:>width$}", s, width = width)
}

/// Left-align `s` in a field of `width` characters (`%-10s`).
pub fn pad_right(s: &str, width: usize) -> String {
    format!("{:<width$}", s, width = width)
}

/// A token quoted in a message, cut to at most [`CLIP`] characters ("abc… (1234 characters)"),
/// so a bad input line or argument never turns into a huge message.
pub fn clip(s: &str) -> String {
    let n = s.chars().count();
    if n <= CLIP {
        return s.to_string();
    }
    let head: String = s.chars().take(CLIP).collect();
    format!("{head}… ({n} characters)")
}

/// Characters of a quoted token kept by [`clip`].
pub const CLIP: usize = 80;

fn non_finite(x: f64) -> Option<String> {
    if x.is_nan() {
        Some(if x.is_sign_negative() { "-nan" } else { "nan" }.to_string())
    } else if x.is_infinite() {
        Some(if x < 0.0 { "-inf" } else { "inf" }.to_string())
    } else {
        None
    }
}

fn strip_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `strtod`: parses the longest numeric prefix of `s` (after leading white space).
/// Returns the value and the number of bytes consumed (0 when nothing numeric was found,
/// in which case the value is 0.0, as `atof` gives).
pub fn strtod(s: &str) -> (f64, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let start = i;
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let rest = &s[i..];
    let word = |w: &str| {
        rest.len() >= w.len() && rest.as_bytes()[..w.len()].eq_ignore_ascii_case(w.as_bytes())
    };
    let sign = |v: f64| if neg { -v } else { v };
    if word("infinity") {
        return (sign(f64::INFINITY), i + 8);
    }
    if word("inf") {
        return (sign(f64::INFINITY), i + 3);
    }
    if word("nan") {
        let mut j = i + 3;
        // optional "(n-char-sequence)"
        if j < b.len() && b[j] == b'(' {
            let mut k = j + 1;
            while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'_') {
                k += 1;
            }
            if k < b.len() && b[k] == b')' {
                j = k + 1;
            }
        }
        return (sign(f64::NAN), j);
    }
    if rest.len() >= 2 && (rest.starts_with("0x") || rest.starts_with("0X")) {
        if let Some((v, n)) = parse_hex(&b[i + 2..]) {
            return (sign(v), i + 2 + n);
        }
        // "0x" with no hex digits parses as the number 0 followed by junk "x".
        return (sign(0.0), i + 1);
    }
    // decimal: digits [. digits] [(e|E) [sign] digits]
    let mut j = i;
    let mut mant_digits = 0;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
        mant_digits += 1;
    }
    if j < b.len() && b[j] == b'.' {
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
            mant_digits += 1;
        }
    }
    if mant_digits == 0 {
        return (0.0, 0);
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        let mut k = j + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        let exp_start = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > exp_start {
            j = k;
        }
    }
    // The scanned prefix (sign, digits with at most one point, optional exponent with digits)
    // is exactly what Rust's correctly rounded parser accepts.
    let v: f64 = s[start..j].parse().unwrap_or(0.0);
    (v, j)
}

fn parse_hex(b: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let mut mant: u128 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut overflow_bits = 0i64;
    while i < b.len() && b[i].is_ascii_hexdigit() {
        let d = (b[i] as char).to_digit(16)? as u128;
        if mant < (1u128 << 120) {
            mant = mant * 16 + d;
        } else {
            overflow_bits += 4;
        }
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            let d = (b[i] as char).to_digit(16)? as u128;
            if mant < (1u128 << 120) {
                mant = mant * 16 + d;
                exp -= 4;
            }
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'p' || b[i] == b'P') {
        let mut k = i + 1;
        let mut eneg = false;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            eneg = b[k] == b'-';
            k += 1;
        }
        let s = k;
        let mut e: i64 = 0;
        while k < b.len() && b[k].is_ascii_digit() {
            e = (e * 10 + (b[k] - b'0') as i64).min(100_000);
            k += 1;
        }
        if k > s {
            exp += if eneg { -e } else { e };
            i = k;
        }
    }
    let v = (mant as f64) * 2f64.powi((exp + overflow_bits).clamp(-2000, 2000) as i32);
    Some((v, i))
}

/// C `atof`.
pub fn atof(s: &str) -> f64 {
    strtod(s).0
}

/// C `atoi` as glibc implements it: `(int) strtol(s, NULL, 10)`; `strtol` saturates at the
/// `long` range and the conversion to `int` keeps the low 32 bits.
pub fn atoi(s: &str) -> i32 {
    strtol(s).0 as i32
}

/// C `strtol(s, &end, 10)`: value (saturated to i64) and bytes consumed (0 if no digits).
pub fn strtol(s: &str) -> (i64, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let ds = i;
    let mut v: i128 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = (v * 10 + (b[i] - b'0') as i128).min(i128::from(i64::MAX) + 1);
        i += 1;
    }
    if i == ds {
        return (0, 0);
    }
    let v = if neg { -v } else { v };
    (v.clamp(i64::MIN as i128, i64::MAX as i128) as i64, i)
}

/// A strict number: the whole string (surrounding white space allowed) must be one C number.
pub fn parse_f64_strict(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return None;
    }
    let (v, n) = strtod(t);
    (n == t.len()).then_some(v)
}

/// A strict integer: the whole string must be a decimal integer that fits in `i32`.
pub fn parse_i32_strict(s: &str) -> Option<i32> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return None;
    }
    let (v, n) = strtol(t);
    (n == t.len())
        .then_some(v)
        .and_then(|v| i32::try_from(v).ok())
}

/// Convert a double to a C `int` the way x86-64 does (`cvttsd2si`): truncation toward zero,
/// and `INT_MIN` for NaN or out-of-range values (undefined behaviour in C, but this is what
/// the reference binary does).
pub fn c_int(x: f64) -> i32 {
    if x.is_nan() || x >= 2147483648.0 || x <= -2147483649.0 {
        i32::MIN
    } else {
        x as i32
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    #[test]
    fn g_format_matches_c() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (100.0, "100"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (6.2e-10, "6.2e-10"),
            (1.25932015286227086e29, "1.25932e+29"),
            (0.00645, "0.00645"),
            (-6.5, "-6.5"),
            (355.636_363_6, "355.636"),
            (0.999_999_9, "1"),
            (9.999_995, "10"),
            (f64::NAN, "nan"),
            (-f64::NAN, "-nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, want) in cases {
            assert_eq!(fmt_g(*x), *want, "value {x:e}");
        }
        assert_eq!(fmt_g_prec(0.97680000000000000, 15), "0.9768");
        assert_eq!(fmt_g_prec(9.768e-11, 15), "9.768e-11");
        assert_eq!(fmt_g_prec(1.0 / 3.0, 15), "0.333333333333333");
    }

    /// `%.{p}g` against the C library's own `snprintf`, over values of every magnitude the
    /// exponent rule switches between, halfway cases and random bit patterns.
    #[test]
    fn g_format_matches_snprintf() {
        let c_g = |x: f64, p: usize| {
            let mut buf = [0u8; 64];
            let fmt = std::ffi::CString::new(format!("%.{p}g")).unwrap();
            // SAFETY: the buffer's length is passed; the format takes one double
            let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), x) };
            String::from_utf8(buf[..n as usize].to_vec()).unwrap()
        };
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            2.5,
            9.5,
            99.5,
            0.000_099_995,
            999_999.5,
            1e-5,
            1e15,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() {
                values.push(x);
            }
            // values near the %e/%f switch and with few digits
            let e = (state % 40) as i32 - 12;
            values.push((state >> 40) as f64 / 1e4 * 10f64.powi(e));
        }
        for x in values {
            for p in [0, 1, 2, 6, 12, 15, 17] {
                assert_eq!(fmt_g_prec(x, p), c_g(x, p), "%.{p}g of {x:e}");
            }
        }
    }

    #[test]
    fn f_and_e_format_match_c() {
        assert_eq!(fmt_f(-0.0, 8), "-0.00000000");
        assert_eq!(fmt_f(100.0, 8), "100.00000000");
        assert_eq!(fmt_f(0.5, 0), "0");
        assert_eq!(fmt_f(1.5, 0), "2");
        assert_eq!(fmt_f(2.5, 0), "2");
        assert_eq!(fmt_e(12345.678, 3), "1.235e+04");
        assert_eq!(fmt_e(1e-300, 1), "1.0e-300");
        assert_eq!(pad_left(&fmt_f(0.01, 8), 11), " 0.01000000");
    }

    #[test]
    fn atof_takes_the_longest_prefix() {
        assert_eq!(atof("100"), 100.0);
        assert_eq!(atof("  -1.5e3xyz"), -1500.0);
        assert_eq!(atof("1e"), 1.0);
        assert_eq!(atof("1e+"), 1.0);
        assert_eq!(atof(".5"), 0.5);
        assert_eq!(atof("5."), 5.0);
        assert_eq!(atof("-.25"), -0.25);
        assert_eq!(atof("abc"), 0.0);
        assert_eq!(atof(""), 0.0);
        assert_eq!(atof("-lambda"), 0.0);
        assert!(atof("inf").is_infinite());
        assert!(atof("-Infinity").is_infinite());
        assert!(atof("nan").is_nan());
        assert_eq!(atof("0x10"), 16.0);
        assert_eq!(atof("0x1p-2"), 0.25);
        assert_eq!(atof("0.1"), 0.1);
        assert_eq!(
            atof("125932015286227086360700780544"),
            1.25932015286227086e29
        );
    }

    #[test]
    fn atoi_follows_strtol() {
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi(" -7x"), -7);
        assert_eq!(atoi("5.9"), 5);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("4294967297"), 1);
    }

    #[test]
    fn strict_parsers_reject_junk() {
        assert_eq!(parse_f64_strict(" 1.5 "), Some(1.5));
        assert_eq!(parse_f64_strict("1.5mm"), None);
        assert_eq!(parse_f64_strict(""), None);
        assert_eq!(parse_i32_strict("12"), Some(12));
        assert_eq!(parse_i32_strict("1.5"), None);
        assert_eq!(parse_i32_strict("99999999999"), None);
    }

    #[test]
    fn c_int_conversion() {
        assert_eq!(c_int(-2.0), -2);
        assert_eq!(c_int(2.9), 2);
        assert_eq!(c_int(f64::NAN), i32::MIN);
        assert_eq!(c_int(1e12), i32::MIN);
    }
}
