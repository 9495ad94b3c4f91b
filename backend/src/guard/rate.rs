//! Rates: messages per connection, and handshakes and uploads per IP
//! address, as token buckets from `governor`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// One connection's message budget: `per_second` sustained, `burst` at once.
pub struct MessageRate {
    limiter: DefaultDirectRateLimiter,
    /// Messages refused since the last one allowed.
    refused_in_a_row: u32,
    /// A client that keeps sending after this many refusals is not a person
    /// typing fast but a flood: it is disconnected.
    patience: u32,
}

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refuse this message with an error; the connection stays.
    Refuse,
    /// The client keeps flooding: close the connection (1008).
    Disconnect,
}

impl MessageRate {
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let period = if per_second.is_finite() && per_second > 0.0 {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::from_secs(1)
        };
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::direct(quota),
            refused_in_a_row: 0,
            patience: burst.get(),
        }
    }

    pub fn check(&mut self) -> Verdict {
        if self.limiter.check().is_ok() {
            self.refused_in_a_row = 0;
            return Verdict::Allow;
        }
        self.refused_in_a_row += 1;
        if self.refused_in_a_row > self.patience {
            Verdict::Disconnect
        } else {
            Verdict::Refuse
        }
    }
}

/// Events per IP address per minute (WebSocket handshakes, uploads) or per
/// hour (registrations).
pub struct IpRate {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU32,
}

/// How often the keyed limiter forgets addresses whose buckets are full again.
const FORGET_EVERY: u32 = 1024;

impl IpRate {
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            checks: AtomicU32::new(0),
        }
    }

    /// `per_hour` events per hour, all of them at once if need be.
    pub fn per_hour(per_hour: u32) -> Self {
        let per_hour = NonZeroU32::new(per_hour).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_hour(per_hour).allow_burst(per_hour);
        Self {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU32::new(0),
        }
    }

    /// Whether `ip` may do it once more now.
    pub fn allow(&self, ip: IpAddr) -> bool {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            // Bounded memory: addresses that went quiet are dropped.
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_messages_are_refused_then_the_flood_is_cut() {
        let mut rate = MessageRate::new(5.0, 20);
        for _ in 0..20 {
            assert_eq!(rate.check(), Verdict::Allow);
        }
        for _ in 0..20 {
            assert_eq!(rate.check(), Verdict::Refuse);
        }
        assert_eq!(rate.check(), Verdict::Disconnect);
    }

    #[test]
    fn handshakes_are_counted_per_address() {
        let rate = IpRate::per_minute(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(rate.allow(a));
        assert!(rate.allow(a));
        assert!(!rate.allow(a));
        assert!(rate.allow(b));
    }
}
