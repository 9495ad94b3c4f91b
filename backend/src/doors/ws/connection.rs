//! One WebSocket connection, served by one task.
//!
//! The task waits on four things at once: the hub's events for this client
//! (written in batches, one flush per batch), frames from the client, one
//! timer for pings and the idle limit ([`super::liveness`]), and the
//! connection's closer (server shutdown, slow reader, or a fatal frame). Every
//! write has a deadline; silence longer than the idle limit ends the
//! connection. However it ends, the client leaves the hub.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use shared::{ErrorCode, ServerMsg};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::{self, Message};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;

use super::frames::{Frame, write_frames};
use super::handshake::Socket;
use super::liveness::{Due, Liveness};
use super::wire::Mode;
use crate::config::Heartbeat;
use crate::doors::meter::Meter;
use crate::doors::recall::Recall;
use crate::doors::typed::{self, Inbound};
use crate::guard::{MessageRate, Permit, Verdict};
use crate::hub::{Door, Hub, Request, Session};
use crate::outbox::{CloseReason, Inbox, KEPT_BATCH, Outgoing};
use crate::store::Store;

/// Most events written in one batch; a client with more queued gets several
/// batches, so that a long backlog does not delay reading its frames.
const MAX_BATCH: usize = 64;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The server closes it, telling the client why.
    Close(CloseReason),
    /// The client sent a close frame.
    PeerClosed,
    /// The socket failed or the peer vanished; nobody is left to tell.
    PeerGone,
}

/// Who is on the other end.
pub(super) struct Peer {
    pub addr: SocketAddr,
    /// The connection's place under the caps, released when the task ends.
    pub permit: Option<Arc<Permit>>,
}

/// What a connection starts with, in one box: until [`Connection::open`]
/// (boxed too, and gone once it returns) unpacks it, the task's state holds
/// a pointer rather than every part. A future keeps its arguments' places
/// for as long as it lives, even once they are moved out.
pub(super) struct Start {
    pub socket: Socket,
    pub mode: Mode,
    pub hub: Hub,
    pub peer: Peer,
    pub heartbeat: Heartbeat,
    pub rate: MessageRate,
    pub store: Arc<dyn Store>,
}

/// Serves one connection until it ends.
///
/// Every idle connection's task is as large as the largest state this future
/// can be in, so the rare paths' futures, and the writes', are boxed.
pub(super) async fn serve(start: Box<Start>) {
    let Some(mut connection) = Box::pin(Connection::open(start)).await else {
        return;
    };
    let end = connection.run().await;
    Box::pin(connection.close(end)).await;
}

/// What a connection holds while it serves. One struct rather than separate
/// locals of `serve`: the compiler packs a struct's fields, while locals
/// held across awaits leave gaps in the task's state, and a local that was
/// moved out can keep its place there.
struct Connection {
    socket: Socket,
    mode: Mode,
    session: Session,
    inbox: Inbox,
    recall: Recall,
    rate: MessageRate,
    meter: Meter,
    liveness: Liveness,
    /// Events taken from the inbox, kept between batches for its capacity.
    batch: Vec<Arc<Outgoing>>,
    /// Every write must finish within this.
    deadline: Duration,
    close_grace: Duration,
    peer: SocketAddr,
    /// The connection's place under the caps, released when it ends.
    _permit: Option<Arc<Permit>>,
}

impl Connection {
    /// Lets the client into the hub; `None` if the hub has stopped.
    async fn open(start: Box<Start>) -> Option<Self> {
        let (session, inbox) = start.hub.connect(Door::WebSocket).await?;
        let Start {
            socket,
            mode,
            hub: _,
            peer,
            heartbeat,
            rate,
            store,
        } = *start;
        let client = session.id();
        tracing::info!(door = "ws", peer = %peer.addr, %client, ?mode, "connection opened");
        if mode == Mode::Plain {
            session.request(Request::HelloGuest).await;
        }
        Some(Self {
            socket,
            mode,
            session,
            inbox,
            recall: Recall::new(store),
            rate,
            meter: Meter::new("ws"),
            liveness: Liveness::new(Instant::now(), &heartbeat),
            batch: Vec::new(),
            deadline: heartbeat.write_deadline,
            close_grace: heartbeat.close_grace,
            peer: peer.addr,
            _permit: peer.permit,
        })
    }

    /// Serves until the connection ends, and says how.
    async fn run(&mut self) -> End {
        let timer = sleep_until(self.liveness.deadline());
        tokio::pin!(timer);
        loop {
            tokio::select! {
                () = self.session.closer().closed() => {
                    return End::Close(self.session.closer().reason());
                }
                () = &mut timer => {
                    match self.liveness.due(Instant::now()) {
                        Due::Idle => return End::Close(CloseReason::Idle),
                        Due::Ping => {
                            if let Some(end) = write(&mut self.socket, vec![Frame::Ping], self.deadline).await {
                                return end;
                            }
                        }
                        Due::Nothing => {}
                    }
                    timer.as_mut().reset(self.liveness.deadline());
                }
                received = self.inbox.recv_paced(&mut self.batch, MAX_BATCH) => {
                    if received == 0 {
                        // The hub dropped this client: it is stopping.
                        return End::Close(CloseReason::Shutdown);
                    }
                    if let Some(end) = self.write_batch().await {
                        return end;
                    }
                }
                frame = self.socket.next() => {
                    self.liveness.heard(Instant::now());
                    self.meter.received();
                    // Boxed: what a frame asks for can take a few hundred
                    // bytes of state that an idle connection would carry.
                    if let Some(end) = Box::pin(self.answer(frame)).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Writes the batch taken from the inbox, then, if the client had
    /// fallen behind, what it missed, from the store.
    async fn write_batch(&mut self) -> Option<End> {
        self.recall.expand(&mut self.batch).await;
        let frames = self.mode.frames(&self.batch);
        self.meter.sent(&self.batch);
        self.batch.clear();
        self.batch.shrink_to(KEPT_BATCH);
        if let Some(end) = write(&mut self.socket, frames, self.deadline).await {
            return Some(end);
        }
        if self.inbox.needs_catch_up() {
            // Behind: catch up from the store (see `Recall::settled`).
            loop {
                let pages = Box::pin(self.recall.missed()).await;
                let wrote = !pages.is_empty();
                let frames = self.mode.frames(&pages);
                if let Some(end) = write(&mut self.socket, frames, self.deadline).await {
                    return Some(end);
                }
                if Box::pin(self.recall.settled(&self.session, wrote)).await {
                    break;
                }
            }
        }
        None
    }

    /// Does what a frame from the client calls for.
    async fn answer(&mut self, frame: Option<Result<Message, tungstenite::Error>>) -> Option<End> {
        let reply = match step(frame, self.mode, &mut self.rate, &mut self.recall) {
            Step::End(end) => return Some(end),
            Step::Nothing => None,
            Step::Reply(reply) => Some(reply),
            Step::Hub(request) => {
                self.session.request(request).await;
                None
            }
            Step::History {
                room,
                before,
                limit,
            } => {
                let pages = Box::pin(self.recall.older(&room, before, limit)).await;
                let mode = self.mode;
                let frames = pages.into_iter().filter_map(|p| mode.frame_of(p)).collect();
                write(&mut self.socket, frames, self.deadline).await?;
                None
            }
        };
        let frame = reply.and_then(|reply| self.mode.frame_of(reply))?;
        write(&mut self.socket, vec![frame], self.deadline).await
    }

    /// Leaves the hub, writes what it had queued if the reason allows, and
    /// says goodbye.
    async fn close(mut self, end: End) {
        // Leave the hub first: the people in the client's rooms learn it is
        // gone now, not after the goodbye below has waited for a client that
        // may never answer.
        let client = self.session.id();
        self.session.disconnect().await;
        if let End::Close(reason) = end
            && reason.delivers_backlog()
        {
            deliver_backlog(&mut self.socket, &mut self.inbox, self.mode, self.deadline).await;
        }
        finish(&mut self.socket, end, self.deadline, self.close_grace).await;
        let reason = match end {
            End::Close(reason) => reason.describe(),
            End::PeerClosed => "closed by client",
            End::PeerGone => "connection lost",
        };
        tracing::info!(door = "ws", peer = %self.peer, %client, reason, "connection closed");
    }
}

/// What one frame from the client calls for.
enum Step {
    /// A request for the hub.
    Hub(Request),
    /// Older messages of a room, read from the store.
    History {
        room: String,
        before: u64,
        limit: Option<u32>,
    },
    /// An answer the connection gives itself.
    Reply(ServerMsg),
    Nothing,
    End(End),
}

/// Decides what a frame calls for without awaiting anything, so that the
/// frame is gone before the connection waits on the hub or the store (held
/// across the wait, it would take room in every connection's task).
fn step(
    frame: Option<Result<Message, tungstenite::Error>>,
    mode: Mode,
    rate: &mut MessageRate,
    recall: &mut Recall,
) -> Step {
    let text = match frame {
        None => return Step::End(End::PeerGone),
        Some(Err(error)) => return Step::End(classify(error)),
        Some(Ok(Message::Close(_))) => return Step::End(End::PeerClosed),
        Some(Ok(Message::Binary(_))) => return Step::Reply(Mode::binary_refusal()),
        // tungstenite answers pings by itself; any frame proves life.
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return Step::Nothing,
        Some(Ok(Message::Text(text))) => text,
    };
    match mode.decode(&text) {
        Inbound::Request(request) => match rate.check() {
            Verdict::Allow => {
                recall.note(&request);
                Step::Hub(request)
            }
            Verdict::Refuse => {
                metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
                Step::Reply(typed::rate_limited(&request))
            }
            Verdict::Disconnect => Step::End(End::Close(CloseReason::Flooding)),
        },
        Inbound::History {
            room,
            before,
            limit,
        } => match rate.check() {
            Verdict::Allow => Step::History {
                room,
                before,
                limit,
            },
            Verdict::Refuse => Step::Reply(ServerMsg::error(
                ErrorCode::RateLimited,
                "slow down: you are asking for history too fast",
            )),
            Verdict::Disconnect => Step::End(End::Close(CloseReason::Flooding)),
        },
        Inbound::Reply(reply) => Step::Reply(reply),
    }
}

/// Writes frames under the write deadline. Returns how the connection ends
/// if the write did not succeed.
///
/// Boxed: inline, a write's future (a few hundred bytes with its deadline)
/// would be part of every connection's task, idle or not; one allocation is
/// little next to the write itself.
fn write(
    socket: &mut Socket,
    frames: Vec<Frame>,
    deadline: Duration,
) -> Pin<Box<dyn Future<Output = Option<End>> + Send + '_>> {
    Box::pin(async move {
        if frames.is_empty() {
            return None;
        }
        let written = timeout(deadline, async {
            // Whatever tungstenite has queued (an answer to a ping) goes
            // first, whole, so that the frames below do not cut into it.
            socket.flush().await.map_err(std::io::Error::other)?;
            write_frames(socket.get_mut(), &frames).await
        })
        .await;
        match written {
            Ok(Ok(())) => None,
            Ok(Err(_)) => Some(End::PeerGone),
            Err(_elapsed) => Some(End::Close(CloseReason::WriteTimeout)),
        }
    })
}

/// Writes what the hub queued for the client before it left: answers to its
/// last requests (acks included) must not be lost because the connection is
/// closing. The hub handled those requests before the `Disconnect` that
/// followed them, and closes the queue after it, so this ends.
async fn deliver_backlog(socket: &mut Socket, inbox: &mut Inbox, mode: Mode, deadline: Duration) {
    let mut batch = Vec::new();
    let _ = timeout(deadline, async {
        while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let frames = mode.frames(&batch);
            batch.clear();
            if write(socket, frames, deadline).await.is_some() {
                break;
            }
        }
    })
    .await;
}

/// Says goodbye as the protocol asks: a close frame with a code and a reason,
/// then a short wait for the client's answer so that the frame is not lost to
/// a reset connection.
async fn finish(socket: &mut Socket, end: End, deadline: Duration, close_grace: Duration) {
    let reason = match end {
        End::Close(CloseReason::WriteTimeout) | End::PeerGone => return,
        End::PeerClosed => {
            // tungstenite has queued the answer to the client's close frame.
            let _ = timeout(deadline, socket.flush()).await;
            return;
        }
        End::Close(reason) => reason,
    };
    let frame = CloseFrame {
        code: close_code_of(reason),
        reason: reason.describe().into(),
    };
    let sent = timeout(deadline, socket.send(Message::Close(Some(frame)))).await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    // Read until the client's close frame or the end of the stream. Anything
    // else it still sends is discarded.
    let _ = timeout(close_grace, async {
        while let Some(Ok(frame)) = socket.next().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

fn close_code_of(reason: CloseReason) -> CloseCode {
    match reason {
        CloseReason::Shutdown => CloseCode::Away,
        CloseReason::Slow | CloseReason::Flooding => CloseCode::Policy,
        CloseReason::TooLarge => CloseCode::Size,
        CloseReason::InvalidUtf8 => CloseCode::Invalid,
        CloseReason::ProtocolError => CloseCode::Protocol,
        CloseReason::Idle | CloseReason::WriteTimeout => CloseCode::Normal,
    }
}

/// Tells a broken connection from a client that broke the rules.
fn classify(error: tungstenite::Error) -> End {
    match error {
        tungstenite::Error::Capacity(_) => End::Close(CloseReason::TooLarge),
        tungstenite::Error::Utf8(_) => End::Close(CloseReason::InvalidUtf8),
        tungstenite::Error::Protocol(_) => End::Close(CloseReason::ProtocolError),
        _ => End::PeerGone,
    }
}
