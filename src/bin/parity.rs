//! `nanoBragg-parity`: run this program and the reference nanoBragg (or take a stored reference
//! float image) on the same command line, and write a metrics bundle.
//!
//! ```text
//! nanoBragg-parity [--c-bin PATH | --c-image FILE] [--out DIR] [--name NAME] -- <nanoBragg arguments>
//! nanoBragg-parity --matrix FILE.yaml [--c-bin PATH] [--out DIR]
//! ```
//!
//! Each run goes into `<out>/<name>/<UTC stamp>/` (default out: `reports`): `rust/` and `c/` (the
//! two runs' folders: outputs, stdout, stderr), `metrics.json`, `commands.txt`, `env.json` and
//! `notes.md`. Relative input files of the command line are read from the current folder (the
//! matrix file's `workdir` in matrix mode). The exit status is 0 when every threshold holds,
//! 1 when one fails, 2 for a usage or run error.

use nanobragg::metrics::{Metrics, compare};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: nanoBragg-parity [--c-bin PATH | --c-image FILE] [--out DIR] [--name NAME] -- <nanoBragg arguments>
       nanoBragg-parity --matrix FILE.yaml [--c-bin PATH] [--out DIR]
  --c-bin PATH     reference nanoBragg binary to run (default: $NB_C_BIN)
  --c-image FILE   stored reference float image instead of running the reference
  --rust-bin PATH  this program's binary (default: nanoBragg beside this tool, else on PATH)
  --out DIR        root of the report folders (default: reports)
  --name NAME      report name (default: parity)
  --thresholds double|single
                   default bars of that precision (default: the precision the arguments select)
  --matrix FILE    run every case of a YAML matrix file and print a summary table
thresholds default to correlation >= 0.999999 and |sum_ratio - 1| <= 1e-6 for -precision double,
0.99999 and 1e-4 for single (the default precision)";

/// Pass/fail bars on the float image.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Thresholds {
    corr_min: Option<f64>,
    sum_ratio_min: Option<f64>,
    sum_ratio_max: Option<f64>,
    max_abs_max: Option<f64>,
}

impl Thresholds {
    /// The defaults for a precision.
    fn default_for(double: bool) -> Thresholds {
        let (corr, tol) = if double {
            (0.999999, 1e-6)
        } else {
            (0.99999, 1e-4)
        };
        Thresholds {
            corr_min: Some(corr),
            sum_ratio_min: Some(1.0 - tol),
            sum_ratio_max: Some(1.0 + tol),
            max_abs_max: None,
        }
    }

    /// `self` where set, else `base`.
    fn over(self, base: Thresholds) -> Thresholds {
        Thresholds {
            corr_min: self.corr_min.or(base.corr_min),
            sum_ratio_min: self.sum_ratio_min.or(base.sum_ratio_min),
            sum_ratio_max: self.sum_ratio_max.or(base.sum_ratio_max),
            max_abs_max: self.max_abs_max.or(base.max_abs_max),
        }
    }

    /// The bars that fail (empty when all hold).
    fn failures(&self, m: &Metrics) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(c) = self.corr_min
            && (m.correlation.is_nan() || m.correlation < c)
        {
            f.push(format!("correlation {:.9} < {c}", m.correlation));
        }
        if let Some(lo) = self.sum_ratio_min
            && (m.sum_ratio.is_nan() || m.sum_ratio < lo)
        {
            f.push(format!("sum_ratio {:.9} < {lo}", m.sum_ratio));
        }
        if let Some(hi) = self.sum_ratio_max
            && (m.sum_ratio.is_nan() || m.sum_ratio > hi)
        {
            f.push(format!("sum_ratio {:.9} > {hi}", m.sum_ratio));
        }
        if let Some(a) = self.max_abs_max
            && (m.max_abs_diff.is_nan() || m.max_abs_diff > a)
        {
            f.push(format!("max_abs_diff {:.6e} > {a}", m.max_abs_diff));
        }
        if m.non_finite > 0 {
            f.push(format!(
                "{} pixels not finite where the reference is",
                m.non_finite
            ));
        }
        f
    }
}

/// What the image is compared with.
#[derive(Clone, Debug)]
enum Reference {
    Bin(PathBuf),
    Image(PathBuf),
}

/// One comparison to make.
struct Spec {
    name: String,
    args: Vec<String>,
    reference: Reference,
    /// Folder whose files the relative input paths name.
    workdir: PathBuf,
    thresholds: Thresholds,
    out: PathBuf,
}

#[derive(Serialize)]
struct MetricsJson<'a> {
    name: &'a str,
    precision: &'a str,
    rust_sum: f64,
    c_sum: f64,
    sum_ratio: f64,
    correlation: f64,
    max_abs_diff: f64,
    max_ulp: u64,
    identical_fraction: f64,
    within_1ulp_fraction: f64,
    pixels: usize,
    non_finite: usize,
    thresholds: Thresholds,
    pass: bool,
    failures: &'a [String],
}

/// The outcome of one comparison.
struct Outcome {
    name: String,
    bundle: PathBuf,
    metrics: Metrics,
    failures: Vec<String>,
}

type Res<T> = Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("nanoBragg-parity: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Parse the command line and run; `Ok(pass)`.
fn run(args: &[String]) -> Res<bool> {
    let mut c_bin: Option<PathBuf> = None;
    let mut c_image: Option<PathBuf> = None;
    let mut rust_bin: Option<PathBuf> = None;
    let mut out = PathBuf::from("reports");
    let mut name = "parity".to_string();
    let mut matrix: Option<PathBuf> = None;
    let mut bars: Option<bool> = None;
    let mut rest: Option<Vec<String>> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            rest = Some(args[i + 1..].to_vec());
            break;
        }
        if a == "-h" || a == "--help" {
            println!("{USAGE}");
            return Ok(true);
        }
        let value = || {
            args.get(i + 1)
                .cloned()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a {
            "--c-bin" => c_bin = Some(value()?.into()),
            "--c-image" => c_image = Some(value()?.into()),
            "--rust-bin" => rust_bin = Some(value()?.into()),
            "--out" => out = value()?.into(),
            "--name" => name = value()?,
            "--matrix" => matrix = Some(value()?.into()),
            "--thresholds" => {
                bars = Some(match value()?.as_str() {
                    "double" => true,
                    "single" => false,
                    v => return Err(format!("--thresholds takes double or single, not '{v}'")),
                })
            }
            _ => return Err(format!("unknown option '{a}'\n{USAGE}")),
        }
        i += 2;
    }
    if c_bin.is_some() && c_image.is_some() {
        return Err("give --c-bin or --c-image, not both".into());
    }
    let c_bin = c_bin
        .or_else(|| std::env::var_os("NB_C_BIN").map(PathBuf::from))
        .map(|p| absolute_program(&p))
        .transpose()?;
    let rust_bin = match rust_bin {
        Some(p) => absolute_program(&p)?,
        None => find_rust_bin()?,
    };
    if let Some(m) = matrix {
        if rest.is_some() {
            return Err("--matrix takes no nanoBragg arguments after --".into());
        }
        return run_matrix(&m, c_bin, &rust_bin, &out);
    }
    let args = rest.ok_or_else(|| format!("missing -- <nanoBragg arguments>\n{USAGE}"))?;
    if args.is_empty() {
        return Err("no nanoBragg arguments after --".into());
    }
    let reference = match (c_image, c_bin) {
        (Some(img), _) => Reference::Image(img),
        (None, Some(bin)) => Reference::Bin(bin),
        (None, None) => {
            return Err("no reference: give --c-bin PATH, --c-image FILE or set NB_C_BIN".into());
        }
    };
    let double = bars.unwrap_or_else(|| is_double(&args));
    let spec = Spec {
        name: name.clone(),
        args,
        reference,
        workdir: std::env::current_dir().map_err(|e| e.to_string())?,
        thresholds: Thresholds::default_for(double),
        out,
    };
    let o = run_spec(&spec, &rust_bin)?;
    print_table(std::slice::from_ref(&o));
    Ok(o.failures.is_empty())
}

/// The precision the arguments select (the last -precision wins; single by default).
fn is_double(args: &[String]) -> bool {
    args.windows(2)
        .filter(|w| w[0] == "-precision")
        .map(|w| w[1] == "double")
        .next_back()
        .unwrap_or(false)
}

/// A program path that still names the program from another folder (a bare name is left to
/// the PATH search).
fn absolute_program(p: &Path) -> Res<PathBuf> {
    if p.components().count() > 1 || p.is_absolute() {
        std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()))
    } else {
        Ok(p.to_path_buf())
    }
}

fn find_rust_bin() -> Res<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let sibling = exe.with_file_name(format!("nanoBragg{}", std::env::consts::EXE_SUFFIX));
    if sibling.is_file() {
        return Ok(sibling);
    }
    Ok(PathBuf::from("nanoBragg"))
}

/// Run one comparison into its bundle.
fn run_spec(spec: &Spec, rust_bin: &Path) -> Res<Outcome> {
    let bundle = stamped_dir(&spec.out.join(&spec.name))?;
    let (rust_dir, c_dir) = (bundle.join("rust"), bundle.join("c"));
    for d in [&rust_dir, &c_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    // what the command line reads and writes, as this program understands it
    let exp = in_dir(&spec.workdir, || nanobragg::setup::resolve(&spec.args, -1))
        .map_err(|e| format!("nanoBragg arguments: {e}"))?;
    let o = &exp.opts;
    let args = absolute_inputs(&spec.args, o, &spec.workdir);
    if let nanobragg::setup::FSource::Dump(_) = exp.f_source {
        // the structure factors come from the dump file: both runs need it in their folder
        let from = spec.workdir.join(&o.dumpfile);
        for d in [&rust_dir, &c_dir] {
            std::fs::copy(&from, d.join(&o.dumpfile))
                .map_err(|e| format!("{}: {e}", from.display()))?;
        }
    }
    let mut commands = Vec::new();
    let rust_image = rust_dir.join(&o.floatfile);
    commands.push(execute(rust_bin, &args, &rust_dir)?);
    let c_image = match &spec.reference {
        Reference::Bin(bin) => {
            commands.push(execute(bin, &args, &c_dir)?);
            c_dir.join(&o.floatfile)
        }
        Reference::Image(img) => {
            let to = c_dir.join("reference_float.bin");
            let from = if img.is_absolute() {
                img.clone()
            } else {
                spec.workdir.join(img)
            };
            std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
            commands.push(format!("# reference image: {}", from.display()));
            to
        }
    };
    let a = read_image(&rust_image)?;
    let b = read_image(&c_image)?;
    if a.len() != b.len() {
        return Err(format!(
            "image sizes differ: {} has {} pixels, {} has {}",
            rust_image.display(),
            a.len(),
            c_image.display(),
            b.len()
        ));
    }
    let m = compare(&a, &b);
    let failures = spec.thresholds.failures(&m);
    let precision = if is_double(&spec.args) {
        "double"
    } else {
        "single"
    };
    let json = MetricsJson {
        name: &spec.name,
        precision,
        rust_sum: m.sum,
        c_sum: m.ref_sum,
        sum_ratio: m.sum_ratio,
        correlation: m.correlation,
        max_abs_diff: m.max_abs_diff,
        max_ulp: m.max_ulp,
        identical_fraction: m.identical_fraction,
        within_1ulp_fraction: m.within_1ulp_fraction,
        pixels: m.pixels,
        non_finite: m.non_finite,
        thresholds: spec.thresholds,
        pass: failures.is_empty(),
        failures: &failures,
    };
    write(
        &bundle.join("metrics.json"),
        &(serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n"),
    )?;
    write(&bundle.join("commands.txt"), &(commands.join("\n") + "\n"))?;
    let env = environment(rust_bin, &spec.reference);
    write(
        &bundle.join("env.json"),
        &(serde_json::to_string_pretty(&env).map_err(|e| e.to_string())? + "\n"),
    )?;
    write(
        &bundle.join("notes.md"),
        &notes(spec, precision, &m, &failures, &commands),
    )?;
    Ok(Outcome {
        name: spec.name.clone(),
        bundle,
        metrics: m,
        failures,
    })
}

/// Replace relative input-file values that exist under `workdir` with absolute paths, so both
/// runs (in their own folders) read the same files.
fn absolute_inputs(
    args: &[String],
    o: &nanobragg::options::Options,
    workdir: &Path,
) -> Vec<String> {
    let inputs: Vec<&str> = [
        &o.matfile,
        &o.hklfile,
        &o.sourcefile,
        &o.stolfile,
        &o.imgfile,
        &o.maskfile,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect();
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            let is_value = i > 0 && args[i - 1].starts_with('-');
            if is_value && inputs.contains(&a.as_str()) && Path::new(a).is_relative() {
                let p = workdir.join(a);
                if p.exists() {
                    return p.to_string_lossy().into_owned();
                }
            }
            a.clone()
        })
        .collect()
}

/// Run `bin args` in `dir`, saving its stdout and stderr there; the command line as a shell
/// line.
fn execute(bin: &Path, args: &[String], dir: &Path) -> Res<String> {
    let o = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    write(&dir.join("stdout.txt"), &String::from_utf8_lossy(&o.stdout))?;
    write(&dir.join("stderr.txt"), &String::from_utf8_lossy(&o.stderr))?;
    let line = format!(
        "cd {} && {} {}",
        quote(&dir.to_string_lossy()),
        quote(&bin.to_string_lossy()),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
    );
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        return Err(format!(
            "{} failed ({}): {}",
            bin.display(),
            o.status,
            err.lines().last().unwrap_or("")
        ));
    }
    Ok(line)
}

/// Shell quoting for the commands file.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./=:+,@".contains(&c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn read_image(p: &Path) -> Res<Vec<f32>> {
    let b = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    nanobragg::io::float::decode(&b).ok_or_else(|| {
        format!(
            "{}: not a float32 image (length not a multiple of 4)",
            p.display()
        )
    })
}

fn write(p: &Path, text: &str) -> Res<()> {
    std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))
}

fn in_dir<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    let old = std::env::current_dir().ok();
    let moved = std::env::set_current_dir(dir).is_ok();
    let r = f();
    if let (true, Some(o)) = (moved, old) {
        let _ = std::env::set_current_dir(o);
    }
    r
}

/// `<root>/<UTC stamp>`, created (a suffix keeps two runs in the same second apart).
fn stamped_dir(root: &Path) -> Res<PathBuf> {
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let root = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let stamp = utc_stamp();
    for n in 0..1000 {
        let d = if n == 0 {
            root.join(&stamp)
        } else {
            root.join(format!("{stamp}-{n}"))
        };
        if !d.exists() {
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            return Ok(d);
        }
    }
    Err(format!("{}: too many reports this second", root.display()))
}

/// The current UTC time as `YYYYMMDDTHHMMSSZ`.
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[derive(Serialize)]
struct Env {
    tool: String,
    rust_bin: String,
    reference: String,
    cpu_compiled_for: Vec<&'static str>,
    cpu_features: Vec<&'static str>,
    rayon_num_threads: Option<String>,
    omp_num_threads: Option<String>,
    available_parallelism: usize,
    os: &'static str,
    arch: &'static str,
}

fn environment(rust_bin: &Path, reference: &Reference) -> Env {
    Env {
        tool: format!("nanoBragg-parity {}", env!("CARGO_PKG_VERSION")),
        rust_bin: rust_bin.display().to_string(),
        reference: match reference {
            Reference::Bin(b) => format!("binary {}", b.display()),
            Reference::Image(i) => format!("image {}", i.display()),
        },
        cpu_compiled_for: nanobragg::cpu::compiled_features(),
        cpu_features: nanobragg::cpu::cpu_features(),
        rayon_num_threads: std::env::var("RAYON_NUM_THREADS").ok(),
        omp_num_threads: std::env::var("OMP_NUM_THREADS").ok(),
        available_parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
    }
}

fn notes(
    spec: &Spec,
    precision: &str,
    m: &Metrics,
    failures: &[String],
    commands: &[String],
) -> String {
    let t = &spec.thresholds;
    let bar = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x}"));
    let mut s = format!(
        "# Parity report: {}\n\n**{}** ({} precision, {} pixels)\n\n",
        spec.name,
        if failures.is_empty() { "PASS" } else { "FAIL" },
        precision,
        m.pixels
    );
    s += "| metric | value | bar |\n|---|---|---|\n";
    s += &format!(
        "| correlation | {:.10} | >= {} |\n",
        m.correlation,
        bar(t.corr_min)
    );
    s += &format!(
        "| sum ratio (rust/c) | {:.10} | {} .. {} |\n",
        m.sum_ratio,
        bar(t.sum_ratio_min),
        bar(t.sum_ratio_max)
    );
    s += &format!(
        "| max abs diff | {:.6e} | <= {} |\n",
        m.max_abs_diff,
        bar(t.max_abs_max)
    );
    s += &format!("| max ulp | {} | |\n", m.max_ulp);
    s += &format!("| identical pixels | {:.6} | |\n", m.identical_fraction);
    s += &format!(
        "| rust sum | {:.10e} | |\n| c sum | {:.10e} | |\n",
        m.sum, m.ref_sum
    );
    if !failures.is_empty() {
        s += "\nFailed bars:\n";
        for f in failures {
            s += &format!("- {f}\n");
        }
    }
    s += "\nCommands:\n\n```\n";
    s += &commands.join("\n");
    s += "\n```\n";
    s
}

fn print_table(rows: &[Outcome]) {
    println!(
        "{:<32} {:>14} {:>14} {:>11} {:>9} {:>9}  result",
        "case", "correlation", "sum_ratio", "max_abs", "max_ulp", "identical"
    );
    for o in rows {
        let m = &o.metrics;
        println!(
            "{:<32} {:>14.10} {:>14.10} {:>11.3e} {:>9} {:>9.6}  {}",
            o.name,
            m.correlation,
            m.sum_ratio,
            m.max_abs_diff,
            m.max_ulp,
            m.identical_fraction,
            if o.failures.is_empty() {
                "PASS".to_string()
            } else {
                format!("FAIL: {}", o.failures.join("; "))
            }
        );
    }
    for o in rows {
        println!("report: {}", o.bundle.display());
    }
}

/// A matrix file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Matrix {
    /// Folder (relative to the matrix file) holding the input files; default: the file's.
    workdir: Option<String>,
    cases: Vec<MatrixCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixCase {
    id: String,
    base_args: String,
    /// Stored reference float image (relative to the matrix file); else the reference binary.
    c_image: Option<String>,
    #[serde(default)]
    thresholds: Thresholds,
    #[serde(default)]
    runs: Vec<MatrixRun>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixRun {
    id: String,
    #[serde(default)]
    extra_args: String,
    #[serde(default)]
    thresholds: Thresholds,
}

fn run_matrix(file: &Path, c_bin: Option<PathBuf>, rust_bin: &Path, out: &Path) -> Res<bool> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let m: Matrix =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    if m.cases.is_empty() {
        return Err(format!("{}: no cases", file.display()));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let workdir = base.join(m.workdir.as_deref().unwrap_or("."));
    let mut rows = Vec::new();
    for case in &m.cases {
        let runs = if case.runs.is_empty() {
            vec![MatrixRun {
                id: String::new(),
                extra_args: String::new(),
                thresholds: Thresholds::default(),
            }]
        } else {
            case.runs.iter().map(clone_run).collect()
        };
        for run in runs {
            let args: Vec<String> = case
                .base_args
                .split_whitespace()
                .chain(run.extra_args.split_whitespace())
                .map(String::from)
                .collect();
            let reference = match (&case.c_image, &c_bin) {
                (Some(img), _) => Reference::Image(base.join(img)),
                (None, Some(bin)) => Reference::Bin(bin.clone()),
                (None, None) => {
                    return Err(format!(
                        "case {}: no c_image and no reference binary (--c-bin or NB_C_BIN)",
                        case.id
                    ));
                }
            };
            let name = if run.id.is_empty() {
                case.id.clone()
            } else {
                format!("{}-{}", case.id, run.id)
            };
            let thresholds = run
                .thresholds
                .over(case.thresholds)
                .over(Thresholds::default_for(is_double(&args)));
            let spec = Spec {
                name,
                args,
                reference,
                workdir: workdir.clone(),
                thresholds,
                out: out.to_path_buf(),
            };
            rows.push(run_spec(&spec, rust_bin)?);
        }
    }
    print_table(&rows);
    let failed = rows.iter().filter(|o| !o.failures.is_empty()).count();
    println!("{} runs, {} failed", rows.len(), failed);
    Ok(failed == 0)
}

fn clone_run(r: &MatrixRun) -> MatrixRun {
    MatrixRun {
        id: r.id.clone(),
        extra_args: r.extra_args.clone(),
        thresholds: r.thresholds,
    }
}
