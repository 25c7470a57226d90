//! Image series: many images from one command line, sharded over processes.
//!
//! A series is `-images N` and/or `-shots FILE`. Image `i` (numbered from 1) is the
//! single-image run of the command line followed by the image's own options
//! ([`Series::image_args`]), with `%d`/`%0Nd` in the output names replaced by `i`
//! ([`pattern`]). The image's own options are, in this order:
//!
//! 1. `-phi φ0 + (i − 1)·osc` (degrees, shortest exact decimal) for i ≥ 2 when the oscillation
//!    is not 0: a rotation scan, image 1 at the `-phi` given;
//! 2. `-fluence F` drawn for every image with `-random_fluence R`, `-N n` with `-random_N lo hi`;
//! 3. `-seed s` for i ≥ 2 when the image writes a noise image ([`seeds`]);
//! 4. the image's line of the shot list, if any (what it sets is not derived);
//! 5. `-misset_seed m` for i ≥ 2 with `-misset random` (last, so that nanoBragg.c's reading of
//!    `-misset_seed` followed by three arguments as misset angles never applies to it).
//!
//! Set-up shared by every image runs once ([`crate::Prepared`]); each image re-runs only the
//! per-image stages. [`shard`] decides which images a process renders, [`manifest`] records
//! them, [`run`] renders a process's share (resuming where a previous run stopped).

pub mod manifest;
pub mod pattern;
pub mod run;
pub mod seeds;
pub mod shard;
pub mod shots;

use crate::cli::table::Key;
use crate::error::{Error, Result};
use crate::options::{Misset, Options, RTD};
use crate::{Prepared, Simulation};
use pattern::Pattern;
use seeds::Stream;

/// One line of a shot list, checked.
#[derive(Clone, Debug)]
struct ShotLine {
    line: usize,
    args: Vec<String>,
    /// The options the line sets.
    keys: Vec<Key>,
    /// The image writes a noise image / draws a random orientation.
    noise: bool,
    random_misset: bool,
}

/// What a series derives for its images.
#[derive(Clone, Copy, Debug, Default)]
struct Derived {
    /// Spindle start and oscillation, degrees (None: no rotation scan).
    scan: Option<(f64, f64)>,
    /// Base seeds as typed (`-seed`, `-misset_seed`), when given.
    noise_base: Option<i32>,
    misset_base: Option<i32>,
    /// `-random_fluence`: mean and relative rms.
    fluence: Option<(f64, f64)>,
    /// `-random_N`.
    cells: Option<[u32; 2]>,
}

/// A series of images from one command line.
pub struct Series {
    prepared: Prepared,
    images: u64,
    shots_file: Option<String>,
    shots: Vec<ShotLine>,
    derived: Derived,
    manifest: String,
    id: String,
}

/// The output files an image writes: option key, option name, file name.
fn outputs_of(o: &Options) -> Vec<(Key, &'static str, &str)> {
    let mut v = vec![
        (Key::Floatfile, "-floatfile", o.floatfile.as_str()),
        (Key::Intfile, "-intfile", o.intfile.as_str()),
    ];
    if o.write_pgm {
        v.push((Key::Pgmfile, "-pgmfile", &o.pgmfile));
    }
    if o.write_noise {
        v.push((Key::Noisefile, "-noisefile", &o.noisefile));
    }
    if let Some(p) = &o.pngfile {
        v.push((Key::Pngfile, "-pngfile", p));
    }
    v
}

impl Series {
    /// Set up a series from a command line (without the program name): the shared stages, the
    /// shot list, the output patterns and the seeds are all checked here, before any image is
    /// rendered.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<Series> {
        let prepared = Prepared::from_args(args)?;
        Series::new(prepared)
    }

    /// A series from a prepared command line.
    pub fn new(prepared: Prepared) -> Result<Series> {
        let o = prepared.options().clone();
        let sh = prepared.shared();
        let (shots_file, shots) = match &o.shots {
            Some(f) => (Some(f.clone()), read_shots(&prepared, f)?),
            None => (None, Vec::new()),
        };
        let images = match (o.images, shots.len() as u64) {
            (Some(n), 0) => n,
            (None, 0) => 1,
            (None, k) => k,
            (Some(n), k) if n == k => n,
            (Some(n), k) => {
                return Err(Error::usage(format!(
                    "-images {n} but the shot list {} has {k} shots (one line per image)",
                    shots_file.as_deref().unwrap_or("")
                )));
            }
        };
        let given = |k: Key| sh.options.value.keys.iter().any(|(_, x)| *x == k);
        let derived = Derived {
            scan: scan_of(&prepared),
            noise_base: given(Key::Seed).then_some((-o.seed) as i32),
            misset_base: given(Key::MissetSeed).then_some((-o.misset_seed) as i32),
            fluence: o.random_fluence.map(|r| (o.fluence, r)),
            cells: o.random_n,
        };
        let manifest = o
            .manifest
            .clone()
            .unwrap_or_else(|| default_manifest(&o.floatfile));
        let series = Series {
            id: manifest::fingerprint(&identity_args(&sh.args, &sh.options.value.keys)),
            prepared,
            images,
            shots_file,
            shots,
            derived,
            manifest,
        };
        series.check()?;
        Ok(series)
    }

    /// Images in the series.
    pub fn images(&self) -> u64 {
        self.images
    }

    /// The manifest's path (each rank writes its part beside it: [`manifest::part_path`]).
    pub fn manifest(&self) -> &str {
        &self.manifest
    }

    /// The series' fingerprint (see [`manifest::Entry::series`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The shared set-up.
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// The options image `i` adds to the command line (see the module documentation).
    pub fn image_args(&self, i: u64) -> Vec<String> {
        let d = &self.derived;
        let o = self.prepared.options();
        let shot = self.shots.get((i - 1) as usize);
        let sets = |keys: &[Key]| shot.is_some_and(|s| s.keys.iter().any(|k| keys.contains(k)));
        let mut args: Vec<String> = Vec::new();
        let mut push = |a: &str, v: String| {
            args.push(a.to_string());
            args.push(v);
        };
        if let Some((phi0, osc)) = d.scan
            && i >= 2
            && !sets(&[Key::Phi])
        {
            push("-phi", format!("{}", phi0 + (i - 1) as f64 * osc));
        }
        if let (Some((mean, rel)), Some(base)) = (d.fluence, d.noise_base)
            && !sets(&[Key::Fluence])
        {
            push(
                "-fluence",
                format!("{:e}", seeds::fluence(base, i, mean, rel)),
            );
        }
        if let (Some([lo, hi]), Some(base)) = (d.cells, d.noise_base)
            && !sets(&[Key::N, Key::Na, Key::Nb, Key::Nc])
        {
            push("-N", seeds::cells(base, i, lo, hi).to_string());
        }
        let noise = shot.map_or(o.write_noise, |s| s.noise);
        if let Some(base) = d.noise_base
            && noise
            && i >= 2
            && !sets(&[Key::Seed])
        {
            push("-seed", seeds::seed(base, i, Stream::Noise).to_string());
        }
        if let Some(s) = shot {
            args.extend(s.args.iter().cloned());
        }
        let random = shot.map_or(o.misset == Misset::Random, |s| s.random_misset);
        if let Some(base) = d.misset_base
            && random
            && i >= 2
            && !sets(&[Key::MissetSeed])
        {
            args.push("-misset_seed".into());
            args.push(seeds::seed(base, i, Stream::Misset).to_string());
        }
        args
    }

    /// Image `i` (from 1), ready to render, its output files named.
    pub fn image(&self, i: u64) -> Result<Simulation> {
        if i == 0 || i > self.images {
            return Err(Error::invalid(format!(
                "image {i} is not in the series (images 1 to {})",
                self.images
            )));
        }
        let sh = self.prepared.shared();
        let (mut o, warnings) = sh
            .image_options(&self.image_args(i))
            .map_err(|e| self.shot_error(i, e))?;
        name_outputs(&mut o, i)?;
        let img = sh
            .image(o, warnings, None)
            .map_err(|e| self.shot_error(i, e))?;
        self.prepared.simulation(img)
    }

    /// The seeds image `i` uses, as typed.
    pub fn seeds(sim: &Simulation) -> manifest::Seeds {
        let o = &sim.experiment().opts;
        manifest::Seeds {
            noise: o.write_noise.then_some(-o.seed),
            misset: (o.misset == Misset::Random).then_some(-o.misset_seed),
            mosaic: -o.mosaic_seed,
        }
    }

    /// An error of image `i`, with its shot-list line when it has one.
    fn shot_error(&self, i: u64, e: Error) -> Error {
        match (&self.shots_file, self.shots.get((i - 1) as usize)) {
            (Some(f), Some(s)) => Error::input(f, Some(s.line), e.to_string()),
            _ => e,
        }
    }

    /// The checks made before anything is rendered: output patterns, seeds, names that two
    /// images would share.
    fn check(&self) -> Result<()> {
        let o = self.prepared.options();
        let d = &self.derived;
        if self.images > 1 {
            for (key, opt, name) in outputs_of(o) {
                let p = Pattern::parse(opt, name)?;
                let every_shot_names_it =
                    !self.shots.is_empty() && self.shots.iter().all(|s| s.keys.contains(&key));
                if !p.has_number() && !every_shot_names_it {
                    return Err(Error::usage(format!(
                        "{opt} {}: a series of {} images needs the image number in every output name, as %d or %0Nd (e.g. {opt} {}); -nonoise and -nopgm drop the noise and PGM images",
                        crate::cfmt::clip(name),
                        self.images,
                        example_pattern(name)
                    )));
                }
            }
        }
        let needs = |noise: bool, random: bool, sets: &dyn Fn(Key) -> bool| {
            (noise && !sets(Key::Seed), random && !sets(Key::MissetSeed))
        };
        let (mut need_noise, mut need_misset) = (false, false);
        if self.images > 1 {
            if self.shots.is_empty() {
                (need_noise, need_misset) =
                    needs(o.write_noise, o.misset == Misset::Random, &|_| false);
            }
            for s in self.shots.iter().skip(1) {
                let (n, m) = needs(s.noise, s.random_misset, &|k| s.keys.contains(&k));
                need_noise |= n;
                need_misset |= m;
            }
        }
        let series_of = format!("a series of {} images", self.images);
        if need_noise && d.noise_base.is_none() {
            return Err(Error::usage(format!(
                "{series_of} with noise images needs -seed (each image's noise seed derives from it and the image number, so that every rank and a resumed run agree)"
            )));
        }
        if need_misset && d.misset_base.is_none() {
            return Err(Error::usage(format!(
                "{series_of} with -misset random needs -misset_seed (each image's orientation seed derives from it and the image number)"
            )));
        }
        if (d.fluence.is_some() || d.cells.is_some()) && d.noise_base.is_none() {
            return Err(Error::usage(
                "-random_fluence and -random_N draw from -seed: give -seed",
            ));
        }
        if d.fluence.is_some() && o.flux != 0.0 && o.exposure > 0.0 && o.beamsize >= 0.0 {
            return Err(Error::usage(
                "-random_fluence varies -fluence, which -flux, -exposure and -beamsize replace: give -fluence instead of -flux",
            ));
        }
        if d.cells.is_some() && o.sample_size.iter().any(|s| *s > 0.0) {
            return Err(Error::usage(
                "-random_N varies -N, which -xtalsize/-sample_size replace: give -N instead",
            ));
        }
        let sh = self.prepared.shared();
        if sh.options.value.lookahead_short
            && (1..=self.images.min(2)).any(|i| !self.image_args(i).is_empty())
        {
            return Err(Error::usage(crate::setup::LOOKAHEAD_MESSAGE));
        }
        if !self.shots.is_empty() {
            self.check_names()?;
        }
        Ok(())
    }

    /// With a shot list, no two images may write the same file.
    fn check_names(&self) -> Result<()> {
        let mut seen: std::collections::HashMap<String, u64> = Default::default();
        let sh = self.prepared.shared();
        for i in 1..=self.images {
            let (mut o, _) = sh
                .image_options(&self.image_args(i))
                .map_err(|e| self.shot_error(i, e))?;
            name_outputs(&mut o, i).map_err(|e| self.shot_error(i, e))?;
            for (_, _, name) in outputs_of(&o) {
                if let Some(j) = seen.insert(name.to_string(), i) {
                    return Err(self.shot_error(
                        i,
                        Error::usage(format!(
                            "image {i} would overwrite {name}, written by image {j}"
                        )),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Replace the image number in every output name of `o`.
fn name_outputs(o: &mut Options, i: u64) -> Result<()> {
    for (opt, name) in [
        ("-floatfile", &mut o.floatfile),
        ("-intfile", &mut o.intfile),
        ("-pgmfile", &mut o.pgmfile),
        ("-noisefile", &mut o.noisefile),
    ] {
        *name = Pattern::parse(opt, name)?.format(i);
    }
    if let Some(p) = &mut o.pngfile {
        *p = Pattern::parse("-pngfile", p)?.format(i);
    }
    Ok(())
}

/// `img.bin` → `img_%05d.bin`, for messages.
fn example_pattern(name: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && !name[i..].contains('/') => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    format!("{stem}_%05d{ext}")
}

/// The manifest beside the float images: `series.jsonl` in their folder.
fn default_manifest(floatfile: &str) -> String {
    match std::path::Path::new(floatfile).parent() {
        Some(d) if !d.as_os_str().is_empty() => d.join("series.jsonl").display().to_string(),
        _ => "series.jsonl".to_string(),
    }
}

/// The arguments that decide the images (without -images, -rank, -ranks, -manifest).
fn identity_args(args: &[String], keys: &[(usize, Key)]) -> Vec<String> {
    let mut skip = vec![false; args.len()];
    for (i, k) in keys {
        if matches!(k, Key::Images | Key::Rank | Key::Ranks | Key::Manifest) {
            skip[*i] = true;
            if let Some(s) = skip.get_mut(i + 1) {
                *s = true;
            }
        }
    }
    args.iter()
        .zip(skip)
        .filter(|(_, s)| !s)
        .map(|(a, _)| a.clone())
        .collect()
}

/// The rotation scan: φ0 as given (degrees) and the oscillation (degrees), when it is not 0.
fn scan_of(p: &Prepared) -> Option<(f64, f64)> {
    let sh = p.shared();
    let o = sh.opts();
    let given = |k: Key| -> Option<f64> {
        let (i, _) = sh.options.value.keys.iter().rev().find(|(_, x)| *x == k)?;
        crate::cfmt::parse_f64_strict(sh.args.get(i + 1)?)
    };
    let phi = crate::setup::stages::phi_sampling(o);
    let osc = match given(Key::Osc) {
        Some(deg) if phi.osc == o.osc => deg,
        _ => phi.osc * RTD,
    };
    let phi0 = given(Key::Phi).unwrap_or(o.phi0 * RTD);
    (osc != 0.0).then_some((phi0, osc))
}

/// Read and check a shot list: every line's options must be ones an image may change, with
/// valid values; errors name the file and line.
fn read_shots(p: &Prepared, file: &str) -> Result<Vec<ShotLine>> {
    let sh = p.shared();
    let mut out = Vec::new();
    let mut matrices: std::collections::HashSet<String> = Default::default();
    for s in shots::read(file)? {
        let at = |e: Error| Error::input(file, Some(s.line), e.to_string());
        let mut o = sh.opts().clone();
        let mut w = Vec::new();
        let keys = crate::cli::parse_per_image(&s.args, &mut o, &mut w).map_err(at)?;
        sh.image_options(&s.args).map_err(at)?;
        name_outputs(&mut o, 1).map_err(at)?;
        if let Some(m) = &o.matfile
            && matrices.insert(m.clone())
        {
            crate::setup::read_matrix(m, &crate::io::read_text(m).map_err(at)?, o.lambda0)
                .map_err(at)?;
        }
        out.push(ShotLine {
            line: s.line,
            args: s.args,
            keys,
            noise: o.write_noise,
            random_misset: o.misset == Misset::Random,
        });
    }
    Ok(out)
}
