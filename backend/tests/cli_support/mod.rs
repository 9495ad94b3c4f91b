//! Runs the real `backend` binary as a child process, in a working directory
//! of its own, and waits for what it prints or for its exit, each with a
//! deadline (never a pause).

#![allow(dead_code, reason = "each test uses the helpers it needs")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic here is a failed test"
)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for the binary to print a line or exit. A deadline
/// for a failing test; a passing one never waits for it.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The terminal and datagram doors on ports the system picks, so that tests
/// running at once (and a server already on 8001) never collide.
pub const OTHER_DOORS_ON_FREE_PORTS: [&str; 6] = [
    "--tcp",
    "127.0.0.1:0",
    "--udp",
    "127.0.0.1:0",
    "--irc",
    "127.0.0.1:0",
];

/// The `backend` binary, started in `dir`, with none of the caller's
/// `HUBBUB_*` or `RUST_LOG` variables, and with backtraces on, so that a
/// panic would show.
pub fn backend(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backend"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("HUBBUB_") || name == "RUST_LOG" {
            command.env_remove(&*name);
        }
    }
    command.env("RUST_BACKTRACE", "1");
    command
}

/// A running child: its stdout as lines as they come, its stderr and its
/// exit.
pub struct Running {
    pid: u32,
    stdout: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    exit: Receiver<ExitStatus>,
    exited: bool,
}

/// What a finished child left.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    /// Waits for the HTTP door's log line; returns the address it reports
    /// and the whole line.
    pub fn http_door(&mut self) -> (std::net::SocketAddr, String) {
        let line = self.wait_for_line("HTTP door listening on ");
        let addr = line
            .split("HTTP door listening on ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        (addr, line)
    }

    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the backend binary starts");
        let pid = child.id();
        let stdout = child.stdout.take().unwrap();
        let (line_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        let (exit_tx, exit) = mpsc::channel();
        std::thread::spawn(move || {
            let status = child.wait().expect("waiting for the child");
            let _ = exit_tx.send(status);
        });
        Self {
            pid,
            stdout: lines,
            seen: Vec::new(),
            stderr: Some(stderr),
            exit,
            exited: false,
        }
    }

    /// Waits for a line on stdout that contains `needle`, and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    panic!(
                        "no line with {needle:?} in time; saw:\n{}",
                        self.seen.join("\n")
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let rest = self.finish();
                    panic!(
                        "the backend ended before printing {needle:?}: {rest:?}\nsaw:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends a signal (`TERM`, `INT`) to the child's process only.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} {} failed", self.pid);
    }

    /// Waits for the child to exit, and returns everything it printed.
    pub fn finish(&mut self) -> Finished {
        let Ok(status) = self.exit.recv_timeout(PATIENCE) else {
            self.kill();
            panic!("the backend did not exit in time");
        };
        self.exited = true;
        // The pipes close when the process is gone.
        while let Ok(line) = self.stdout.recv_timeout(PATIENCE) {
            self.seen.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        Finished {
            status,
            stdout: self.seen.join("\n"),
            stderr,
        }
    }

    fn kill(&mut self) {
        if !self.exited {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &self.pid.to_string()])
                .status();
            self.exited = true;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed test must not leave a server behind. Once the exit has
        // been seen the PID is not ours any more: leave it alone.
        if !self.exited && self.exit.try_recv().is_err() {
            self.kill();
        }
    }
}

/// Runs the binary to its end.
pub fn run(command: Command) -> Finished {
    Running::start(command).finish()
}

/// The child failed the way an operator's mistake should: exit code 2 and
/// exactly one line on stderr, `error: ` and `expected`, with no panic and
/// no backtrace.
pub fn assert_usage_error(finished: &Finished, expected: &str) {
    assert_eq!(
        finished.status.code(),
        Some(2),
        "exit code; stderr: {}",
        finished.stderr
    );
    assert_eq!(finished.stderr, format!("error: {expected}\n"));
    assert_no_panic(finished);
}

/// Like [`assert_usage_error`], for a message known by its beginning.
pub fn assert_usage_error_starting(finished: &Finished, start: &str) {
    assert_eq!(
        finished.status.code(),
        Some(2),
        "exit code; stderr: {}",
        finished.stderr
    );
    assert!(
        finished.stderr.starts_with(&format!("error: {start}")),
        "stderr: {}",
        finished.stderr
    );
    assert_eq!(
        finished.stderr.lines().count(),
        1,
        "one line: {}",
        finished.stderr
    );
    assert_no_panic(finished);
}

pub fn assert_no_panic(finished: &Finished) {
    for text in [&finished.stderr, &finished.stdout] {
        assert!(!text.contains("panicked"), "{text}");
        assert!(!text.to_lowercase().contains("backtrace"), "{text}");
    }
}

/// The value and the source comment of `key` in `--print-config` output.
pub fn printed<'a>(output: &'a str, section: Option<&str>, key: &str) -> (&'a str, &'a str) {
    let mut current = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name);
            continue;
        }
        if current != section {
            continue;
        }
        if let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(" = ")) {
            let (value, source) = rest.split_once("  # ").expect("a source comment");
            return (value.trim_end(), source);
        }
    }
    panic!("{key} is not printed in:\n{output}");
}
