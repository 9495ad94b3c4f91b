//! One WebSocket connection's wire, for the connection driver
//! ([`crate::doors::driver`]).
//!
//! tungstenite reads the client's frames (and answers its pings and close);
//! the server's own frames are written straight to the socket
//! ([`super::frames`]), each batch with one flush and under the write
//! deadline. One timer pings the client and ends a silent connection
//! ([`super::liveness`]). The goodbye is a close frame with a code and a
//! reason, and a short wait for the client's answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::{self, Message};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;

use super::fragments::TooManyFragments;
use super::frames::{Frame, write_frames};
use super::handshake::Socket;
use super::liveness::{Due, Liveness};
use super::wire::{Mode, WsAsk};
use crate::config::Heartbeat;
use crate::doors::driver::{Ask, End, Wire};
use crate::guard::Permit;
use crate::hub::Request;
use crate::outbox::{CloseReason, Outgoing};

/// Who is on the other end.
pub(super) struct Peer {
    pub addr: SocketAddr,
    /// The connection's place under the caps, released when the task ends.
    pub permit: Option<Arc<Permit>>,
}

/// A WebSocket connection's wire.
pub(super) struct WsWire {
    socket: Socket,
    mode: Mode,
    liveness: Liveness,
    /// The connection's own frames (replies, pings) waiting for a flush.
    queued: Vec<Frame>,
    /// The server's timings, shared by every connection.
    heartbeat: Arc<Heartbeat>,
    peer: SocketAddr,
    /// The connection's place under the caps, released when it ends.
    _permit: Option<Arc<Permit>>,
}

impl WsWire {
    pub(super) fn new(socket: Socket, mode: Mode, peer: Peer, heartbeat: Arc<Heartbeat>) -> Self {
        Self {
            socket,
            mode,
            liveness: Liveness::new(Instant::now(), &heartbeat),
            queued: Vec::new(),
            heartbeat,
            peer: peer.addr,
            _permit: peer.permit,
        }
    }
}

impl Wire for WsWire {
    const DOOR: &'static str = "ws";
    type Input = Option<Result<Message, tungstenite::Error>>;
    type Local = Infallible;

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn protocol(&self) -> &'static str {
        self.mode.name()
    }

    fn opening(&mut self) -> Option<Request> {
        // A plain-text client has no way to choose a nickname before it
        // talks: it gets a guest's.
        (self.mode == Mode::Plain).then_some(Request::HelloGuest)
    }

    fn read(&mut self) -> impl Future<Output = Self::Input> + Send + '_ {
        self.socket.next()
    }

    fn decode(&mut self, frame: Self::Input, asks: &mut Vec<WsAsk>) {
        // Any frame, a pong included, proves the client alive.
        self.liveness.heard(Instant::now());
        let ask = match frame {
            None => Ask::End(End::Lost("connection lost")),
            Some(Err(error)) => Ask::End(classify(error)),
            Some(Ok(Message::Close(_))) => Ask::End(End::Left),
            Some(Ok(Message::Binary(_))) => Ask::Reply(Mode::binary_refusal()),
            // tungstenite answers pings by itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return,
            Some(Ok(Message::Text(text))) => self.mode.decode(&text),
        };
        asks.push(ask);
    }

    fn reply(&mut self, msg: shared::ServerMsg) {
        self.queued.extend(self.mode.frame_of(msg));
    }

    fn answer(&mut self, local: Infallible) {
        match local {}
    }

    fn write<'a>(
        &'a mut self,
        events: &'a [Arc<Outgoing>],
    ) -> impl Future<Output = Result<(), End>> + Send + 'a {
        let frames = self.mode.frames(events);
        write(&mut self.socket, frames, self.heartbeat.write_deadline)
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), End>> + Send + '_ {
        let frames = std::mem::take(&mut self.queued);
        write(&mut self.socket, frames, self.heartbeat.write_deadline)
    }

    fn write_deadline(&self) -> Duration {
        self.heartbeat.write_deadline
    }

    fn deadline(&self) -> Option<Instant> {
        Some(self.liveness.deadline(&self.heartbeat))
    }

    fn timer(&mut self, now: Instant) -> Result<(), End> {
        match self.liveness.due(now, &self.heartbeat) {
            Due::Idle => return Err(End::Close(CloseReason::Idle)),
            Due::Ping => self.queued.push(Frame::Ping),
            Due::Nothing => {}
        }
        Ok(())
    }

    fn goodbye(&mut self, end: End) -> impl Future<Output = ()> + Send + '_ {
        let Heartbeat {
            write_deadline,
            close_grace,
            ..
        } = *self.heartbeat;
        finish(&mut self.socket, end, write_deadline, close_grace)
    }
}

/// Writes frames under the write deadline.
///
/// The write itself is boxed: inline, its future (a few hundred bytes with
/// its deadline) would be part of every connection's task, idle or not; one
/// allocation is little next to the write itself. Nothing to write costs
/// nothing.
fn write(
    socket: &mut Socket,
    frames: Vec<Frame>,
    deadline: Duration,
) -> impl Future<Output = Result<(), End>> + Send + '_ {
    let writing = (!frames.is_empty()).then(|| Box::pin(write_now(socket, frames, deadline)));
    async move {
        match writing {
            Some(writing) => writing.await,
            None => Ok(()),
        }
    }
}

async fn write_now(socket: &mut Socket, frames: Vec<Frame>, deadline: Duration) -> Result<(), End> {
    let written = timeout(deadline, async {
        // Whatever tungstenite has queued (an answer to a ping) goes first,
        // whole, so that the frames below do not cut into it.
        socket.flush().await.map_err(std::io::Error::other)?;
        write_frames(socket.get_mut(), &frames).await
    })
    .await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Lost("connection lost")),
        Err(_elapsed) => Err(End::Close(CloseReason::WriteTimeout)),
    }
}

/// Says goodbye as the protocol asks: a close frame with a code and a reason,
/// then a short wait for the client's answer so that the frame is not lost to
/// a reset connection.
async fn finish(socket: &mut Socket, end: End, deadline: Duration, close_grace: Duration) {
    let reason = match end {
        End::Close(CloseReason::WriteTimeout) | End::Lost(_) => return,
        End::Left => {
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
        CloseReason::TooLarge | CloseReason::TooManyFragments => CloseCode::Size,
        CloseReason::InvalidUtf8 => CloseCode::Invalid,
        CloseReason::ProtocolError => CloseCode::Protocol,
        CloseReason::Idle | CloseReason::WriteTimeout | CloseReason::SignedOut => CloseCode::Normal,
    }
}

/// Tells a broken connection from a client that broke the rules.
fn classify(error: tungstenite::Error) -> End {
    match error {
        tungstenite::Error::Capacity(_) => End::Close(CloseReason::TooLarge),
        tungstenite::Error::Utf8(_) => End::Close(CloseReason::InvalidUtf8),
        tungstenite::Error::Protocol(_) => End::Close(CloseReason::ProtocolError),
        tungstenite::Error::Io(error) if TooManyFragments::is(&error) => {
            End::Close(CloseReason::TooManyFragments)
        }
        _ => End::Lost("connection lost"),
    }
}
