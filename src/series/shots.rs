//! Shot lists (`-shots FILE`): one line per image, holding that image's own options as they
//! would be written on the command line (`-phi 12 -misset 10 20 30 -fluence 1e24 -N 7
//! -floatfile shot_a.bin`). Blank lines and `#` comments (whole lines, or from a word that
//! starts with `#`) are skipped; line k of the remaining lines is image k. Words are separated
//! by white space (file names cannot contain spaces).

use crate::error::{Error, Result};

/// One image's options and the file line they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shot {
    /// Line number in the file (from 1).
    pub line: usize,
    pub args: Vec<String>,
}

/// Read a shot list: one [`Shot`] per image, in order. Checks only the shape of each line
/// (the options themselves are checked by the series, which names the file and line).
pub fn read(path: &str) -> Result<Vec<Shot>> {
    let text = crate::io::read_text(path)?;
    parse(path, &text)
}

/// Parse a shot list's text (see [`read`]).
pub fn parse(path: &str, text: &str) -> Result<Vec<Shot>> {
    let mut shots = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let args: Vec<String> = line
            .split_whitespace()
            .take_while(|w| !w.starts_with('#'))
            .map(String::from)
            .collect();
        if args.is_empty() {
            continue;
        }
        if !args[0].starts_with('-') {
            return Err(Error::input(
                path,
                Some(n + 1),
                format!(
                    "'{}' is not an option (a line holds options such as -phi 10 -seed 3)",
                    crate::cfmt::clip(&args[0])
                ),
            ));
        }
        shots.push(Shot { line: n + 1, args });
    }
    if shots.is_empty() {
        return Err(Error::input(
            path,
            None,
            "no shots (every line is blank or a comment)",
        ));
    }
    Ok(shots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_errors() {
        let s = parse("s.txt", "# header\n-phi 1 -seed 2\n\n  -N 5 # five cells\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line, 2);
        assert_eq!(s[1].args, vec!["-N", "5"]);
        let e = parse("s.txt", "-phi 1\nphi 2\n").unwrap_err().to_string();
        assert!(e.starts_with("s.txt, line 2:"), "{e}");
        assert!(parse("s.txt", "\n# nothing\n").is_err());
    }
}
