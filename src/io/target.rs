//! What an output file name points at, decided before anything is written.
//!
//! * A regular file, or no file yet: [`Target::Replace`]. The output is written to a
//!   temporary file in the same folder and renamed over the destination when every output of
//!   the run is complete. A symlink is followed: the file it finally names is replaced, and
//!   the link stays a link.
//! * An existing character device, FIFO or socket (`/dev/null`, `/dev/stdout`, a named pipe):
//!   [`Target::Stream`], written in place, as nanoBragg.c writes it.
//! * Anything else is refused with the reason: a folder, a block device, a missing or
//!   unwritable folder, a write-protected file.

use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The regular file an output replaces, if it exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Existing {
    /// Permission bits (with set-id and sticky bits), owner and hard-link count.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
}

/// Where an output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Written to a temporary file in `dir`, then renamed over `dest` (symlinks resolved).
    Replace {
        dest: PathBuf,
        dir: PathBuf,
        existing: Option<Existing>,
    },
    /// Written in place: a character device, FIFO or socket.
    Stream { path: PathBuf, socket: bool },
}

/// Symlinks followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Whether this process may access `path` with `mode` (`libc::W_OK`, ...), by its effective
/// ids, as `open` would decide (including a read-only file system): the error says why not.
fn access(path: &Path, mode: libc::c_int) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a NUL-terminated path; faccessat reads it only.
    if unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Why a file or folder cannot be written, in words.
fn why(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EROFS) => "the file system is read-only",
        Some(libc::EACCES) | Some(libc::EPERM) => "permission denied",
        _ => "access denied",
    }
}

/// The path a chain of symlinks ends at (the path itself when it is not a link).
fn follow_links(name: &str) -> Result<PathBuf> {
    let mut p = PathBuf::from(name);
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)
                    .map_err(|e| Error::output(name, format!("cannot read the link: {e}")))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(Error::output(name, "too many levels of symbolic links"))
}

impl Target {
    /// Decide where output `name` goes, checking that it can be written: its folder exists
    /// and is writable, it is not a folder, a block device or a write-protected file.
    pub fn resolve(name: &str) -> Result<Target> {
        let fail = |msg: String| Err(Error::output(name, msg));
        if name.is_empty() {
            return fail("the file name is empty".into());
        }
        let dest = follow_links(name)?;
        let shown = |p: &Path| crate::cfmt::clip(&p.display().to_string());
        let existing = match std::fs::metadata(&dest) {
            Ok(m) => {
                let t = m.file_type();
                if t.is_dir() {
                    return fail(format!("{} is a folder", shown(&dest)));
                }
                if t.is_char_device() || t.is_fifo() || t.is_socket() {
                    return Ok(Target::Stream {
                        path: dest,
                        socket: t.is_socket(),
                    });
                }
                if !t.is_file() {
                    return fail(format!(
                        "{} is a block device or other special file; only regular files, character devices, FIFOs and sockets are written",
                        shown(&dest)
                    ));
                }
                let mode = m.mode() & 0o7777;
                if mode & 0o222 == 0 {
                    return fail(format!(
                        "the file is write-protected (mode {mode:04o}); make it writable (chmod u+w) or remove it to replace it"
                    ));
                }
                if let Err(e) = access(&dest, libc::W_OK) {
                    return fail(format!(
                        "the file is not writable: {} (mode {mode:04o}, owner {})",
                        why(&e),
                        m.uid()
                    ));
                }
                Some(Existing {
                    mode,
                    uid: m.uid(),
                    gid: m.gid(),
                    nlink: m.nlink(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return fail(e.to_string()),
        };
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return fail(format!("{} is not a folder", shown(&dir))),
            Err(_) => return fail(format!("the folder {} does not exist", shown(&dir))),
        }
        if let Err(e) = access(&dir, libc::W_OK | libc::X_OK) {
            return fail(format!(
                "the folder {} is not writable: {}",
                shown(&dir),
                why(&e)
            ));
        }
        Ok(Target::Replace {
            dest,
            dir,
            existing,
        })
    }
}
