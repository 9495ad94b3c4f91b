//! Reading the server's messages ([`ServerMsg::from_json`], for every
//! client): the tag (`"type"`) first, then the message's fields straight
//! from the text.
//!
//! Why not serde's derived decoder: it reads an internally tagged enum (and
//! a `flatten`ed field) by buffering the whole object in a generic tree and
//! reading it again from there, and the code for that, for every variant,
//! was about 18 KB of the web client's gzipped bundle. A `message` is read
//! by `ChatMessage`'s own decoder; every other message by one reader,
//! [`Fields`], that reads each key as what it is in a message of that type
//! and skips the rest (one reader for all, where a struct per message cost
//! the bundle serde's struct-reading code for each: 6 KB gzipped), so
//! that, as with the derived decoder, fields a message does not have are
//! ignored whatever they hold. The derived decoder is kept for the tests
//! only, as the oracle: they decode a sample of every variant, written by
//! [`ServerMsg::to_json`], back to the same value, check that both decoders
//! agree on what newer and older peers send, and match every variant
//! without a wildcard, so a message or field added to the protocol does
//! not compile here until it is read.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{
    DeserializeSeed, Error as _, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer};

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
    if kind == "message" {
        // What most messages are, read by its own decoder.
        return Ok(ServerMsg::Message(serde_json::from_str(line)?));
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let f = de.deserialize_map(FieldsOf { kind })?;
    de.end()?;
    message(kind, f)
}

/// Every other message from the fields it has.
fn message(kind: &str, mut f: Fields) -> Result<ServerMsg, serde_json::Error> {
    // Each message reads these once; taken out, the other fields stay.
    let (room, nick) = (f.room.take(), f.nick.take());
    Ok(match kind {
        "history" => ServerMsg::History {
            room: need(room, "room")?,
            messages: need(f.messages, "messages")?,
            has_older: need(f.has_older, "has_older")?,
        },
        "rooms" => ServerMsg::Rooms {
            rooms: need(f.room_list, "rooms")?,
        },
        "welcome" => ServerMsg::Welcome {
            nick: need(nick, "nick")?,
            server: need(f.server, "server")?,
            limits: need(f.limits, "limits")?,
            account: f.account.unwrap_or_default(),
            token: f.token,
            expires: f.expires,
        },
        "moderated" => ServerMsg::Moderated {
            action: moderation(&f)?,
            room: need(room, "room")?,
            by: need(f.by, "by")?,
        },
        "mod_log" => {
            let mut entries = Vec::new();
            for e in need(f.entries, "entries")? {
                entries.push(ModLogEntry {
                    action: moderation(&e)?,
                    id: need(e.entry, "id")?,
                    ts: need(e.ts, "ts")?,
                    by: need(e.by, "by")?,
                });
            }
            ServerMsg::ModLog {
                room: need(room, "room")?,
                entries,
                has_older: need(f.has_older, "has_older")?,
            }
        }
        "joined" => ServerMsg::Joined {
            room: need(room, "room")?,
            members: need(f.members, "members")?,
            head: f.head.unwrap_or_default(),
        },
        "members" => ServerMsg::Members {
            room: need(room, "room")?,
            members: need(f.members, "members")?,
        },
        "typing" => ServerMsg::Typing {
            room: need(room, "room")?,
            nick: need(nick, "nick")?,
        },
        "user_joined" => ServerMsg::UserJoined {
            room: need(room, "room")?,
            nick: need(nick, "nick")?,
        },
        "user_left" => ServerMsg::UserLeft {
            room: need(room, "room")?,
            nick: need(nick, "nick")?,
        },
        "left" => ServerMsg::Left {
            room: need(room, "room")?,
        },
        "ack" => ServerMsg::Ack {
            id: need(f.id, "id")?,
            room: need(room, "room")?,
            seq: need(f.seq, "seq")?,
            ts: need(f.ts, "ts")?,
        },
        "error" => ServerMsg::Error {
            code: error_code(&need(f.code, "code")?)?,
            message: need(f.message, "message")?,
            id: f.id,
        },
        "room_state" => ServerMsg::RoomState {
            room: need(room, "room")?,
            settings: RoomSettings {
                topic: f.topic.unwrap_or_default(),
                slow: f.slow.unwrap_or_default(),
                roles: f.roles.unwrap_or_default(),
            },
        },
        "gap" => ServerMsg::Gap {
            room: need(room, "room")?,
            from: need(f.from, "from")?,
            to: need(f.to, "to")?,
        },
        "nick_changed" => ServerMsg::NickChanged {
            old: need(f.old, "old")?,
            new: need(f.new, "new")?,
            rooms: need(f.room_names, "rooms")?,
        },
        "registered" => ServerMsg::Registered {
            nick: need(nick, "nick")?,
            token: need(f.token, "token")?,
            expires: need(f.expires, "expires")?,
        },
        "invite" => ServerMsg::Invite {
            code: Secret::new(need(f.code, "code")?),
            expires: need(f.expires, "expires")?,
        },
        "read" => ServerMsg::Read {
            room: need(room, "room")?,
            seq: need(f.seq, "seq")?,
        },
        "unread" => ServerMsg::Unread {
            rooms: need(f.counts, "rooms")?,
        },
        "search_results" => ServerMsg::SearchResults {
            q: need(f.q, "q")?,
            results: need(f.results, "results")?,
            next: f.next,
        },
        other => return Err(serde_json::Error::custom(format!("unknown type {other}"))),
    })
}

/// The fields of the message of type `kind`, read in one pass over the
/// object: each key is read as what it is in that message, and a key the
/// message does not have is skipped whatever it holds (another message's
/// field of another type, or one a newer server added). One reader for
/// every message rather than one per message: each costs the web client's
/// bundle its own copy of serde's struct-reading code.
#[derive(Default)]
struct Fields {
    room: Option<String>,
    nick: Option<String>,
    members: Option<Vec<String>>,
    head: Option<u64>,
    messages: Option<Vec<ChatMessage>>,
    has_older: Option<bool>,
    server: Option<String>,
    limits: Option<Limits>,
    account: Option<bool>,
    token: Option<Secret>,
    expires: Option<i64>,
    id: Option<String>,
    seq: Option<u64>,
    ts: Option<i64>,
    /// Read as text: [`error_code`] names the error codes this build knows;
    /// an invite's code is a secret.
    code: Option<String>,
    message: Option<String>,
    topic: Option<String>,
    slow: Option<u32>,
    roles: Option<BTreeMap<String, Role>>,
    from: Option<u64>,
    to: Option<u64>,
    old: Option<String>,
    new: Option<String>,
    /// `rooms` is three things: the directory, the rooms a nickname
    /// changed in, the unread counts.
    room_list: Option<Vec<RoomInfo>>,
    room_names: Option<Vec<String>>,
    counts: Option<Vec<UnreadCount>>,
    q: Option<String>,
    results: Option<Vec<SearchHit>>,
    next: Option<u64>,
    entries: Option<Vec<Fields>>,
    // A moderation action (`moderated`, or an `entry` of `mod_log`), with
    // `topic` and `seq` above; an entry's `id` is a number.
    by: Option<String>,
    action: Option<String>,
    target: Option<String>,
    reason: Option<String>,
    until: Option<i64>,
    seconds: Option<u32>,
    role: Option<Role>,
    entry: Option<u64>,
}

struct FieldsOf<'k> {
    kind: &'k str,
}

impl<'de> Visitor<'de> for FieldsOf<'_> {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut f = Fields::default();
        while let Some(key) = map.next_key::<String>()? {
            match (self.kind, key.as_str()) {
                (
                    "history" | "mod_log" | "joined" | "members" | "typing" | "user_joined"
                    | "user_left" | "left" | "ack" | "room_state" | "gap" | "read" | "moderated",
                    "room",
                ) => f.room = Some(map.next_value()?),
                ("typing" | "user_joined" | "user_left" | "welcome" | "registered", "nick") => {
                    f.nick = Some(map.next_value()?);
                }
                ("joined" | "members", "members") => f.members = Some(map.next_value()?),
                ("joined", "head") => f.head = Some(map.next_value()?),
                ("history", "messages") => f.messages = Some(map.next_value()?),
                ("history" | "mod_log", "has_older") => f.has_older = Some(map.next_value()?),
                ("welcome", "server") => f.server = Some(map.next_value()?),
                ("welcome", "limits") => f.limits = Some(map.next_value()?),
                ("welcome", "account") => f.account = Some(map.next_value()?),
                ("welcome" | "registered", "token") => f.token = map.next_value()?,
                ("welcome" | "registered" | "invite", "expires") => f.expires = map.next_value()?,
                ("ack" | "error", "id") => f.id = map.next_value()?,
                ("ack" | "read" | "moderated" | "entry", "seq") => f.seq = Some(map.next_value()?),
                ("ack" | "entry", "ts") => f.ts = Some(map.next_value()?),
                ("error" | "invite", "code") => f.code = Some(map.next_value()?),
                ("error", "message") => f.message = Some(map.next_value()?),
                ("room_state" | "moderated" | "entry", "topic") => {
                    f.topic = Some(map.next_value()?);
                }
                ("room_state", "slow") => f.slow = Some(map.next_value()?),
                ("room_state", "roles") => f.roles = Some(map.next_value()?),
                ("gap", "from") => f.from = Some(map.next_value()?),
                ("gap", "to") => f.to = Some(map.next_value()?),
                ("nick_changed", "old") => f.old = Some(map.next_value()?),
                ("nick_changed", "new") => f.new = Some(map.next_value()?),
                ("nick_changed", "rooms") => f.room_names = Some(map.next_value()?),
                ("rooms", "rooms") => f.room_list = Some(map.next_value()?),
                ("unread", "rooms") => f.counts = Some(map.next_value()?),
                ("search_results", "q") => f.q = Some(map.next_value()?),
                ("search_results", "results") => f.results = Some(map.next_value()?),
                ("search_results", "next") => f.next = map.next_value()?,
                ("mod_log", "entries") => f.entries = Some(map.next_value_seed(Entries)?),
                ("moderated" | "entry", "by") => f.by = Some(map.next_value()?),
                ("moderated" | "entry", "action") => f.action = Some(map.next_value()?),
                ("moderated" | "entry", "target") => f.target = Some(map.next_value()?),
                ("moderated" | "entry", "reason") => f.reason = map.next_value()?,
                ("moderated" | "entry", "until") => f.until = map.next_value()?,
                ("moderated" | "entry", "seconds") => f.seconds = Some(map.next_value()?),
                ("moderated" | "entry", "role") => f.role = Some(map.next_value()?),
                ("entry", "id") => f.entry = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(f)
    }
}

/// A `mod_log`'s entries, each read as an `entry`.
struct Entries;

impl<'de> DeserializeSeed<'de> for Entries {
    type Value = Vec<Fields>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Vec<Fields>, D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries {
    type Value = Vec<Fields>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of log entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Fields>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element_seed(FieldsOf { kind: "entry" })? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl<'de> DeserializeSeed<'de> for FieldsOf<'_> {
    type Value = Fields;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Fields, D::Error> {
        de.deserialize_map(self)
    }
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
fn moderation(f: &Fields) -> Result<Moderation, serde_json::Error> {
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
