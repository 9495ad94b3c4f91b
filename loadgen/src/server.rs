//! The server under test: the real `backend` binary started as a child
//! process on loopback, pinned to its own CPU, with a fresh data directory
//! and the per-connection limits raised so that they do not throttle the
//! benchmark; or a server already running on a loopback address.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::procfs::Proc;

/// The line the server logs once its HTTP door is bound; the address follows.
const LISTENING: &str = "HTTP door listening on ";
/// The same for the terminal and the datagram doors, which the soak reaches.
const TERMINAL_LISTENING: &str = "terminal door listening on ";
const DATAGRAM_LISTENING: &str = "datagram door listening on ";

/// The addresses of the doors besides HTTP, as the server logged them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Doors {
    pub terminal: Option<SocketAddr>,
    pub datagram: Option<SocketAddr>,
}

/// Only the server's start-up lines and its warnings: the per-connection
/// lines would cost the server time in every scenario that connects
/// thousands of clients.
pub const DEFAULT_LOG: &str = "info,backend::doors::driver=warn";

/// Messages a second (and burst) each connection may send during a benchmark.
/// The defaults (5/s, burst 20) protect a real server from floods; benchmark
/// senders send hundreds or thousands a second each.
pub const BENCH_MESSAGE_RATE: u32 = 1_000_000;

/// How to get a server to measure.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The `backend` binary to start.
    pub bin: PathBuf,
    /// Measure a server already listening here instead of starting one.
    pub attach: Option<SocketAddr>,
    /// The PID of the attached server, for its CPU time and memory.
    pub attach_pid: Option<u32>,
    /// The CPU to pin a started server to.
    pub cpu: Option<usize>,
    /// The started server's log filter.
    pub log: String,
    /// More flags for a started server (after the generator's own).
    pub extra_args: Vec<String>,
    /// The clients sign in to accounts registered at the start instead of
    /// being guests (a started server is let take that many registrations).
    pub accounts: bool,
}

/// What the server logged lately and how many warnings and errors in all.
#[derive(Debug, Default)]
struct LogTail {
    lines: VecDeque<String>,
    warnings: u64,
    errors: u64,
}

impl LogTail {
    const KEEP: usize = 20;

    fn push(&mut self, line: String) {
        if line.contains(" WARN ") {
            self.warnings += 1;
        } else if line.contains(" ERROR ") {
            self.errors += 1;
        }
        if self.lines.len() == Self::KEEP {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
}

/// A server being measured.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pid: Option<u32>,
    child: Option<Child>,
    log: Arc<Mutex<LogTail>>,
    doors: Arc<Mutex<Doors>>,
    _data: Option<TempDir>,
}

/// How the server's run ended, for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServerEnd {
    /// Lines the server logged at WARN and ERROR level.
    pub warnings: u64,
    pub errors: u64,
    /// The last lines it logged, when any of them was a warning or an error.
    pub last_lines: Vec<String>,
    /// Whether it exited by itself within the grace time after SIGTERM.
    pub exited_cleanly: Option<bool>,
}

impl Server {
    /// Starts (or attaches to) a server that accepts `connections`
    /// connections from loopback.
    pub async fn start(spec: &ServerSpec, connections: u32) -> anyhow::Result<Server> {
        if let Some(addr) = spec.attach {
            crate::client::ensure_loopback(addr)?;
            return Ok(Server {
                addr,
                pid: spec.attach_pid,
                child: None,
                log: Arc::default(),
                doors: Arc::default(),
                _data: None,
            });
        }
        let data = tempfile::Builder::new()
            .prefix("hubbub-load")
            .tempdir()
            .context("cannot make a temporary data directory")?;
        let limit = connections.to_string();
        let rate = BENCH_MESSAGE_RATE.to_string();
        let mut command = Command::new(&spec.bin);
        command
            .args(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"])
            .args(["--udp", "127.0.0.1:0", "--irc", "127.0.0.1:0"])
            .args(["--shutdown-grace-secs", "2"])
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .args(["--log", &spec.log])
            .args(["--websocket-messages-per-second", &rate])
            .args(["--websocket-message-burst", &rate])
            .args(["--websocket-handshakes-per-minute-per-ip", &rate])
            .args(["--limits-max-connections", &limit])
            .args(["--limits-max-connections-per-ip", &limit]);
        if spec.accounts {
            command.args(["--accounts-registrations-per-hour-per-ip", &limit]);
        }
        command
            .args(&spec.extra_args)
            // No hubbub.toml from where the generator was started, and none
            // of its environment's settings.
            .current_dir(data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HUBBUB_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        let mut child = spawn_on(command, spec.cpu)
            .with_context(|| format!("cannot start the server {}", spec.bin.display()))?;
        let pid = child.id();
        let log = Arc::new(Mutex::new(LogTail::default()));
        let doors = Arc::new(Mutex::new(Doors::default()));
        let (found, address) = tokio::sync::oneshot::channel();
        if let Some(stdout) = child.stdout.take() {
            watch(stdout, Arc::clone(&log), Arc::clone(&doors), Some(found));
        }
        if let Some(stderr) = child.stderr.take() {
            watch(stderr, Arc::clone(&log), Arc::clone(&doors), None);
        }
        let addr = match tokio::time::timeout(Duration::from_secs(15), address).await {
            Ok(Ok(addr)) => addr,
            outcome => {
                let _ = kill(Pid::from_raw(pid_t(pid)?), Signal::SIGKILL);
                let _ = child.wait();
                let lines = log
                    .lock()
                    .map(|tail| tail.lines.iter().cloned().collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default();
                let why = if outcome.is_err() {
                    "did not say where it listens within 15 s"
                } else {
                    "exited before listening"
                };
                bail!("the server {why}; its last lines:\n{lines}");
            }
        };
        crate::client::ensure_loopback(addr)?;
        Ok(Server {
            addr,
            pid: Some(pid),
            child: Some(child),
            log,
            doors,
            _data: Some(data),
        })
    }

    /// The terminal and datagram doors of a started server, once it has
    /// logged both (it binds them with the HTTP door, so they follow it
    /// closely).
    pub async fn doors(&self) -> anyhow::Result<(SocketAddr, SocketAddr)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let doors = self.doors.lock().map(|doors| *doors).unwrap_or_default();
            if let (Some(terminal), Some(datagram)) = (doors.terminal, doors.datagram) {
                crate::client::ensure_loopback(terminal)?;
                crate::client::ensure_loopback(datagram)?;
                return Ok((terminal, datagram));
            }
            if Instant::now() > deadline {
                bail!("the server did not say where its terminal and datagram doors listen");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The server process, if it is known.
    pub fn proc(&self) -> Option<Proc> {
        self.pid.map(Proc::Pid)
    }

    /// Stops a server this generator started (SIGTERM, then SIGKILL after
    /// 15 s); an attached server is left running.
    pub async fn stop(mut self) -> anyhow::Result<ServerEnd> {
        let mut end = ServerEnd::default();
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(pid_t(child.id())?);
            kill(pid, Signal::SIGTERM).context("cannot send SIGTERM to the server")?;
            let deadline = Instant::now() + Duration::from_secs(15);
            let mut clean = false;
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait()? {
                    clean = status.success();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if child.try_wait()?.is_none() {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = child.wait();
            }
            end.exited_cleanly = Some(clean);
        }
        if let Ok(tail) = self.log.lock() {
            end.warnings = tail.warnings;
            end.errors = tail.errors;
            if tail.warnings + tail.errors > 0 {
                end.last_lines = tail.lines.iter().cloned().collect();
            }
        }
        Ok(end)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A run that failed half-way must not leave its server behind.
        if let Some(mut child) = self.child.take()
            && let Ok(pid) = pid_t(child.id())
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = child.wait();
        }
    }
}

fn pid_t(pid: u32) -> anyhow::Result<i32> {
    i32::try_from(pid).context("a PID out of range")
}

/// Spawns `command` from a thread pinned to `cpu`: the child inherits the
/// affinity at fork, before it starts any thread of its own.
fn spawn_on(mut command: Command, cpu: Option<usize>) -> anyhow::Result<Child> {
    std::thread::spawn(move || {
        if let Some(cpu) = cpu {
            crate::pin::pin_current_thread(cpu)?;
        }
        Ok(command.spawn()?)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the thread starting the server panicked"))?
}

/// Reads the server's output to its end on a thread of its own (an unread
/// pipe would stall the server once full), keeping the tail and sending the
/// HTTP door's address once it is logged.
fn watch(
    output: impl Read + Send + 'static,
    log: Arc<Mutex<LogTail>>,
    doors: Arc<Mutex<Doors>>,
    mut found: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines() {
            let Ok(line) = line else { break };
            let terminal = address_after(&line, TERMINAL_LISTENING);
            let datagram = address_after(&line, DATAGRAM_LISTENING);
            if (terminal.is_some() || datagram.is_some())
                && let Ok(mut doors) = doors.lock()
            {
                doors.terminal = doors.terminal.or(terminal);
                doors.datagram = doors.datagram.or(datagram);
            }
            if let Some(addr) = address_after(&line, LISTENING)
                && let Some(found) = found.take()
            {
                let _ = found.send(addr);
            }
            if let Ok(mut tail) = log.lock() {
                tail.push(line);
            }
        }
    });
}

/// The address a log line gives after `marker`.
fn address_after(line: &str, marker: &str) -> Option<SocketAddr> {
    line.split_once(marker)
        .and_then(|(_, rest)| rest.split([';', ' ']).next())
        .and_then(|addr| addr.parse().ok())
}
