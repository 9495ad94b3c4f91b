//! The JSON of every message, pinned. A failure here means the wire changed:
//! update docs/protocol.md together with the expectation.

use super::*;

fn client(msg: ClientMsg, json: &str) {
    assert_eq!(msg.to_json(), json, "encoding of {msg:?}");
    assert_eq!(
        ClientMsg::from_json(json).unwrap(),
        msg,
        "decoding of {json}"
    );
}

fn server(msg: ServerMsg, json: &str) {
    assert_eq!(msg.to_json(), json, "encoding of {msg:?}");
    assert_eq!(
        ServerMsg::from_json(json).unwrap(),
        msg,
        "decoding of {json}"
    );
}

#[test]
fn a_batched_frame_is_one_message_per_line_even_with_line_breaks_in_text() {
    let first = ServerMsg::error(ErrorCode::Malformed, "two\nlines\r\n");
    let second = ServerMsg::UserJoined {
        room: "lobby".into(),
        nick: "bob".into(),
    };
    let frame = format!("{}\n{}", first.to_json(), second.to_json());
    let decoded: Vec<ServerMsg> = frame_messages(&frame)
        .map(|line| ServerMsg::from_json(line).unwrap())
        .collect();
    assert_eq!(decoded, [first.clone(), second]);
    // A hubbub.v1 frame is a frame of one line.
    let single = first.to_json();
    assert_eq!(
        frame_messages(&single).collect::<Vec<_>>(),
        [single.as_str()]
    );
}

#[test]
fn client_messages() {
    client(
        ClientMsg::Hello {
            nick: "alice".into(),
            resume: BTreeMap::new(),
            auth: None,
        },
        r#"{"type":"hello","nick":"alice"}"#,
    );
    client(
        ClientMsg::Hello {
            nick: "alice".into(),
            resume: BTreeMap::from([("lobby".into(), 42), ("rust".into(), 0)]),
            auth: None,
        },
        r#"{"type":"hello","nick":"alice","resume":{"lobby":42,"rust":0}}"#,
    );
    client(
        ClientMsg::Direct {
            id: "d1".into(),
            to: "bob".into(),
            text: "psst".into(),
            kind: MessageKind::Text,
            reply_to: None,
        },
        r#"{"type":"direct","id":"d1","to":"bob","text":"psst"}"#,
    );
    client(
        ClientMsg::History {
            room: "lobby".into(),
            before: 120,
            limit: Some(100),
        },
        r#"{"type":"history","room":"lobby","before":120,"limit":100}"#,
    );
    client(
        ClientMsg::Typing {
            room: "lobby".into(),
        },
        r#"{"type":"typing","room":"lobby"}"#,
    );
    client(ClientMsg::Rooms, r#"{"type":"rooms"}"#);
    client(
        ClientMsg::Nick { nick: "bob".into() },
        r#"{"type":"nick","nick":"bob"}"#,
    );
    client(
        ClientMsg::Join {
            room: "rust".into(),
        },
        r#"{"type":"join","room":"rust"}"#,
    );
    client(
        ClientMsg::Leave {
            room: "rust".into(),
        },
        r#"{"type":"leave","room":"rust"}"#,
    );
    client(
        ClientMsg::Send {
            id: "c1".into(),
            room: "lobby".into(),
            text: "hello".into(),
            kind: MessageKind::Text,
            reply_to: None,
        },
        r#"{"type":"send","id":"c1","room":"lobby","text":"hello"}"#,
    );
    client(
        ClientMsg::Send {
            id: "c2".into(),
            room: "lobby".into(),
            text: "waves".into(),
            kind: MessageKind::Action,
            reply_to: None,
        },
        r#"{"type":"send","id":"c2","room":"lobby","text":"waves","kind":"action"}"#,
    );
}

#[test]
fn server_messages() {
    server(
        ServerMsg::Welcome {
            nick: "alice".into(),
            server: "0.1.0".into(),
            limits: Limits::V1,
            account: false,
            token: None,
            expires: None,
        },
        r#"{"type":"welcome","nick":"alice","server":"0.1.0","limits":{"max_text_bytes":4096,"max_nick_chars":32,"max_room_chars":32,"max_id_bytes":64}}"#,
    );
    server(
        ServerMsg::Joined {
            room: "lobby".into(),
            members: vec!["alice".into(), "bob".into()],
            head: 41,
        },
        r#"{"type":"joined","room":"lobby","members":["alice","bob"],"head":41}"#,
    );
    server(
        ServerMsg::History {
            room: "lobby".into(),
            messages: vec![ChatMessage {
                room: "lobby".into(),
                seq: 41,
                ts: 1_764_028_790_000,
                nick: "bob".into(),
                text: "earlier".into(),
                kind: MessageKind::Text,
                attachment: None,
                target: None,
                deleted: false,
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
            }],
            has_older: true,
        },
        r#"{"type":"history","room":"lobby","messages":[{"room":"lobby","seq":41,"ts":1764028790000,"nick":"bob","text":"earlier"}],"has_older":true}"#,
    );
    server(
        ServerMsg::Gap {
            room: "lobby".into(),
            from: 43,
            to: 2042,
        },
        r#"{"type":"gap","room":"lobby","from":43,"to":2042}"#,
    );
    server(
        ServerMsg::Typing {
            room: "lobby".into(),
            nick: "bob".into(),
        },
        r#"{"type":"typing","room":"lobby","nick":"bob"}"#,
    );
    server(
        ServerMsg::Rooms {
            rooms: vec![RoomInfo {
                room: "lobby".into(),
                members: 2,
            }],
        },
        r#"{"type":"rooms","rooms":[{"room":"lobby","members":2}]}"#,
    );
    server(
        ServerMsg::Left {
            room: "rust".into(),
        },
        r#"{"type":"left","room":"rust"}"#,
    );
    server(
        ServerMsg::UserJoined {
            room: "lobby".into(),
            nick: "carol".into(),
        },
        r#"{"type":"user_joined","room":"lobby","nick":"carol"}"#,
    );
    server(
        ServerMsg::UserLeft {
            room: "lobby".into(),
            nick: "carol".into(),
        },
        r#"{"type":"user_left","room":"lobby","nick":"carol"}"#,
    );
    server(
        ServerMsg::Members {
            room: "lobby".into(),
            members: vec!["alice".into(), "carol".into()],
        },
        r#"{"type":"members","room":"lobby","members":["alice","carol"]}"#,
    );
    server(
        ServerMsg::NickChanged {
            old: "bob".into(),
            new: "robert".into(),
            rooms: vec!["lobby".into(), "rust".into()],
        },
        r#"{"type":"nick_changed","old":"bob","new":"robert","rooms":["lobby","rust"]}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            room: "lobby".into(),
            seq: 42,
            ts: 1_764_028_800_000,
            nick: "alice".into(),
            text: "hello".into(),
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }),
        r#"{"type":"message","room":"lobby","seq":42,"ts":1764028800000,"nick":"alice","text":"hello"}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            room: "lobby".into(),
            seq: 43,
            ts: 1_764_028_800_500,
            nick: "alice".into(),
            text: "waves".into(),
            kind: MessageKind::Action,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }),
        r#"{"type":"message","room":"lobby","seq":43,"ts":1764028800500,"nick":"alice","text":"waves","kind":"action"}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            room: "lobby".into(),
            seq: 44,
            ts: 1_764_028_801_000,
            nick: "alice".into(),
            text: "cat.png".into(),
            kind: MessageKind::Text,
            attachment: Some(Attachment {
                id: "3f2a9c0d41b6e8f7".into(),
                name: "cat.png".into(),
                size: 48_213,
                content_type: "image/png".into(),
            }),
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }),
        r#"{"type":"message","room":"lobby","seq":44,"ts":1764028801000,"nick":"alice","text":"cat.png","attachment":{"id":"3f2a9c0d41b6e8f7","name":"cat.png","size":48213,"type":"image/png"}}"#,
    );
    server(
        ServerMsg::Ack {
            id: "c1".into(),
            room: "lobby".into(),
            seq: 42,
            ts: 1_764_028_800_000,
        },
        r#"{"type":"ack","id":"c1","room":"lobby","seq":42,"ts":1764028800000}"#,
    );
    server(
        ServerMsg::error(ErrorCode::NickTaken, "alice is taken"),
        r#"{"type":"error","code":"nick_taken","message":"alice is taken"}"#,
    );
    server(
        ServerMsg::Error {
            code: ErrorCode::TextTooLong,
            message: "too long".into(),
            id: Some("c3".into()),
        },
        r#"{"type":"error","code":"text_too_long","message":"too long","id":"c3"}"#,
    );
}

#[test]
fn every_error_code_has_a_stable_name() {
    let names = [
        (ErrorCode::Malformed, "malformed"),
        (ErrorCode::BinaryFrame, "binary_frame"),
        (ErrorCode::NotRegistered, "not_registered"),
        (ErrorCode::AlreadyRegistered, "already_registered"),
        (ErrorCode::NickInvalid, "nick_invalid"),
        (ErrorCode::NickTaken, "nick_taken"),
        (ErrorCode::RoomInvalid, "room_invalid"),
        (ErrorCode::NotInRoom, "not_in_room"),
        (ErrorCode::TextEmpty, "text_empty"),
        (ErrorCode::TextTooLong, "text_too_long"),
        (ErrorCode::IdInvalid, "id_invalid"),
        (ErrorCode::RateLimited, "rate_limited"),
        (ErrorCode::NoSuchUser, "no_such_user"),
        (ErrorCode::StoreFailed, "store_failed"),
        (ErrorCode::NickRegistered, "nick_registered"),
        (ErrorCode::AuthFailed, "auth_failed"),
        (ErrorCode::PasswordWeak, "password_weak"),
        (ErrorCode::GuestsNotAllowed, "guests_not_allowed"),
        (ErrorCode::RegistrationClosed, "registration_closed"),
        (ErrorCode::Forbidden, "forbidden"),
        (ErrorCode::Banned, "banned"),
        (ErrorCode::Muted, "muted"),
        (ErrorCode::SlowMode, "slow_mode"),
        (ErrorCode::NoSuchMessage, "no_such_message"),
    ];
    for (code, name) in names {
        assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{name}\""));
    }
}

#[test]
fn decoders_tolerate_what_newer_peers_add() {
    let msg =
        ServerMsg::from_json(r#"{"type":"error","code":"shiny_new_code","message":"x","extra":1}"#)
            .unwrap();
    assert_eq!(msg, ServerMsg::error(ErrorCode::Unknown, "x"));
    let hello = ClientMsg::from_json(r#"{"type":"hello","nick":"a","colour":"red"}"#).unwrap();
    assert_eq!(
        hello,
        ClientMsg::Hello {
            nick: "a".into(),
            resume: BTreeMap::new(),
            auth: None,
        }
    );
    // A v1 server before `head` existed sent `joined` without it.
    let joined = ServerMsg::from_json(r#"{"type":"joined","room":"x","members":[]}"#).unwrap();
    assert!(matches!(joined, ServerMsg::Joined { head: 0, .. }));
}

#[test]
fn conversations_have_one_name_whoever_starts_them() {
    assert_eq!(direct_room("Bob", "alice"), "@alice+bob");
    assert_eq!(direct_room("alice", "Bob"), "@alice+bob");
    assert_eq!(direct_members("@alice+bob"), Some(("alice", "bob")));
    assert_eq!(direct_members("lobby"), None);
}

#[test]
fn malformed_frames_are_errors_not_panics() {
    for frame in [
        "",
        "{",
        "null",
        "[]",
        r#"{"type":"send"}"#,
        r#"{"type":"nope"}"#,
        r#"{"nick":"a"}"#,
        r#"{"type":"hello","nick":5}"#,
    ] {
        assert!(ClientMsg::from_json(frame).is_err(), "{frame:?} decoded");
    }
}

#[test]
fn account_messages() {
    client(
        ClientMsg::Hello {
            nick: "ada".into(),
            resume: BTreeMap::new(),
            auth: Some(Credentials::Password(Secret::new("correct horse"))),
        },
        r#"{"type":"hello","nick":"ada","auth":{"password":"correct horse"}}"#,
    );
    client(
        ClientMsg::Hello {
            nick: "ada".into(),
            resume: BTreeMap::from([("lobby".into(), 7)]),
            auth: Some(Credentials::Token(Secret::new("tkn"))),
        },
        r#"{"type":"hello","nick":"ada","resume":{"lobby":7},"auth":{"token":"tkn"}}"#,
    );
    client(
        ClientMsg::Register {
            password: Secret::new("correct horse"),
            invite: None,
        },
        r#"{"type":"register","password":"correct horse"}"#,
    );
    client(
        ClientMsg::Register {
            password: Secret::new("pw"),
            invite: Some(Secret::new("inv")),
        },
        r#"{"type":"register","password":"pw","invite":"inv"}"#,
    );
    client(
        ClientMsg::SignOut { everywhere: false },
        r#"{"type":"sign_out"}"#,
    );
    client(
        ClientMsg::SignOut { everywhere: true },
        r#"{"type":"sign_out","everywhere":true}"#,
    );
    client(ClientMsg::Invite, r#"{"type":"invite"}"#);
    server(
        ServerMsg::Welcome {
            nick: "ada".into(),
            server: "0.1.0".into(),
            limits: Limits::V1,
            account: true,
            token: Some(Secret::new("tkn")),
            expires: Some(1_766_620_800_000),
        },
        r#"{"type":"welcome","nick":"ada","server":"0.1.0","limits":{"max_text_bytes":4096,"max_nick_chars":32,"max_room_chars":32,"max_id_bytes":64},"account":true,"token":"tkn","expires":1766620800000}"#,
    );
    server(
        ServerMsg::Registered {
            nick: "ada".into(),
            token: Secret::new("tkn"),
            expires: 1_766_620_800_000,
        },
        r#"{"type":"registered","nick":"ada","token":"tkn","expires":1766620800000}"#,
    );
    server(
        ServerMsg::Invite {
            code: Secret::new("c0de"),
            expires: 1_765_000_000_000,
        },
        r#"{"type":"invite","code":"c0de","expires":1765000000000}"#,
    );
}

#[test]
fn moderation_messages() {
    client(
        ClientMsg::Kick {
            room: "lobby".into(),
            nick: "bob".into(),
            reason: Some("spam".into()),
        },
        r#"{"type":"kick","room":"lobby","nick":"bob","reason":"spam"}"#,
    );
    client(
        ClientMsg::Ban {
            room: "lobby".into(),
            nick: "bob".into(),
            minutes: Some(60),
            reason: None,
        },
        r#"{"type":"ban","room":"lobby","nick":"bob","minutes":60}"#,
    );
    client(
        ClientMsg::Unban {
            room: "lobby".into(),
            nick: "bob".into(),
        },
        r#"{"type":"unban","room":"lobby","nick":"bob"}"#,
    );
    client(
        ClientMsg::Mute {
            room: "lobby".into(),
            nick: "bob".into(),
            minutes: None,
            reason: None,
        },
        r#"{"type":"mute","room":"lobby","nick":"bob"}"#,
    );
    client(
        ClientMsg::Unmute {
            room: "lobby".into(),
            nick: "bob".into(),
        },
        r#"{"type":"unmute","room":"lobby","nick":"bob"}"#,
    );
    client(
        ClientMsg::Slow {
            room: "lobby".into(),
            seconds: 10,
        },
        r#"{"type":"slow","room":"lobby","seconds":10}"#,
    );
    client(
        ClientMsg::Topic {
            room: "lobby".into(),
            topic: "be kind".into(),
        },
        r#"{"type":"topic","room":"lobby","topic":"be kind"}"#,
    );
    client(
        ClientMsg::Op {
            room: "lobby".into(),
            nick: "bob".into(),
            role: Role::Moderator,
        },
        r#"{"type":"op","room":"lobby","nick":"bob","role":"moderator"}"#,
    );
    client(
        ClientMsg::Delete {
            room: "lobby".into(),
            seq: 42,
        },
        r#"{"type":"delete","room":"lobby","seq":42}"#,
    );
    client(
        ClientMsg::ModLog {
            room: "lobby".into(),
            before: Some(9),
            limit: None,
        },
        r#"{"type":"mod_log","room":"lobby","before":9}"#,
    );
    server(
        ServerMsg::RoomState {
            room: "lobby".into(),
            settings: RoomSettings {
                topic: "be kind".into(),
                slow: 10,
                roles: BTreeMap::from([
                    ("ada".into(), Role::Owner),
                    ("bob".into(), Role::Moderator),
                ]),
            },
        },
        r#"{"type":"room_state","room":"lobby","topic":"be kind","slow":10,"roles":{"ada":"owner","bob":"moderator"}}"#,
    );
    server(
        ServerMsg::RoomState {
            room: "rust".into(),
            settings: RoomSettings::default(),
        },
        r#"{"type":"room_state","room":"rust"}"#,
    );
    server(
        ServerMsg::Moderated {
            room: "lobby".into(),
            by: "ada".into(),
            action: Moderation::Ban {
                target: "bob".into(),
                until: Some(1_765_000_000_000),
                reason: Some("spam".into()),
            },
        },
        r#"{"type":"moderated","room":"lobby","by":"ada","action":"ban","target":"bob","until":1765000000000,"reason":"spam"}"#,
    );
    server(
        ServerMsg::Moderated {
            room: "lobby".into(),
            by: "ada".into(),
            action: Moderation::Topic {
                topic: "be kind".into(),
            },
        },
        r#"{"type":"moderated","room":"lobby","by":"ada","action":"topic","topic":"be kind"}"#,
    );
    server(
        ServerMsg::ModLog {
            room: "lobby".into(),
            entries: vec![ModLogEntry {
                id: 3,
                ts: 1_764_028_800_000,
                by: "ada".into(),
                action: Moderation::Delete {
                    target: "bob".into(),
                    seq: 42,
                },
            }],
            has_older: false,
        },
        r#"{"type":"mod_log","room":"lobby","entries":[{"id":3,"ts":1764028800000,"by":"ada","action":"delete","target":"bob","seq":42}],"has_older":false}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            room: "lobby".into(),
            seq: 43,
            ts: 1_764_028_800_000,
            nick: "ada".into(),
            text: String::new(),
            kind: MessageKind::Delete,
            attachment: None,
            target: Some(42),
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }),
        r#"{"type":"message","room":"lobby","seq":43,"ts":1764028800000,"nick":"ada","text":"","kind":"delete","target":42}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            room: "lobby".into(),
            seq: 42,
            ts: 1_764_028_790_000,
            nick: "bob".into(),
            text: String::new(),
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: true,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }),
        r#"{"type":"message","room":"lobby","seq":42,"ts":1764028790000,"nick":"bob","text":"","deleted":true}"#,
    );
}

/// A message of `room` lobby at a fixed time, for the tests below.
fn lobby(seq: u64, nick: &str, text: &str, kind: MessageKind) -> ChatMessage {
    ChatMessage {
        room: "lobby".into(),
        seq,
        ts: 1_764_028_800_000,
        nick: nick.into(),
        text: text.into(),
        kind,
        attachment: None,
        target: None,
        deleted: false,
        quote: None,
        edited: None,
        reactions: Vec::new(),
        rev: 0,
    }
}

#[test]
fn messages_that_live() {
    client(
        ClientMsg::Send {
            id: "c3".into(),
            room: "lobby".into(),
            text: "yes!".into(),
            kind: MessageKind::Text,
            reply_to: Some(41),
        },
        r#"{"type":"send","id":"c3","room":"lobby","text":"yes!","reply_to":41}"#,
    );
    client(
        ClientMsg::Edit {
            id: "c4".into(),
            room: "lobby".into(),
            seq: 42,
            text: "fixed".into(),
        },
        r#"{"type":"edit","id":"c4","room":"lobby","seq":42,"text":"fixed"}"#,
    );
    client(
        ClientMsg::React {
            room: "lobby".into(),
            seq: 42,
            emoji: "👍".into(),
            remove: false,
        },
        r#"{"type":"react","room":"lobby","seq":42,"emoji":"👍"}"#,
    );
    client(
        ClientMsg::React {
            room: "lobby".into(),
            seq: 42,
            emoji: "👍".into(),
            remove: true,
        },
        r#"{"type":"react","room":"lobby","seq":42,"emoji":"👍","remove":true}"#,
    );
    client(
        ClientMsg::Read {
            room: "lobby".into(),
            seq: 44,
        },
        r#"{"type":"read","room":"lobby","seq":44}"#,
    );
    client(ClientMsg::Unread, r#"{"type":"unread"}"#);
    client(
        ClientMsg::Search {
            q: "release notes".into(),
            room: Some("lobby".into()),
            before: Some(120),
        },
        r#"{"type":"search","q":"release notes","room":"lobby","before":120}"#,
    );
    client(
        ClientMsg::Search {
            q: "release".into(),
            room: None,
            before: None,
        },
        r#"{"type":"search","q":"release"}"#,
    );

    // A reply, as history returns it after an edit and two reactions.
    server(
        ServerMsg::Message(ChatMessage {
            quote: Some(Box::new(Quote::of(41, "ada", "shall we ship it?", false))),
            edited: Some(1_764_028_860_000),
            reactions: vec![
                Reaction {
                    emoji: "🎉".into(),
                    nicks: vec!["ada".into(), "carol".into()],
                },
                Reaction {
                    emoji: "👀".into(),
                    nicks: vec!["dan".into()],
                },
            ],
            rev: 47,
            ..lobby(42, "bob", "yes, today", MessageKind::Text)
        }),
        r#"{"type":"message","room":"lobby","seq":42,"ts":1764028800000,"nick":"bob","text":"yes, today","quote":{"seq":41,"nick":"ada","text":"shall we ship it?"},"edited":1764028860000,"reactions":[{"emoji":"🎉","nicks":["ada","carol"]},{"emoji":"👀","nicks":["dan"]}],"rev":47}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            quote: Some(Box::new(Quote::of(41, "ada", "gone", true))),
            ..lobby(43, "bob", "what did you say?", MessageKind::Text)
        }),
        r#"{"type":"message","room":"lobby","seq":43,"ts":1764028800000,"nick":"bob","text":"what did you say?","quote":{"seq":41,"nick":"ada","text":"","deleted":true}}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            target: Some(42),
            ..lobby(44, "bob", "yes, today", MessageKind::Edit)
        }),
        r#"{"type":"message","room":"lobby","seq":44,"ts":1764028800000,"nick":"bob","text":"yes, today","kind":"edit","target":42}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            target: Some(42),
            quote: Some(Box::new(Quote::of(42, "bob", "yes, today", false))),
            ..lobby(45, "ada", "🎉", MessageKind::React)
        }),
        r#"{"type":"message","room":"lobby","seq":45,"ts":1764028800000,"nick":"ada","text":"🎉","kind":"react","target":42,"quote":{"seq":42,"nick":"bob","text":"yes, today"}}"#,
    );
    server(
        ServerMsg::Message(ChatMessage {
            target: Some(42),
            ..lobby(46, "ada", "🎉", MessageKind::Unreact)
        }),
        r#"{"type":"message","room":"lobby","seq":46,"ts":1764028800000,"nick":"ada","text":"🎉","kind":"unreact","target":42}"#,
    );
    server(
        ServerMsg::Read {
            room: "lobby".into(),
            seq: 46,
        },
        r#"{"type":"read","room":"lobby","seq":46}"#,
    );
    server(
        ServerMsg::Unread {
            rooms: vec![UnreadCount {
                room: "lobby".into(),
                read: 40,
                unread: 5,
                mentions: 1,
                head: 47,
            }],
        },
        r#"{"type":"unread","rooms":[{"room":"lobby","read":40,"unread":5,"mentions":1,"head":47}]}"#,
    );
    server(
        ServerMsg::SearchResults {
            q: "ship".into(),
            results: vec![SearchHit {
                room: "lobby".into(),
                seq: 41,
                ts: 1_764_028_800_000,
                nick: "ada".into(),
                snippet: vec!["shall we ".into(), "ship".into(), " it?".into()],
            }],
            next: Some(41),
        },
        r#"{"type":"search_results","q":"ship","results":[{"room":"lobby","seq":41,"ts":1764028800000,"nick":"ada","snippet":["shall we ","ship"," it?"]}],"next":41}"#,
    );
    server(
        ServerMsg::error(ErrorCode::EditWindowOver, "too late"),
        r#"{"type":"error","code":"edit_window_over","message":"too late"}"#,
    );
}
