//! `hubbub-load`: Hubbub's fan-out load generator.
//!
//! Starts the real server binary on loopback (ports chosen by the system, a
//! fresh data directory, the per-connection limits raised), pins it to one
//! CPU and itself to another, runs one scenario, stops the server with
//! SIGTERM and prints a result line (and JSON with `--json`). Every run is
//! bounded by `--max-seconds`; only loopback addresses are accepted. See
//! docs/benchmarks.md for the method and the figures.

mod client;
mod fanout;
mod idle;
mod ingest;
mod payload;
mod pin;
mod procfs;
mod server;
mod soak;
mod tally;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use crate::client::Wire;
use crate::fanout::{Churn, Layout, Plan};
use crate::pin::Pinning;
use crate::server::ServerSpec;

/// The most clients any scenario opens: the open-files limit of the
/// generator and of the server is the real bound (20,000 on the standard
/// machine).
const MAX_CLIENTS: usize = 20_000;
const MAX_RATE: f64 = 10_000_000.0;
const MAX_SECONDS: u64 = 3_600;
/// A soak of `MAX_SECONDS` also needs its setup and its drain.
const MAX_SOAK_EXTRA: u64 = 900;

#[derive(Parser)]
#[command(
    name = "hubbub-load",
    about = "Fan-out load generator for Hubbub: starts the server pinned to one CPU, measures it from another"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Args)]
struct Global {
    /// The server binary (default: `backend` next to this program, as cargo
    /// builds them into the same target directory).
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// Measure a server already listening on this loopback address instead
    /// of starting one (its limits must be raised as docs/benchmarks.md says).
    #[arg(long, global = true)]
    attach: Option<SocketAddr>,
    /// The attached server's PID, for its CPU time and memory.
    #[arg(long, global = true, requires = "attach")]
    server_pid: Option<u32>,
    /// The started server's log filter.
    #[arg(long, global = true, default_value = server::DEFAULT_LOG)]
    server_log: String,
    /// A further flag for the started server, such as
    /// `--server-arg=--websocket-max-lag-secs=5` (repeatable).
    #[arg(long, global = true, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Leave both processes free to run on any CPU.
    #[arg(long, global = true)]
    no_pin: bool,
    /// Stop after this long, whatever is left to do, and report (default: 60,
    /// 900 for `sweep`).
    #[arg(long, global = true)]
    max_seconds: Option<u64>,
    /// Also print the result as one line of JSON.
    #[arg(long, global = true)]
    json: bool,
    /// The clients sign in to accounts (registered over the HTTP API at the
    /// start, one per member; idle connections share a few hundred) instead
    /// of chatting as guests.
    #[arg(long, global = true)]
    signed_in: bool,
}

#[derive(Args, Clone, Copy)]
struct Room {
    /// Clients in the room, senders included.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// How many of them send.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Clients speak the plain-text mode instead of `hubbub.v2`.
    #[arg(long, conflicts_with = "v1")]
    plain: bool,
    /// Clients speak `hubbub.v1` (a frame per message) instead of
    /// `hubbub.v2` (what is queued for a client in one frame).
    #[arg(long)]
    v1: bool,
}

#[derive(Subcommand)]
enum Scenario {
    /// One room: paced senders, every member timing every message.
    Fanout {
        #[command(flatten)]
        room: Room,
        /// Messages a second from all senders together (each is delivered
        /// to every client).
        #[arg(long, default_value_t = 1_000.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Fan-out at rising rates until a run loses a message, disconnects a
    /// client, is refused, or its p99 passes the bound: the highest clean rate.
    Sweep {
        #[command(flatten)]
        room: Room,
        /// The first step, in deliveries a second.
        #[arg(long, default_value_t = 100_000.0)]
        start: f64,
        /// Each step offers this much more.
        #[arg(long, default_value_t = 1.25)]
        factor: f64,
        /// The p99 latency a clean step must stay within.
        #[arg(long, default_value_t = 100.0)]
        max_p99_ms: f64,
        /// Seconds each step sends.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Memory per idle connection.
    Idle {
        #[arg(long, default_value_t = 1_000)]
        connections: usize,
        /// The idle clients are spread over rooms of this many.
        #[arg(long, default_value_t = 100)]
        room_size: usize,
    },
    /// Fan-out with and without one more client that never reads: the
    /// others' latency, and the server's memory each second.
    SlowReader {
        #[command(flatten)]
        room: Room,
        #[arg(long, default_value_t = 2_000.0)]
        rate: f64,
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
    },
    /// Fan-out while clients connect, enter the room, stay and leave.
    Churn {
        #[command(flatten)]
        room: Room,
        /// New connections a second.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        /// How long each churning client stays.
        #[arg(long, default_value_t = 500)]
        hold_ms: u64,
        /// The fan-out's messages a second.
        #[arg(long, default_value_t = 1_000.0)]
        fanout_rate: f64,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Many small rooms, one sender in each.
    Rooms {
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        #[arg(long, default_value_t = 10)]
        per_room: usize,
        /// Messages a second over all rooms.
        #[arg(long, default_value_t = 10_000.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Mixed traffic for a long time: web, terminal and datagram users in
    /// many rooms, sending now and then, leaving and resuming, uploading,
    /// with a few slow readers; a row of the server's memory, descriptors,
    /// deliveries, loss, p99 and CPU every `--report-secs`.
    Soak {
        #[arg(long, default_value_t = 3_600.0)]
        seconds: f64,
        /// Web users (WebSocket; half `hubbub.v2`, half `hubbub.v1`).
        #[arg(long, default_value_t = 2_000)]
        web: usize,
        /// Terminal users (the line protocol on the terminal door).
        #[arg(long, default_value_t = 500)]
        terminal: usize,
        /// Datagram users (UDP sessions, as `hubbub` chats).
        #[arg(long, default_value_t = 200)]
        datagram: usize,
        #[arg(long, default_value_t = 20)]
        rooms: usize,
        /// Messages a second from all users together.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        /// Percent of the users that leave and come back each minute.
        #[arg(long, default_value_t = 5.0)]
        churn_percent: f64,
        #[arg(long, default_value_t = 6.0)]
        uploads_per_minute: f64,
        #[arg(long, default_value_t = 5)]
        slow_readers: usize,
        /// Seconds between two rows.
        #[arg(long, default_value_t = 300)]
        report_secs: u64,
    },
    /// Messages a second acknowledged after commit: senders alone in their
    /// rooms, each waiting for its ack before the next.
    Ingest {
        #[arg(long, default_value_t = 256)]
        senders: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let pinning = if cli.global.no_pin {
        None
    } else {
        match Pinning::plan() {
            Ok(pinning) => Some(pinning),
            Err(why) => {
                eprintln!("warning: {why}; the server and the generator are not pinned");
                None
            }
        }
    };
    if let Some(pinning) = pinning
        && let Err(error) = pin::pin_current_thread(pinning.generator)
    {
        eprintln!(
            "warning: cannot pin the generator to CPU {}: {error:#}",
            pinning.generator
        );
    }
    // One thread: the generator has one CPU, and one thread lets the
    // clients share their tally without locks.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, run(cli, pinning)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, pinning: Option<Pinning>) -> anyhow::Result<()> {
    let global = cli.global;
    let (default_seconds, cap) = match cli.scenario {
        Scenario::Sweep { .. } => (900, MAX_SECONDS),
        Scenario::Soak { seconds, .. } => (
            (seconds.max(0.0) as u64).saturating_add(600),
            MAX_SECONDS + MAX_SOAK_EXTRA,
        ),
        _ => (60, MAX_SECONDS),
    };
    let max_seconds = global.max_seconds.unwrap_or(default_seconds).min(cap);
    let deadline = Instant::now() + Duration::from_secs(max_seconds);
    let spec = ServerSpec {
        bin: match global.server_bin {
            Some(bin) => bin,
            None => default_server_bin()?,
        },
        attach: global.attach,
        attach_pid: global.server_pid,
        cpu: pinning.map(|pinning| pinning.server),
        log: global.server_log,
        extra_args: global.server_arg,
        accounts: global.signed_in,
    };
    // The scenarios watch the deadline themselves; this only ends one that
    // is stuck past it.
    let outcome = tokio::time::timeout(
        Duration::from_secs(max_seconds + 30),
        scenario(cli.scenario, &spec, deadline),
    )
    .await
    .map_err(|_| anyhow::anyhow!("the run did not end within --max-seconds ({max_seconds} s)"))??;
    let (name, lines, json) = outcome;
    for line in lines {
        println!("{line}");
    }
    if global.json {
        let pinned = pinning.map(|pinning| {
            serde_json::json!({ "server_cpu": pinning.server, "generator_cpu": pinning.generator })
        });
        let document = serde_json::json!({
            "scenario": name,
            "pinned": pinned,
            "result": json,
        });
        println!("{document}");
    }
    Ok(())
}

type Outcome = (&'static str, Vec<String>, serde_json::Value);

async fn scenario(
    scenario: Scenario,
    spec: &ServerSpec,
    deadline: Instant,
) -> anyhow::Result<Outcome> {
    match scenario {
        Scenario::Fanout {
            room,
            rate,
            seconds,
        } => {
            let plan = room_plan(room, rate, seconds)?;
            let report = fanout::run(spec, plan, deadline).await?;
            Ok((
                "fanout",
                vec![report.line()],
                serde_json::to_value(&report)?,
            ))
        }
        Scenario::Sweep {
            room,
            start,
            factor,
            max_p99_ms,
            seconds,
        } => sweep(spec, room, start, factor, max_p99_ms, seconds, deadline).await,
        Scenario::Idle {
            connections,
            room_size,
        } => {
            check_clients(connections)?;
            let report = idle::run(spec, connections, room_size, deadline).await?;
            Ok(("idle", vec![report.line()], serde_json::to_value(&report)?))
        }
        Scenario::SlowReader {
            room,
            rate,
            seconds,
        } => {
            let plan = room_plan(room, rate, seconds)?;
            let baseline = fanout::run(spec, plan, deadline).await?;
            let slow = fanout::run(
                spec,
                Plan {
                    slow_reader: true,
                    ..plan
                },
                deadline,
            )
            .await?;
            let lines = vec![
                format!("without a slow reader: {}", baseline.line()),
                format!("with a slow reader:    {}", slow.line()),
                format!(
                    "others' p99 {:.2} ms -> {:.2} ms; server RSS each second (KiB): {:?}",
                    baseline.latency.p99_ms, slow.latency.p99_ms, slow.server_rss_kib_series
                ),
            ];
            let json = serde_json::json!({ "baseline": baseline, "slow_reader": slow });
            Ok(("slow-reader", lines, json))
        }
        Scenario::Churn {
            room,
            rate,
            hold_ms,
            fanout_rate,
            seconds,
        } => {
            check_rate(rate)?;
            let plan = Plan {
                churn: Some(Churn { rate, hold_ms }),
                ..room_plan(room, fanout_rate, seconds)?
            };
            let report = fanout::run(spec, plan, deadline).await?;
            let mut lines = vec![report.line()];
            if let Some(churn) = &report.churn {
                lines.push(format!(
                    "churn at {:.0}/s, {} ms each: {} in and out, {} failed, {} skipped; entering took {}{}",
                    churn.rate,
                    churn.hold_ms,
                    churn.connected,
                    churn.failed,
                    churn.skipped,
                    churn.enter,
                    churn
                        .first_error
                        .as_ref()
                        .map(|error| format!("; first error: {error}"))
                        .unwrap_or_default()
                ));
            }
            Ok(("churn", lines, serde_json::to_value(&report)?))
        }
        Scenario::Rooms {
            rooms,
            per_room,
            rate,
            seconds,
        } => {
            check_clients(rooms.saturating_mul(per_room))?;
            check_rate(rate)?;
            check_seconds(seconds)?;
            let plan = Plan {
                layout: Layout {
                    rooms,
                    per_room,
                    senders_per_room: 1,
                },
                rate,
                seconds,
                wire: Wire::Typed,
                slow_reader: false,
                churn: None,
            };
            let report = fanout::run(spec, plan, deadline).await?;
            Ok(("rooms", vec![report.line()], serde_json::to_value(&report)?))
        }
        Scenario::Soak {
            seconds,
            web,
            terminal,
            datagram,
            rooms,
            rate,
            churn_percent,
            uploads_per_minute,
            slow_readers,
            report_secs,
        } => {
            check_clients(web + terminal + datagram + slow_readers)?;
            check_rate(rate)?;
            check_seconds(seconds)?;
            anyhow::ensure!(
                (0.0..=100.0).contains(&churn_percent),
                "--churn-percent is between 0 and 100"
            );
            let plan = soak::Plan {
                seconds,
                web,
                terminal,
                datagram,
                rooms,
                rate,
                churn_percent,
                uploads_per_minute,
                slow_readers,
                report_secs,
            };
            let report = soak::run(spec, plan, deadline).await?;
            Ok(("soak", report.lines(), serde_json::to_value(&report)?))
        }
        Scenario::Ingest { senders, seconds } => {
            check_clients(senders)?;
            check_seconds(seconds)?;
            let report = ingest::run(spec, senders, seconds, deadline).await?;
            Ok((
                "ingest",
                vec![report.line()],
                serde_json::to_value(&report)?,
            ))
        }
    }
}

async fn sweep(
    spec: &ServerSpec,
    room: Room,
    start: f64,
    factor: f64,
    max_p99_ms: f64,
    seconds: f64,
    deadline: Instant,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(factor > 1.0, "--factor must be above 1");
    let mut deliveries = start;
    let mut steps = Vec::new();
    let mut lines = Vec::new();
    let mut best: Option<fanout::Report> = None;
    // A step needs its setup, its seconds and its drain.
    while Instant::now() + Duration::from_secs_f64(seconds + 20.0) < deadline {
        let plan = room_plan(room, deliveries / room.clients as f64, seconds)?;
        let report = fanout::run(spec, plan, deadline).await?;
        let kept_up = report.deliveries_per_sec >= 0.95 * report.offered_deliveries_per_sec;
        let within = report.latency.p99_ms <= max_p99_ms;
        let ok = report.clean() && kept_up && within;
        let line = format!("{} {}", if ok { "clean" } else { "FAIL " }, report.line());
        eprintln!("{line}");
        lines.push(line);
        steps.push(report.clone());
        if !ok {
            break;
        }
        best = Some(report);
        deliveries *= factor;
        if deliveries / room.clients as f64 > MAX_RATE {
            break;
        }
    }
    lines.push(match &best {
        Some(best) => format!(
            "highest clean rate with {} clients: {:.0} deliveries/s, p99 {:.2} ms, server CPU per delivery {}",
            room.clients,
            best.deliveries_per_sec,
            best.latency.p99_ms,
            best.server_cpu_us_per_delivery
                .map_or("n/a".to_owned(), |us| format!("{us:.2} µs"))
        ),
        None => "no clean step".to_owned(),
    });
    let json = serde_json::json!({
        "max_p99_ms": max_p99_ms,
        "best": best,
        "steps": steps,
    });
    Ok(("sweep", lines, json))
}

fn room_plan(room: Room, rate: f64, seconds: f64) -> anyhow::Result<Plan> {
    check_clients(room.clients)?;
    check_rate(rate)?;
    check_seconds(seconds)?;
    Ok(Plan {
        layout: Layout {
            rooms: 1,
            per_room: room.clients,
            senders_per_room: room.senders,
        },
        rate,
        seconds,
        wire: if room.plain {
            Wire::Plain
        } else if room.v1 {
            Wire::TypedV1
        } else {
            Wire::Typed
        },
        slow_reader: false,
        churn: None,
    })
}

fn check_clients(clients: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_CLIENTS).contains(&clients),
        "between 1 and {MAX_CLIENTS} clients"
    );
    Ok(())
}

fn check_rate(rate: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        rate > 0.0 && rate <= MAX_RATE,
        "a rate between 0 and {MAX_RATE} a second"
    );
    Ok(())
}

fn check_seconds(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds <= MAX_SECONDS as f64,
        "between 0 and {MAX_SECONDS} seconds"
    );
    Ok(())
}

/// `backend` in the directory this program is in: cargo puts both binaries
/// of a profile in the same place.
fn default_server_bin() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me
        .parent()
        .ok_or_else(|| anyhow::anyhow!("cannot tell where hubbub-load is"))?;
    Ok(dir.join("backend"))
}
