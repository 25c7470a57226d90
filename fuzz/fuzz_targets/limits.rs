// Shared by every target: allocations the memory guard would allow on a large machine count as
// crashes under libFuzzer's malloc limit, so the guard is told the fuzzer's budget.
fn nanobragg_fuzz_limits() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called once, before any other thread of this process reads the environment.
        unsafe { std::env::set_var("NANOBRAGG_MEMORY_LIMIT", "1000000000") };
    });
}
