//! CPU feature check.
//!
//! `wide` selects its instruction set when the crate is compiled (by `-C target-cpu` /
//! `-C target-feature`), not at run time. The default build (see `.cargo/config.toml`) targets
//! x86-64-v3 (AVX2 + FMA); running it on an older CPU would die with an illegal instruction.
//! The program and the C ABI therefore call [`check`] first and refuse with a clear message.
//! A portable build (`RUSTFLAGS="-C target-cpu=x86-64"`) runs anywhere and passes the check.

use crate::error::Error;

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
    let have = cpu_features();
    let missing: Vec<&str> = compiled_features()
        .into_iter()
        .filter(|f| !have.contains(f))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Cpu(format!(
            "this build of nanobragg needs a CPU with {} (missing: {}); rebuild portably with RUSTFLAGS=\"-C target-cpu=x86-64\" cargo build --release",
            compiled_features().join("+"),
            missing.join(", ")
        )))
    }
}
