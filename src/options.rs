//! Options as the command line (and `-img`/`-mask` headers) give them.
//!
//! Values are stored exactly as nanoBragg.c stores them right after parsing: already converted
//! to its internal units (metres, radians, metres for λ, fractions for the dispersion), with its
//! "unset" markers (NaN, or −1 for counts and ranges). Defaults and derived values are filled
//! in later by [`crate::setup`]; this struct is only the record of what was asked for.

use crate::vec3::V3;

/// Detector/beam axis convention (reference `beam_convention`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    Adxv,
    Mosflm,
    Denzo,
    Xds,
    Dials,
    Custom,
}

impl Convention {
    /// The word the reference prints before " convention selected."
    pub fn name(self) -> &'static str {
        match self {
            Convention::Adxv => "adxv",
            Convention::Mosflm => "mosflm",
            Convention::Denzo => "denzo",
            Convention::Xds => "xds",
            Convention::Dials => "dials",
            Convention::Custom => "custom",
        }
    }
}

/// Point the detector rotates about (reference `detector_pivot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pivot {
    /// Keep the direct-beam spot fixed on the detector.
    Beam,
    /// Keep the point of closest approach to the sample fixed.
    Sample,
}

/// Lattice-transform shape (reference `xtal_shape`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Parallelepiped: product of three grating functions (default).
    Square,
    /// Ellipsoid: sinc3 of the fractional-index radius.
    Round,
    /// Gaussian of the reciprocal-space distance: no inter-Bragg fringes.
    Gauss,
    /// Flat-top spot clipped at the FWHM.
    Tophat,
}

/// Tricubic interpolation of structure factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Decide from Na, Nb, Nc (on when any is ≤ 2).
    Auto,
    On,
    Off,
}

/// Crystal missetting request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Misset {
    None,
    /// Random orientation drawn from the misset seed.
    Random,
    /// Rotations about lab X, Y, Z in radians, applied in that order.
    Angles(V3),
}

/// Which kernel renders the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Scalar f64 kernel, bit-identical to the reference.
    Double,
    /// f32x8 SIMD kernel on all threads.
    Single,
}

/// Everything the command line can set, in the reference's internal units.
#[derive(Clone, Debug)]
pub struct Options {
    // ---- crystal ----
    /// Unit cells along a, b, c (reference `Na`, `Nb`, `Nc`), as parsed (default 1).
    pub n_cells: [f64; 3],
    /// `-cell` was given.
    pub user_cell: bool,
    /// Cell edges a, b, c in Å (0 when not given).
    pub cell_lengths: [f64; 3],
    /// Cell angles α, β, γ in radians (0 when not given).
    pub cell_angles: [f64; 3],
    pub misset: Misset,
    /// Sample size x, y, z in metres (0 = use N).
    pub sample_size: [f64; 3],
    /// MOSFLM-style orientation matrix file.
    pub matfile: Option<String>,
    /// Lattice shape and its fudge factor.
    pub shape: Shape,
    pub fudge: f64,

    // ---- detector ----
    /// Beam centre for the header / BEAM pivot, metres (NaN = default).
    pub xbeam: f64,
    pub ybeam: f64,
    /// Near point for the SAMPLE pivot, metres (NaN = default).
    pub xclose: f64,
    pub yclose: f64,
    /// XDS origin in pixels (NaN = unset).
    pub orgx: f64,
    pub orgy: f64,
    pub pivot: Pivot,
    /// `-pivot` was given explicitly (for the convention-override warning).
    pub pivot_given: bool,
    pub convention: Convention,
    /// Detector fast, slow, normal axes; beam direction; E-vector; spindle; 2θ axis.
    pub fdet: V3,
    pub sdet: V3,
    pub odet: V3,
    pub beam: V3,
    pub polar_vector: V3,
    pub spindle: V3,
    pub twotheta_axis: V3,
    /// `-pix0_vector` (metres); inert in the reference, honoured with `-fix_quirks`.
    pub pix0: Option<V3>,
    /// Sample-to-detector distance along the beam, metres.
    pub distance: f64,
    /// Distance along the detector normal, metres (NaN = derive).
    pub close_distance: f64,
    /// Sensor attenuation coefficient μ in 1/m (−1 = unset).
    pub detector_mu: f64,
    /// Sensor thickness, metres.
    pub detector_thick: f64,
    /// Sensor layers (−1 = auto).
    pub detector_thicksteps: i32,
    /// Detector 2θ swing and XYZ rotations, radians.
    pub twotheta: f64,
    pub det_rot: V3,
    /// Detector size fast/slow, metres.
    pub detsize: [f64; 2],
    /// Pixel counts fast/slow (0 = from detsize).
    pub pixels: [i32; 2],
    pub curved_det: bool,
    /// Pixel size, metres.
    pub pixel_size: f64,
    pub point_pixel: bool,
    /// Region of interest xmin xmax ymin ymax, inclusive (−1 = whole detector).
    pub roi: [i32; 4],

    // ---- beam ----
    /// Kahn polarization factor.
    pub polarization: f64,
    pub nopolar: bool,
    /// Nominal wavelength λ0, metres.
    pub lambda0: f64,
    /// Fluence, photons/m²; flux photons/s; exposure s; beam size m.
    pub fluence: f64,
    pub flux: f64,
    pub exposure: f64,
    pub beamsize: f64,
    /// Spectral dispersion Δλ/λ (fraction) and its step count.
    pub dispersion: f64,
    pub dispsteps: i32,
    /// Divergence ranges and steps, radians.
    pub hdivrange: f64,
    pub vdivrange: f64,
    pub hdivstep: f64,
    pub vdivstep: f64,
    pub hdivsteps: i32,
    pub vdivsteps: i32,
    pub round_div: bool,
    /// Options that make divergence/dispersion sources (for the source-file warning).
    pub divergence_options: Vec<String>,
    pub sourcefile: Option<String>,

    // ---- sampling ----
    pub oversample: i32,
    pub oversample_thick: bool,
    pub oversample_polar: bool,
    pub oversample_omega: bool,
    /// Mosaic spread (radians, −1 = unset) and domain count (−1 = auto).
    pub mosaic_spread: f64,
    pub mosaic_domains: i32,
    /// Spindle start, oscillation range, step (radians; −1 = unset) and step count.
    pub phi0: f64,
    pub osc: f64,
    pub phistep: f64,
    pub phisteps: i32,
    /// Resolution cut-off, metres (0 = off).
    pub dmin: f64,
    /// Water layer thickness, metres.
    pub water_size: f64,

    // ---- structure factors ----
    pub hklfile: Option<String>,
    pub default_f: f64,
    pub dumpfile: String,
    pub interpolate: Interpolation,
    pub stolfile: Option<String>,

    // ---- files ----
    pub imgfile: Option<String>,
    pub maskfile: Option<String>,
    pub floatfile: String,
    pub intfile: String,
    pub pgmfile: String,
    /// `-pngfile`: 8-bit log-scaled preview (this program's option).
    pub pngfile: Option<String>,
    pub noisefile: String,
    pub write_noise: bool,
    pub write_pgm: bool,
    /// `-scale` for the SMV file (≤ 0 = automatic).
    pub intfile_scale: f64,
    /// `-pgmscale` (≤ 0 = automatic).
    pub pgm_scale: f64,
    /// ADC offset added to SMV pixels.
    pub adc: f64,

    // ---- console ----
    pub printout: bool,
    pub printout_pixel: [i32; 2],
    pub progress: bool,

    // ---- random seeds (stored negated, as the reference does) ----
    pub seed: i64,
    pub mosaic_seed: i64,
    pub misset_seed: i64,

    // ---- this program ----
    pub precision: Precision,
    pub fix_quirks: bool,
    /// Textbook triclinic reciprocal cell (`-fix_cell`) instead of the reference's c*_z.
    pub fix_cell: bool,
    /// Write images with NaN or infinite pixels (`-allow_nonfinite`) instead of refusing.
    pub allow_nonfinite: bool,

    // ---- series and clusters (this program's; see `crate::series`) ----
    /// `-images N`: a series of N images (`None`: one image, file names taken literally).
    pub images: Option<u64>,
    /// `-shots FILE`: per-image options, one line per image.
    pub shots: Option<String>,
    /// `-rank r -ranks n`: this process's share of the series.
    pub rank: Option<u64>,
    pub ranks: Option<u64>,
    /// `-manifest FILE`: the series manifest.
    pub manifest: Option<String>,
    /// `-merge FILE`: join a manifest's rank parts (no rendering).
    pub merge: Option<String>,
    /// `-random_fluence R`: per-image fluence, log-normal, relative rms R.
    pub random_fluence: Option<f64>,
    /// `-random_N lo hi`: per-image unit cells, uniform integers.
    pub random_n: Option<[u32; 2]>,
}

impl Options {
    /// The reference's defaults. `time_seed` is the negated start-up time the reference uses
    /// for both the noise seed and the misset seed.
    pub fn new(time_seed: i64) -> Options {
        let nan = f64::NAN;
        Options {
            n_cells: [1.0; 3],
            user_cell: false,
            cell_lengths: [0.0; 3],
            cell_angles: [0.0; 3],
            misset: Misset::None,
            sample_size: [0.0; 3],
            matfile: None,
            shape: Shape::Square,
            fudge: 1.0,
            xbeam: nan,
            ybeam: nan,
            xclose: nan,
            yclose: nan,
            orgx: nan,
            orgy: nan,
            pivot: Pivot::Beam,
            pivot_given: false,
            convention: Convention::Mosflm,
            fdet: [0.0, 0.0, 1.0],
            sdet: [0.0, -1.0, 0.0],
            odet: [1.0, 0.0, 0.0],
            beam: [1.0, 0.0, 0.0],
            polar_vector: [0.0, 0.0, 1.0],
            spindle: [0.0, 0.0, 1.0],
            twotheta_axis: [0.0, 1.0, 0.0],
            pix0: None,
            distance: 100.0e-3,
            close_distance: nan,
            detector_mu: -1.0,
            detector_thick: 0.0,
            detector_thicksteps: -1,
            twotheta: 0.0,
            det_rot: [0.0; 3],
            detsize: [102.4e-3, 102.4e-3],
            pixels: [0, 0],
            curved_det: false,
            pixel_size: 0.1e-3,
            point_pixel: false,
            roi: [-1; 4],
            polarization: 0.0,
            nopolar: false,
            lambda0: 1.0e-10,
            fluence: 125932015286227086360700780544.0,
            flux: 0.0,
            exposure: 1.0,
            beamsize: 1e-4,
            dispersion: 0.0,
            dispsteps: -1,
            hdivrange: -1.0,
            vdivrange: -1.0,
            hdivstep: -1.0,
            vdivstep: -1.0,
            hdivsteps: -1,
            vdivsteps: -1,
            round_div: true,
            divergence_options: Vec::new(),
            sourcefile: None,
            oversample: -1,
            oversample_thick: false,
            oversample_polar: false,
            oversample_omega: false,
            mosaic_spread: -1.0,
            mosaic_domains: -1,
            phi0: 0.0,
            osc: -1.0,
            phistep: -1.0,
            phisteps: -1,
            dmin: 0.0,
            water_size: 0.0,
            hklfile: None,
            default_f: 0.0,
            dumpfile: "Fdump.bin".to_string(),
            interpolate: Interpolation::Auto,
            stolfile: None,
            imgfile: None,
            maskfile: None,
            floatfile: "floatimage.bin".to_string(),
            intfile: "intimage.img".to_string(),
            pgmfile: "image.pgm".to_string(),
            pngfile: None,
            noisefile: "noiseimage.img".to_string(),
            write_noise: true,
            write_pgm: true,
            intfile_scale: 0.0,
            pgm_scale: 0.0,
            adc: 40.0,
            printout: false,
            printout_pixel: [-1, -1],
            progress: true,
            seed: time_seed,
            mosaic_seed: -12345678,
            misset_seed: time_seed,
            precision: Precision::Single,
            fix_quirks: false,
            fix_cell: false,
            allow_nonfinite: false,
            images: None,
            shots: None,
            rank: None,
            ranks: None,
            manifest: None,
            merge: None,
            random_fluence: None,
            random_n: None,
        }
    }
}

/// The reference's degrees-per-radian constant: 180·(1/π) with 1/π rounded to a double.
/// Degree inputs are divided by it (never multiplied by π/180, which differs in the last bit).
pub const RTD: f64 = 180.0 * std::f64::consts::FRAC_1_PI;
