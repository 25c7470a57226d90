//! The fast kernel: detector pixels along the fast axis in the lanes of a `wide` f32 vector,
//! eight (f32x8, AVX2) by default, sixteen (f32x16) in builds with AVX-512.
//!
//! Numerics: single precision in the hot loop, double precision where it carries the result.
//! * **Local frame.** For each vector and sub-pixel, lane 0's direction `d_ref` is computed in
//!   f64; the other lanes differ from it by a small `Δd`, computed in f32 from the small
//!   position offsets with a cancellation-free formula, so `Δd` keeps ~7 significant digits of
//!   a quantity of order 1e-3.
//! * **Miller indices.** For each (source, φ step, domain) the reference index
//!   h_ref = (a/λ)·(d_ref + s) is computed in f64 (cell vectors rotated once, in double) and
//!   split into an integer and a fraction; each lane's index is fraction + (a/λ)·Δd in f32. High
//!   indices therefore lose nothing to single precision.
//! * **Lattice factor** from the distance to the nearest integer index:
//!   sin(Nπh)/sin(πh) = ±sin(πr)/sin(πδ) with δ = h − round(h) and r = Nδ − round(Nδ), each by an
//!   f32 `sinpi` polynomial (relative error < 6e-9). Only the square is used, so signs drop.
//! * **Large crystals.** The error of r grows with N. Each run estimates the lattice factor's
//!   error from f32 lane indices (`Numerics` in `lanes.rs`); above 1e-5 the lanes' offsets Δd,
//!   indices, δ and r (ROUND: √(Σ(Nδ)²·fudge) and its reduction, GAUSS: the exponent) are
//!   formed in f64 and only the sines and what follows are f32 (the "wide" path).
//! * **Range.** Structure factors are scaled by a power of two chosen per run so that no f32
//!   term F²·F_latt² (or sum of 32) can overflow; GAUSS computes F_latt² as exp(κ − 2·arg). When
//!   terms below f32's range could still show in the image, lanes whose terms fell that low
//!   and whose sums are that small are rendered by the exact kernel.
//! * The per-pixel sum is kept in f64; terms are summed in f32 and moved to f64 every 32.
//! * Structure factors are looked up with a hardware gather where the build has one (`wide`
//!   has none), else per lane.
//!
//! The serial-order state of the reference (stale φ orientation, interpolation switch-off) is
//! tracked per lane; when a lane changes it, the lanes after it are rendered again with the new
//! state, so the result equals serial order (see the driver in `kernel/mod.rs`).
//!
//! One source, `lanes.rs`, is compiled once per lane width (as ultraviolet generates its
//! scalar and wide types): [`x8`] always; sixteen lanes as `x16` when the build targets
//! AVX-512 (`-C target-cpu=x86-64-v4`), else as `x16rt`, compiled for AVX-512 function by
//! function and entered only on CPUs that have it. [`kernel`] gives the width [`width`]
//! chooses at run time (sixteen lanes on AVX-512 CPUs unless `NANOBRAGG_SIMD=x8`); [`Simd`] is
//! the build's own width (x8, or x16 with the `f32x16` cargo feature).

// Index loops over lanes and axes mirror the formulas they implement.
#![allow(clippy::needless_range_loop)]

use crate::kernel::RowKernel;

/// Largest N_a·N_b·N_c the SIMD kernel renders: F_latt² ≤ 2^120 stays inside single
/// precision's range (larger crystals go to the exact kernel).
pub const MAX_CELLS: f64 = (1u64 << 60) as f64;

/// Eight lanes: f32x8 (AVX2 + FMA in the default build).
pub mod x8 {
    use wide::{f32x8 as F32, f64x4 as F64H, i32x8 as I32};
    type Bits = u8;
    const LANES: usize = 8;

    /// `table[idx[l]]` for the lanes (every index within `table`).
    #[inline(always)]
    fn gather(table: &[f32], idx: I32) -> F32 {
        #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
        {
            use std::arch::x86_64::{__m256i, _mm256_i32gather_ps};
            use wide::bytemuck::cast;
            debug_assert!(idx.to_array().iter().all(|&i| (i as usize) < table.len()));
            // SAFETY: AVX2 is enabled for this build; every index is within `table` (callers
            // mask out-of-range lanes to 0, and the table is not empty).
            unsafe {
                cast(_mm256_i32gather_ps::<4>(
                    table.as_ptr(),
                    cast::<I32, __m256i>(idx),
                ))
            }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
        {
            let idx = idx.to_array();
            F32::from(std::array::from_fn::<f32, LANES, _>(|l| {
                table.get(idx[l] as usize).copied().unwrap_or(f32::NAN)
            }))
        }
    }

    /// The two f64 halves `lo`, `hi` rounded to one f32 vector (lanes of `lo` first).
    #[inline(always)]
    fn narrow_halves(lo: F64H, hi: F64H) -> F32 {
        #[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
        {
            use std::arch::x86_64::{__m256d, _mm256_cvtpd_ps, _mm256_set_m128};
            use wide::bytemuck::cast;
            // SAFETY: AVX is enabled for this build.
            unsafe {
                cast(_mm256_set_m128(
                    _mm256_cvtpd_ps(cast::<F64H, __m256d>(hi)),
                    _mm256_cvtpd_ps(cast::<F64H, __m256d>(lo)),
                ))
            }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "avx")))]
        {
            let (a, b) = (lo.to_array(), hi.to_array());
            F32::from(std::array::from_fn::<f32, LANES, _>(|l| {
                if l < LANES / 2 {
                    a[l] as f32
                } else {
                    b[l - LANES / 2] as f32
                }
            }))
        }
    }

    /// The lanes of `v` as f64 (exact): lanes 0-3 and 4-7.
    #[inline(always)]
    fn widen_halves(v: F32) -> (F64H, F64H) {
        #[cfg(all(target_arch = "x86_64", target_feature = "avx"))]
        {
            use std::arch::x86_64::{
                __m256, _mm256_castps256_ps128, _mm256_cvtps_pd, _mm256_extractf128_ps,
            };
            use wide::bytemuck::cast;
            // SAFETY: AVX is enabled for this build.
            unsafe {
                let v: __m256 = cast(v);
                (
                    cast(_mm256_cvtps_pd(_mm256_castps256_ps128(v))),
                    cast(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v))),
                )
            }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "avx")))]
        {
            let a = v.to_array();
            (
                F64H::from(std::array::from_fn::<f64, { LANES / 2 }, _>(|l| {
                    a[l] as f64
                })),
                F64H::from(std::array::from_fn::<f64, { LANES / 2 }, _>(|l| {
                    a[LANES / 2 + l] as f64
                })),
            )
        }
    }

    /// Calls into the kernel (compiled for this build's instruction sets).
    macro_rules! enter {
        ($e:expr) => {
            $e
        };
    }

    include!("lanes.rs");
}

/// Sixteen lanes: f32x16, in builds that target AVX-512.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
pub mod x16 {
    use wide::{f32x16 as F32, f64x8 as F64H, i32x16 as I32};
    type Bits = u16;
    const LANES: usize = 16;

    /// `table[idx[l]]` for the lanes (every index within `table`).
    #[inline(always)]
    fn gather(table: &[f32], idx: I32) -> F32 {
        use std::arch::x86_64::{__m512i, _mm512_i32gather_ps};
        debug_assert!(idx.to_array().iter().all(|&i| (i as usize) < table.len()));
        // SAFETY: AVX-512F is enabled for this build; every index is within `table` (callers
        // mask out-of-range lanes to 0, and the table is not empty).
        unsafe {
            let idx: __m512i = std::mem::transmute(idx);
            std::mem::transmute(_mm512_i32gather_ps::<4>(idx, table.as_ptr().cast()))
        }
    }

    /// The two f64 halves `lo`, `hi` rounded to one f32 vector (lanes of `lo` first).
    #[inline(always)]
    fn narrow_halves(lo: F64H, hi: F64H) -> F32 {
        use std::arch::x86_64::{
            __m256, __m512, __m512d, _mm512_castps256_ps512, _mm512_cvtpd_ps, _mm512_insertf32x8,
        };
        // SAFETY: AVX-512F and DQ are enabled for this build (x86-64-v4); wide's f64x8 and
        // f32x16 are one __m512d / __m512 there.
        unsafe {
            let (lo, hi): (__m512d, __m512d) = (std::mem::transmute(lo), std::mem::transmute(hi));
            let (a, b): (__m256, __m256) = (_mm512_cvtpd_ps(lo), _mm512_cvtpd_ps(hi));
            let v: __m512 = _mm512_insertf32x8::<1>(_mm512_castps256_ps512(a), b);
            std::mem::transmute(v)
        }
    }

    /// The lanes of `v` as f64 (exact): lanes 0-7 and 8-15.
    #[inline(always)]
    fn widen_halves(v: F32) -> (F64H, F64H) {
        use std::arch::x86_64::{
            __m512, _mm512_castps512_ps256, _mm512_cvtps_pd, _mm512_extractf32x8_ps,
        };
        // SAFETY: AVX-512F and DQ are enabled for this build (x86-64-v4); wide's f32x16 and
        // f64x8 are one __m512 / __m512d there.
        unsafe {
            let v: __m512 = std::mem::transmute(v);
            (
                std::mem::transmute(_mm512_cvtps_pd(_mm512_castps512_ps256(v))),
                std::mem::transmute(_mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(v))),
            )
        }
    }

    /// Calls into the kernel (compiled for this build's instruction sets).
    macro_rules! enter {
        ($e:expr) => {
            $e
        };
    }

    include!("lanes.rs");
}

#[cfg(all(target_arch = "x86_64", not(target_feature = "avx512f")))]
pub mod avx512;

/// Sixteen lanes on AVX-512, chosen at run time in builds for AVX2 or less: `lanes.rs` with
/// the types of [`avx512`] and every function compiled for AVX-512 (build.rs adds the
/// `#[target_feature]` attributes to a copy of the file). Entered only where
/// [`avx512::available`] holds.
#[cfg(all(target_arch = "x86_64", not(target_feature = "avx512f")))]
pub mod x16rt {
    pub use super::avx512::available;
    use super::avx512::{F32x16 as F32, F64x8 as F64H, I32x16 as I32};
    type Bits = u16;
    const LANES: usize = 16;

    /// `table[idx[l]]` for the lanes (every index within `table`).
    #[inline(always)]
    fn gather(table: &[f32], idx: I32) -> F32 {
        use std::arch::x86_64::_mm512_i32gather_ps;
        debug_assert!(idx.to_array().iter().all(|&i| (i as usize) < table.len()));
        // SAFETY: AVX-512F is present (this module's code runs only where `available()`
        // holds); every index is within `table` (callers mask out-of-range lanes to 0, and the
        // table is not empty).
        F32::from_raw(unsafe { _mm512_i32gather_ps::<4>(idx.raw(), table.as_ptr().cast()) })
    }

    /// The two f64 halves `lo`, `hi` rounded to one f32 vector (lanes of `lo` first).
    #[inline(always)]
    fn narrow_halves(lo: F64H, hi: F64H) -> F32 {
        use std::arch::x86_64::{_mm512_castps256_ps512, _mm512_insertf32x8};
        // SAFETY: AVX-512F and DQ are present (as for `gather`).
        F32::from_raw(unsafe {
            _mm512_insertf32x8::<1>(_mm512_castps256_ps512(lo.narrow()), hi.narrow())
        })
    }

    /// The lanes of `v` as f64 (exact): lanes 0-7 and 8-15.
    #[inline(always)]
    fn widen_halves(v: F32) -> (F64H, F64H) {
        let [lo, hi] = v.widen();
        (lo, hi)
    }

    /// Calls into the kernel, whose functions are compiled for AVX-512: only on a CPU that
    /// has it. [`super::kernel_of`] makes a `Simd` of this module only after checking, so the
    /// assertion (a cached flag) does not fail there; it keeps the call sound for any caller.
    macro_rules! enter {
        ($e:expr) => {{
            assert!(
                available(),
                "the AVX-512 kernel was entered on a CPU without AVX-512"
            );
            // SAFETY: the CPU has every instruction set the kernel is compiled for.
            unsafe { $e }
        }};
    }

    include!(concat!(env!("OUT_DIR"), "/lanes_avx512.rs"));
}

#[cfg(all(feature = "f32x16", not(target_feature = "avx512f")))]
compile_error!(
    "the `f32x16` feature needs an AVX-512 build: RUSTFLAGS=\"-C target-cpu=x86-64-v4\""
);

/// Lane width of the SIMD kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// f32x8 (AVX2 + FMA in the default build).
    X8,
    /// f32x16 on AVX-512: chosen at run time ([`x16rt`]), or the build's own `x16`.
    X16,
}

/// The environment variable that chooses the width: `x8`, `x16` or `auto` (the default:
/// sixteen lanes where the CPU has AVX-512, else eight).
pub const WIDTH_VARIABLE: &str = "NANOBRAGG_SIMD";

/// The width `NANOBRAGG_SIMD` asks for (`None`: automatic), or the one-line reason its value
/// cannot be used (not one of the three, or `x16` on a CPU without AVX-512).
pub fn requested_width() -> Result<Option<Width>, String> {
    match std::env::var(WIDTH_VARIABLE).as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("" | "auto") => Ok(None),
        Ok("x8") => Ok(Some(Width::X8)),
        Ok("x16") if avx512_present() => Ok(Some(Width::X16)),
        Ok("x16") => Err(format!(
            "{WIDTH_VARIABLE}=x16: this CPU has no AVX-512 (F, DQ, VL and BW); use x8 or auto"
        )),
        Ok(v) => Err(format!(
            "{WIDTH_VARIABLE}={}: not a kernel width; use x8, x16 or auto",
            crate::cfmt::clip(v)
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "{WIDTH_VARIABLE} is not valid UTF-8; use x8, x16 or auto"
        )),
    }
}

/// Whether the CPU runs the sixteen-lane kernel.
fn avx512_present() -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    {
        true // the build needs it (checked at start-up, see `cpu::supported`)
    }
    #[cfg(all(target_arch = "x86_64", not(target_feature = "avx512f")))]
    {
        x16rt::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The width the SIMD kernel renders with: `NANOBRAGG_SIMD` (an unusable value counts as
/// `auto`; the program refuses it at start-up), else sixteen lanes on AVX-512 CPUs and eight
/// elsewhere; in builds with the `f32x16` feature always sixteen. Read once per process.
pub fn width() -> Width {
    static WIDTH: std::sync::OnceLock<Width> = std::sync::OnceLock::new();
    *WIDTH.get_or_init(|| match requested_width() {
        _ if cfg!(feature = "f32x16") => Width::X16,
        Ok(Some(w)) => w,
        _ if avx512_present() => Width::X16,
        _ => Width::X8,
    })
}

/// A SIMD kernel of the given width (eight lanes where sixteen cannot run).
pub fn kernel_of(width: Width) -> Box<dyn RowKernel> {
    match width {
        #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
        Width::X16 => Box::new(x16::Simd::default()),
        #[cfg(all(target_arch = "x86_64", not(target_feature = "avx512f")))]
        Width::X16 if avx512_present() => Box::new(x16rt::Simd::default()),
        _ => Box::new(x8::Simd::default()),
    }
}

/// The SIMD kernel of [`width`].
pub fn kernel() -> Box<dyn RowKernel> {
    kernel_of(width())
}

#[cfg(not(feature = "f32x16"))]
pub use x8::Simd;
#[cfg(feature = "f32x16")]
pub use x16::Simd;
