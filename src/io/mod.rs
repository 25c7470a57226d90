//! File formats and safe writing.
//!
//! * [`smv`]: SMV (ADSC) images, written for `-intfile`/`-noisefile` and read for `-img`/`-mask`.
//! * [`pgm`]: 8-bit portable greymap.
//! * [`float`]: the raw float32 image.
//! * [`png`]: the 8-bit preview (`-pngfile`).
//!
//! Every output goes through [`Staged`]: the bytes are written to a temporary file in the
//! destination folder and renamed over the destination only when complete, so a failed or
//! killed run never leaves a truncated file and never destroys an existing one.

pub mod float;
pub mod pgm;
pub mod png;
pub mod smv;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A complete output waiting in a temporary file beside its destination. [`Staged::commit`]
/// renames it into place; dropped uncommitted, the temporary file is removed.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    dest: String,
    committed: bool,
}

impl Staged {
    /// Write `parts` (concatenated) to a new temporary file in `path`'s folder.
    pub fn write(path: &str, parts: &[&[u8]]) -> Result<Staged> {
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let p = Path::new(path);
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = p
            .file_name()
            .ok_or_else(|| Error::output(path, "not a file name"))?
            .to_string_lossy()
            .to_string();
        let tmp = dir.join(format!(
            ".{}.{}-{}.tmp",
            name,
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        let staged = Staged {
            tmp,
            dest: path.to_string(),
            committed: false,
        };
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&staged.tmp)?;
            for part in parts {
                f.write_all(part)?;
            }
            Ok(())
        })();
        result.map_err(|e| Error::output(path, e.to_string()))?;
        Ok(staged)
    }

    /// Rename the temporary file over the destination.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| Error::output(&self.dest, e.to_string()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<()> {
    Staged::write(path, &[bytes])?.commit()
}

/// Read a whole input file, with an error naming it.
pub fn read_file(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::input(path, None, format!("cannot read: {e}")))
}

/// Read a whole text input file.
pub fn read_text(path: &str) -> Result<String> {
    let b = read_file(path)?;
    String::from_utf8(b).map_err(|_| Error::input(path, None, "not a text file (invalid UTF-8)"))
}
