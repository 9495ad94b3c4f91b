//! How long to wait before reconnecting: exponential backoff with jitter,
//! capped. Kept apart from the socket code so the arithmetic is tested
//! natively; the caller supplies the randomness.

/// The first wait, before jitter.
const BASE_MS: u32 = 500;
/// No wait is longer than this.
pub const CAP_MS: u32 = 30_000;

/// Counts failed attempts since the last success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// Failures since the last [`Backoff::reset`].
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Records a failure and returns the wait before the next attempt.
    /// `random` is uniform in `[0, 1)`. The wait is between half and all of
    /// the exponential step: never zero, so a crashed server is not hammered,
    /// and spread out, so clients dropped together do not return together.
    pub fn next_delay_ms(&mut self, random: f64) -> u32 {
        let step = BASE_MS
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(CAP_MS);
        self.attempt = self.attempt.saturating_add(1);
        let share = 0.5 + 0.5 * random.clamp(0.0, 1.0);
        (f64::from(step) * share) as u32
    }

    /// Called when the server has welcomed the client: the connection is
    /// healthy again, so the next loss starts from a short wait.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_until_the_cap() {
        let mut backoff = Backoff::default();
        let waits: Vec<u32> = (0..10).map(|_| backoff.next_delay_ms(1.0)).collect();
        assert_eq!(
            waits,
            [
                500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000
            ]
        );
        assert_eq!(backoff.attempt(), 10);
    }

    #[test]
    fn jitter_keeps_at_least_half_the_step() {
        let mut low = Backoff::default();
        let mut high = Backoff::default();
        for _ in 0..20 {
            let (l, h) = (low.next_delay_ms(0.0), high.next_delay_ms(0.999));
            assert!(l > 0 && l <= h && h <= CAP_MS);
            assert!(l * 2 >= h - 1);
        }
        // Out-of-range randomness is clamped rather than trusted.
        assert_eq!(Backoff::default().next_delay_ms(-3.0), 250);
        assert_eq!(Backoff::default().next_delay_ms(7.0), 500);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut backoff = Backoff::default();
        for _ in 0..1000 {
            assert!(backoff.next_delay_ms(0.5) <= CAP_MS);
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::default();
        backoff.next_delay_ms(1.0);
        backoff.next_delay_ms(1.0);
        backoff.reset();
        assert_eq!(backoff.attempt(), 0);
        assert_eq!(backoff.next_delay_ms(1.0), 500);
    }
}
