//! Reading the server's messages ([`ServerMsg::from_json`], for every
//! client): the tag (`"type"`) first, then the variant's fields straight
//! from the text.
//!
//! Why not serde's derived decoder: it reads an internally tagged enum (and
//! a `flatten`ed field) by buffering the whole object in a generic tree and
//! reading it again from there, and the code for that, for every variant,
//! was about 18 KB of the web client's gzipped bundle. Each message is read
//! here from a struct of its own fields, so that, as with the derived
//! decoder, fields a message does not have are ignored whatever they hold.
//! The derived decoder is kept for the tests only, as the oracle: they
//! decode a sample of every variant, written by [`ServerMsg::to_json`],
//! back to the same value, check that both decoders agree on what newer and
//! older peers send, and match every variant without a wildcard, so a
//! message or field added to the protocol does not compile here until it is
//! read.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{Error as _, IntoDeserializer};

use super::{
    ChatMessage, ErrorCode, ModLogEntry, Moderation, Role, RoomInfo, RoomSettings, SearchHit,
    Secret, ServerMsg, UnreadCount,
};
use crate::limits::Limits;

/// Decodes one message (one line of a frame).
pub(super) fn server_msg(line: &str) -> Result<ServerMsg, serde_json::Error> {
    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
    }
    let Tag { kind } = serde_json::from_str(line)?;
    Ok(match kind {
        "message" => ServerMsg::Message(serde_json::from_str::<ChatMessage>(line)?),
        "history" => {
            let f: HistoryFields = serde_json::from_str(line)?;
            ServerMsg::History {
                room: f.room,
                messages: f.messages,
                has_older: f.has_older,
            }
        }
        "rooms" => {
            let f: RoomsFields = serde_json::from_str(line)?;
            ServerMsg::Rooms { rooms: f.rooms }
        }
        "welcome" => {
            let f: WelcomeFields = serde_json::from_str(line)?;
            ServerMsg::Welcome {
                nick: f.nick,
                server: f.server,
                limits: f.limits,
                account: f.account,
                token: f.token,
                expires: f.expires,
            }
        }
        "moderated" => {
            let f: ActionFields = serde_json::from_str(line)?;
            ServerMsg::Moderated {
                action: moderation(&f)?,
                room: need(f.room, "room")?,
                by: need(f.by, "by")?,
            }
        }
        "mod_log" => {
            let f: ModLogFields = serde_json::from_str(line)?;
            let mut entries = Vec::with_capacity(f.entries.len());
            for e in f.entries {
                entries.push(ModLogEntry {
                    action: moderation(&e)?,
                    id: need(e.id, "id")?,
                    ts: need(e.ts, "ts")?,
                    by: need(e.by, "by")?,
                });
            }
            ServerMsg::ModLog {
                room: f.room,
                entries,
                has_older: f.has_older,
            }
        }
        _ => plain(kind, line)?,
    })
}

/// The other messages, each from the fields it has (and only those: a field
/// of one message is no business of another's).
fn plain(kind: &str, line: &str) -> Result<ServerMsg, serde_json::Error> {
    Ok(match kind {
        "joined" => {
            let f: RoomMembers = serde_json::from_str(line)?;
            ServerMsg::Joined {
                room: f.room,
                members: f.members,
                head: f.head,
            }
        }
        "members" => {
            let f: RoomMembers = serde_json::from_str(line)?;
            ServerMsg::Members {
                room: f.room,
                members: f.members,
            }
        }
        "typing" | "user_joined" | "user_left" => {
            let RoomNick { room, nick } = serde_json::from_str(line)?;
            match kind {
                "typing" => ServerMsg::Typing { room, nick },
                "user_joined" => ServerMsg::UserJoined { room, nick },
                _ => ServerMsg::UserLeft { room, nick },
            }
        }
        "left" => {
            let f: RoomOnly = serde_json::from_str(line)?;
            ServerMsg::Left { room: f.room }
        }
        "ack" => {
            let f: AckFields = serde_json::from_str(line)?;
            ServerMsg::Ack {
                id: f.id,
                room: f.room,
                seq: f.seq,
                ts: f.ts,
            }
        }
        "error" => {
            let f: ErrorFields = serde_json::from_str(line)?;
            ServerMsg::Error {
                code: error_code(&f.code)?,
                message: f.message,
                id: f.id,
            }
        }
        "room_state" => {
            let f: RoomStateFields = serde_json::from_str(line)?;
            ServerMsg::RoomState {
                room: f.room,
                settings: RoomSettings {
                    topic: f.topic,
                    slow: f.slow,
                    roles: f.roles,
                },
            }
        }
        "gap" => {
            let f: GapFields = serde_json::from_str(line)?;
            ServerMsg::Gap {
                room: f.room,
                from: f.from,
                to: f.to,
            }
        }
        "nick_changed" => {
            let f: NickChangedFields = serde_json::from_str(line)?;
            ServerMsg::NickChanged {
                old: f.old,
                new: f.new,
                rooms: f.rooms,
            }
        }
        "registered" => {
            let f: RegisteredFields = serde_json::from_str(line)?;
            ServerMsg::Registered {
                nick: f.nick,
                token: f.token,
                expires: f.expires,
            }
        }
        "invite" => {
            let f: InviteFields = serde_json::from_str(line)?;
            ServerMsg::Invite {
                code: f.code,
                expires: f.expires,
            }
        }
        "read" => {
            let f: ReadFields = serde_json::from_str(line)?;
            ServerMsg::Read {
                room: f.room,
                seq: f.seq,
            }
        }
        "unread" => {
            let f: UnreadFields = serde_json::from_str(line)?;
            ServerMsg::Unread { rooms: f.rooms }
        }
        "search_results" => {
            let f: SearchFields = serde_json::from_str(line)?;
            ServerMsg::SearchResults {
                q: f.q,
                results: f.results,
                next: f.next,
            }
        }
        other => return Err(serde_json::Error::custom(format!("unknown type {other}"))),
    })
}

fn need<T>(field: Option<T>, name: &'static str) -> Result<T, serde_json::Error> {
    field.ok_or_else(|| serde_json::Error::missing_field(name))
}

/// An error's code, unknown ones included (as [`ErrorCode::Unknown`]).
fn error_code(code: &str) -> Result<ErrorCode, serde_json::Error> {
    ErrorCode::deserialize(code.into_deserializer())
}

/// A moderation action from the fields of the object it is flattened into
/// (`moderated`, or an entry of `mod_log`), tagged by `action`.
fn moderation(f: &ActionFields) -> Result<Moderation, serde_json::Error> {
    let target = || need(f.target.clone(), "target");
    let reason = f.reason.clone();
    Ok(match f.action.as_deref() {
        Some("kick") => Moderation::Kick {
            target: target()?,
            reason,
        },
        Some("ban") => Moderation::Ban {
            target: target()?,
            until: f.until,
            reason,
        },
        Some("unban") => Moderation::Unban { target: target()? },
        Some("mute") => Moderation::Mute {
            target: target()?,
            until: f.until,
            reason,
        },
        Some("unmute") => Moderation::Unmute { target: target()? },
        Some("slow") => Moderation::Slow {
            seconds: need(f.seconds, "seconds")?,
        },
        Some("topic") => Moderation::Topic {
            topic: need(f.topic.clone(), "topic")?,
        },
        Some("role") => Moderation::Role {
            target: target()?,
            role: need(f.role, "role")?,
        },
        Some("delete") => Moderation::Delete {
            target: target()?,
            seq: need(f.seq, "seq")?,
        },
        Some(other) => {
            return Err(serde_json::Error::custom(format!(
                "unknown moderation action {other}"
            )));
        }
        None => return Err(serde_json::Error::missing_field("action")),
    })
}

#[derive(Deserialize)]
struct WelcomeFields {
    nick: String,
    server: String,
    limits: Limits,
    #[serde(default)]
    account: bool,
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default)]
    expires: Option<i64>,
}

#[derive(Deserialize)]
struct HistoryFields {
    room: String,
    messages: Vec<ChatMessage>,
    has_older: bool,
}

#[derive(Deserialize)]
struct ReadFields {
    room: String,
    seq: u64,
}

#[derive(Deserialize)]
struct UnreadFields {
    rooms: Vec<UnreadCount>,
}

#[derive(Deserialize)]
struct SearchFields {
    q: String,
    results: Vec<SearchHit>,
    #[serde(default)]
    next: Option<u64>,
}

#[derive(Deserialize)]
struct RoomsFields {
    rooms: Vec<RoomInfo>,
}

#[derive(Deserialize)]
struct ModLogFields {
    room: String,
    entries: Vec<ActionFields>,
    has_older: bool,
}

#[derive(Deserialize)]
struct RoomMembers {
    room: String,
    members: Vec<String>,
    #[serde(default)]
    head: u64,
}

#[derive(Deserialize)]
struct RoomNick {
    room: String,
    nick: String,
}

#[derive(Deserialize)]
struct RoomOnly {
    room: String,
}

#[derive(Deserialize)]
struct AckFields {
    id: String,
    room: String,
    seq: u64,
    ts: i64,
}

#[derive(Deserialize)]
struct ErrorFields {
    /// Read as text: [`error_code`] names the ones this build knows.
    code: String,
    message: String,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct RoomStateFields {
    room: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    slow: u32,
    #[serde(default)]
    roles: BTreeMap<String, Role>,
}

#[derive(Deserialize)]
struct GapFields {
    room: String,
    from: u64,
    to: u64,
}

#[derive(Deserialize)]
struct NickChangedFields {
    old: String,
    new: String,
    rooms: Vec<String>,
}

#[derive(Deserialize)]
struct RegisteredFields {
    nick: String,
    token: Secret,
    expires: i64,
}

#[derive(Deserialize)]
struct InviteFields {
    code: Secret,
    expires: i64,
}

/// A moderation action's fields, with those of the object around it: a
/// `moderated` (`room`, `by`) or a log entry (`id`, `ts`, `by`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ActionFields {
    room: Option<String>,
    by: Option<String>,
    id: Option<u64>,
    ts: Option<i64>,
    action: Option<String>,
    target: Option<String>,
    reason: Option<String>,
    until: Option<i64>,
    seconds: Option<u32>,
    topic: Option<String>,
    role: Option<Role>,
    seq: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Quote, Reaction};
    use crate::{Attachment, MessageKind};

    fn chat(seq: u64) -> ChatMessage {
        ChatMessage {
            room: "lobby".into(),
            seq,
            ts: 1_764_028_800_000,
            nick: "bob".into(),
            text: "hi \"there\"\nsecond line".into(),
            kind: MessageKind::Action,
            attachment: Some(Attachment {
                id: "3f2a".into(),
                name: "cat.png".into(),
                size: 48_213,
                content_type: "image/png".into(),
            }),
            target: Some(3),
            deleted: true,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }
    }

    /// One of every moderation action, every field set.
    fn actions() -> Vec<Moderation> {
        let target = || "bob".to_owned();
        let reason = || Some("spam".to_owned());
        vec![
            Moderation::Kick {
                target: target(),
                reason: reason(),
            },
            Moderation::Ban {
                target: target(),
                until: Some(1_765_000_000_000),
                reason: reason(),
            },
            Moderation::Ban {
                target: target(),
                until: None,
                reason: None,
            },
            Moderation::Unban { target: target() },
            Moderation::Mute {
                target: target(),
                until: Some(1_765_000_000_000),
                reason: reason(),
            },
            Moderation::Unmute { target: target() },
            Moderation::Slow { seconds: 30 },
            Moderation::Topic {
                topic: "be kind".into(),
            },
            Moderation::Topic {
                topic: String::new(),
            },
            Moderation::Role {
                target: target(),
                role: Role::Moderator,
            },
            Moderation::Delete {
                target: target(),
                seq: 42,
            },
        ]
    }

    /// One of every message, every field set (and some with the optional
    /// ones left out).
    fn messages() -> Vec<ServerMsg> {
        let room = || "lobby".to_owned();
        let mut all = vec![
            ServerMsg::Welcome {
                nick: "ada".into(),
                server: "0.1.0".into(),
                limits: Limits::V1,
                account: true,
                token: Some(Secret::new("t0k")),
                expires: Some(1_766_620_800_000),
            },
            ServerMsg::Welcome {
                nick: "guest".into(),
                server: "0.1.0".into(),
                limits: Limits::V1,
                account: false,
                token: None,
                expires: None,
            },
            ServerMsg::Registered {
                nick: "ada".into(),
                token: Secret::new("s3"),
                expires: 1_766_620_800_000,
            },
            ServerMsg::Joined {
                room: room(),
                members: vec!["ada".into(), "bob".into()],
                head: 41,
            },
            ServerMsg::History {
                room: room(),
                messages: vec![chat(1), chat(2)],
                has_older: true,
            },
            ServerMsg::Gap {
                room: room(),
                from: 43,
                to: 2042,
            },
            ServerMsg::Typing {
                room: room(),
                nick: "bob".into(),
            },
            ServerMsg::Rooms {
                rooms: vec![RoomInfo {
                    room: room(),
                    members: 2,
                }],
            },
            ServerMsg::Left { room: room() },
            ServerMsg::RoomState {
                room: room(),
                settings: RoomSettings {
                    topic: "be kind".into(),
                    slow: 10,
                    roles: BTreeMap::from([
                        ("ada".into(), Role::Owner),
                        ("bob".into(), Role::Moderator),
                        ("op".into(), Role::Operator),
                    ]),
                },
            },
            ServerMsg::RoomState {
                room: room(),
                settings: RoomSettings::default(),
            },
            ServerMsg::ModLog {
                room: room(),
                entries: actions()
                    .into_iter()
                    .enumerate()
                    .map(|(i, action)| ModLogEntry {
                        id: i as u64 + 1,
                        ts: 1_764_028_800_000 + i as i64,
                        by: "ada".into(),
                        action,
                    })
                    .collect(),
                has_older: true,
            },
            ServerMsg::ModLog {
                room: room(),
                entries: Vec::new(),
                has_older: false,
            },
            ServerMsg::Invite {
                code: Secret::new("c0de"),
                expires: 1_765_000_000_000,
            },
            ServerMsg::UserJoined {
                room: room(),
                nick: "carol".into(),
            },
            ServerMsg::UserLeft {
                room: room(),
                nick: "carol".into(),
            },
            ServerMsg::Members {
                room: room(),
                members: vec!["ada".into()],
            },
            ServerMsg::NickChanged {
                old: "bob".into(),
                new: "robert".into(),
                rooms: vec![room(), "rust".into()],
            },
            ServerMsg::Message(chat(44)),
            ServerMsg::Message(ChatMessage {
                kind: MessageKind::Delete,
                attachment: None,
                deleted: false,
                text: String::new(),
                ..chat(45)
            }),
            ServerMsg::Message(ChatMessage {
                kind: MessageKind::Text,
                attachment: None,
                deleted: false,
                quote: Some(Box::new(Quote::of(40, "ada", "the question", false))),
                edited: Some(1_764_028_900_000),
                reactions: vec![Reaction {
                    emoji: "👍".into(),
                    nicks: vec!["ada".into(), "carol".into()],
                }],
                rev: 47,
                ..chat(46)
            }),
            ServerMsg::Read {
                room: room(),
                seq: 46,
            },
            ServerMsg::Unread {
                rooms: vec![UnreadCount {
                    room: room(),
                    read: 40,
                    unread: 6,
                    mentions: 1,
                    head: 47,
                }],
            },
            ServerMsg::SearchResults {
                q: "release".into(),
                results: vec![SearchHit {
                    room: room(),
                    seq: 12,
                    ts: 1_764_028_800_000,
                    nick: "ada".into(),
                    snippet: vec!["see the ".into(), "release".into(), " notes".into()],
                }],
                next: Some(12),
            },
            ServerMsg::SearchResults {
                q: "nothing".into(),
                results: Vec::new(),
                next: None,
            },
            ServerMsg::Ack {
                id: "c1".into(),
                room: room(),
                seq: 42,
                ts: 1_764_028_800_000,
            },
            ServerMsg::Error {
                code: ErrorCode::SlowMode,
                message: "wait".into(),
                id: Some("c3".into()),
            },
            ServerMsg::error(ErrorCode::NickRegistered, "registered"),
        ];
        all.extend(actions().into_iter().map(|action| ServerMsg::Moderated {
            room: room(),
            by: "ada".into(),
            action,
        }));
        all
    }

    /// Fails to compile when the protocol gains a message: read it in
    /// [`server_msg`], then add it to [`messages`] and here.
    fn sampled(msg: &ServerMsg) -> &'static str {
        match msg {
            ServerMsg::Welcome { .. } => "welcome",
            ServerMsg::Registered { .. } => "registered",
            ServerMsg::Joined { .. } => "joined",
            ServerMsg::History { .. } => "history",
            ServerMsg::Gap { .. } => "gap",
            ServerMsg::Typing { .. } => "typing",
            ServerMsg::Rooms { .. } => "rooms",
            ServerMsg::Left { .. } => "left",
            ServerMsg::RoomState { .. } => "room_state",
            ServerMsg::Moderated { .. } => "moderated",
            ServerMsg::ModLog { .. } => "mod_log",
            ServerMsg::Invite { .. } => "invite",
            ServerMsg::UserJoined { .. } => "user_joined",
            ServerMsg::UserLeft { .. } => "user_left",
            ServerMsg::Members { .. } => "members",
            ServerMsg::NickChanged { .. } => "nick_changed",
            ServerMsg::Message(_) => "message",
            ServerMsg::Ack { .. } => "ack",
            ServerMsg::Error { .. } => "error",
            ServerMsg::Read { .. } => "read",
            ServerMsg::Unread { .. } => "unread",
            ServerMsg::SearchResults { .. } => "search_results",
        }
    }

    /// The same, for moderation actions.
    fn sampled_action(action: &Moderation) -> &'static str {
        match action {
            Moderation::Kick { .. } => "kick",
            Moderation::Ban { .. } => "ban",
            Moderation::Unban { .. } => "unban",
            Moderation::Mute { .. } => "mute",
            Moderation::Unmute { .. } => "unmute",
            Moderation::Slow { .. } => "slow",
            Moderation::Topic { .. } => "topic",
            Moderation::Role { .. } => "role",
            Moderation::Delete { .. } => "delete",
        }
    }

    #[test]
    fn every_message_reads_back_as_the_server_wrote_it() {
        let all = messages();
        for msg in &all {
            let json = msg.to_json();
            assert_eq!(server_msg(&json).ok().as_ref(), Some(msg), "{json}");
        }
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(sampled).collect();
        assert_eq!(kinds.len(), 22, "a sample of every message: {kinds:?}");
        let actions: std::collections::BTreeSet<&str> =
            actions().iter().map(sampled_action).collect();
        assert_eq!(actions.len(), 9, "a sample of every action: {actions:?}");
    }

    #[test]
    fn it_reads_what_the_derived_decoder_reads_and_refuses_what_it_refuses() {
        for json in [
            // What a newer server may add, and what an older one leaves out.
            r#"{"type":"error","code":"shiny_new_code","message":"x","extra":1}"#,
            r#"{"type":"joined","room":"x","members":[]}"#,
            r#"{"type":"welcome","nick":"a","server":"1","limits":{"max_text_bytes":1,"max_nick_chars":1,"max_room_chars":1,"max_id_bytes":1},"colour":"red"}"#,
            r#"{"extra":[1,{"a":null}],"type":"message","room":"r","seq":1,"ts":2,"nick":"n","text":"t","kind":"sparkle"}"#,
            r#"{"type":"room_state","room":"r","roles":{"a":"owner"}}"#,
            r#"{"type":"moderated","room":"r","by":"a","action":"slow","seconds":0}"#,
            // Another message's field, of another type, is no business of
            // this one's.
            r#"{"type":"typing","room":"r","nick":"n","code":5,"seq":"x","members":{}}"#,
            r#"{"type":"error","code":"muted","message":"m","room":7}"#,
        ] {
            let ours = server_msg(json).ok();
            let derived = serde_json::from_str::<ServerMsg>(json).ok();
            assert!(ours.is_some(), "{json}");
            assert_eq!(ours, derived, "{json}");
        }
        for json in [
            "",
            "{",
            "[]",
            r#"{"type":"nope"}"#,
            r#"{"room":"x"}"#,
            r#"{"type":"joined","room":"x"}"#,
            r#"{"type":"ack","id":"c1","room":"r","seq":1}"#,
            r#"{"type":"moderated","room":"r","by":"a","action":"frobnicate"}"#,
            r#"{"type":"moderated","room":"r","by":"a","action":"kick"}"#,
            r#"{"type":"joined","room":5,"members":[]}"#,
        ] {
            assert!(server_msg(json).is_err(), "{json} decoded");
            assert!(
                serde_json::from_str::<ServerMsg>(json).is_err(),
                "{json} decodes derived"
            );
        }
    }
}
