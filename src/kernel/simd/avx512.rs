//! Sixteen-lane vector types on AVX-512 for the kernel chosen at run time ([`super::x16rt`]),
//! in builds whose `wide` types were compiled for AVX2 or less (`wide` fixes its instruction
//! set when it is compiled, so its f32x16 is two AVX2 halves there).
//!
//! They offer the part of `wide`'s f32x16 / i32x16 / f64x8 interface that `lanes.rs` uses,
//! with the same results lane by lane: arithmetic, comparisons, selection and rounding are one
//! AVX-512 instruction each (the instruction `wide` uses on AVX2, at twice the width); the
//! rest (exp, ln, NaN-aware max/min, rounding to integers) runs `wide`'s own f32x8 code on the
//! two halves, which compiles to the same instructions inside AVX-512 code.
//!
//! Safety: every method executes AVX-512F/DQ instructions. Values of these types are only
//! made inside `x16rt`, whose kernel is only entered after [`available`] said yes (see
//! `enter!` there); outside that module the types are not reachable.

use std::arch::x86_64::*;
use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, BitXor, Div, DivAssign, Mul,
    MulAssign, Neg, Not, Sub, SubAssign,
};
use wide::{f32x8, i32x8};

/// Whether this CPU (and its operating system) runs the AVX-512 kernel: AVX-512 F, DQ, VL and
/// BW, the sets the kernel is compiled for (`AVX512_FEATURES` in build.rs).
pub fn available() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512dq")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512bw")
}

/// Sixteen f32 lanes (one zmm register).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct F32x16(__m512);

/// Sixteen i32 lanes.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct I32x16(__m512i);

/// Eight f64 lanes.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct F64x8(__m512d);

// SAFETY: plain vectors of 32-/64-bit numbers: every bit pattern is valid, no padding.
unsafe impl wide::bytemuck::Zeroable for F32x16 {}
unsafe impl wide::bytemuck::Pod for F32x16 {}
unsafe impl wide::bytemuck::Zeroable for I32x16 {}
unsafe impl wide::bytemuck::Pod for I32x16 {}

/// `unsafe { $e }` for the intrinsics (see the module's safety note).
macro_rules! avx {
    ($e:expr) => {
        // SAFETY: AVX-512F/DQ are present wherever these types exist (module notes).
        unsafe { $e }
    };
}

impl F32x16 {
    /// The two 256-bit halves (lanes 0-7 first).
    #[inline(always)]
    fn halves(self) -> [f32x8; 2] {
        // SAFETY: 64 bytes either way, every bit pattern valid.
        unsafe { std::mem::transmute::<__m512, [f32x8; 2]>(self.0) }
    }
    #[inline(always)]
    fn from_halves(h: [f32x8; 2]) -> F32x16 {
        // SAFETY: as in `halves`.
        F32x16(unsafe { std::mem::transmute::<[f32x8; 2], __m512>(h) })
    }
}

impl I32x16 {
    #[inline(always)]
    fn from_halves(h: [i32x8; 2]) -> I32x16 {
        // SAFETY: 64 bytes either way, every bit pattern valid.
        I32x16(unsafe { std::mem::transmute::<[i32x8; 2], __m512i>(h) })
    }
}

/// A binary operator (and its assigning form) as one intrinsic.
macro_rules! binop {
    ($t:ident, $tr:ident, $m:ident, $atr:ident, $am:ident, $f:ident) => {
        impl $tr for $t {
            type Output = $t;
            #[inline(always)]
            fn $m(self, o: $t) -> $t {
                $t(avx!($f(self.0, o.0)))
            }
        }
        impl $atr for $t {
            #[inline(always)]
            fn $am(&mut self, o: $t) {
                *self = $tr::$m(*self, o);
            }
        }
    };
}

/// A method computed by `wide`'s 256-bit type on each half.
macro_rules! by_halves {
    ($(#[$doc:meta])* $name:ident -> $out:ident) => {
        $(#[$doc])*
        #[inline(always)]
        pub fn $name(self) -> $out {
            let [a, b] = self.halves();
            $out::from_halves([a.$name(), b.$name()])
        }
    };
}

binop!(F32x16, Add, add, AddAssign, add_assign, _mm512_add_ps);
binop!(F32x16, Sub, sub, SubAssign, sub_assign, _mm512_sub_ps);
binop!(F32x16, Mul, mul, MulAssign, mul_assign, _mm512_mul_ps);
binop!(F32x16, Div, div, DivAssign, div_assign, _mm512_div_ps);
binop!(
    F32x16,
    BitAnd,
    bitand,
    BitAndAssign,
    bitand_assign,
    _mm512_and_ps
);
binop!(
    F32x16,
    BitOr,
    bitor,
    BitOrAssign,
    bitor_assign,
    _mm512_or_ps
);

impl BitXor for F32x16 {
    type Output = F32x16;
    #[inline(always)]
    fn bitxor(self, o: F32x16) -> F32x16 {
        F32x16(avx!(_mm512_xor_ps(self.0, o.0)))
    }
}

impl Not for F32x16 {
    type Output = F32x16;
    #[inline(always)]
    fn not(self) -> F32x16 {
        self ^ F32x16(avx!(_mm512_castsi512_ps(_mm512_set1_epi32(-1))))
    }
}

impl Neg for F32x16 {
    type Output = F32x16;
    #[inline(always)]
    fn neg(self) -> F32x16 {
        self ^ F32x16::splat(-0.0)
    }
}

impl From<[f32; 16]> for F32x16 {
    #[inline(always)]
    fn from(a: [f32; 16]) -> F32x16 {
        F32x16(avx!(_mm512_loadu_ps(a.as_ptr())))
    }
}

/// An all-ones lane where the comparison `$P` holds (as `wide` returns its masks).
macro_rules! cmp_ps {
    ($name:ident, $p:ident) => {
        #[inline(always)]
        pub fn $name(self, o: F32x16) -> F32x16 {
            let k = avx!(_mm512_cmp_ps_mask::<$p>(self.0, o.0));
            F32x16(avx!(_mm512_castsi512_ps(_mm512_movm_epi32(k))))
        }
    };
}

impl F32x16 {
    pub const ZERO: F32x16 = F32x16(unsafe { std::mem::transmute::<[f32; 16], __m512>([0.0; 16]) });
    pub const ONE: F32x16 = F32x16(unsafe { std::mem::transmute::<[f32; 16], __m512>([1.0; 16]) });

    /// From the raw vector (the gather's result).
    #[inline(always)]
    pub fn from_raw(v: __m512) -> F32x16 {
        F32x16(v)
    }
    #[inline(always)]
    pub fn splat(x: f32) -> F32x16 {
        F32x16(avx!(_mm512_set1_ps(x)))
    }
    #[inline(always)]
    pub fn to_array(self) -> [f32; 16] {
        // SAFETY: 64 bytes either way.
        unsafe { std::mem::transmute::<__m512, [f32; 16]>(self.0) }
    }
    /// `self·a + b`, fused.
    #[inline(always)]
    pub fn mul_add(self, a: F32x16, b: F32x16) -> F32x16 {
        F32x16(avx!(_mm512_fmadd_ps(self.0, a.0, b.0)))
    }
    #[inline(always)]
    pub fn sqrt(self) -> F32x16 {
        F32x16(avx!(_mm512_sqrt_ps(self.0)))
    }
    #[inline(always)]
    pub fn abs(self) -> F32x16 {
        self & F32x16(avx!(_mm512_castsi512_ps(_mm512_set1_epi32(i32::MAX))))
    }
    #[inline(always)]
    pub fn floor(self) -> F32x16 {
        F32x16(avx!(_mm512_roundscale_ps::<
            { _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC },
        >(self.0)))
    }
    #[inline(always)]
    pub fn ceil(self) -> F32x16 {
        F32x16(avx!(_mm512_roundscale_ps::<
            { _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC },
        >(self.0)))
    }
    #[inline(always)]
    pub fn round_ties_even(self) -> F32x16 {
        F32x16(avx!(_mm512_roundscale_ps::<
            { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
        >(self.0)))
    }
    /// max as the instruction computes it (the second operand where either is NaN).
    #[inline(always)]
    pub fn fast_max(self, o: F32x16) -> F32x16 {
        F32x16(avx!(_mm512_max_ps(self.0, o.0)))
    }
    /// min as the instruction computes it (the second operand where either is NaN).
    #[inline(always)]
    pub fn fast_min(self, o: F32x16) -> F32x16 {
        F32x16(avx!(_mm512_min_ps(self.0, o.0)))
    }
    /// Truncated to i32 (0x8000_0000 where out of range or NaN, as the instruction does).
    #[inline(always)]
    pub fn fast_trunc_int(self) -> I32x16 {
        I32x16(avx!(_mm512_cvttps_epi32(self.0)))
    }
    cmp_ps!(simd_eq, _CMP_EQ_OQ);
    cmp_ps!(simd_ne, _CMP_NEQ_UQ);
    cmp_ps!(simd_lt, _CMP_LT_OQ);
    cmp_ps!(simd_gt, _CMP_GT_OQ);
    cmp_ps!(simd_le, _CMP_LE_OQ);
    cmp_ps!(simd_ge, _CMP_GE_OQ);
    /// `if_true` in the lanes whose sign bit is set in `self` (a mask), else `if_false`.
    #[inline(always)]
    pub fn select(self, if_true: F32x16, if_false: F32x16) -> F32x16 {
        let k = avx!(_mm512_movepi32_mask(_mm512_castps_si512(self.0)));
        F32x16(avx!(_mm512_mask_blend_ps(k, if_false.0, if_true.0)))
    }
    /// The lanes' sign bits, lane 0 lowest.
    #[inline(always)]
    pub fn to_bitmask(self) -> u32 {
        avx!(_mm512_movepi32_mask(_mm512_castps_si512(self.0))) as u32
    }
    #[inline(always)]
    pub fn any(self) -> bool {
        self.to_bitmask() != 0
    }
    #[inline(always)]
    pub fn all(self) -> bool {
        self.to_bitmask() == 0xFFFF
    }
    /// NaN-aware max (`wide`'s: `self` where `o` is NaN).
    #[inline(always)]
    pub fn max(self, o: F32x16) -> F32x16 {
        let ([a, b], [c, d]) = (self.halves(), o.halves());
        F32x16::from_halves([a.max(c), b.max(d)])
    }
    /// NaN-aware min (`wide`'s).
    #[inline(always)]
    pub fn min(self, o: F32x16) -> F32x16 {
        let ([a, b], [c, d]) = (self.halves(), o.halves());
        F32x16::from_halves([a.min(c), b.min(d)])
    }
    /// The lanes as f64 (exact): lanes 0-7 and 8-15.
    #[inline(always)]
    pub fn widen(self) -> [F64x8; 2] {
        [
            F64x8(avx!(_mm512_cvtps_pd(_mm512_castps512_ps256(self.0)))),
            F64x8(avx!(_mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(self.0)))),
        ]
    }
    by_halves!(exp -> F32x16);
    by_halves!(ln -> F32x16);
    by_halves!(is_finite -> F32x16);
    by_halves!(round_int -> I32x16);
}

binop!(I32x16, Add, add, AddAssign, add_assign, _mm512_add_epi32);
binop!(I32x16, Sub, sub, SubAssign, sub_assign, _mm512_sub_epi32);
binop!(I32x16, Mul, mul, MulAssign, mul_assign, _mm512_mullo_epi32);
binop!(
    I32x16,
    BitAnd,
    bitand,
    BitAndAssign,
    bitand_assign,
    _mm512_and_si512
);
binop!(
    I32x16,
    BitOr,
    bitor,
    BitOrAssign,
    bitor_assign,
    _mm512_or_si512
);

impl From<[i32; 16]> for I32x16 {
    #[inline(always)]
    fn from(a: [i32; 16]) -> I32x16 {
        I32x16(avx!(_mm512_loadu_si512(a.as_ptr().cast())))
    }
}

/// An all-ones lane where the comparison holds.
macro_rules! cmp_epi32 {
    ($name:ident, $f:ident) => {
        #[inline(always)]
        pub fn $name(self, o: I32x16) -> I32x16 {
            I32x16(avx!(_mm512_movm_epi32($f(self.0, o.0))))
        }
    };
}

impl I32x16 {
    pub const ZERO: I32x16 = I32x16(unsafe { std::mem::transmute::<[i32; 16], __m512i>([0; 16]) });

    #[inline(always)]
    pub fn splat(x: i32) -> I32x16 {
        I32x16(avx!(_mm512_set1_epi32(x)))
    }
    #[inline(always)]
    pub fn to_array(self) -> [i32; 16] {
        // SAFETY: 64 bytes either way.
        unsafe { std::mem::transmute::<__m512i, [i32; 16]>(self.0) }
    }
    /// The raw vector (for the gather).
    #[inline(always)]
    pub fn raw(self) -> __m512i {
        self.0
    }
    cmp_epi32!(simd_eq, _mm512_cmpeq_epi32_mask);
    cmp_epi32!(simd_gt, _mm512_cmpgt_epi32_mask);
    cmp_epi32!(simd_lt, _mm512_cmplt_epi32_mask);
}

binop!(F64x8, Add, add, AddAssign, add_assign, _mm512_add_pd);
binop!(F64x8, Sub, sub, SubAssign, sub_assign, _mm512_sub_pd);
binop!(F64x8, Mul, mul, MulAssign, mul_assign, _mm512_mul_pd);
binop!(F64x8, Div, div, DivAssign, div_assign, _mm512_div_pd);

impl From<[f64; 8]> for F64x8 {
    #[inline(always)]
    fn from(a: [f64; 8]) -> F64x8 {
        F64x8(avx!(_mm512_loadu_pd(a.as_ptr())))
    }
}

impl F64x8 {
    #[inline(always)]
    pub fn splat(x: f64) -> F64x8 {
        F64x8(avx!(_mm512_set1_pd(x)))
    }
    #[inline(always)]
    pub fn to_array(self) -> [f64; 8] {
        // SAFETY: 64 bytes either way.
        unsafe { std::mem::transmute::<__m512d, [f64; 8]>(self.0) }
    }
    /// `self·a + b`, fused.
    #[inline(always)]
    pub fn mul_add(self, a: F64x8, b: F64x8) -> F64x8 {
        F64x8(avx!(_mm512_fmadd_pd(self.0, a.0, b.0)))
    }
    #[inline(always)]
    pub fn sqrt(self) -> F64x8 {
        F64x8(avx!(_mm512_sqrt_pd(self.0)))
    }
    #[inline(always)]
    pub fn abs(self) -> F64x8 {
        F64x8(avx!(_mm512_castsi512_pd(_mm512_and_si512(
            _mm512_castpd_si512(self.0),
            _mm512_set1_epi64(i64::MAX)
        ))))
    }
    #[inline(always)]
    pub fn floor(self) -> F64x8 {
        F64x8(avx!(_mm512_roundscale_pd::<
            { _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC },
        >(self.0)))
    }
    #[inline(always)]
    pub fn round_ties_even(self) -> F64x8 {
        F64x8(avx!(_mm512_roundscale_pd::<
            { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
        >(self.0)))
    }
    /// max as the instruction computes it (the second operand where either is NaN).
    #[inline(always)]
    pub fn fast_max(self, o: F64x8) -> F64x8 {
        F64x8(avx!(_mm512_max_pd(self.0, o.0)))
    }
    /// NaN-aware min (`wide`'s: `self` where `o` is NaN, `o` where `self` is).
    #[inline(always)]
    pub fn min(self, o: F64x8) -> F64x8 {
        let o_nan = avx!(_mm512_cmp_pd_mask::<_CMP_UNORD_Q>(o.0, o.0));
        F64x8(avx!(_mm512_mask_blend_pd(
            o_nan,
            _mm512_min_pd(self.0, o.0),
            self.0
        )))
    }
    /// Rounded to f32 (eight lanes).
    #[inline(always)]
    pub fn narrow(self) -> __m256 {
        avx!(_mm512_cvtpd_ps(self.0))
    }
}

#[cfg(test)]
mod tests {
    //! Each operation against `wide`'s own f32x8 / i32x8 / f64x4 on the two halves, bit for
    //! bit, over values that probe the edges (signed zeros, infinities, NaN, huge, tiny,
    //! halfway cases for the roundings).
    use super::*;
    use wide::f64x4;

    const EDGES: [f32; 24] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        1.5,
        2.5,
        -2.5,
        0.499_999_97,
        1e-40,
        -1e-40,
        3.4e38,
        -3.4e38,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        8_388_609.0,
        -2_147_483_648.0,
        2_147_483_648.0,
        123.456,
        -7.25,
        88.5,
        -103.0,
    ];

    /// Sixteen values starting at `EDGES[k]`, cyclically.
    fn lanes(k: usize) -> [f32; 16] {
        std::array::from_fn(|l| EDGES[(k + l) % EDGES.len()])
    }

    fn wide_halves(a: [f32; 16]) -> [f32x8; 2] {
        [
            f32x8::from(<[f32; 8]>::try_from(&a[..8]).unwrap()),
            f32x8::from(<[f32; 8]>::try_from(&a[8..]).unwrap()),
        ]
    }

    fn bits(v: [f32; 16]) -> [u32; 16] {
        v.map(f32::to_bits)
    }

    fn joined(h: [f32x8; 2]) -> [u32; 16] {
        let (a, b) = (h[0].to_array(), h[1].to_array());
        std::array::from_fn(|l| if l < 8 { a[l] } else { b[l - 8] }.to_bits())
    }

    /// A binary operation on our type and on wide's, named for the failure message.
    type Binary<T, W> = (&'static str, fn(T, T) -> T, fn(W, W) -> W);
    /// A unary operation on both.
    type Unary<T, W> = (&'static str, fn(T) -> T, fn(W) -> W);

    /// The four arithmetic operators, for any pair of our type and wide's.
    #[rustfmt::skip]
    fn arithmetic<T, W>() -> Vec<Binary<T, W>>
    where
        T: Add<Output = T> + Sub<Output = T> + Mul<Output = T> + Div<Output = T>,
        W: Add<Output = W> + Sub<Output = W> + Mul<Output = W> + Div<Output = W>,
    {
        vec![
            ("+", |a, b| a + b, |a, b| a + b),
            ("-", |a, b| a - b, |a, b| a - b),
            ("*", |a, b| a * b, |a, b| a * b),
            ("/", |a, b| a / b, |a, b| a / b),
        ]
    }

    #[rustfmt::skip]
    fn f32_binary() -> Vec<Binary<F32x16, f32x8>> {
        let mut ops = arithmetic();
        ops.extend::<[Binary<F32x16, f32x8>; 13]>([
            ("&", |a, b| a & b, |a, b| a & b),
            ("|", |a, b| a | b, |a, b| a | b),
            ("^", |a, b| a ^ b, |a, b| a ^ b),
            ("fast_max", |a, b| a.fast_max(b), |a, b| a.fast_max(b)),
            ("fast_min", |a, b| a.fast_min(b), |a, b| a.fast_min(b)),
            ("max", |a, b| a.max(b), |a, b| a.max(b)),
            ("min", |a, b| a.min(b), |a, b| a.min(b)),
            ("simd_eq", |a, b| a.simd_eq(b), |a, b| a.simd_eq(b)),
            ("simd_ne", |a, b| a.simd_ne(b), |a, b| a.simd_ne(b)),
            ("simd_lt", |a, b| a.simd_lt(b), |a, b| a.simd_lt(b)),
            ("simd_gt", |a, b| a.simd_gt(b), |a, b| a.simd_gt(b)),
            ("simd_le", |a, b| a.simd_le(b), |a, b| a.simd_le(b)),
            ("simd_ge", |a, b| a.simd_ge(b), |a, b| a.simd_ge(b)),
        ]);
        ops
    }

    #[rustfmt::skip]
    fn f32_unary() -> [Unary<F32x16, f32x8>; 10] {
        [
            ("!", |a| !a, |a| !a),
            ("neg", |a| -a, |a| -a),
            ("sqrt", |a| a.sqrt(), |a| a.sqrt()),
            ("abs", |a| a.abs(), |a| a.abs()),
            ("floor", |a| a.floor(), |a| a.floor()),
            ("ceil", |a| a.ceil(), |a| a.ceil()),
            ("round_ties_even", |a| a.round_ties_even(), |a| a.round_ties_even()),
            ("exp", |a| a.exp(), |a| a.exp()),
            ("ln", |a| a.ln(), |a| a.ln()),
            ("is_finite", |a| a.is_finite(), |a| a.is_finite()),
        ]
    }

    #[rustfmt::skip]
    fn i32_binary() -> [Binary<I32x16, i32x8>; 8] {
        [
            ("+", |a, b| a + b, |a, b| a + b),
            ("-", |a, b| a - b, |a, b| a - b),
            ("*", |a, b| a * b, |a, b| a * b),
            ("&", |a, b| a & b, |a, b| a & b),
            ("|", |a, b| a | b, |a, b| a | b),
            ("simd_eq", |a, b| a.simd_eq(b), |a, b| a.simd_eq(b)),
            ("simd_gt", |a, b| a.simd_gt(b), |a, b| a.simd_gt(b)),
            ("simd_lt", |a, b| a.simd_lt(b), |a, b| a.simd_lt(b)),
        ]
    }

    #[rustfmt::skip]
    fn f64_binary() -> Vec<Binary<F64x8, f64x4>> {
        let mut ops = arithmetic();
        ops.extend::<[Binary<F64x8, f64x4>; 2]>([
            ("fast_max", |a, b| a.fast_max(b), |a, b| a.fast_max(b)),
            ("min", |a, b| a.min(b), |a, b| a.min(b)),
        ]);
        ops
    }

    #[rustfmt::skip]
    fn f64_unary() -> [Unary<F64x8, f64x4>; 4] {
        [
            ("sqrt", |a| a.sqrt(), |a| a.sqrt()),
            ("abs", |a| a.abs(), |a| a.abs()),
            ("floor", |a| a.floor(), |a| a.floor()),
            ("round_ties_even", |a| a.round_ties_even(), |a| a.round_ties_even()),
        ]
    }

    #[test]
    fn operations_equal_wides_bit_for_bit() {
        if !available() {
            // this CPU cannot run the types; the program must then not choose them
            assert_eq!(crate::kernel::simd::width(), crate::kernel::simd::Width::X8);
            return;
        }
        for k in 0..EDGES.len() {
            for j in [1, 5, 11] {
                let (x, y, z) = (lanes(k), lanes(k + j), lanes(k + 2 * j));
                let (a, b, c) = (F32x16::from(x), F32x16::from(y), F32x16::from(z));
                let (p, q, r) = (wide_halves(x), wide_halves(y), wide_halves(z));
                let ctx = format!("x = {x:?}, y = {y:?}");
                for (name, ours, theirs) in f32_binary() {
                    let want = joined([theirs(p[0], q[0]), theirs(p[1], q[1])]);
                    assert_eq!(bits(ours(a, b).to_array()), want, "{name}: {ctx}");
                }
                for (name, ours, theirs) in f32_unary() {
                    let want = joined([theirs(p[0]), theirs(p[1])]);
                    assert_eq!(bits(ours(a).to_array()), want, "{name}: {ctx}");
                }
                assert_eq!(
                    bits(a.mul_add(b, c).to_array()),
                    joined([p[0].mul_add(q[0], r[0]), p[1].mul_add(q[1], r[1])]),
                    "{ctx}"
                );
                let m = a.simd_lt(b);
                let mw = [p[0].simd_lt(q[0]), p[1].simd_lt(q[1])];
                assert_eq!(
                    bits(m.select(a, c).to_array()),
                    joined([mw[0].select(p[0], r[0]), mw[1].select(p[1], r[1])]),
                    "{ctx}"
                );
                assert_eq!(
                    m.to_bitmask(),
                    mw[0].to_bitmask() | mw[1].to_bitmask() << 8,
                    "{ctx}"
                );
                assert_eq!(m.any(), mw[0].any() || mw[1].any(), "{ctx}");
                assert_eq!(m.all(), mw[0].all() && mw[1].all(), "{ctx}");
                let ints = |h: [i32x8; 2]| -> [i32; 16] {
                    let (u, v) = (h[0].to_array(), h[1].to_array());
                    std::array::from_fn(|l| if l < 8 { u[l] } else { v[l - 8] })
                };
                assert_eq!(
                    a.round_int().to_array(),
                    ints([p[0].round_int(), p[1].round_int()]),
                    "{ctx}"
                );
                assert_eq!(
                    a.fast_trunc_int().to_array(),
                    ints([p[0].fast_trunc_int(), p[1].fast_trunc_int()]),
                    "{ctx}"
                );
                // integer lanes: the float lanes' bit patterns as i32
                let (i, n) = (a.fast_trunc_int(), b.fast_trunc_int());
                let (iw, nw) = (
                    [p[0].fast_trunc_int(), p[1].fast_trunc_int()],
                    [q[0].fast_trunc_int(), q[1].fast_trunc_int()],
                );
                for (name, ours, theirs) in i32_binary() {
                    let want = ints([theirs(iw[0], nw[0]), theirs(iw[1], nw[1])]);
                    assert_eq!(ours(i, n).to_array(), want, "{name}: {ctx}");
                }
                // f64 lanes: the first eight values widened
                let d = |v: [f32; 16], o: usize| -> [f64; 8] {
                    std::array::from_fn(|l| v[l + o] as f64)
                };
                let (e, g, h) = (
                    F64x8::from(d(x, 0)),
                    F64x8::from(d(y, 0)),
                    F64x8::from(d(z, 0)),
                );
                let w = |v: [f64; 8]| {
                    [
                        f64x4::from([v[0], v[1], v[2], v[3]]),
                        f64x4::from([v[4], v[5], v[6], v[7]]),
                    ]
                };
                let (ew, gw, hw) = (w(d(x, 0)), w(d(y, 0)), w(d(z, 0)));
                let dj = |r: [f64x4; 2]| -> [u64; 8] {
                    let (u, v) = (r[0].to_array(), r[1].to_array());
                    std::array::from_fn(|l| if l < 4 { u[l] } else { v[l - 4] }.to_bits())
                };
                let db = |v: F64x8| v.to_array().map(f64::to_bits);
                for (name, ours, theirs) in f64_binary() {
                    let want = dj([theirs(ew[0], gw[0]), theirs(ew[1], gw[1])]);
                    assert_eq!(db(ours(e, g)), want, "{name}: {ctx}");
                }
                for (name, ours, theirs) in f64_unary() {
                    assert_eq!(
                        db(ours(e)),
                        dj([theirs(ew[0]), theirs(ew[1])]),
                        "{name}: {ctx}"
                    );
                }
                assert_eq!(
                    db(e.mul_add(g, h)),
                    dj([ew[0].mul_add(gw[0], hw[0]), ew[1].mul_add(gw[1], hw[1])]),
                    "{ctx}"
                );
                let narrowed: [f32; 8] = std::array::from_fn(|l| d(x, 0)[l] as f32);
                // SAFETY: AVX-512 is present (checked above); 32 bytes either way.
                let got: [f32; 8] = unsafe { std::mem::transmute(e.narrow()) };
                assert_eq!(got.map(f32::to_bits), narrowed.map(f32::to_bits), "{ctx}");
                // and widened: every lane exactly (as `as f64`), lanes 0-7 then 8-15
                let [lo, hi] = a.widen();
                assert_eq!(db(lo), d(x, 0).map(f64::to_bits), "{ctx}");
                assert_eq!(db(hi), d(x, 8).map(f64::to_bits), "{ctx}");
            }
        }
    }
}
