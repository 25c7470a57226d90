//! The option table, in the reference program's test order.
//!
//! nanoBragg.c tests every argument that starts with `-` against every option in a fixed
//! order, mostly by *substring*, so one argument can fire several options (`-misset_seed`
//! also fires `-misset`; `-twotheta_axis` also fires `-twotheta`). This table encodes each
//! test's matching rule, how many following arguments it requires, and whether it ends the
//! processing of the argument. [`super::parse_into`] walks it exactly as the reference does.

/// How a table key is matched against an argument.
#[derive(Clone, Copy, Debug)]
pub enum Cond {
    /// The argument contains the key anywhere.
    Contains(&'static str),
    /// The argument equals the key.
    Exact(&'static str),
    /// The argument contains the key and has exactly this length.
    ContainsLen(&'static str, usize),
    /// The argument contains the key and is longer than this.
    ContainsLenGt(&'static str, usize),
}

impl Cond {
    pub fn matches(self, arg: &str) -> bool {
        match self {
            Cond::Contains(k) => arg.contains(k),
            Cond::Exact(k) => arg == k,
            Cond::ContainsLen(k, n) => arg.contains(k) && arg.len() == n,
            Cond::ContainsLenGt(k, n) => arg.contains(k) && arg.len() > n,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Cond::Contains(k)
            | Cond::Exact(k)
            | Cond::ContainsLen(k, _)
            | Cond::ContainsLenGt(k, _) => k,
        }
    }
}

/// Identity of one option test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Na,
    Nb,
    Nc,
    N,
    Cell,
    MissetRandom,
    Misset,
    SampleSize,
    SampleX,
    SampleY,
    SampleZ,
    XtalSize,
    XtalX,
    XtalY,
    XtalZ,
    Density,
    MolecularWeight,
    Xbeam,
    Ybeam,
    Xclose,
    Yclose,
    Orgx,
    Orgy,
    Pivot,
    Mosflm,
    Xds,
    Adxv,
    Denzo,
    Dials,
    FdetVector,
    SdetVector,
    OdetVector,
    BeamVector,
    PolarVector,
    SpindleAxis,
    TwothetaAxis,
    Pix0Vector,
    Distance,
    CloseDistance,
    DetectorAbs,
    DetectorThick,
    DetectorThicksteps,
    Thicksteps,
    Twotheta,
    DetectorRotx,
    DetectorRoty,
    DetectorRotz,
    Detsize,
    DetsizeF,
    DetsizeS,
    Detpixels,
    DetpixelsF,
    DetpixelsS,
    CurvedDet,
    Pixel,
    PointPixel,
    Polar,
    Nopolar,
    OversampleThick,
    OversamplePolar,
    OversampleOmega,
    Oversample,
    Roi,
    Lambda,
    Energy,
    Fluence,
    Flux,
    Exposure,
    Beamsize,
    Mosaic,
    MosaicDomains,
    Dispersion,
    Dispsteps,
    Divergence,
    Hdivrange,
    Vdivrange,
    Hdivstep,
    Hdivsteps,
    Vdivstep,
    Vdivsteps,
    Divsteps,
    RoundDiv,
    SquareDiv,
    Adc,
    Phi,
    Osc,
    Phistep,
    Phisteps,
    Dmin,
    Mat,
    Hkl,
    DefaultF,
    Dump,
    Img,
    Stolout,
    Stol,
    Stol4,
    StolQ,
    Sourcefile,
    Floatfile,
    Intfile,
    Pgmfile,
    Noisefile,
    Nonoise,
    Nopgm,
    Scale,
    Pgmscale,
    Coherent,
    Printout,
    Noprogress,
    Progress,
    Interpolate,
    Nointerpolate,
    RoundXtal,
    SquareXtal,
    GaussXtal,
    TophatSpots,
    Fudge,
    PrintoutPixel,
    Seed,
    MosaicSeed,
    MissetSeed,
    Water,
    // Only in the reference's pre-scan:
    Mask,
    // This program's own options:
    Pngfile,
    Precision,
    FixQuirks,
    FixCell,
    AllowNonfinite,
    Help,
    Version,
    // Series and clusters (this program's):
    Images,
    Shots,
    Rank,
    Ranks,
    Manifest,
    Merge,
    RandomFluence,
    RandomN,
}

/// One option test.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub key: Key,
    /// Alternatives; the test fires if any matches.
    pub conds: &'static [Cond],
    /// Following arguments the test requires (`argc > i + need` in the reference).
    pub need: usize,
    /// Ends the processing of this argument when it fires.
    pub stop: bool,
    /// Short description for `-help` (empty: not listed).
    pub help: &'static str,
}

use Cond::*;

macro_rules! e {
    ($key:ident, [$($c:expr),+], $need:expr, $stop:expr, $help:expr) => {
        Entry { key: Key::$key, conds: &[$($c),+], need: $need, stop: $stop, help: $help }
    };
}

/// The tests, in the reference's order, then this program's own options.
pub static TABLE: &[Entry] = &[
    e!(Na, [Contains("-Na")], 1, true, "unit cells along a"),
    e!(Nb, [Contains("-Nb")], 1, true, "unit cells along b"),
    e!(Nc, [Contains("-Nc")], 1, true, "unit cells along c"),
    e!(N, [Exact("-N")], 1, true, "unit cells along a, b and c"),
    e!(
        Cell,
        [Contains("-cell")],
        1,
        false,
        "unit cell a b c (Å) alpha beta gamma (deg)"
    ),
    e!(MissetRandom, [Contains("-misset")], 1, true, ""),
    e!(
        Misset,
        [Contains("-misset")],
        3,
        false,
        "crystal rotations about x, y, z (deg), or 'random'"
    ),
    e!(
        SampleSize,
        [Contains("-samplesize"), Contains("-sample_size")],
        1,
        false,
        "crystal size (mm), alternative to -N"
    ),
    e!(
        SampleX,
        [Contains("-sample_thick"), Contains("-sample_x")],
        1,
        false,
        "crystal size along x (mm)"
    ),
    e!(
        SampleY,
        [
            Contains("-sample_width"),
            Contains("-sample_y"),
            Contains("-width")
        ],
        1,
        false,
        "crystal size along y (mm)"
    ),
    e!(
        SampleZ,
        [
            Contains("-sample_heigh"),
            Contains("-sample_z"),
            Contains("-heigh")
        ],
        1,
        false,
        "crystal size along z (mm)"
    ),
    e!(
        XtalSize,
        [Contains("-xtalsize"), Contains("-xtal_size")],
        1,
        false,
        "crystal size (mm), alternative to -N"
    ),
    e!(
        XtalX,
        [Contains("-xtal_thick"), Contains("-xtal_x")],
        1,
        false,
        "crystal size along x (mm)"
    ),
    e!(
        XtalY,
        [
            Contains("-xtal_width"),
            Contains("-xtal_y"),
            Contains("-width")
        ],
        1,
        false,
        "crystal size along y (mm)"
    ),
    e!(
        XtalZ,
        [
            Contains("-xtal_heigh"),
            Contains("-xtal_z"),
            Contains("-heigh")
        ],
        1,
        false,
        "crystal size along z (mm)"
    ),
    e!(
        Density,
        [Contains("-density"), Contains("-sample_den")],
        1,
        false,
        "sample density g/cm^3 (no effect)"
    ),
    e!(
        MolecularWeight,
        [Exact("-MW"), Contains("-molec")],
        1,
        false,
        "molecular weight (no effect)"
    ),
    e!(
        Xbeam,
        [Contains("-Xbeam")],
        1,
        false,
        "beam centre, header X (mm)"
    ),
    e!(
        Ybeam,
        [Contains("-Ybeam")],
        1,
        false,
        "beam centre, header Y (mm)"
    ),
    e!(Xclose, [Contains("-Xclose")], 1, false, "near point X (mm)"),
    e!(Yclose, [Contains("-Yclose")], 1, false, "near point Y (mm)"),
    e!(
        Orgx,
        [Contains("-ORGX")],
        1,
        false,
        "XDS origin, fast (pixels)"
    ),
    e!(
        Orgy,
        [Contains("-ORGY")],
        1,
        false,
        "XDS origin, slow (pixels)"
    ),
    e!(
        Pivot,
        [Contains("-pivot")],
        1,
        false,
        "detector pivot: beam or sample"
    ),
    e!(
        Mosflm,
        [Contains("-mosflm")],
        0,
        false,
        "MOSFLM axis and beam-centre convention"
    ),
    e!(Xds, [Contains("-xds")], 0, false, "XDS convention"),
    e!(Adxv, [Contains("-adxv")], 0, false, "ADXV convention"),
    e!(Denzo, [Contains("-denzo")], 0, false, "DENZO convention"),
    e!(Dials, [Contains("-dials")], 0, false, "DIALS convention"),
    e!(
        FdetVector,
        [Contains("-fdet_vector")],
        3,
        false,
        "fast detector axis x y z (CUSTOM)"
    ),
    e!(
        SdetVector,
        [Contains("-sdet_vector")],
        3,
        false,
        "slow detector axis x y z (CUSTOM)"
    ),
    e!(
        OdetVector,
        [Contains("-odet_vector")],
        3,
        false,
        "detector normal x y z (CUSTOM)"
    ),
    e!(
        BeamVector,
        [Contains("-beam_vector")],
        3,
        false,
        "beam direction x y z (CUSTOM)"
    ),
    e!(
        PolarVector,
        [Contains("-polar_vector")],
        3,
        false,
        "E-vector x y z (CUSTOM)"
    ),
    e!(
        SpindleAxis,
        [Contains("-spindle_axis")],
        3,
        false,
        "spindle axis x y z (CUSTOM)"
    ),
    e!(
        TwothetaAxis,
        [Contains("-twotheta_axis")],
        3,
        false,
        "2-theta axis x y z (CUSTOM)"
    ),
    e!(
        Pix0Vector,
        [Contains("-pix0_vector")],
        3,
        false,
        "first pixel position x y z (m) (CUSTOM)"
    ),
    e!(
        Distance,
        [Contains("-distance")],
        1,
        false,
        "sample to detector distance (mm)"
    ),
    e!(
        CloseDistance,
        [Contains("-close_distance")],
        1,
        false,
        "distance along the detector normal (mm)"
    ),
    e!(
        DetectorAbs,
        [Contains("-detector_abs")],
        1,
        false,
        "sensor attenuation depth (um) or 'inf'"
    ),
    e!(
        DetectorThick,
        [ContainsLen("-detector_thick", 15)],
        1,
        false,
        "sensor thickness (um)"
    ),
    e!(
        DetectorThicksteps,
        [Contains("-detector_thicksteps")],
        1,
        false,
        "sensor layers"
    ),
    e!(
        Thicksteps,
        [Contains("-thicksteps")],
        1,
        false,
        "sensor layers"
    ),
    e!(
        Twotheta,
        [Contains("-twotheta")],
        1,
        false,
        "detector 2-theta swing (deg)"
    ),
    e!(
        DetectorRotx,
        [Contains("-detector_rotx")],
        1,
        false,
        "detector rotation about x (deg)"
    ),
    e!(
        DetectorRoty,
        [Contains("-detector_roty")],
        1,
        false,
        "detector rotation about y (deg)"
    ),
    e!(
        DetectorRotz,
        [Contains("-detector_rotz")],
        1,
        false,
        "detector rotation about z (deg)"
    ),
    e!(
        Detsize,
        [ContainsLen("-detsize", 8)],
        1,
        false,
        "detector size (mm)"
    ),
    e!(
        DetsizeF,
        [Contains("-detsize_f")],
        1,
        false,
        "detector fast size (mm)"
    ),
    e!(
        DetsizeS,
        [Contains("-detsize_s")],
        1,
        false,
        "detector slow size (mm)"
    ),
    e!(
        Detpixels,
        [ContainsLen("-detpixels", 10)],
        1,
        false,
        "detector size (pixels)"
    ),
    e!(
        DetpixelsF,
        [Contains("-detpixels_f"), Contains("-detpixels_x")],
        1,
        false,
        "fast pixels"
    ),
    e!(
        DetpixelsS,
        [Contains("-detpixels_s"), Contains("-detpixels_y")],
        1,
        false,
        "slow pixels"
    ),
    e!(
        CurvedDet,
        [Contains("-curved_det")],
        1,
        false,
        "all pixels at the same distance"
    ),
    e!(Pixel, [Contains("-pixel")], 1, false, "pixel size (mm)"),
    e!(
        PointPixel,
        [Contains("-point_pixel")],
        0,
        false,
        "inverse-square solid angle only"
    ),
    e!(
        Polar,
        [ContainsLen("-polar", 6)],
        1,
        false,
        "Kahn polarization factor"
    ),
    e!(
        Nopolar,
        [Contains("-nopolar")],
        0,
        false,
        "no polarization correction"
    ),
    e!(
        OversampleThick,
        [Contains("-oversample_thick")],
        0,
        true,
        "recompute absorption per sub-pixel"
    ),
    e!(
        OversamplePolar,
        [Contains("-oversample_polar")],
        0,
        true,
        "recompute polarization per sub-pixel"
    ),
    e!(
        OversampleOmega,
        [Contains("-oversample_omega")],
        0,
        true,
        "recompute solid angle per sub-pixel"
    ),
    e!(
        Oversample,
        [Contains("-oversample")],
        1,
        false,
        "sub-pixels per pixel edge"
    ),
    e!(
        Roi,
        [Contains("-roi")],
        4,
        false,
        "render only xmin xmax ymin ymax"
    ),
    e!(
        Lambda,
        [Contains("-lambda"), Contains("-wave")],
        1,
        false,
        "wavelength (Å)"
    ),
    e!(
        Energy,
        [Contains("-energy")],
        1,
        false,
        "photon energy (eV)"
    ),
    e!(Fluence, [Contains("-fluence")], 1, false, "photons/m^2"),
    e!(Flux, [Contains("-flux")], 1, false, "photons/s"),
    e!(
        Exposure,
        [Contains("-exposure")],
        1,
        false,
        "exposure time (s)"
    ),
    e!(
        Beamsize,
        [Contains("-beamsize")],
        1,
        false,
        "beam size (mm)"
    ),
    e!(
        Mosaic,
        [
            ContainsLen("-mosaic", 7),
            Contains("-mosaici"),
            Contains("-mosaic_spr")
        ],
        1,
        false,
        "mosaic spread (deg)"
    ),
    e!(
        MosaicDomains,
        [Contains("-mosaic_dom")],
        1,
        false,
        "mosaic domains"
    ),
    e!(
        Dispersion,
        [Contains("-dispersion")],
        1,
        false,
        "spectral dispersion (%)"
    ),
    e!(
        Dispsteps,
        [Contains("-dispsteps")],
        1,
        false,
        "wavelengths across the dispersion"
    ),
    e!(
        Divergence,
        [Contains("-divergence")],
        1,
        false,
        "beam divergence, both axes (mrad)"
    ),
    e!(
        Hdivrange,
        [Contains("-hdivrange")],
        1,
        false,
        "horizontal divergence (mrad)"
    ),
    e!(
        Vdivrange,
        [Contains("-vdivrange")],
        1,
        false,
        "vertical divergence (mrad)"
    ),
    e!(
        Hdivstep,
        [ContainsLen("-hdivstep", 9)],
        1,
        false,
        "horizontal divergence step (mrad)"
    ),
    e!(
        Hdivsteps,
        [Contains("-hdivsteps")],
        1,
        false,
        "horizontal divergence points"
    ),
    e!(
        Vdivstep,
        [ContainsLen("-vdivstep", 9)],
        1,
        false,
        "vertical divergence step (mrad)"
    ),
    e!(
        Vdivsteps,
        [Contains("-vdivsteps")],
        1,
        false,
        "vertical divergence points"
    ),
    e!(
        Divsteps,
        [Contains("-divsteps")],
        1,
        false,
        "divergence points, both axes"
    ),
    e!(
        RoundDiv,
        [Contains("-round_div")],
        0,
        false,
        "trim the divergence grid to an ellipse"
    ),
    e!(
        SquareDiv,
        [Contains("-square_div")],
        0,
        false,
        "full divergence grid"
    ),
    e!(Adc, [Contains("-adc")], 1, false, "SMV pixel offset"),
    e!(
        Phi,
        [ContainsLen("-phi", 4)],
        1,
        false,
        "spindle start (deg)"
    ),
    e!(Osc, [Contains("-osc")], 1, false, "oscillation range (deg)"),
    e!(
        Phistep,
        [ContainsLen("-phistep", 8)],
        1,
        false,
        "spindle step (deg)"
    ),
    e!(Phisteps, [Contains("-phisteps")], 1, false, "spindle steps"),
    e!(Dmin, [Contains("-dmin")], 1, false, "resolution limit (Å)"),
    e!(
        Mat,
        [Contains("-mat")],
        1,
        false,
        "MOSFLM orientation matrix file"
    ),
    e!(
        Hkl,
        [Contains("-hkl")],
        1,
        false,
        "structure factors: h k l F text file"
    ),
    e!(
        DefaultF,
        [Contains("-default_F")],
        1,
        false,
        "F for unlisted reflections"
    ),
    e!(
        Dump,
        [Contains("-dump")],
        1,
        false,
        "structure-factor cache file"
    ),
    e!(
        Img,
        [Contains("-img")],
        1,
        false,
        "take detector parameters from an SMV header"
    ),
    e!(Stolout, [ContainsLenGt("-stolout", 7)], 1, false, ""),
    e!(
        Stol,
        [ContainsLen("-stol", 5)],
        1,
        false,
        "amorphous S(q) table (read, no effect)"
    ),
    e!(Stol4, [ContainsLen("-4stol", 6)], 1, false, ""),
    e!(StolQ, [ContainsLen("-Q", 2)], 1, false, ""),
    e!(
        Sourcefile,
        [Contains("-sourcefile")],
        1,
        false,
        "sources: X Y Z weight lambda per line"
    ),
    e!(
        Floatfile,
        [Contains("-floatfile"), Contains("-floatimage")],
        1,
        false,
        "float image output"
    ),
    e!(
        Intfile,
        [Contains("-intfile"), Contains("-intimage")],
        1,
        false,
        "SMV integer image output"
    ),
    e!(
        Pgmfile,
        [Contains("-pgmfile"), Contains("-pgmimage")],
        1,
        false,
        "PGM output"
    ),
    e!(
        Noisefile,
        [Contains("-noisefile"), Contains("-noiseimage")],
        1,
        false,
        "Poisson-noise SMV output"
    ),
    e!(Nonoise, [Contains("-nonoise")], 0, false, "no noise image"),
    e!(Nopgm, [Contains("-nopgm")], 0, false, "no PGM image"),
    e!(Scale, [Contains("-scale")], 1, false, "SMV scale"),
    e!(Pgmscale, [Contains("-pgmscale")], 1, false, "PGM scale"),
    e!(Coherent, [Contains("-coherent")], 0, false, "(no effect)"),
    e!(
        Printout,
        [Contains("-printout")],
        0,
        false,
        "print per-pixel values"
    ),
    e!(
        Noprogress,
        [Contains("-noprogress")],
        0,
        false,
        "no progress meter"
    ),
    e!(
        Progress,
        [Contains("-progress")],
        0,
        false,
        "progress meter"
    ),
    e!(
        Interpolate,
        [Contains("-interpolate")],
        0,
        false,
        "tricubic structure-factor interpolation"
    ),
    e!(
        Nointerpolate,
        [Contains("-nointerpolate")],
        0,
        false,
        "nearest structure factor"
    ),
    e!(
        RoundXtal,
        [Contains("-round_xtal")],
        0,
        false,
        "ellipsoidal crystal"
    ),
    e!(
        SquareXtal,
        [Contains("-square_xtal")],
        0,
        false,
        "parallelepiped crystal"
    ),
    e!(
        GaussXtal,
        [Contains("-gauss_xtal")],
        0,
        false,
        "Gaussian spots"
    ),
    e!(
        TophatSpots,
        [Contains("-binary_spots"), Contains("-tophat_spots")],
        0,
        false,
        "flat-top spots"
    ),
    e!(
        Fudge,
        [Contains("-fudge")],
        1,
        false,
        "spot-shape fudge factor"
    ),
    e!(
        PrintoutPixel,
        [Contains("-printout_pixel")],
        2,
        false,
        "print values for pixel fast slow"
    ),
    e!(Seed, [Contains("-seed")], 1, false, "noise seed"),
    e!(
        MosaicSeed,
        [Contains("-mosaic_seed")],
        1,
        false,
        "mosaic domain seed"
    ),
    e!(
        MissetSeed,
        [Contains("-misset_seed")],
        1,
        false,
        "random misset seed"
    ),
    e!(
        Water,
        [Contains("-water")],
        1,
        false,
        "water background thickness (um)"
    ),
    e!(
        Mask,
        [Contains("-mask")],
        1,
        false,
        "SMV mask: zero pixels are skipped"
    ),
    e!(
        Pngfile,
        [Exact("-pngfile")],
        1,
        false,
        "8-bit PNG preview, log-scaled: 255*ln(1+I/m)/ln(1+max/m), m = median of the positive pixels"
    ),
    e!(
        Precision,
        [Exact("-precision")],
        1,
        false,
        "kernel: double (exact) or single (SIMD)"
    ),
    e!(
        FixQuirks,
        [Exact("-fix_quirks")],
        0,
        false,
        "correct nanoBragg.c's known defects"
    ),
    e!(
        FixCell,
        [Exact("-fix_cell")],
        0,
        false,
        "textbook reciprocal cell for oblique cells"
    ),
    e!(
        AllowNonfinite,
        [Exact("-allow_nonfinite")],
        0,
        false,
        "write images with NaN or infinite pixels (otherwise an error), as nanoBragg.c does"
    ),
    e!(
        Help,
        [Exact("-h"), Exact("-help"), Exact("--help")],
        0,
        false,
        "this text"
    ),
    e!(
        Version,
        [Exact("-version"), Exact("--version")],
        0,
        false,
        "print the version"
    ),
    e!(
        Images,
        [Exact("-images")],
        1,
        false,
        "render a series of this many images (numbered from 1; names need %d or %0Nd)"
    ),
    e!(
        Shots,
        [Exact("-shots")],
        1,
        false,
        "shot list: one line of per-image options for each image"
    ),
    e!(
        Rank,
        [Exact("-rank")],
        1,
        false,
        "this process's rank among -ranks (from 0) [default: from the launcher]"
    ),
    e!(
        Ranks,
        [Exact("-ranks")],
        1,
        false,
        "processes sharing the series [default: from the launcher, else 1]"
    ),
    e!(
        Manifest,
        [Exact("-manifest")],
        1,
        false,
        "the series manifest (JSON lines) [default: series.jsonl beside the float images]"
    ),
    e!(
        Merge,
        [Exact("-merge")],
        1,
        false,
        "join the ranks' parts of a series manifest and report missing images"
    ),
    e!(
        RandomFluence,
        [Exact("-random_fluence")],
        1,
        false,
        "per-image fluence, log-normal with mean -fluence and this relative rms"
    ),
    e!(
        RandomN,
        [Exact("-random_N")],
        2,
        false,
        "per-image unit cells along a, b and c, uniform from the first to the second"
    ),
];

/// Spellings in nanoBragg.c's own documentation and examples that it does not recognise: it
/// ignores them, and their value, and renders. They are accepted with a warning naming what
/// was probably meant.
pub static IGNORED: &[(&str, &str)] = &[
    (
        "-hdiv",
        "-hdivrange (the horizontal divergence range, mrad)",
    ),
    ("-vdiv", "-vdivrange (the vertical divergence range, mrad)"),
    (
        "-dispstep",
        "-dispsteps (the number of wavelengths across the dispersion)",
    ),
    (
        "-detsize_x",
        "-detsize_f (the detector size along the fast axis, mm)",
    ),
    (
        "-detsize_y",
        "-detsize_s (the detector size along the slow axis, mm)",
    ),
];

/// The spellings users are expected to type (for suggestions and the help text).
pub static SPELLINGS: &[&str] = &[
    "-Na",
    "-Nb",
    "-Nc",
    "-N",
    "-cell",
    "-misset",
    "-samplesize",
    "-sample_size",
    "-sample_thick",
    "-sample_x",
    "-sample_width",
    "-sample_y",
    "-sample_height",
    "-sample_z",
    "-xtalsize",
    "-xtal_size",
    "-xtal_thick",
    "-xtal_x",
    "-xtal_width",
    "-xtal_y",
    "-xtal_height",
    "-xtal_z",
    "-width",
    "-height",
    "-density",
    "-MW",
    "-molecular",
    "-Xbeam",
    "-Ybeam",
    "-Xclose",
    "-Yclose",
    "-ORGX",
    "-ORGY",
    "-pivot",
    "-mosflm",
    "-xds",
    "-adxv",
    "-denzo",
    "-dials",
    "-fdet_vector",
    "-sdet_vector",
    "-odet_vector",
    "-beam_vector",
    "-polar_vector",
    "-spindle_axis",
    "-twotheta_axis",
    "-pix0_vector",
    "-distance",
    "-close_distance",
    "-detector_abs",
    "-detector_absorb",
    "-detector_thick",
    "-detector_thicksteps",
    "-thicksteps",
    "-twotheta",
    "-detector_rotx",
    "-detector_roty",
    "-detector_rotz",
    "-detsize",
    "-detsize_f",
    "-detsize_s",
    "-detpixels",
    "-detpixels_f",
    "-detpixels_s",
    "-detpixels_x",
    "-detpixels_y",
    "-curved_det",
    "-pixel",
    "-point_pixel",
    "-polar",
    "-nopolar",
    "-oversample_thick",
    "-oversample_polar",
    "-oversample_omega",
    "-oversample",
    "-roi",
    "-lambda",
    "-wavelength",
    "-energy",
    "-fluence",
    "-flux",
    "-exposure",
    "-beamsize",
    "-mosaic",
    "-mosaic_spread",
    "-mosaic_domains",
    "-dispersion",
    "-dispsteps",
    "-divergence",
    "-hdivrange",
    "-vdivrange",
    "-hdivstep",
    "-hdivsteps",
    "-vdivstep",
    "-vdivsteps",
    "-divsteps",
    "-round_div",
    "-square_div",
    "-adc",
    "-phi",
    "-osc",
    "-phistep",
    "-phisteps",
    "-dmin",
    "-mat",
    "-hkl",
    "-default_F",
    "-dump",
    "-img",
    "-mask",
    "-stol",
    "-4stol",
    "-Q",
    "-stolout",
    "-sourcefile",
    "-floatfile",
    "-floatimage",
    "-intfile",
    "-intimage",
    "-pgmfile",
    "-pgmimage",
    "-noisefile",
    "-noiseimage",
    "-nonoise",
    "-nopgm",
    "-scale",
    "-pgmscale",
    "-coherent",
    "-printout",
    "-printout_pixel",
    "-noprogress",
    "-progress",
    "-interpolate",
    "-nointerpolate",
    "-round_xtal",
    "-square_xtal",
    "-gauss_xtal",
    "-tophat_spots",
    "-binary_spots",
    "-fudge",
    "-seed",
    "-mosaic_seed",
    "-misset_seed",
    "-water",
    "-precision",
    "-fix_quirks",
    "-fix_cell",
    "-allow_nonfinite",
    "-help",
    "-version",
    "-images",
    "-shots",
    "-rank",
    "-ranks",
    "-manifest",
    "-merge",
    "-random_fluence",
    "-random_N",
];
