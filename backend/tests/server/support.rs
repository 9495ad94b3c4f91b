//! Starts the real Hubbub server on port 0 and talks to it as real clients do.

#![allow(dead_code, reason = "each test uses the helpers it needs")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic here is a failed test"
)]

use std::net::SocketAddr;
use std::time::Duration;

use backend::{Config, Listeners};
use futures_util::{SinkExt, StreamExt};
use shared::{ClientMsg, SUBPROTOCOL, SUBPROTOCOL_BATCHED, ServerMsg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something the server should do promptly. A
/// deadline for a failing test, not a pause: passing tests never wait for it.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    /// The terminal door.
    pub tcp_addr: SocketAddr,
    /// The IRC door.
    pub irc_addr: SocketAddr,
    /// The datagram door.
    pub udp_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    _data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server with a configuration adjusted by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        Self::start_on(tempfile::tempdir().unwrap(), configure).await
    }

    /// Starts a server on the data of `data` (a directory an earlier
    /// server left with [`TestServer::stop_keeping_data`]).
    pub async fn start_on(data: tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            data_dir: data.path().join("data"),
            // No web client build in these tests unless one asks for it.
            web_dir: data.path().join("no-web-client"),
            ..Config::default()
        };
        // Test clients often stop reading after their last assertion; the
        // server need not wait long for their close handshake at shutdown.
        config.heartbeat.close_grace = Duration::from_millis(200);
        configure(&mut config);
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = http.local_addr().unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp_addr = tcp.local_addr().unwrap();
        let irc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let irc_addr = irc.local_addr().unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let udp_addr = udp.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(backend::run(
            config,
            Listeners {
                http: vec![http],
                tcp: vec![tcp],
                irc: vec![irc],
                udp: vec![udp],
            },
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            tcp_addr,
            irc_addr,
            udp_addr,
            stop: Some(stop),
            task,
            _data: data,
        }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._data.path().join("data")
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Stops the server and hands back its data, to start another on it.
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        self.shut_down().await.unwrap();
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self._data, placeholder)
    }

    /// Signals shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shut_down().await
    }

    async fn shut_down(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("the server did not stop in time")
            .expect("the server task panicked")
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A handshake request to `server`'s `/ws` offering the subprotocols
/// `offered` (comma-separated).
fn ws_request(
    server: &TestServer,
    offered: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = server.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(offered).unwrap(),
    );
    request
}

/// A WebSocket client of either kind.
pub struct Client {
    pub ws: Socket,
    /// The bearer token its welcome gave (a guest's, or a new session's).
    pub token: Option<String>,
}

/// The password test accounts register with.
pub const PASSWORD: &str = "correct horse battery";

impl Client {
    /// Connects asking for the `hubbub.v1` subprotocol.
    pub async fn typed(server: &TestServer) -> Self {
        Self::offering(server, SUBPROTOCOL, SUBPROTOCOL).await
    }

    /// Connects offering `hubbub.v2` and `hubbub.v1`, as a client that
    /// reads batched frames does; the server must choose `hubbub.v2`.
    pub async fn batched(server: &TestServer) -> Self {
        let offered = format!("{SUBPROTOCOL}, {SUBPROTOCOL_BATCHED}");
        Self::offering(server, &offered, SUBPROTOCOL_BATCHED).await
    }

    /// Connects offering the subprotocols `offered`; the server must choose
    /// `chosen`.
    async fn offering(server: &TestServer, offered: &str, chosen: &str) -> Self {
        let request = ws_request(server, offered);
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            chosen
        );
        Self { ws, token: None }
    }

    /// Attempts a typed handshake with extra headers; a refusal comes back as
    /// its HTTP status and body.
    pub async fn try_typed(
        server: &TestServer,
        headers: &[(&str, &str)],
    ) -> Result<Self, (u16, String)> {
        let mut request = ws_request(server, SUBPROTOCOL);
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Self { ws, token: None }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err((response.status().as_u16(), body))
            }
            Err(other) => panic!("handshake failed without an HTTP answer: {other}"),
        }
    }

    /// Connects without a subprotocol, as the gorilla chat example's page does.
    pub async fn plain(server: &TestServer) -> Self {
        let (ws, response) = tokio_tungstenite::connect_async(server.ws_url())
            .await
            .unwrap();
        assert!(response.headers().get("sec-websocket-protocol").is_none());
        Self { ws, token: None }
    }

    /// A typed client that said hello as `nick` and was welcomed; what
    /// comes next (the lobby's `joined`) is left to read.
    pub async fn hello(server: &TestServer, nick: &str) -> Self {
        let mut client = Self::typed(server).await;
        client
            .send(&ClientMsg::Hello {
                nick: nick.into(),
                resume: Default::default(),
                auth: None,
            })
            .await;
        match client.recv().await {
            ServerMsg::Welcome {
                nick: welcomed,
                token,
                ..
            } => {
                assert_eq!(welcomed, nick);
                client.token = token.map(|t| t.expose().to_owned());
            }
            other => panic!("expected a welcome for {nick}, got {other:?}"),
        }
        client
    }

    /// A typed client signed in to `nick`'s account with `password` and
    /// welcomed; the lobby's `joined` is left to read.
    pub async fn signed_in(server: &TestServer, nick: &str, password: &str) -> Self {
        let mut client = Self::typed(server).await;
        client
            .send(&ClientMsg::Hello {
                nick: nick.into(),
                resume: Default::default(),
                auth: Some(shared::Credentials::Password(shared::Secret::new(password))),
            })
            .await;
        match client.recv().await {
            ServerMsg::Welcome {
                nick: welcomed,
                account: true,
                token,
                ..
            } => {
                assert_eq!(welcomed.to_lowercase(), nick.to_lowercase());
                client.token = token.map(|t| t.expose().to_owned());
            }
            other => panic!("expected {nick} signed in, got {other:?}"),
        }
        client
    }

    /// A typed client signed in to `nick`'s account (with [`PASSWORD`]) and
    /// in the lobby.
    pub async fn member(server: &TestServer, nick: &str) -> Self {
        let mut client = Self::signed_in(server, nick, PASSWORD).await;
        client
            .recv_until(|m| matches!(m, ServerMsg::Joined { room, .. } if room == "lobby"))
            .await;
        client
    }

    /// A typed client that said hello as `nick` and is in the lobby.
    pub async fn joined(server: &TestServer, nick: &str) -> Self {
        let mut client = Self::hello(server, nick).await;
        match client.recv().await {
            ServerMsg::Joined {
                room,
                members,
                head,
            } => {
                assert_eq!(room, "lobby");
                assert!(members.iter().any(|m| m == nick), "{members:?}");
                if head > 0 {
                    // The lobby's latest messages follow.
                    let history = client.recv().await;
                    assert!(matches!(history, ServerMsg::History { .. }), "{history:?}");
                }
            }
            other => panic!("expected to join the lobby, got {other:?}"),
        }
        client
    }

    /// Says hello as `nick`, resuming `rooms` (room → last seen seq).
    pub async fn resume(server: &TestServer, nick: &str, rooms: &[(&str, u64)]) -> Self {
        let mut client = Self::typed(server).await;
        client
            .send(&ClientMsg::Hello {
                nick: nick.into(),
                resume: rooms.iter().map(|(r, s)| ((*r).to_owned(), *s)).collect(),
                auth: None,
            })
            .await;
        match client.recv().await {
            ServerMsg::Welcome { .. } => {}
            other => panic!("expected a welcome for {nick}, got {other:?}"),
        }
        client
    }

    pub async fn send(&mut self, msg: &ClientMsg) {
        self.ws.send(Message::text(msg.to_json())).await.unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    pub async fn say(&mut self, id: &str, text: &str) {
        self.send(&ClientMsg::Send {
            id: id.into(),
            room: "lobby".into(),
            text: text.into(),
            kind: Default::default(),
            reply_to: None,
        })
        .await;
    }

    /// The next text frame, skipping pings.
    pub async fn recv_text(&mut self) -> String {
        self.recv_text_within(PATIENCE).await
    }

    /// The next frame of any kind, waiting up to `patience`: one must come,
    /// on a live connection, and be well formed.
    pub async fn recv_any_within(&mut self, patience: Duration) -> Message {
        tokio::time::timeout(patience, self.ws.next())
            .await
            .expect("no frame from the server in time")
            .expect("the connection ended")
            .expect("the connection failed")
    }

    /// The next text frame, waiting up to `patience` for each frame.
    pub async fn recv_text_within(&mut self, patience: Duration) -> String {
        loop {
            match self.recv_any_within(patience).await {
                Message::Text(text) => return text.to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next protocol message.
    pub async fn recv(&mut self) -> ServerMsg {
        self.recv_within(PATIENCE).await
    }

    /// The next protocol message, waiting up to `patience` for it.
    pub async fn recv_within(&mut self, patience: Duration) -> ServerMsg {
        let text = self.recv_text_within(patience).await;
        ServerMsg::from_json(&text).unwrap_or_else(|e| panic!("undecodable {text:?}: {e}"))
    }

    /// The messages of the next text frame (several under `hubbub.v2`).
    pub async fn recv_frame(&mut self) -> Vec<ServerMsg> {
        let text = self.recv_text().await;
        shared::frame_messages(&text)
            .map(|line| {
                ServerMsg::from_json(line).unwrap_or_else(|e| panic!("undecodable {line:?}: {e}"))
            })
            .collect()
    }

    /// Skips messages until one matches.
    pub async fn recv_until(&mut self, mut wanted: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        loop {
            let msg = self.recv().await;
            if wanted(&msg) {
                return msg;
            }
        }
    }

    /// Skips messages until an error with `code` comes; returns its text.
    pub async fn refused(&mut self, code: shared::ErrorCode) -> String {
        match self
            .recv_until(|m| matches!(m, ServerMsg::Error { code: c, .. } if *c == code))
            .await
        {
            ServerMsg::Error { message, .. } => message,
            _ => unreachable!(),
        }
    }

    /// Skips messages until a chat message comes.
    pub async fn next_message(&mut self) -> shared::ChatMessage {
        match self
            .recv_until(|m| matches!(m, ServerMsg::Message(_)))
            .await
        {
            ServerMsg::Message(message) => message,
            _ => unreachable!(),
        }
    }

    /// Sends `msg` to the room `room` as message `id`.
    pub async fn say_in(&mut self, room: &str, id: &str, text: &str) {
        self.send(&ClientMsg::Send {
            id: id.into(),
            room: room.into(),
            text: text.into(),
            kind: Default::default(),
            reply_to: None,
        })
        .await;
    }

    /// Skips plain-text lines until one equals `wanted`.
    pub async fn recv_line(&mut self, wanted: &str) {
        loop {
            let frame = self.recv_text().await;
            if frame.split('\n').any(|line| line == wanted) {
                return;
            }
        }
    }

    /// Reads until the server closes the connection and returns its close
    /// frame. Other frames on the way are skipped.
    pub async fn expect_close(&mut self) -> CloseFrame {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("the server did not close in time");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => return frame,
                Some(Ok(Message::Close(None))) => panic!("closed without a code"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("connection failed before a close frame: {e}"),
                None => panic!("connection ended without a close frame"),
            }
        }
    }
}

impl TestServer {
    /// Registers `nick` over HTTP with [`PASSWORD`]; returns the session's
    /// token.
    pub async fn register(&self, nick: &str) -> String {
        let body = serde_json::json!({ "nick": nick, "password": PASSWORD }).to_string();
        let response = http_post(self.addr, "/api/register", &body, &[]).await;
        assert_eq!(
            response.status,
            201,
            "registering {nick}: {}",
            response.text()
        );
        let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }
}

/// A raw HTTP/1.1 POST of a JSON body.
pub async fn http_post(
    addr: SocketAddr,
    path: &str,
    json: &str,
    headers: &[(&str, &str)],
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        json.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(json);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("no HTTP response in time")
        .unwrap();
    parse_response(&raw)
}

/// A raw HTTP/1.1 GET, so the tests see exactly what a browser gets.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("no HTTP response in time")
        .unwrap();
    parse_response(&raw)
}

/// A whole HTTP/1.1 response as read from the socket.
pub fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
