//! The command-line parser: NUL-separated words as arguments, parsed into the options.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nanobragg_fuzz_limits();
    let args: Vec<String> = data
        .split(|&b| b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let _ = nanobragg::cli::prescan(&args);
    let mut o = nanobragg::options::Options::new(-1);
    let mut warnings = Vec::new();
    let _ = nanobragg::cli::parse_into(&args, &mut o, &mut warnings);
    if let Some(a) = args.first() {
        let _ = nanobragg::cli::suggest(a);
    }
});

include!("limits.rs");
