//! Idle memory: the server's resident memory before and after `N`
//! connections that are registered, in a room, and quiet.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;

use crate::client::{self, People, Wire};
use crate::procfs::Proc;
use crate::server::{Server, ServerEnd, ServerSpec};

/// The generator's buffer per idle connection: they receive next to nothing.
const READ_BUFFER: usize = 4096;
/// Time for the server's memory to settle after start-up and after the
/// connections are in.
const SETTLE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub connections: usize,
    pub room_size: usize,
    pub server_rss_kib_before: u64,
    pub server_rss_kib_after: u64,
    pub kib_per_connection: f64,
    pub connect_seconds: f64,
    /// The generator's open-files limit, which bounds `connections`.
    pub fd_limit: Option<u64>,
    pub server: ServerEnd,
}

impl Report {
    pub fn line(&self) -> String {
        format!(
            "{} idle connections in rooms of {}: server RSS {} KiB -> {} KiB, {:.2} KiB per connection \
             (connected in {:.1} s)",
            self.connections,
            self.room_size,
            self.server_rss_kib_before,
            self.server_rss_kib_after,
            self.kib_per_connection,
            self.connect_seconds
        )
    }
}

/// The soft limit on open files, from `/proc/self/limits`.
pub fn fd_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

pub async fn run(
    spec: &ServerSpec,
    connections: usize,
    room_size: usize,
    deadline: Instant,
) -> anyhow::Result<Report> {
    if room_size == 0 {
        bail!("--room-size must be at least 1");
    }
    let fd_limit = fd_limit();
    if let Some(limit) = fd_limit
        && connections as u64 + 64 > limit
    {
        bail!(
            "{connections} connections need more open files than this process may have ({limit}); \
             raise `ulimit -n` (the server needs as many)"
        );
    }
    let server = Server::start(spec, u32::try_from(connections + 100)?).await?;
    let proc = server
        .proc()
        .context("idle memory needs the server's PID (--server-pid when attaching)")?;
    let result = measure(
        &server,
        proc,
        connections,
        room_size,
        spec.accounts,
        deadline,
    )
    .await;
    let end = server.stop().await?;
    let mut report = result?;
    report.server = end;
    report.fd_limit = fd_limit;
    Ok(report)
}

async fn measure(
    server: &Server,
    proc: Proc,
    connections: usize,
    room_size: usize,
    signed_in: bool,
    deadline: Instant,
) -> anyhow::Result<Report> {
    // Signed in, the connections share a few hundred accounts (each
    // account costs a password hash to register; memory is per
    // connection), taken in turn so that a room's members are distinct.
    let people = if signed_in {
        People::register(server.addr, connections.min(2 * room_size).max(1)).await?
    } else {
        People::Guests
    };
    let people = &people;
    tokio::time::sleep(SETTLE).await;
    let before = proc.rss_kib()?;
    let started = Instant::now();
    let addr = server.addr;
    let opened = tokio::time::timeout_at(
        deadline.into(),
        futures_util::stream::iter(0..connections)
            .map(|index| async move {
                let mut ws = client::open(addr, Wire::Typed, READ_BUFFER).await?;
                // Rooms of `room_size`: ten thousand people in one room would
                // measure the join announcements (n² of them), not idleness.
                let room = format!("idle{}", index / room_size);
                let who = people.who(index, format!("i{index}"));
                client::enter(&mut ws, Wire::Typed, who, &room).await?;
                // Keep reading, so the server's pings are answered.
                Ok::<_, anyhow::Error>(tokio::task::spawn_local(async move {
                    while let Some(Ok(_)) = ws.next().await {}
                }))
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>(),
    )
    .await
    .context("the connections were not all in before --max-seconds")?;
    let connect_seconds = started.elapsed().as_secs_f64();
    let readers = opened.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    tokio::time::sleep(SETTLE).await;
    let after = proc.rss_kib()?;
    for reader in &readers {
        reader.abort();
    }
    Ok(Report {
        connections,
        room_size,
        server_rss_kib_before: before,
        server_rss_kib_after: after,
        kib_per_connection: (after as f64 - before as f64) / connections.max(1) as f64,
        connect_seconds,
        fd_limit: None,
        server: ServerEnd::default(),
    })
}
