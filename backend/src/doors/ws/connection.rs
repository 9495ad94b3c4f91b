//! One WebSocket connection, served by one task.
//!
//! The task waits on four things at once: the hub's events for this client
//! (written in batches, one flush per batch), frames from the client, the ping
//! timer, and the connection's closer (server shutdown, slow reader, or a
//! fatal frame). Every write has a deadline; silence longer than the idle limit
//! ends the connection. However it ends, the client leaves the hub.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::SinkExt;
use shared::{ErrorCode, ServerMsg};
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep, timeout};
use tokio_tungstenite::tungstenite;

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

/// Bytes fed to the socket between flushes within one batch.
const FLUSH_EVERY: usize = 64 * 1024;

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

/// Serves one connection until it ends.
///
/// A plain function returning an `async move` block rather than an `async
/// fn`: an `async fn` keeps its arguments in the task twice (rust-lang/rust
/// #62958), which cost every connection 640 bytes, idle or not.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store the arguments twice"
)]
pub(super) fn serve(
    mut socket: WebSocket,
    mode: Mode,
    hub: Hub,
    peer: Peer,
    heartbeat: Heartbeat,
    mut rate: MessageRate,
    store: Arc<dyn Store>,
) -> impl Future<Output = ()> + Send {
    async move {
        // The rare paths' futures are boxed: kept inline, the largest of them
        // would size every connection's task, idle or not.
        let Some((session, mut inbox)) = Box::pin(hub.connect(Door::WebSocket)).await else {
            return;
        };
        drop(hub);
        let Peer {
            addr: peer,
            permit: _permit,
        } = peer;
        let client = session.id();
        let meter = Meter::new("ws");
        tracing::info!(door = "ws", %peer, %client, ?mode, "connection opened");
        if mode == Mode::Plain {
            session.request(Request::HelloGuest).await;
        }

        let closer = session.closer().clone();
        let mut recall = Recall::new(store);
        let mut batch: Vec<Arc<Outgoing>> = Vec::new();
        let mut ping = interval_at(Instant::now() + heartbeat.ping_every, heartbeat.ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let idle = sleep(heartbeat.idle_after);
        tokio::pin!(idle);

        let end = 'serving: loop {
            tokio::select! {
                () = closer.closed() => break End::Close(closer.reason()),
                () = &mut idle => break End::Close(CloseReason::Idle),
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
                    if let Some(end) = write(&mut socket, frames, heartbeat).await {
                        break end;
                    }
                    if inbox.needs_catch_up()
                    {
                        // Behind: catch up from the store (see `Recall::settled`).
                        loop {
                            let pages = Box::pin(recall.missed()).await;
                            let wrote = !pages.is_empty();
                            if let Some(end) = write(&mut socket, mode.frames(&pages), heartbeat).await {
                                break 'serving end;
                            }
                            if Box::pin(recall.settled(&session, wrote)).await {
                                break;
                            }
                        }
                    }
                }
                frame = socket.recv() => {
                    idle.as_mut().reset(Instant::now() + heartbeat.idle_after);
                    meter.received();
                    let reply = match frame {
                        None => break End::PeerGone,
                        Some(Err(error)) => break classify(error),
                        Some(Ok(Message::Close(_))) => break End::PeerClosed,
                        Some(Ok(Message::Text(text))) => match mode.decode(&text) {
                            Inbound::Request(request) => match rate.check() {
                                Verdict::Allow => {
                                    recall.note(&request);
                                    session.request(request).await;
                                    None
                                }
                                Verdict::Refuse => {
                                    metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
                                    Some(typed::rate_limited(&request))
                                }
                                Verdict::Disconnect => break End::Close(CloseReason::Flooding),
                            },
                            Inbound::History { room, before, limit } => match rate.check() {
                                Verdict::Allow => {
                                    let pages = Box::pin(recall.older(&room, before, limit)).await;
                                    let frames = pages.into_iter().filter_map(|p| mode.frame_of(p)).collect();
                                    if let Some(end) = write(&mut socket, frames, heartbeat).await {
                                        break end;
                                    }
                                    None
                                }
                                Verdict::Refuse => Some(ServerMsg::error(
                                    ErrorCode::RateLimited,
                                    "slow down: you are asking for history too fast",
                                )),
                                Verdict::Disconnect => break End::Close(CloseReason::Flooding),
                            },
                            Inbound::Reply(reply) => Some(reply),
                        },
                        Some(Ok(Message::Binary(_))) => Some(Mode::binary_refusal()),
                        // tungstenite answers pings by itself; any frame proves life.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    };
                    if let Some(frame) = reply.and_then(|reply| mode.frame_of(reply))
                        && let Some(end) = write(&mut socket, vec![frame], heartbeat).await
                    {
                        break end;
                    }
                }
                _ = ping.tick() => {
                    if let Some(end) = write(&mut socket, vec![Message::Ping(Default::default())], heartbeat).await {
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
            Box::pin(deliver_backlog(&mut socket, &mut inbox, mode, heartbeat)).await;
        }
        Box::pin(finish(&mut socket, end, heartbeat)).await;
        let reason = match end {
            End::Close(reason) => reason.describe(),
            End::PeerClosed => "closed by client",
            End::PeerGone => "connection lost",
        };
        tracing::info!(door = "ws", %peer, %client, reason, "connection closed");
    }
}

/// Writes frames with one flush under the write deadline. Returns how the
/// connection ends if the write did not succeed.
async fn write(socket: &mut WebSocket, frames: Vec<Message>, heartbeat: Heartbeat) -> Option<End> {
    if frames.is_empty() {
        return None;
    }
    let written = timeout(heartbeat.write_deadline, async {
        let mut unflushed = 0;
        for frame in frames {
            unflushed += frame_len(&frame);
            socket.feed(frame).await?;
            // A long batch goes out in slices, each waiting for the socket,
            // so the write buffer stays bounded for a slow reader.
            if unflushed >= FLUSH_EVERY {
                socket.flush().await?;
                unflushed = 0;
            }
        }
        socket.flush().await
    })
    .await;
    match written {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(End::PeerGone),
        Err(_elapsed) => Some(End::Close(CloseReason::WriteTimeout)),
    }
}

/// Writes what the hub queued for the client before it left: answers to its
/// last requests (acks included) must not be lost because the connection is
/// closing. The hub handled those requests before the `Disconnect` that
/// followed them, and closes the queue after it, so this ends.
async fn deliver_backlog(
    socket: &mut WebSocket,
    inbox: &mut Inbox,
    mode: Mode,
    heartbeat: Heartbeat,
) {
    let mut batch = Vec::new();
    let _ = timeout(heartbeat.write_deadline, async {
        while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let frames = mode.frames(&batch);
            batch.clear();
            if write(socket, frames, heartbeat).await.is_some() {
                break;
            }
        }
    })
    .await;
}

fn frame_len(frame: &Message) -> usize {
    match frame {
        Message::Text(text) => text.len(),
        Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
        Message::Close(_) => 0,
    }
}

/// Says goodbye as the protocol asks: a close frame with a code and a reason,
/// then a short wait for the client's answer so that the frame is not lost to
/// a reset connection.
async fn finish(socket: &mut WebSocket, end: End, heartbeat: Heartbeat) {
    let reason = match end {
        End::Close(CloseReason::WriteTimeout) | End::PeerGone => return,
        End::PeerClosed => {
            // tungstenite has queued the answer to the client's close frame.
            let _ = timeout(heartbeat.write_deadline, socket.flush()).await;
            return;
        }
        End::Close(reason) => reason,
    };
    let frame = CloseFrame {
        code: close_code_of(reason),
        reason: reason.describe().into(),
    };
    let sent = timeout(
        heartbeat.write_deadline,
        socket.send(Message::Close(Some(frame))),
    )
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    // Read until the client's close frame or the end of the stream. Anything
    // else it still sends is discarded.
    let _ = timeout(heartbeat.close_grace, async {
        while let Some(Ok(frame)) = socket.recv().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

fn close_code_of(reason: CloseReason) -> u16 {
    match reason {
        CloseReason::Shutdown => close_code::AWAY,
        CloseReason::Slow | CloseReason::Flooding => close_code::POLICY,
        CloseReason::TooLarge => close_code::SIZE,
        CloseReason::InvalidUtf8 => close_code::INVALID,
        CloseReason::ProtocolError => close_code::PROTOCOL,
        CloseReason::Idle | CloseReason::WriteTimeout => close_code::NORMAL,
    }
}

/// Tells a broken connection from a client that broke the rules.
fn classify(error: axum::Error) -> End {
    let Ok(error) = error.into_inner().downcast::<tungstenite::Error>() else {
        return End::PeerGone;
    };
    match *error {
        tungstenite::Error::Capacity(_) => End::Close(CloseReason::TooLarge),
        tungstenite::Error::Utf8(_) => End::Close(CloseReason::InvalidUtf8),
        tungstenite::Error::Protocol(_) => End::Close(CloseReason::ProtocolError),
        _ => End::PeerGone,
    }
}
