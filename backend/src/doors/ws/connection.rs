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
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep, timeout};
use tokio_tungstenite::tungstenite;

use super::wire::{Inbound, Mode};
use crate::config::Heartbeat;
use crate::hub::{Door, Hub};
use crate::outbox::{CloseReason, Outgoing};

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

pub(super) async fn serve(
    mut socket: WebSocket,
    mode: Mode,
    hub: Hub,
    peer: SocketAddr,
    heartbeat: Heartbeat,
) {
    let Some((session, mut inbox)) = hub.connect(Door::WebSocket).await else {
        return;
    };
    drop(hub);
    let client = session.id();
    tracing::info!(door = "ws", %peer, %client, ?mode, "connection opened");
    if mode == Mode::Plain {
        session.request(crate::hub::Request::HelloGuest).await;
    }

    let closer = session.closer().clone();
    let mut batch: Vec<Arc<Outgoing>> = Vec::new();
    let mut ping = interval_at(Instant::now() + heartbeat.ping_every, heartbeat.ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let idle = sleep(heartbeat.idle_after);
    tokio::pin!(idle);

    let end = loop {
        tokio::select! {
            () = closer.closed() => break End::Close(closer.reason()),
            () = &mut idle => break End::Close(CloseReason::Idle),
            received = inbox.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    // The hub dropped this client: it is stopping.
                    break End::Close(CloseReason::Shutdown);
                }
                let frames = mode.frames(&batch);
                batch.clear();
                if let Some(end) = write(&mut socket, frames, heartbeat).await {
                    break end;
                }
            }
            frame = socket.recv() => {
                idle.as_mut().reset(Instant::now() + heartbeat.idle_after);
                let reply = match frame {
                    None => break End::PeerGone,
                    Some(Err(error)) => break classify(error),
                    Some(Ok(Message::Close(_))) => break End::PeerClosed,
                    Some(Ok(Message::Text(text))) => match mode.decode(&text) {
                        Inbound::Request(request) => {
                            session.request(request).await;
                            None
                        }
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
    finish(&mut socket, end, heartbeat).await;
    let reason = match end {
        End::Close(reason) => reason.describe(),
        End::PeerClosed => "closed by client",
        End::PeerGone => "connection lost",
    };
    tracing::info!(door = "ws", %peer, %client, reason, "connection closed");
}

/// Writes frames with one flush under the write deadline. Returns how the
/// connection ends if the write did not succeed.
async fn write(socket: &mut WebSocket, frames: Vec<Message>, heartbeat: Heartbeat) -> Option<End> {
    if frames.is_empty() {
        return None;
    }
    let written = timeout(heartbeat.write_deadline, async {
        for frame in frames {
            socket.feed(frame).await?;
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
        CloseReason::Slow => close_code::POLICY,
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
