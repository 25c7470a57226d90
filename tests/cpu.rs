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
