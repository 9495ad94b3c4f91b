//! CPU pinning: the server on one core, the generator on the other, so that
//! neither steals the other's time and the server's CPU use is its own.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// The CPUs the server and the generator run on, if there are two to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinning {
    pub server: usize,
    pub generator: usize,
}

impl Pinning {
    /// The first two CPUs this process may run on: the server gets the first.
    /// `None` (with the reason) when there are fewer than two.
    pub fn plan() -> Result<Pinning, String> {
        let allowed = sched_getaffinity(Pid::from_raw(0))
            .map_err(|error| format!("cannot read the CPU affinity: {error}"))?;
        let cpus: Vec<usize> = (0..CpuSet::count())
            .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
            .take(2)
            .collect();
        match cpus[..] {
            [server, generator] => Ok(Pinning { server, generator }),
            _ => Err("only one CPU is available".to_owned()),
        }
    }
}

/// Pins the calling thread (and the threads and processes it starts later) to
/// `cpu`.
pub fn pin_current_thread(cpu: usize) -> anyhow::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)?;
    Ok(())
}
