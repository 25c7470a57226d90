//! Shared helpers for the integration tests: golden cases, scratch folders, image files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The golden data copied from the reference program (tests/data/golden).
pub fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden")
}

/// One golden case: a nanoBragg command line and the folder holding its outputs.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub args: Vec<String>,
    /// Files to copy before running: (destination name, source name in inputs/).
    pub setup: Vec<(String, String)>,
    /// Folder with the reference outputs (float.bin, int.img, ..., stdout.txt).
    pub outputs: PathBuf,
    /// Folder with the physically corrected output (compat cases only).
    pub corrected: Option<PathBuf>,
}

fn read_cases(tsv: &str, dir: &str, corrected: Option<&str>) -> Vec<Case> {
    let g = golden();
    let text = std::fs::read_to_string(g.join(tsv)).expect("cases file");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let setup = cols
                .get(2)
                .map(|s| {
                    s.split_whitespace()
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            Case {
                name: cols[0].to_string(),
                args: cols[1].split_whitespace().map(String::from).collect(),
                setup,
                outputs: g.join(dir).join(cols[0]),
                corrected: corrected.map(|c| g.join(c).join(cols[0])),
            }
        })
        .collect()
}

/// The 52 main cases.
pub fn cases() -> Vec<Case> {
    read_cases("cases.tsv", "cases", None)
}

/// The reference-defect cases (their outputs are the reference's; `corrected` the fixed ones).
pub fn compat_cases() -> Vec<Case> {
    read_cases("compat_cases.tsv", "compat/cases", Some("compat/corrected"))
}

/// Every case with a float image.
pub fn all_cases() -> Vec<Case> {
    let mut v = cases();
    v.extend(compat_cases());
    v
}

/// The benchmark cases (name, arguments).
pub fn perf_cases() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(golden().join("perf_cases.tsv")).expect("perf cases");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (n, a) = l.split_once('\t').expect("tab");
            (
                n.to_string(),
                a.split_whitespace().map(String::from).collect(),
            )
        })
        .collect()
}

/// A scratch folder removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "nanobragg-test-{}-{}-{}",
            std::process::id(),
            tag,
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("scratch dir");
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A scratch folder holding every golden input file, plus the case's setup copies.
pub fn prepare(case: &Case) -> Scratch {
    let s = Scratch::new(&case.name);
    let inputs = golden().join("inputs");
    for e in std::fs::read_dir(&inputs).expect("inputs") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), s.join(&e.file_name().to_string_lossy())).expect("copy input");
    }
    for (dst, src) in &case.setup {
        std::fs::copy(inputs.join(src), s.join(dst)).expect("copy setup file");
    }
    s
}

/// Read a float32 image.
pub fn read_f32(p: &Path) -> Vec<f32> {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    nanobragg::io::float::decode(&b).expect("float image length")
}

/// Run `f` with the current directory set to `dir` (serialised: the directory is per process).
pub fn in_dir<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    use std::sync::Mutex;
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let old = std::env::current_dir().expect("cwd");
    std::env::set_current_dir(dir).expect("chdir");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::env::set_current_dir(old).expect("chdir back");
    match r {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// Arguments with the program's own options placed first (so they never change the
/// reference's substring rules, which look at the arguments that follow an option).
pub fn with_prefix(prefix: &[&str], args: &[String]) -> Vec<String> {
    prefix
        .iter()
        .map(|s| s.to_string())
        .chain(args.iter().cloned())
        .collect()
}

/// The names in a folder, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Run the nanoBragg binary `bin` in `dir` and expect a clean failure: exit status 9, exactly
/// one line on stderr besides warnings, "nanoBragg: error: " followed by a message holding
/// every word of `words`, no panic, and no file created or removed in `dir`.
pub fn expect_cli_error<I, S>(bin: &str, dir: &Path, args: I, words: &[&str])
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let what = format!("{args:?}");
    let before = listing(dir);
    let o = std::process::Command::new(bin)
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("run nanoBragg");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9), "{what}: stderr {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains("warning:")).collect();
    assert_eq!(
        lines.len(),
        1,
        "{what}: expected one error line, got {err:?}"
    );
    assert!(lines[0].starts_with("nanoBragg: error: "), "{what}: {err}");
    for w in words {
        assert!(
            lines[0].contains(w),
            "{what}: error {:?} does not mention {w:?}",
            lines[0]
        );
    }
    assert_eq!(
        listing(dir),
        before,
        "{what}: files were created or removed"
    );
}

/// The shape part of the single-precision accuracy bar, for finite pixels `m` compares against
/// `reference`: correlation ≥ 0.99999, except for an image flat to 1e-3 (standard deviation over
/// mean), whose contrast is too small for the correlation to measure anything but rounding:
/// there every pixel must be within 1e-5 of the largest. Returns (passed, flat, largest |value|).
pub fn shape_ok(m: &nanobragg::metrics::Metrics, reference: &[f32]) -> (bool, bool, f64) {
    let n = reference.len().max(1) as f64;
    let mean = reference.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (reference
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let peak = peak(reference);
    let flat = sd < 1e-3 * mean.abs();
    let ok = if flat {
        m.max_abs_diff <= 1e-5 * peak
    } else {
        m.correlation >= 0.99999
    };
    (ok, flat, peak)
}

/// The largest finite |value| of an image.
pub fn peak(img: &[f32]) -> f64 {
    img.iter()
        .filter(|v| v.is_finite())
        .fold(0f64, |p, &v| p.max((v as f64).abs()))
}
