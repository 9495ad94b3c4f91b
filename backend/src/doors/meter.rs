//! One connection's metrics, for every door (the `door` label tells them apart).

use std::sync::{Arc, Mutex, PoisonError};

use crate::outbox::Outgoing;

/// This connection's metrics, with the handles looked up once.
pub(super) struct Meter {
    open: metrics::Gauge,
    frames_in: metrics::Counter,
    events_out: metrics::Counter,
    fanout: metrics::Histogram,
}

/// One door's metric handles. Looking a labelled metric up allocates, and
/// the allocation lives as long as the handle (about 32 bytes a handle, for
/// the whole of every connection): so each door's are looked up once, and a
/// connection clones them (a reference count each).
#[derive(Clone)]
struct DoorMetrics {
    opened: metrics::Counter,
    open: metrics::Gauge,
    frames_in: metrics::Counter,
    events_out: metrics::Counter,
    fanout: metrics::Histogram,
}

impl DoorMetrics {
    fn of(door: &'static str) -> Self {
        static DOORS: Mutex<Vec<(&'static str, DoorMetrics)>> = Mutex::new(Vec::new());
        let mut doors = DOORS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, handles)) = doors.iter().find(|(name, _)| *name == door) {
            return handles.clone();
        }
        use crate::metrics::{
            CONNECTIONS, CONNECTIONS_TOTAL, EVENTS_OUT, FANOUT_SECONDS, FRAMES_IN,
        };
        let handles = Self {
            opened: metrics::counter!(CONNECTIONS_TOTAL, "door" => door),
            open: metrics::gauge!(CONNECTIONS, "door" => door),
            frames_in: metrics::counter!(FRAMES_IN, "door" => door),
            events_out: metrics::counter!(EVENTS_OUT, "door" => door),
            fanout: metrics::histogram!(FANOUT_SECONDS),
        };
        doors.push((door, handles.clone()));
        handles
    }
}

impl Meter {
    pub(super) fn new(door: &'static str) -> Self {
        let DoorMetrics {
            opened,
            open,
            frames_in,
            events_out,
            fanout,
        } = DoorMetrics::of(door);
        opened.increment(1);
        open.increment(1.0);
        Self {
            open,
            frames_in,
            events_out,
            fanout,
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
