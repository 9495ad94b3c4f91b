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
//!     if is_finished() { stop }   (closed(): the session has ended)
//! }
//! ```
//!
//! Sending: a message is split into pieces of at most
//! [`MAX_CHUNK`](super::wire::MAX_CHUNK) bytes, each with its own sequence
//! number (from 1; an empty message is one empty piece). At most
//! `max_in_flight` sequence numbers are outstanding, counted from the oldest
//! one not acknowledged; the rest wait in the send queue. When the
//! retransmission timeout expires the oldest datagram unacknowledged is sent
//! again and the timeout doubles (RFC 6298 §5.5); the first ack of anything
//! new then resends everything that was outstanding at the expiry and ends
//! the backoff. A datagram is also sent again at once when three datagrams
//! transmitted after it have been acknowledged (fast retransmit by
//! transmission order, as RACK does; see `send`). Round trips are sampled
//! only from the newest datagram an ack covers, and only if it was sent once
//! (Karn's rule). The timer starts when a sequenced datagram goes out and
//! none is running, restarts whenever the cumulative ack moves, and stops
//! when nothing is outstanding.
//!
//! Receiving: every session datagram carries the cumulative ack and the
//! selective-ack bitmap of what is held beyond it, so acks ride on whatever
//! goes out; when nothing else does, an `ack` datagram carries them.
//! Datagrams with a sequence number already taken in are duplicates,
//! acknowledged again (their ack was lost) and dropped; those more than
//! [`RECV_WINDOW`] ahead are dropped; the rest are held until the gap before
//! them fills, so messages come out of `recv` whole, in order, and once.
//!
//! Liveness: after `heartbeat` (± `heartbeat_jitter`) without sending, and
//! with nothing outstanding (a retransmission already probes the peer), the
//! endpoint sends a ping. Nothing heard from the peer for
//! `missed_heartbeats` heartbeats ends the session as [`Closed::Expired`].
//! The `max_retries`-th consecutive expiry of the retransmission timer with
//! nothing heard in between ends it as [`Closed::PeerGone`]; any valid
//! datagram from the peer starts the count again.
//!
//! Closing: [`Endpoint::close`] stops taking messages, sends what is queued,
//! and once all of it is acknowledged sends a `close`; if that takes longer
//! than the expiry time (`missed_heartbeats × heartbeat`), the `close` goes
//! out anyway. [`Endpoint::abort`] and protocol errors send a `close` at
//! once. A received `close` ends the session after the messages already
//! complete (what this side had not yet sent is dropped) and is answered
//! with a `close`.
//!
//! A `close` is lost like any datagram, and a peer that never hears it would
//! hold the session until it expires: so once its session has ended, an
//! endpoint lingers (QUIC's closing state, RFC 9000 §10.2). The side that
//! said `close` first sends it again after one, two and four retransmission
//! timeouts until the peer's answer arrives; both sides answer whatever the
//! peer still sends with their `close` again; after eight retransmission
//! timeouts (at most the expiry time) the endpoint is finished whatever
//! happened. [`Endpoint::closed`] tells that the session has ended,
//! [`Endpoint::is_finished`] that its driver may let it go.
//!
//! Sequence numbers do not wrap: 2³² − 1 datagrams in one direction is beyond
//! any chat session, so a session that gets there ends as
//! [`Closed::Protocol`] rather than reuse a number.

mod jitter;
mod recv;
mod rtt;
mod send;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use self::jitter::SplitMix64;
use self::recv::{Arrival, Held, Receiver};
use self::rtt::RttEstimator;
use self::send::Sender;
use super::wire::{Body, Header, Packet, SessionId, truncate_reason};

pub use self::recv::RECV_WINDOW;
pub use self::rtt::CLOCK_GRANULARITY;

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
    /// Longest message the receiver reassembles, in bytes: what the peer may
    /// send. A longer one ends the session as [`Closed::Protocol`].
    pub max_message: usize,
    /// Longest message `send` accepts, in bytes. The two sides of a session
    /// can differ: a server sends pages of history larger than any message
    /// it accepts from a client.
    pub max_sent_message: usize,
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
            max_sent_message: crate::limits::MAX_FRAME_BYTES,
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
    /// Longer than `max_sent_message`.
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
    /// Data and pings received again (after they were taken in).
    pub duplicates: u64,
    /// Dropped: malformed, another session's, outside the receive window,
    /// acknowledging what was never sent, or arriving after the end.
    pub dropped: u64,
    /// Sequence numbers sent and not yet acknowledged.
    pub in_flight: u32,
    /// The smoothed round-trip time, once there is a sample.
    pub srtt: Option<Duration>,
    /// The current retransmission timeout, backoff included.
    pub rto: Duration,
    /// Retransmission timer expirations.
    pub timeouts: u64,
    /// Datagrams sent again because three later ones were acknowledged.
    pub fast_retransmits: u64,
    /// Round trips measured (Karn's rule leaves out retransmitted datagrams).
    pub rtt_samples: u64,
    /// Pings sent (retransmissions not counted).
    pub pings_sent: u64,
}

/// Where the session stands.
#[derive(Debug)]
enum State {
    Open,
    /// [`Endpoint::close`] was called: draining until `deadline`.
    Closing {
        reason: String,
        deadline: Option<Instant>,
    },
    Closed(Closed),
}

/// One side of a session.
#[derive(Debug)]
pub struct Endpoint {
    session: SessionId,
    config: Config,
    state: State,
    sender: Sender,
    receiver: Receiver,
    rtt: RttEstimator,
    /// When the retransmission timer expires, while it runs.
    rto_deadline: Option<Instant>,
    /// Retransmission timer expiries since the peer was last heard.
    timeouts_in_row: u32,
    /// A data or ping datagram arrived since an ack last went out.
    ack_pending: bool,
    /// The heartbeat timer expired: a ping is to be sent.
    ping_due: bool,
    /// The current heartbeat interval, jitter included.
    heartbeat_interval: Duration,
    jitter: SplitMix64,
    last_sent: Instant,
    last_heard: Instant,
    /// Once the session has ended with a `close` said or answered: how that
    /// `close` is repeated until the peer shows it arrived.
    linger: Option<Linger>,
    stats: Stats,
}

/// How many times a `close` goes out at most: the first, three repeats on
/// the timer (or answers to what the peer still sends).
const CLOSE_SENDS: u32 = 4;

/// A `close` said or answered, after the session ended.
#[derive(Debug)]
struct Linger {
    reason: String,
    /// This side said `close` first; otherwise it answers the peer's.
    first: bool,
    /// The `close` goes out at the next `poll_transmit`.
    due: bool,
    sent: u32,
    /// When the first side repeats its `close` unless answered by then.
    resend_at: Option<Instant>,
    /// When the endpoint is finished, answered or not; set by the first send.
    until: Option<Instant>,
}

impl Linger {
    fn new(reason: &str, first: bool) -> Self {
        Linger {
            reason: truncate_reason(reason).to_owned(),
            first,
            due: true,
            sent: 0,
            resend_at: None,
            until: None,
        }
    }

    /// The peer sent something more: it has not heard the `close` yet.
    fn answer(&mut self) {
        if self.sent < CLOSE_SENDS {
            self.due = true;
        }
    }
}

/// `t + d`, or `None` if that is past what `Instant` can hold (a timer that
/// never fires).
fn later(t: Instant, d: Duration) -> Option<Instant> {
    t.checked_add(d)
}

impl Endpoint {
    /// A session that starts at `now`. `seed` drives the heartbeat jitter.
    pub fn new(session: SessionId, config: Config, now: Instant, seed: u64) -> Self {
        let mut endpoint = Endpoint {
            session,
            config,
            state: State::Open,
            sender: Sender::new(),
            receiver: Receiver::new(config.max_message),
            rtt: RttEstimator::new(config.initial_rto, config.min_rto, config.max_rto),
            rto_deadline: None,
            timeouts_in_row: 0,
            ack_pending: false,
            ping_due: false,
            heartbeat_interval: config.heartbeat,
            jitter: SplitMix64::new(seed),
            last_sent: now,
            last_heard: now,
            linger: None,
            stats: Stats::default(),
        };
        endpoint.draw_heartbeat_interval();
        endpoint
    }

    pub fn session(&self) -> SessionId {
        self.session
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Queues a whole message for sending.
    pub fn send(&mut self, message: &[u8]) -> Result<(), SendError> {
        if !matches!(self.state, State::Open) {
            return Err(SendError::Closed);
        }
        if message.len() > self.config.max_sent_message {
            return Err(SendError::TooLarge {
                len: message.len(),
                max: self.config.max_sent_message,
            });
        }
        let queued = self.sender.queued_bytes() + Sender::cost_of(message);
        if queued > self.config.max_queued_bytes {
            return Err(SendError::Full);
        }
        self.sender.push(message.to_vec());
        Ok(())
    }

    /// Bytes of messages queued and not yet acknowledged, for backpressure.
    /// An empty message counts as one byte.
    pub fn queued_bytes(&self) -> usize {
        self.sender.queued_bytes()
    }

    /// Everything sent has been acknowledged and nothing waits to be sent.
    pub fn is_idle(&self) -> bool {
        self.sender.is_drained()
    }

    /// Takes in one datagram addressed to this session. Anything that is not
    /// a valid datagram of this session is dropped (and counted).
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if self.is_closed() {
            self.stats.dropped += 1;
            self.linger_on(datagram);
            return;
        }
        let Ok(Packet::Session {
            session,
            header,
            body,
        }) = Packet::decode(datagram)
        else {
            self.stats.dropped += 1;
            return;
        };
        let arrival = match body {
            Body::Data { .. } | Body::Ping => self.receiver.classify(header.seq),
            Body::Ack | Body::Close(_) => Arrival::Fresh,
        };
        if session != self.session
            || !self.sender.is_plausible_ack(header.ack)
            || arrival == Arrival::OutOfWindow
        {
            self.stats.dropped += 1;
            return;
        }

        self.stats.datagrams_received += 1;
        self.last_heard = now;
        self.timeouts_in_row = 0;
        self.on_ack(now, header);

        let held = match body {
            Body::Data { last, chunk } => Held::Data {
                last,
                chunk: chunk.to_vec(),
            },
            Body::Ping => Held::Ping,
            Body::Ack => return,
            Body::Close(reason) => {
                self.end(Closed::ByPeer(reason.to_owned()));
                self.linger = Some(Linger::new("closed", false));
                return;
            }
        };
        self.ack_pending = true;
        if arrival == Arrival::Duplicate {
            self.stats.duplicates += 1;
            return;
        }
        if self.receiver.accept(header.seq, held).is_err() {
            let max = self.config.max_message;
            self.fail(format!("message longer than {max} bytes"));
        }
    }

    fn on_ack(&mut self, now: Instant, header: Header) {
        let outcome = self.sender.on_ack(header.ack, header.sack, now);
        if let Some(rtt) = outcome.sample {
            self.rtt.sample(rtt);
            self.stats.rtt_samples += 1;
        }
        if outcome.newly_acked {
            self.rtt.end_backoff();
        }
        if outcome.advanced {
            // RFC 6298 §5.2 and §5.3.
            self.rto_deadline = if self.sender.has_in_flight() {
                later(now, self.rtt.rto())
            } else {
                None
            };
        }
        self.stats.fast_retransmits += outcome.overtaken;
    }

    /// The next whole message received, in order.
    pub fn recv(&mut self) -> Option<Vec<u8>> {
        self.receiver.recv()
    }

    /// Writes the next datagram to send into `out` (cleared first) and returns
    /// true, or returns false when there is nothing to send now: new data
    /// within the in-flight limit, retransmissions that are due, a pending
    /// acknowledgement, a ping or a close.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        out.clear();
        if self.is_closed() {
            return self.transmit_close(now, out);
        }
        let header = Header {
            seq: 0,
            ack: self.receiver.ack(),
            sack: self.receiver.sack(),
        };
        let transmission =
            self.sender
                .next_transmission(now, self.config.max_in_flight, self.ping_due);
        match transmission {
            Ok(Some(transmission)) => {
                let is_ping = matches!(transmission.body, Body::Ping);
                Packet::Session {
                    session: self.session,
                    header: Header {
                        seq: transmission.seq,
                        ..header
                    },
                    body: transmission.body,
                }
                .encode(out);
                if transmission.retransmission {
                    self.stats.retransmissions += 1;
                } else if is_ping {
                    self.stats.pings_sent += 1;
                }
                if self.rto_deadline.is_none() {
                    // RFC 6298 §5.1.
                    self.rto_deadline = later(now, self.rtt.rto());
                }
                if self.ping_due {
                    self.ping_due = false;
                    self.draw_heartbeat_interval();
                }
                self.sent(now);
                return true;
            }
            Ok(None) => {}
            Err(send::Exhausted) => {
                self.fail("sequence numbers exhausted".to_owned());
                return self.poll_transmit(now, out);
            }
        }
        if let State::Closing { reason, .. } = &mut self.state
            && self.sender.is_drained()
        {
            let reason = std::mem::take(reason);
            self.say_close(&reason, Closed::Local);
            return self.transmit_close(now, out);
        }
        if self.ack_pending {
            self.encode(out, 0, Body::Ack);
            self.sent(now);
            return true;
        }
        false
    }

    /// The lingering `close`, if it is due now.
    fn transmit_close(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        let rto = self.rtt.rto();
        let silence = self.silence_limit();
        let Some(linger) = self.linger.as_mut().filter(|linger| linger.due) else {
            return false;
        };
        linger.due = false;
        linger.sent += 1;
        linger.until = linger
            .until
            .or_else(|| later(now, rto.saturating_mul(8).min(silence)));
        // One, two, then four timeouts after the first send.
        linger.resend_at = (linger.first && linger.sent < CLOSE_SENDS)
            .then(|| later(now, rto.saturating_mul(1 << (linger.sent - 1))))
            .flatten();
        let reason = linger.reason.clone();
        self.encode(out, 0, Body::Close(&reason));
        self.stats.datagrams_sent += 1;
        true
    }

    /// A datagram after the end: the peer's answer to this side's `close`
    /// finishes the endpoint; anything else from the peer means it has not
    /// heard the `close`, which goes out again.
    fn linger_on(&mut self, datagram: &[u8]) {
        let Some(linger) = self.linger.as_mut() else {
            return;
        };
        let Ok(Packet::Session { session, body, .. }) = Packet::decode(datagram) else {
            return;
        };
        if session != self.session {
            return;
        }
        match body {
            Body::Close(_) if linger.first => self.linger = None,
            _ => linger.answer(),
        }
    }

    /// Encodes a session datagram carrying the current acknowledgement.
    fn encode(&self, out: &mut Vec<u8>, seq: u32, body: Body<'_>) {
        Packet::Session {
            session: self.session,
            header: Header {
                seq,
                ack: self.receiver.ack(),
                sack: self.receiver.sack(),
            },
            body,
        }
        .encode(out);
    }

    fn sent(&mut self, now: Instant) {
        self.stats.datagrams_sent += 1;
        self.ack_pending = false;
        self.last_sent = now;
    }

    /// When [`Endpoint::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let drain = match self.state {
            State::Open => None,
            State::Closing { deadline, .. } => deadline,
            State::Closed(_) => {
                let linger = self.linger.as_ref()?;
                return [linger.resend_at, linger.until].into_iter().flatten().min();
            }
        };
        [
            self.rto_deadline,
            self.heartbeat_deadline(),
            self.expiry(),
            drain,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn expiry(&self) -> Option<Instant> {
        later(self.last_heard, self.silence_limit())
    }

    /// How long the peer may stay silent: `missed_heartbeats × heartbeat`.
    fn silence_limit(&self) -> Duration {
        self.config
            .heartbeat
            .saturating_mul(self.config.missed_heartbeats)
    }

    fn heartbeat_deadline(&self) -> Option<Instant> {
        if self.ping_due || self.sender.has_in_flight() {
            return None;
        }
        later(self.last_sent, self.heartbeat_interval)
    }

    fn draw_heartbeat_interval(&mut self) {
        let jitter = u64::try_from(self.config.heartbeat_jitter.as_nanos()).unwrap_or(u64::MAX);
        let offset = Duration::from_nanos(self.jitter.up_to(jitter.saturating_mul(2)));
        self.heartbeat_interval = self
            .config
            .heartbeat
            .saturating_sub(self.config.heartbeat_jitter)
            .saturating_add(offset);
    }

    /// Runs the timers that are due: retransmission, heartbeat, expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            if let Some(linger) = self.linger.as_mut() {
                if linger.until.is_some_and(|until| now >= until) {
                    self.linger = None;
                } else if linger.resend_at.is_some_and(|at| now >= at) {
                    linger.resend_at = None;
                    linger.due = true;
                }
            }
            return;
        }
        if self.expiry().is_some_and(|expiry| now >= expiry) {
            self.end(Closed::Expired);
            return;
        }
        if let State::Closing {
            reason,
            deadline: Some(deadline),
        } = &mut self.state
            && now >= *deadline
        {
            let reason = std::mem::take(reason);
            self.say_close(&reason, Closed::Local);
            return;
        }
        if self.rto_deadline.is_some_and(|deadline| now >= deadline) {
            self.stats.timeouts += 1;
            self.timeouts_in_row += 1;
            if self.timeouts_in_row >= self.config.max_retries {
                self.end(Closed::PeerGone);
                return;
            }
            // RFC 6298 §5.4 to §5.6.
            self.sender.on_timeout();
            self.rtt.back_off();
            self.rto_deadline = later(now, self.rtt.rto());
        }
        if self.heartbeat_deadline().is_some_and(|ping| now >= ping) {
            self.ping_due = true;
        }
    }

    /// Ends the session gracefully: what was queued is still sent and must be
    /// acknowledged, then a `close` with `reason` goes out and the endpoint is
    /// [`Closed::Local`]. `send` refuses from now on. A reason longer than
    /// [`MAX_REASON`](super::wire::MAX_REASON) bytes is cut.
    pub fn close(&mut self, now: Instant, reason: &str) {
        if let State::Open = self.state {
            self.state = State::Closing {
                reason: truncate_reason(reason).to_owned(),
                deadline: later(now, self.silence_limit()),
            };
        }
    }

    /// Ends the session at once, with its `close` still to transmit.
    /// Does nothing once the session has ended.
    pub fn abort(&mut self, reason: &str) {
        if !self.is_closed() {
            self.say_close(reason, Closed::Local);
        }
    }

    /// The peer broke the protocol: tell it why and end.
    fn fail(&mut self, reason: String) {
        let said = reason.clone();
        self.say_close(&said, Closed::Protocol(reason));
    }

    /// Ends the session as this side's decision, saying `close` first.
    fn say_close(&mut self, reason: &str, closed: Closed) {
        self.end(closed);
        self.linger = Some(Linger::new(reason, true));
    }

    fn end(&mut self, closed: Closed) {
        self.state = State::Closed(closed);
        self.sender.clear();
        self.rto_deadline = None;
        self.ack_pending = false;
        self.ping_due = false;
    }

    fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// The session has ended and its `close` needs nothing more: the driver
    /// may drop the endpoint. Until then it keeps handing it datagrams and
    /// timeouts and sending what `poll_transmit` gives.
    pub fn is_finished(&self) -> bool {
        self.is_closed() && self.linger.is_none()
    }

    /// Why the session ended, once it has.
    pub fn closed(&self) -> Option<&Closed> {
        match &self.state {
            State::Closed(closed) => Some(closed),
            State::Open | State::Closing { .. } => None,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            in_flight: self.sender.unacked(),
            srtt: self.rtt.srtt(),
            rto: self.rtt.rto(),
            ..self.stats
        }
    }
}
