//! Limits that hold (README, "Memory and other limits"), through the CLI and the C API:
//!
//! * the memory guard takes the smallest of the available memory, the process's cgroup limit
//!   and `ulimit -v` (RLIMIT_AS), counts every buffer that grows with the input (HKL grid,
//!   sub-pixel tables, sampling tables, images) and refuses before allocating;
//! * `NANOBRAGG_MEMORY_LIMIT` takes bytes or K/M/G/T; anything else is an error naming it;
//! * `nb_render_kernel` refuses what the CLI refuses (memory, work, sizes), printing nothing;
//! * a process forked after a render renders again (the thread pools are rebuilt).
//!
//! The cgroup test needs root and a writable cgroup hierarchy; it prints why it skips where
//! the machine does not allow it.

mod common;

use common::Scratch;
use nanobragg::ffi::*;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");
const CELL: &str = "-cell 100 100 100 90 90 90 -default_F 10 -N 2 -nonoise -nopgm";

fn cli(dir: &Path, args: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args.split_whitespace()).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run nanoBragg")
}

/// A clean refusal: exit 9, one error line holding every word, nothing written.
fn refused(o: &Output, dir: &Path, words: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("error:"))
        .expect("an error line");
    for w in words {
        assert!(line.contains(w), "{line:?} does not mention {w:?}");
    }
    assert!(
        common::listing(dir)
            .iter()
            .all(|n| !n.ends_with(".bin") && !n.ends_with(".tmp"))
    );
}

#[test]
fn the_cgroup_memory_limit_is_honoured() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: creating a cgroup needs root");
        return;
    }
    // this process's memory cgroup, v1 (memory controller) or v2 (unified)
    let cg = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let (base, file) = if let Some(l) = cg.lines().find(|l| l.split(':').nth(1) == Some("memory")) {
        (
            format!("/sys/fs/cgroup/memory{}", l.rsplit(':').next().unwrap()),
            "memory.limit_in_bytes",
        )
    } else if let Some(l) = cg.lines().find(|l| l.starts_with("0::")) {
        (format!("/sys/fs/cgroup{}", &l[3..]), "memory.max")
    } else {
        println!("SKIPPED: no memory cgroup in /proc/self/cgroup");
        return;
    };
    let child = format!("{base}/nanobragg-test-{}", std::process::id());
    if std::fs::create_dir(&child).is_err()
        || std::fs::write(format!("{child}/{file}"), (1u64 << 30).to_string()).is_err()
    {
        let _ = std::fs::remove_dir(&child);
        println!("SKIPPED: cannot create a memory cgroup under {base}");
        return;
    }
    let dir = Scratch::new("cgroup");
    // a 20000² detector needs 2.4 GB of image buffers: more than the cgroup's 1 GiB
    let o = Command::new("sh")
        .args([
            "-c",
            &format!("echo $$ > {child}/cgroup.procs && exec \"$0\" {CELL} -detpixels 20000"),
            BIN,
        ])
        .current_dir(dir.path())
        .output()
        .expect("run in the cgroup");
    let _ = std::fs::remove_dir(&child);
    refused(&o, dir.path(), &["20000x20000", "the cgroup memory limit"]);
}

#[test]
fn ulimit_v_is_honoured() {
    let dir = Scratch::new("rlimit");
    let o = Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -v 2000000 && exec \"$0\" {CELL} -detpixels 20000"),
            BIN,
        ])
        .current_dir(dir.path())
        .output()
        .expect("run under ulimit -v");
    refused(&o, dir.path(), &["20000x20000", "ulimit -v (RLIMIT_AS)"]);
}

#[test]
fn every_buffer_that_grows_with_the_input_is_counted() {
    let dir = Scratch::new("buffers");
    // a 36-byte HKL file with indices ±300: a 601³ grid (1.7 GB of f64 and its f32 copy)
    std::fs::write(dir.join("far.hkl"), "-300 -300 -300 1\n300 300 300 1\n").unwrap();
    let o = cli(
        dir.path(),
        "-cell 100 100 100 90 90 90 -hkl far.hkl -N 2 -detpixels 8 -nonoise -nopgm",
        &[("NANOBRAGG_MEMORY_LIMIT", "1G")],
    );
    refused(
        &o,
        dir.path(),
        &["structure-factor grid of 2.6 GB", "1.1 GB this run may use"],
    );
    assert!(!dir.join("Fdump.bin").exists());
    // sub-pixel tables: 4096² sub-pixels x 256 layers would be 927 GB
    let o = cli(
        dir.path(),
        &format!(
            "{CELL} -detpixels 8 -oversample 4096 -detector_thick 100 -detector_thicksteps 256"
        ),
        &[],
    );
    refused(
        &o,
        dir.path(),
        &["sub-pixel tables of -oversample 4096 with 256 sensor layers"],
    );
    // sampling tables
    let o = cli(
        dir.path(),
        &format!("{CELL} -detpixels 8 -phisteps 2000000000"),
        &[],
    );
    refused(&o, dir.path(), &["2000000000 phi steps", "more than"]);
    // work: a typo-sized oversampling in double precision (256² pixels x 46341² sub-pixels)
    let o = cli(
        dir.path(),
        &format!("{CELL} -detpixels 256 -oversample 46341 -precision double"),
        &[],
    );
    refused(
        &o,
        dir.path(),
        &["pixel-steps", "46341^2", "NANOBRAGG_WORK_LIMIT"],
    );
}

#[test]
fn the_memory_limit_variable_is_a_size_or_an_error() {
    let dir = Scratch::new("memvar");
    for bad in ["1e9", "", "-5", "lots", "1.5G", "12 parsecs"] {
        let o = cli(
            dir.path(),
            &format!("{CELL} -detpixels 8"),
            &[("NANOBRAGG_MEMORY_LIMIT", bad)],
        );
        refused(
            &o,
            dir.path(),
            &["NANOBRAGG_MEMORY_LIMIT", "not a memory size"],
        );
        // the C API reads the same variable
        let o = child("create", &[("NANOBRAGG_MEMORY_LIMIT", bad)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    for good in ["1G", "4096M", "2000000000", "1T", "64 GiB"] {
        let o = cli(
            dir.path(),
            &format!("{CELL} -detpixels 8 -floatfile f.bin"),
            &[("NANOBRAGG_MEMORY_LIMIT", good)],
        );
        assert!(
            o.status.success(),
            "{good}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // needs under 1 MiB skip the probe of available memory, not the variable: a ±20 HKL grid
    // (911 kB with its f32 copy) is refused under 500K
    let dir = Scratch::new("memvar-small");
    std::fs::write(dir.join("small.hkl"), "-20 -20 -20 1\n20 20 20 1\n").unwrap();
    let args = "-cell 100 100 100 90 90 90 -hkl small.hkl -N 2 -detpixels 8 -nonoise -nopgm";
    let o = cli(dir.path(), args, &[("NANOBRAGG_MEMORY_LIMIT", "500K")]);
    refused(
        &o,
        dir.path(),
        &[
            "structure-factor grid of 911 kB",
            "512 kB this run may use (NANOBRAGG_MEMORY_LIMIT)",
        ],
    );
    let o = cli(dir.path(), args, &[("NANOBRAGG_MEMORY_LIMIT", "2M")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = Scratch::new("memvar-big");
    let o = cli(
        dir.path(),
        &format!("{CELL} -detpixels 8000"),
        &[("NANOBRAGG_MEMORY_LIMIT", "100M")],
    );
    refused(
        &o,
        dir.path(),
        &[
            "8000x8000",
            "105 MB this run may use (NANOBRAGG_MEMORY_LIMIT)",
        ],
    );
}

/// Work done in a child process (this test binary run again for one test), so that what it
/// prints and whether it forks can be observed from outside: NB_LIMITS_CHILD selects it.
#[test]
fn c_api_child() {
    let Ok(what) = std::env::var("NB_LIMITS_CHILD") else {
        return; // only in the child
    };
    let dir = Scratch::new("child");
    common::in_dir(dir.path(), || match what.as_str() {
        "create" => child_create(),
        "guards" => child_guards(),
        "fork" => child_fork(),
        other => panic!("unknown child {other}"),
    });
}

fn args(line: &str) -> (Vec<std::ffi::CString>, Vec<*const std::ffi::c_char>) {
    let a: Vec<std::ffi::CString> = std::iter::once("nanoBragg")
        .chain(line.split_whitespace())
        .map(|s| std::ffi::CString::new(s).unwrap())
        .collect();
    let p = a.iter().map(|c| c.as_ptr()).collect();
    (a, p)
}

fn last_error() -> String {
    // SAFETY: nb_last_error returns a NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(nb_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn child_create() {
    let (_a, p) = args(&format!("{CELL} -detpixels 8"));
    let mut sim = std::ptr::null_mut();
    // SAFETY: a valid argument vector and out pointer.
    let s = unsafe { nb_sim_create(p.len() as i32, p.as_ptr(), &mut sim) };
    assert_eq!(s, nb_status::NB_ERR_INVALID, "{}", last_error());
    assert!(last_error().contains("NANOBRAGG_MEMORY_LIMIT"));
}

/// The kernel entry refuses what the CLI refuses, with a status and a message.
fn child_guards() {
    let (_a, p) = args(&format!("{CELL} -detpixels 16"));
    let mut sim = std::ptr::null_mut();
    // SAFETY (all calls): valid pointers; `good` points into `sim`, alive to the end.
    unsafe {
        assert_eq!(
            nb_sim_create(p.len() as i32, p.as_ptr(), &mut sim),
            nb_status::NB_OK
        );
        let mut good = std::mem::MaybeUninit::<nb_kernel_params>::zeroed().assume_init();
        assert_eq!(nb_sim_kernel_params(sim, &mut good), nb_status::NB_OK);
        let mut img = vec![0f32; 16 * 16];
        let cases: Vec<(nb_kernel_params, i32, nb_status, &str)> = vec![
            (
                nb_kernel_params {
                    phisteps: i32::MAX,
                    ..good
                },
                1,
                nb_status::NB_ERR_MEMORY,
                "2147483647 phi steps",
            ),
            (
                nb_kernel_params {
                    detector_thicksteps: i32::MAX,
                    ..good
                },
                1,
                nb_status::NB_ERR_MEMORY,
                "2147483647 sensor layers",
            ),
            (
                nb_kernel_params {
                    oversample: 65536,
                    ..good
                },
                2,
                nb_status::NB_ERR_MEMORY,
                "sub-pixel tables of -oversample 65536",
            ),
            (
                // 16² pixels x 10^12 sub-pixels: far beyond the work limit
                nb_kernel_params {
                    oversample: 1_000_000,
                    ..good
                },
                1,
                nb_status::NB_ERR_INVALID,
                "pixel-steps",
            ),
            (
                // with -oversample_omega every sub-pixel's solid angle is kept
                nb_kernel_params {
                    oversample: 46341,
                    oversample_omega: 1,
                    ..good
                },
                1,
                nb_status::NB_ERR_MEMORY,
                "every sub-pixel's with -oversample_omega",
            ),
            (
                nb_kernel_params {
                    oversample: 2_000_000,
                    ..good
                },
                1,
                nb_status::NB_ERR_INVALID,
                "sub-pixels per pixel",
            ),
            (
                nb_kernel_params {
                    fpixels: 100_000,
                    spixels: 100_000,
                    roi_xmax: 99_999,
                    roi_ymax: 99_999,
                    ..good
                },
                2,
                nb_status::NB_ERR_INVALID,
                "too large",
            ),
            (
                nb_kernel_params {
                    distance: f64::NAN,
                    ..good
                },
                1,
                nb_status::NB_ERR_INVALID,
                "distance",
            ),
            (
                nb_kernel_params {
                    default_f: 1e300,
                    hkls: 0,
                    ..good
                },
                1,
                nb_status::NB_ERR_INVALID,
                "default_f",
            ),
        ];
        for (params, precision, want, words) in cases {
            let n = (params.fpixels.max(0) as usize) * (params.spixels.max(0) as usize);
            let s = nb_render_kernel(&params, precision, img.as_mut_ptr(), n.min(img.len()));
            assert_eq!(s, want, "{words}: {}", last_error());
            assert!(
                last_error().contains(words),
                "{:?} lacks {words:?}",
                last_error()
            );
        }
        nb_sim_free(sim);
    }
}

/// Render, fork, and render again in the child (rayon's pool does not survive fork).
fn child_fork() {
    let (_a, p) = args(&format!("{CELL} -detpixels 64"));
    let mut sim = std::ptr::null_mut();
    // SAFETY (all calls): valid pointers; the child only renders and exits.
    unsafe {
        assert_eq!(
            nb_sim_create(p.len() as i32, p.as_ptr(), &mut sim),
            nb_status::NB_OK
        );
        let mut first = vec![0f32; 64 * 64];
        assert_eq!(
            nb_sim_render(sim, 2, first.as_mut_ptr(), first.len()),
            nb_status::NB_OK
        );
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            libc::alarm(30); // a hang would end here
            let mut again = vec![0f32; 64 * 64];
            let s = nb_sim_render(sim, 2, again.as_mut_ptr(), again.len());
            libc::_exit(if s == nb_status::NB_OK && again == first {
                0
            } else {
                1
            });
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the forked child failed or hung (status {status:#x})"
        );
        nb_sim_free(sim);
    }
}

fn child(what: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "c_api_child",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("NB_LIMITS_CHILD", what);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn the_kernel_entry_refuses_what_the_cli_refuses_and_prints_nothing() {
    let o = child("guards", &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    // nothing on stderr: no panic message, no warning
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "stderr");
}

#[test]
fn a_forked_process_renders_again() {
    let o = child("fork", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}
