//! One benchmark client: a WebSocket connection over loopback that speaks
//! `hubbub.v2`, `hubbub.v1` or the plain-text mode, registered and in its room.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use shared::{
    ClientMsg, DEFAULT_ROOM, SUBPROTOCOL, SUBPROTOCOL_BATCHED, ServerMsg, frame_messages,
};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = WebSocketStream<TcpStream>;

/// How long a client may take to connect and be in its room.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Which of the WebSocket door's two protocols a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    /// JSON messages, acks: `hubbub.v2`, several messages to a frame, as
    /// the web client speaks.
    Typed,
    /// The same, under `hubbub.v1`: a frame per message.
    TypedV1,
    /// No subprotocol: one line per event, as gorilla's chat example.
    Plain,
}

/// The generator talks to loopback only: it is a load test, and loopback
/// keeps the network out of the figures.
pub fn ensure_loopback(addr: SocketAddr) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() {
        bail!(
            "{addr} is not a loopback address; hubbub-load only measures servers on this machine"
        );
    }
    Ok(())
}

/// Opens a WebSocket to the server's `/ws`. `read_buffer` is the
/// generator's own buffer per connection (small for idle connections, so
/// that ten thousand of them fit).
pub async fn open(addr: SocketAddr, wire: Wire, read_buffer: usize) -> anyhow::Result<Ws> {
    ensure_loopback(addr)?;
    let tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    tcp.set_nodelay(true)?;
    let mut request = format!("ws://{addr}/ws").into_client_request()?;
    let subprotocol = match wire {
        Wire::Typed => Some(SUBPROTOCOL_BATCHED),
        Wire::TypedV1 => Some(SUBPROTOCOL),
        Wire::Plain => None,
    };
    if let Some(subprotocol) = subprotocol {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(subprotocol),
        );
    }
    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
    let (ws, response) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
        .await
        .context("WebSocket handshake failed")?;
    if let Some(subprotocol) = subprotocol
        && response
            .headers()
            .get("sec-websocket-protocol")
            .is_none_or(|protocol| protocol != subprotocol)
    {
        bail!("the server did not accept {subprotocol}");
    }
    Ok(ws)
}

/// Registers a typed client as `nick` in `room` only (a `hello` that resumes
/// that room from its start, so it does not enter the lobby unless `room` is
/// the lobby), or waits until a plain client is in the lobby. Returns once
/// the server has said the client is in.
pub async fn enter(ws: &mut Ws, wire: Wire, nick: &str, room: &str) -> anyhow::Result<()> {
    tokio::time::timeout(SETUP_TIMEOUT, async {
        match wire {
            Wire::Typed | Wire::TypedV1 => {
                let resume = if room == DEFAULT_ROOM {
                    BTreeMap::new()
                } else {
                    BTreeMap::from([(room.to_owned(), 0)])
                };
                let hello = ClientMsg::Hello {
                    nick: nick.to_owned(),
                    resume,
                    auth: None,
                };
                ws.send(Message::text(hello.to_json())).await?;
                loop {
                    let frame = next_text(ws).await?;
                    for line in frame_messages(&frame) {
                        match ServerMsg::from_json(line) {
                            Ok(ServerMsg::Joined { room: joined, .. }) if joined == room => {
                                return Ok(());
                            }
                            Ok(ServerMsg::Error { code, message, .. }) => {
                                bail!("{nick} was refused: {code:?}: {message}")
                            }
                            _ => {}
                        }
                    }
                }
            }
            Wire::Plain => {
                if room != DEFAULT_ROOM {
                    bail!("plain-text clients are only in {DEFAULT_ROOM}");
                }
                loop {
                    let frame = next_text(ws).await?;
                    if frame.lines().any(|line| line.starts_with("* online:")) {
                        return Ok(());
                    }
                }
            }
        }
    })
    .await
    .with_context(|| format!("{nick} was not in {room} within {SETUP_TIMEOUT:?}"))?
}

/// The next text frame, skipping control frames.
pub async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(frame))) => bail!("the server closed the connection: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
            None => bail!("the server closed the connection"),
        }
    }
}

/// The frame a sender sends for a message with `text`.
pub fn send_frame(wire: Wire, id: &str, room: &str, text: String) -> Message {
    match wire {
        Wire::Typed | Wire::TypedV1 => Message::text(
            ClientMsg::Send {
                id: id.to_owned(),
                room: room.to_owned(),
                text,
                kind: shared::MessageKind::Text,
            }
            .to_json(),
        ),
        Wire::Plain => Message::text(text),
    }
}
