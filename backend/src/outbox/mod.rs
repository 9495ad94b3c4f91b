//! What the hub hands to connections: shared, encode-once events, and each
//! connection's bounded queue of them.
//!
//! The hub produces an [`Outgoing`] per event and gives every recipient a clone
//! of the same `Arc`. Each wire's encoding ([`Encoding`]) is computed at most
//! once per event, by whichever recipient's connection needs it first, and the
//! same bytes then go to every recipient on that wire. The hub itself never
//! encodes: it only pushes `Arc`s into queues, so its cost per delivery is a
//! reference-count increment and a queue push.
//!
//! Each connection's [`Outbox`] is bounded. The hub only ever uses `try_push`:
//! a full queue never blocks the hub; it marks the connection as too slow and
//! closes it (see [`CloseReason::Slow`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use shared::ServerMsg;
use tokio::time::{Instant as TokioInstant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::pace::{WritePace, Writer};

mod encoding;
mod queue;

pub use encoding::Encoding;
use encoding::Encodings;
use queue::{Receiver, Refused, Sender};

/// How many events may wait for one connection: room events may take 224
/// places (gorilla's chat example queues 256; at chat rates that is minutes
/// of traffic for a person, and a fraction of a second for a stalled
/// socket), and [`UNICAST_HEADROOM`] is kept beside them.
pub const OUTBOX_CAPACITY: usize = 224 + UNICAST_HEADROOM;
/// Places a connection's batch keeps after a write. A burst grows it to
/// dozens of events (8 bytes each), which an idle connection would otherwise
/// hold for as long as it stays; growing it again costs a reallocation, next
/// to a write's 5 µs.
pub const KEPT_BATCH: usize = 8;

/// The part of each queue that room events leave free, for what concerns the
/// client alone (its acks, errors, joins): a reader that falls behind the
/// room still hears about its own messages. The connection driver keeps at
/// most [`SENDS_IN_FLIGHT`] of its messages in the hub, so their answers
/// always fit, with room to spare for the rest.
pub const UNICAST_HEADROOM: usize = SENDS_IN_FLIGHT + 32;

/// Messages of one connection the hub may hold unanswered (an ack or an
/// error each): beyond it the connection reads nothing more until answers
/// come, which slows a sender the hub cannot keep up with, as TCP would,
/// instead of overflowing its queue with acks. 64 in flight at the commit
/// pipeline's 10 ms p99 is over 6,000 messages a second from one connection.
pub const SENDS_IN_FLIGHT: usize = 64;

/// One event on its way to one or many connections.
pub struct Outgoing {
    msg: ServerMsg,
    /// When the hub created the event, for the fan-out latency metric.
    created: Instant,
    encodings: Encodings,
}

impl Outgoing {
    pub fn new(msg: ServerMsg) -> Arc<Self> {
        Arc::new(Self {
            msg,
            created: Instant::now(),
            encodings: Encodings::default(),
        })
    }

    pub fn msg(&self) -> &ServerMsg {
        &self.msg
    }

    /// How long ago the hub created this event.
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }

    /// The event's bytes on the wire `E`, or `None` if it means nothing
    /// there. The first recipient to ask encodes (with its `context`); every
    /// later one gets the same bytes.
    pub fn encoded<E: Encoding>(&self, context: &E::Context) -> Option<&bytes::Bytes> {
        self.encodings.get::<E>(&self.msg, context)
    }
}

/// Why a connection is being closed by the server. Doors map it to their own
/// wire (a WebSocket close code, a goodbye line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The server is shutting down.
    Shutdown,
    /// The client fell too far behind the events sent to it.
    Slow,
    /// The client sent a message larger than the limit.
    TooLarge,
    /// The client sent a message in more frames than the limit.
    TooManyFragments,
    /// The client kept sending faster than the rate limit allows.
    Flooding,
    /// The client sent text that is not UTF-8.
    InvalidUtf8,
    /// The client broke the wire protocol.
    ProtocolError,
    /// Nothing was heard from the client for too long.
    Idle,
    /// A write to the client did not finish in time.
    WriteTimeout,
    /// The session the client was signed in with was ended.
    SignedOut,
}

impl CloseReason {
    /// Whether the events queued for the client are still written before
    /// the connection closes. Not for a client that is slow (the backlog is
    /// the problem) or whose socket is stuck.
    pub fn delivers_backlog(self) -> bool {
        !matches!(self, CloseReason::Slow | CloseReason::WriteTimeout)
    }

    /// A short reason for people and logs.
    pub fn describe(self) -> &'static str {
        match self {
            CloseReason::Shutdown => "server shutting down",
            CloseReason::Slow => "slow: too far behind",
            CloseReason::TooLarge => "message too large",
            CloseReason::TooManyFragments => "message sent in too many fragments",
            CloseReason::Flooding => "rate limit exceeded",
            CloseReason::InvalidUtf8 => "invalid UTF-8 in a text frame",
            CloseReason::ProtocolError => "protocol error",
            CloseReason::Idle => "idle: no sign of life",
            CloseReason::WriteTimeout => "write timed out",
            CloseReason::SignedOut => "signed out",
        }
    }
}

/// The hub's side of one connection's queue.
#[derive(Clone)]
pub struct Outbox {
    tx: Sender<Arc<Outgoing>>,
    closer: Closer,
    behind: Arc<AtomicBool>,
}

/// The result of handing an event to a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The reader is behind: the event was not queued, and the connection
    /// reads it from the store when it catches up.
    Behind,
    /// The connection is gone or is being closed; forget it.
    Gone,
}

impl Outbox {
    /// Queues an event without waiting. A full queue closes the connection as
    /// too slow, so that one stalled reader can never hold up the hub.
    pub fn try_push(&self, event: Arc<Outgoing>) -> Pushed {
        match self.tx.try_send(event) {
            Ok(()) => Pushed::Queued,
            Err(Refused::Full) => {
                metrics::counter!(crate::metrics::SLOW_DISCONNECTS).increment(1);
                self.closer.close(CloseReason::Slow);
                Pushed::Gone
            }
            Err(Refused::Closed) => Pushed::Gone,
        }
    }

    /// Queues a room event, unless the reader is behind: then it is not
    /// queued (the store has it), and a reader whose queue is nearly full is
    /// marked behind. Only unicast events use the last [`UNICAST_HEADROOM`]
    /// places.
    pub fn try_broadcast(&self, event: Arc<Outgoing>) -> Pushed {
        if self.behind.load(Ordering::Acquire) {
            return if self.tx.is_closed() {
                Pushed::Gone
            } else {
                Pushed::Behind
            };
        }
        match self
            .tx
            .try_send_below(event, OUTBOX_CAPACITY - UNICAST_HEADROOM)
        {
            Ok(()) => Pushed::Queued,
            Err(Refused::Full) => {
                self.behind.store(true, Ordering::Release);
                Pushed::Behind
            }
            Err(Refused::Closed) => Pushed::Gone,
        }
    }

    /// The reader has caught up: room events are queued again.
    pub fn set_live(&self) {
        self.behind.store(false, Ordering::Release);
    }

    pub fn is_behind(&self) -> bool {
        self.behind.load(Ordering::Acquire)
    }

    pub fn closer(&self) -> &Closer {
        &self.closer
    }
}

/// The connection's side of its queue.
pub struct Inbox {
    rx: Receiver<Arc<Outgoing>>,
    behind: Arc<AtomicBool>,
    pace: Arc<WritePace>,
    writer: Writer,
}

impl Inbox {
    /// Waits for at least one event, then takes every event already queued (up
    /// to `max`), so that the connection can write them with one flush.
    /// Returns 0 only when the hub has dropped the connection.
    pub async fn recv_many(&mut self, batch: &mut Vec<Arc<Outgoing>>, max: usize) -> usize {
        self.rx.recv_many(batch, max).await
    }

    /// Like [`Inbox::recv_many`]; for a connection that writes each batch
    /// to its socket at once (`paced`), when many connections are busy, it
    /// first waits out its share of the server's write budget (see
    /// [`crate::pace`]), so that what arrives meanwhile joins the batch.
    /// Events already in `batch` (a call cancelled while it waited) count:
    /// it then waits for no new one.
    pub async fn take(&mut self, batch: &mut Vec<Arc<Outgoing>>, max: usize, paced: bool) -> usize {
        if batch.is_empty() && self.rx.recv_many(batch, max).await == 0 {
            return 0;
        }
        if !paced {
            self.rx.take_queued(batch, max.saturating_sub(batch.len()));
            return batch.len();
        }
        let now = TokioInstant::now();
        let due = self.pace.next_write(&self.writer, now);
        if due > now {
            // Boxed: kept inline, the timer (112 bytes) would be part of
            // every connection's task, idle or not.
            Box::pin(sleep_until(due)).await;
        }
        self.rx.take_queued(batch, max.saturating_sub(batch.len()));
        self.pace.wrote(&mut self.writer, TokioInstant::now());
        batch.len()
    }

    /// Whether the hub stopped queueing room events because this reader
    /// fell behind, and everything it did queue has been taken: time to
    /// catch up from the store. (The flag is only ever set while the queue
    /// is nearly full, so the connection always wakes to drain it first.)
    pub fn needs_catch_up(&self) -> bool {
        self.behind.load(Ordering::Acquire) && self.rx.is_empty()
    }
}

/// Closes one connection with a reason, from anywhere: the hub (slow reader),
/// the connection's own reader (oversized frame) or the server (shutdown, as
/// every connection's token is a child of the server's).
#[derive(Clone)]
pub struct Closer {
    token: CancellationToken,
    reason: Arc<OnceLock<CloseReason>>,
}

impl Closer {
    pub fn new(parent: &CancellationToken) -> Self {
        Self {
            token: parent.child_token(),
            reason: Arc::new(OnceLock::new()),
        }
    }

    /// Asks the connection to close. The first reason given wins.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// Resolves once the connection should close.
    pub async fn closed(&self) {
        self.token.cancelled().await;
    }

    pub fn is_closed(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Why the connection is closing. A cancelled token without a reason of
    /// its own was cancelled by its parent: the server is shutting down.
    pub fn reason(&self) -> CloseReason {
        self.reason.get().copied().unwrap_or(CloseReason::Shutdown)
    }
}

/// Creates a connection's queue, closable under `parent`, whose writes share
/// `pace`'s budget.
pub fn outbox(parent: &CancellationToken, pace: &Arc<WritePace>) -> (Outbox, Inbox) {
    let (tx, rx) = queue::queue(OUTBOX_CAPACITY);
    let behind = Arc::new(AtomicBool::new(false));
    let outbox = Outbox {
        tx,
        closer: Closer::new(parent),
        behind: Arc::clone(&behind),
    };
    let inbox = Inbox {
        rx,
        behind,
        pace: Arc::clone(pace),
        writer: pace.writer(),
    };
    (outbox, inbox)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ErrorCode;

    fn pace() -> Arc<WritePace> {
        Arc::new(WritePace::new(crate::pace::WRITES_PER_SECOND))
    }

    #[tokio::test]
    async fn a_full_outbox_closes_the_connection_as_slow() {
        let server = CancellationToken::new();
        let (outbox, _inbox) = outbox(&server, &pace());
        let event = Outgoing::new(ServerMsg::error(ErrorCode::Malformed, "x"));
        for _ in 0..OUTBOX_CAPACITY {
            assert_eq!(outbox.try_push(event.clone()), Pushed::Queued);
        }
        assert!(!outbox.closer().is_closed());
        assert_eq!(outbox.try_push(event), Pushed::Gone);
        assert!(outbox.closer().is_closed());
        assert_eq!(outbox.closer().reason(), CloseReason::Slow);
    }

    #[tokio::test]
    async fn a_reader_falling_behind_stops_taking_room_events_but_keeps_its_own() {
        let server = CancellationToken::new();
        let (outbox, mut inbox) = outbox(&server, &pace());
        let event = Outgoing::new(ServerMsg::error(ErrorCode::Malformed, "x"));
        let room_share = OUTBOX_CAPACITY - UNICAST_HEADROOM;
        for _ in 0..room_share {
            assert_eq!(outbox.try_broadcast(event.clone()), Pushed::Queued);
        }
        assert_eq!(outbox.try_broadcast(event.clone()), Pushed::Behind);
        assert!(outbox.is_behind());
        assert!(!outbox.closer().is_closed(), "behind is not closed");
        // The client's own answers still fit.
        assert_eq!(outbox.try_push(event.clone()), Pushed::Queued);
        assert!(!inbox.needs_catch_up(), "first drain what is queued");
        let mut batch = Vec::new();
        while inbox.recv_many(&mut batch, 1000).await > 0 && !inbox.rx.is_empty() {}
        assert!(inbox.needs_catch_up());
        outbox.set_live();
        assert_eq!(outbox.try_broadcast(event), Pushed::Queued);
    }

    #[tokio::test]
    async fn server_shutdown_closes_every_connection() {
        let server = CancellationToken::new();
        let (outbox, _inbox) = outbox(&server, &pace());
        server.cancel();
        outbox.closer().closed().await;
        assert_eq!(outbox.closer().reason(), CloseReason::Shutdown);
    }
}
