//! Durable history: the latest messages on joining, older pages, resume
//! after a disconnect, idempotent resends, direct messages, typing, and the
//! HTTP history API.

use std::collections::BTreeSet;

use shared::{ChatMessage, ClientMsg, ErrorCode, MessageKind, RoomInfo, ServerMsg};

use crate::support::{Client, TestServer, http_get};

/// A server whose rate limit does not get in the way of tests that post
/// hundreds of messages.
async fn unthrottled() -> TestServer {
    TestServer::start_with(|config| {
        config.guard.messages_per_second = 1e6;
        config.guard.message_burst = 100_000;
    })
    .await
}

/// Posts `texts` to the lobby as `client`, at most 64 awaiting their acks
/// (as a real client does), and returns the acknowledged sequence numbers.
async fn post_all(client: &mut Client, prefix: &str, count: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut sent = 0;
    while seqs.len() < count {
        if sent < count && sent - seqs.len() < 64 {
            client
                .say(&format!("{prefix}-{sent}"), &format!("{prefix} {sent}"))
                .await;
            sent += 1;
            continue;
        }
        if let ServerMsg::Ack { seq, .. } = client.recv().await {
            seqs.push(seq);
        }
    }
    seqs
}

fn history_of(msg: ServerMsg) -> (Vec<ChatMessage>, bool) {
    match msg {
        ServerMsg::History {
            messages,
            has_older,
            ..
        } => (messages, has_older),
        other => panic!("expected history, got {other:?}"),
    }
}

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

#[tokio::test]
async fn history_survives_a_restart_and_comes_on_joining() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        alice.say(&format!("a{i}"), text).await;
        alice
            .recv_until(|m| matches!(m, ServerMsg::Ack { .. }))
            .await;
    }
    drop(alice);
    let data = server.stop_keeping_data().await;

    let server = TestServer::start_on(data, |_| {}).await;
    let mut bob = Client::hello(&server, "bob").await;
    let ServerMsg::Joined { head, .. } = bob.recv().await else {
        panic!("expected joined");
    };
    assert_eq!(head, 3);
    let (messages, has_older) = history_of(bob.recv().await);
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(seqs(&messages), [1, 2, 3]);
    assert!(!has_older);

    // Numbering goes on from the stored head.
    bob.say("b1", "four").await;
    let ServerMsg::Ack { seq, .. } = bob.recv_until(|m| matches!(m, ServerMsg::Ack { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(seq, 4);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn joining_gives_the_latest_50_and_pages_hold_at_most_100() {
    let server = unthrottled().await;
    let mut alice = Client::joined(&server, "alice").await;
    let acked = post_all(&mut alice, "m", 160).await;
    assert_eq!(
        acked,
        (1..=160).collect::<Vec<_>>(),
        "numbered without gaps"
    );

    let mut bob = Client::typed(&server).await;
    bob.send(&ClientMsg::Hello {
        nick: "bob".into(),
        resume: Default::default(),
        auth: None,
    })
    .await;
    bob.recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await;
    let (latest, has_older) = history_of(bob.recv().await);
    assert_eq!(seqs(&latest), (111..=160).collect::<Vec<_>>());
    assert!(has_older);

    bob.send(&ClientMsg::History {
        room: "lobby".into(),
        before: 111,
        limit: Some(500),
    })
    .await;
    let (page, has_older) = history_of(
        bob.recv_until(|m| matches!(m, ServerMsg::History { .. }))
            .await,
    );
    assert_eq!(seqs(&page), (11..=110).collect::<Vec<_>>(), "capped at 100");
    assert!(has_older);

    bob.send(&ClientMsg::History {
        room: "lobby".into(),
        before: 11,
        limit: None,
    })
    .await;
    let (first, has_older) = history_of(
        bob.recv_until(|m| matches!(m, ServerMsg::History { .. }))
            .await,
    );
    assert_eq!(seqs(&first), (1..=10).collect::<Vec<_>>());
    assert!(!has_older);

    bob.send(&ClientMsg::History {
        room: "elsewhere".into(),
        before: 5,
        limit: None,
    })
    .await;
    let ServerMsg::Error { code, .. } = bob
        .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::NotInRoom);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_comes_back_gets_exactly_what_it_missed_while_traffic_flows() {
    let server = unthrottled().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    let before = post_all(&mut bob, "early", 20).await;
    let mut seen = 0;
    while seen < *before.last().unwrap() {
        if let ServerMsg::Message(m) = alice.recv().await {
            seen = m.seq;
        }
    }
    drop(alice); // the laptop closes
    bob.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "alice"))
        .await;

    // Bob keeps talking while alice is away and while she comes back.
    let talker = tokio::spawn(async move {
        let acked = post_all(&mut bob, "during", 300).await;
        (bob, acked)
    });
    let mut alice = Client::resume(&server, "alice", &[("lobby", seen)]).await;
    let mut got: Vec<u64> = Vec::new();
    'reading: loop {
        let batch = match alice.recv().await {
            ServerMsg::History { messages, .. } => messages,
            ServerMsg::Message(m) => vec![m],
            ServerMsg::Gap { .. } => panic!("a short absence must be replayed, not skipped"),
            _ => continue,
        };
        for m in batch {
            got.push(m.seq);
            if m.text == "during 299" {
                break 'reading;
            }
        }
    }
    let (_bob, acked) = talker.await.unwrap();
    let expected: Vec<u64> = (seen + 1..=*acked.last().unwrap()).collect();
    assert_eq!(
        got, expected,
        "every missed message once, in order, then live ones"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn too_long_an_absence_is_told_as_a_gap_then_the_latest_page() {
    let server = unthrottled().await;
    let mut bob = Client::joined(&server, "bob").await;
    post_all(&mut bob, "m", 1_100).await;
    let mut alice = Client::resume(&server, "alice", &[("lobby", 1)]).await;
    alice
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await;
    assert_eq!(
        alice.recv().await,
        ServerMsg::Gap {
            room: "lobby".into(),
            from: 2,
            to: 1_050
        }
    );
    let (latest, _) = history_of(alice.recv().await);
    assert_eq!(seqs(&latest), (1_051..=1_100).collect::<Vec<_>>());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_resend_with_the_same_id_gets_the_first_ack_and_no_copy() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    alice.say("once", "only once").await;
    let first = alice
        .recv_until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await;
    let delivered = bob.recv_until(|m| matches!(m, ServerMsg::Message(_))).await;
    assert!(matches!(delivered, ServerMsg::Message(m) if m.text == "only once"));
    drop(alice);
    bob.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "alice"))
        .await;

    // After a reconnect, the client resends what it never saw acknowledged.
    let mut alice = Client::joined(&server, "alice").await;
    alice.say("once", "only once").await;
    let again = alice
        .recv_until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await;
    assert_eq!(again, first, "the original acknowledgement");

    bob.say("marker", "after").await;
    loop {
        if let ServerMsg::Message(m) = bob.recv().await {
            assert_ne!(m.text, "only once", "bob got a second copy");
            if m.text == "after" {
                break;
            }
        }
    }
    let page = http_get(server.addr, "/api/rooms/lobby/messages", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
    let texts: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["only once", "after"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn direct_messages_reach_only_their_two_users() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    let mut carol = Client::joined(&server, "carol").await;

    alice
        .send(&ClientMsg::Direct {
            id: "d1".into(),
            to: "Bob".into(),
            text: "just between us".into(),
            kind: MessageKind::Text,
            reply_to: None,
        })
        .await;
    for client in [&mut alice, &mut bob] {
        let joined = client
            .recv_until(|m| matches!(m, ServerMsg::Joined { room, .. } if room.starts_with('@')))
            .await;
        assert!(matches!(joined, ServerMsg::Joined { room, .. } if room == "@alice+bob"));
        let got = client
            .recv_until(|m| matches!(m, ServerMsg::Message(_)))
            .await;
        let ServerMsg::Message(m) = got else {
            unreachable!()
        };
        assert_eq!(
            (m.room.as_str(), m.text.as_str()),
            ("@alice+bob", "just between us")
        );
    }
    // Carol sees the lobby go on, and nothing of the conversation.
    bob.say("b1", "in the lobby").await;
    loop {
        match carol.recv().await {
            ServerMsg::Message(m) if m.text == "in the lobby" => break,
            ServerMsg::Message(m) => panic!("carol saw {m:?}"),
            ServerMsg::Joined { room, .. } => panic!("carol was put in {room}"),
            _ => {}
        }
    }

    // Nor can she read it by asking to rejoin it, or over HTTP.
    let mut snoop = Client::resume(&server, "carol2", &[("@alice+bob", 0)]).await;
    let ServerMsg::Error { code, .. } = snoop.recv().await else {
        panic!("a foreign conversation must be refused");
    };
    assert_eq!(code, ErrorCode::RoomInvalid);
    let api = http_get(server.addr, "/api/rooms/@alice+bob/messages", &[]).await;
    assert_eq!(api.status, 404);

    alice
        .send(&ClientMsg::Direct {
            id: "d2".into(),
            to: "nobody".into(),
            text: "hello?".into(),
            kind: MessageKind::Text,
            reply_to: None,
        })
        .await;
    let ServerMsg::Error { code, id, .. } = alice
        .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!((code, id.as_deref()), (ErrorCode::NoSuchUser, Some("d2")));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn typing_is_passed_on_at_most_every_three_seconds_and_never_stored() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    for _ in 0..3 {
        alice
            .send(&ClientMsg::Typing {
                room: "lobby".into(),
            })
            .await;
    }
    alice.say("a1", "done typing").await;
    let mut typing = 0;
    loop {
        match bob.recv().await {
            ServerMsg::Typing { room, nick } => {
                assert_eq!((room.as_str(), nick.as_str()), ("lobby", "alice"));
                typing += 1;
            }
            ServerMsg::Message(_) => break,
            _ => {}
        }
    }
    assert_eq!(typing, 1);
    let page = http_get(server.addr, "/api/rooms/lobby/messages", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn rooms_are_listed_with_their_member_counts() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let _bob = Client::joined(&server, "bob").await;
    alice
        .send(&ClientMsg::Join {
            room: "#Rust".into(),
        })
        .await;
    alice.send(&ClientMsg::Rooms).await;
    let ServerMsg::Rooms { rooms } = alice
        .recv_until(|m| matches!(m, ServerMsg::Rooms { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(
        rooms,
        [
            RoomInfo {
                room: "lobby".into(),
                members: 2
            },
            RoomInfo {
                room: "rust".into(),
                members: 1
            }
        ]
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn history_is_readable_over_http() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    for i in 0..5 {
        alice.say(&format!("a{i}"), &format!("line {i}")).await;
    }
    let mut acks = BTreeSet::new();
    while acks.len() < 5 {
        if let ServerMsg::Ack { seq, .. } = alice.recv().await {
            acks.insert(seq);
        }
    }
    let page = http_get(
        server.addr,
        "/api/rooms/lobby/messages?before=5&limit=2",
        &[],
    )
    .await;
    assert_eq!(page.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["seq"], 3);
    assert_eq!(messages[1]["seq"], 4);
    assert_eq!(messages[1]["nick"], "alice");
    assert_eq!(messages[1]["text"], "line 3");
    assert!(messages[1]["ts"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(body["has_older"], true);

    let bad = http_get(server.addr, "/api/rooms/no%20such/messages", &[]).await;
    assert_eq!(bad.status, 404);
    let bad = http_get(server.addr, "/api/rooms/lobby/messages?before=soon", &[]).await;
    assert_eq!(bad.status, 400);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_plain_text_client_sees_the_latest_lobby_messages_on_connecting() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    alice.say("a1", "before you came").await;
    alice
        .recv_until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await;
    let mut plain = Client::plain(&server).await;
    plain.recv_line("alice: before you came").await;
    // The line came from history, not as a live message: nothing is said
    // twice when alice speaks again.
    alice.say("a2", "now").await;
    plain.recv_line("alice: now").await;
    server.stop().await.unwrap();
}
