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
use crate::hub::{Door, Hub, Request};
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

/// What a connection starts with. It arrives in one box, so that the task
/// keeps what it still uses rather than every argument for as long as it
/// lives: arguments stay in a future's state even after they are moved out,
/// and the hub handle and the store are moved out at once.
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
    // The parts are taken out of `start` only once the hub has let the client
    // in: a part moved out before an await would keep a place in the task's
    // state beside its new owner for as long as the connection lasts.
    let Some((session, mut inbox)) = Box::pin(start.hub.connect(Door::WebSocket)).await else {
        return;
    };
    let deadline = start.heartbeat.write_deadline;
    let close_grace = start.heartbeat.close_grace;
    let mut liveness = Liveness::new(Instant::now(), &start.heartbeat);
    let Start {
        mut socket,
        mode,
        hub,
        peer: Peer {
            addr: peer,
            permit: _permit,
        },
        heartbeat: _,
        mut rate,
        store,
    } = unbox(start);
    drop(hub);
    let mut recall = Recall::new(store);
    let client = session.id();
    let meter = Meter::new("ws");
    tracing::info!(door = "ws", %peer, %client, ?mode, "connection opened");
    if mode == Mode::Plain {
        session.request(Request::HelloGuest).await;
    }

    let closer = session.closer().clone();
    let mut batch: Vec<Arc<Outgoing>> = Vec::new();
    let timer = sleep_until(liveness.deadline());
    tokio::pin!(timer);

    let end = 'serving: loop {
        tokio::select! {
            () = closer.closed() => break End::Close(closer.reason()),
            () = &mut timer => {
                match liveness.due(Instant::now()) {
                    Due::Idle => break End::Close(CloseReason::Idle),
                    Due::Ping => {
                        if let Some(end) = write(&mut socket, vec![Frame::Ping], deadline).await {
                            break end;
                        }
                    }
                    Due::Nothing => {}
                }
                timer.as_mut().reset(liveness.deadline());
            }
            received = inbox.recv_paced(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    // The hub dropped this client: it is stopping.
                    break End::Close(CloseReason::Shutdown);
                }
                recall.expand(&mut batch).await;
                let frames = mode.frames(&batch);
                meter.sent(&batch);
                batch.clear();
                batch.shrink_to(KEPT_BATCH);
                if let Some(end) = write(&mut socket, frames, deadline).await {
                    break end;
                }
                if inbox.needs_catch_up()
                {
                    // Behind: catch up from the store (see `Recall::settled`).
                    loop {
                        let pages = Box::pin(recall.missed()).await;
                        let wrote = !pages.is_empty();
                        if let Some(end) = write(&mut socket, mode.frames(&pages), deadline).await {
                            break 'serving end;
                        }
                        if Box::pin(recall.settled(&session, wrote)).await {
                            break;
                        }
                    }
                }
            }
            frame = socket.next() => {
                liveness.heard(Instant::now());
                meter.received();
                let reply = match step(frame, mode, &mut rate, &mut recall) {
                    Step::End(end) => break end,
                    Step::Nothing => None,
                    Step::Reply(reply) => Some(reply),
                    Step::Hub(request) => {
                        session.request(request).await;
                        None
                    }
                    Step::History { room, before, limit } => {
                        let pages = Box::pin(recall.older(&room, before, limit)).await;
                        let frames = pages.into_iter().filter_map(|p| mode.frame_of(p)).collect();
                        if let Some(end) = write(&mut socket, frames, deadline).await {
                            break end;
                        }
                        None
                    }
                };
                if let Some(frame) = reply.and_then(|reply| mode.frame_of(reply))
                    && let Some(end) = write(&mut socket, vec![frame], deadline).await
                {
                    break end;
                }
            }
        }
    };

    // Leave the hub first: the people in the client's rooms learn it is gone
    // now, not after the goodbye below has waited for a client that may
    // never answer.
    session.disconnect().await;
    if let End::Close(reason) = end
        && reason.delivers_backlog()
    {
        Box::pin(deliver_backlog(&mut socket, &mut inbox, mode, deadline)).await;
    }
    Box::pin(finish(&mut socket, end, deadline, close_grace)).await;
    let reason = match end {
        End::Close(reason) => reason.describe(),
        End::PeerClosed => "closed by client",
        End::PeerGone => "connection lost",
    };
    tracing::info!(door = "ws", %peer, %client, reason, "connection closed");
}

/// Moves a start out of its box and frees the box now: moved out with `*`,
/// the box would only be freed when the connection ends.
fn unbox(start: Box<Start>) -> Start {
    *start
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
