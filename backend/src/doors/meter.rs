//! One connection's metrics, for every door (the `door` label tells them apart).

use std::sync::Arc;

use crate::outbox::Outgoing;

/// This connection's metrics, with the handles looked up once.
pub(super) struct Meter {
    open: metrics::Gauge,
    frames_in: metrics::Counter,
    events_out: metrics::Counter,
    fanout: metrics::Histogram,
}

impl Meter {
    pub(super) fn new(door: &'static str) -> Self {
        use crate::metrics::{
            CONNECTIONS, CONNECTIONS_TOTAL, EVENTS_OUT, FANOUT_SECONDS, FRAMES_IN,
        };
        metrics::counter!(CONNECTIONS_TOTAL, "door" => door).increment(1);
        let open = metrics::gauge!(CONNECTIONS, "door" => door);
        open.increment(1.0);
        Self {
            open,
            frames_in: metrics::counter!(FRAMES_IN, "door" => door),
            events_out: metrics::counter!(EVENTS_OUT, "door" => door),
            fanout: metrics::histogram!(FANOUT_SECONDS),
        }
    }

    pub(super) fn received(&self) {
        self.frames_in.increment(1);
    }

    /// A batch went to the client. Its oldest event, the first, waited the
    /// longest: one sample per write says how far behind the client is, at
    /// a fraction of the cost of one per event (a sample is kept until the
    /// next upkeep, and at a million deliveries a second that adds up).
    pub(super) fn sent(&self, batch: &[Arc<Outgoing>]) {
        self.events_out.increment(batch.len() as u64);
        if let Some(oldest) = batch.first() {
            self.fanout.record(oldest.age().as_secs_f64());
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.open.decrement(1.0);
    }
}
