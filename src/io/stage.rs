//! All-or-nothing output: every output of a run is written completely before any replaces
//! an existing file.
//!
//! [`stage`] writes one output: for a destination that does not exist yet, to an unnamed file
//! in its folder (Linux `O_TMPFILE`), which [`commit`] links under the destination's name; for
//! a file it replaces (or where unnamed files are not supported), to a new temporary file
//! beside it (created exclusively, with an unpredictable name within `NAME_MAX`, never through
//! a link: the `tempfile` crate), with the replaced file's mode and, where permitted, its
//! owner; or, for a stream (device, FIFO, socket), into memory. [`commit`] then writes the
//! streams and links or renames the files to their destinations, in order, one right after the
//! other. A failure before that removes every temporary file and leaves every old file as it
//! was.
//!
//! An unnamed file has no name to leave behind: a process killed at any moment (even by
//! SIGKILL, as a pre-empted job is) leaves no trace of it, and creating it does not lock the
//! folder, so ranks writing into one folder create their files side by side (with named
//! temporary files, two processes creating files in one ext4 folder took as long as one).
//! Named temporary files are recorded in a process-wide list so that a signal handler
//! ([`remove_temporaries`]) can remove them before the process exits; links and renames hold
//! that list's lock, so a signal never interrupts a run's commit half way.

use super::target::{Existing, Target};
use crate::error::{Error, Result};
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary files that exist now.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Bytes of a temporary name kept from the destination's name (NAME_MAX is 255 bytes:
/// "." + this + "." + 8 random characters + ".tmp").
const NAME_KEEP: usize = 200;

/// Bytes of the buffer outputs are written through: smaller pieces are gathered in it, larger
/// ones go to the file directly.
pub(crate) const WRITE_BUFFER: usize = 1 << 16;

/// Writes an output's bytes.
pub type Writer<'a> = &'a (dyn Fn(&mut dyn Write) -> std::io::Result<()> + Sync);

/// Hands one block's bytes on (see [`Blocks`]).
pub type Put<'p> = &'p mut dyn FnMut(&[u8]) -> std::io::Result<()>;

/// An output made of a head and `count` blocks of `len` bytes each (the last may be shorter)
/// that are made independently: [`stage_blocks`] makes and writes them on several threads,
/// each at its place in the file.
pub struct Blocks<'a> {
    pub head: &'a [u8],
    pub count: usize,
    pub len: usize,
    /// Bytes of the whole output, head included.
    pub size: u64,
    /// Make block k and hand its bytes to the `Put` (once, `len` bytes but for the last).
    pub fill: &'a (dyn Fn(usize, Put) -> std::io::Result<()> + Sync),
}

/// One output, written and waiting for [`commit`].
#[derive(Debug)]
pub struct Staged {
    /// The name as given (for messages).
    name: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// A complete unnamed file, to be linked as `dest` (which did not exist when staged).
    Unnamed {
        file: std::fs::File,
        dest: PathBuf,
        dir: PathBuf,
    },
    /// A complete temporary file; `in_place`: copy it into the destination (a file with other
    /// hard links, which a rename would split) instead of renaming it.
    Temp {
        tmp: tempfile::TempPath,
        dest: PathBuf,
        in_place: bool,
    },
    /// Bytes for a device, FIFO or socket.
    Stream {
        path: PathBuf,
        socket: bool,
        bytes: Vec<u8>,
    },
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Kind::Temp { tmp, .. } = &self.kind {
            // removed before it leaves the list, so a signal in between cannot miss it
            let _ = std::fs::remove_file(tmp);
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            live.retain(|q| q != &**tmp);
        }
    }
}

/// Remove every temporary file of the process; the caller then exits. Holds the list's lock
/// until the process ends, so that no rename starts after it.
pub fn remove_temporaries() {
    let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    for p in live.iter() {
        let _ = std::fs::remove_file(p);
    }
    std::mem::forget(live);
}

/// A temporary-file prefix from the destination's name, cut to [`NAME_KEEP`] bytes.
fn prefix(dest: &std::path::Path) -> String {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cut = name.len().min(NAME_KEEP);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}.", &name[..cut])
}

/// Write output `name` (see [`Target`]) with `write`, ready for [`commit`].
pub fn stage(name: &str, write: Writer) -> Result<Staged> {
    let err = |e: std::io::Error| Error::output(name, e.to_string());
    match open(name)? {
        Opened::Stream { path, socket } => {
            let mut bytes = Vec::new();
            write(&mut bytes).map_err(err)?;
            Ok(Staged {
                name: name.to_string(),
                kind: Kind::Stream {
                    path,
                    socket,
                    bytes,
                },
            })
        }
        Opened::File { file, pending } => {
            // small pieces (a header) gathered in a buffer; pieces of its size or more go to
            // the file directly
            let mut w = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
            write(&mut w).map_err(err)?;
            let file = w.into_inner().map_err(|e| err(e.into_error()))?;
            pending.done(name, file)
        }
    }
}

/// As [`stage()`], for an output made in blocks: each written at its place in a file (see
/// [`Placed`]), on the threads of the pool the caller runs on when `parallel`; a stream's
/// blocks are gathered in order.
pub fn stage_blocks(name: &str, b: &Blocks, parallel: bool) -> Result<Staged> {
    let Some(placed) = stage_placed(name, b.size)? else {
        return stage(name, &|w: &mut dyn Write| {
            w.write_all(b.head)?;
            (0..b.count).try_for_each(|k| (b.fill)(k, &mut |x: &[u8]| w.write_all(x)))
        });
    };
    placed.write_at(0, b.head);
    let block = |k: usize| {
        (b.fill)(k, &mut |x: &[u8]| {
            debug_assert!(x.len() == b.len || (k + 1 == b.count && x.len() <= b.len));
            placed.write_at((b.head.len() + k * b.len) as u64, x);
            Ok(())
        })
    };
    // (only on a pool's thread: rayon's global pool is never used, see `pool`)
    let made = if parallel && rayon::current_thread_index().is_some() {
        use rayon::prelude::*;
        (0..b.count).into_par_iter().try_for_each(block)
    } else {
        (0..b.count).try_for_each(block)
    };
    made.map_err(|e| Error::output(name, e.to_string()))?;
    placed.finish()
}

/// Where an output's bytes are staged.
enum Opened {
    /// In memory, for a device, FIFO or socket.
    Stream { path: PathBuf, socket: bool },
    /// In a new file (empty), which `pending` stages once it is complete.
    File {
        file: std::fs::File,
        pending: Pending,
    },
}

/// A new file's part of staging, after its bytes are written.
enum Pending {
    /// An unnamed file, to be linked as `dest`.
    Unnamed { dest: PathBuf, dir: PathBuf },
    /// A named temporary file, already listed (and removed when dropped), and the file it
    /// replaces.
    Temp {
        staged: Staged,
        existing: Option<Existing>,
    },
}

impl Pending {
    /// The output staged, its bytes being in `file`.
    fn done(self, name: &str, file: std::fs::File) -> Result<Staged> {
        match self {
            Pending::Unnamed { dest, dir } => Ok(Staged {
                name: name.to_string(),
                kind: Kind::Unnamed { file, dest, dir },
            }),
            Pending::Temp { staged, existing } => {
                if let Some(Existing { mode, uid, gid, .. }) = existing {
                    // the replaced file's owner where permitted (root), then its mode (after
                    // the owner: chown clears set-id bits)
                    let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
                    file.set_permissions(std::fs::Permissions::from_mode(mode))
                        .map_err(|e| Error::output(name, e.to_string()))?;
                }
                Ok(staged)
            }
        }
    }
}

/// Open where output `name` (see [`Target`]) is staged.
fn open(name: &str) -> Result<Opened> {
    match Target::resolve(name)? {
        Target::Stream { path, socket } => Ok(Opened::Stream { path, socket }),
        Target::Replace {
            dest,
            dir,
            existing: None,
        } => match open_unnamed(&dir) {
            Ok(file) => Ok(Opened::File {
                file,
                pending: Pending::Unnamed { dest, dir },
            }),
            Err(_) => open_named(name, dest, dir, None),
        },
        Target::Replace {
            dest,
            dir,
            existing,
        } => open_named(name, dest, dir, existing),
    }
}

/// A named temporary file beside `dest`, for [`open`].
fn open_named(
    name: &str,
    dest: PathBuf,
    dir: PathBuf,
    existing: Option<Existing>,
) -> Result<Opened> {
    let err = |e: std::io::Error| Error::output(name, e.to_string());
    // created and listed under the list's lock: a signal's clean-up (which takes the
    // lock for good) sees every temporary file, and none is created after it
    let (file, tmp) = {
        let mut l = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        let (file, tmp) = temporary_beside(&dest, &dir).map_err(err)?.into_parts();
        l.push(tmp.to_path_buf());
        (file, tmp)
    };
    let staged = Staged {
        name: name.to_string(),
        kind: Kind::Temp {
            tmp,
            dest,
            in_place: existing.is_some_and(|e| e.nlink > 1),
        },
    };
    Ok(Opened::File {
        file,
        pending: Pending::Temp { staged, existing },
    })
}

/// Reserve `size` bytes for a new file about to be written (Linux `fallocate`): the file
/// system allocates them at once instead of block by block as the pages are written, which
/// made a 4 MiB write ~15 % faster on ext4; no space is reported here rather than later. A
/// file system without `fallocate` is simply written.
fn preallocate(file: &std::fs::File, size: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        if let Ok(len) = libc::off_t::try_from(size)
            && len > 0
        {
            // SAFETY: an open descriptor; the call changes only the file's allocation.
            unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, size);
}

/// An output written piece by piece at its places while it is made (the float image, during
/// the render: see [`crate::kernel::RowSink`]), possibly from several threads, and staged when
/// complete ([`Placed::finish`]). Dropped unfinished, it leaves nothing.
pub struct Placed {
    name: String,
    file: std::fs::File,
    pending: Pending,
    /// The first failed write (later writes are skipped).
    failed: Mutex<Option<std::io::Error>>,
}

/// Open output `name` for [`Placed`] writing, `size` bytes reserved; `None` for a device,
/// FIFO or socket, which is written in order ([`stage()`]).
pub fn stage_placed(name: &str, size: u64) -> Result<Option<Placed>> {
    match open(name)? {
        Opened::Stream { .. } => Ok(None),
        Opened::File { file, pending } => {
            preallocate(&file, size);
            Ok(Some(Placed {
                name: name.to_string(),
                file,
                pending,
                failed: Mutex::new(None),
            }))
        }
    }
}

impl Placed {
    /// Write `bytes` at `offset`. A failure is kept for [`Placed::finish`].
    pub fn write_at(&self, offset: u64, bytes: &[u8]) {
        use std::os::unix::fs::FileExt;
        let failed = || self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed().is_some() {
            return;
        }
        if let Err(e) = self.file.write_all_at(bytes, offset) {
            failed().get_or_insert(e);
        }
    }

    /// Staged for [`commit`], or the first failed write.
    pub fn finish(self) -> Result<Staged> {
        let failed = self.failed.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = failed {
            return Err(Error::output(&self.name, e.to_string()));
        }
        self.pending.done(&self.name, self.file)
    }
}

/// An unnamed regular file in `dir`, mode 0666 less the umask (as fopen gives a new file).
/// Fails where the file system (or the kernel) has no unnamed files.
fn open_unnamed(dir: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o666)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
}

/// Give the unnamed `file` the name `dest` (no replacing: fails if `dest` exists).
fn link_unnamed(file: &std::fs::File, dest: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = CString::new(dest.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths, read only; the descriptor is open for the call.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Put an unnamed file in place: linked as `dest`, or (the destination appeared meanwhile, or
/// no link can be made, e.g. without /proc) copied into a named temporary file renamed over it.
fn place_unnamed(mut file: std::fs::File, dest: &Path, dir: &Path) -> std::io::Result<()> {
    if link_unnamed(&file, dest).is_ok() {
        return Ok(());
    }
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut tmp = temporary_beside(dest, dir)?;
    std::io::copy(&mut file, &mut tmp)?;
    tmp.persist(dest).map(|_| ()).map_err(|e| e.error)
}

/// A new temporary file in `dir` for `dest`: created exclusively, with an unpredictable name,
/// mode 0666 less the umask (what fopen gives a new file).
fn temporary_beside(dest: &Path, dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&prefix(dest))
        .suffix(".tmp")
        .rand_bytes(8)
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Write the streams, then put every temporary file in place, in order. Stops at the first
/// failure; the temporary files not yet in place are removed.
pub fn commit(outputs: Vec<Staged>) -> Result<()> {
    for s in &outputs {
        if let Kind::Stream {
            path,
            socket,
            bytes,
        } = &s.kind
        {
            write_stream(path, *socket, bytes)
                .map_err(|e| Error::output(&s.name, e.to_string()))?;
        }
    }
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let mut result = Ok(());
    let mut rest = outputs.into_iter();
    for mut s in rest.by_ref() {
        // taken out, so that dropping `s` does not touch the list (its lock is held)
        let kind = std::mem::replace(
            &mut s.kind,
            Kind::Stream {
                path: PathBuf::new(),
                socket: false,
                bytes: Vec::new(),
            },
        );
        if let Err(e) = place(kind, &mut live) {
            result = Err(Error::output(&s.name, e.to_string()));
            break;
        }
    }
    drop(live);
    drop(rest);
    result
}

/// Put one staged output in place (streams are written before: nothing to do); a temporary
/// file leaves `live` whether or not it made it.
fn place(kind: Kind, live: &mut Vec<PathBuf>) -> std::io::Result<()> {
    match kind {
        Kind::Stream { .. } => Ok(()),
        Kind::Unnamed { file, dest, dir } => place_unnamed(file, &dest, &dir),
        Kind::Temp {
            tmp,
            dest,
            in_place,
        } => {
            let p = tmp.to_path_buf();
            let r = if in_place {
                std::fs::copy(&tmp, &dest).map(|_| ())
            } else {
                // on failure the temporary file is removed with the error's TempPath
                tmp.persist(&dest).map(|_| ()).map_err(|e| e.error)
            };
            live.retain(|q| *q != p);
            r
        }
    }
}

fn write_stream(path: &std::path::Path, socket: bool, bytes: &[u8]) -> std::io::Result<()> {
    if socket {
        let mut s = std::os::unix::net::UnixStream::connect(path)?;
        s.write_all(bytes)?;
        s.flush()
    } else {
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.write_all(bytes)?;
        f.flush()
    }
}
