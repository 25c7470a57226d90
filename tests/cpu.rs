//! The CPU check: a build for x86-64-v3 run on an older CPU must refuse with one clear line
//! and exit status 9, never die of an illegal instruction. The old CPU is emulated with
//! `qemu-x86_64 -cpu Nehalem` (SSE4.2, no AVX), which `.ci/run` installs (Debian: qemu-user).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nanoBragg");

fn qemu(cpu: &str, args: &[&str]) -> std::process::Output {
    Command::new("qemu-x86_64")
        .arg("-cpu")
        .arg(cpu)
        .arg(BIN)
        .args(args)
        .output()
        .expect("qemu-x86_64 not found: install qemu-user (apt-get install -y qemu-user), as .ci/run does")
}

fn stderr_lines(o: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.starts_with("qemu-x86_64: warning"))
        .map(String::from)
        .collect()
}

#[test]
fn an_old_cpu_gets_a_clear_refusal_not_a_crash() {
    let o = qemu("Nehalem", &["-version"]);
    let err = stderr_lines(&o);
    if cfg!(target_feature = "avx2") {
        assert_eq!(o.status.code(), Some(9), "stderr: {err:?}");
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].starts_with("nanoBragg: error: this build of nanobragg needs a CPU with"),
            "{err:?}"
        );
        assert!(err[0].contains("target-cpu=x86-64"), "{err:?}");
    } else {
        // a portable build runs there
        assert_eq!(o.status.code(), Some(0), "stderr: {err:?}");
    }
}

#[test]
fn a_cpu_with_avx2_and_fma_runs_the_default_build() {
    let o = qemu("Haswell", &["-version"]);
    if cfg!(target_feature = "avx512f") {
        // the AVX-512 build refuses a CPU without it
        assert_eq!(o.status.code(), Some(9), "stderr: {:?}", stderr_lines(&o));
    } else {
        assert_eq!(o.status.code(), Some(0), "stderr: {:?}", stderr_lines(&o));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("nanoBragg (nanobragg) "));
    }
}

#[test]
fn the_library_check_agrees_with_the_cpu() {
    // this machine runs the test binary, so it has what the build needs
    assert!(nanobragg::cpu::supported());
    assert!(nanobragg::cpu::check().is_ok());
}

/// Whether this CPU runs the sixteen-lane kernel (the set `kernel::simd` checks).
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512dq")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512bw")
}

fn kernel_line(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("single-precision kernel: "))
        .unwrap_or_else(|| panic!("no kernel line: {o:?}"))
        .to_string()
}

fn native(vars: &[(&str, &str)], args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .envs(vars.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run nanoBragg")
}

#[test]
fn the_kernel_width_follows_the_cpu_and_nanobragg_simd() {
    let here = std::env::temp_dir();
    let auto = kernel_line(&native(&[], &["-version"], &here));
    if has_avx512() || cfg!(target_feature = "avx512f") {
        assert!(auto.starts_with("f32x16 on AVX-512"), "{auto}");
    } else {
        assert!(auto.starts_with("f32x8 on "), "{auto}");
    }
    let x8 = kernel_line(&native(&[("NANOBRAGG_SIMD", "x8")], &["-version"], &here));
    if cfg!(feature = "f32x16") {
        assert!(x8.starts_with("f32x16"), "{x8}");
    } else {
        assert!(x8.starts_with("f32x8 on "), "{x8}");
    }
    let o = native(&[("NANOBRAGG_SIMD", "x16")], &["-version"], &here);
    if has_avx512() {
        assert!(kernel_line(&o).starts_with("f32x16 on AVX-512"), "{o:?}");
    } else {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(9), "{err}");
        assert_eq!(
            err.trim_end(),
            "nanoBragg: error: NANOBRAGG_SIMD=x16: this CPU has no AVX-512 (F, DQ, VL and BW); use x8 or auto"
        );
    }
    for bad in ["x32", "16", "X8"] {
        let o = native(&[("NANOBRAGG_SIMD", bad)], &["-version"], &here);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(9), "{bad}: {err}");
        assert_eq!(
            err.trim_end(),
            format!(
                "nanoBragg: error: NANOBRAGG_SIMD={bad}: not a kernel width; use x8, x16 or auto"
            )
        );
        assert!(o.stdout.is_empty());
    }
    use std::os::unix::ffi::OsStrExt;
    let o = Command::new(BIN)
        .arg("-version")
        .env("NANOBRAGG_SIMD", std::ffi::OsStr::from_bytes(b"x\xff"))
        .output()
        .expect("run nanoBragg");
    assert_eq!(o.status.code(), Some(9));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim_end(),
        "nanoBragg: error: NANOBRAGG_SIMD is not valid UTF-8; use x8, x16 or auto"
    );
}

/// On a CPU without AVX-512 (qemu's Haswell) the program picks the eight-lane kernel by
/// itself: the image equals, byte for byte, the one this machine renders with
/// NANOBRAGG_SIMD=x8; asking for sixteen lanes there is refused with one line.
#[test]
fn a_cpu_without_avx512_renders_with_eight_lanes() {
    if cfg!(target_feature = "avx512f") {
        return; // an AVX-512 build does not start there (see the test above)
    }
    let o = qemu("Haswell", &["-version"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {:?}", stderr_lines(&o));
    let line = kernel_line(&o);
    if cfg!(target_feature = "avx2") {
        assert!(line.starts_with("f32x8 on AVX2 + FMA"), "{line}");
    } else {
        assert!(line.starts_with("f32x8 on SSE2"), "{line}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let args = [
        "-cell",
        "70",
        "80",
        "90",
        "85",
        "95",
        "105",
        "-misset",
        "10",
        "5",
        "3",
        "-lambda",
        "1.5",
        "-N",
        "8",
        "-default_F",
        "100",
        "-distance",
        "100",
        "-detpixels",
        "96",
        "-oversample",
        "2",
        "-nonoise",
        "-nopgm",
        "-floatfile",
        "q.bin",
    ];
    let o = Command::new("qemu-x86_64")
        .args(["-cpu", "Haswell", BIN])
        .args(args)
        .current_dir(dir.path())
        .output()
        .expect("qemu-x86_64");
    assert_eq!(o.status.code(), Some(0), "stderr: {:?}", stderr_lines(&o));
    let mut native_args = args;
    *native_args.last_mut().unwrap() = "n.bin";
    let o = native(&[("NANOBRAGG_SIMD", "x8")], &native_args, dir.path());
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let (q, n) = (
        std::fs::read(dir.path().join("q.bin")).unwrap(),
        std::fs::read(dir.path().join("n.bin")).unwrap(),
    );
    assert_eq!(q.len(), 96 * 96 * 4);
    assert!(q.iter().any(|&b| b != 0));
    assert!(
        q == n,
        "the image rendered without AVX-512 differs from NANOBRAGG_SIMD=x8's"
    );
    let o = Command::new("qemu-x86_64")
        .args(["-cpu", "Haswell", BIN, "-version"])
        .env("NANOBRAGG_SIMD", "x16")
        .output()
        .expect("qemu-x86_64");
    assert_eq!(o.status.code(), Some(9));
    let err = stderr_lines(&o);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].contains("NANOBRAGG_SIMD=x16: this CPU has no AVX-512"),
        "{err:?}"
    );
}
