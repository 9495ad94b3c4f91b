//! Chat through the WebSocket door: typed and plain-text clients, presence,
//! errors, slow and silent clients, shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use std::time::Duration;

use crate::support::{Client, PATIENCE, TestServer};
use futures_util::{SinkExt, StreamExt};
use shared::{ClientMsg, ErrorCode, MessageKind, ServerMsg};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

fn message_text(msg: &ServerMsg) -> Option<(&str, &str)> {
    match msg {
        ServerMsg::Message(m) => Some((m.nick.as_str(), m.text.as_str())),
        _ => None,
    }
}

#[tokio::test]
async fn a_message_reaches_everyone_in_the_room_with_one_sequence_number() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    let mut carol = Client::joined(&server, "carol").await;
    // Presence is kept current: alice sees the others arrive.
    for nick in ["bob", "carol"] {
        let joined = alice
            .recv_until(|m| matches!(m, ServerMsg::UserJoined { .. }))
            .await;
        assert_eq!(
            joined,
            ServerMsg::UserJoined {
                room: "lobby".into(),
                nick: nick.into()
            }
        );
    }

    alice.say("a1", "hello, room").await;

    // The sender learns its message was accepted before it comes back.
    let ServerMsg::Ack { id, room, seq, .. } = alice.recv().await else {
        panic!("expected an ack first");
    };
    assert_eq!((id.as_str(), room.as_str()), ("a1", "lobby"));
    for client in [&mut alice, &mut bob, &mut carol] {
        let ServerMsg::Message(msg) = client.recv_until(|m| message_text(m).is_some()).await else {
            unreachable!()
        };
        assert_eq!(
            (msg.nick.as_str(), msg.text.as_str()),
            ("alice", "hello, room")
        );
        assert_eq!(msg.seq, seq, "one sequence number for every recipient");
        assert!(msg.ts > 1_700_000_000_000, "a server timestamp in ms");
    }

    // Sequence numbers grow without gaps.
    bob.say("b1", "hi alice").await;
    let ServerMsg::Ack { seq: next, .. } =
        bob.recv_until(|m| matches!(m, ServerMsg::Ack { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(next, seq + 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_hubbub_v2_client_gets_each_batch_in_one_frame_of_json_lines() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    alice.say("a1", "before bob").await;
    alice
        .recv_until(|m| matches!(m, ServerMsg::Message(_)))
        .await;

    // Offered both, the server chooses hubbub.v2 (asserted in `batched`).
    let mut bob = Client::batched(&server).await;
    bob.send(&ClientMsg::Hello {
        nick: "bob".into(),
        resume: Default::default(),
        auth: None,
    })
    .await;
    let mut frames: Vec<Vec<ServerMsg>> = Vec::new();
    while !frames
        .iter()
        .flatten()
        .any(|m| matches!(m, ServerMsg::History { .. }))
    {
        frames.push(bob.recv_frame().await);
    }
    let messages: Vec<&ServerMsg> = frames.iter().flatten().collect();
    assert!(
        matches!(
            messages[..],
            [
                ServerMsg::Welcome { .. },
                ServerMsg::Joined { .. },
                ServerMsg::History { .. }
            ]
        ),
        "{messages:?}"
    );
    // `joined` and the history that goes with it are one batch, so they
    // share a frame.
    let last = frames.last().unwrap();
    assert!(
        matches!(
            last[..],
            [.., ServerMsg::Joined { .. }, ServerMsg::History { .. }]
        ),
        "{frames:?}"
    );

    // A burst (within the rate limit's burst of 20) arrives whole and in
    // order, however it is framed; a text with line breaks stays one message.
    for i in 0..15 {
        alice
            .say(&format!("b{i}"), &format!("burst {i}\nsecond line"))
            .await;
    }
    let mut texts = Vec::new();
    while texts.len() < 15 {
        for msg in bob.recv_frame().await {
            if let ServerMsg::Message(m) = msg {
                texts.push(m.text);
            }
        }
    }
    let expected: Vec<String> = (0..15).map(|i| format!("burst {i}\nsecond line")).collect();
    assert_eq!(texts, expected);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_online_list_is_sent_on_join_and_kept_current() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Client::hello(&server, "bob").await;
    let ServerMsg::Joined { members, .. } = bob.recv().await else {
        panic!("expected the online list");
    };
    assert_eq!(members, ["alice", "bob"]);

    bob.send(&ClientMsg::Nick {
        nick: "robert".into(),
    })
    .await;
    let renamed = ServerMsg::NickChanged {
        old: "bob".into(),
        new: "robert".into(),
        rooms: vec!["lobby".into()],
    };
    assert_eq!(
        bob.recv().await,
        renamed,
        "the renamed user gets confirmation"
    );
    assert_eq!(
        alice
            .recv_until(|m| matches!(m, ServerMsg::NickChanged { .. }))
            .await,
        renamed
    );

    drop(bob);
    assert_eq!(
        alice
            .recv_until(|m| matches!(m, ServerMsg::UserLeft { .. }))
            .await,
        ServerMsg::UserLeft {
            room: "lobby".into(),
            nick: "robert".into()
        }
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_taken_nickname_gets_a_typed_error_and_the_connection_stays() {
    let server = TestServer::start().await;
    let _alice = Client::joined(&server, "alice").await;
    let mut second = Client::typed(&server).await;
    // Case and look-alike letters do not make a different nickname.
    for taken in ["alice", "ALICE", "\u{0430}lice"] {
        second
            .send(&ClientMsg::Hello {
                nick: taken.into(),
                resume: Default::default(),
                auth: None,
            })
            .await;
        let ServerMsg::Error { code, message, .. } = second.recv().await else {
            panic!("expected an error for {taken}");
        };
        assert_eq!(code, ErrorCode::NickTaken);
        assert!(message.contains("taken"), "{message}");
    }
    second
        .send(&ClientMsg::Hello {
            nick: "a b".into(),
            resume: Default::default(),
            auth: None,
        })
        .await;
    let ServerMsg::Error { code, .. } = second.recv().await else {
        panic!("expected an error for a nickname with a space");
    };
    assert_eq!(code, ErrorCode::NickInvalid);

    second
        .send(&ClientMsg::Hello {
            nick: "alice2".into(),
            resume: Default::default(),
            auth: None,
        })
        .await;
    assert!(matches!(second.recv().await, ServerMsg::Welcome { nick, .. } if nick == "alice2"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_oversized_message_closes_only_its_sender_with_1009() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    let mut mallory = Client::joined(&server, "mallory").await;

    let huge = "x".repeat(shared::limits::MAX_FRAME_BYTES + 1);
    mallory.send_raw(Message::text(huge)).await;
    let close = mallory.expect_close().await;
    assert_eq!(u16::from(close.code), 1009);
    assert_eq!(close.reason.as_str(), "message too large");

    let left = alice
        .recv_until(|m| matches!(m, ServerMsg::UserLeft { .. }))
        .await;
    assert_eq!(
        left,
        ServerMsg::UserLeft {
            room: "lobby".into(),
            nick: "mallory".into()
        }
    );
    alice.say("a1", "still here?").await;
    let got = bob.recv_until(|m| message_text(m).is_some()).await;
    assert_eq!(message_text(&got), Some(("alice", "still here?")));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_connection_survives() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;

    alice.send_raw(Message::text("{ not json")).await;
    let ServerMsg::Error { code, .. } = alice.recv().await else {
        panic!("malformed JSON must be answered");
    };
    assert_eq!(code, ErrorCode::Malformed);

    alice
        .send_raw(Message::text(r#"{"type":"teleport"}"#))
        .await;
    let ServerMsg::Error { code, message, .. } = alice.recv().await else {
        panic!("an unknown type must be answered");
    };
    assert_eq!(code, ErrorCode::Malformed);
    assert!(message.contains("teleport"), "{message}");

    alice.send_raw(Message::binary(vec![1, 2, 3])).await;
    let ServerMsg::Error { code, .. } = alice.recv().await else {
        panic!("a binary frame must be answered");
    };
    assert_eq!(code, ErrorCode::BinaryFrame);

    // Text over the limit is refused, naming the message it concerns.
    let long = "y".repeat(shared::limits::MAX_TEXT_BYTES + 1);
    alice.say("long-1", &long).await;
    assert_eq!(
        alice.recv().await,
        ServerMsg::Error {
            code: ErrorCode::TextTooLong,
            message: format!(
                "a message has at most 4096 bytes; this one has {}",
                long.len()
            ),
            id: Some("long-1".into()),
        }
    );
    alice
        .send(&ClientMsg::Send {
            id: "r1".into(),
            room: "elsewhere".into(),
            text: "hi".into(),
            kind: MessageKind::Text,
            reply_to: None,
        })
        .await;
    let ServerMsg::Error { code, .. } = alice.recv().await else {
        panic!("posting to a room one is not in must be refused");
    };
    assert_eq!(code, ErrorCode::NotInRoom);

    alice.say("ok-1", "after all that").await;
    assert!(matches!(alice.recv().await, ServerMsg::Ack { id, .. } if id == "ok-1"));
    let got = alice.recv().await;
    assert_eq!(message_text(&got), Some(("alice", "after all that")));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn messages_before_hello_are_refused() {
    let server = TestServer::start().await;
    let mut anon = Client::typed(&server).await;
    anon.say("x", "hi").await;
    let ServerMsg::Error { code, id, .. } = anon.recv().await else {
        panic!("expected an error");
    };
    assert_eq!((code, id.as_deref()), (ErrorCode::NotRegistered, Some("x")));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let server = TestServer::start().await;
    let mut client = Client::joined(&server, "alice").await;
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    let frame = Frame::from_payload(header, vec![0xC3, 0x28].into());
    client.ws.send(Message::Frame(frame)).await.unwrap();
    let close = client.expect_close().await;
    assert_eq!(u16::from(close.code), 1007);
    server.stop().await.unwrap();
}

/// Posts `total` 4 KB messages as `alice`, as a well-behaved client does (at
/// most 32 awaiting their acks, reading everything she is sent).
pub(crate) fn flood(alice: Client, total: usize) -> tokio::task::JoinHandle<()> {
    let text = "z".repeat(4000);
    tokio::spawn(async move {
        let (mut sink, mut stream) = alice.ws.split();
        let (mut sent, mut acked) = (0, 0);
        while acked < total {
            if sent < total && sent - acked < 32 {
                let msg = ClientMsg::Send {
                    id: format!("m{sent}"),
                    room: "lobby".into(),
                    text: text.clone(),
                    kind: MessageKind::Text,
                    reply_to: None,
                };
                sink.send(Message::text(msg.to_json())).await.unwrap();
                sent += 1;
                continue;
            }
            let frame = tokio::time::timeout(PATIENCE, stream.next())
                .await
                .expect("no ack in time")
                .unwrap()
                .unwrap();
            if let Message::Text(text) = frame
                && let Ok(ServerMsg::Ack { .. }) = ServerMsg::from_json(&text)
            {
                acked += 1;
            }
        }
    })
}

/// Floods the lobby from `alice` while `bob` reads: he must see every
/// message, and nobody may be disconnected meanwhile.
pub(crate) async fn flood_while_watching(alice: Client, bob: &mut Client, total: usize) {
    let sender = flood(alice, total);
    let mut seen = 0;
    while seen < total {
        match bob.recv().await {
            ServerMsg::Message(_) => seen += 1,
            ServerMsg::UserLeft { nick, .. } => panic!("{nick} was disconnected"),
            _ => {}
        }
    }
    sender.await.unwrap();
}

pub(crate) fn unthrottled(config: &mut backend::Config) {
    config.guard.messages_per_second = 1e6;
    config.guard.message_burst = 100_000;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stalls_catches_up_from_history_without_delaying_others() {
    let server = TestServer::start_with(unthrottled).await;
    let alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    // The sloth joins and then stops reading: the kernel's buffers fill,
    // then its queue in the server.
    let mut sloth = Client::joined(&server, "sloth").await;

    let total = 3000; // 12 MB: far more than loopback socket buffers hold.
    let sender = flood(alice, total);
    let mut seen = 0;
    while seen < total {
        match bob.recv().await {
            ServerMsg::Message(m) => {
                assert_eq!(m.nick, "alice");
                seen += 1;
            }
            ServerMsg::UserLeft { nick, .. } => panic!("{nick} was disconnected"),
            _ => {}
        }
    }
    sender.await.unwrap();

    // The sloth reads again: everything, once, in order, from its queue and
    // then from the store, and it is still connected.
    let mut got: Vec<u64> = Vec::new();
    while got.len() < total {
        match sloth.recv().await {
            ServerMsg::Message(m) => got.push(m.seq),
            ServerMsg::History { messages, .. } => got.extend(messages.iter().map(|m| m.seq)),
            _ => {}
        }
    }
    assert_eq!(got, (1..=total as u64).collect::<Vec<_>>());
    bob.say("b1", "still there?").await;
    let next = sloth
        .recv_until(|m| matches!(m, ServerMsg::Message(_)))
        .await;
    assert!(matches!(next, ServerMsg::Message(m) if m.text == "still there?"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_caught_up_has_the_online_list_and_the_topic_right() {
    let server = TestServer::start_with(|config| {
        unthrottled(config);
        config.moderation.operators = vec!["ada".into()];
    })
    .await;
    server.register("ada").await;
    let mut ada = Client::member(&server, "ada").await;
    let alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    let mut sloth = Client::joined(&server, "sloth").await;
    flood_while_watching(alice, &mut bob, 3000).await;
    // While the sloth is still behind, carol arrives, bob and alice (whose
    // flood has ended) go, and the topic changes: the sloth is sent none of
    // it, and the store does not keep it.
    let _carol = Client::joined(&server, "carol").await;
    drop(bob);
    ada.send(&ClientMsg::Topic {
        room: "lobby".into(),
        topic: "while you were away".into(),
    })
    .await;
    ada.recv_until(
        |m| matches!(m, ServerMsg::RoomState { settings, .. } if settings.topic == "while you were away"),
    )
    .await;

    // Once it has caught up, the sloth's list and the room's state are put
    // right (the room state its join brought is still in its queue: the
    // one that counts comes with the list).
    let mut members = None;
    let mut topic = None;
    while topic.is_none() {
        match sloth.recv().await {
            ServerMsg::Members {
                room,
                members: list,
            } if room == "lobby" => members = Some(list),
            ServerMsg::RoomState { room, settings } if room == "lobby" && members.is_some() => {
                topic = Some(settings.topic);
            }
            ServerMsg::UserJoined { nick, .. } | ServerMsg::UserLeft { nick, .. } => {
                panic!("{nick}'s arrival or departure reached a reader that was behind")
            }
            _ => {}
        }
    }
    assert_eq!(members.unwrap(), ["ada", "carol", "sloth"]);
    assert_eq!(topic.unwrap(), "while you were away");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_behind_for_too_long_is_closed_as_slow() {
    let server = TestServer::start_with(|config| {
        unthrottled(config);
        config.heartbeat.max_lag = Duration::from_millis(300);
    })
    .await;
    let alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    let mut sloth = Client::joined(&server, "sloth").await;
    let sender = flood(alice, 3000);
    bob.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "sloth"))
        .await;
    sender.await.unwrap();
    let close = sloth.expect_close().await;
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason.as_str(), "slow: too far behind");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_plain_text_client_and_a_typed_client_chat_in_the_lobby() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut plain = Client::plain(&server).await;
    let greeting = plain.recv_text().await;
    assert!(greeting.starts_with("* you are guest-"), "{greeting}");
    let ServerMsg::UserJoined { nick: guest, .. } = alice
        .recv_until(|m| matches!(m, ServerMsg::UserJoined { .. }))
        .await
    else {
        unreachable!()
    };

    alice.say("a1", "hello plain world").await;
    plain.recv_line("alice: hello plain world").await;

    plain.send_raw(Message::text("hello typed world")).await;
    let got = alice
        .recv_until(|m| message_text(m).is_some_and(|(nick, _)| nick != "alice"))
        .await;
    assert_eq!(
        message_text(&got),
        Some((guest.as_str(), "hello typed world"))
    );

    plain.send_raw(Message::text("/nick pat")).await;
    let renamed = alice
        .recv_until(|m| matches!(m, ServerMsg::NickChanged { .. }))
        .await;
    assert!(matches!(renamed, ServerMsg::NickChanged { new, .. } if new == "pat"));
    plain.recv_line(&format!("* {guest} is now pat")).await;

    plain.send_raw(Message::text("/me waves")).await;
    let got = alice.recv_until(|m| message_text(m).is_some()).await;
    let ServerMsg::Message(action) = got else {
        unreachable!()
    };
    assert_eq!(
        (action.kind, action.text.as_str()),
        (MessageKind::Action, "waves")
    );
    plain.recv_line("* pat waves").await;

    plain.send_raw(Message::text("/dance")).await;
    let reply = plain.recv_text().await;
    assert!(reply.starts_with("! unknown command /dance"), "{reply}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn queued_lines_reach_a_plain_client_joined_by_newlines() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut plain = Client::plain(&server).await;
    plain.recv_text().await; // greeting (and possibly the online list)
    // Ten messages sent back to back; however they are batched, every line
    // arrives once and in order.
    for i in 0..10 {
        alice.say(&format!("a{i}"), &format!("line {i}")).await;
    }
    let mut lines = Vec::new();
    while lines.len() < 10 {
        let frame = plain.recv_text().await;
        lines.extend(
            frame
                .split('\n')
                .filter(|l| l.starts_with("alice: "))
                .map(str::to_owned),
        );
    }
    let expected: Vec<String> = (0..10).map(|i| format!("alice: line {i}")).collect();
    assert_eq!(lines, expected);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_silent_client_is_dropped_and_a_live_one_is_pinged() {
    let server = TestServer::start_with(|config| {
        config.heartbeat.ping_every = Duration::from_millis(100);
        config.heartbeat.idle_after = Duration::from_millis(400);
    })
    .await;
    let mut alice = Client::joined(&server, "alice").await;
    // The ghost says hello and then never reads or answers a ping again.
    let _ghost = Client::joined(&server, "ghost").await;
    let mut saw_ping = false;
    loop {
        match alice.recv_any_within(PATIENCE).await {
            Message::Ping(_) => saw_ping = true,
            Message::Text(text) => {
                if let Ok(ServerMsg::UserLeft { nick, .. }) = ServerMsg::from_json(&text) {
                    assert_eq!(nick, "ghost");
                    break;
                }
            }
            _ => {}
        }
    }
    assert!(saw_ping, "the server pings live clients");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001_and_run_returns() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut plain = Client::plain(&server).await;
    let stopping = tokio::spawn(server.stop());
    for client in [&mut alice, &mut plain] {
        let close = client.expect_close().await;
        assert_eq!(u16::from(close.code), 1001);
        assert_eq!(close.reason.as_str(), "server shutting down");
    }
    stopping.await.unwrap().unwrap();
}

/// Posts `total` messages as fast as the connection takes them, never
/// waiting for an ack, and counts the acks on the way: what a sender above
/// the hub's throughput does. Returns how many were acknowledged before the
/// server closed the connection, if it did, with the close frame's reason.
fn blast(sender: Client, name: usize, total: usize) -> tokio::task::JoinHandle<(usize, String)> {
    tokio::spawn(async move {
        let (mut sink, mut stream) = sender.ws.split();
        let writer = tokio::spawn(async move {
            for i in 0..total {
                let msg = ClientMsg::Send {
                    id: format!("s{name}-{i}"),
                    room: "lobby".into(),
                    text: format!("blast {i}"),
                    kind: MessageKind::Text,
                    reply_to: None,
                };
                if sink.send(Message::text(msg.to_json())).await.is_err() {
                    break;
                }
            }
            sink
        });
        let mut acked = 0;
        let mut closed = String::new();
        while acked < total {
            match tokio::time::timeout(PATIENCE, stream.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    acked += usize::from(text.starts_with(r#"{"type":"ack""#));
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    closed = frame.map_or_else(|| "no reason".to_owned(), |f| f.reason.to_string());
                    break;
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => {
                    closed = "the connection broke".to_owned();
                    break;
                }
                Err(_) => {
                    closed = format!("no ack in time after {acked}");
                    break;
                }
            }
        }
        let _ = writer.await;
        (acked, closed)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_above_what_the_hub_takes_are_slowed_not_disconnected() {
    let server = TestServer::start_with(unthrottled).await;
    // Readers make every message cost the hub a fan-out, so that the
    // senders outrun it and its queue of requests fills.
    let mut readers = Vec::new();
    for i in 0..60 {
        let mut reader = Client::joined(&server, &format!("reader{i}")).await;
        readers.push(tokio::spawn(async move {
            loop {
                match reader.ws.next().await {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                }
            }
        }));
    }
    let (senders, per_sender) = (4, 2500);
    let mut blasts = Vec::new();
    for i in 0..senders {
        let sender = Client::joined(&server, &format!("sender{i}")).await;
        blasts.push(blast(sender, i, per_sender));
    }
    for blast in blasts {
        let (acked, closed) = blast.await.unwrap();
        assert_eq!(
            (acked, closed.as_str()),
            (per_sender, ""),
            "every message acknowledged and the sender still connected"
        );
    }
    for reader in &readers {
        reader.abort();
    }
    server.stop().await.unwrap();
}
