//! How many connections one IP address, and everybody together, may hold open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Counts open connections. A [`Permit`] is one open connection; dropping it
/// gives the place back.
pub struct ConnectionCaps {
    /// A std mutex, not tokio's: it is held for a map lookup and never across
    /// an `.await`.
    open: Mutex<Open>,
    max_per_ip: u32,
    max_total: u32,
}

#[derive(Default)]
struct Open {
    per_ip: HashMap<IpAddr, u32>,
    total: u32,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapRefusal {
    /// The address already holds this many connections.
    PerIp(u32),
    /// The server already holds this many connections.
    Total(u32),
}

impl CapRefusal {
    /// The refusal's name in the metrics' `reason` label and the log.
    pub fn reason(self) -> &'static str {
        match self {
            CapRefusal::PerIp(_) => "per_ip",
            CapRefusal::Total(_) => "total",
        }
    }
}

impl ConnectionCaps {
    pub fn new(max_per_ip: u32, max_total: u32) -> Self {
        Self {
            open: Mutex::new(Open::default()),
            max_per_ip,
            max_total,
        }
    }

    /// Takes a place for a new connection from `ip`, or says why there is none.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, CapRefusal> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(CapRefusal::Total(self.max_total));
        }
        let mine = open.per_ip.entry(ip).or_insert(0);
        if *mine >= self.max_per_ip {
            return Err(CapRefusal::PerIp(self.max_per_ip));
        }
        *mine += 1;
        open.total += 1;
        Ok(Permit {
            caps: Arc::clone(self),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> u32 {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    fn release(&self, ip: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(mine) = open.per_ip.get_mut(&ip) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                open.per_ip.remove(&ip);
            }
        }
    }
}

/// One open connection's place. An HTTP connection that becomes a WebSocket
/// hands its permit on to the WebSocket's task, so the place stays taken for
/// as long as the socket is open.
pub struct Permit {
    caps: Arc<ConnectionCaps>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.caps.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_per_address_and_in_all_and_give_places_back() {
        let caps = Arc::new(ConnectionCaps::new(2, 3));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = caps.try_acquire(a).unwrap();
        let _a2 = caps.try_acquire(a).unwrap();
        assert_eq!(caps.try_acquire(a).err(), Some(CapRefusal::PerIp(2)));
        let _b1 = caps.try_acquire(b).unwrap();
        assert_eq!(caps.try_acquire(b).err(), Some(CapRefusal::Total(3)));
        drop(a1);
        assert_eq!(caps.open(), 2);
        assert!(caps.try_acquire(a).is_ok());
    }
}
