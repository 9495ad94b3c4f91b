//! The retransmission timeout, computed as RFC 6298 says.

use std::time::Duration;

/// The clock granularity G of RFC 6298 §2: the floor of the variance term.
/// Timers in Hubbub's drivers (tokio, the browser) tick in milliseconds.
pub const CLOCK_GRANULARITY: Duration = Duration::from_millis(1);

/// SRTT, RTTVAR and the RTO they give, with backoff.
#[derive(Debug, Clone)]
pub(super) struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    /// The timeout the samples give, before any backoff.
    base_rto: Duration,
    rto: Duration,
    min_rto: Duration,
    max_rto: Duration,
}

impl RttEstimator {
    pub(super) fn new(initial_rto: Duration, min_rto: Duration, max_rto: Duration) -> Self {
        let rto = initial_rto.max(min_rto).min(max_rto);
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            base_rto: rto,
            rto,
            min_rto,
            max_rto,
        }
    }

    /// Takes one round-trip measurement (RFC 6298 §2.2 and §2.3). Callers
    /// pass only samples from datagrams sent once (Karn's rule). A sample
    /// also ends any backoff, since the RTO is computed afresh.
    pub(super) fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                // RTTVAR first, with the old SRTT; β = 1/4, α = 1/8.
                self.rttvar = (self.rttvar.saturating_mul(3) + srtt.abs_diff(rtt)) / 4;
                self.srtt = Some((srtt.saturating_mul(7) + rtt) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(rtt);
        let rto = srtt.saturating_add(CLOCK_GRANULARITY.max(self.rttvar.saturating_mul(4)));
        self.base_rto = rto.max(self.min_rto).min(self.max_rto);
        self.rto = self.base_rto;
    }

    /// The peer acknowledged something new: the path delivers, so the
    /// timeout goes back to what the samples say.
    pub(super) fn end_backoff(&mut self) {
        self.rto = self.base_rto;
    }

    /// The timer expired: double the timeout, up to the ceiling (§5.5).
    pub(super) fn back_off(&mut self) {
        self.rto = self.rto.saturating_mul(2).min(self.max_rto);
    }

    pub(super) fn rto(&self) -> Duration {
        self.rto
    }

    pub(super) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    #[cfg(test)]
    pub(super) fn rttvar(&self) -> Duration {
        self.rttvar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn estimator() -> RttEstimator {
        RttEstimator::new(Duration::from_secs(1), ms(200), Duration::from_secs(60))
    }

    #[test]
    fn the_first_rto_is_the_initial_one() {
        let rtt = estimator();
        assert_eq!(rtt.rto(), Duration::from_secs(1));
        assert_eq!(rtt.srtt(), None);
    }

    #[test]
    fn samples_follow_rfc_6298() {
        let mut rtt = estimator();
        // First sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4·RTTVAR.
        rtt.sample(ms(100));
        assert_eq!(rtt.srtt(), Some(ms(100)));
        assert_eq!(rtt.rttvar(), ms(50));
        assert_eq!(rtt.rto(), ms(300));
        // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5;
        // RTO = 112.5 + 4·62.5 = 362.5 ms.
        rtt.sample(ms(200));
        assert_eq!(rtt.rttvar(), Duration::from_micros(62_500));
        assert_eq!(rtt.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(rtt.rto(), Duration::from_micros(362_500));
        // RTTVAR = 3/4·62.5 + 1/4·|112.5 − 112.5| = 46.875; SRTT stays 112.5;
        // RTO = 112.5 + 187.5 = 300 ms.
        rtt.sample(Duration::from_micros(112_500));
        assert_eq!(rtt.rttvar(), Duration::from_micros(46_875));
        assert_eq!(rtt.rto(), ms(300));
    }

    #[test]
    fn the_rto_is_clamped() {
        let mut rtt = estimator();
        rtt.sample(ms(10)); // 10 + 4·5 = 30 ms, below the floor
        assert_eq!(rtt.rto(), ms(200));
        let mut rtt = estimator();
        rtt.sample(Duration::from_secs(30)); // 30 + 4·15 = 90 s, above the ceiling
        assert_eq!(rtt.rto(), Duration::from_secs(60));
    }

    #[test]
    fn a_steady_rtt_is_floored_by_the_granularity() {
        let min = Duration::from_micros(1);
        let mut rtt = RttEstimator::new(Duration::from_secs(1), min, Duration::from_secs(60));
        for _ in 0..100 {
            rtt.sample(ms(100));
        }
        // RTTVAR has decayed to almost nothing; G keeps the timer above SRTT.
        assert!(rtt.rttvar() < Duration::from_micros(1));
        assert_eq!(rtt.rto(), ms(100) + CLOCK_GRANULARITY);
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling_and_a_sample_ends_it() {
        let mut rtt = estimator();
        let mut expected = Duration::from_secs(1);
        for _ in 0..5 {
            rtt.back_off();
            expected *= 2;
            assert_eq!(rtt.rto(), expected);
        }
        assert_eq!(rtt.rto(), Duration::from_secs(32));
        rtt.back_off();
        assert_eq!(rtt.rto(), Duration::from_secs(60));
        rtt.back_off();
        assert_eq!(rtt.rto(), Duration::from_secs(60));
        rtt.sample(ms(100));
        assert_eq!(rtt.rto(), ms(300));
        // Ending the backoff without a sample goes back to the last one's.
        rtt.back_off();
        rtt.back_off();
        assert_eq!(rtt.rto(), ms(1200));
        rtt.end_backoff();
        assert_eq!(rtt.rto(), ms(300));
    }
}
