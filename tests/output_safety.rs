//! Outputs never lose data (README, "Output files"), through the CLI and the C API:
//!
//! * devices, FIFOs and sockets are written in place (streaming), a write error such as
//!   ENOSPC on /dev/full is an error, symlinks are followed and stay links;
//! * temporary files are created exclusively with unpredictable names, within NAME_MAX;
//! * all or nothing: a run that fails (unwritable folder, an output that is a folder, a full
//!   disk) replaces no file and leaves no temporary file;
//! * a write-protected file is refused; a replaced file keeps its mode, owner and hard links;
//! * SIGINT/SIGTERM remove the temporary files (exit status 130/143);
//! * a stderr that cannot be written never stops a run.
//!
//! Tests that need root (a private mount namespace for a read-only or full file system, a
//! private PID namespace, changing a file's owner) print why they skip where they cannot run.

mod common;

use common::Scratch;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");
const RUN: &str = "-cell 100 100 100 90 90 90 -default_F 100 -N 3 -detpixels 32 -pixel 0.4 -seed 7";

fn run_in(dir: &Path, args: &str) -> Output {
    Command::new(BIN)
        .args(format!("{RUN} {args}").split_whitespace())
        .current_dir(dir)
        .output()
        .expect("run nanoBragg")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The temporary files left in a folder.
fn temporaries(dir: &Path) -> Vec<String> {
    common::listing(dir)
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// The bytes a plain run writes for `args` (in a folder of its own).
fn reference_files(args: &str, names: &[&str]) -> Vec<Vec<u8>> {
    let d = Scratch::new("reference");
    let o = run_in(d.path(), args);
    assert!(o.status.success(), "{}", stderr(&o));
    names
        .iter()
        .map(|n| std::fs::read(d.join(n)).expect("reference output"))
        .collect()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn skip(why: &str) {
    println!("SKIPPED: {why}");
}

#[test]
fn devices_are_written_in_place_and_their_errors_are_errors() {
    let d = Scratch::new("devices");
    let o = run_in(
        d.path(),
        "-floatfile /dev/null -intfile /dev/null -noisefile i.img -pgmfile p.pgm",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(m.file_type().is_char_device(), "/dev/null was replaced");
    assert!(d.join("i.img").exists() && d.join("p.pgm").exists());
    assert!(temporaries(d.path()).is_empty());

    // ENOSPC: an error, and the files of the run are not replaced
    std::fs::write(d.join("f.bin"), b"old float").unwrap();
    let o = run_in(
        d.path(),
        "-floatfile f.bin -intfile /dev/full -nonoise -nopgm",
    );
    assert_eq!(o.status.code(), Some(9));
    let err = stderr(&o);
    assert!(
        err.contains("cannot write /dev/full") && err.contains("No space left"),
        "{err}"
    );
    assert_eq!(std::fs::read(d.join("f.bin")).unwrap(), b"old float");
    assert!(
        std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(temporaries(d.path()).is_empty());
}

#[test]
fn fifos_and_sockets_receive_the_image_in_place() {
    let want = reference_files("-nonoise -nopgm", &["floatimage.bin", "intimage.img"]);
    let d = Scratch::new("fifo");
    let fifo = d.join("pipe.bin");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let sock = d.join("int.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).expect("read the FIFO"))
    };
    let server = std::thread::spawn(move || {
        use std::io::Read;
        let (mut s, _) = listener.accept().expect("accept");
        let mut v = Vec::new();
        s.read_to_end(&mut v).expect("read the socket");
        v
    });
    let o = run_in(
        d.path(),
        "-floatfile pipe.bin -intfile int.sock -nonoise -nopgm",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(reader.join().unwrap(), want[0], "FIFO bytes");
    assert_eq!(server.join().unwrap(), want[1], "socket bytes");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(std::fs::metadata(&sock).unwrap().file_type().is_socket());
}

#[test]
fn symlinks_are_followed_and_stay_links() {
    let want = reference_files("-nonoise -nopgm", &["floatimage.bin"]);
    let d = Scratch::new("links");
    std::fs::create_dir(d.join("real")).unwrap();
    std::fs::write(d.join("real/target.bin"), b"old").unwrap();
    std::os::unix::fs::symlink("real/target.bin", d.join("link.bin")).unwrap();
    // a dangling link names the file to create
    std::os::unix::fs::symlink("real/new.img", d.join("dangling.img")).unwrap();
    let o = run_in(
        d.path(),
        "-floatfile link.bin -intfile dangling.img -nonoise -nopgm",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(d.join("link.bin"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(d.join("real/target.bin")).unwrap(), want[0]);
    assert!(
        std::fs::symlink_metadata(d.join("dangling.img"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(d.join("real/new.img").exists());
    assert!(temporaries(d.path()).is_empty() && temporaries(&d.join("real")).is_empty());
}

#[test]
fn temporary_names_are_exclusive_unpredictable_and_short_enough() {
    let d = Scratch::new("tmpnames");
    let writer = |w: &mut dyn std::io::Write| w.write_all(b"x");
    // a legal 255-byte name: its temporary name must still fit NAME_MAX
    let long = format!("{}.bin", "n".repeat(251));
    let name = d.join(&long).display().to_string();
    // an existing destination: replaced through named temporary files
    std::fs::write(d.join(&long), b"old").unwrap();
    let a = nanobragg::io::stage(&name, &writer).expect("stage a 255-byte name");
    let b = nanobragg::io::stage(&name, &writer).expect("stage it twice");
    let tmps = temporaries(d.path());
    assert_eq!(tmps.len(), 2, "{tmps:?}");
    assert_ne!(tmps[0], tmps[1]);
    for t in &tmps {
        assert!(t.len() <= 255 && t.starts_with('.'), "{t}");
    }
    drop(b);
    nanobragg::io::commit(vec![a]).expect("commit");
    assert_eq!(std::fs::read(d.join(&long)).unwrap(), b"x");
    assert!(temporaries(d.path()).is_empty());

    // through the CLI: a 255-byte output name
    let o = run_in(d.path(), &format!("-floatfile {long} -nonoise -nopgm"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(d.join(&long)).unwrap().len(), 32 * 32 * 4);

    // the old predictable name planted as a link to a victim: nothing follows it
    std::fs::write(d.join("victim"), b"victim").unwrap();
    std::os::unix::fs::symlink("victim", d.join(&format!(".f.bin.{}-0.tmp", 1))).unwrap();
    let o = run_in(d.path(), "-floatfile f.bin -nonoise -nopgm");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.join("victim")).unwrap(), b"victim");
}

/// A run in `dir` with `outputs` whose int image goes to a FIFO nobody reads (stuck.img): it
/// stops there, with its other outputs complete and staged, until it is killed.
fn stuck_run(dir: &Path, outputs: &str) -> std::process::Child {
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("stuck.img"))
            .status()
            .unwrap()
            .success()
    );
    Command::new(BIN)
        .args(format!("{RUN} {outputs} -intfile stuck.img").split_whitespace())
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn new_files_appear_only_when_complete_and_leave_nothing_behind() {
    let d = Scratch::new("unnamed");
    let writer = |w: &mut dyn std::io::Write| w.write_all(b"complete");
    let a = nanobragg::io::stage(&d.join("a.bin").display().to_string(), &writer).unwrap();
    let b = nanobragg::io::stage(&d.join("b.bin").display().to_string(), &writer).unwrap();
    let dropped = nanobragg::io::stage(&d.join("c.bin").display().to_string(), &writer).unwrap();
    // staged outputs of new files have no name in the folder: not even a temporary one
    let listed = || {
        let mut v: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert!(listed().is_empty(), "{:?}", listed());
    drop(dropped);
    // a destination that appears before the commit is replaced, as a rename would
    std::fs::write(d.join("b.bin"), b"meanwhile").unwrap();
    nanobragg::io::commit(vec![a, b]).expect("commit");
    assert_eq!(listed(), ["a.bin", "b.bin"]);
    for f in ["a.bin", "b.bin"] {
        assert_eq!(std::fs::read(d.join(f)).unwrap(), b"complete", "{f}");
    }
    // a new file gets what fopen gives it: 0666 less the umask
    // SAFETY: umask is read by setting it and setting it back at once.
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    let mode = std::fs::metadata(d.join("a.bin"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o666 & !(mask as u32));

    // a run killed with SIGKILL while its float image waits, complete and unnamed (the int
    // image goes first, to a FIFO nobody opens), leaves no file of its own behind
    let mut child = stuck_run(d.path(), "-floatfile k.bin -nonoise -nopgm");
    // an unnamed file shows in /proc as "<folder>/#<inode> (deleted)"
    let fds = format!("/proc/{}/fd", child.id());
    let unnamed_open = || {
        std::fs::read_dir(&fds)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                std::fs::read_link(e.path()).is_ok_and(|t| {
                    let t = t.to_string_lossy().into_owned();
                    t.starts_with(&d.path().display().to_string()) && t.ends_with("(deleted)")
                })
            })
    };
    let t0 = std::time::Instant::now();
    while !unnamed_open() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "no unnamed file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(listed(), ["a.bin", "b.bin", "stuck.img"]);
}

#[test]
fn two_runs_with_the_same_pid_do_not_mix_their_images() {
    if !is_root() {
        return skip("a private PID namespace (unshare -pf) needs root");
    }
    let args =
        |f: &str| format!("-default_F {f} -nonoise -nopgm -floatfile same.bin -intfile same.img");
    let want: Vec<Vec<Vec<u8>>> = ["100", "7"]
        .iter()
        .map(|f| reference_files(&args(f), &["same.bin", "same.img"]))
        .collect();
    let d = Scratch::new("samepid");
    let spawn = |f: &str| {
        Command::new("unshare")
            .args(["-pf", "--mount-proc", BIN])
            .args(format!("{RUN} {}", args(f)).split_whitespace())
            .current_dir(d.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
    };
    let (Ok(a), Ok(b)) = (spawn("100"), spawn("7")) else {
        return skip("unshare could not start");
    };
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    if !a.status.success() && stderr(&a).contains("unshare") {
        return skip(&format!("unshare failed: {}", stderr(&a)));
    }
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        stderr(&a),
        stderr(&b)
    );
    let got = [
        std::fs::read(d.join("same.bin")).unwrap(),
        std::fs::read(d.join("same.img")).unwrap(),
    ];
    // each file is one run's complete image
    for (k, g) in got.iter().enumerate() {
        assert!(
            *g == want[0][k] || *g == want[1][k],
            "file {k} mixes the runs"
        );
    }
    assert!(temporaries(d.path()).is_empty());
}

/// Old outputs of a run, to check they survive a failed one.
const OLD: [(&str, &[u8]); 4] = [
    ("f.bin", b"old float"),
    ("i.img", b"old int"),
    ("p.pgm", b"old pgm"),
    ("Fdump.bin", b"old dump"),
];
const ALL_OUTPUTS: &str = "-hkl cubic.hkl -floatfile f.bin -intfile i.img -pgmfile p.pgm";

fn plant_old(dir: &Path) {
    for (n, b) in OLD {
        std::fs::write(dir.join(n), b).unwrap();
    }
    std::fs::write(
        dir.join("cubic.hkl"),
        "0 0 0 10\n1 0 0 20\n0 1 0 30\n0 0 1 40\n",
    )
    .unwrap();
}

fn assert_old_kept(dir: &Path, what: &str) {
    for (n, b) in OLD {
        assert_eq!(
            std::fs::read(dir.join(n)).unwrap(),
            b,
            "{what}: {n} was replaced"
        );
    }
    assert!(
        temporaries(dir).is_empty(),
        "{what}: temporaries left: {:?}",
        temporaries(dir)
    );
}

#[test]
fn a_failed_run_replaces_nothing() {
    // an output that is a folder, an output in a missing folder: refused before the render
    for (what, bad) in [
        ("noise image is a folder", "-noisefile adir"),
        ("int image in a missing folder", "-intfile nodir/i.img"),
    ] {
        let d = Scratch::new("allornothing");
        plant_old(d.path());
        std::fs::create_dir(d.join("adir")).unwrap();
        let o = run_in(d.path(), &format!("{ALL_OUTPUTS} {bad}"));
        assert_eq!(o.status.code(), Some(9), "{what}");
        let err = stderr(&o);
        assert!(
            err.contains("is a folder") || err.contains("does not exist"),
            "{what}: {err}"
        );
        // nothing rendered: the statistics lines never came
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("max_I"),
            "{what}"
        );
        assert_old_kept(d.path(), what);
    }
    // the same through the C API: the outputs of a render that cannot all be written
    let d = Scratch::new("allornothing-c");
    plant_old(d.path());
    let args = format!("{RUN} {ALL_OUTPUTS} -noisefile n.img");
    let sim = common::in_dir(d.path(), || {
        nanobragg::Simulation::from_args_with_time_seed(
            &args.split_whitespace().collect::<Vec<_>>(),
            -1,
        )
        .expect("set up")
    });
    let r = sim.render(&mut nanobragg::kernel::Silent).expect("render");
    std::fs::create_dir(d.join("n.img")).unwrap();
    let e = common::in_dir(d.path(), || sim.finish(&r, &mut |_| {})).unwrap_err();
    assert!(e.to_string().contains("n.img is a folder"), "{e}");
    assert_old_kept(d.path(), "library: noise image is a folder");

    // and through the C API: nb_sim_write_outputs after a render
    use nanobragg::ffi::*;
    let at = d.path().display().to_string();
    let line = format!(
        "nanoBragg {RUN} -hkl {at}/cubic.hkl -floatfile {at}/f.bin -intfile {at}/i.img -pgmfile {at}/p.pgm -dump {at}/Fdump.bin -noisefile {at}/n.img"
    );
    let owned: Vec<std::ffi::CString> = line
        .split_whitespace()
        .map(|a| std::ffi::CString::new(a).unwrap())
        .collect();
    let argv: Vec<*const std::ffi::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    // SAFETY (all calls): valid argument vector, handle and buffers.
    unsafe {
        let mut sim = std::ptr::null_mut();
        assert_eq!(
            nb_sim_create(argv.len() as i32, argv.as_ptr(), &mut sim),
            nb_status::NB_OK
        );
        let mut img = vec![0f32; 32 * 32];
        assert_eq!(
            nb_sim_render(sim, 0, img.as_mut_ptr(), img.len()),
            nb_status::NB_OK
        );
        let s = nb_sim_write_outputs(sim, None, std::ptr::null_mut());
        let msg = std::ffi::CStr::from_ptr(nb_last_error())
            .to_string_lossy()
            .into_owned();
        assert_eq!(s, nb_status::NB_ERR_OUTPUT, "{msg}");
        assert!(msg.contains("n.img is a folder"), "{msg}");
        nb_sim_free(sim);
    }
    assert_old_kept(d.path(), "C API: noise image is a folder");
}

/// Run nanoBragg in a private mount namespace with `dir` covered by a fresh tmpfs (`opts`),
/// seeded with the old outputs, remounted read-only when `ro`; returns what the script saw
/// inside (exit status, each old output's contents, the count of temporary files) and
/// nanoBragg's stderr, or None where the machine does not allow it.
fn in_tmpfs(dir: &Path, opts: &str, ro: bool, args: &str) -> Option<(String, String)> {
    let mut script = format!("set -e; mount -t tmpfs -o {opts} none \"$D\"; cd \"$D\"; ");
    for (n, b) in OLD {
        script.push_str(&format!("printf '{}' > {n}; ", String::from_utf8_lossy(b)));
    }
    script.push_str("printf '0 0 0 10\\n1 0 0 20\\n' > cubic.hkl; ");
    if ro {
        script.push_str("mount -o remount,ro \"$D\"; ");
    }
    script.push_str(&format!(
        "set +e; \"$B\" {RUN} {args} >/dev/null 2>\"$E\"; echo \"rc=$?\"; "
    ));
    for (n, _) in OLD {
        script.push_str(&format!("echo \"{n}=$(cat {n})\"; "));
    }
    script.push_str("ls -A | grep -c '\\.tmp$' | sed 's/^/temporaries=/'; true");
    let err_file = dir.join("stderr.txt");
    let inner = dir.join("mnt");
    std::fs::create_dir_all(&inner).unwrap();
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("D", &inner)
        .env("B", BIN)
        .env("E", &err_file)
        .output()
        .ok()?;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    if !out.contains("rc=") {
        println!(
            "unshare/mount failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        return None;
    }
    let err = std::fs::read_to_string(&err_file).unwrap_or_default();
    Some((out, err))
}

fn assert_old_kept_inside(out: &str, what: &str) {
    for (n, b) in OLD {
        let line = format!("{n}={}", String::from_utf8_lossy(b));
        assert!(out.contains(&line), "{what}: {n} replaced:\n{out}");
    }
    assert!(out.contains("temporaries=0"), "{what}:\n{out}");
}

#[test]
fn a_read_only_folder_or_a_full_disk_replaces_nothing() {
    if !is_root() {
        return skip("mounting a read-only or a tiny file system needs root");
    }
    let d = Scratch::new("fs");
    // read-only folder: refused before the render (one output there is enough)
    let Some((out, err)) = in_tmpfs(d.path(), "size=1m", true, ALL_OUTPUTS) else {
        return skip("no private mount namespace here");
    };
    assert!(out.contains("rc=9"), "{out}{err}");
    assert!(
        err.contains("not writable") && err.contains("the file system is read-only"),
        "{err}"
    );
    assert_old_kept_inside(&out, "read-only folder");
    // a full disk: 200 kB cannot hold a 512x512 float image (1 MB): ENOSPC while staging
    let Some((out, err)) = in_tmpfs(
        d.path(),
        "size=200k",
        false,
        &format!("{ALL_OUTPUTS} -detpixels 512"),
    ) else {
        return skip("no private mount namespace here");
    };
    assert!(out.contains("rc=9"), "{out}{err}");
    assert!(err.contains("No space left"), "{err}");
    assert_old_kept_inside(&out, "full disk");
}

#[test]
fn write_protected_files_are_refused_and_replaced_files_keep_mode_owner_and_links() {
    let d = Scratch::new("modes");
    std::fs::write(d.join("f.bin"), b"old").unwrap();
    std::fs::set_permissions(d.join("f.bin"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let o = run_in(d.path(), "-floatfile f.bin -nonoise -nopgm");
    assert_eq!(o.status.code(), Some(9));
    let err = stderr(&o);
    assert!(err.contains("write-protected (mode 0444)"), "{err}");
    assert_eq!(std::fs::read(d.join("f.bin")).unwrap(), b"old");

    // mode 0600 and the hard link survive a replacement
    std::fs::set_permissions(d.join("f.bin"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::hard_link(d.join("f.bin"), d.join("other.bin")).unwrap();
    let inode = std::fs::metadata(d.join("f.bin")).unwrap().ino();
    let o = run_in(d.path(), "-floatfile f.bin -nonoise -nopgm");
    assert!(o.status.success(), "{}", stderr(&o));
    let m = std::fs::metadata(d.join("f.bin")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o600);
    assert_eq!(m.ino(), inode, "the hard link was split");
    assert_eq!(m.nlink(), 2);
    assert_eq!(
        std::fs::metadata(d.join("f.bin")).unwrap().len(),
        32 * 32 * 4
    );
    assert_eq!(
        std::fs::read(d.join("f.bin")).unwrap(),
        std::fs::read(d.join("other.bin")).unwrap()
    );

    // a new file gets 0666 less the umask, as fopen gives it
    let umask = {
        let s = std::fs::read_to_string("/proc/self/status").unwrap();
        let l = s.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(l.split_whitespace().nth(1).unwrap(), 8).unwrap()
    };
    let o = run_in(d.path(), "-floatfile new.bin -nonoise -nopgm");
    assert!(o.status.success());
    let m = std::fs::metadata(d.join("new.bin")).unwrap();
    assert_eq!(m.mode() & 0o777, 0o666 & !umask);

    // the owner is kept where permitted (root)
    if !is_root() {
        return skip("changing a file's owner needs root");
    }
    std::os::unix::fs::chown(d.join("new.bin"), Some(4321), Some(4322)).unwrap();
    let o = run_in(d.path(), "-floatfile new.bin -nonoise -nopgm");
    assert!(o.status.success());
    let m = std::fs::metadata(d.join("new.bin")).unwrap();
    assert_eq!((m.uid(), m.gid()), (4321, 4322));
}

#[test]
fn sigint_and_sigterm_remove_the_temporary_files() {
    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let d = Scratch::new("signals");
        plant_old(d.path());
        // the int image goes to a FIFO nobody reads: the run stops there, with the other
        // outputs complete in temporary files, waiting to be renamed
        let mut child = stuck_run(d.path(), "-hkl cubic.hkl -floatfile f.bin -pgmfile p.pgm");
        let t0 = std::time::Instant::now();
        while temporaries(d.path()).len() < 3 {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(30),
                "no temporary files appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SAFETY: a plain kill of our child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "signal {sig}");
        assert_old_kept(d.path(), &format!("signal {sig}"));
    }
}

#[test]
fn an_unwritable_stderr_never_stops_a_run() {
    let d = Scratch::new("stderr");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    // -pix0_vector prints a warning on stderr
    let o = Command::new(BIN)
        .args(format!("{RUN} -pix0_vector 0.1 0.05 0.05 -nonoise -nopgm").split_whitespace())
        .current_dir(d.path())
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("max_I"));
    assert_eq!(
        std::fs::metadata(d.join("floatimage.bin")).unwrap().len(),
        32 * 32 * 4
    );
}

#[test]
fn nonfinite_images_are_refused_unless_allowed() {
    let d = Scratch::new("nonfinite");
    std::fs::write(d.join("f.bin"), b"old").unwrap();
    // finite inputs whose image overflows 32-bit floats
    let o = run_in(d.path(), "-fluence 1e308 -floatfile f.bin -nonoise -nopgm");
    assert_eq!(o.status.code(), Some(9));
    let err = stderr(&o);
    assert!(
        err.contains("1024 of 1024 rendered pixels are NaN or infinite")
            && err.contains("infinite: brighter than a 32-bit float holds")
            && err.contains("-allow_nonfinite"),
        "{err}"
    );
    assert_eq!(std::fs::read(d.join("f.bin")).unwrap(), b"old");
    let o = run_in(
        d.path(),
        "-fluence 1e308 -floatfile f.bin -nonoise -nopgm -allow_nonfinite",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: 1024 pixels are NaN or infinite"),
        "{}",
        stderr(&o)
    );
    let img = common::read_f32(&d.join("f.bin"));
    assert!(img.iter().all(|v| v.is_infinite()));
    // an image large enough for its outputs to be staged on the worker threads (the scan for
    // such pixels runs beside the SMV image's staging): refused all the same, nothing left
    std::fs::write(d.join("f.bin"), b"old").unwrap();
    let o = run_in(
        d.path(),
        "-fluence 1e308 -detpixels 300 -pixel 0.05 -floatfile f.bin -intfile i.img",
    );
    assert_eq!(o.status.code(), Some(9));
    assert!(
        stderr(&o).contains("90000 of 90000 rendered pixels are NaN or infinite"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(d.join("f.bin")).unwrap(), b"old");
    for made in ["i.img", "noiseimage.img", "image.pgm"] {
        assert!(!d.join(made).exists(), "{made} written");
    }
    assert!(
        temporaries(d.path()).is_empty(),
        "{:?}",
        common::listing(d.path())
    );
    // a detector swung behind the sample: negative solid angles, written with a warning
    let o = run_in(d.path(), "-twotheta 100 -floatfile f.bin -nonoise -nopgm");
    assert!(o.status.success(), "{}", stderr(&o));
    let img = common::read_f32(&d.join("f.bin"));
    let negative = img.iter().filter(|v| **v < 0.0).count();
    assert!(negative > 0);
    assert!(
        stderr(&o).contains(&format!("warning: {negative} pixels are negative")),
        "{}",
        stderr(&o)
    );
}
