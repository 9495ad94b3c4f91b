//! The server's configuration: what `run` needs to know, with the defaults
//! every door starts from. The command line (see `main.rs`) fills it in.

use std::path::PathBuf;
use std::time::Duration;

/// Everything `crate::run` needs besides its listeners.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP door listens (`host:port`). Informational for `run`,
    /// which receives an already-bound listener; `main` binds it.
    pub http: String,
    /// Where Hubbub keeps its data.
    pub data_dir: PathBuf,
    /// The built web client (trunk's `dist` folder).
    pub web_dir: PathBuf,
    pub heartbeat: Heartbeat,
    /// How long shutdown waits for connections to say goodbye.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: "0.0.0.0:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            web_dir: default_web_dir(),
            heartbeat: Heartbeat::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The web client as built in this checkout, wherever the server is started
/// from. A server installed elsewhere is given `--web-dir`.
pub fn default_web_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/dist"))
}

/// Liveness rules for long-lived connections.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    /// How often the server pings.
    pub ping_every: Duration,
    /// A connection from which nothing (not even a pong) arrived for this
    /// long is closed.
    pub idle_after: Duration,
    /// Every write must finish within this.
    pub write_deadline: Duration,
    /// How long a closing connection waits for the client's close frame.
    pub close_grace: Duration,
}

impl Default for Heartbeat {
    /// gorilla's chat example pings every 54 s and gives up after 60 s;
    /// pinging every 30 s leaves room for one lost pong before the limit.
    fn default() -> Self {
        Self {
            ping_every: Duration::from_secs(30),
            idle_after: Duration::from_secs(60),
            write_deadline: Duration::from_secs(10),
            close_grace: Duration::from_secs(2),
        }
    }
}
