//! What the kernel says a process has used: CPU time and resident memory,
//! from `/proc`.

use std::time::Duration;

use anyhow::Context as _;
use nix::unistd::{SysconfVar, sysconf};

/// Which process to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// The load generator itself.
    Me,
    Pid(u32),
}

impl Proc {
    fn path(self, file: &str) -> String {
        match self {
            Proc::Me => format!("/proc/self/{file}"),
            Proc::Pid(pid) => format!("/proc/{pid}/{file}"),
        }
    }

    /// User plus system CPU time used so far, by all of its threads.
    pub fn cpu(self) -> anyhow::Result<Duration> {
        let path = self.path("stat");
        let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        // The command name (field 2) may hold spaces and parentheses; the
        // fields after its closing parenthesis do not.
        let after = stat
            .rfind(')')
            .and_then(|end| stat.get(end + 1..))
            .with_context(|| format!("unexpected {path}"))?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 (utime) and 15 (stime), counted from 1; `after` starts at 3.
        let ticks = |index: usize| -> anyhow::Result<u64> {
            fields
                .get(index)
                .and_then(|field| field.parse().ok())
                .with_context(|| format!("no CPU time in {path}"))
        };
        let total = ticks(11)? + ticks(12)?;
        let per_second = sysconf(SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|ticks| u64::try_from(ticks).ok())
            .filter(|&ticks| ticks > 0)
            .unwrap_or(100);
        Ok(Duration::from_micros(total * 1_000_000 / per_second))
    }

    /// Resident memory in KiB (`VmRSS`).
    pub fn rss_kib(self) -> anyhow::Result<u64> {
        let path = self.path("status");
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS in {path}"))
    }
}

impl Proc {
    /// Open file descriptors (sockets, files, the store's), from `fd/`.
    pub fn fd_count(self) -> anyhow::Result<u64> {
        let path = self.path("fd");
        let entries = std::fs::read_dir(&path).with_context(|| format!("cannot read {path}"))?;
        Ok(entries.count() as u64)
    }
}

/// CPU time used by a process over a stretch of time.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    proc: Proc,
    cpu: Duration,
    at: std::time::Instant,
}

impl CpuMeter {
    pub fn start(proc: Proc) -> anyhow::Result<Self> {
        Ok(CpuMeter {
            proc,
            cpu: proc.cpu()?,
            at: std::time::Instant::now(),
        })
    }

    /// CPU time used since `start`, and the wall time that passed.
    pub fn read(&self) -> anyhow::Result<(Duration, Duration)> {
        Ok((self.proc.cpu()?.saturating_sub(self.cpu), self.at.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let before = Proc::Me.cpu().unwrap();
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        assert!(Proc::Me.cpu().unwrap() >= before);
        assert!(Proc::Me.rss_kib().unwrap() > 0);
        let me = Proc::Pid(std::process::id());
        assert!(me.rss_kib().unwrap() > 0);
        assert!(me.fd_count().unwrap() >= 3);
    }
}
