//! One datagram session's wire, for the connection driver
//! ([`crate::doors::driver`]).
//!
//! The wire owns the session's reliability state machine
//! ([`shared::udp::Endpoint`]): datagrams from the socket's receive loop go
//! in, and messages that arrive whole are `hubbub.v1` JSON, read as the
//! WebSocket door reads them. Events become messages in the state machine's
//! send queue, taken from the hub only while it has room ([`Wire::ready`]):
//! a reader that stops acknowledging falls behind and catches up from the
//! store. The state machine's timers (retransmission, heartbeat, expiry)
//! are the wire's timer. At the end, the goodbye still delivers what was
//! queued, then closes the session.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::limits::MAX_FRAME_BYTES;
use shared::udp::{Closed, Config, Endpoint, MAX_DATAGRAM, SendError, SessionId};
use shared::{ErrorCode, ServerMsg};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Leave;
use crate::config::Heartbeat;
use crate::doors::driver::{Ask, End, Wire};
use crate::doors::typed::{self, Json};
use crate::guard::Permit;
use crate::outbox::{CloseReason, Outgoing};

/// Bytes the state machine may hold unacknowledged before the wire stops
/// taking events from the hub. Beyond it the client's hub queue fills, and a
/// reader that stays behind catches up from the store like a slow WebSocket.
const SEND_HIGH_WATER: usize = 256 * 1024;

/// Largest message the server sends: a page of history can exceed the
/// largest message a client may send.
const MAX_SENT_MESSAGE: usize = 1024 * 1024;

/// What the receive loop hands a new session.
pub(super) struct Setup {
    pub id: SessionId,
    pub seed: u64,
    pub peer: SocketAddr,
    pub permit: Permit,
    pub socket: Arc<UdpSocket>,
    pub datagrams: mpsc::Receiver<Vec<u8>>,
    pub leave: Leave,
}

/// The state machine's settings on the server.
fn endpoint_config(heartbeat: &Heartbeat) -> Config {
    Config {
        heartbeat: heartbeat.datagram_every,
        heartbeat_jitter: heartbeat.datagram_every / 4,
        max_message: MAX_FRAME_BYTES,
        max_sent_message: MAX_SENT_MESSAGE,
        max_queued_bytes: SEND_HIGH_WATER + MAX_SENT_MESSAGE,
        ..Config::default()
    }
}

/// A datagram session's wire.
pub(super) struct DatagramWire {
    link: Link,
    datagrams: mpsc::Receiver<Vec<u8>>,
    /// The goodbye's deadline.
    deadline: Duration,
    _permit: Permit,
    /// The session's place in the receive loop's table, given up at the end.
    _leave: Leave,
}

impl DatagramWire {
    pub(super) fn new(setup: Setup, heartbeat: &Heartbeat) -> Self {
        let Setup {
            id,
            seed,
            peer,
            permit,
            socket,
            datagrams,
            leave,
        } = setup;
        let now = std::time::Instant::now();
        Self {
            link: Link {
                endpoint: Endpoint::new(id, endpoint_config(heartbeat), now, seed),
                retransmissions: metrics::counter!(crate::metrics::UDP_RETRANSMISSIONS),
                counted: 0,
                socket,
                peer,
                pending: VecDeque::new(),
                buf: Vec::with_capacity(MAX_DATAGRAM),
            },
            datagrams,
            deadline: heartbeat.write_deadline,
            _permit: permit,
            _leave: leave,
        }
    }
}

impl Wire for DatagramWire {
    const DOOR: &'static str = "udp";
    /// The state machine's window batches what it sends, not a write budget.
    const PACED: bool = false;
    type Input = Option<Vec<u8>>;
    type Local = Infallible;

    fn peer(&self) -> SocketAddr {
        self.link.peer
    }

    fn protocol(&self) -> &'static str {
        shared::SUBPROTOCOL
    }

    fn read(&mut self) -> impl Future<Output = Self::Input> + Send + '_ {
        self.datagrams.recv()
    }

    fn decode(&mut self, datagram: Self::Input, asks: &mut Vec<Ask<Infallible>>) {
        let Some(datagram) = datagram else {
            // The receive loop is gone: the server is stopping.
            return asks.push(Ask::End(End::Close(CloseReason::Shutdown)));
        };
        self.link.receive(&datagram, &mut self.datagrams);
        while let Some(message) = self.link.endpoint.recv() {
            asks.push(match std::str::from_utf8(&message) {
                Ok(text) => typed::decode(text),
                Err(_) => Ask::Reply(ServerMsg::error(
                    ErrorCode::Malformed,
                    "not a hubbub.v1 message: messages are UTF-8 JSON",
                )),
            });
        }
    }

    fn reply(&mut self, msg: ServerMsg) {
        self.link.pending.push_back(Outgoing::new(msg));
    }

    fn answer(&mut self, local: Infallible) {
        match local {}
    }

    async fn write(&mut self, events: &[Arc<Outgoing>]) -> Result<(), End> {
        self.link.pending.extend(events.iter().cloned());
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), End> {
        self.link.flush().await;
        match self.link.endpoint.closed() {
            None => Ok(()),
            Some(closed) => Err(end_of(closed, self.link.peer)),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.link.endpoint.poll_timeout().map(Instant::from_std)
    }

    fn timer(&mut self, _now: Instant) -> Result<(), End> {
        // The state machine keeps its own clock.
        self.link.endpoint.handle_timeout(std::time::Instant::now());
        Ok(())
    }

    fn ready(&self) -> bool {
        self.link.pending.is_empty() && self.link.endpoint.queued_bytes() < SEND_HIGH_WATER
    }

    fn write_deadline(&self) -> Duration {
        self.deadline
    }

    async fn goodbye(&mut self, end: End) {
        if let End::Close(reason) = end {
            self.link
                .goodbye(reason.describe(), &mut self.datagrams, self.deadline)
                .await;
        }
        // Whoever said `close`, it may be lost: the state machine repeats or
        // answers it until the client shows it arrived, within a few
        // retransmission timeouts.
        self.link.linger(&mut self.datagrams).await;
    }
}

/// How the state machine ended the session.
fn end_of(closed: &Closed, peer: SocketAddr) -> End {
    match closed {
        Closed::Protocol(why) => {
            // The state machine has queued a `close` saying why; the goodbye
            // sends it.
            tracing::info!(door = "udp", %peer, %why, "protocol error");
            End::Close(CloseReason::ProtocolError)
        }
        Closed::ByPeer(_) | Closed::Local => End::Left,
        Closed::PeerGone => End::Lost("client gone: retransmissions unanswered"),
        Closed::Expired => End::Lost("client gone: heartbeats missed"),
    }
}

/// The session's state machine and its way to the wire.
struct Link {
    endpoint: Endpoint,
    retransmissions: metrics::Counter,
    /// Retransmissions already added to the counter.
    counted: u64,
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    /// Events waiting for room in the state machine's send queue.
    pending: VecDeque<Arc<Outgoing>>,
    buf: Vec<u8>,
}

impl Link {
    /// Takes in a datagram and any others already waiting.
    fn receive(&mut self, first: &[u8], more: &mut mpsc::Receiver<Vec<u8>>) {
        let now = std::time::Instant::now();
        self.endpoint.handle_datagram(now, first);
        while let Ok(datagram) = more.try_recv() {
            self.endpoint.handle_datagram(now, &datagram);
        }
    }

    /// Moves waiting events into the state machine as far as it takes them,
    /// then sends every datagram it has ready.
    async fn flush(&mut self) {
        while let Some(event) = self.pending.front() {
            let json = event.encoded::<Json>(&()).map_or(&[][..], |bytes| bytes);
            match self.endpoint.send(json) {
                Ok(()) => {}
                Err(SendError::Full) => break,
                Err(SendError::TooLarge { len, max }) => {
                    tracing::warn!(
                        door = "udp",
                        len,
                        max,
                        "an event too large to send was skipped"
                    );
                }
                Err(SendError::Closed) => {
                    self.pending.clear();
                    break;
                }
            }
            self.pending.pop_front();
        }
        let now = std::time::Instant::now();
        while self.endpoint.poll_transmit(now, &mut self.buf) {
            if let Err(error) = self.socket.send_to(&self.buf, self.peer).await {
                // Lost like any datagram; the state machine sends it again.
                tracing::debug!(door = "udp", peer = %self.peer, %error, "send failed");
            }
        }
        let retransmitted = self.endpoint.stats().retransmissions;
        self.retransmissions
            .increment(retransmitted.saturating_sub(self.counted));
        self.counted = retransmitted;
    }

    /// Sends what is still waiting, then closes with `reason`, within
    /// `deadline`: the client's acknowledgements keep arriving meanwhile.
    async fn goodbye(
        &mut self,
        reason: &str,
        datagrams: &mut mpsc::Receiver<Vec<u8>>,
        deadline: Duration,
    ) {
        let give_up = Instant::now() + deadline;
        let mut closing = false;
        loop {
            self.flush().await;
            if self.endpoint.closed().is_some() {
                return;
            }
            if !closing && self.pending.is_empty() {
                self.endpoint.close(std::time::Instant::now(), reason);
                closing = true;
                continue;
            }
            let wake = self.endpoint.poll_timeout();
            tokio::select! {
                () = tokio::time::sleep_until(give_up) => break,
                datagram = datagrams.recv() => match datagram {
                    Some(datagram) => self.receive(&datagram, datagrams),
                    None => break,
                },
                () = sleep_until(wake), if wake.is_some() => {
                    self.endpoint.handle_timeout(std::time::Instant::now());
                }
            }
        }
        // Out of time: say goodbye anyway.
        self.endpoint.abort(reason);
        self.flush().await;
    }

    /// After the session ended: sends the state machine's `close` and takes
    /// in what the client still sends until the state machine is finished
    /// (its own timers bound that).
    async fn linger(&mut self, datagrams: &mut mpsc::Receiver<Vec<u8>>) {
        loop {
            self.flush().await;
            if self.endpoint.is_finished() {
                return;
            }
            // A state machine with no timer left has nothing more to say.
            let Some(wake) = self.endpoint.poll_timeout() else {
                return;
            };
            tokio::select! {
                datagram = datagrams.recv() => match datagram {
                    Some(datagram) => self.receive(&datagram, datagrams),
                    None => return,
                },
                () = tokio::time::sleep_until(Instant::from_std(wake)) => {
                    self.endpoint.handle_timeout(std::time::Instant::now());
                }
            }
        }
    }
}

async fn sleep_until(wake: Option<std::time::Instant>) {
    match wake {
        Some(wake) => tokio::time::sleep_until(Instant::from_std(wake)).await,
        None => std::future::pending().await,
    }
}
