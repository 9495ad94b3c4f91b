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

    pub(super) fn sent(&self, batch: &[Arc<Outgoing>]) {
        self.events_out.increment(batch.len() as u64);
        for event in batch {
            self.fanout.record(event.age().as_secs_f64());
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.open.decrement(1.0);
    }
}
