//! One benchmark client: a WebSocket connection over loopback that speaks
//! `hubbub.v2`, `hubbub.v1` or the plain-text mode, registered and in its room.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use shared::{
    ClientMsg, Credentials, DEFAULT_ROOM, SUBPROTOCOL, SUBPROTOCOL_BATCHED, Secret, ServerMsg,
    frame_messages,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
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

/// Who the clients are: guests, each under its own nickname, or people
/// signed in to accounts registered before the run.
#[derive(Debug, Clone, Default)]
pub enum People {
    #[default]
    Guests,
    /// Each account's nickname and a session token, which its connections
    /// sign in with (no password hash per connection).
    Accounts(std::rc::Rc<Vec<(String, Secret)>>),
}

/// The password of every benchmark account.
const PASSWORD: &str = "hubbub-load password";

impl People {
    /// Registers `count` accounts (`a0`, `a1`…) over the HTTP API, a few at
    /// a time; the server must allow that many registrations from loopback.
    pub async fn register(addr: SocketAddr, count: usize) -> anyhow::Result<Self> {
        ensure_loopback(addr)?;
        let accounts = futures_util::stream::iter(0..count)
            .map(|index| async move {
                let nick = format!("a{index}");
                let token = register(addr, &nick).await?;
                Ok::<_, anyhow::Error>((nick, token))
            })
            .buffered(4)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self::Accounts(std::rc::Rc::new(accounts)))
    }

    /// The nickname and credentials of client `index`: `guest` as a guest,
    /// or one of the accounts, taken in turn.
    pub fn who(&self, index: usize, guest: String) -> (String, Option<Credentials>) {
        match self {
            Self::Guests => (guest, None),
            Self::Accounts(accounts) => match accounts.get(index % accounts.len().max(1)) {
                Some((nick, token)) => (nick.clone(), Some(Credentials::Token(token.clone()))),
                None => (guest, None),
            },
        }
    }
}

/// Registers `nick` with a raw HTTP/1.1 request; returns its session token.
async fn register(addr: SocketAddr, nick: &str) -> anyhow::Result<Secret> {
    let body = serde_json::json!({ "nick": nick, "password": PASSWORD }).to_string();
    let mut tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let request = format!(
        "POST /api/register HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(SETUP_TIMEOUT, tcp.read_to_end(&mut response))
        .await
        .context("no answer to a registration")??;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("a registration's answer has no body")?;
    if !head.starts_with("HTTP/1.1 201") {
        bail!("registering {nick} was refused: {head} {body}");
    }
    let answer: serde_json::Value = serde_json::from_str(body)?;
    let token = answer["token"]
        .as_str()
        .context("a registration's answer has no token")?;
    Ok(Secret::new(token))
}

/// Registers a typed client as `nick` in `room` only (a `hello` that resumes
/// that room from its start, so it does not enter the lobby unless `room` is
/// the lobby), or waits until a plain client is in the lobby. Returns once
/// the server has said the client is in.
pub async fn enter(
    ws: &mut Ws,
    wire: Wire,
    (nick, auth): (String, Option<Credentials>),
    room: &str,
) -> anyhow::Result<()> {
    let nick = nick.as_str();
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
                    auth,
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
                if auth.is_some() {
                    bail!("plain-text clients are guests");
                }
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
                reply_to: None,
            }
            .to_json(),
        ),
        Wire::Plain => Message::text(text),
    }
}
