//! What the measured clients received: deliveries counted per message id,
//! latencies in a histogram, acks, refusals and disconnects.
//!
//! The generator runs on one thread, so the tally is shared by reference
//! counting and cells, without atomics or locks.

use std::cell::{Cell, RefCell};

use hdrhistogram::Histogram;

use crate::client::Wire;
use crate::payload::{self, Stamp};

/// Latencies from one microsecond to an hour, to three significant digits.
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that the crate accepts.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| unreachable!())
}

#[derive(Debug)]
pub struct Tally {
    /// Deliveries per message id, to measured clients.
    counts: Vec<Cell<u32>>,
    /// Messages each sender sent; sender `s` sends ids `s * ids_per_sender`
    /// onwards.
    sent: Vec<Cell<u64>>,
    ids_per_sender: u64,
    pub delivered: Cell<u64>,
    /// Deliveries of an id more often than it has receivers.
    pub duplicates: Cell<u64>,
    /// Warm-up messages received: setup is over once every client has its
    /// room's.
    pub warmed: Cell<u64>,
    pub last_delivery_us: Cell<u64>,
    pub latency: RefCell<Histogram<u64>>,
    pub acks: Cell<u64>,
    pub refusals: Cell<u64>,
    /// Measured connections that ended before the run did.
    pub disconnects: Cell<u64>,
    /// Set when the run ends, after which a closing connection is expected.
    pub stopping: Cell<bool>,
    /// How late the most delayed message left the generator, against its
    /// schedule: a large value means the generator could not keep pace.
    pub max_send_lag_us: Cell<u64>,
    receivers_per_message: u32,
}

/// Deliveries a run expected and how many of them did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loss {
    pub sent: u64,
    pub expected: u64,
    pub lost: u64,
}

impl Tally {
    pub fn new(senders: usize, ids_per_sender: u64, receivers_per_message: u32) -> Tally {
        let ids = usize::try_from(ids_per_sender).unwrap_or(usize::MAX) * senders;
        Tally {
            counts: (0..ids).map(|_| Cell::new(0)).collect(),
            sent: (0..senders).map(|_| Cell::new(0)).collect(),
            ids_per_sender,
            delivered: Cell::new(0),
            duplicates: Cell::new(0),
            warmed: Cell::new(0),
            last_delivery_us: Cell::new(0),
            latency: RefCell::new(histogram()),
            acks: Cell::new(0),
            refusals: Cell::new(0),
            disconnects: Cell::new(0),
            stopping: Cell::new(false),
            max_send_lag_us: Cell::new(0),
            receivers_per_message,
        }
    }

    /// The id of sender `sender`'s message number `seq`.
    pub fn id(&self, sender: usize, seq: u64) -> u64 {
        sender as u64 * self.ids_per_sender + seq
    }

    /// Sender `sender` has sent `count` messages; the last one left
    /// `lag_us` after it was due.
    pub fn note_sent(&self, sender: usize, count: u64, lag_us: u64) {
        if let Some(sent) = self.sent.get(sender) {
            sent.set(count);
        }
        if lag_us > self.max_send_lag_us.get() {
            self.max_send_lag_us.set(lag_us);
        }
    }

    pub fn sent(&self) -> u64 {
        self.sent.iter().map(Cell::get).sum()
    }

    pub fn expected(&self) -> u64 {
        self.sent() * u64::from(self.receivers_per_message)
    }

    /// Expected deliveries that did not arrive, counted per message.
    pub fn loss(&self) -> Loss {
        let mut lost = 0;
        for (sender, sent) in self.sent.iter().enumerate() {
            let first = self.id(sender, 0);
            for id in first..first + sent.get() {
                let got = usize::try_from(id)
                    .ok()
                    .and_then(|id| self.counts.get(id))
                    .map_or(0, Cell::get);
                lost += u64::from(self.receivers_per_message.saturating_sub(got));
            }
        }
        Loss {
            sent: self.sent(),
            expected: self.expected(),
            lost,
        }
    }

    /// Counts what one frame from the server says.
    pub fn frame(&self, wire: Wire, frame: &str) {
        match wire {
            Wire::Typed | Wire::TypedV1 => {
                for message in shared::frame_messages(frame) {
                    self.typed_message(message);
                }
            }
            Wire::Plain => {
                for line in frame.split('\n') {
                    if line.starts_with("! ") {
                        self.refusals.set(self.refusals.get() + 1);
                    } else {
                        self.stamp(payload::find(line));
                    }
                }
            }
        }
    }

    fn typed_message(&self, message: &str) {
        if payload::is_typed_message(message) {
            self.stamp(payload::find(message));
        } else if payload::is_typed_history(message) {
            // A reader that fell behind gets what it missed from the
            // store: late, but delivered.
            for stamp in payload::find_all(message) {
                self.stamp(Some(stamp));
            }
        } else if message.starts_with(r#"{"type":"ack""#)
            && !message.starts_with(r#"{"type":"ack","id":"warm""#)
        {
            self.acks.set(self.acks.get() + 1);
        } else if message.starts_with(r#"{"type":"error""#) {
            self.refusals.set(self.refusals.get() + 1);
        }
    }

    fn stamp(&self, stamp: Option<Stamp>) {
        match stamp {
            Some(Stamp::Measured { id, sent_us }) => {
                let now = payload::now_us();
                let Some(count) = usize::try_from(id).ok().and_then(|id| self.counts.get(id))
                else {
                    return;
                };
                count.set(count.get() + 1);
                if count.get() > self.receivers_per_message {
                    self.duplicates.set(self.duplicates.get() + 1);
                    return;
                }
                self.delivered.set(self.delivered.get() + 1);
                self.last_delivery_us.set(now);
                let _ = self
                    .latency
                    .borrow_mut()
                    .record(now.saturating_sub(sent_us).max(1));
            }
            Some(Stamp::WarmUp) => self.warmed.set(self.warmed.get() + 1),
            None => {}
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub samples: u64,
}

impl Percentiles {
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
            samples: histogram.len(),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            self.p50_ms, self.p99_ms, self.p999_ms, self.max_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_counted_per_message() {
        let tally = Tally::new(2, 10, 3);
        tally.note_sent(0, 2, 0);
        tally.note_sent(1, 1, 0);
        let typed = |id: u64| {
            let msg = shared::ServerMsg::Message(shared::ChatMessage {
                room: "lobby".into(),
                seq: 1,
                ts: 0,
                nick: "u0".into(),
                text: payload::text(id, payload::now_us()),
                kind: shared::MessageKind::Text,
                attachment: None,
                target: None,
                deleted: false,
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
            });
            msg.to_json()
        };
        for _ in 0..3 {
            tally.frame(Wire::Typed, &typed(0));
        }
        // Message 1 reached one of three; message 10 (sender 1's first)
        // all three, and one of them twice.
        tally.frame(Wire::Typed, &typed(1));
        tally.frame(Wire::Plain, &format!("u1: {}", payload::text(10, 0)));
        tally.frame(Wire::Plain, &format!("u1: {}", payload::text(10, 0)));
        tally.frame(Wire::Plain, &format!("u1: {}", payload::text(10, 0)));
        tally.frame(Wire::Plain, &format!("u1: {}", payload::text(10, 0)));
        assert_eq!(tally.duplicates.get(), 1);
        assert_eq!(
            tally.loss(),
            Loss {
                sent: 3,
                expected: 9,
                lost: 2
            }
        );
        assert_eq!(tally.delivered.get(), 7);
    }
}
