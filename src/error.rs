//! Errors: every failure the library can report, each with a one-line message.

use std::fmt;

/// Everything that can go wrong, classified so callers (the CLI, the C ABI) can map it.
#[derive(Debug)]
pub enum Error {
    /// A bad command line: unknown option, missing or non-numeric value, stray argument.
    Usage(String),
    /// An input file that cannot be read or is malformed. `line` is 1-based when known.
    Input {
        file: String,
        line: Option<usize>,
        msg: String,
    },
    /// An output file that cannot be written.
    Output { file: String, msg: String },
    /// Parameters that describe no possible experiment (zero pixels, zero wavelength, ...).
    Invalid(String),
    /// The CPU lacks the instruction set this build of the fast kernel needs.
    Cpu(String),
    /// The run would need more memory than it may use (see [`crate::memory`]).
    Memory(String),
    /// The caller stopped the render (an observer's `cancelled`, Ctrl-C).
    Cancelled,
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Error {
        Error::Usage(msg.into())
    }

    pub fn input(file: &str, line: Option<usize>, msg: impl Into<String>) -> Error {
        Error::Input {
            file: file.to_string(),
            line,
            msg: msg.into(),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub fn memory(msg: impl Into<String>) -> Error {
        Error::Memory(msg.into())
    }

    pub fn output(file: &str, msg: impl Into<String>) -> Error {
        Error::Output {
            file: file.to_string(),
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Error {
    /// One line, whatever the names and tokens it quotes: control characters are escaped and
    /// the message is cut at [`MAX_MESSAGE`] characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.raw_message();
        let mut out = String::with_capacity(text.len().min(MAX_MESSAGE + 16));
        for (n, c) in text.chars().enumerate() {
            if n == MAX_MESSAGE {
                out.push('…');
                break;
            }
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        f.write_str(&out)
    }
}

/// Longest message [`Error`] displays (characters).
pub const MAX_MESSAGE: usize = 1000;

impl Error {
    fn raw_message(&self) -> String {
        struct Raw<'a>(&'a Error);
        impl fmt::Display for Raw<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt_raw(f)
            }
        }
        Raw(self).to_string()
    }

    fn fmt_raw(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Input {
                file,
                line: Some(l),
                msg,
            } => write!(f, "{file}, line {l}: {msg}"),
            Error::Input {
                file,
                line: None,
                msg,
            } => write!(f, "{file}: {msg}"),
            Error::Output { file, msg } => write!(f, "cannot write {file}: {msg}"),
            Error::Invalid(m) => write!(f, "{m}"),
            Error::Cpu(m) | Error::Memory(m) => write!(f, "{m}"),
            Error::Cancelled => write!(f, "the render was cancelled"),
        }
    }
}

impl std::error::Error for Error {}

/// Library result type.
pub type Result<T> = std::result::Result<T, Error>;
