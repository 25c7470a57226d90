//! The C header: the committed include/nanobragg.h must equal what cbindgen generates from
//! src/ffi.rs now (regenerate with: NANOBRAGG_WRITE_HEADER=1 cargo build --release --features
//! header); it must compile as C89/C90, C99 and C++98 or later with -pedantic -Werror; and its
//! structures must have the layout of the Rust ones (ABI 1's too, for ABI-1 callers).
#![cfg(feature = "header")]

mod common;

use nanobragg::ffi::{NB_KERNEL_PARAMS_V1_SIZE, nb_kernel_params, nb_render_stats};
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn committed_header_is_up_to_date() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/nanobragg.h"))
        .expect("generated header");
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/nanobragg.h"))
            .expect("include/nanobragg.h");
    assert!(
        generated == committed,
        "include/nanobragg.h is stale: run NANOBRAGG_WRITE_HEADER=1 cargo build --release --features header"
    );
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A translation unit using every type of the header the way a legacy C program does: C89
/// (declarations first, block comments), valid C++ too.
const USE_HEADER: &str = r#"#include "nanobragg.h"

static void print_text(const char *text, void *user) { (void)text; (void)user; }
static int progress(size_t done, size_t total, void *user)
{
    (void)user;
    return done > total;
}

int use_header(double ***Fhkl, float *image, size_t pixels);
int use_header(double ***Fhkl, float *image, size_t pixels)
{
    nb_kernel_params p;
    nb_render_stats st;
    nb_status s;
    nb_sim *sim = NULL;
    p.struct_size = (uint32_t)sizeof p;
    p.fhkl = NULL;
    p.fhkl_rows = (const double *const *const *)Fhkl;
    p.print = print_text;
    p.progress = progress;
    p.user = NULL;
    p.xtal_shape = NB_SHAPE_TOPHAT;
    st.struct_size = (uint32_t)sizeof st;
    p.stats = &st;
    s = nb_render_kernel(&p, NB_PRECISION_DOUBLE, image, pixels);
    if (s == NB_ERR_CANCELLED || s == NB_OK) s = nb_sim_kernel_params_ex(sim, &p, sizeof p);
    return (int)s + (int)NANOBRAGG_ABI_VERSION + (int)NB_KERNEL_PARAMS_V1_SIZE;
}
"#;

/// Compile `source` (a file name giving the language) with `compiler` and `flags` into an
/// object file; `Err` carries the compiler's messages.
fn compile(
    compiler: &str,
    flags: &[&str],
    source: &str,
    text: &str,
    include: &Path,
) -> Result<(), String> {
    let dir = common::Scratch::new("header");
    let src = dir.join(source);
    std::fs::write(&src, text).expect("write source");
    let o = Command::new(compiler)
        .args(flags)
        .arg("-I")
        .arg(include)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(dir.join("out.o"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

fn cxx() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".into())
}

#[test]
fn the_header_compiles_as_c89_c99_and_cxx98() {
    let include = manifest().join("include");
    let strict = ["-pedantic", "-Wall", "-Wextra", "-Werror"];
    let with = |std: &str| -> Vec<String> {
        std::iter::once(std.to_string())
            .chain(strict.iter().map(|s| s.to_string()))
            .collect()
    };
    let mut failures = Vec::new();
    for (compiler, file, flags) in [
        (cc(), "use.c", with("-std=c89")),
        (
            cc(),
            "use.c",
            vec!["-ansi".into(), "-pedantic-errors".into()],
        ),
        (cc(), "use.c", with("-std=c99")),
        (cc(), "use.c", with("-std=c11")),
        (cxx(), "use.cpp", with("-std=c++98")),
        (cxx(), "use.cpp", with("-std=c++11")),
        (cxx(), "use.cpp", with("-std=c++17")),
    ] {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        if let Err(e) = compile(&compiler, &flags, file, USE_HEADER, &include) {
            failures.push(format!("{compiler} {}:\n{e}", flags.join(" ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // the check can fail: a C99 comment in a header is an error for -std=c89 -pedantic
    let dir = common::Scratch::new("header-c99");
    std::fs::write(dir.join("nanobragg.h"), "// a C99 comment\n").expect("write");
    assert!(
        compile(
            &cc(),
            &with("-std=c89")
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            "t.c",
            "#include \"nanobragg.h\"\nint x;\n",
            dir.path()
        )
        .is_err()
    );
}

/// Build and run a C program printing `sizeof`/`offsetof` values of the header in `include`.
fn c_layout(include: &Path, exprs: &[&str]) -> Vec<usize> {
    let dir = common::Scratch::new("layout");
    let mut text = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"nanobragg.h\"\nint main(void)\n{\n",
    );
    for e in exprs {
        text.push_str(&format!("    printf(\"%lu\\n\", (unsigned long)({e}));\n"));
    }
    text.push_str("    return 0;\n}\n");
    let src = dir.join("layout.c");
    std::fs::write(&src, text).expect("write");
    let exe: PathBuf = dir.join("layout");
    let o = Command::new(cc())
        .args(["-std=c99", "-Wall", "-Werror", "-I"])
        .arg(include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("cc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = Command::new(&exe).output().expect("run layout");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().expect("number"))
        .collect()
}

#[test]
fn the_structures_have_the_rust_layout() {
    let c = c_layout(
        &manifest().join("include"),
        &[
            "sizeof(nb_kernel_params)",
            "offsetof(nb_kernel_params, mask)",
            "offsetof(nb_kernel_params, fhkl)",
            "offsetof(nb_kernel_params, fix_quirks)",
            "offsetof(nb_kernel_params, fhkl_rows)",
            "offsetof(nb_kernel_params, print)",
            "offsetof(nb_kernel_params, lambda0)",
            "offsetof(nb_kernel_params, stats)",
            "sizeof(nb_render_stats)",
            "offsetof(nb_render_stats, max_I)",
            "offsetof(nb_render_stats, sumn)",
            "offsetof(nb_render_stats, exact_kernel)",
            "NB_KERNEL_PARAMS_V1_SIZE",
            "sizeof(nb_status)",
        ],
    );
    let rust = vec![
        size_of::<nb_kernel_params>(),
        offset_of!(nb_kernel_params, mask),
        offset_of!(nb_kernel_params, fhkl),
        offset_of!(nb_kernel_params, fix_quirks),
        offset_of!(nb_kernel_params, fhkl_rows),
        offset_of!(nb_kernel_params, print),
        offset_of!(nb_kernel_params, lambda0),
        offset_of!(nb_kernel_params, stats),
        size_of::<nb_render_stats>(),
        offset_of!(nb_render_stats, max_I),
        offset_of!(nb_render_stats, sumn),
        offset_of!(nb_render_stats, exact_kernel),
        NB_KERNEL_PARAMS_V1_SIZE as usize,
        size_of::<nanobragg::ffi::nb_status>(),
    ];
    assert_eq!(c, rust);
    // ABI 1's struct, as its header declared it, is the start of ABI 2's
    let v1 = c_layout(
        &manifest().join("tests/data/abi1"),
        &[
            "sizeof(nb_kernel_params)",
            "offsetof(nb_kernel_params, fhkl)",
            "offsetof(nb_kernel_params, fix_quirks)",
        ],
    );
    assert_eq!(
        v1,
        vec![
            NB_KERNEL_PARAMS_V1_SIZE as usize,
            offset_of!(nb_kernel_params, fhkl),
            offset_of!(nb_kernel_params, fix_quirks),
        ]
    );
}
