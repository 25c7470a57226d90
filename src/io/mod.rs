//! File formats and safe writing.
//!
//! * [`smv`]: SMV (ADSC) images, written for `-intfile`/`-noisefile` and read for `-img`/`-mask`.
//! * [`pgm`]: 8-bit portable greymap.
//! * [`float`]: the raw float32 image.
//! * [`png`]: the 8-bit preview (`-pngfile`).
//!
//! Every output goes through [`stage()`] and [`commit`]: all outputs of a run are written to
//! temporary files beside their destinations and renamed into place only when every one is
//! complete, so a failed or interrupted run leaves no truncated file and every old file as it
//! was; devices, FIFOs and sockets are written in place ([`Target`]).

pub mod float;
pub mod pgm;
pub mod png;
pub mod smv;
pub mod stage;
pub mod target;

pub(crate) use stage::WRITE_BUFFER;
pub use stage::{
    Blocks, Placed, Put, Staged, Writer, commit, remove_temporaries, stage, stage_blocks,
    stage_placed,
};
pub use target::Target;

use crate::error::{Error, Result};
use std::io::Write;

/// Write one output (all or nothing: see [`stage()`]).
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<()> {
    commit(vec![stage(path, &|w: &mut dyn Write| w.write_all(bytes))?])
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
