//! Output-name patterns: printf-style `%d` and `%0Nd` (the image number, zero-padded to N
//! digits), `%%` for a percent sign.

use crate::error::{Error, Result};

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// The image number, zero-padded to this many digits (0: as it is).
    Number(usize),
}

/// A parsed output-name pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

/// Widest zero padding accepted (`%020d`).
const MAX_WIDTH: usize = 20;

impl Pattern {
    /// Parse `name`; `option` names it in errors. Every `%` must start `%d`, `%0Nd` or `%%`.
    pub fn parse(option: &str, name: &str) -> Result<Pattern> {
        let bad = |why: &str| {
            Error::usage(format!(
                "{option} {}: {why} (image numbers are written %d or %0Nd, e.g. img_%05d.bin; %% is a percent sign)",
                crate::cfmt::clip(name)
            ))
        };
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = name.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            let mut spec = String::new();
            while let Some(&d) = chars.peek() {
                if !d.is_ascii_digit() {
                    break;
                }
                spec.push(d);
                chars.next();
            }
            match chars.next() {
                Some('%') if spec.is_empty() => text.push('%'),
                Some('d') if spec.is_empty() || spec.starts_with('0') => {
                    let width = if spec.is_empty() {
                        0
                    } else {
                        spec[1..].parse::<usize>().unwrap_or(0)
                    };
                    if width > MAX_WIDTH {
                        return Err(bad("the padding is wider than 20 digits"));
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Number(width));
                }
                Some('d') => return Err(bad("only zero padding (%0Nd) is allowed")),
                _ => return Err(bad("a % that is not %d, %0Nd or %%")),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Pattern { pieces })
    }

    /// Whether the pattern holds the image number.
    pub fn has_number(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Number(_)))
    }

    /// The name of image `i`.
    pub fn format(&self, i: u64) -> String {
        let mut s = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => s.push_str(t),
                Piece::Number(w) => s.push_str(&format!("{i:0w$}")),
            }
        }
        s
    }

    /// The pattern with its image numbers replaced by `text` (for derived names).
    pub fn replace_number(&self, text: &str) -> String {
        let mut s = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => s.push_str(t),
                Piece::Number(_) => s.push_str(text),
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_percent_signs() {
        let p = Pattern::parse("-floatfile", "out/img_%05d.bin").unwrap();
        assert!(p.has_number());
        assert_eq!(p.format(7), "out/img_00007.bin");
        assert_eq!(p.format(123456), "out/img_123456.bin");
        let p = Pattern::parse("-intfile", "a%d_%%_%03d.img").unwrap();
        assert_eq!(p.format(4), "a4_%_004.img");
        let p = Pattern::parse("-intfile", "plain.img").unwrap();
        assert!(!p.has_number());
        assert_eq!(p.format(9), "plain.img");
    }

    #[test]
    fn bad_patterns_name_the_option() {
        for bad in ["a%s.bin", "a%5d.bin", "a%", "a%0x", "x%030d"] {
            let e = Pattern::parse("-floatfile", bad).unwrap_err().to_string();
            assert!(e.starts_with("-floatfile"), "{bad}: {e}");
        }
    }
}
