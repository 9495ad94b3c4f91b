//! One side of a reliable session, as a state machine without I/O.
//!
//! Driving it (the server's session task, the terminal client, the tests):
//!
//! ```text
//! loop {
//!     wait until a datagram arrives, a message is to be sent, or poll_timeout()
//!     handle_datagram(now, bytes) for each datagram received
//!     handle_timeout(now) when poll_timeout() has passed
//!     send(message) for each message to send (Err(Full) = try again later)
//!     while let Some(message) = recv() { deliver it }
//!     while poll_transmit(now, &mut buf) { put buf on the wire }
//!     if closed().is_some() { stop }
//! }
//! ```
//!
//! Sending: a message is split into pieces of at most
//! [`MAX_CHUNK`](super::wire::MAX_CHUNK) bytes, each with its own sequence
//! number. At most `max_in_flight` sequence numbers are unacknowledged at any
//! time; the rest wait in the send queue. A datagram unacknowledged after the
//! retransmission timeout is sent again and the timeout doubles (RFC 6298
//! §5.5); one that three later datagrams overtook is sent again at once. Round
//! trips are sampled only from datagrams sent once (Karn's rule).
//!
//! Receiving: datagrams with a sequence number already delivered are
//! duplicates, acknowledged again (their ack was lost) and dropped; those more
//! than the receive window ahead are dropped; the rest are held until the
//! gap before them fills, so messages come out of `recv` whole, in order, and
//! once.
//!
//! Liveness: after `heartbeat` (± `heartbeat_jitter`) without sending, the
//! endpoint sends a ping. Nothing heard from the peer for `missed_heartbeats`
//! heartbeats ends the session as [`Closed::Expired`]; `max_retries`
//! consecutive retransmission timeouts with nothing heard in between end it as
//! [`Closed::PeerGone`].

use std::time::{Duration, Instant};

use super::wire::SessionId;

/// The endpoint's tunables. [`Config::default`] is what the server and the
/// terminal client use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most sequence numbers sent and not yet acknowledged (32).
    pub max_in_flight: u32,
    /// Retransmission timeout before the first round-trip sample (1 s).
    pub initial_rto: Duration,
    /// Floor of the retransmission timeout (200 ms, acceptable on a LAN).
    pub min_rto: Duration,
    /// Ceiling of the retransmission timeout, backoff included (60 s).
    pub max_rto: Duration,
    /// Consecutive retransmission timeouts, with nothing heard from the peer,
    /// after which the peer is gone (8).
    pub max_retries: u32,
    /// Send a ping after this long without sending anything (20 s).
    pub heartbeat: Duration,
    /// Each heartbeat interval is moved by up to this much either way (5 s),
    /// so that many sessions do not ping in step.
    pub heartbeat_jitter: Duration,
    /// Heartbeat intervals of silence from the peer after which the session
    /// has expired (3).
    pub missed_heartbeats: u32,
    /// Longest message `send` accepts and the receiver reassembles, in bytes.
    pub max_message: usize,
    /// Most bytes of messages waiting to be sent, beyond which `send` says
    /// [`SendError::Full`].
    pub max_queued_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_in_flight: 32,
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(60),
            max_retries: 8,
            heartbeat: Duration::from_secs(20),
            heartbeat_jitter: Duration::from_secs(5),
            missed_heartbeats: 3,
            max_message: crate::limits::MAX_FRAME_BYTES,
            max_queued_bytes: 1024 * 1024,
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// This side called [`Endpoint::close`] and everything sent was acknowledged
    /// (or [`Endpoint::abort`] was called).
    Local,
    /// The peer sent `close` with this reason.
    ByPeer(String),
    /// `max_retries` retransmission timeouts in a row went unanswered.
    PeerGone,
    /// Nothing was heard from the peer for `missed_heartbeats` heartbeats.
    Expired,
    /// The peer broke the protocol (for example a message longer than
    /// `max_message`); the reason is for the peer.
    Protocol(String),
}

/// Why `send` did not take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Longer than `max_message`.
    TooLarge { len: usize, max: usize },
    /// The send queue is full; try again once acknowledgements have made room.
    Full,
    /// The session is closing or closed.
    Closed,
}

/// Counters for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub datagrams_sent: u64,
    pub retransmissions: u64,
    pub datagrams_received: u64,
    /// Received again after they were delivered.
    pub duplicates: u64,
    /// Dropped: malformed, another session's, or outside the receive window.
    pub dropped: u64,
    /// Sequence numbers sent and not yet acknowledged.
    pub in_flight: u32,
    /// The smoothed round-trip time, once there is a sample.
    pub srtt: Option<Duration>,
    /// The current retransmission timeout, backoff included.
    pub rto: Duration,
}

/// One side of a session.
#[derive(Debug)]
pub struct Endpoint {
    session: SessionId,
    config: Config,
}

impl Endpoint {
    /// A session that starts at `now`. `seed` drives the heartbeat jitter.
    pub fn new(session: SessionId, config: Config, now: Instant, seed: u64) -> Self {
        let _ = (now, seed);
        Endpoint { session, config }
    }

    pub fn session(&self) -> SessionId {
        self.session
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Queues a whole message for sending.
    pub fn send(&mut self, message: &[u8]) -> Result<(), SendError> {
        let _ = message;
        unimplemented!()
    }

    /// Bytes of messages queued and not yet acknowledged, for backpressure.
    pub fn queued_bytes(&self) -> usize {
        unimplemented!()
    }

    /// Takes in one datagram addressed to this session. Anything that is not
    /// a valid datagram of this session is dropped (and counted).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let _ = (now, datagram);
        unimplemented!()
    }

    /// The next whole message received, in order.
    pub fn recv(&mut self) -> Option<Vec<u8>> {
        unimplemented!()
    }

    /// Writes the next datagram to send into `out` (cleared first) and returns
    /// true, or returns false when there is nothing to send now: new data
    /// within the in-flight limit, retransmissions that are due, a pending
    /// acknowledgement, a ping or a close.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        let _ = (now, out);
        unimplemented!()
    }

    /// When [`Endpoint::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        unimplemented!()
    }

    /// Runs the timers that are due: retransmission, heartbeat, expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        unimplemented!()
    }

    /// Ends the session gracefully: what was queued is still sent and must be
    /// acknowledged, then a `close` with `reason` goes out and the endpoint is
    /// [`Closed::Local`]. `send` refuses from now on.
    pub fn close(&mut self, now: Instant, reason: &str) {
        let _ = (now, reason);
        unimplemented!()
    }

    /// Ends the session at once, with one `close` datagram still to transmit.
    pub fn abort(&mut self, reason: &str) {
        let _ = reason;
        unimplemented!()
    }

    /// Why the session ended, once it has.
    pub fn closed(&self) -> Option<&Closed> {
        unimplemented!()
    }

    pub fn stats(&self) -> Stats {
        unimplemented!()
    }
}
