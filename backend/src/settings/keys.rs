//! The table of settings: one [`Key`] per field of [`Config`], with its name
//! in the file, its environment variable, its flag, and how a value of it is
//! read, checked and written back. Everything else in `settings` is driven by
//! this table, so a new setting is one entry here (and one line in
//! `hubbub.example.toml`; a test holds both to the `Config` fields).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use toml::de::DeValue;

use crate::config::{Config, Registration};

/// Durations longer than a day are a mistake rather than a wish, and keeping
/// them bounded keeps `Instant + duration` far from overflowing.
const MAX_SECS: u64 = 86_400;
/// Byte counts stay within what SQLite and `i64` arithmetic hold.
const MAX_BYTES: u64 = i64::MAX as u64;

/// Where a setting lives in [`Config`], and what kind of value it takes.
#[derive(Clone, Copy)]
pub enum Slot {
    /// A string checked as a whole later (an address, a log filter).
    Text(fn(&mut Config) -> &mut String),
    /// A file system path; must not be empty.
    Path(fn(&mut Config) -> &mut PathBuf),
    /// A duration written as whole seconds, at least `min`.
    Secs {
        field: fn(&mut Config) -> &mut Duration,
        min: u64,
    },
    /// A duration written as whole milliseconds, at least `min`.
    Millis {
        field: fn(&mut Config) -> &mut Duration,
        min: u64,
    },
    /// A whole number, at least `min`.
    Count {
        field: fn(&mut Config) -> &mut u32,
        min: u32,
    },
    /// A number of bytes, at least `min`.
    Bytes {
        field: fn(&mut Config) -> &mut u64,
        min: u64,
    },
    /// An `http://` or `https://` URL without query or fragment, kept
    /// without a trailing slash; or empty, for "derive it".
    Url(fn(&mut Config) -> &mut String),
    /// A positive, finite number (a rate per second).
    Rate(fn(&mut Config) -> &mut f64),
    /// A list of web origins (`scheme://host[:port]`).
    Origins(fn(&mut Config) -> &mut Vec<String>),
    /// `true` or `false`.
    Flag(fn(&mut Config) -> &mut bool),
    /// Who may register: `open`, `invite` or `closed`.
    Registration(fn(&mut Config) -> &mut Registration),
    /// A list of names, each checked (and normalized) by `check`.
    Names {
        field: fn(&mut Config) -> &mut Vec<String>,
        check: fn(&str) -> Result<String, String>,
    },
}

/// One setting.
pub struct Key {
    /// The dotted path in the file: `websocket.ping_interval_secs`.
    pub path: &'static str,
    /// `HUBBUB_` and the path in capitals, `.` as `_`.
    pub env: &'static str,
    /// The long flag without its dashes: the path with `.` and `_` as `-`.
    pub flag: &'static str,
    pub slot: Slot,
    /// One line for `--help`.
    pub help: &'static str,
}

impl Key {
    /// The section (`websocket`), or `None` at the top of the file.
    pub fn section(&self) -> Option<&'static str> {
        self.path.split_once('.').map(|(section, _)| section)
    }

    /// What `--help` shows as the flag's value.
    pub fn value_name(&self) -> &'static str {
        match self.path {
            "http" | "tcp" | "irc" | "udp" => "ADDR",
            "public_url" => "URL",
            "log" => "FILTER",
            _ => self.slot.value_name(),
        }
    }

    /// The key's name within its section.
    pub fn name(&self) -> &'static str {
        self.path
            .split_once('.')
            .map_or(self.path, |(_, name)| name)
    }
}

/// Every setting, top-level keys first, then each section's keys together
/// (the order `--print-config` and the example file use).
pub const KEYS: &[Key] = &[
    Key {
        path: "http",
        env: "HUBBUB_HTTP",
        flag: "http",
        slot: Slot::Text(|c| &mut c.http),
        help: "Address of the HTTP door (web client and WebSocket): host:port, [v6]:port, :port or a host name",
    },
    Key {
        path: "tcp",
        env: "HUBBUB_TCP",
        flag: "tcp",
        slot: Slot::Text(|c| &mut c.tcp),
        help: "Address of the terminal door (nc, telnet), written like --http",
    },
    Key {
        path: "irc",
        env: "HUBBUB_IRC",
        flag: "irc",
        slot: Slot::Text(|c| &mut c.irc),
        help: "Address of the IRC door (irssi, weechat), written like --http; off: no IRC door",
    },
    Key {
        path: "udp",
        env: "HUBBUB_UDP",
        flag: "udp",
        slot: Slot::Text(|c| &mut c.udp),
        help: "Address of the datagram door (UDP sessions for the hubbub client), written like --http",
    },
    Key {
        path: "public_url",
        env: "HUBBUB_PUBLIC_URL",
        flag: "public-url",
        slot: Slot::Url(|c| &mut c.public_url),
        help: "The URL people reach the HTTP door at, for links to shared files in terminals; empty: derived from --http",
    },
    Key {
        path: "data_dir",
        env: "HUBBUB_DATA_DIR",
        flag: "data-dir",
        slot: Slot::Path(|c| &mut c.data_dir),
        help: "Directory for Hubbub's data",
    },
    Key {
        path: "web_dir",
        env: "HUBBUB_WEB_DIR",
        flag: "web-dir",
        slot: Slot::Path(|c| &mut c.web_dir),
        help: "Directory of the built web client (trunk's dist folder)",
    },
    Key {
        path: "log",
        env: "HUBBUB_LOG",
        flag: "log",
        slot: Slot::Text(|c| &mut c.log),
        help: "Log filter (`info`, `backend=debug`); RUST_LOG overrides it",
    },
    Key {
        path: "shutdown_grace_secs",
        env: "HUBBUB_SHUTDOWN_GRACE_SECS",
        flag: "shutdown-grace-secs",
        slot: Slot::Secs {
            field: |c| &mut c.shutdown_grace,
            min: 0,
        },
        help: "Seconds shutdown waits for connections to say goodbye",
    },
    Key {
        path: "websocket.ping_interval_secs",
        env: "HUBBUB_WEBSOCKET_PING_INTERVAL_SECS",
        flag: "websocket-ping-interval-secs",
        slot: Slot::Secs {
            field: |c| &mut c.heartbeat.ping_every,
            min: 1,
        },
        help: "Seconds between the server's pings",
    },
    Key {
        path: "websocket.idle_timeout_secs",
        env: "HUBBUB_WEBSOCKET_IDLE_TIMEOUT_SECS",
        flag: "websocket-idle-timeout-secs",
        slot: Slot::Secs {
            field: |c| &mut c.heartbeat.idle_after,
            min: 1,
        },
        help: "Close a connection that sent nothing (not even a pong) for this many seconds",
    },
    Key {
        path: "websocket.write_timeout_secs",
        env: "HUBBUB_WEBSOCKET_WRITE_TIMEOUT_SECS",
        flag: "websocket-write-timeout-secs",
        slot: Slot::Secs {
            field: |c| &mut c.heartbeat.write_deadline,
            min: 1,
        },
        help: "Seconds every write to a connection must finish within",
    },
    Key {
        path: "websocket.close_grace_ms",
        env: "HUBBUB_WEBSOCKET_CLOSE_GRACE_MS",
        flag: "websocket-close-grace-ms",
        slot: Slot::Millis {
            field: |c| &mut c.heartbeat.close_grace,
            min: 0,
        },
        help: "Milliseconds a closing connection waits for the client's close frame",
    },
    Key {
        path: "websocket.max_lag_secs",
        env: "HUBBUB_WEBSOCKET_MAX_LAG_SECS",
        flag: "websocket-max-lag-secs",
        slot: Slot::Secs {
            field: |c| &mut c.heartbeat.max_lag,
            min: 1,
        },
        help: "Seconds a slow reader may stay behind, catching up from history, before it is closed",
    },
    Key {
        path: "websocket.allowed_origins",
        env: "HUBBUB_WEBSOCKET_ALLOWED_ORIGINS",
        flag: "websocket-allowed-origins",
        slot: Slot::Origins(|c| &mut c.guard.allowed_origins),
        help: "Other origins (scheme://host[:port]) whose pages may open a WebSocket; comma-separated",
    },
    Key {
        path: "websocket.messages_per_second",
        env: "HUBBUB_WEBSOCKET_MESSAGES_PER_SECOND",
        flag: "websocket-messages-per-second",
        slot: Slot::Rate(|c| &mut c.guard.messages_per_second),
        help: "Chat messages a connection may send per second, sustained",
    },
    Key {
        path: "websocket.message_burst",
        env: "HUBBUB_WEBSOCKET_MESSAGE_BURST",
        flag: "websocket-message-burst",
        slot: Slot::Count {
            field: |c| &mut c.guard.message_burst,
            min: 1,
        },
        help: "Messages a connection may send in a burst above that rate",
    },
    Key {
        path: "websocket.handshakes_per_minute_per_ip",
        env: "HUBBUB_WEBSOCKET_HANDSHAKES_PER_MINUTE_PER_IP",
        flag: "websocket-handshakes-per-minute-per-ip",
        slot: Slot::Count {
            field: |c| &mut c.guard.handshakes_per_minute_per_ip,
            min: 1,
        },
        help: "WebSocket handshakes one IP address may make per minute",
    },
    Key {
        path: "limits.max_connections",
        env: "HUBBUB_LIMITS_MAX_CONNECTIONS",
        flag: "limits-max-connections",
        slot: Slot::Count {
            field: |c| &mut c.guard.max_connections,
            min: 1,
        },
        help: "Open connections in all",
    },
    Key {
        path: "limits.max_connections_per_ip",
        env: "HUBBUB_LIMITS_MAX_CONNECTIONS_PER_IP",
        flag: "limits-max-connections-per-ip",
        slot: Slot::Count {
            field: |c| &mut c.guard.max_connections_per_ip,
            min: 1,
        },
        help: "Open connections from one IP address",
    },
    Key {
        path: "limits.header_read_timeout_secs",
        env: "HUBBUB_LIMITS_HEADER_READ_TIMEOUT_SECS",
        flag: "limits-header-read-timeout-secs",
        slot: Slot::Secs {
            field: |c| &mut c.guard.header_read_timeout,
            min: 1,
        },
        help: "Seconds a client has to send a request's headers (slowloris)",
    },
    Key {
        path: "limits.writes_per_second",
        env: "HUBBUB_LIMITS_WRITES_PER_SECOND",
        flag: "limits-writes-per-second",
        slot: Slot::Count {
            field: |c| &mut c.guard.writes_per_second,
            min: 1_000,
        },
        help: "Socket writes a second that busy connections share; lower spends less CPU on a flood, for more latency",
    },
    Key {
        path: "files.max_upload_bytes",
        env: "HUBBUB_FILES_MAX_UPLOAD_BYTES",
        flag: "files-max-upload-bytes",
        slot: Slot::Bytes {
            field: |c| &mut c.files.max_upload_bytes,
            min: 1,
        },
        help: "The largest file one upload may carry, in bytes",
    },
    Key {
        path: "files.uploads_per_minute_per_ip",
        env: "HUBBUB_FILES_UPLOADS_PER_MINUTE_PER_IP",
        flag: "files-uploads-per-minute-per-ip",
        slot: Slot::Count {
            field: |c| &mut c.files.uploads_per_minute_per_ip,
            min: 1,
        },
        help: "Uploads one IP address may start per minute",
    },
    Key {
        path: "files.quota_bytes",
        env: "HUBBUB_FILES_QUOTA_BYTES",
        flag: "files-quota-bytes",
        slot: Slot::Bytes {
            field: |c| &mut c.files.quota_bytes,
            min: 0,
        },
        help: "The most bytes all stored files may take together; uploads beyond it are refused",
    },
    Key {
        path: "datagram.heartbeat_secs",
        env: "HUBBUB_DATAGRAM_HEARTBEAT_SECS",
        flag: "datagram-heartbeat-secs",
        slot: Slot::Secs {
            field: |c| &mut c.heartbeat.datagram_every,
            min: 1,
        },
        help: "Seconds a datagram session may be quiet before it sends a heartbeat; three missed ones end it",
    },
    Key {
        path: "accounts.guests",
        env: "HUBBUB_ACCOUNTS_GUESTS",
        flag: "accounts-guests",
        slot: Slot::Flag(|c| &mut c.accounts.guests),
        help: "Whether people may chat without an account, under a nickname nobody registered",
    },
    Key {
        path: "accounts.registration",
        env: "HUBBUB_ACCOUNTS_REGISTRATION",
        flag: "accounts-registration",
        slot: Slot::Registration(|c| &mut c.accounts.registration),
        help: "Who may register an account: open (anyone), invite (with an operator's invite code) or closed",
    },
    Key {
        path: "accounts.guest_rooms",
        env: "HUBBUB_ACCOUNTS_GUEST_ROOMS",
        flag: "accounts-guest-rooms",
        slot: Slot::Names {
            field: |c| &mut c.accounts.guest_rooms,
            check: check_room,
        },
        help: "The rooms guests may enter (comma-separated); none listed: every room",
    },
    Key {
        path: "accounts.session_days",
        env: "HUBBUB_ACCOUNTS_SESSION_DAYS",
        flag: "accounts-session-days",
        slot: Slot::Count {
            field: |c| &mut c.accounts.session_days,
            min: 1,
        },
        help: "Days a sign-in lasts before the password is asked again",
    },
    Key {
        path: "accounts.registrations_per_hour_per_ip",
        env: "HUBBUB_ACCOUNTS_REGISTRATIONS_PER_HOUR_PER_IP",
        flag: "accounts-registrations-per-hour-per-ip",
        slot: Slot::Count {
            field: |c| &mut c.accounts.registrations_per_hour_per_ip,
            min: 1,
        },
        help: "Accounts one IP address may register per hour",
    },
    Key {
        path: "moderation.operators",
        env: "HUBBUB_MODERATION_OPERATORS",
        flag: "moderation-operators",
        slot: Slot::Names {
            field: |c| &mut c.moderation.operators,
            check: check_nick,
        },
        help: "Account nicknames that operate the server (comma-separated): owners of every room, who make invite codes",
    },
    Key {
        path: "messages.edit_window_secs",
        env: "HUBBUB_MESSAGES_EDIT_WINDOW_SECS",
        flag: "messages-edit-window-secs",
        slot: Slot::Secs {
            field: |c| &mut c.messages.edit_window,
            min: 0,
        },
        help: "Seconds after sending a message that its author may edit it (0: editing is off)",
    },
];

fn check_room(name: &str) -> Result<String, String> {
    shared::validate::normalize_room(name).map_err(|e| format!("{name:?}: {e}"))
}

fn check_nick(name: &str) -> Result<String, String> {
    shared::validate::normalize_nick(name).map_err(|e| format!("{name:?}: {e}"))
}

/// Checks every name of a list, keeping the normalized ones.
fn names_checked(
    names: Vec<&str>,
    check: fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, String> {
    names.into_iter().map(check).collect()
}

/// The key at a dotted path.
pub fn find(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.path == path)
}

impl Slot {
    /// What `--help` shows as the flag's value.
    pub fn value_name(self) -> &'static str {
        match self {
            Slot::Text(_) => "TEXT",
            Slot::Path(_) => "DIR",
            Slot::Secs { .. } => "SECS",
            Slot::Millis { .. } => "MS",
            Slot::Count { .. } => "N",
            Slot::Bytes { .. } => "BYTES",
            Slot::Url(_) => "URL",
            Slot::Rate(_) => "RATE",
            Slot::Origins(_) => "ORIGINS",
            Slot::Flag(_) => "BOOL",
            Slot::Registration(_) => "open|invite|closed",
            Slot::Names { .. } => "NAMES",
        }
    }

    /// Sets the value from an environment variable or a flag.
    pub fn set_from_text(self, config: &mut Config, raw: &OsStr) -> Result<(), String> {
        if let Slot::Path(field) = self {
            if raw.is_empty() {
                return Err("must not be empty".to_owned());
            }
            *field(config) = PathBuf::from(raw);
            return Ok(());
        }
        let Some(text) = raw.to_str() else {
            return Err(format!("not valid UTF-8: {}", raw.to_string_lossy()));
        };
        match self {
            Slot::Text(field) => *field(config) = text.to_owned(),
            Slot::Path(_) => {}
            Slot::Secs { field, min } => {
                *field(config) = Duration::from_secs(whole(text, min, MAX_SECS, "seconds")?);
            }
            Slot::Millis { field, min } => {
                let ms = whole(text, min, MAX_SECS * 1000, "milliseconds")?;
                *field(config) = Duration::from_millis(ms);
            }
            Slot::Count { field, min } => {
                let n = whole(text, min.into(), u32::MAX.into(), "")?;
                *field(config) = u32::try_from(n).map_err(|_| out_of_range(text))?;
            }
            Slot::Bytes { field, min } => *field(config) = whole(text, min, MAX_BYTES, "bytes")?,
            Slot::Url(field) => *field(config) = check_url(text)?,
            Slot::Rate(field) => {
                let rate = text
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("expected a number, got {text:?}"))?;
                *field(config) = positive(rate)?;
            }
            Slot::Origins(field) => {
                let origins: Vec<&str> = if text.trim().is_empty() {
                    Vec::new()
                } else {
                    text.split(',').map(str::trim).collect()
                };
                *field(config) = origins_checked(origins)?;
            }
            Slot::Flag(field) => {
                *field(config) = match text.trim() {
                    "true" | "yes" | "on" | "1" => true,
                    "false" | "no" | "off" | "0" => false,
                    _ => return Err(format!("expected true or false, got {text:?}")),
                };
            }
            Slot::Registration(field) => {
                *field(config) = Registration::from_name(text.trim()).ok_or_else(|| {
                    format!(
                        "expected one of {}, got {text:?}",
                        Registration::NAMES.join(", ")
                    )
                })?;
            }
            Slot::Names { field, check } => {
                let names: Vec<&str> = if text.trim().is_empty() {
                    Vec::new()
                } else {
                    text.split(',').map(str::trim).collect()
                };
                *field(config) = names_checked(names, check)?;
            }
        }
        Ok(())
    }

    /// Sets the value from a TOML value.
    pub fn set_from_toml(self, config: &mut Config, value: &DeValue<'_>) -> Result<(), String> {
        match (self, value) {
            (Slot::Text(field), DeValue::String(text)) => *field(config) = text.to_string(),
            (Slot::Path(field), DeValue::String(text)) => {
                if text.is_empty() {
                    return Err("must not be empty".to_owned());
                }
                *field(config) = PathBuf::from(text.as_ref());
            }
            (Slot::Secs { field, min }, DeValue::Integer(int)) => {
                let secs = integer(int, min, MAX_SECS, "seconds")?;
                *field(config) = Duration::from_secs(secs);
            }
            (Slot::Millis { field, min }, DeValue::Integer(int)) => {
                let ms = integer(int, min, MAX_SECS * 1000, "milliseconds")?;
                *field(config) = Duration::from_millis(ms);
            }
            (Slot::Count { field, min }, DeValue::Integer(int)) => {
                let n = integer(int, min.into(), u32::MAX.into(), "")?;
                *field(config) = u32::try_from(n).map_err(|_| out_of_range(int.as_str()))?;
            }
            (Slot::Bytes { field, min }, DeValue::Integer(int)) => {
                *field(config) = integer(int, min, MAX_BYTES, "bytes")?;
            }
            (Slot::Url(field), DeValue::String(text)) => *field(config) = check_url(text)?,
            (Slot::Rate(field), DeValue::Integer(int)) => {
                let n = i64::from_str_radix(int.as_str(), int.radix())
                    .map_err(|_| out_of_range(int.as_str()))?;
                *field(config) = positive(n as f64)?;
            }
            (Slot::Rate(field), DeValue::Float(float)) => {
                let rate = float
                    .as_str()
                    .parse::<f64>()
                    .map_err(|_| format!("expected a number, got {}", float.as_str()))?;
                *field(config) = positive(rate)?;
            }
            (Slot::Origins(field), DeValue::Array(items)) => {
                let mut origins = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(text) => origins.push(text.as_ref()),
                        other => {
                            return Err(format!(
                                "expected an array of strings, found {} in it",
                                describe(other)
                            ));
                        }
                    }
                }
                *field(config) = origins_checked(origins)?;
            }
            (Slot::Flag(field), DeValue::Boolean(b)) => *field(config) = *b,
            (Slot::Registration(field), DeValue::String(text)) => {
                *field(config) = Registration::from_name(text).ok_or_else(|| {
                    format!(
                        "expected one of {}, got {text:?}",
                        Registration::NAMES.join(", ")
                    )
                })?;
            }
            (Slot::Names { field, check }, DeValue::Array(items)) => {
                let mut names = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(text) => names.push(text.as_ref()),
                        other => {
                            return Err(format!(
                                "expected an array of strings, found {} in it",
                                describe(other)
                            ));
                        }
                    }
                }
                *field(config) = names_checked(names, check)?;
            }
            (slot, other) => {
                return Err(format!(
                    "expected {}, got {}",
                    slot.expected(),
                    describe(other)
                ));
            }
        }
        Ok(())
    }

    /// The value as TOML, for `--print-config`.
    pub fn render(self, config: &mut Config) -> String {
        match self {
            Slot::Text(field) => quote(field(config)),
            Slot::Path(field) => quote(&field(config).to_string_lossy()),
            Slot::Secs { field, .. } => field(config).as_secs().to_string(),
            Slot::Millis { field, .. } => field(config).as_millis().to_string(),
            Slot::Count { field, .. } => field(config).to_string(),
            Slot::Bytes { field, .. } => field(config).to_string(),
            Slot::Url(field) => quote(field(config)),
            Slot::Rate(field) => format!("{:?}", *field(config)),
            Slot::Origins(field) | Slot::Names { field, .. } => {
                let items: Vec<String> = field(config).iter().map(|o| quote(o)).collect();
                format!("[{}]", items.join(", "))
            }
            Slot::Flag(field) => field(config).to_string(),
            Slot::Registration(field) => quote(field(config).name()),
        }
    }

    /// What a TOML value for this slot looks like, for type errors.
    fn expected(self) -> &'static str {
        match self {
            Slot::Text(_) | Slot::Path(_) => "a string",
            Slot::Url(_) => "a URL string",
            Slot::Bytes { .. } => "a whole number of bytes",
            Slot::Secs { .. } => "a whole number of seconds",
            Slot::Millis { .. } => "a whole number of milliseconds",
            Slot::Count { .. } => "a whole number",
            Slot::Rate(_) => "a number",
            Slot::Origins(_) | Slot::Names { .. } => "an array of strings",
            Slot::Flag(_) => "true or false",
            Slot::Registration(_) => "\"open\", \"invite\" or \"closed\"",
        }
    }
}

/// A TOML value's type and, for scalars, the value, for error messages.
fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("the string {text:?}"),
        DeValue::Integer(int) => format!("the whole number {int}"),
        DeValue::Float(float) => format!("the number {float}"),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Datetime(date) => format!("the date {date}"),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// A whole number written as text, within `min..=max`.
fn whole(text: &str, min: u64, max: u64, unit: &str) -> Result<u64, String> {
    let digits = text.trim();
    let negative = digits.strip_prefix('-').unwrap_or(digits);
    if negative.is_empty() || !negative.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected a whole number, got {text:?}"));
    }
    if digits.starts_with('-') {
        return Err(at_least(min, unit, text));
    }
    let n = digits.parse::<u64>().map_err(|_| out_of_range(text))?;
    within(n, min, max, unit, text)
}

/// A TOML integer within `min..=max`.
fn integer(int: &toml::de::DeInteger<'_>, min: u64, max: u64, unit: &str) -> Result<u64, String> {
    let shown = int.to_string();
    match i128::from_str_radix(int.as_str(), int.radix()) {
        Ok(n) if n < 0 => Err(at_least(min, unit, &shown)),
        Ok(n) => {
            let n = u64::try_from(n).map_err(|_| out_of_range(&shown))?;
            within(n, min, max, unit, &shown)
        }
        Err(_) => Err(out_of_range(&shown)),
    }
}

fn within(n: u64, min: u64, max: u64, unit: &str, shown: &str) -> Result<u64, String> {
    if n < min {
        Err(at_least(min, unit, shown))
    } else if n > max {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        Err(format!("must be at most {max}{unit}, got {shown}"))
    } else {
        Ok(n)
    }
}

fn at_least(min: u64, unit: &str, shown: &str) -> String {
    let unit = match (unit, min) {
        ("", _) => String::new(),
        (unit, 1) => format!(" {}", unit.trim_end_matches('s')),
        (unit, _) => format!(" {unit}"),
    };
    format!("must be at least {min}{unit}, got {shown}")
}

fn out_of_range(shown: &str) -> String {
    format!("{shown} is out of range")
}

fn positive(rate: f64) -> Result<f64, String> {
    if rate.is_finite() && rate > 0.0 && rate <= 1e9 {
        Ok(rate)
    } else {
        Err(format!(
            "must be a number above 0 (and at most 1e9), got {rate}"
        ))
    }
}

fn origins_checked(origins: Vec<&str>) -> Result<Vec<String>, String> {
    origins
        .into_iter()
        .map(|origin| check_origin(origin).map(|()| origin.to_owned()))
        .collect()
}

/// An origin as a browser sends it in the `Origin` header:
/// `scheme://host[:port]`, http or https, no path, no default port. Case
/// and one trailing slash are forgiven (the check compares them away).
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin.trim().is_empty() {
        return Err("an origin must not be empty".to_owned());
    }
    let lower = origin.to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err(format!(
            "{origin:?} is not an origin: it must start with http:// or https://"
        ));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Err(format!("{origin:?} is not an origin: it has no host"));
    }
    if let Some(at) = authority.find(['/', '?', '#']) {
        return Err(format!(
            "{origin:?} is not an origin: an origin has no path (write \"{scheme}://{}\")",
            &authority[..at]
        ));
    }
    if authority.contains('@') {
        return Err(format!(
            "{origin:?} is not an origin: an origin has no user name"
        ));
    }
    let (host, port) = split_port(authority);
    if host.is_empty()
        || !(host.starts_with('[') && host.ends_with(']')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
    {
        return Err(format!(
            "{origin:?} is not an origin: {host:?} is not a host name"
        ));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(format!(
                    "{origin:?} is not an origin: {port:?} is not a port number (1-65535)"
                ));
            }
            Ok(80) if scheme == "http" => return Err(default_port(origin, scheme, host)),
            Ok(443) if scheme == "https" => return Err(default_port(origin, scheme, host)),
            Ok(_) => {}
        }
    }
    Ok(())
}

fn default_port(origin: &str, scheme: &str, host: &str) -> String {
    format!(
        "{origin:?}: browsers send the origin without the default port (write \"{scheme}://{host}\")"
    )
}

/// `host:port` → (`host`, `Some(port)`); `[v6]:port` too; no colon outside
/// brackets → no port.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let after_brackets = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[after_brackets..].rfind(':') {
        Some(i) => {
            let i = after_brackets + i;
            (&authority[..i], Some(&authority[i + 1..]))
        }
        None => (authority, None),
    }
}

/// A public URL as `public_url` takes it: empty, or `http(s)://host[:port]`
/// with an optional path (a server behind a reverse proxy under
/// `/chat`), no query, no fragment, no user name. Returned without its
/// trailing slash, since links are made by appending `/api/...`.
pub fn check_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return Err(format!(
            "{url:?} is not a URL: it must start with http:// or https://"
        ));
    };
    if rest.contains(['?', '#']) {
        return Err(format!("{url:?}: a public URL has no query or fragment"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?}: a URL has no spaces or control characters"
        ));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("{url:?} is not a URL: it has no host"));
    }
    if authority.contains('@') {
        return Err(format!("{url:?}: a public URL has no user name"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// A TOML basic string.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Accounts, Files, Guard, Heartbeat, Messages, Moderation};

    #[test]
    fn names_are_derived_mechanically_and_unique() {
        let mut envs = std::collections::HashSet::new();
        let mut flags = std::collections::HashSet::new();
        for key in KEYS {
            let env = format!("HUBBUB_{}", key.path.replace('.', "_").to_uppercase());
            assert_eq!(key.env, env, "{}", key.path);
            assert_eq!(key.flag, key.path.replace(['.', '_'], "-"), "{}", key.path);
            assert!(envs.insert(key.env), "duplicate env {}", key.env);
            assert!(flags.insert(key.flag), "duplicate flag {}", key.flag);
            assert!(key.path.matches('.').count() <= 1, "one level of sections");
        }
        // Not a key, but a name the command line uses too.
        assert!(!flags.contains("config") && !flags.contains("print-config"));
    }

    #[test]
    fn top_level_keys_come_first_and_sections_are_together() {
        let mut seen: Vec<Option<&str>> = Vec::new();
        for key in KEYS {
            if seen.last() != Some(&key.section()) {
                assert!(
                    !seen.contains(&key.section()),
                    "{} is apart from its section",
                    key.path
                );
                seen.push(key.section());
            }
        }
        assert_eq!(seen.first(), Some(&None));
        // A section name must not also be a top-level key.
        for section in seen.iter().flatten() {
            assert!(find(section).is_none());
        }
    }

    /// Every field of `Config` has a key: changing every key changes every
    /// field. The destructuring below has no `..`, so a new field in
    /// `Config` does not compile until it is added here (and to `KEYS`).
    #[test]
    fn every_config_field_has_a_key() {
        let mut config = Config::default();
        for key in KEYS {
            match key.slot {
                Slot::Text(f) => f(&mut config).push_str("-changed"),
                Slot::Path(f) => f(&mut config).push("changed"),
                Slot::Secs { field, .. } => *field(&mut config) += Duration::from_secs(1),
                Slot::Millis { field, .. } => *field(&mut config) += Duration::from_millis(1),
                Slot::Count { field, .. } => *field(&mut config) += 1,
                Slot::Bytes { field, .. } => *field(&mut config) += 1,
                Slot::Url(f) => *f(&mut config) = "https://changed.example".to_owned(),
                Slot::Rate(f) => *f(&mut config) += 1.0,
                Slot::Origins(f) => f(&mut config).push("https://changed.example".to_owned()),
                Slot::Flag(f) => *f(&mut config) = !*f(&mut config),
                Slot::Registration(f) => *f(&mut config) = Registration::Closed,
                Slot::Names { field, .. } => field(&mut config).push("changed".to_owned()),
            }
        }
        let d = Config::default();
        let Config {
            http,
            tcp,
            irc,
            udp,
            public_url,
            data_dir,
            web_dir,
            log,
            heartbeat:
                Heartbeat {
                    ping_every,
                    idle_after,
                    write_deadline,
                    close_grace,
                    max_lag,
                    datagram_every,
                },
            shutdown_grace,
            guard:
                Guard {
                    allowed_origins,
                    messages_per_second,
                    message_burst,
                    max_connections_per_ip,
                    handshakes_per_minute_per_ip,
                    max_connections,
                    header_read_timeout,
                    writes_per_second,
                },
            files:
                Files {
                    max_upload_bytes,
                    uploads_per_minute_per_ip,
                    quota_bytes,
                },
            accounts:
                Accounts {
                    guests,
                    registration,
                    guest_rooms,
                    session_days,
                    registrations_per_hour_per_ip,
                },
            moderation: Moderation { operators },
            messages: Messages { edit_window },
        } = &config;
        assert_ne!(http, &d.http);
        assert_ne!(tcp, &d.tcp);
        assert_ne!(irc, &d.irc);
        assert_ne!(udp, &d.udp);
        assert_ne!(public_url, &d.public_url);
        assert_ne!(data_dir, &d.data_dir);
        assert_ne!(web_dir, &d.web_dir);
        assert_ne!(log, &d.log);
        assert_ne!(ping_every, &d.heartbeat.ping_every);
        assert_ne!(idle_after, &d.heartbeat.idle_after);
        assert_ne!(write_deadline, &d.heartbeat.write_deadline);
        assert_ne!(close_grace, &d.heartbeat.close_grace);
        assert_ne!(max_lag, &d.heartbeat.max_lag);
        assert_ne!(datagram_every, &d.heartbeat.datagram_every);
        assert_ne!(shutdown_grace, &d.shutdown_grace);
        assert_ne!(edit_window, &d.messages.edit_window);
        assert_ne!(allowed_origins, &d.guard.allowed_origins);
        assert_ne!(messages_per_second, &d.guard.messages_per_second);
        assert_ne!(message_burst, &d.guard.message_burst);
        assert_ne!(max_connections_per_ip, &d.guard.max_connections_per_ip);
        assert_ne!(
            handshakes_per_minute_per_ip,
            &d.guard.handshakes_per_minute_per_ip
        );
        assert_ne!(max_connections, &d.guard.max_connections);
        assert_ne!(header_read_timeout, &d.guard.header_read_timeout);
        assert_ne!(writes_per_second, &d.guard.writes_per_second);
        assert_ne!(max_upload_bytes, &d.files.max_upload_bytes);
        assert_ne!(
            uploads_per_minute_per_ip,
            &d.files.uploads_per_minute_per_ip
        );
        assert_ne!(quota_bytes, &d.files.quota_bytes);
        assert_ne!(guests, &d.accounts.guests);
        assert_ne!(registration, &d.accounts.registration);
        assert_ne!(guest_rooms, &d.accounts.guest_rooms);
        assert_ne!(session_days, &d.accounts.session_days);
        assert_ne!(
            registrations_per_hour_per_ip,
            &d.accounts.registrations_per_hour_per_ip
        );
        assert_ne!(operators, &d.moderation.operators);
    }

    #[test]
    fn public_urls_are_checked_and_kept_without_a_trailing_slash() {
        assert_eq!(check_url(""), Ok(String::new()));
        assert_eq!(
            check_url("https://chat.example.org/"),
            Ok("https://chat.example.org".to_owned())
        );
        assert_eq!(
            check_url("http://[::1]:8080/chat/"),
            Ok("http://[::1]:8080/chat".to_owned())
        );
        assert!(
            check_url("chat.example.org")
                .unwrap_err()
                .contains("http://")
        );
        assert!(check_url("https://").unwrap_err().contains("no host"));
        assert!(
            check_url("https://a.example/?x=1")
                .unwrap_err()
                .contains("query")
        );
        assert!(
            check_url("https://u@a.example")
                .unwrap_err()
                .contains("user")
        );
        assert!(
            check_url("https://a.example/a b")
                .unwrap_err()
                .contains("spaces")
        );
        let c = set("files.max_upload_bytes", "1048576").unwrap();
        assert_eq!(c.files.max_upload_bytes, 1 << 20);
        assert_eq!(
            set("files.max_upload_bytes", "0").unwrap_err(),
            "must be at least 1 byte, got 0"
        );
    }

    fn set(path: &str, raw: &str) -> Result<Config, String> {
        let mut config = Config::default();
        find(path)
            .unwrap()
            .slot
            .set_from_text(&mut config, OsStr::new(raw))?;
        Ok(config)
    }

    #[test]
    fn text_values_are_parsed_and_checked() {
        let c = set("websocket.ping_interval_secs", "45").unwrap();
        assert_eq!(c.heartbeat.ping_every, Duration::from_secs(45));
        let c = set("websocket.close_grace_ms", "0").unwrap();
        assert_eq!(c.heartbeat.close_grace, Duration::ZERO);
        let c = set("websocket.messages_per_second", "0.5").unwrap();
        assert!((c.guard.messages_per_second - 0.5).abs() < f64::EPSILON);
        let c = set(
            "websocket.allowed_origins",
            "https://a.example, http://b.example:8081",
        )
        .unwrap();
        assert_eq!(
            c.guard.allowed_origins,
            ["https://a.example", "http://b.example:8081"]
        );
        assert!(
            set("websocket.allowed_origins", "")
                .unwrap()
                .guard
                .allowed_origins
                .is_empty()
        );

        let err = |path, raw| set(path, raw).unwrap_err();
        assert_eq!(
            err("websocket.message_burst", "lots"),
            "expected a whole number, got \"lots\""
        );
        assert_eq!(
            err("websocket.message_burst", "0"),
            "must be at least 1, got 0"
        );
        assert_eq!(
            err("websocket.message_burst", "-3"),
            "must be at least 1, got -3"
        );
        assert_eq!(
            err("websocket.message_burst", "99999999999"),
            "must be at most 4294967295, got 99999999999"
        );
        assert_eq!(
            err("websocket.message_burst", "99999999999999999999999"),
            "99999999999999999999999 is out of range"
        );
        assert_eq!(
            err("websocket.ping_interval_secs", "0"),
            "must be at least 1 second, got 0"
        );
        assert_eq!(
            err("shutdown_grace_secs", "100000"),
            "must be at most 86400 seconds, got 100000"
        );
        assert_eq!(
            err("websocket.ping_interval_secs", "1.5"),
            "expected a whole number, got \"1.5\""
        );
        assert!(err("websocket.messages_per_second", "0").starts_with("must be a number above 0"));
        assert!(err("websocket.messages_per_second", "-1").starts_with("must be a number above 0"));
        assert!(
            err("websocket.messages_per_second", "inf").starts_with("must be a number above 0")
        );
        assert!(
            err("websocket.messages_per_second", "NaN").starts_with("must be a number above 0")
        );
        assert_eq!(
            err("websocket.messages_per_second", "fast"),
            "expected a number, got \"fast\""
        );
        assert_eq!(
            err(
                "websocket.allowed_origins",
                "https://a.example,,https://b.example"
            ),
            "an origin must not be empty"
        );
        assert_eq!(err("data_dir", ""), "must not be empty");
    }

    #[test]
    fn origins_must_be_what_a_browser_sends() {
        for good in [
            "https://chat.example.org",
            "http://localhost:8081",
            "http://127.0.0.1:8081",
            "http://[::1]:8081",
            "HTTPS://Chat.Example.org",
            "https://chat.example.org/",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        let bad = |o| check_origin(o).unwrap_err();
        assert_eq!(bad(""), "an origin must not be empty");
        assert_eq!(
            bad("chat.example.org"),
            "\"chat.example.org\" is not an origin: it must start with http:// or https://"
        );
        assert_eq!(
            bad("https://chat.example.org/app"),
            "\"https://chat.example.org/app\" is not an origin: an origin has no path (write \"https://chat.example.org\")"
        );
        assert_eq!(
            bad("https://chat.example.org:443"),
            "\"https://chat.example.org:443\": browsers send the origin without the default port (write \"https://chat.example.org\")"
        );
        assert!(bad("https://").contains("has no host"));
        assert!(bad("https://a.example:99999").contains("is not a port number"));
        assert!(bad("https://a.example:x").contains("is not a port number"));
        assert!(bad("https://user@a.example").contains("no user name"));
        assert!(bad("https://a b.example").contains("is not a host name"));
        assert!(bad("*").contains("must start with http"));
    }

    #[test]
    fn quoting_makes_toml_strings() {
        assert_eq!(quote("plain"), "\"plain\"");
        assert_eq!(quote("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
