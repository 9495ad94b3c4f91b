//! Moderation through the real server: roles per room and the server's
//! operators, kick, ban (accounts, and guests by address), mute, slow mode,
//! the topic, deleting messages, the moderation log, refusals for those who
//! may not, and the same commands from a terminal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use shared::{ClientMsg, ErrorCode, MessageKind, Moderation, Role, ServerMsg};

use crate::support::{Client, PASSWORD, TestServer, http_get};
use crate::tcp::Nc;

/// A server whose operator is `ada`, with the accounts ada, bob and carol.
async fn server() -> TestServer {
    let server = TestServer::start_with(|c| {
        c.moderation.operators = vec!["ada".into()];
        c.accounts.registrations_per_hour_per_ip = 100;
    })
    .await;
    for nick in ["ada", "bob", "carol"] {
        server.register(nick).await;
    }
    server
}

fn kick(nick: &str, reason: Option<&str>) -> ClientMsg {
    ClientMsg::Kick {
        room: "lobby".into(),
        nick: nick.into(),
        reason: reason.map(str::to_owned),
    }
}

/// Waits for the moderation event of the kind `wanted` picks.
async fn moderated(
    client: &mut Client,
    wanted: impl Fn(&Moderation) -> bool,
) -> (String, Moderation) {
    match client
        .recv_until(|m| matches!(m, ServerMsg::Moderated { action, .. } if wanted(action)))
        .await
    {
        ServerMsg::Moderated { by, action, .. } => (by, action),
        _ => unreachable!(),
    }
}

async fn joins(client: &mut Client, room: &str) {
    client.send(&ClientMsg::Join { room: room.into() }).await;
    client
        .recv_until(|m| matches!(m, ServerMsg::Joined { room: r, .. } if r == room))
        .await;
}

/// The room's settings from the next `room_state` for `room`.
async fn room_state(client: &mut Client, room: &str) -> shared::RoomSettings {
    match client
        .recv_until(|m| matches!(m, ServerMsg::RoomState { room: r, .. } if r == room))
        .await
    {
        ServerMsg::RoomState { settings, .. } => settings,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn members_and_guests_asking_to_moderate_are_refused_and_stay() {
    let server = server().await;
    let mut carol = Client::member(&server, "carol").await;
    let mut gus = Client::joined(&server, "gus").await;
    let mut bob = Client::member(&server, "bob").await;
    bob.say("b1", "mine").await;
    let mine = bob.next_message().await;
    let asks = [
        kick("gus", None),
        ClientMsg::Ban {
            room: "lobby".into(),
            nick: "gus".into(),
            minutes: None,
            reason: None,
        },
        ClientMsg::Mute {
            room: "lobby".into(),
            nick: "gus".into(),
            minutes: Some(5),
            reason: None,
        },
        ClientMsg::Unban {
            room: "lobby".into(),
            nick: "gus".into(),
        },
        ClientMsg::Slow {
            room: "lobby".into(),
            seconds: 30,
        },
        ClientMsg::Topic {
            room: "lobby".into(),
            topic: "mine now".into(),
        },
        ClientMsg::Op {
            room: "lobby".into(),
            nick: "carol".into(),
            role: Role::Owner,
        },
        ClientMsg::ModLog {
            room: "lobby".into(),
            before: None,
            limit: None,
        },
        ClientMsg::Invite,
    ];
    for ask in &asks {
        for who in [&mut carol, &mut gus] {
            who.send(ask).await;
            let refusal = who.refused(ErrorCode::Forbidden).await;
            assert!(
                refusal.contains("only") || refusal.contains("operator"),
                "{ask:?}: {refusal}"
            );
        }
    }
    // Someone else's message is not a member's to delete.
    carol
        .send(&ClientMsg::Delete {
            room: "lobby".into(),
            seq: mine.seq,
        })
        .await;
    carol.refused(ErrorCode::Forbidden).await;
    // Both still chat.
    carol.say("c1", "still here").await;
    let heard = gus.next_message().await;
    assert_eq!(heard.text, "still here");
}

#[tokio::test]
async fn a_kick_takes_someone_out_and_they_may_come_back() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let mut bob = Client::member(&server, "bob").await;
    let mut gus = Client::joined(&server, "gus").await;
    ada.send(&kick("gus", Some("too loud"))).await;

    let (by, action) = moderated(&mut bob, |a| matches!(a, Moderation::Kick { .. })).await;
    assert_eq!(by, "ada");
    assert_eq!(
        action,
        Moderation::Kick {
            target: "gus".into(),
            reason: Some("too loud".into())
        }
    );
    bob.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "gus"))
        .await;
    moderated(&mut gus, |a| matches!(a, Moderation::Kick { .. })).await;
    gus.recv_until(|m| matches!(m, ServerMsg::Left { room } if room == "lobby"))
        .await;
    // Out of the room, not of the server: they may walk back in.
    joins(&mut gus, "lobby").await;
    // Nobody kicks someone who is not there.
    ada.send(&kick("nobody", None)).await;
    ada.refused(ErrorCode::NoSuchUser).await;
}

#[tokio::test]
async fn a_ban_keeps_an_account_out_on_every_connection_until_it_is_lifted() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let mut carol = Client::member(&server, "carol").await;
    let carol_token = carol.token.clone().unwrap();
    ada.send(&ClientMsg::Ban {
        room: "lobby".into(),
        nick: "carol".into(),
        minutes: Some(30),
        reason: Some("spam".into()),
    })
    .await;
    let (_, action) = moderated(&mut ada, |a| matches!(a, Moderation::Ban { .. })).await;
    let Moderation::Ban {
        until: Some(until), ..
    } = action
    else {
        panic!("a ban of 30 minutes has an end: {action:?}")
    };
    carol
        .recv_until(|m| matches!(m, ServerMsg::Left { room } if room == "lobby"))
        .await;
    joins_refused(&mut carol, "lobby", ErrorCode::Banned).await;

    // A new connection is as banned: welcomed, not let into the lobby.
    let mut again = Client::signed_in(&server, "carol", PASSWORD).await;
    let refusal = again.refused(ErrorCode::Banned).await;
    assert!(refusal.contains("banned from lobby until"), "{refusal}");
    assert!(until > 0);
    // Nor its history or files over HTTP.
    let bearer = format!("Bearer {carol_token}");
    let history = http_get(
        server.addr,
        "/api/rooms/lobby/messages",
        &[("Authorization", &bearer)],
    )
    .await;
    assert_eq!(history.status, 404);
    // Other rooms are open to them.
    joins(&mut again, "elsewhere").await;

    ada.send(&ClientMsg::Unban {
        room: "lobby".into(),
        nick: "carol".into(),
    })
    .await;
    moderated(&mut ada, |a| matches!(a, Moderation::Unban { .. })).await;
    joins(&mut carol, "lobby").await;
}

async fn joins_refused(client: &mut Client, room: &str, code: ErrorCode) -> String {
    client.send(&ClientMsg::Join { room: room.into() }).await;
    client.refused(code).await
}

#[tokio::test]
async fn a_guest_is_banned_by_address_for_a_day_at_most() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let mut gus = Client::joined(&server, "gus").await;
    ada.send(&ClientMsg::Ban {
        room: "lobby".into(),
        nick: "gus".into(),
        minutes: None,
        reason: None,
    })
    .await;
    let (_, action) = moderated(&mut ada, |a| matches!(a, Moderation::Ban { .. })).await;
    let Moderation::Ban {
        until: Some(until), ..
    } = action
    else {
        panic!("a guest's ban ends: {action:?}")
    };
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let day = 24 * 3_600_000;
    assert!(until > now + day - 60_000 && until <= now + day, "{until}");
    gus.recv_until(|m| matches!(m, ServerMsg::Left { .. }))
        .await;

    // Another guest name from the same address is the same guest.
    let mut renamed = Client::hello(&server, "gus2").await;
    renamed.refused(ErrorCode::Banned).await;
    // An account from there is judged as itself.
    Client::member(&server, "bob").await;
}

#[tokio::test]
async fn a_mute_keeps_someone_reading_but_not_posting() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let mut carol = Client::member(&server, "carol").await;
    ada.send(&ClientMsg::Mute {
        room: "lobby".into(),
        nick: "carol".into(),
        minutes: Some(5),
        reason: None,
    })
    .await;
    moderated(&mut carol, |a| matches!(a, Moderation::Mute { .. })).await;
    carol.say("c1", "can anyone hear me").await;
    let refused = carol
        .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
        .await;
    let ServerMsg::Error { code, message, id } = refused else {
        unreachable!()
    };
    assert_eq!(code, ErrorCode::Muted);
    assert_eq!(id.as_deref(), Some("c1"));
    assert!(message.contains("muted in lobby until"), "{message}");
    // Still reading.
    ada.say("a1", "carol reads this").await;
    assert_eq!(carol.next_message().await.text, "carol reads this");

    ada.send(&ClientMsg::Unmute {
        room: "lobby".into(),
        nick: "carol".into(),
    })
    .await;
    moderated(&mut carol, |a| matches!(a, Moderation::Unmute { .. })).await;
    carol.say("c2", "back").await;
    let ServerMsg::Ack { .. } = carol
        .recv_until(|m| matches!(m, ServerMsg::Ack { .. } | ServerMsg::Error { .. }))
        .await
    else {
        panic!("an unmuted member posts")
    };
}

#[tokio::test]
async fn slow_mode_spaces_a_members_messages_and_not_a_moderators() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let mut carol = Client::member(&server, "carol").await;
    ada.send(&ClientMsg::Slow {
        room: "lobby".into(),
        seconds: 60,
    })
    .await;
    moderated(&mut carol, |a| {
        matches!(a, Moderation::Slow { seconds: 60 })
    })
    .await;
    assert_eq!(room_state(&mut carol, "lobby").await.slow, 60);

    carol.say("c1", "first").await;
    carol
        .recv_until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await;
    carol.say("c2", "second").await;
    let refusal = carol.refused(ErrorCode::SlowMode).await;
    assert!(refusal.contains("slow mode"), "{refusal}");
    // Moderators are not slowed.
    for id in ["a1", "a2"] {
        ada.say(id, "announcement").await;
        ada.recv_until(|m| matches!(m, ServerMsg::Ack { .. })).await;
    }
    // A limit out of range is refused.
    ada.send(&ClientMsg::Slow {
        room: "lobby".into(),
        seconds: 100_000,
    })
    .await;
    ada.refused(ErrorCode::Malformed).await;
}

#[tokio::test]
async fn the_topic_reaches_everyone_there_and_whoever_comes_later() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let mut bob = Client::member(&server, "bob").await;
    ada.send(&ClientMsg::Topic {
        room: "lobby".into(),
        topic: "  be kind \u{1b}[31m ".into(),
    })
    .await;
    let (_, action) = moderated(&mut bob, |a| matches!(a, Moderation::Topic { .. })).await;
    assert_eq!(
        action,
        Moderation::Topic {
            topic: "be kind".into()
        }
    );
    assert_eq!(room_state(&mut bob, "lobby").await.topic, "be kind");

    // A newcomer hears it on joining, on the web and in a terminal.
    let mut late = Client::typed(&server).await;
    late.send(&ClientMsg::Hello {
        nick: "late".into(),
        resume: Default::default(),
        auth: None,
    })
    .await;
    late.recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await;
    assert_eq!(room_state(&mut late, "lobby").await.topic, "be kind");
    let mut nc = Nc::connect(&server).await;
    nc.expect("nickname: ").await;
    nc.line("terminal").await;
    nc.expect("-- [lobby] topic: be kind\r\n").await;
    nc.line("/topic").await;
    nc.expect("-- [lobby] topic: be kind\r\n").await;

    let long = "x".repeat(301);
    ada.send(&ClientMsg::Topic {
        room: "lobby".into(),
        topic: long,
    })
    .await;
    ada.refused(ErrorCode::TextTooLong).await;
}

#[tokio::test]
async fn an_owner_names_moderators_who_then_moderate_below_them() {
    let server = server().await;
    // Whoever makes a room owns it.
    let mut carol = Client::member(&server, "carol").await;
    joins(&mut carol, "den").await;
    let settings = room_state(&mut carol, "den").await;
    assert_eq!(settings.roles.get("carol"), Some(&Role::Owner));
    let mut bob = Client::member(&server, "bob").await;
    joins(&mut bob, "den").await;
    let mut gus = Client::joined(&server, "gus").await;
    joins(&mut gus, "den").await;

    // A member cannot moderate there yet.
    let kick_gus = ClientMsg::Kick {
        room: "den".into(),
        nick: "gus".into(),
        reason: None,
    };
    bob.send(&kick_gus).await;
    bob.refused(ErrorCode::Forbidden).await;

    carol
        .send(&ClientMsg::Op {
            room: "den".into(),
            nick: "bob".into(),
            role: Role::Moderator,
        })
        .await;
    let (_, action) = moderated(&mut bob, |a| matches!(a, Moderation::Role { .. })).await;
    assert_eq!(
        action,
        Moderation::Role {
            target: "bob".into(),
            role: Role::Moderator
        }
    );
    assert_eq!(
        room_state(&mut bob, "den").await.roles.get("bob"),
        Some(&Role::Moderator)
    );
    bob.send(&kick_gus).await;
    moderated(&mut gus, |a| matches!(a, Moderation::Kick { .. })).await;

    // A moderator names nobody, and is outranked by the owner.
    bob.send(&ClientMsg::Op {
        room: "den".into(),
        nick: "bob".into(),
        role: Role::Owner,
    })
    .await;
    let refusal = bob.refused(ErrorCode::Forbidden).await;
    assert!(refusal.contains("only the owners of den"), "{refusal}");
    bob.send(&ClientMsg::Kick {
        room: "den".into(),
        nick: "carol".into(),
        reason: None,
    })
    .await;
    bob.refused(ErrorCode::Forbidden).await;
    // Guests have no roles; operators are the configuration's.
    joins(&mut gus, "den").await;
    carol
        .send(&ClientMsg::Op {
            room: "den".into(),
            nick: "gus".into(),
            role: Role::Moderator,
        })
        .await;
    let refusal = carol.refused(ErrorCode::Forbidden).await;
    assert!(refusal.contains("guest"), "{refusal}");
    carol
        .send(&ClientMsg::Op {
            room: "den".into(),
            nick: "bob".into(),
            role: Role::Operator,
        })
        .await;
    carol.refused(ErrorCode::Forbidden).await;
    // And the operator outranks the owner anywhere.
    let mut ada = Client::member(&server, "ada").await;
    joins(&mut ada, "den").await;
    ada.send(&ClientMsg::Op {
        room: "den".into(),
        nick: "carol".into(),
        role: Role::Member,
    })
    .await;
    let settings = loop {
        let settings = room_state(&mut carol, "den").await;
        if !settings.roles.contains_key("carol") {
            break settings;
        }
    };
    assert_eq!(settings.roles.get("bob"), Some(&Role::Moderator));
}

#[tokio::test]
async fn a_deleted_message_is_gone_for_everyone_and_in_history() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let mut carol = Client::member(&server, "carol").await;
    let mut bob = Client::member(&server, "bob").await;
    let mut nc = Nc::login(&server, "watcher").await;
    carol.say("c1", "oops, my address").await;
    let oops = bob.next_message().await;
    bob.say("b1", "rude words").await;
    let rude = carol.next_message().await;
    let rude = if rude.seq == oops.seq {
        carol.next_message().await
    } else {
        rude
    };

    // One's own, signed in.
    carol
        .send(&ClientMsg::Delete {
            room: "lobby".into(),
            seq: oops.seq,
        })
        .await;
    let deletion = bob
        .recv_until(|m| matches!(m, ServerMsg::Message(m) if m.kind == MessageKind::Delete))
        .await;
    let ServerMsg::Message(deletion) = deletion else {
        unreachable!()
    };
    assert_eq!(
        (deletion.nick.as_str(), deletion.target),
        ("carol", Some(oops.seq))
    );
    nc.expect(&format!("-- carol deleted message #{}\r\n", oops.seq))
        .await;

    // Someone else's, as a moderator: logged.
    ada.send(&ClientMsg::Delete {
        room: "lobby".into(),
        seq: rude.seq,
    })
    .await;
    nc.expect(&format!("-- ada deleted message #{}\r\n", rude.seq))
        .await;
    // Twice is once.
    ada.send(&ClientMsg::Delete {
        room: "lobby".into(),
        seq: rude.seq,
    })
    .await;
    ada.refused(ErrorCode::NoSuchMessage).await;

    // History has the two as deleted, their text gone.
    let history = http_get(server.addr, "/api/rooms/lobby/messages", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&history.body).unwrap();
    let messages = body["messages"].as_array().unwrap();
    for seq in [oops.seq, rude.seq] {
        let message = messages.iter().find(|m| m["seq"] == seq).unwrap();
        assert_eq!(message["deleted"], true, "{message}");
        assert!(message.get("text").is_none_or(|t| t == ""), "{message}");
    }
    assert!(!history.text().contains("my address"));
    assert!(!history.text().contains("rude words"));
    let mut late = Client::hello(&server, "late").await;
    let ServerMsg::History { messages, .. } = late
        .recv_until(|m| matches!(m, ServerMsg::History { .. }))
        .await
    else {
        unreachable!()
    };
    let stored = messages.iter().find(|m| m.seq == oops.seq).unwrap();
    assert!(stored.deleted && stored.text.is_empty(), "{stored:?}");
    nc.line("/history 10").await;
    nc.expect("<carol> (deleted)").await;

    ada.send(&ClientMsg::ModLog {
        room: "lobby".into(),
        before: None,
        limit: None,
    })
    .await;
    let ServerMsg::ModLog { entries, .. } = ada
        .recv_until(|m| matches!(m, ServerMsg::ModLog { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(
        entries.iter().map(|e| e.action.clone()).collect::<Vec<_>>(),
        vec![Moderation::Delete {
            target: "bob".into(),
            seq: rude.seq
        }],
        "a moderator's deletion is logged; carol's own is not"
    );
}

#[tokio::test]
async fn the_moderation_log_says_who_did_what_when_and_outlives_a_restart() {
    let server = server().await;
    let mut ada = Client::member(&server, "ada").await;
    let _carol = Client::member(&server, "carol").await;
    let _gus = Client::joined(&server, "gus").await;
    let actions = [
        kick("gus", Some("cool off")),
        ClientMsg::Mute {
            room: "lobby".into(),
            nick: "carol".into(),
            minutes: Some(60),
            reason: None,
        },
        ClientMsg::Topic {
            room: "lobby".into(),
            topic: "rules: be kind".into(),
        },
        ClientMsg::Ban {
            room: "lobby".into(),
            nick: "carol".into(),
            minutes: None,
            reason: Some("again".into()),
        },
    ];
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    for action in &actions {
        ada.send(action).await;
        ada.recv_until(|m| matches!(m, ServerMsg::Moderated { .. }))
            .await;
    }
    let log = |before: Option<u64>, limit: Option<u32>| ClientMsg::ModLog {
        room: "lobby".into(),
        before,
        limit,
    };
    ada.send(&log(None, Some(3))).await;
    let ServerMsg::ModLog {
        entries, has_older, ..
    } = ada
        .recv_until(|m| matches!(m, ServerMsg::ModLog { .. }))
        .await
    else {
        unreachable!()
    };
    assert!(has_older);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| match e.action {
            Moderation::Ban { .. } => "ban",
            Moderation::Topic { .. } => "topic",
            Moderation::Mute { .. } => "mute",
            Moderation::Kick { .. } => "kick",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["ban", "topic", "mute"], "newest first");
    for entry in &entries {
        assert_eq!(entry.by, "ada");
        assert!(entry.ts as u128 >= started - 1_000, "{entry:?}");
    }
    ada.send(&log(entries.last().map(|e| e.id), None)).await;
    let ServerMsg::ModLog { entries: older, .. } = ada
        .recv_until(|m| matches!(m, ServerMsg::ModLog { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(older.len(), 1);
    assert!(matches!(older[0].action, Moderation::Kick { .. }));

    // A restart keeps the log, the ban and the topic.
    drop(ada);
    let data = server.stop_keeping_data().await;
    let server = TestServer::start_on(data, |c| c.moderation.operators = vec!["ada".into()]).await;
    let mut carol = Client::signed_in(&server, "carol", PASSWORD).await;
    carol.refused(ErrorCode::Banned).await;
    let mut ada = Client::member(&server, "ada").await;
    assert_eq!(room_state(&mut ada, "lobby").await.topic, "rules: be kind");
    ada.send(&log(None, None)).await;
    let ServerMsg::ModLog { entries, .. } = ada
        .recv_until(|m| matches!(m, ServerMsg::ModLog { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(entries.len(), 4);
}

#[tokio::test]
async fn a_moderator_in_a_terminal_moderates_with_slash_commands() {
    let server = server().await;
    let mut gus = Client::joined(&server, "gus").await;
    let mut carol = Client::member(&server, "carol").await;
    let mut ada = Nc::connect(&server).await;
    ada.expect("nickname: ").await;
    ada.line(&format!("/login ada {PASSWORD}")).await;
    ada.expect("-- [lobby] online").await;

    ada.line("/kick gus spamming links").await;
    ada.expect("-- [lobby] ada kicked gus: spamming links\r\n")
        .await;
    gus.recv_until(|m| matches!(m, ServerMsg::Left { .. }))
        .await;
    ada.line("/mute carol 10 calm down").await;
    ada.expect("-- [lobby] ada muted carol until ").await;
    ada.expect(": calm down\r\n").await;
    moderated(&mut carol, |a| matches!(a, Moderation::Mute { .. })).await;
    ada.line("/unmute carol").await;
    ada.expect("-- [lobby] ada unmuted carol\r\n").await;
    ada.line("/slow 15").await;
    ada.expect("-- [lobby] ada set slow mode: one message every 15 s\r\n")
        .await;
    ada.line("/topic welcome, terminal users").await;
    ada.expect("-- [lobby] ada set the topic: welcome, terminal users\r\n")
        .await;
    ada.line("/ban gus 5").await;
    ada.expect("-- [lobby] ada banned gus until ").await;
    ada.line("/unban gus").await;
    ada.expect("-- [lobby] ada lifted gus's ban\r\n").await;
    ada.line("/modlog").await;
    ada.expect("-- [lobby] moderation log, newest first:").await;
    let log = ada.expect("lifted gus's ban").await;
    assert!(log.contains("--   #"), "{log:?}");

    // A member in a terminal is told no, and goes on.
    let mut bob = Nc::connect(&server).await;
    bob.expect("nickname: ").await;
    bob.line(&format!("/login bob {PASSWORD}")).await;
    bob.expect("-- [lobby] online").await;
    bob.line("/kick carol").await;
    bob.expect("! only the moderators of lobby may do that\r\n")
        .await;
    bob.line("/op bob owner").await;
    bob.expect("! only the owners of lobby name its moderators\r\n")
        .await;
    bob.line("fine, just chatting").await;
    assert_eq!(carol.next_message().await.text, "fine, just chatting");
}
