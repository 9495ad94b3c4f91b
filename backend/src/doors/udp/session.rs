//! One datagram session, served by one task.
//!
//! The task owns the session's reliability state machine and waits on four
//! things at once: datagrams from the socket's receive loop, the hub's events
//! for this client (read only while the state machine has room to send them),
//! the state machine's next timer, and the connection's closer. Messages that
//! arrive whole are `hubbub.v1` JSON, handled exactly as the WebSocket door
//! handles them. A reader that falls behind catches up from the store.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::limits::MAX_FRAME_BYTES;
use shared::udp::{Closed, Config, Endpoint, MAX_DATAGRAM, SendError, SessionId};
use shared::{ErrorCode, ServerMsg};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::Leave;
use crate::config::Heartbeat;
use crate::doors::meter::Meter;
use crate::doors::recall::Recall;
use crate::doors::typed::{self, Inbound};
use crate::guard::{MessageRate, Permit, Verdict};
use crate::hub::{Door, Hub, Session};
use crate::outbox::{CloseReason, Inbox, Outgoing};
use crate::store::Store;

/// Most events taken from the hub at once.
const MAX_BATCH: usize = 64;

/// Bytes the state machine may hold unacknowledged before the task stops
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
    pub hub: Hub,
    pub heartbeat: Heartbeat,
    pub rate: MessageRate,
    pub store: Arc<dyn Store>,
}

/// How a session ended.
#[derive(Debug)]
enum End {
    /// The server ends it, telling the client why.
    Close(CloseReason),
    /// The state machine ended it: the client said goodbye, vanished, or
    /// broke the protocol.
    Endpoint(Closed),
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

pub(super) async fn serve(setup: Setup) {
    let Setup {
        id,
        seed,
        peer,
        permit: _permit,
        socket,
        mut datagrams,
        leave: _leave,
        hub,
        heartbeat,
        mut rate,
        store,
    } = setup;
    let Some((session, mut inbox)) = hub.connect(Door::Datagram).await else {
        return;
    };
    drop(hub);
    let client = session.id();
    let meter = Meter::new("udp");
    tracing::info!(door = "udp", %peer, %client, "session opened");

    let mut link = Link {
        endpoint: Endpoint::new(id, endpoint_config(&heartbeat), Instant::now(), seed),
        retransmissions: metrics::counter!(crate::metrics::UDP_RETRANSMISSIONS),
        counted: 0,
        socket,
        peer,
        pending: VecDeque::new(),
        buf: Vec::with_capacity(MAX_DATAGRAM),
    };
    let closer = session.closer().clone();
    let mut recall = Recall::new(store);
    let mut batch: Vec<Arc<Outgoing>> = Vec::new();
    let mut catching_up = false;

    let end = loop {
        link.flush().await;
        if let Some(closed) = link.endpoint.closed() {
            break End::Endpoint(closed.clone());
        }
        let has_room = link.has_room();
        if catching_up && has_room {
            // Behind: the next pages from the store (see `Recall::settled`).
            let pages = recall.missed().await;
            let wrote = !pages.is_empty();
            link.pending.extend(pages);
            if recall.settled(&session, wrote).await {
                catching_up = false;
            }
            continue;
        }
        let wake = link.endpoint.poll_timeout();
        tokio::select! {
            () = closer.closed() => break End::Close(closer.reason()),
            datagram = datagrams.recv() => {
                let Some(datagram) = datagram else {
                    break End::Close(CloseReason::Shutdown);
                };
                link.receive(&datagram, &mut datagrams);
                let mut flooding = false;
                while let Some(message) = link.endpoint.recv() {
                    meter.received();
                    match handle(&message, &session, &mut rate, &mut recall).await {
                        Handled::Replies(replies) => link.pending.extend(replies),
                        Handled::Flooding => flooding = true,
                    }
                }
                if flooding {
                    break End::Close(CloseReason::Flooding);
                }
            }
            received = inbox.recv_many(&mut batch, MAX_BATCH), if has_room && !catching_up => {
                if received == 0 {
                    // The hub dropped this client: it is stopping.
                    break End::Close(CloseReason::Shutdown);
                }
                recall.expand(&mut batch).await;
                meter.sent(&batch);
                link.pending.extend(batch.drain(..));
                catching_up = inbox.needs_catch_up();
            }
            () = sleep_until(wake), if wake.is_some() => {
                link.endpoint.handle_timeout(Instant::now());
            }
        }
    };

    // Leave the hub first: the people in the client's rooms learn it is gone
    // now, not after the goodbye below.
    session.disconnect().await;
    let reason = match &end {
        End::Close(reason) => {
            if reason.delivers_backlog() {
                deliver_backlog(&mut inbox, &mut link).await;
            }
            link.goodbye(reason.describe(), &mut datagrams, heartbeat.write_deadline)
                .await;
            reason.describe().to_owned()
        }
        End::Endpoint(Closed::Protocol(why)) => {
            // The state machine has queued a `close` saying why.
            link.flush().await;
            format!("protocol error: {why}")
        }
        End::Endpoint(Closed::ByPeer(_) | Closed::Local) => "closed by client".to_owned(),
        End::Endpoint(Closed::PeerGone) => "client gone: retransmissions unanswered".to_owned(),
        End::Endpoint(Closed::Expired) => "client gone: heartbeats missed".to_owned(),
    };
    tracing::info!(door = "udp", %peer, %client, reason, "session closed");
}

/// What a message from the client came to.
enum Handled {
    /// Answers the door gives itself (errors, history pages).
    Replies(Vec<Arc<Outgoing>>),
    /// The client ignored the rate limit too long.
    Flooding,
}

async fn handle(
    message: &[u8],
    session: &Session,
    rate: &mut MessageRate,
    recall: &mut Recall,
) -> Handled {
    let Ok(text) = std::str::from_utf8(message) else {
        return reply(ServerMsg::error(
            ErrorCode::Malformed,
            "not a hubbub.v1 message: messages are UTF-8 JSON",
        ));
    };
    match typed::decode(text) {
        Inbound::Request(request) => match rate.check() {
            Verdict::Allow => {
                recall.note(&request);
                session.request(request).await;
                Handled::Replies(Vec::new())
            }
            Verdict::Refuse => {
                metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
                reply(typed::rate_limited(&request))
            }
            Verdict::Disconnect => Handled::Flooding,
        },
        Inbound::History {
            room,
            before,
            limit,
        } => match rate.check() {
            Verdict::Allow => Handled::Replies(
                recall
                    .older(&room, before, limit)
                    .await
                    .into_iter()
                    .map(Outgoing::new)
                    .collect(),
            ),
            Verdict::Refuse => reply(ServerMsg::error(
                ErrorCode::RateLimited,
                "slow down: you are asking for history too fast",
            )),
            Verdict::Disconnect => Handled::Flooding,
        },
        Inbound::Reply(msg) => reply(msg),
    }
}

fn reply(msg: ServerMsg) -> Handled {
    Handled::Replies(vec![Outgoing::new(msg)])
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
    /// Whether the task may take more events from the hub.
    fn has_room(&self) -> bool {
        self.pending.is_empty() && self.endpoint.queued_bytes() < SEND_HIGH_WATER
    }

    /// Takes in a datagram and any others already waiting.
    fn receive(&mut self, first: &[u8], more: &mut mpsc::Receiver<Vec<u8>>) {
        let now = Instant::now();
        self.endpoint.handle_datagram(now, first);
        while let Ok(datagram) = more.try_recv() {
            self.endpoint.handle_datagram(now, &datagram);
        }
    }

    /// Moves waiting events into the state machine as far as it takes them,
    /// then sends every datagram it has ready.
    async fn flush(&mut self) {
        while let Some(event) = self.pending.front() {
            match self.endpoint.send(event.json().as_bytes()) {
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
        let now = Instant::now();
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
        let give_up = tokio::time::Instant::now() + deadline;
        let mut closing = false;
        loop {
            self.flush().await;
            if self.endpoint.closed().is_some() {
                return;
            }
            if !closing && self.pending.is_empty() {
                self.endpoint.close(Instant::now(), reason);
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
                    self.endpoint.handle_timeout(Instant::now());
                }
            }
        }
        // Out of time: say goodbye anyway, once.
        self.endpoint.abort(reason);
        self.flush().await;
    }
}

/// Queues what the hub had for the client before it left: answers to its
/// last requests (acks included) must not be lost because the session is
/// closing. The hub closes the queue after the `Disconnect`, so this ends.
async fn deliver_backlog(inbox: &mut Inbox, link: &mut Link) {
    let mut batch = Vec::new();
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        link.pending.extend(batch.drain(..));
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(wake) => tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await,
        None => std::future::pending().await,
    }
}
