//! Kill -9 the real server while messages flow, again and again: every
//! acknowledged message must survive, exactly once, and the database must
//! stay sound.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

#[path = "cli_support/mod.rs"]
mod cli_support;

use std::collections::HashMap;
use std::net::SocketAddr;

use cli_support::{OTHER_DOORS_ON_FREE_PORTS, PATIENCE, Running, backend};
use futures_util::{SinkExt as _, StreamExt as _};
use shared::{ClientMsg, MessageKind, ServerMsg};
use tokio_tungstenite::tungstenite::Message;

/// Starts the binary in `dir` on a free loopback port, with the rate limit
/// out of the way, and returns it with the address it bound.
fn start(dir: &std::path::Path) -> (Running, SocketAddr) {
    let mut command = backend(dir);
    command.args(OTHER_DOORS_ON_FREE_PORTS).args([
        "--http",
        "127.0.0.1:0",
        "--websocket-messages-per-second",
        "1000000",
        "--websocket-message-burst",
        "100000",
    ]);
    let mut server = Running::start(command);
    let (addr, _) = server.http_door();
    (server, addr)
}

/// Sends messages (their text is their id) with up to 32 awaiting acks, and
/// reports each ack, until the connection breaks.
async fn send_until_killed(
    addr: SocketAddr,
    nick: String,
    acks: tokio::sync::mpsc::UnboundedSender<(String, u64)>,
) {
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{addr}/ws"
        ))
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        shared::SUBPROTOCOL.parse().unwrap(),
    );
    let Ok((ws, _)) = tokio_tungstenite::connect_async(request).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let hello = ClientMsg::Hello {
        nick: nick.clone(),
        resume: Default::default(),
        auth: None,
    };
    if sink.send(Message::text(hello.to_json())).await.is_err() {
        return;
    }
    let (mut sent, mut answered) = (0u64, 0u64);
    loop {
        if sent - answered < 32 {
            let id = format!("{nick}-{sent}");
            let msg = ClientMsg::Send {
                id: id.clone(),
                room: "lobby".into(),
                text: id,
                kind: MessageKind::Text,
                reply_to: None,
            };
            if sink.send(Message::text(msg.to_json())).await.is_err() {
                return;
            }
            sent += 1;
            continue;
        }
        let Some(Ok(Message::Text(text))) = stream.next().await else {
            return;
        };
        if let Ok(ServerMsg::Ack { id, seq, .. }) = ServerMsg::from_json(&text) {
            answered += 1;
            if acks.send((id, seq)).is_err() {
                return;
            }
        }
    }
}

/// Every message of the lobby, read back over HTTP, oldest first.
fn read_lobby(addr: SocketAddr) -> Vec<(u64, String)> {
    use std::io::{Read as _, Write as _};
    let mut all = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let query = before.map_or(String::new(), |b| format!("&before={b}"));
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            stream,
            "GET /api/rooms/lobby/messages?limit=100{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap();
        let page: serde_json::Value = serde_json::from_str(body).unwrap();
        let messages = page["messages"].as_array().unwrap();
        let mut batch: Vec<(u64, String)> = messages
            .iter()
            .map(|m| {
                (
                    m["seq"].as_u64().unwrap(),
                    m["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        batch.append(&mut all);
        all = batch;
        if page["has_older"] != true {
            return all;
        }
        before = all.first().map(|(seq, _)| *seq);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_traffic_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: HashMap<String, u64> = HashMap::new();
    for round in 0..4 {
        let (mut server, addr) = start(dir.path());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sender = tokio::spawn(send_until_killed(addr, format!("w{round}"), tx));
        // Let a few hundred messages be acknowledged, then pull the plug
        // while more are in flight.
        let mut this_round = 0;
        while this_round < 300 {
            let (id, seq) = tokio::time::timeout(PATIENCE, rx.recv())
                .await
                .expect("no ack in time")
                .expect("the sender stopped early");
            acked.insert(id, seq);
            this_round += 1;
        }
        server.signal("KILL");
        let out = tokio::task::block_in_place(|| server.finish());
        assert!(!out.status.success(), "the server was killed");
        sender.await.unwrap();
        // Acks that raced the kill still count: they were sent, so the
        // message had been committed.
        while let Ok((id, seq)) = rx.try_recv() {
            acked.insert(id, seq);
        }
    }

    let (mut server, addr) = start(dir.path());
    let stored = tokio::task::block_in_place(|| read_lobby(addr));
    server.signal("TERM");
    let out = tokio::task::block_in_place(|| server.finish());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);

    // Numbered 1, 2, 3, ... with no gap, each text once.
    let seqs: Vec<u64> = stored.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=stored.len() as u64).collect::<Vec<_>>());
    let mut by_text: HashMap<&str, u64> = HashMap::new();
    for (seq, text) in &stored {
        assert!(by_text.insert(text, *seq).is_none(), "{text} stored twice");
    }
    assert!(acked.len() >= 1_200);
    for (id, seq) in &acked {
        assert_eq!(
            by_text.get(id.as_str()),
            Some(seq),
            "acknowledged message {id} lost or renumbered"
        );
    }

    let db = rusqlite::Connection::open(dir.path().join("data/hubbub.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
