//! The limits that protect the server: Origin check, rate limits, connection
//! caps, slow headers (the WebSocket rules are in `ws_conformance`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use std::time::Duration;

use futures_util::SinkExt as _;
use shared::{ErrorCode, ServerMsg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, PATIENCE, TestServer, http_get};

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403_before_the_upgrade() {
    let server = TestServer::start_with(|config| {
        config.guard.allowed_origins = vec!["https://chat.example.org".into()];
    })
    .await;
    let (status, body) = Client::try_typed(&server, &[("origin", "https://evil.example")])
        .await
        .err()
        .expect("a foreign origin must be refused");
    assert_eq!(status, 403);
    assert!(body.contains("origin"), "{body}");

    let own = format!("http://{}", server.addr);
    assert!(
        Client::try_typed(&server, &[("origin", &own)])
            .await
            .is_ok()
    );
    let configured = [("origin", "https://chat.example.org")];
    assert!(Client::try_typed(&server, &configured).await.is_ok());
    // No Origin header: not a browser, nothing to hijack.
    assert!(Client::try_typed(&server, &[]).await.is_ok());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_flood_is_throttled_then_cut_while_a_polite_client_is_not() {
    let server = TestServer::start().await;
    let mut polite = Client::joined(&server, "polite").await;
    let mut flood = Client::joined(&server, "flood").await;

    // 20 messages at once fit the burst; the next ones are refused, naming
    // the message; past another 20 refusals in a row the connection closes.
    for i in 0..60 {
        flood.say(&format!("f{i}"), "spam").await;
    }
    let mut acked = 0;
    let mut refused = Vec::new();
    let close = loop {
        let frame = tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut flood.ws))
            .await
            .expect("nothing from the server in time");
        match frame {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                match ServerMsg::from_json(&text).unwrap() {
                    ServerMsg::Ack { .. } => acked += 1,
                    ServerMsg::Error {
                        code: ErrorCode::RateLimited,
                        id,
                        ..
                    } => refused.push(id.unwrap()),
                    _ => {}
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(close)))) => break close,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    // The burst (20, one of them spent on hello) passes, maybe a message or
    // two more as tokens refill; every accepted message is acknowledged
    // before the connection closes.
    assert!(
        (19..=22).contains(&acked),
        "the burst passes: {acked} acked"
    );
    assert!(refused.len() >= 20, "refusals name messages: {refused:?}");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "rate limit exceeded");

    // Five messages from a person are all delivered.
    for i in 0..5 {
        polite.say(&format!("p{i}"), "hello").await;
    }
    let mut acks = 0;
    while acks < 5 {
        match polite.recv().await {
            ServerMsg::Ack { .. } => acks += 1,
            ServerMsg::Error { code, .. } => panic!("a polite client was refused: {code:?}"),
            _ => {}
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_connection_cap_per_address_holds_and_frees_up() {
    let server = TestServer::start_with(|config| config.guard.max_connections_per_ip = 3).await;
    let first = Client::joined(&server, "one").await;
    let _second = Client::joined(&server, "two").await;
    let _third = Client::joined(&server, "three").await;

    let refused = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!(refused.status, 429);
    assert!(
        refused
            .text()
            .contains("too many connections from 127.0.0.1: at most 3"),
        "{}",
        refused.text()
    );

    // A closed socket gives its place back.
    drop(first);
    let mut healthy = None;
    for _ in 0..100 {
        let response = http_get(server.addr, "/healthz", &[]).await;
        if response.status == 200 {
            healthy = Some(response);
            break;
        }
        // The server notices the closed socket asynchronously; ask again.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(healthy.is_some(), "the place was never given back");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn handshakes_per_minute_are_capped_per_address() {
    let server =
        TestServer::start_with(|config| config.guard.handshakes_per_minute_per_ip = 3).await;
    for _ in 0..3 {
        assert!(Client::try_typed(&server, &[]).await.is_ok());
    }
    let (status, body) = Client::try_typed(&server, &[]).await.err().unwrap();
    assert_eq!(status, 429);
    assert!(body.contains("too many connection attempts"), "{body}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let server = TestServer::start_with(|config| {
        config.guard.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    // The server closes the connection (possibly after a 408): reading ends.
    tokio::time::timeout(PATIENCE, slow.read_to_end(&mut rest))
        .await
        .expect("the server kept a half-sent request open")
        .ok();
    // Meanwhile complete requests are served as ever.
    assert_eq!(http_get(server.addr, "/healthz", &[]).await.status, 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_that_is_not_a_websocket_handshake_is_told_why() {
    let server = TestServer::start().await;
    let plain = http_get(server.addr, "/ws", &[]).await;
    assert_eq!(plain.status, 400);
    assert!(plain.text().contains("'upgrade'"), "{}", plain.text());

    let handshake = |version| {
        [
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", version),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
    };
    let old = http_get(server.addr, "/ws", &handshake("8")).await;
    assert_eq!(old.status, 400);
    assert!(old.text().contains("'13'"), "{}", old.text());
    server.stop().await.unwrap();
}

/// The server writes its own frames past tungstenite, which answers pings:
/// answers given in the middle of a burst must leave every frame whole.
#[tokio::test]
async fn pings_answered_during_a_burst_leave_every_frame_whole() {
    let server = TestServer::start_with(|config| {
        config.guard.messages_per_second = 1e6;
        config.guard.message_burst = 100_000;
    })
    .await;
    let mut reader = Client::joined(&server, "reader").await;
    let mut sender = Client::joined(&server, "sender").await;
    let text = "x".repeat(2_000);
    const COUNT: usize = 200;
    for i in 0..COUNT {
        sender.say(&format!("m{i}"), &text).await;
        reader
            .ws
            .send(Message::Ping(format!("p{i}").into_bytes().into()))
            .await
            .unwrap();
    }
    // A pong may answer only the latest of several pings (RFC 6455 §5.5.3),
    // so the pongs come in order and end with the last one.
    let mut last_pong = None;
    let mut messages = 0;
    while messages < COUNT || last_pong != Some(COUNT - 1) {
        // Every frame must be well formed.
        match reader.recv_any_within(PATIENCE).await {
            Message::Pong(payload) => {
                let n: usize = std::str::from_utf8(&payload).unwrap()[1..].parse().unwrap();
                assert!(
                    last_pong.is_none_or(|last| n > last),
                    "pong {n} after {last_pong:?}"
                );
                last_pong = Some(n);
            }
            Message::Text(frame) => {
                if let ServerMsg::Message(message) = ServerMsg::from_json(&frame).unwrap() {
                    assert_eq!(message.nick, "sender");
                    assert_eq!(message.text, text);
                    messages += 1;
                }
            }
            _ => {}
        }
    }
    server.stop().await.unwrap();
}
