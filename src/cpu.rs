//! CPU feature check.
//!
//! `wide` selects its instruction set when the crate is compiled (by `-C target-cpu` /
//! `-C target-feature`), not at run time. The default build (see `.cargo/config.toml`) targets
//! x86-64-v3 (AVX2 + FMA); running it on an older CPU would die with an illegal instruction.
//! The program and every C entry point therefore call [`supported`] before anything else and
//! refuse with [`UNSUPPORTED`]. That first call must itself run on an old CPU: it is integer
//! code only (feature tests and a bit mask), with no allocation or copies the compiler could
//! turn into AVX instructions; a test runs the program under an emulated pre-AVX CPU.
//! A portable build (`RUSTFLAGS="-C target-cpu=x86-64"`) runs anywhere and passes the check.

use crate::error::Error;

/// Why the program refuses to run on this CPU (one line, static).
pub const UNSUPPORTED: &str = if cfg!(target_feature = "avx512f") {
    "this build of nanobragg needs a CPU with AVX-512F, AVX2 and FMA (x86-64-v4); rebuild it for this machine: RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release"
} else {
    "this build of nanobragg needs a CPU with AVX2 and FMA (x86-64-v3); rebuild it for this machine: RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release"
};

/// The same message, NUL-terminated for C.
pub const UNSUPPORTED_C: &str = if cfg!(target_feature = "avx512f") {
    "this build of nanobragg needs a CPU with AVX-512F, AVX2 and FMA (x86-64-v4); rebuild it for this machine: RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release\0"
} else {
    "this build of nanobragg needs a CPU with AVX2 and FMA (x86-64-v3); rebuild it for this machine: RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release\0"
};

/// Whether this CPU has every instruction set the build was compiled for. Safe to call first
/// on any x86-64 CPU (see the module notes). `is_x86_feature_detected!` cannot be used here:
/// it answers "yes" at compile time for features the build enables, so the CPU is asked
/// directly (CPUID, and XGETBV for the operating system's support of the AVX registers).
#[inline(never)]
pub fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
        let need_avx = cfg!(target_feature = "avx") || cfg!(target_feature = "avx2");
        let need_fma = cfg!(target_feature = "fma");
        let need_avx2 = cfg!(target_feature = "avx2");
        let need_512 = cfg!(target_feature = "avx512f");
        if !(need_avx || need_fma || need_512) {
            return true;
        }
        // SAFETY: CPUID exists on every x86-64 CPU.
        #[allow(unused_unsafe)]
        let (max_leaf, ecx1) = unsafe { (__cpuid(0).eax, __cpuid(1).ecx) };
        let osxsave = ecx1 & (1 << 27) != 0;
        if !osxsave {
            return false;
        }
        // SAFETY: OSXSAVE is set, so XGETBV is available.
        let xcr0 = unsafe { _xgetbv(0) };
        if need_avx && (ecx1 & (1 << 28) == 0 || xcr0 & 0b110 != 0b110) {
            return false;
        }
        if need_fma && ecx1 & (1 << 12) == 0 {
            return false;
        }
        if need_avx2 || need_512 {
            if max_leaf < 7 {
                return false;
            }
            // SAFETY: leaf 7 exists (max_leaf ≥ 7).
            #[allow(unused_unsafe)]
            let ebx7 = unsafe { __cpuid_count(7, 0).ebx };
            if need_avx2 && ebx7 & (1 << 5) == 0 {
                return false;
            }
            if need_512 && (ebx7 & (1 << 16) == 0 || xcr0 & 0b1110_0110 != 0b1110_0110) {
                return false;
            }
        }
    }
    true
}

/// Instruction sets this build was compiled to use (beyond the x86-64 baseline).
pub fn compiled_features() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(target_feature = "avx") {
        v.push("avx");
    }
    if cfg!(target_feature = "avx2") {
        v.push("avx2");
    }
    if cfg!(target_feature = "fma") {
        v.push("fma");
    }
    if cfg!(target_feature = "avx512f") {
        v.push("avx512f");
    }
    v
}

/// Instruction sets the running CPU offers, of those this build may use.
pub fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            v.push("avx");
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            v.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("fma") {
            v.push("fma");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            v.push("avx512f");
        }
    }
    v
}

/// Fails when the CPU lacks an instruction set this build was compiled for.
pub fn check() -> Result<(), Error> {
    if supported() {
        Ok(())
    } else {
        Err(Error::Cpu(UNSUPPORTED.to_string()))
    }
}

/// The single-precision kernel this build uses on this CPU: its vector width and instruction
/// set (see `-version` and `nb_simd_info`), e.g. "f32x16 on AVX-512 (chosen at run time;
/// x86-64-v3 build)". Sixteen lanes on CPUs with AVX-512 (unless `NANOBRAGG_SIMD=x8`), else
/// the width and instruction set `wide` was compiled for: a crate that depends on nanobragg
/// gets the instruction set of *its* build flags, x86-64 baseline (SSE2) unless it sets
/// `-C target-cpu`; the SSE2 kernel is slower. Single-precision images differ in the last bits
/// between widths and instruction sets (the exact kernel is the same everywhere).
pub fn simd() -> &'static str {
    let s = simd_c();
    &s[..s.len() - 1]
}

/// [`simd`], NUL-terminated for C.
pub fn simd_c() -> &'static str {
    use crate::kernel::simd::{Width, width};
    match width() {
        Width::X16 if cfg!(target_feature = "avx512f") => "f32x16 on AVX-512F (x86-64-v4 build)\0",
        Width::X16 => concat!(
            "f32x16 on AVX-512 (chosen at run time; ",
            build!(),
            " build)\0"
        ),
        Width::X8 => X8_C,
    }
}

/// The eight-lane kernel's description.
const X8_C: &str = if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
    concat!("f32x8 on AVX2 + FMA (", build!(), " build)\0")
} else {
    "f32x8 on SSE2 (x86-64 baseline build: slower; build with RUSTFLAGS=\"-C target-cpu=x86-64-v3\" for AVX2 + FMA)\0"
};

#[cfg(target_feature = "avx512f")]
macro_rules! build {
    () => {
        "x86-64-v4"
    };
}
#[cfg(all(not(target_feature = "avx512f"), target_feature = "avx2"))]
macro_rules! build {
    () => {
        "x86-64-v3"
    };
}
#[cfg(not(any(target_feature = "avx512f", target_feature = "avx2")))]
macro_rules! build {
    () => {
        "x86-64 baseline"
    };
}
use build;
