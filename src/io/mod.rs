//! File formats and safe writing.
//!
//! * [`smv`]: SMV (ADSC) images, written for `-intfile`/`-noisefile` and read for `-img`/`-mask`.
//! * [`pgm`]: 8-bit portable greymap.
//! * [`float`]: the raw float32 image.
//!
//! Every output goes through [`write_atomic`]: the bytes are written to a temporary file in the
//! destination folder and renamed over the destination only when complete, so a failed or
//! killed run never leaves a truncated file and never destroys an existing one.

pub mod float;
pub mod pgm;
pub mod smv;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<()> {
    let p = Path::new(path);
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = p
        .file_name()
        .ok_or_else(|| Error::output(path, "not a file name"))?
        .to_string_lossy()
        .to_string();
    let tmp = dir.join(format!(".{}.{}.tmp", name, std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, p)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::output(path, e.to_string()));
    }
    Ok(())
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
