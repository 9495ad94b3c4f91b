//! Durable ingest: how many messages a second the SQLite store commits
//! (WAL, `synchronous=FULL`, group commit), and how long an append waits for
//! its commit.
//!
//! ```sh
//! cargo run --release -p backend --example store_ingest -- [--messages N] [--tasks K]
//! ```
//!
//! `K` tasks append at once, each waiting for each commit before its next
//! message, like `K` busy senders whose messages the hub acknowledges only
//! once they are committed. Each task's messages go round the rooms
//! (`--rooms`, by default one per task, so that a commit touches as many
//! pages as it can: the worst case). The run stops after `N`
//! messages or `--max-seconds`, whichever comes first. The database goes in a
//! fresh temporary directory (under `--dir` if given), removed afterwards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use backend::store::{NewMessage, SqliteStore, Store as _};
use clap::Parser;
use shared::MessageKind;

#[derive(Parser)]
#[command(about = "Measures durable message ingest into the SQLite store")]
struct Args {
    /// Messages to append in all.
    #[arg(long, default_value_t = 200_000)]
    messages: u64,
    /// Tasks appending at once (messages in flight).
    #[arg(long, default_value_t = 256)]
    tasks: u64,
    /// Bytes of text in each message.
    #[arg(long, default_value_t = 100)]
    text_bytes: usize,
    /// Rooms the messages go to (default: one per task).
    #[arg(long)]
    rooms: Option<u64>,
    /// Send messages without a client id (no entry in the resend index).
    #[arg(long)]
    no_client_id: bool,
    /// Stop after this long even if not all messages are in.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
    /// Where to make the temporary directory (default: the system's).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// History reads of each kind timed after the ingest (0: none).
    #[arg(long, default_value_t = 2_000)]
    reads: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.tasks > 0, "--tasks must be at least 1");
    let dir = match &args.dir {
        Some(parent) => tempfile::Builder::new()
            .prefix("store_ingest")
            .tempdir_in(parent),
        None => tempfile::Builder::new().prefix("store_ingest").tempdir(),
    }
    .context("cannot make a temporary directory")?;
    let store = Arc::new(SqliteStore::open(dir.path())?);
    println!(
        "store_ingest: {} messages, {} tasks, {} rooms, {}-byte texts, {}, SQLite {}, \
         WAL, synchronous=FULL, in {}",
        args.messages,
        args.tasks,
        args.rooms.unwrap_or(args.tasks).max(1),
        args.text_bytes,
        if args.no_client_id {
            "no client ids"
        } else {
            "client ids"
        },
        rusqlite::version(),
        dir.path().display()
    );

    let text = "x".repeat(args.text_bytes);
    let rooms = args.rooms.unwrap_or(args.tasks).max(1);
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.tasks)
        .map(|task| {
            let store = Arc::clone(&store);
            let text = text.clone();
            let with_client_id = !args.no_client_id;
            // This task's share: the first `messages % tasks` take one more.
            let share = args.messages / args.tasks + u64::from(task < args.messages % args.tasks);
            tokio::spawn(async move {
                let nick = format!("user{task}");
                let mut latencies = Vec::with_capacity(usize::try_from(share).unwrap_or(0));
                for i in 0..share {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let message = NewMessage {
                        room: format!("room-{}", (task + i) % rooms),
                        nick: nick.clone(),
                        text: text.clone(),
                        kind: MessageKind::Text,
                        client_id: with_client_id.then(|| format!("c{i}")),
                        file: None,
                        patience: Duration::ZERO,
                        account: None,
                        target: None,
                        moderator: false,
                        edit_window: None,
                    };
                    let sent = Instant::now();
                    let appended = store.append(message).await?;
                    anyhow::ensure!(!appended.duplicate, "a fresh id was taken for a resend");
                    latencies.push(sent.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.context("an appending task failed")??);
    }
    let elapsed = started.elapsed();
    store.close().await?;

    let committed = latencies.len();
    let rate = committed as f64 / elapsed.as_secs_f64();
    println!(
        "committed {committed} messages in {:.2} s: {rate:.0} msg/s{}",
        elapsed.as_secs_f64(),
        if u64::try_from(committed).unwrap_or(0) < args.messages {
            " (stopped at --max-seconds)"
        } else {
            ""
        }
    );

    let stats = store.stats();
    let mean_batch = stats.messages as f64 / stats.batches.max(1) as f64;
    let mean_commit = stats.busy.as_secs_f64() * 1e3 / stats.batches.max(1) as f64;
    println!(
        "commits: {} transactions, {mean_batch:.1} messages each on average, largest {}; \
         writer busy {:.2} s ({:.0}% of the run), {mean_commit:.2} ms per transaction",
        stats.batches,
        stats.largest_batch,
        stats.busy.as_secs_f64(),
        100.0 * stats.busy.as_secs_f64() / elapsed.as_secs_f64()
    );
    let buckets: Vec<String> = stats
        .size_histogram
        .iter()
        .enumerate()
        .filter(|(_, count)| **count > 0)
        .map(|(i, count)| {
            let low = 1u64 << i;
            let high = (low << 1) - 1;
            if i + 1 == stats.size_histogram.len() {
                format!("{low}+: {count}")
            } else if low == high {
                format!("{low}: {count}")
            } else {
                format!("{low}-{high}: {count}")
            }
        })
        .collect();
    println!("transactions by size: {}", buckets.join(", "));

    latencies.sort_unstable();
    let percentile = |p: f64| -> Duration {
        let last = latencies.len().saturating_sub(1);
        let at = ((last as f64) * p).round() as usize;
        latencies.get(at.min(last)).copied().unwrap_or_default()
    };
    println!(
        "commit latency (append to committed): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(0.50)),
        ms(percentile(0.99)),
        ms(percentile(1.0))
    );

    let db = rusqlite::Connection::open(store.path())?;
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    let rows: i64 = db.query_row("SELECT COUNT(*) FROM messages", [], |row| row.get(0))?;
    println!("database: integrity_check {integrity}, {rows} messages stored");
    anyhow::ensure!(integrity == "ok", "the database is damaged");
    anyhow::ensure!(
        usize::try_from(rows).unwrap_or(0) == committed,
        "{committed} messages were committed but {rows} are stored"
    );
    if args.reads > 0 {
        read_figures(&store, rooms, args.reads).await?;
    }
    Ok(())
}

/// Times the reads clients make, one at a time on the filled store: the
/// latest 50 on joining, a page of 100 older ones, and a replay of up to
/// 1,000 missed ones after a reconnect.
async fn read_figures(store: &SqliteStore, rooms: u64, reads: u64) -> anyhow::Result<()> {
    let heads = store.heads().await?;
    let head_of = |room: &str| heads.get(room).copied().unwrap_or(0);
    let kinds: [(&str, usize); 3] = [
        ("latest 50", 50),
        ("page of 100", 100),
        ("replay of 1,000", 1_000),
    ];
    for (name, size) in kinds {
        let mut took = Vec::new();
        let mut rows = 0;
        for i in 0..reads {
            let room = format!("room-{}", i % rooms);
            let head = head_of(&room);
            // Spread the starting points over the room's history.
            let point = head.saturating_sub((i * 7_919) % head.max(1));
            let started = Instant::now();
            let messages = match size {
                50 => store.history(&room, Some(head + 1), 50).await?,
                100 => store.history(&room, Some(point.max(1)), 100).await?,
                _ => {
                    store
                        .since(&room, point.saturating_sub(1_000), 1_000)
                        .await?
                }
            };
            took.push(started.elapsed());
            rows += messages.len();
        }
        took.sort_unstable();
        let at = |p: f64| took[((took.len() - 1) as f64 * p).round() as usize];
        println!(
            "history, {name}: {} reads, {:.1} messages each, p50 {:.2} ms, p99 {:.2} ms",
            took.len(),
            rows as f64 / took.len() as f64,
            ms(at(0.5)),
            ms(at(0.99))
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
