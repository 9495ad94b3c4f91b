//! Failed sign-ins slow down the next ones: per account and per address, so
//! that guessing one account's password from many addresses, or many
//! accounts' from one, both stall.
//!
//! Each key (an account's nickname key, an address) may fail
//! [`FREE_FAILURES`] times in [`WINDOW`]; then the next attempt waits a
//! second before it is even checked, and every further failure doubles the
//! wait, up to [`MAX_WAIT`]. A success clears the account's count (not the address's:
//! an address trying many accounts stays slowed). The table is bounded:
//! old entries are swept when it grows.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures a key may have in a window before it must wait.
pub const FREE_FAILURES: u32 = 5;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    last: Instant,
}

impl Failures {
    /// Until when the next attempt must wait.
    fn blocked_until(&self) -> Option<Instant> {
        let over = self.count.checked_sub(FREE_FAILURES)?;
        let wait = Duration::from_secs(1u64 << over.min(20)).min(MAX_WAIT);
        Some(self.last + wait)
    }
}

struct Table<K> {
    entries: HashMap<K, Failures>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }

    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let failures = self.entries.get(key)?;
        if now.duration_since(failures.first) > WINDOW + MAX_WAIT {
            return None;
        }
        let until = failures.blocked_until()?;
        (until > now).then(|| until - now)
    }

    fn fail(&mut self, key: &K, now: Instant) {
        if self.entries.len() >= SWEEP_AT {
            self.entries
                .retain(|_, f| now.duration_since(f.last) <= WINDOW + MAX_WAIT);
        }
        let entry = self.entries.entry(key.clone()).or_insert(Failures {
            count: 0,
            first: now,
            last: now,
        });
        if now.duration_since(entry.first) > WINDOW
            && entry.blocked_until().is_none_or(|u| u <= now)
        {
            *entry = Failures {
                count: 0,
                first: now,
                last: now,
            };
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }
}

/// The failed sign-ins of every account and address.
pub struct SignInThrottle {
    accounts: Mutex<Table<String>>,
    addresses: Mutex<Table<IpAddr>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            accounts: Mutex::new(Table::new()),
            addresses: Mutex::new(Table::new()),
        }
    }
}

impl SignInThrottle {
    /// How long a sign-in to `account` (a nickname key) from `address`
    /// must wait before it is checked, if it must.
    pub fn wait(&self, account: &str, address: IpAddr, now: Instant) -> Option<Duration> {
        let account = lock(&self.accounts).wait(&account.to_owned(), now);
        let address = lock(&self.addresses).wait(&address, now);
        account.max(address)
    }

    pub fn failed(&self, account: &str, address: IpAddr, now: Instant) {
        lock(&self.accounts).fail(&account.to_owned(), now);
        lock(&self.addresses).fail(&address, now);
    }

    pub fn succeeded(&self, account: &str) {
        lock(&self.accounts).clear(&account.to_owned());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_free_ones_double_the_wait() {
        let throttle = SignInThrottle::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait("ada", ip, start), None, "five are free");
            throttle.failed("ada", ip, start);
        }
        assert_eq!(
            throttle.wait("ada", ip, start),
            Some(Duration::from_secs(1))
        );
        throttle.failed("ada", ip, start);
        assert_eq!(
            throttle.wait("ada", ip, start),
            Some(Duration::from_secs(2))
        );
        throttle.failed("ada", ip, start);
        assert_eq!(
            throttle.wait("ada", ip, start),
            Some(Duration::from_secs(4))
        );
        // Another account from the same address waits as long: the address
        // failed as often.
        assert_eq!(
            throttle.wait("bob", ip, start),
            Some(Duration::from_secs(4))
        );
        let elsewhere: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            throttle.wait("ada", elsewhere, start),
            Some(Duration::from_secs(4)),
            "the account waits from any address"
        );
        assert_eq!(throttle.wait("bob", elsewhere, start), None);
        // A success clears the account, not the address.
        throttle.succeeded("ada");
        assert_eq!(throttle.wait("ada", elsewhere, start), None);
        assert_eq!(
            throttle.wait("ada", ip, start),
            Some(Duration::from_secs(4))
        );
        // Waits are capped and pass.
        for _ in 0..40 {
            throttle.failed("carol", elsewhere, start);
        }
        assert_eq!(throttle.wait("carol", elsewhere, start), Some(MAX_WAIT));
        let later = start + MAX_WAIT + Duration::from_secs(1);
        assert_eq!(throttle.wait("carol", elsewhere, later), None);
    }
}
