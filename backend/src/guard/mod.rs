//! Limits that keep hostile or broken clients from hurting the server or the
//! people on it: connection caps per IP address and in all, the handshake rate
//! per IP address, the `Origin` check, and each connection's message rate.
//! Defaults and their reasons are in `config::Guard` and shared/HARDENING.md.

mod caps;
mod origin;
mod rate;

pub use caps::{CapRefusal, ConnectionCaps, Permit};
pub use origin::OriginPolicy;
pub use rate::{IpRate, MessageRate, Verdict};

use crate::config::Guard;

/// The guards the HTTP door shares between its connections.
pub struct Guards {
    pub caps: std::sync::Arc<ConnectionCaps>,
    pub origins: OriginPolicy,
    pub handshakes: IpRate,
    config: Guard,
}

impl Guards {
    pub fn new(config: &Guard) -> Self {
        Self {
            caps: std::sync::Arc::new(ConnectionCaps::new(
                config.max_connections_per_ip,
                config.max_connections,
            )),
            origins: OriginPolicy::new(&config.allowed_origins),
            handshakes: IpRate::per_minute(config.handshakes_per_minute_per_ip),
            config: config.clone(),
        }
    }

    /// A fresh message-rate limiter for a new connection.
    pub fn message_rate(&self) -> MessageRate {
        MessageRate::new(self.config.messages_per_second, self.config.message_burst)
    }
}
