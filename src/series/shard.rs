//! Which images this process renders: static sharding by rank, the rank from the command
//! line or from the launcher's environment. No scheduler: image `i` (from 1) belongs to rank
//! `(i − 1) mod ranks`, so every rank gets every `ranks`-th image.

use crate::error::{Error, Result};

/// This process's place among the processes sharing a series, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// From 0 to `ranks − 1`.
    pub rank: u64,
    pub ranks: u64,
    /// "-rank/-ranks", "Open MPI", "MPICH/Hydra (PMI)", "Slurm (srun)", "Slurm job array",
    /// "MPI" or "one process".
    pub source: String,
}

impl Shard {
    /// One process rendering everything.
    pub fn single() -> Shard {
        Shard {
            rank: 0,
            ranks: 1,
            source: "one process".into(),
        }
    }

    /// Whether image `i` (from 1) is this rank's.
    pub fn owns(&self, i: u64) -> bool {
        (i - 1) % self.ranks == self.rank
    }

    /// This rank's images of a series of `images`, in order.
    pub fn images(&self, images: u64) -> impl Iterator<Item = u64> + use<> {
        let (rank, ranks) = (self.rank, self.ranks);
        (rank + 1..=images).step_by(ranks as usize)
    }

    /// How many images of a series of `images` are this rank's.
    pub fn count(&self, images: u64) -> u64 {
        if images > self.rank {
            (images - self.rank - 1) / self.ranks + 1
        } else {
            0
        }
    }
}

/// The shard from `-rank r -ranks n` (both or neither), else from the environment `env`
/// (a lookup such as `std::env::var`): a launcher's own rank (Open MPI's
/// `OMPI_COMM_WORLD_RANK/_SIZE`, then MPICH/Hydra's `PMI_RANK/PMI_SIZE`, then Slurm's
/// `SLURM_PROCID/SLURM_NTASKS` inside an `srun` step), combined with a Slurm job array
/// (`SLURM_ARRAY_TASK_ID`, `_COUNT`, `_MIN`, `_STEP`): array task `a` of `A`, process `p` of
/// `P` is rank `a·P + p` of `A·P`.
pub fn resolve(
    rank: Option<u64>,
    ranks: Option<u64>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Shard> {
    match (rank, ranks) {
        (Some(r), Some(n)) if r < n => {
            return Ok(Shard {
                rank: r,
                ranks: n,
                source: "-rank/-ranks".into(),
            });
        }
        (Some(r), Some(n)) => {
            return Err(Error::usage(format!(
                "-rank {r} is not below -ranks {n} (ranks are numbered from 0)"
            )));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::usage("-rank and -ranks go together"));
        }
        (None, None) => {}
    }
    let launcher = launcher(env)?;
    let array = job_array(env)?;
    Ok(match (launcher, array) {
        (None, None) => Shard::single(),
        (Some(l), None) => l,
        (None, Some(a)) => a,
        (Some(l), Some(a)) => Shard {
            rank: a.rank * l.ranks + l.rank,
            ranks: a.ranks * l.ranks,
            source: format!("{} within a {}", l.source, a.source),
        },
    })
}

/// A non-negative integer from variable `name`, if set.
fn number(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<u64>> {
    match env(name) {
        None => Ok(None),
        Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
            Error::usage(format!(
                "{name}={}: not a whole number (give -rank and -ranks to override)",
                crate::cfmt::clip(&v)
            ))
        }),
    }
}

/// Rank and size from a pair of variables (both or neither), checked.
fn pair(
    env: &dyn Fn(&str) -> Option<String>,
    rank: &str,
    size: &str,
    source: &str,
) -> Result<Option<Shard>> {
    match (number(env, rank)?, number(env, size)?) {
        (Some(r), Some(n)) if r < n => Ok(Some(Shard {
            rank: r,
            ranks: n,
            source: source.into(),
        })),
        (Some(r), Some(n)) => Err(Error::usage(format!(
            "{rank}={r} is not below {size}={n} (give -rank and -ranks to override)"
        ))),
        _ => Ok(None),
    }
}

/// The process launcher's rank: Open MPI, MPICH/Hydra, or an `srun` step.
fn launcher(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
    if let Some(s) = pair(
        env,
        "OMPI_COMM_WORLD_RANK",
        "OMPI_COMM_WORLD_SIZE",
        "Open MPI",
    )? {
        return Ok(Some(s));
    }
    if let Some(s) = pair(env, "PMI_RANK", "PMI_SIZE", "MPICH/Hydra (PMI)")? {
        return Ok(Some(s));
    }
    // a batch script also sees SLURM_PROCID=0; only an srun step has a step id
    if env("SLURM_STEP_ID").is_some() || env("SLURM_STEPID").is_some() {
        return pair(env, "SLURM_PROCID", "SLURM_NTASKS", "Slurm (srun)");
    }
    Ok(None)
}

/// The task of a Slurm job array: (id − min) / step of count.
fn job_array(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
    let Some(id) = number(env, "SLURM_ARRAY_TASK_ID")? else {
        return Ok(None);
    };
    let count = number(env, "SLURM_ARRAY_TASK_COUNT")?;
    let min = number(env, "SLURM_ARRAY_TASK_MIN")?;
    let step = number(env, "SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
    let (Some(count), Some(min)) = (count, min) else {
        return Err(Error::usage(
            "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN (give -rank and -ranks)",
        ));
    };
    let offset = id.checked_sub(min).filter(|o| o % step == 0);
    match offset.map(|o| o / step) {
        Some(r) if r < count => Ok(Some(Shard {
            rank: r,
            ranks: count,
            source: "Slurm job array".into(),
        })),
        _ => Err(Error::usage(format!(
            "Slurm job array task {id} is not task min + k*step of {count} tasks (min {min}, step {step}): an array such as --array=0-99 or 1-100:1 numbers its tasks evenly; otherwise give -rank and -ranks"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let v: Vec<(String, String)> = vars
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        move |k: &str| v.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone())
    }

    fn shard(vars: &[(&str, &str)]) -> Result<(u64, u64)> {
        resolve(None, None, &env(vars)).map(|s| (s.rank, s.ranks))
    }

    #[test]
    fn launchers() {
        assert_eq!(shard(&[]).unwrap(), (0, 1));
        let ompi = [("OMPI_COMM_WORLD_RANK", "2"), ("OMPI_COMM_WORLD_SIZE", "3")];
        assert_eq!(shard(&ompi).unwrap(), (2, 3));
        assert_eq!(
            shard(&[("PMI_RANK", "1"), ("PMI_SIZE", "4")]).unwrap(),
            (1, 4)
        );
        let srun = [
            ("SLURM_PROCID", "5"),
            ("SLURM_NTASKS", "8"),
            ("SLURM_STEP_ID", "0"),
        ];
        assert_eq!(shard(&srun).unwrap(), (5, 8));
        // a batch script (no step) is one process
        assert_eq!(
            shard(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "8")]).unwrap(),
            (0, 1)
        );
        // mpirun inside an allocation: Open MPI's rank wins
        let both = [ompi[0], ompi[1], srun[0], srun[1], srun[2]];
        assert_eq!(shard(&both).unwrap(), (2, 3));
    }

    #[test]
    fn job_arrays() {
        let a = [
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "10"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(shard(&a).unwrap(), (6, 10));
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "20"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "10"),
        ];
        assert_eq!(shard(&stepped).unwrap(), (2, 5));
        // srun with 4 tasks inside array task 6 of 10
        let mut nested = a.to_vec();
        nested.extend([
            ("SLURM_PROCID", "3"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_STEP_ID", "0"),
        ]);
        assert_eq!(shard(&nested).unwrap(), (6 * 4 + 3, 40));
        let odd = [
            ("SLURM_ARRAY_TASK_ID", "21"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "10"),
        ];
        assert!(shard(&odd).is_err());
    }

    #[test]
    fn explicit_ranks_and_errors() {
        let e = env(&[("OMPI_COMM_WORLD_RANK", "2"), ("OMPI_COMM_WORLD_SIZE", "3")]);
        let s = resolve(Some(0), Some(2), &e).unwrap();
        assert_eq!((s.rank, s.ranks), (0, 2));
        let msg = resolve(Some(3), Some(3), &e).unwrap_err().to_string();
        assert!(msg.contains("-rank 3 is not below -ranks 3"), "{msg}");
        assert!(resolve(Some(1), None, &e).is_err());
        let bad = shard(&[("PMI_RANK", "x"), ("PMI_SIZE", "2")]).unwrap_err();
        assert!(bad.to_string().contains("PMI_RANK=x"), "{bad}");
        let over = shard(&[("PMI_RANK", "2"), ("PMI_SIZE", "2")]).unwrap_err();
        assert!(over.to_string().contains("not below"), "{over}");
    }

    #[test]
    fn shares() {
        let s = Shard {
            rank: 1,
            ranks: 3,
            source: String::new(),
        };
        assert_eq!(s.images(8).collect::<Vec<_>>(), vec![2, 5, 8]);
        assert_eq!(s.count(8), 3);
        assert_eq!(s.count(1), 0);
        assert!(s.owns(5) && !s.owns(6));
    }
}
