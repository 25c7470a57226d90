//! The memory guard: a run whose buffers cannot fit is refused before anything is allocated,
//! with the size it would need and the limit it would break (an allocation failure would
//! abort the process, and the kernel's OOM killer would kill it without a word).
//!
//! The memory a run may use is the smallest of: the memory the system has available
//! (`MemAvailable`), what the process's control group still allows (cgroup v1 or v2, through
//! the whole hierarchy), and the address space `RLIMIT_AS` (`ulimit -v`) leaves. The variable
//! `NANOBRAGG_MEMORY_LIMIT` (bytes, or with a K/M/G/T suffix, powers of 1024) replaces the
//! first of these; the cgroup and `RLIMIT_AS` limits always apply. Sizes are counted with
//! checked arithmetic: a count that overflows is refused like one that does not fit.

use crate::error::{Error, Result};
use crate::plan::RenderPlan;

/// A limit on the memory a run may use, and where it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available {
    pub bytes: u128,
    /// "available memory", "NANOBRAGG_MEMORY_LIMIT", "the cgroup memory limit" or
    /// "ulimit -v (RLIMIT_AS)".
    pub source: &'static str,
}

/// The variable that replaces the estimate of available memory.
pub const LIMIT_VAR: &str = "NANOBRAGG_MEMORY_LIMIT";

/// Parse a memory size: plain bytes, or a number with a K, M, G or T suffix (powers of 1024,
/// optionally followed by "B" or "iB"). Anything else is `None`.
pub fn parse_size(s: &str) -> Option<u128> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u128 = s[..digits].parse().ok()?;
    let unit = s[digits..].trim_start().to_ascii_uppercase();
    let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    if unit.len() > 1 && !["KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB"].contains(&&*unit) {
        return None;
    }
    n.checked_mul(1u128 << shift)
}

/// The memory this run may use (`None`: nothing is known, no limit applies). Fails when
/// `NANOBRAGG_MEMORY_LIMIT` is set to something that is not a size.
pub fn available() -> Result<Option<Available>> {
    let mut limits: Vec<Available> = Vec::new();
    let probed = probe();
    match std::env::var_os(LIMIT_VAR) {
        Some(v) => {
            let bytes = v.to_str().and_then(parse_size).ok_or_else(|| {
                Error::invalid(format!(
                    "{LIMIT_VAR}={}: not a memory size (bytes, or a number with K, M, G or T)",
                    crate::cfmt::clip(&v.to_string_lossy())
                ))
            })?;
            limits.push(Available {
                bytes,
                source: LIMIT_VAR,
            });
        }
        None => limits.extend(probed.system),
    }
    limits.extend(probed.cgroup);
    limits.extend(address_space_free());
    Ok(limits.into_iter().min_by_key(|a| a.bytes))
}

/// How long one probe of the system's memory and the cgroup's limit is used: a run checks
/// its needs two or three times within milliseconds (sampling tables, structure factors,
/// image buffers), and each probe reads a dozen files under /proc and /sys (~0.3 ms).
const PROBE_REUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// The memory the system has available and what the process's control group still allows.
#[derive(Clone, Copy, Debug)]
struct Probe {
    system: Option<Available>,
    cgroup: Option<Available>,
}

/// The latest probe, made again when it is older than [`PROBE_REUSE`].
fn probe() -> Probe {
    static SLOT: ProbeSlot = ProbeSlot::new();
    SLOT.get(std::time::Instant::now(), probe_now)
}

/// The latest probe and whether a thread is making one. A thread that finds the probe stale
/// while another makes one waits for that one (the command-line program starts a probe on a
/// worker thread while the set-up reaches its image buffers' memory check): no probe is made
/// twice at once.
struct ProbeSlot {
    state: std::sync::Mutex<(Option<(std::time::Instant, Probe)>, bool)>,
    done: std::sync::Condvar,
}

/// How long a thread waits for another's probe before making its own: a `fork()` from
/// another thread (Python's multiprocessing) can leave a probe "in progress" in the child
/// whose thread does not exist there. (A probe takes ~0.3 ms.)
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

impl ProbeSlot {
    const fn new() -> ProbeSlot {
        ProbeSlot {
            state: std::sync::Mutex::new((None, false)),
            done: std::sync::Condvar::new(),
        }
    }

    /// The probe made less than [`PROBE_REUSE`] before `now` (or later), else `fresh()`, kept
    /// for the next callers. The lock is never held during a probe.
    fn get(&self, now: std::time::Instant, fresh: impl FnOnce() -> Probe) -> Probe {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let waited_since = std::time::Instant::now();
        loop {
            if let Some((at, p)) = g.0
                && now.saturating_duration_since(at) < PROBE_REUSE
            {
                return p;
            }
            let left = PROBE_WAIT.saturating_sub(waited_since.elapsed());
            if !g.1 || left.is_zero() {
                break;
            }
            g = self
                .done
                .wait_timeout(g, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        g.1 = true;
        drop(g);
        /// Clears the "in progress" mark and wakes the waiters, also when the probe unwinds.
        struct Finish<'a>(&'a ProbeSlot, Option<(std::time::Instant, Probe)>);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                let mut g = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
                if self.1.is_some() {
                    g.0 = self.1;
                }
                g.1 = false;
                self.0.done.notify_all();
            }
        }
        let mut finish = Finish(self, None);
        let p = fresh();
        finish.1 = Some((now, p));
        p
    }
}

/// Probe the limits now, so that the checks of a run about to be set up find the result: the
/// command-line program calls it on another thread while the command line is read.
pub fn warm() {
    // (on a pool thread a panic would abort the process; here it only loses the head start)
    let _ = std::panic::catch_unwind(probe);
}

fn probe_now() -> Probe {
    let Ok(mut sys) = sysinfo::System::new() else {
        return Probe {
            system: None,
            cgroup: None,
        };
    };
    sys.refresh_memory_specifics(sysinfo::MemoryRefreshKind::nothing().with_ram());
    let bytes = sys.available_memory();
    let system = (bytes > 0).then_some(Available {
        bytes: bytes as u128,
        source: "available memory",
    });
    Probe {
        system,
        cgroup: cgroup_free(&mut sys),
    }
}

/// What this process's control group (and its ancestors) still allows.
fn cgroup_free(sys: &mut sysinfo::System) -> Option<Available> {
    let pid = sysinfo::get_current_pid().ok()?;
    sys.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        false,
        sysinfo::ProcessRefreshKind::nothing(),
    );
    let limits = sys.process(pid)?.cgroup_limits()?;
    Some(Available {
        bytes: limits.free_memory as u128,
        source: "the cgroup memory limit",
    })
}

/// What `RLIMIT_AS` leaves of the address space (the limit minus the current `VmSize`).
fn address_space_free() -> Option<Available> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0
        || lim.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let vm_kb: u128 = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(Available {
        bytes: (lim.rlim_cur as u128).saturating_sub(vm_kb * 1024),
        source: "ulimit -v (RLIMIT_AS)",
    })
}

/// Whether `bytes` more of address space fit under `ulimit -v` (RLIMIT_AS) and no
/// `NANOBRAGG_MEMORY_LIMIT` is set: the check for memory that is reserved, not written (see
/// `spare`), made without waiting for the probe of available memory.
pub(crate) fn reservable(bytes: u128) -> bool {
    std::env::var_os(LIMIT_VAR).is_none() && address_space_free().is_none_or(|a| bytes <= a.bytes)
}

/// Size of a transparent huge page on x86-64 and most aarch64 kernels.
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// Ask Linux to back the 2 MiB-aligned interior of a large buffer with transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`), before it is written: its page faults there are then one per
/// 2 MiB instead of one per 4 KiB. A large zeroed `Vec` from glibc starts 16 bytes past a page
/// boundary, so a 4 MiB image gains one huge page (half its faults: 1,024 → ~513 for a 1024²
/// float image) and a buffer needs more than 4 MiB to gain for certain (a 1024² SMV image,
/// 2 MiB, gains nothing; a 2048² one most of its 8 MiB). Advice only: contents and size do not
/// change, and pages already written keep their size. Returns whether `madvise` accepted it
/// (false for a buffer with no aligned 2 MiB inside, or a kernel without THP support; where
/// THP is set to "never" the advice is accepted and changes nothing).
pub fn advise_huge_pages<T>(buf: &mut [T]) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Some((from, len)) =
            huge_interior(buf.as_mut_ptr() as usize, std::mem::size_of_val(buf))
        else {
            return false;
        };
        // SAFETY: the range lies inside `buf`, which this call borrows mutably; the advice
        // changes how its pages are backed, never their contents.
        unsafe { libc::madvise(from as *mut libc::c_void, len, libc::MADV_HUGEPAGE) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = buf;
        false
    }
}

/// The whole 2 MiB pages inside `bytes` bytes at address `start`: (first address, length),
/// or `None` when there is none.
fn huge_interior(start: usize, bytes: usize) -> Option<(usize, usize)> {
    let end = start.checked_add(bytes)?;
    let from = start.checked_next_multiple_of(HUGE_PAGE)?;
    let len = end.saturating_sub(from) / HUGE_PAGE * HUGE_PAGE;
    (len > 0).then_some((from, len))
}

/// Needs of at most this many bytes are checked against `NANOBRAGG_MEMORY_LIMIT` and
/// `RLIMIT_AS` only, not against the system's available memory and the control group's
/// allowance: the kernel reclaims caches for an allocation this small, so a probe showing
/// less would not mean it fails, and the run's first checks (sampling tables, a small HKL
/// grid) need not wait for the probe (~0.4 ms, made on a worker thread while the command line
/// is read).
const UNPROBED_NEED: u128 = 1 << 20;

/// Err with `message(need, limit)` (sizes for people, and the limit's source) when `need`
/// bytes exceed what the run may use; `None` for `need` is a count that overflowed.
pub fn refuse_beyond(need: Option<u128>, message: impl FnOnce(&str, &str) -> String) -> Result<()> {
    let have = match need {
        Some(n) if n <= UNPROBED_NEED && std::env::var_os(LIMIT_VAR).is_none() => {
            address_space_free()
        }
        _ => available()?,
    };
    match (need, have) {
        (None, _) => Err(Error::memory(message(
            "more bytes than can be counted",
            &have.map_or("memory".to_string(), |a| {
                format!("{} ({})", human(a.bytes), a.source)
            }),
        ))),
        (Some(n), Some(a)) if n > a.bytes => Err(Error::memory(message(
            &human(n),
            &format!("{} this run may use ({})", human(a.bytes), a.source),
        ))),
        _ => Ok(()),
    }
}

/// Checked product of counts.
fn product(xs: &[u128]) -> Option<u128> {
    xs.iter().try_fold(1u128, |a, &x| a.checked_mul(x))
}

/// Bytes of a structure-factor grid with `range` indices per axis: the f64 grid (one padding
/// plane per axis) and the SIMD kernel's f32 copy (padded on both sides).
pub fn grid_bytes(range: &[i32; 3]) -> Option<u128> {
    let planes =
        |pad: i128| -> Option<u128> { product(&range.map(|r| (r.max(0) as i128 + pad) as u128)) };
    planes(1)?
        .checked_mul(8)?
        .checked_add(planes(2)?.checked_mul(4)?)
}

/// Bytes of the per-step tables a sampling needs: per (source, φ step, mosaic domain) the
/// kernels' coefficients in both spindle states, per domain a matrix, per source, φ step and
/// sensor layer a table entry and a printed line. An upper bound, not an exact count.
pub fn sampling_bytes(sources: u128, phisteps: u128, domains: u128, layers: u128) -> Option<u128> {
    let steps = product(&[sources, phisteps, domains])?;
    steps
        .checked_mul(2 * 256)?
        .checked_add(domains.checked_mul(72 + 64)?)?
        .checked_add(sources.checked_add(phisteps)?.checked_mul(128)?)?
        .checked_add(layers.checked_mul(512)?)
}

/// Bytes of the SIMD kernel's sub-pixel tables: per (sensor layer, sub-pixel) an offset and
/// the shift of every lane (an upper bound for 16 lanes).
pub fn subpixel_bytes(oversample: u128, layers: u128) -> Option<u128> {
    product(&[oversample, oversample, layers, 24 + 3 * 4 * 16])
}

/// Refuse a sampling (counts of sources, φ steps, mosaic domains, sensor layers) whose tables
/// do not fit, before any of them is built.
pub fn check_sampling(sources: u128, phisteps: u128, domains: u128, layers: u128) -> Result<()> {
    refuse_beyond(
        sampling_bytes(sources, phisteps, domains, layers),
        |need, have| {
            format!(
                "{sources} sources x {phisteps} phi steps x {domains} mosaic domains and {layers} sensor layers need {need} of tables, more than the {have}"
            )
        },
    )
}

/// What a plan needs: image buffers (float image, 16-bit SMV image and the optional noise,
/// PGM and PNG images, row statistics, mask), the structure factors, the sampling tables and,
/// for the SIMD kernel, the sub-pixel tables.
pub struct Needs {
    pub images: Option<u128>,
    /// The solid-angle terms kept in serial order (one per pixel, or one per sub-pixel and
    /// layer with `-oversample_omega`).
    pub omega: Option<u128>,
    pub grid: Option<u128>,
    pub sampling: Option<u128>,
    pub subpixels: Option<u128>,
}

impl Needs {
    pub fn of(plan: &RenderPlan, extra_images: u128, simd: bool) -> Needs {
        let pixels = (plan.fpixels as u128).checked_mul(plan.spixels as u128);
        let mask = if plan.mask.is_some() { 2 } else { 0 };
        let images = pixels
            .and_then(|p| p.checked_mul(4 + 2 + mask + extra_images))
            .and_then(|b| b.checked_add(plan.spixels as u128 * 64));
        // the exact kernel keeps a pixel's solid angle once per run of equal terms (one per
        // pixel, or one per sub-pixel and layer with -oversample_omega), the SIMD kernel one
        // sum per row; every row may wait for the rows before it
        let per_pixel = if simd {
            Some(0)
        } else if plan.oversample_omega {
            (plan.oversample as u128)
                .checked_mul(plan.oversample as u128)
                .and_then(|n| n.checked_mul(plan.thicksteps as u128))
        } else {
            Some(1)
        };
        Needs {
            images,
            omega: pixels.zip(per_pixel).and_then(|(p, n)| {
                p.checked_mul(n)?
                    .checked_add(plan.spixels as u128)?
                    .checked_mul(16)
            }),
            grid: plan.hkl.as_ref().map_or(Some(0), |g| grid_bytes(&g.range)),
            sampling: sampling_bytes(
                plan.sources.len() as u128,
                plan.phisteps as u128,
                plan.domains() as u128,
                plan.thicksteps as u128,
            ),
            subpixels: if simd {
                subpixel_bytes(plan.oversample as u128, plan.thicksteps as u128)
            } else {
                Some(0)
            },
        }
    }

    pub fn total(&self) -> Option<u128> {
        self.images?
            .checked_add(self.omega?)?
            .checked_add(self.grid?)?
            .checked_add(self.sampling?)?
            .checked_add(self.subpixels?)
    }
}

/// Refuse a plan whose buffers and tables do not fit in the memory the run may use, naming the
/// largest part. `extra_images`: bytes per pixel of the optional outputs (noise 2, PGM 1, PNG
/// 1); `simd`: the SIMD kernel's sub-pixel tables are built.
pub fn check_plan(plan: &RenderPlan, extra_images: u128, simd: bool) -> Result<()> {
    let n = Needs::of(plan, extra_images, simd);
    let parts = [
        (
            n.images,
            format!(
                "a {}x{} detector's image buffers",
                plan.fpixels, plan.spixels
            ),
        ),
        (n.grid, "the structure-factor grid".to_string()),
        (
            n.omega,
            "the solid angles kept in the reference's order (every sub-pixel's with -oversample_omega)".to_string(),
        ),
        (
            n.sampling,
            format!(
                "the tables of {} sources x {} phi steps x {} mosaic domains and {} sensor layers",
                plan.sources.len(),
                plan.phisteps,
                plan.domains(),
                plan.thicksteps
            ),
        ),
        (
            n.subpixels,
            format!(
                "the sub-pixel tables of -oversample {} with {} sensor layers",
                plan.oversample, plan.thicksteps
            ),
        ),
    ];
    let largest = parts
        .iter()
        .max_by_key(|(b, _)| b.unwrap_or(u128::MAX))
        .map(|(_, what)| what.clone())
        .unwrap_or_default();
    refuse_beyond(n.total(), |need, have| {
        format!("this run needs {need} of memory, mostly for {largest}, more than the {have}")
    })
}

/// Pixel-steps a render may take unless `NANOBRAGG_WORK_LIMIT` says otherwise: 10^14, about
/// a day for the SIMD kernel on two cores and two months for the exact kernel. Beyond it a
/// run is almost certainly a typo (`-oversample 46341`), and refusing it beats a process that
/// seems to hang.
pub const WORK_LIMIT: f64 = 1e14;

/// The variable that replaces [`WORK_LIMIT`].
pub const WORK_VAR: &str = "NANOBRAGG_WORK_LIMIT";

/// Pixel-steps of a render: rendered pixels × sources × φ steps × mosaic domains ×
/// sub-pixels × sensor layers (each one evaluation of the innermost loop).
pub fn pixel_steps(plan: &RenderPlan) -> f64 {
    plan.rendered_pixels() as f64
        * plan.sources.len() as f64
        * plan.phisteps as f64
        * plan.domains() as f64
        * (plan.oversample as f64).powi(2)
        * plan.thicksteps as f64
}

/// Refuse a render of more than [`WORK_LIMIT`] (or `NANOBRAGG_WORK_LIMIT`) pixel-steps.
pub fn check_work(plan: &RenderPlan) -> Result<()> {
    let limit = match std::env::var_os(WORK_VAR) {
        Some(v) => v
            .to_str()
            .and_then(|s| crate::cfmt::parse_f64_strict(s.trim()))
            .filter(|x| *x > 0.0)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{WORK_VAR}={}: not a positive number of pixel-steps",
                    crate::cfmt::clip(&v.to_string_lossy())
                ))
            })?,
        None => WORK_LIMIT,
    };
    let work = pixel_steps(plan);
    if work > limit {
        return Err(Error::invalid(format!(
            "this render has {} pixel-steps (pixels x sources x phi steps x mosaic domains x oversample^2 x sensor layers: {} x {} x {} x {} x {}^2 x {}), more than the limit of {}; check -oversample and the step counts ({WORK_VAR} raises the limit)",
            crate::cfmt::fmt_g(work),
            plan.rendered_pixels(),
            plan.sources.len(),
            plan.phisteps,
            plan.domains(),
            plan.oversample,
            plan.thicksteps,
            crate::cfmt::fmt_g(limit)
        )));
    }
    Ok(())
}

/// A byte count for people: "384 MB", "1.5 GB".
pub fn human(bytes: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else if v < 10.0 {
        format!("{v:.1} {}", units[u])
    } else {
        format!("{v:.0} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_is_reused_for_half_a_second_then_made_again() {
        use super::{Available, Probe, ProbeSlot};
        use std::time::{Duration, Instant};
        let slot = ProbeSlot::new();
        let made = std::cell::Cell::new(0u128);
        let fresh = || {
            made.set(made.get() + 1);
            Probe {
                system: Some(Available {
                    bytes: made.get(),
                    source: "available memory",
                }),
                cgroup: None,
            }
        };
        let bytes = |p: Probe| p.system.map(|a| a.bytes);
        let t0 = Instant::now();
        assert_eq!(bytes(slot.get(t0, fresh)), Some(1));
        assert_eq!(
            bytes(slot.get(t0 + Duration::from_millis(400), fresh)),
            Some(1)
        );
        assert_eq!(
            bytes(slot.get(t0 + Duration::from_millis(600), fresh)),
            Some(2)
        );
        // a clock that seems to go back (another thread stored a later probe) reuses it
        assert_eq!(bytes(slot.get(t0, fresh)), Some(2));
        assert_eq!(made.get(), 2);
    }

    /// Threads that need a probe while one is being made wait for it instead of making their
    /// own; a probe that panics leaves no thread waiting.
    #[test]
    fn a_probe_in_progress_is_waited_for_not_repeated() {
        use super::{Probe, ProbeSlot};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::{Duration, Instant};
        let slot = ProbeSlot::new();
        let made = AtomicUsize::new(0);
        let started = std::sync::Barrier::new(5);
        let now = Instant::now();
        let slow = || {
            made.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            Probe {
                system: None,
                cgroup: None,
            }
        };
        std::thread::scope(|sc| {
            for i in 0..5 {
                let (slot, started) = (&slot, &started);
                sc.spawn(move || {
                    if i > 0 {
                        started.wait();
                        // the first thread is inside its probe by now
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    if i == 0 {
                        slot.get(now, || {
                            started.wait();
                            slow()
                        });
                    } else {
                        slot.get(now, slow);
                    }
                });
            }
        });
        assert_eq!(made.load(Ordering::SeqCst), 1, "probes made");
        // a probe that unwinds clears its mark: the next caller probes at once
        let later = now + Duration::from_secs(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            slot.get(later, || panic!("probe failed"))
        }));
        assert!(r.is_err());
        let t = Instant::now();
        slot.get(later, slow);
        assert!(
            t.elapsed() < Duration::from_millis(45),
            "waited for a dead probe"
        );
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn huge_pages_are_the_aligned_interior() {
        use super::{HUGE_PAGE as H, huge_interior};
        assert_eq!(huge_interior(H, 2 * H), Some((H, 2 * H)));
        assert_eq!(huge_interior(H + 16, 2 * H), Some((2 * H, H)));
        assert_eq!(huge_interior(H + 16, 2 * H - 16), Some((2 * H, H)));
        assert_eq!(huge_interior(H + 16, 2 * H - 17), None);
        assert_eq!(huge_interior(4096, H), None);
        assert_eq!(huge_interior(8, 0), None);
        assert_eq!(huge_interior(usize::MAX - 10, 5), None);
        assert_eq!(huge_interior(usize::MAX - 10, 20), None);
    }

    #[test]
    fn huge_page_advice_covers_large_buffers_and_keeps_their_contents() {
        let mut small = vec![7u8; 4096];
        assert!(
            !super::advise_huge_pages(&mut small),
            "no aligned 2 MiB inside 4 KiB"
        );
        assert!(small.iter().all(|&b| b == 7));
        let mut big: Vec<f32> = (0..3 << 20).map(|i| i as f32).collect();
        let thp = std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists();
        assert_eq!(
            super::advise_huge_pages(&mut big),
            cfg!(target_os = "linux") && thp
        );
        assert!(big.iter().enumerate().all(|(i, &v)| v == i as f32));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(384_000_000), "384 MB");
        assert_eq!(human(1_500_000_000), "1.5 GB");
        assert_eq!(human(240_000_000_000), "240 GB");
    }

    #[test]
    fn sizes_with_suffixes() {
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size(" 1G "), Some(1 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("3T"), Some(3 << 40));
        assert_eq!(parse_size("4GiB"), Some(4 << 30));
        assert_eq!(parse_size("4GB"), Some(4 << 30));
        for bad in [
            "", "-5", "1e9", "1.5G", "G", "10X", "1 2", "0x10", "1GG", "nan",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn counts_that_overflow_are_not_sizes() {
        assert_eq!(grid_bytes(&[i32::MAX; 3]).map(|b| b > 0), Some(true));
        assert_eq!(subpixel_bytes(u128::MAX, 2), None);
        assert_eq!(sampling_bytes(u128::MAX, 2, 2, 1), None);
    }
}
