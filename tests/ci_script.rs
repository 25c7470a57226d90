//! `.ci/deps.sh`, which installs the test suite's system packages: as root it runs apt-get,
//! as another user it goes through passwordless sudo, and without either it prints the exact
//! command to run and stops (status 3) instead of failing inside apt-get. Run here with
//! stand-ins for `id`, `sudo`, `ldconfig` and `apt-get` on a PATH that holds nothing else, so
//! every branch is taken whatever the machine; `NANOBRAGG_CI_DRY_RUN=1` keeps apt-get unrun.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn script(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write stub");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Run deps.sh with `uid` from `id -u` and a `sudo` that works or not; no libclang, no qemu.
fn run(uid: u32, sudo_works: Option<bool>) -> (i32, String) {
    let bin = common::Scratch::new("ci-deps");
    for tool in ["grep", "cat"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .expect("system tool");
        std::os::unix::fs::symlink(real, bin.join(tool)).expect("link tool");
    }
    script(bin.path(), "id", &format!("echo {uid}"));
    script(bin.path(), "ldconfig", "exit 0");
    script(bin.path(), "apt-get", "echo apt-get ran >&2; exit 1");
    match sudo_works {
        Some(true) => script(bin.path(), "sudo", "exit 0"),
        Some(false) => script(bin.path(), "sudo", "echo password required >&2; exit 1"),
        None => {}
    }
    let o = Command::new("/bin/bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/deps.sh"))
        .env_clear()
        .env("PATH", bin.path())
        .env("NANOBRAGG_CI_DRY_RUN", "1")
        .output()
        .expect("run deps.sh");
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (o.status.code().unwrap_or(-1), text)
}

#[test]
fn root_installs_with_apt_get() {
    let (code, out) = run(0, None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "would run:  apt-get update -qq &&  apt-get install -y -qq libclang-dev qemu-user"
        ),
        "{out}"
    );
}

#[test]
fn a_user_with_sudo_installs_through_sudo() {
    let (code, out) = run(1000, Some(true));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("would run: sudo -n apt-get update -qq && sudo -n apt-get install -y -qq libclang-dev qemu-user"),
        "{out}"
    );
}

#[test]
fn a_user_without_sudo_is_told_what_to_install() {
    for sudo in [Some(false), None] {
        let (code, out) = run(1000, sudo);
        assert_eq!(code, 3, "{out}");
        assert!(
            out.contains(
                "sudo apt-get update && sudo apt-get install -y -qq libclang-dev qemu-user"
            ),
            "{out}"
        );
        assert!(!out.contains("apt-get ran"), "{out}");
    }
}
