//! Command-line parsing: nanoBragg's option spellings, substring rules and units.
//!
//! This is the only place that knows how nanoBragg.c reads its arguments. The rules are the
//! reference's (section 2 of reference-behaviour.md): every argument starting with `-` is tested
//! against every option in table order, by substring; values are read from the following
//! arguments without being consumed; later options override earlier ones.
//!
//! Where the reference silently ignores something (an unknown option, a missing or non-numeric
//! value, a stray word), this parser returns an error naming it instead. Where an accidental
//! substring match changes what the user asked for (the `-misset_seed` and `-twotheta_axis`
//! collisions), the reference's result is kept and a warning is recorded; `-fix_quirks`
//! turns the collision off.

pub mod table;

use crate::cfmt::{atof, atoi, parse_f64_strict, parse_i32_strict};
use crate::error::Error;
use crate::options::{Convention, Interpolation, Misset, Options, Pivot, Precision, RTD, Shape};
use table::{Cond, Entry, IGNORED, Key, SPELLINGS, TABLE};

/// What the caller should do after parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Run,
    Help,
    Version,
}

/// The arguments the reference reads before anything else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prescan {
    /// `-img` file (last occurrence).
    pub img: Option<String>,
    /// `-mask` file (last occurrence).
    pub mask: Option<String>,
    /// `-fix_quirks` anywhere on the line.
    pub fix_quirks: bool,
}

/// The pre-scan: any argument containing `-img` or `-mask` names a file (last wins).
/// `args` excludes the program name.
pub fn prescan(args: &[String]) -> Prescan {
    let mut p = Prescan::default();
    for (i, a) in args.iter().enumerate() {
        if !a.starts_with('-') {
            continue;
        }
        if a == "-fix_quirks" {
            p.fix_quirks = true;
        }
        if let Some(next) = args.get(i + 1) {
            if a.contains("-img") {
                p.img = Some(next.clone());
            }
            if a.contains("-mask") {
                p.mask = Some(next.clone());
            }
        }
    }
    p
}

/// Reads option values either strictly (the option the user meant) or with C `atof`/`atoi`
/// (an accidental substring match, read exactly as the reference does).
struct Values<'a> {
    opt: &'a str,
    vals: &'a [String],
    strict: bool,
    /// Warnings about how values were read.
    notes: std::cell::RefCell<Vec<String>>,
}

impl Values<'_> {
    fn f(&self, k: usize) -> Result<f64, Error> {
        let s = &self.vals[k];
        if !self.strict {
            return Ok(atof(s));
        }
        let x = parse_f64_strict(s).ok_or_else(|| {
            Error::usage(format!(
                "{}: expected a number, got '{}'",
                self.opt,
                crate::cfmt::clip(s)
            ))
        })?;
        if !x.is_finite() {
            return Err(Error::usage(format!(
                "{}: the value '{}' is not finite",
                self.opt,
                crate::cfmt::clip(s)
            )));
        }
        Ok(x)
    }
    /// An integer read as the reference reads it (`atoi`: "5.0" and "5.7" are 5), as long as
    /// the whole token is a number; a note says so where that truncates.
    fn i(&self, k: usize) -> Result<i32, Error> {
        let s = &self.vals[k];
        if !self.strict {
            return Ok(atoi(s));
        }
        if let Some(n) = parse_i32_strict(s) {
            return Ok(n);
        }
        let whole = parse_f64_strict(s).filter(|x| x.is_finite());
        let (lead, used) = crate::cfmt::strtol(s.trim());
        match (whole, i32::try_from(lead)) {
            (Some(x), Ok(n)) if used > 0 => {
                if x != n as f64 {
                    self.notes.borrow_mut().push(format!(
                        "{} {} is read as {n}, as nanoBragg.c reads an integer (the digits before the first other character)",
                        self.opt,
                        crate::cfmt::clip(s)
                    ));
                }
                Ok(n)
            }
            _ => Err(Error::usage(format!(
                "{}: expected an integer, got '{}'",
                self.opt,
                crate::cfmt::clip(s)
            ))),
        }
    }
    /// A unit-cell count: an integer that must not be negative when read strictly (0 is
    /// accepted with its reference meaning).
    fn cells(&self, k: usize) -> Result<f64, Error> {
        let n = self.i(k)?;
        if self.strict && n < 0 {
            return Err(Error::usage(format!(
                "{}: the number of unit cells cannot be negative, got {n}",
                self.opt
            )));
        }
        Ok(n as f64)
    }
    /// A pixel count: an integer that must be positive when read strictly.
    fn count(&self, k: usize) -> Result<i32, Error> {
        let n = self.i(k)?;
        if self.strict && n <= 0 {
            return Err(Error::usage(format!(
                "{}: the pixel count must be positive, got {n}",
                self.opt
            )));
        }
        Ok(n)
    }
    fn s(&self, k: usize) -> String {
        self.vals[k].clone()
    }
    fn v3(&self) -> Result<[f64; 3], Error> {
        Ok([self.f(0)?, self.f(1)?, self.f(2)?])
    }
}

/// Parse `args` (without the program name) into `o`, which already holds the defaults and any
/// values taken from `-img`/`-mask` headers. Warnings for reference quirks are appended to
/// `warnings`.
pub fn parse_into(
    args: &[String],
    o: &mut Options,
    warnings: &mut Vec<String>,
) -> Result<Action, Error> {
    parse_report(args, o, warnings).map(|r| r.action)
}

/// What a parse did besides setting options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub action: Action,
    /// Some option test found fewer arguments after it than it reads (so arguments appended
    /// to the line could change what it does: `-misset_seed` near the end, `-curved_det` last).
    pub lookahead_short: bool,
    /// The options the user meant, by argument index (the test with the longest matching key
    /// of each option argument).
    pub keys: Vec<(usize, Key)>,
}

/// Options an image of a series may change (`-shots` lines, the options a series derives for
/// its images): spindle start, orientation, seeds, fluence, cell counts, the matrix file and
/// the output files.
pub fn per_image(k: Key) -> bool {
    use Key::*;
    matches!(
        k,
        Phi | Misset
            | MissetRandom
            | MissetSeed
            | Seed
            | MosaicSeed
            | Fluence
            | N
            | Na
            | Nb
            | Nc
            | Mat
            | Floatfile
            | Intfile
            | Pgmfile
            | Noisefile
            | Pngfile
            | Nonoise
            | Nopgm
    )
}

/// Parse an image's own options into `o` (the command line's options): only the kinds of
/// [`per_image`] are accepted. Returns the keys given.
pub fn parse_per_image(
    args: &[String],
    o: &mut Options,
    warnings: &mut Vec<String>,
) -> Result<Vec<Key>, Error> {
    let mut scratch = o.clone();
    let r = parse_report(args, &mut scratch, warnings)?;
    if let Some((i, _)) = r.keys.iter().find(|(_, k)| !per_image(*k)) {
        return Err(Error::usage(format!(
            "{} cannot change from one image to the next (every image shares it); an image may set -phi, -misset, -misset_seed, -seed, -mosaic_seed, -fluence, -N/-Na/-Nb/-Nc, -mat and its output files",
            crate::cfmt::clip(&args[*i])
        )));
    }
    if r.action != Action::Run {
        return Err(Error::usage(
            "-help and -version are not options of an image",
        ));
    }
    *o = scratch;
    Ok(r.keys.into_iter().map(|(_, k)| k).collect())
}

/// As [`parse_into`], with a [`Report`].
pub fn parse_report(
    args: &[String],
    o: &mut Options,
    warnings: &mut Vec<String>,
) -> Result<Report, Error> {
    let fix = o.fix_quirks || args.iter().any(|a| a == "-fix_quirks");
    o.fix_quirks = fix;
    let argc = args.len();
    // Arguments claimed as values by some option (so a non-option word there is fine).
    let mut claimed = vec![false; argc];
    let mut action = Action::Run;
    let mut lookahead_short = false;
    let mut keys = Vec::new();
    let mut misset_quirks: Vec<usize> = Vec::new();
    for i in 0..argc {
        let arg = args[i].as_str();
        if !arg.starts_with('-') {
            if !claimed[i] {
                return Err(Error::usage(format!(
                    "unexpected argument '{}' (not a value of any option)",
                    crate::cfmt::clip(arg)
                )));
            }
            continue;
        }
        // Which tests would fire on the spelling alone, and which of them is the option meant:
        // the one with the longest matching key.
        let matching: Vec<&Entry> = TABLE
            .iter()
            .filter(|e| e.conds.iter().any(|c| c.matches(arg)))
            .collect();
        if matching.is_empty() {
            if claimed[i] {
                continue; // a value that happens to start with '-', e.g. "-misset -10 5 5"
            }
            if let Some((_, meant)) = IGNORED.iter().find(|(word, _)| *word == arg) {
                // in nanoBragg.c's own examples, and ignored by it, with its value
                let value = args.get(i + 1).filter(|v| parse_f64_strict(v).is_some());
                if value.is_some() {
                    claimed[i + 1] = true;
                }
                warnings.push(format!(
                    "{arg}{} has no effect: nanoBragg.c does not know {arg} and ignores it{}; you probably meant {meant}",
                    value.map(|v| format!(" {}", crate::cfmt::clip(v))).unwrap_or_default(),
                    if value.is_some() { " and its value" } else { "" }
                ));
                continue;
            }
            return Err(unknown_option(arg));
        }
        let best_len = matching
            .iter()
            .map(|e| longest_key(e, arg))
            .max()
            .unwrap_or(0);
        let mut primary_fired = false;
        let mut primary_missing: Option<&Entry> = None;
        for e in &matching {
            let primary = longest_key(e, arg) == best_len;
            if fix && !primary && matches!(e.key, Key::Misset | Key::MissetRandom | Key::Twotheta) {
                continue; // -fix_quirks: no accidental -misset / -twotheta from longer options
            }
            let avail = argc - i - 1;
            if primary && keys.last() != Some(&(i, e.key)) {
                keys.push((i, e.key));
            }
            if avail < e.need {
                lookahead_short = true;
                if e.key == Key::CurvedDet && primary {
                    if fix {
                        o.curved_det = true;
                        primary_fired = true;
                    } else {
                        warnings.push(
                            "-curved_det is the last argument, which nanoBragg.c ignores: flat detector rendered (-fix_quirks honours it)"
                                .to_string(),
                        );
                        primary_fired = true;
                    }
                    continue;
                }
                if primary && primary_missing.is_none() {
                    primary_missing = Some(e);
                }
                continue;
            }
            if e.key == Key::MissetRandom && !args[i + 1].contains("rand") {
                continue;
            }
            let vals = &args[i + 1..];
            let v = Values {
                opt: arg,
                vals,
                strict: primary && !claimed[i],
                notes: Default::default(),
            };
            let before = warnings.len();
            let used = apply(e.key, arg, &v, o, fix, warnings, primary, &mut action)?;
            match e.key {
                // the accidental misset angles: warned about only while no later -misset
                // replaces them (otherwise nothing the user asked for changed)
                Key::Misset if !primary && warnings.len() > before => {
                    misset_quirks.push(warnings.len() - 1);
                }
                Key::Misset | Key::MissetRandom if primary => {
                    for w in misset_quirks.drain(..).rev() {
                        warnings.remove(w);
                    }
                }
                _ => {}
            }
            warnings.append(&mut v.notes.borrow_mut());
            for c in claimed.iter_mut().skip(i + 1).take(used) {
                *c = true;
            }
            if primary {
                primary_fired = true;
            }
            if e.stop {
                break;
            }
        }
        if !primary_fired
            && !claimed[i]
            && let Some(e) = primary_missing
        {
            return Err(missing_value(arg, e));
        }
    }
    // one key per argument (the first of the tests it meant)
    keys.dedup_by_key(|(i, _)| *i);
    Ok(Report {
        action,
        lookahead_short,
        keys,
    })
}

fn longest_key(e: &Entry, arg: &str) -> usize {
    e.conds
        .iter()
        .filter(|c| c.matches(arg))
        .map(|c| c.key().len())
        .max()
        .unwrap_or(0)
}

fn missing_value(arg: &str, e: &Entry) -> Error {
    let what = match e.key {
        Key::Misset => "three angles (deg) or 'random'".to_string(),
        Key::Cell => "a b c alpha beta gamma".to_string(),
        _ if e.need == 1 => "a value".to_string(),
        _ => format!("{} values", e.need),
    };
    Error::usage(format!("{arg}: missing value (needs {what})"))
}

fn unknown_option(arg: &str) -> Error {
    let mut msg = format!("unknown option '{}'", crate::cfmt::clip(arg));
    match suggestions(arg).as_slice() {
        [] => {}
        [one] => msg.push_str(&format!(" (did you mean '{one}'?)")),
        many => msg.push_str(&format!(
            " (did you mean one of {}?)",
            many.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    Error::usage(msg)
}

/// The nearest valid spelling (the first of [`suggestions`]).
pub fn suggest(arg: &str) -> Option<&'static str> {
    suggestions(arg).first().copied()
}

/// Valid spellings the argument may have meant: every one that starts with it (shortest
/// first, at most four: a prefix alone does not say which was meant), else the one at the
/// smallest edit distance, if reasonably close.
pub fn suggestions(arg: &str) -> Vec<&'static str> {
    let lower = arg.to_ascii_lowercase();
    let mut prefixed: Vec<&'static str> = SPELLINGS
        .iter()
        .copied()
        .filter(|s| s.to_ascii_lowercase().starts_with(&lower))
        .collect();
    if !prefixed.is_empty() {
        prefixed.sort_by_key(|s| (s.len(), *s));
        prefixed.truncate(4);
        return prefixed;
    }
    let Some((best, d)) = SPELLINGS
        .iter()
        .map(|s| (*s, edit_distance(&lower, &s.to_ascii_lowercase())))
        .min_by_key(|(_, d)| *d)
    else {
        return Vec::new();
    };
    if d <= 3.max(arg.len() / 3) {
        vec![best]
    } else {
        Vec::new()
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// One option test being applied: the argument, its values and the parse's context.
struct Ctx<'a, 'v> {
    arg: &'a str,
    v: &'a Values<'v>,
    fix: bool,
    primary: bool,
    warnings: &'a mut Vec<String>,
    action: &'a mut Action,
}

/// Applies the options of one help topic: `Ok(None)` when `key` is not one of them.
type Applier = fn(Key, &mut Ctx, &mut Options) -> Result<Option<usize>, Error>;

/// Apply one option test. Returns how many following arguments it read.
#[allow(clippy::too_many_arguments)]
fn apply(
    key: Key,
    arg: &str,
    v: &Values,
    o: &mut Options,
    fix: bool,
    warnings: &mut Vec<String>,
    primary: bool,
    action: &mut Action,
) -> Result<usize, Error> {
    let mut cx = Ctx {
        arg,
        v,
        fix,
        primary,
        warnings,
        action,
    };
    const APPLIERS: [Applier; 9] = [
        apply_crystal,
        apply_rotation,
        apply_beam,
        apply_geometry,
        apply_physics,
        apply_background,
        apply_output,
        apply_program,
        apply_series,
    ];
    for f in APPLIERS {
        if let Some(n) = f(key, &mut cx, o)? {
            return Ok(n);
        }
    }
    Err(Error::usage(format!("{arg}: option not handled")))
}

/// Crystal and structure-factor options.
fn apply_crystal(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    let arg = cx.arg;
    let primary = cx.primary;
    let mm = |x: f64| x / 1000.0;
    let deg = |x: f64| x / RTD;
    Ok(Some(match key {
        Key::Na => {
            o.n_cells[0] = v.cells(0)?;
            1
        }
        Key::Nb => {
            o.n_cells[1] = v.cells(0)?;
            1
        }
        Key::Nc => {
            o.n_cells[2] = v.cells(0)?;
            1
        }
        Key::N => {
            o.n_cells = [v.cells(0)?; 3];
            1
        }
        Key::Cell => {
            o.user_cell = true;
            let mut n = 0;
            while n < 6 && n < v.vals.len() && !v.vals[n].starts_with('-') {
                let x = v.f(n)?;
                match n {
                    0..=2 => o.cell_lengths[n] = x,
                    _ => o.cell_angles[n - 3] = deg(x),
                }
                n += 1;
            }
            if n == 0 && v.strict {
                return Err(Error::usage(format!(
                    "{arg}: missing value (needs a b c alpha beta gamma)"
                )));
            }
            n
        }
        Key::MissetRandom => {
            o.misset = Misset::Random;
            1
        }
        Key::Misset => {
            let ang = [deg(v.f(0)?), deg(v.f(1)?), deg(v.f(2)?)];
            if !primary {
                cx.warnings.push(format!(
                    "{arg} {} is also read as misset angles ({}, {}, {} deg), as nanoBragg.c does{}; -fix_quirks reads it only as a seed",
                    v.vals[0],
                    crate::cfmt::fmt_g(ang[0] * RTD),
                    crate::cfmt::fmt_g(ang[1] * RTD),
                    crate::cfmt::fmt_g(ang[2] * RTD),
                    if o.misset == Misset::Random { " (cancelling -misset random)" } else { "" }
                ));
            }
            o.misset = Misset::Angles(ang);
            3
        }
        Key::SampleSize | Key::XtalSize => {
            let x = mm(v.f(0)?);
            o.sample_size = [x; 3];
            1
        }
        Key::SampleX | Key::XtalX => {
            o.sample_size[0] = mm(v.f(0)?);
            1
        }
        Key::SampleY | Key::XtalY => {
            o.sample_size[1] = mm(v.f(0)?);
            1
        }
        Key::SampleZ | Key::XtalZ => {
            o.sample_size[2] = mm(v.f(0)?);
            1
        }
        Key::Density | Key::MolecularWeight => {
            v.f(0)?;
            1
        }
        Key::Mat => {
            o.matfile = Some(v.s(0));
            1
        }
        Key::Hkl => {
            o.hklfile = Some(v.s(0));
            1
        }
        Key::DefaultF => {
            o.default_f = v.f(0)?;
            1
        }
        Key::Dump => {
            o.dumpfile = v.s(0);
            1
        }
        Key::Interpolate => {
            o.interpolate = Interpolation::On;
            0
        }
        Key::Nointerpolate => {
            o.interpolate = Interpolation::Off;
            0
        }
        Key::RoundXtal => {
            o.shape = Shape::Round;
            0
        }
        Key::SquareXtal => {
            o.shape = Shape::Square;
            0
        }
        Key::GaussXtal => {
            o.shape = Shape::Gauss;
            0
        }
        Key::TophatSpots => {
            o.shape = Shape::Tophat;
            0
        }
        Key::Fudge => {
            o.fudge = v.f(0)?;
            1
        }
        Key::MissetSeed => {
            o.misset_seed = -(v.i(0)? as i64);
            1
        }
        _ => return Ok(None),
    }))
}

/// Rotation and mosaicity options.
fn apply_rotation(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    let deg = |x: f64| x / RTD;
    Ok(Some(match key {
        Key::SpindleAxis => custom_vector(o, v, |o| &mut o.spindle)?,
        Key::Mosaic => {
            o.mosaic_spread = deg(v.f(0)?);
            1
        }
        Key::MosaicDomains => {
            o.mosaic_domains = v.i(0)?;
            1
        }
        Key::Phi => {
            o.phi0 = deg(v.f(0)?);
            1
        }
        Key::Osc => {
            o.osc = deg(v.f(0)?);
            1
        }
        Key::Phistep => {
            o.phistep = deg(v.f(0)?);
            1
        }
        Key::Phisteps => {
            o.phisteps = v.i(0)?;
            1
        }
        Key::MosaicSeed => {
            o.mosaic_seed = -(v.i(0)? as i64);
            1
        }
        _ => return Ok(None),
    }))
}

/// Beam and source options.
fn apply_beam(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    let arg = cx.arg;
    let mm = |x: f64| x / 1000.0;
    Ok(Some(match key {
        Key::BeamVector => custom_vector(o, v, |o| &mut o.beam)?,
        Key::PolarVector => custom_vector(o, v, |o| &mut o.polar_vector)?,
        Key::Polar => {
            o.polarization = v.f(0)?;
            o.nopolar = false;
            1
        }
        Key::Nopolar => {
            o.nopolar = true;
            0
        }
        Key::Lambda => {
            o.lambda0 = v.f(0)? / 1.0e10;
            1
        }
        Key::Energy => {
            o.lambda0 = (12398.42 / v.f(0)?) / 1.0e10;
            1
        }
        Key::Fluence => {
            o.fluence = v.f(0)?;
            1
        }
        Key::Flux => {
            o.flux = v.f(0)?;
            1
        }
        Key::Exposure => {
            o.exposure = v.f(0)?;
            1
        }
        Key::Beamsize => {
            o.beamsize = v.f(0)? / 1000.0;
            1
        }
        Key::Dispersion => {
            o.dispersion = v.f(0)? / 100.0;
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Dispsteps => {
            o.dispsteps = v.i(0)?;
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Divergence => {
            let x = mm(v.f(0)?);
            o.hdivrange = x;
            o.vdivrange = x;
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Hdivrange => {
            o.hdivrange = mm(v.f(0)?);
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Vdivrange => {
            o.vdivrange = mm(v.f(0)?);
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Hdivstep => {
            o.hdivstep = mm(v.f(0)?);
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Hdivsteps => {
            o.hdivsteps = v.i(0)?;
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Vdivstep => {
            o.vdivstep = mm(v.f(0)?);
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Vdivsteps => {
            o.vdivsteps = v.i(0)?;
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::Divsteps => {
            let n = v.i(0)?;
            o.hdivsteps = n;
            o.vdivsteps = n;
            o.divergence_options.push(arg.to_string());
            1
        }
        Key::RoundDiv => {
            o.round_div = true;
            0
        }
        Key::SquareDiv => {
            o.round_div = false;
            0
        }
        Key::Sourcefile => {
            o.sourcefile = Some(v.s(0));
            1
        }
        Key::Coherent => 0,
        _ => return Ok(None),
    }))
}

/// Detector geometry options.
fn apply_geometry(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    let arg = cx.arg;
    let primary = cx.primary;
    let mm = |x: f64| x / 1000.0;
    let deg = |x: f64| x / RTD;
    Ok(Some(match key {
        Key::Xbeam => {
            o.xbeam = mm(v.f(0)?);
            o.pivot = Pivot::Beam;
            1
        }
        Key::Ybeam => {
            o.ybeam = mm(v.f(0)?);
            o.pivot = Pivot::Beam;
            1
        }
        Key::Xclose => {
            o.xclose = mm(v.f(0)?);
            o.pivot = Pivot::Sample;
            1
        }
        Key::Yclose => {
            o.yclose = mm(v.f(0)?);
            o.pivot = Pivot::Sample;
            1
        }
        Key::Orgx => {
            o.orgx = v.f(0)?;
            o.pivot = Pivot::Sample;
            1
        }
        Key::Orgy => {
            o.orgy = v.f(0)?;
            o.pivot = Pivot::Sample;
            1
        }
        Key::Pivot => {
            let w = &v.vals[0];
            let sample = w.contains("sample");
            let beam = w.contains("beam");
            if v.strict && !sample && !beam {
                return Err(Error::usage(format!(
                    "{arg}: expected 'beam' or 'sample', got '{}'",
                    crate::cfmt::clip(w)
                )));
            }
            if sample {
                o.pivot = Pivot::Sample;
            }
            if beam {
                o.pivot = Pivot::Beam;
            }
            o.pivot_given = true;
            1
        }
        Key::Mosflm => set_convention(o, Convention::Mosflm, Pivot::Beam),
        Key::Xds => set_convention(o, Convention::Xds, Pivot::Sample),
        Key::Adxv => set_convention(o, Convention::Adxv, Pivot::Beam),
        Key::Denzo => set_convention(o, Convention::Denzo, Pivot::Beam),
        Key::Dials => set_convention(o, Convention::Dials, Pivot::Beam),
        Key::FdetVector => custom_vector(o, v, |o| &mut o.fdet)?,
        Key::SdetVector => custom_vector(o, v, |o| &mut o.sdet)?,
        Key::OdetVector => custom_vector(o, v, |o| &mut o.odet)?,
        Key::TwothetaAxis => custom_vector(o, v, |o| &mut o.twotheta_axis)?,
        Key::Pix0Vector => {
            o.convention = Convention::Custom;
            o.pix0 = Some(v.v3()?);
            3
        }
        Key::Distance => {
            o.distance = mm(v.f(0)?);
            o.pivot = Pivot::Beam;
            1
        }
        Key::CloseDistance => {
            o.close_distance = mm(v.f(0)?);
            o.pivot = Pivot::Sample;
            1
        }
        Key::Twotheta => {
            let x = v.f(0)?;
            if !primary && x != 0.0 {
                cx.warnings.push(format!(
                    "{arg} also sets the detector 2theta to {} deg and pivots about the sample, as nanoBragg.c does; -fix_quirks reads it only as an axis",
                    v.vals[0]
                ));
            }
            o.twotheta = deg(x);
            o.pivot = Pivot::Sample;
            1
        }
        Key::DetectorRotx => {
            o.det_rot[0] = deg(v.f(0)?);
            1
        }
        Key::DetectorRoty => {
            o.det_rot[1] = deg(v.f(0)?);
            1
        }
        Key::DetectorRotz => {
            o.det_rot[2] = deg(v.f(0)?);
            1
        }
        Key::Detsize => {
            let x = mm(v.f(0)?);
            o.detsize = [x, x];
            1
        }
        Key::DetsizeF => {
            o.detsize[0] = mm(v.f(0)?);
            1
        }
        Key::DetsizeS => {
            o.detsize[1] = mm(v.f(0)?);
            1
        }
        Key::Detpixels => {
            let n = v.count(0)?;
            o.pixels = [n, n];
            1
        }
        Key::DetpixelsF => {
            o.pixels[0] = v.count(0)?;
            1
        }
        Key::DetpixelsS => {
            o.pixels[1] = v.count(0)?;
            1
        }
        Key::CurvedDet => {
            o.curved_det = true;
            0
        }
        Key::Pixel => {
            o.pixel_size = mm(v.f(0)?);
            1
        }
        Key::Img => {
            o.imgfile = Some(v.s(0));
            1
        }
        _ => return Ok(None),
    }))
}

/// Detector physics and sampling options.
fn apply_physics(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    Ok(Some(match key {
        Key::DetectorAbs => {
            let w = &v.vals[0];
            if w.contains("inf") || atof(w) == 0.0 {
                if v.strict && !w.contains("inf") {
                    v.f(0)?;
                }
                o.detector_thick = 0.0;
                o.detector_mu = 0.0;
            } else {
                o.detector_mu = 1.0 / (v.f(0)? * 1e-6);
            }
            1
        }
        Key::DetectorThick => {
            o.detector_thick = v.f(0)? * 1e-6;
            1
        }
        Key::DetectorThicksteps | Key::Thicksteps => {
            o.detector_thicksteps = v.i(0)?;
            1
        }
        Key::PointPixel => {
            o.point_pixel = true;
            0
        }
        Key::OversampleThick => {
            o.oversample_thick = true;
            0
        }
        Key::OversamplePolar => {
            o.oversample_polar = true;
            0
        }
        Key::OversampleOmega => {
            o.oversample_omega = true;
            0
        }
        Key::Oversample => {
            o.oversample = v.i(0)?;
            1
        }
        Key::Roi => {
            o.roi = [v.i(0)?, v.i(1)?, v.i(2)?, v.i(3)?];
            4
        }
        Key::Dmin => {
            o.dmin = v.f(0)? * 1e-10;
            1
        }
        Key::Mask => {
            o.maskfile = Some(v.s(0));
            1
        }
        _ => return Ok(None),
    }))
}

/// Background options.
fn apply_background(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    Ok(Some(match key {
        Key::Stolout => 1,
        Key::Stol | Key::Stol4 | Key::StolQ => {
            o.stolfile = Some(v.s(0));
            1
        }
        Key::Water => {
            o.water_size = v.f(0)? / 1e6;
            1
        }
        _ => return Ok(None),
    }))
}

/// Output file and scaling options.
fn apply_output(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    let fix = cx.fix;
    Ok(Some(match key {
        Key::Adc => {
            o.adc = v.f(0)?;
            1
        }
        Key::Floatfile => {
            o.floatfile = v.s(0);
            1
        }
        Key::Intfile => {
            o.intfile = v.s(0);
            1
        }
        Key::Pngfile => {
            o.pngfile = Some(v.s(0));
            1
        }
        Key::Pgmfile => {
            o.pgmfile = v.s(0);
            o.write_pgm = true;
            1
        }
        Key::Noisefile => {
            o.noisefile = v.s(0);
            o.write_noise = true;
            1
        }
        Key::Nonoise => {
            o.write_noise = false;
            0
        }
        Key::Nopgm => {
            o.write_pgm = false;
            0
        }
        Key::Scale => {
            o.intfile_scale = v.f(0)?;
            1
        }
        Key::Pgmscale => {
            o.pgm_scale = v.f(0)?;
            o.write_pgm = true;
            1
        }
        Key::Printout => {
            o.printout = true;
            0
        }
        Key::Noprogress => {
            o.progress = false;
            0
        }
        Key::Progress => {
            o.progress = true;
            0
        }
        Key::PrintoutPixel => {
            o.printout_pixel = [v.i(0)?, v.i(1)?];
            if fix {
                o.printout = true;
            }
            2
        }
        Key::Seed => {
            o.seed = -(v.i(0)? as i64);
            1
        }
        _ => return Ok(None),
    }))
}

/// This program's own options.
fn apply_program(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    let arg = cx.arg;
    Ok(Some(match key {
        Key::Precision => {
            o.precision = match v.vals[0].as_str() {
                "double" => Precision::Double,
                "single" | "float" => Precision::Single,
                w => {
                    return Err(Error::usage(format!(
                        "{arg}: expected 'double' or 'single', got '{}'",
                        crate::cfmt::clip(w)
                    )));
                }
            };
            1
        }
        Key::FixQuirks => {
            o.fix_quirks = true;
            0
        }
        Key::AllowNonfinite => {
            o.allow_nonfinite = true;
            0
        }
        Key::FixCell => {
            o.fix_cell = true;
            0
        }
        Key::Help => {
            *cx.action = Action::Help;
            0
        }
        Key::Version => {
            *cx.action = Action::Version;
            0
        }
        _ => return Ok(None),
    }))
}

/// Series and cluster options.
fn apply_series(key: Key, cx: &mut Ctx, o: &mut Options) -> Result<Option<usize>, Error> {
    let v = cx.v;
    let whole = |k: usize, min: u64| -> Result<u64, Error> {
        let s = &v.vals[k];
        match s.parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(Error::usage(format!(
                "{}: expected a whole number of at least {min}, got '{}'",
                v.opt,
                crate::cfmt::clip(s)
            ))),
        }
    };
    Ok(Some(match key {
        Key::Images => {
            o.images = Some(whole(0, 1)?);
            1
        }
        Key::Shots => {
            o.shots = Some(v.s(0));
            1
        }
        Key::Rank => {
            o.rank = Some(whole(0, 0)?);
            1
        }
        Key::Ranks => {
            o.ranks = Some(whole(0, 1)?);
            1
        }
        Key::Manifest => {
            o.manifest = Some(v.s(0));
            1
        }
        Key::Merge => {
            o.merge = Some(v.s(0));
            1
        }
        Key::RandomFluence => {
            let r = v.f(0)?;
            if !(r >= 0.0) {
                return Err(Error::usage(format!(
                    "{}: the relative rms must not be negative, got {}",
                    v.opt, v.vals[0]
                )));
            }
            o.random_fluence = Some(r);
            1
        }
        Key::RandomN => {
            let (lo, hi) = (whole(0, 1)?, whole(1, 1)?);
            if lo > hi || hi as f64 > crate::setup::MAX_CELLS {
                return Err(Error::usage(format!(
                    "{}: expected 1 <= first <= second <= 1000000, got {lo} {hi}",
                    v.opt
                )));
            }
            o.random_n = Some([lo as u32, hi as u32]);
            2
        }
        _ => return Ok(None),
    }))
}

fn set_convention(o: &mut Options, c: Convention, p: Pivot) -> usize {
    o.convention = c;
    o.pivot = p;
    0
}

fn custom_vector(
    o: &mut Options,
    v: &Values,
    field: impl FnOnce(&mut Options) -> &mut [f64; 3],
) -> Result<usize, Error> {
    let x = v.v3()?;
    o.convention = Convention::Custom;
    *field(o) = x;
    Ok(3)
}

/// The `-help` text: every option with a short description.
/// Help-text topics, in order.
const TOPICS: [&str; 9] = [
    "Crystal and structure factors",
    "Rotation and mosaicity",
    "Beam and sources",
    "Detector geometry",
    "Detector physics and sampling",
    "Background",
    "Output files and scaling",
    "This program",
    "Series and clusters (README: Many images and clusters)",
];

/// The help topic of an option.
fn topic(k: Key) -> usize {
    use Key::*;
    match k {
        Na | Nb | Nc | N | Cell | MissetRandom | Misset | SampleSize | SampleX | SampleY
        | SampleZ | XtalSize | XtalX | XtalY | XtalZ | Density | MolecularWeight | Mat | Hkl
        | DefaultF | Dump | Interpolate | Nointerpolate | RoundXtal | SquareXtal | GaussXtal
        | TophatSpots | Fudge | MissetSeed => 0,
        Phi | Osc | Phistep | Phisteps | Mosaic | MosaicDomains | MosaicSeed | SpindleAxis => 1,
        Lambda | Energy | Fluence | Flux | Exposure | Beamsize | Dispersion | Dispsteps
        | Divergence | Hdivrange | Vdivrange | Hdivstep | Hdivsteps | Vdivstep | Vdivsteps
        | Divsteps | RoundDiv | SquareDiv | Sourcefile | Polar | Nopolar | PolarVector
        | BeamVector | Coherent => 2,
        Xbeam | Ybeam | Xclose | Yclose | Orgx | Orgy | Pivot | Mosflm | Xds | Adxv | Denzo
        | Dials | FdetVector | SdetVector | OdetVector | TwothetaAxis | Pix0Vector | Distance
        | CloseDistance | Twotheta | DetectorRotx | DetectorRoty | DetectorRotz | Detsize
        | DetsizeF | DetsizeS | Detpixels | DetpixelsF | DetpixelsS | CurvedDet | Pixel | Img => 3,
        PointPixel | DetectorAbs | DetectorThick | DetectorThicksteps | Thicksteps
        | OversampleThick | OversamplePolar | OversampleOmega | Oversample | Roi | Dmin | Mask => 4,
        Water | Stolout | Stol | Stol4 | StolQ => 5,
        Floatfile | Intfile | Pgmfile | Noisefile | Nonoise | Nopgm | Scale | Pgmscale | Adc
        | Seed | Printout | PrintoutPixel | Noprogress | Progress | Pngfile => 6,
        Precision | FixQuirks | FixCell | AllowNonfinite | Help | Version => 7,
        Images | Shots | Rank | Ranks | Manifest | Merge | RandomFluence | RandomN => 8,
    }
}

/// The default an option's value takes when it is not given (as the user would write it);
/// "" for a switch that is on by default.
fn default_of(k: Key) -> Option<&'static str> {
    use Key::*;
    Some(match k {
        Na | Nb | Nc | N => "1",
        Fudge => "1",
        Distance => "100",
        Pixel => "0.1",
        Detsize | DetsizeF | DetsizeS => "102.4",
        Detpixels | DetpixelsF | DetpixelsS => "detsize/pixel",
        Xbeam | Ybeam => "detector centre",
        Pivot => "set by the convention",
        Lambda => "1",
        Fluence => "1.26e29",
        Exposure => "1",
        Beamsize => "0.1",
        Polar => "0",
        Oversample => "automatic from the spot size",
        DetectorThicksteps | Thicksteps => "1",
        DetectorThick => "0",
        Mosaic => "0",
        MosaicDomains => "10 with -mosaic, else 1",
        Dispsteps | Divsteps | Hdivsteps | Vdivsteps => "automatic",
        Phi => "0",
        Osc | Phistep | Phisteps => "one step",
        DefaultF => "0",
        Dump => "Fdump.bin",
        Interpolate => "on when any N <= 2",
        Floatfile => "floatimage.bin",
        Intfile => "intimage.img",
        Pgmfile => "image.pgm",
        Noisefile => "noiseimage.img",
        Adc => "40",
        Seed | MissetSeed => "from the clock",
        MosaicSeed => "-12345678",
        Water => "0",
        Precision => "single",
        Scale | Pgmscale => "automatic",
        // switches that are on unless another option is given
        Mosflm | RoundDiv | Progress | SquareXtal => "",
        _ => return None,
    })
}

/// The entry an option spelling fires as the option it names: among the tests it matches, the
/// first listed in `-help` with the longest matching key (as [`parse_into`] decides).
fn named_entry(spelling: &str) -> Option<&'static Entry> {
    let best = TABLE
        .iter()
        .filter(|e| e.conds.iter().any(|c| c.matches(spelling)))
        .map(|e| longest_key(e, spelling))
        .max()?;
    TABLE
        .iter()
        .find(|e| !e.help.is_empty() && longest_key(e, spelling) == best)
}

/// Width of the option-name column of `-help`.
const NAME_COLUMN: usize = 30;

/// The `-help` text: every option grouped by topic, with units and defaults. Each option is
/// shown by its full spellings; keys that nanoBragg.c accepts as part of longer words (it
/// matches by substring) are listed as abbreviations.
pub fn usage() -> String {
    let mut s = String::from(
        "usage: nanoBragg [options]\n\
         Renders the X-ray diffraction image of a nanocrystal. A crystal needs -cell or -mat,\n\
         and structure factors from -hkl, a previous run's Fdump.bin, or -default_F.\n\
         Lengths in mm unless noted, angles in degrees, wavelength in Angstrom.\n\
         As in nanoBragg.c, an argument that contains an option's key selects it, so\n\
         abbreviations such as -sample_heigh work.\n\
         Environment: RAYON_NUM_THREADS (threads), NANOBRAGG_MEMORY_LIMIT (bytes, or with a\n\
         K/M/G/T suffix: the memory a run may use).\n",
    );
    for (t, title) in TOPICS.iter().enumerate() {
        s.push_str(&format!("\n{title}:\n"));
        let mut seen = std::collections::HashSet::new();
        for e in TABLE {
            if e.help.is_empty() || topic(e.key) != t || !seen.insert(e.key) {
                continue;
            }
            let mut names: Vec<&str> = SPELLINGS
                .iter()
                .copied()
                .filter(|sp| named_entry(sp).is_some_and(|n| std::ptr::eq(n, e)))
                .collect();
            if names.is_empty() {
                names = e.conds.iter().map(|c| c.key()).collect();
            }
            let abbreviations: Vec<&str> = e
                .conds
                .iter()
                .map(|c| c.key())
                .filter(|k| !SPELLINGS.contains(k) && !names.contains(k))
                .collect();
            let mut text = e.help.to_string();
            match default_of(e.key) {
                Some("") => text.push_str(" [default]"),
                Some(d) => text.push_str(&format!(" [default: {d}]")),
                None => {}
            }
            if !abbreviations.is_empty() {
                text.push_str(&format!(" (also accepted: {})", abbreviations.join(", ")));
            }
            let name = names.join(" ");
            if name.len() < NAME_COLUMN {
                s.push_str(&format!("  {name:<NAME_COLUMN$} {text}\n"));
            } else {
                s.push_str(&format!("  {name}\n  {:<NAME_COLUMN$} {text}\n", ""));
            }
        }
    }
    s
}

#[allow(dead_code)]
fn _cond_is_used(c: Cond) -> &'static str {
    c.key()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<(Options, Vec<String>), Error> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        let mut o = Options::new(-1000);
        let mut w = Vec::new();
        parse_into(&args, &mut o, &mut w)?;
        Ok((o, w))
    }

    #[test]
    fn units_are_converted_like_the_reference() {
        let (o, _) =
            parse("-distance 100 -pixel 0.1 -lambda 6.2 -phi 10 -mosaic 0.5 -dmin 2 -water 50")
                .unwrap();
        assert_eq!(o.distance, 100.0 / 1000.0);
        assert_eq!(o.pixel_size, 0.1 / 1000.0);
        assert_eq!(o.lambda0, 6.2 / 1e10);
        assert_eq!(o.phi0, 10.0 / RTD);
        assert_eq!(o.mosaic_spread, 0.5 / RTD);
        assert_eq!(o.dmin, 2.0 * 1e-10);
        assert_eq!(o.water_size, 50.0 / 1e6);
    }

    #[test]
    fn substring_aliases_work() {
        let (o, _) =
            parse("-wavelength 2 -mosaic_domains 4 -detpixels_x 10 -floatimage f.bin").unwrap();
        assert_eq!(o.lambda0, 2.0 / 1e10);
        assert_eq!(o.mosaic_domains, 4);
        assert_eq!(o.pixels[0], 10);
        assert_eq!(o.floatfile, "f.bin");
        let (o, _) = parse("--lambda 3").unwrap();
        assert_eq!(o.lambda0, 3.0 / 1e10);
    }

    #[test]
    fn misset_seed_collision_is_kept_and_warned() {
        let (o, w) = parse("-misset random -misset_seed 777 -lambda 1.0 -N 5").unwrap();
        assert_eq!(o.misset, Misset::Angles([777.0 / RTD, 0.0, 1.0 / RTD]));
        assert_eq!(o.misset_seed, -777);
        assert_eq!(o.lambda0, 1e-10);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("-fix_quirks"));
        // at the end of the line there are not three values after it: no collision
        let (o, w) = parse("-misset random -lambda 1.0 -misset_seed 777").unwrap();
        assert_eq!(o.misset, Misset::Random);
        assert!(w.is_empty());
        // -fix_quirks: only a seed
        let (o, w) = parse("-misset random -misset_seed 777 -lambda 1.0 -N 5 -fix_quirks").unwrap();
        assert_eq!(o.misset, Misset::Random);
        assert!(w.is_empty());
    }

    #[test]
    fn a_misset_collision_undone_by_a_later_misset_is_not_warned() {
        let (o, w) = parse("-misset_seed 5 -misset random -N 5").unwrap();
        assert_eq!(o.misset, Misset::Random);
        assert_eq!(o.misset_seed, -5);
        assert!(w.is_empty(), "{w:?}");
        let (o, w) = parse("-misset_seed 5 -N 4 -lambda 1 -misset 1 2 3").unwrap();
        assert_eq!(o.misset, Misset::Angles([1.0 / RTD, 2.0 / RTD, 3.0 / RTD]));
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn twotheta_axis_collision() {
        let (o, w) = parse("-twotheta_axis 2 0 -1").unwrap();
        assert_eq!(o.twotheta, 2.0 / RTD);
        assert_eq!(o.pivot, Pivot::Sample);
        assert_eq!(o.convention, Convention::Custom);
        assert_eq!(w.len(), 1);
        let (o, _) = parse("-twotheta_axis 2 0 -1 -fix_quirks").unwrap();
        assert_eq!(o.twotheta, 0.0);
    }

    #[test]
    fn order_decides_switch_pairs() {
        let (o, _) = parse("-nonoise -noisefile x.img").unwrap();
        assert!(o.write_noise);
        let (o, _) = parse("-noisefile x.img -nonoise").unwrap();
        assert!(!o.write_noise);
    }

    #[test]
    fn cell_reads_up_to_six_values() {
        let (o, _) = parse("-cell 70 80 90 75 85 95 -N 5").unwrap();
        assert_eq!(o.cell_lengths, [70.0, 80.0, 90.0]);
        assert_eq!(o.cell_angles[2], 95.0 / RTD);
        let (o, _) = parse("-cell 50 -N 5").unwrap();
        assert_eq!(o.cell_lengths, [50.0, 0.0, 0.0]);
        assert!(o.user_cell);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse("-dispstesp 3").unwrap_err().to_string();
        assert!(
            e.contains("'-dispstesp'") && e.contains("'-dispsteps'"),
            "{e}"
        );
        let e = parse("-distance").unwrap_err().to_string();
        assert!(e.contains("missing value"), "{e}");
        let e = parse("-distance 10mm").unwrap_err().to_string();
        assert!(e.contains("expected a number") && e.contains("10mm"), "{e}");
        let e = parse("-N five").unwrap_err().to_string();
        assert!(e.contains("integer") && e.contains("'five'"), "{e}");
        let e = parse("-cell 100 100 100 90 90 90 90")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unexpected argument '90'"), "{e}");
        let e = parse("-frobnicate 7").unwrap_err().to_string();
        assert!(e.contains("unknown option '-frobnicate'"), "{e}");
        let e = parse("-misset 10 20").unwrap_err().to_string();
        assert!(e.contains("-misset"), "{e}");
        let e = parse("-pivot middle").unwrap_err().to_string();
        assert!(e.contains("'beam' or 'sample'"), "{e}");
    }

    #[test]
    fn negative_values_are_values() {
        let (o, _) = parse("-misset -10 20 -30 -Xbeam -5").unwrap();
        assert_eq!(
            o.misset,
            Misset::Angles([-10.0 / RTD, 20.0 / RTD, -30.0 / RTD])
        );
        assert_eq!(o.xbeam, -0.005);
    }

    #[test]
    fn curved_det_needs_a_following_argument() {
        let (o, w) = parse("-curved_det").unwrap();
        assert!(!o.curved_det);
        assert_eq!(w.len(), 1);
        let (o, _) = parse("-curved_det -nopgm").unwrap();
        assert!(o.curved_det);
        let (o, _) = parse("-fix_quirks -curved_det").unwrap();
        assert!(o.curved_det);
    }

    #[test]
    fn prescan_finds_img_and_mask() {
        let args: Vec<String> = "-mask m.img -img a.img -img b.img -fix_quirks"
            .split(' ')
            .map(String::from)
            .collect();
        let p = prescan(&args);
        assert_eq!(p.img.as_deref(), Some("b.img"));
        assert_eq!(p.mask.as_deref(), Some("m.img"));
        assert!(p.fix_quirks);
    }

    #[test]
    fn suggestions_do_not_mislead() {
        assert_eq!(suggest("-dispstep"), Some("-dispsteps"));
        // a prefix of several options: all of them, not the shortest alone
        assert_eq!(
            super::suggestions("-hdi"),
            vec!["-hdivstep", "-hdivrange", "-hdivsteps"]
        );
        assert_eq!(suggest("-lamda"), Some("-lambda"));
        let e = parse("-hdi 3").unwrap_err().to_string();
        assert!(
            e.contains("one of '-hdivstep', '-hdivrange', '-hdivsteps'"),
            "{e}"
        );
    }

    #[test]
    fn documented_spellings_nanobragg_ignores_are_accepted_with_a_warning() {
        for (line, meant) in [
            ("-hdiv 0 -vdiv 0", "-hdivrange"),
            (
                "-dispersion 0.1 -dispstep 3 -hdiv 0.28 -hdivstep 0.02",
                "-dispsteps",
            ),
            ("-detsize_x 100 -detsize_y 50", "-detsize_f"),
        ] {
            let (o, w) = parse(line).unwrap();
            assert!(
                w.iter()
                    .any(|w| w.contains("has no effect") && w.contains(meant)),
                "{w:?}"
            );
            // nothing was set by them
            assert_eq!(o.hdivrange, -1.0, "{line}");
            assert_eq!(o.detsize, [102.4e-3, 102.4e-3], "{line}");
        }
        let (_, w) = parse("-detsize_y 50").unwrap();
        assert!(
            w[0].contains("-detsize_s (the detector size along the slow axis"),
            "{w:?}"
        );
    }

    #[test]
    fn integers_are_read_as_nanobragg_reads_them() {
        let (o, w) = parse("-N 5.0").unwrap();
        assert_eq!(o.n_cells, [5.0; 3]);
        assert!(w.is_empty(), "{w:?}");
        let (o, w) = parse("-N 5.7 -phisteps 1e3").unwrap();
        assert_eq!(o.n_cells, [5.0; 3]);
        assert_eq!(o.phisteps, 1);
        assert!(w[0].contains("-N 5.7 is read as 5"), "{w:?}");
        assert!(w[1].contains("-phisteps 1e3 is read as 1"), "{w:?}");
        assert!(parse("-N 5x").is_err());
        assert!(parse("-N .5").is_err());
    }

    #[test]
    fn help_lists_full_names_aligned_with_one_default_format() {
        let text = usage();
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("  ")).collect();
        assert!(rows.len() > 100, "{} option rows", rows.len());
        for (i, row) in rows.iter().enumerate() {
            // a description starts at the same column on every row (long names get their own)
            let desc = &row[2 + NAME_COLUMN..];
            if row[2..].trim_start().starts_with('-') && row.len() > 2 + NAME_COLUMN {
                if row.as_bytes()[2 + NAME_COLUMN] == b' ' {
                    assert!(!desc.starts_with("  "), "misaligned: {row:?}");
                } else {
                    let next = rows.get(i + 1).expect("description row");
                    assert!(next[..2 + NAME_COLUMN].trim().is_empty(), "{next:?}");
                }
            }
            assert!(!row.contains("(default"), "old default format: {row:?}");
            assert!(row.matches("[default").count() <= 1, "{row:?}");
        }
        // truncated keys are accepted abbreviations, never an option's name
        let names: Vec<&str> = rows
            .iter()
            .map(|r| r[2..2 + NAME_COLUMN.min(r.len() - 2)].trim())
            .collect();
        for key in ["-sample_heigh", "-heigh", "-mosaic_dom", "-mosaic_spr"] {
            assert!(
                !names.iter().any(|n| n.split(' ').any(|w| w == key)),
                "{key} listed as a name"
            );
            assert!(
                text.contains(&format!("also accepted: {key}"))
                    || text.contains(&format!(", {key}")),
                "{key}"
            );
        }
        assert!(text.contains("-sample_height -sample_z"), "{text}");
    }

    #[test]
    fn every_spelling_is_accepted() {
        for s in SPELLINGS {
            let ok = TABLE.iter().any(|e| e.conds.iter().any(|c| c.matches(s)));
            assert!(ok, "{s} fires no test");
        }
    }
}
