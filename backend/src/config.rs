//! The server's configuration: what `run` needs to know, with the defaults
//! every door starts from. The command line (see `main.rs`) fills it in.

use std::path::PathBuf;
use std::time::Duration;

/// Everything `crate::run` needs besides its listeners. `crate::settings`
/// builds it from defaults, the TOML file, `HUBBUB_*` variables and flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the HTTP door listens, as the operator wrote it (`host:port`,
    /// `[v6]:port`, `:port`, a host name). Informational for `run`, which
    /// receives already-bound listeners; `main` binds them.
    pub http: String,
    /// Where the terminal door (`nc`, `telnet`) listens, written like `http`.
    pub tcp: String,
    /// Where the IRC door listens, written like `http`; `off` turns it off.
    pub irc: String,
    /// Where the datagram door (UDP sessions, the `hubbub` client) listens,
    /// written like `http`.
    pub udp: String,
    /// The address people reach the HTTP door at (`https://chat.example.org`),
    /// for the absolute links terminal users get to shared files. Empty:
    /// derived from the first HTTP listen address (an unspecified IP shows
    /// as `localhost`).
    pub public_url: String,
    /// Where Hubbub keeps its data.
    pub data_dir: PathBuf,
    /// The built web client (trunk's `dist` folder).
    pub web_dir: PathBuf,
    /// A `tracing` filter (`info`, `backend=debug`); `RUST_LOG` overrides it.
    pub log: String,
    pub heartbeat: Heartbeat,
    /// How long shutdown waits for connections to say goodbye.
    pub shutdown_grace: Duration,
    pub guard: Guard,
    pub files: Files,
    pub accounts: Accounts,
    pub moderation: Moderation,
    pub messages: Messages,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: "0.0.0.0:8080".to_owned(),
            tcp: "0.0.0.0:8001".to_owned(),
            irc: "0.0.0.0:6667".to_owned(),
            udp: "0.0.0.0:8001".to_owned(),
            public_url: String::new(),
            data_dir: PathBuf::from("./data"),
            web_dir: default_web_dir(),
            log: "info".to_owned(),
            heartbeat: Heartbeat::default(),
            shutdown_grace: Duration::from_secs(10),
            guard: Guard::default(),
            files: Files::default(),
            accounts: Accounts::default(),
            moderation: Moderation::default(),
            messages: Messages::default(),
        }
    }
}

/// Who may register, who may chat without an account, and how long a
/// sign-in lasts.
#[derive(Debug, Clone, PartialEq)]
pub struct Accounts {
    /// Whether people may chat without an account (as guests, under any
    /// nickname nobody registered).
    pub guests: bool,
    pub registration: Registration,
    /// The rooms guests may enter; empty: every room.
    pub guest_rooms: Vec<String>,
    /// How long a sign-in lasts before the password is asked again.
    pub session_days: u32,
    /// Accounts one IP address may register per hour.
    pub registrations_per_hour_per_ip: u32,
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            guests: true,
            registration: Registration::Open,
            guest_rooms: Vec::new(),
            session_days: 30,
            registrations_per_hour_per_ip: 5,
        }
    }
}

/// Whether new accounts may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Anyone may register a free nickname.
    Open,
    /// Only with an invite code a server operator made.
    Invite,
    /// Nobody may.
    Closed,
}

impl Registration {
    pub const NAMES: [&str; 3] = ["open", "invite", "closed"];

    pub fn name(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::Invite => "invite",
            Registration::Closed => "closed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "open" => Some(Registration::Open),
            "invite" => Some(Registration::Invite),
            "closed" => Some(Registration::Closed),
            _ => None,
        }
    }
}

/// What people may do to their messages once sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Messages {
    /// How long after sending a message its author may edit it (zero:
    /// editing is off). An hour: long enough to fix a typo or a link, short
    /// enough that a conversation's past stays what people answered.
    pub edit_window: Duration,
}

impl Default for Messages {
    fn default() -> Self {
        Self {
            edit_window: Duration::from_secs(60 * 60),
        }
    }
}

/// Who moderates the whole server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moderation {
    /// Account nicknames that are server operators: owners of every room,
    /// who alone make invite codes.
    pub operators: Vec<String>,
}

/// File sharing: limits on what uploads may take. Defaults and their
/// reasons: shared/HARDENING.md.
#[derive(Debug, Clone, PartialEq)]
pub struct Files {
    /// The largest file one upload may carry, in bytes.
    pub max_upload_bytes: u64,
    /// Uploads one IP address may start per minute.
    pub uploads_per_minute_per_ip: u32,
    /// The most bytes all stored files may take together (each distinct
    /// content counted once).
    pub quota_bytes: u64,
}

impl Default for Files {
    fn default() -> Self {
        Self {
            max_upload_bytes: 25 << 20,
            uploads_per_minute_per_ip: 30,
            quota_bytes: 10 << 30,
        }
    }
}

/// Limits that protect the server and its users from hostile or broken
/// clients. Defaults and their reasons: shared/HARDENING.md.
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// Origins (`scheme://host[:port]`) whose pages may open a WebSocket, in
    /// addition to the server's own origin. A handshake with any other
    /// `Origin` header gets 403; one without the header (not a browser) is let in.
    pub allowed_origins: Vec<String>,
    /// Chat messages a connection may send per second, sustained.
    pub messages_per_second: f64,
    /// Messages a connection may send in a burst above that rate.
    pub message_burst: u32,
    /// Open connections from one IP address.
    pub max_connections_per_ip: u32,
    /// WebSocket handshakes one IP address may make per minute.
    pub handshakes_per_minute_per_ip: u32,
    /// Open connections in all.
    pub max_connections: u32,
    /// A client must send a request's headers within this (slowloris).
    pub header_read_timeout: Duration,
    /// Writes to sockets a second that busy connections share (see
    /// `backend::pace`): lower spends less CPU on a flood, for more latency.
    pub writes_per_second: u32,
}

impl Default for Guard {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            messages_per_second: 5.0,
            message_burst: 20,
            max_connections_per_ip: 64,
            handshakes_per_minute_per_ip: 120,
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            writes_per_second: crate::pace::WRITES_PER_SECOND,
        }
    }
}

/// The web client as built in this checkout, wherever the server is started
/// from. A server installed elsewhere is given `--web-dir`.
pub fn default_web_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/dist"))
}

/// Liveness rules for long-lived connections.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// How long a reader may stay behind the live messages, catching up from
    /// the store, before it is closed as slow (it then resumes on reconnect).
    pub max_lag: Duration,
    /// How long a datagram session may send nothing before it sends a
    /// heartbeat (with a quarter of it as jitter); a session that hears
    /// nothing from its client for three of them has expired.
    pub datagram_every: Duration,
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
            max_lag: Duration::from_secs(60),
            // 15–25 s: NAT mappings last at least 2 minutes (RFC 4787), and
            // three missed heartbeats are a minute of silence.
            datagram_every: Duration::from_secs(20),
        }
    }
}
