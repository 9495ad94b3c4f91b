//! Protocol v1: the messages a `hubbub.v1` WebSocket client and the server exchange.
//!
//! Every message is one JSON object, tagged by its `"type"` field. Under
//! `hubbub.v1` each text frame carries one message; under `hubbub.v2` a text
//! frame from the server carries one or more, one per line (see
//! [`frame_messages`]). The golden tests at the bottom of this file pin the JSON of
//! each message, so any change to the wire shows up as a diff there (and must be
//! mirrored in `docs/protocol.md`).
//!
//! Compatibility rules, so that old clients keep working as the protocol grows:
//! new optional fields may be added to existing messages (decoders ignore unknown
//! fields), new message types may be added (clients ignore types they do not
//! know), and unknown error codes decode as [`ErrorCode::Unknown`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::Limits;

/// The WebSocket subprotocol that selects this protocol. A client that asks for
/// no subprotocol gets the plain-text mode instead (see [`crate::plain`]).
pub const SUBPROTOCOL: &str = "hubbub.v1";

/// The same messages, but a text frame from the server may carry several,
/// one per line: a server writing to a busy client sends what is queued for
/// it as one frame rather than a frame per message, which is less work on
/// both ends. A client that offers both subprotocols gets this one; frames
/// from the client still carry one message each.
pub const SUBPROTOCOL_BATCHED: &str = "hubbub.v2";

/// The messages in one text frame from the server, under either
/// subprotocol. A message's JSON never contains a line break (one inside a
/// string is escaped as `\n`), so lines are messages.
pub fn frame_messages(frame: &str) -> impl Iterator<Item = &str> {
    frame.split('\n').filter(|line| !line.is_empty())
}

/// The room everybody is in after saying hello, and the only room of
/// plain-text clients.
pub const DEFAULT_ROOM: &str = "lobby";

/// An id the client chooses for each message it sends. The server echoes it in
/// the [`ServerMsg::Ack`] (or [`ServerMsg::Error`]) for that message, so the
/// client can tell which of its messages were accepted.
pub type ClientMsgId = String;

/// Client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Register with a nickname. The first message of every connection; until
    /// it is accepted with [`ServerMsg::Welcome`] it may be sent again (for
    /// example after [`ErrorCode::NickTaken`]).
    ///
    /// Without `resume` the client joins [`DEFAULT_ROOM`] and gets its latest
    /// messages. A reconnecting client lists in `resume` every room it was in
    /// with the last sequence number it saw there (0 for none); it rejoins
    /// them and receives exactly the messages it missed, then live ones.
    Hello {
        nick: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        resume: BTreeMap<String, u64>,
    },
    /// Change nickname.
    Nick { nick: String },
    /// Join a room (created on first join).
    Join { room: String },
    /// Leave a room.
    Leave { room: String },
    /// Post a message to a room the client is in.
    Send {
        id: ClientMsgId,
        room: String,
        text: String,
        #[serde(default, skip_serializing_if = "MessageKind::is_text")]
        kind: MessageKind,
    },
    /// Send a direct message to the user `to`, who must be online. It lands
    /// in the two users' conversation, a room named by [`direct_room`] that
    /// only they can see; both are put in it.
    Direct {
        id: ClientMsgId,
        to: String,
        text: String,
        #[serde(default, skip_serializing_if = "MessageKind::is_text")]
        kind: MessageKind,
    },
    /// Ask for older messages of a room the client is in: those before
    /// sequence number `before`, newest last, at most `limit` (and at most
    /// [`crate::limits::MAX_HISTORY_PAGE`]).
    History {
        room: String,
        before: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// The client is typing in a room. Send it at most every few seconds
    /// while typing; the server drops more frequent ones.
    Typing { room: String },
    /// Ask for the list of rooms.
    Rooms,
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The nickname was accepted: the client is registered.
    Welcome {
        nick: String,
        /// The server's version, for display and bug reports.
        server: String,
        limits: Limits,
    },
    /// The client is now in `room`; `members` is its online list. `head` is
    /// the sequence number of the room's latest message (0 for none): the
    /// `history` that follows covers messages up to it, and live messages
    /// after it arrive as `message`.
    Joined {
        room: String,
        members: Vec<String>,
        #[serde(default)]
        head: u64,
    },
    /// Messages of a room, oldest first: the latest ones after joining, an
    /// older page asked for with `history`, or the messages missed while
    /// away. `has_older` says whether the room has messages before these.
    History {
        room: String,
        messages: Vec<ChatMessage>,
        has_older: bool,
    },
    /// The client missed more messages in `room` than the server replays:
    /// those from `from` to `to` are not sent. A `history` with the latest
    /// messages follows; show a marker where the hole is.
    Gap { room: String, from: u64, to: u64 },
    /// Someone in `room` is typing. Show it for a few seconds unless it comes
    /// again.
    Typing { room: String, nick: String },
    /// The rooms that exist now, with how many people are in each.
    Rooms { rooms: Vec<RoomInfo> },
    /// The client is no longer in `room`.
    Left { room: String },
    /// Someone else entered a room the client is in.
    UserJoined { room: String, nick: String },
    /// Someone else left a room the client is in (or disconnected).
    UserLeft { room: String, nick: String },
    /// The online list of `room` as it is now. Sent to a client that fell
    /// behind and caught up (its arrivals, departures and renames were not
    /// sent to it meanwhile): replace the room's list with this one.
    Members { room: String, members: Vec<String> },
    /// A user changed nickname. `rooms` lists every room that user is in;
    /// receivers update the online lists of the ones they share. The user
    /// who changed nickname receives it too, as confirmation.
    NickChanged {
        old: String,
        new: String,
        rooms: Vec<String>,
    },
    /// A chat message in a room.
    Message(ChatMessage),
    /// The sender's own message `id` was accepted as `seq` in `room`. Sent to
    /// the sender before the message itself comes back as [`ServerMsg::Message`].
    Ack {
        id: ClientMsgId,
        room: String,
        seq: u64,
        ts: i64,
    },
    /// Something the client sent was refused. The connection stays open.
    Error {
        code: ErrorCode,
        /// A sentence for a person, in English.
        message: String,
        /// The id of the refused `send`, when the error concerns one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<ClientMsgId>,
    },
}

/// A room in the room list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub room: String,
    pub members: u32,
}

/// The name of the conversation between two users: `@` and their two
/// nicknames in lowercase, sorted, joined by `+`. Room names proper never
/// start with `@`, so no room can be mistaken for a conversation.
pub fn direct_room(a: &str, b: &str) -> String {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    format!("@{first}+{second}")
}

/// The two nicknames (lowercase) of a conversation's room name, if it is one.
pub fn direct_members(room: &str) -> Option<(&str, &str)> {
    room.strip_prefix('@')?.split_once('+')
}

/// One chat message as the server stores and delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub room: String,
    /// Position in the room: strictly increasing, no gaps.
    pub seq: u64,
    /// Server time when the message was accepted, in milliseconds since the
    /// Unix epoch (UTC).
    pub ts: i64,
    pub nick: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "MessageKind::is_text")]
    pub kind: MessageKind,
    /// The file this message shares, if it announces an upload. Its `text` is
    /// then the file's name, so clients that do not show attachments still say
    /// what was shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// A file shared in a room, as the message announcing it describes it. The
/// bytes are fetched over HTTP: [`Attachment::download_path`] always as a
/// download, [`Attachment::preview_path`] inline, for the image types
/// [`Attachment::is_previewable`] names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The server's id of this upload (not the hash of its bytes).
    pub id: String,
    /// The file's name as the uploader gave it, cleaned: no path separators,
    /// no control characters, at most 255 bytes.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The media type the server determined, such as `image/png`.
    #[serde(rename = "type")]
    pub content_type: String,
}

/// The image types shown inline; the server verifies their magic bytes
/// before it labels an upload with one of them.
pub const PREVIEW_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

impl Attachment {
    /// Where the file is downloaded, relative to the server's HTTP root.
    pub fn download_path(&self) -> String {
        format!("/api/files/{}", self.id)
    }

    /// Where an image is served for showing inline.
    pub fn preview_path(&self) -> String {
        format!("/api/files/{}/inline", self.id)
    }

    /// Whether the server serves this file inline (verified images only).
    pub fn is_previewable(&self) -> bool {
        PREVIEW_TYPES.contains(&self.content_type.as_str())
    }
}

/// How a message is meant to be shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Ordinary text: `alice: hello`.
    #[default]
    Text,
    /// An action, written with `/me`: `* alice waves`.
    Action,
}

impl MessageKind {
    pub fn is_text(&self) -> bool {
        *self == MessageKind::Text
    }
}

/// Why something a client sent was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not a protocol message (bad JSON, unknown type, missing field).
    Malformed,
    /// The frame was binary; the protocol uses text frames.
    BinaryFrame,
    /// A message other than `hello` arrived before the client was welcomed.
    NotRegistered,
    /// `hello` arrived after the client was welcomed; use `nick` to rename.
    AlreadyRegistered,
    /// The nickname breaks the rules in [`crate::validate`].
    NickInvalid,
    /// Another user present has this nickname (or one that looks the same).
    NickTaken,
    /// The room name breaks the rules in [`crate::validate`].
    RoomInvalid,
    /// The client is not in the room it addressed.
    NotInRoom,
    /// The text is empty or only whitespace.
    TextEmpty,
    /// The text is longer than [`Limits::max_text_bytes`].
    TextTooLong,
    /// The message id is empty or too long.
    IdInvalid,
    /// The client sends faster than the server allows; the message was dropped.
    RateLimited,
    /// No user with that nickname is online.
    NoSuchUser,
    /// The server could not store the message; it was not delivered.
    StoreFailed,
    /// An error code this build does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl ClientMsg {
    /// Decodes one text frame.
    pub fn from_json(frame: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(frame)
    }

    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every field is a string, a
        // number, a list of strings or a unit enum, and no map has non-string keys.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ServerMsg {
    /// Decodes one text frame.
    pub fn from_json(frame: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(frame)
    }

    pub fn to_json(&self) -> String {
        // See `ClientMsg::to_json`: these types always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A refusal without a message id.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMsg::Error {
            code,
            message: message.into(),
            id: None,
        }
    }
}

#[cfg(test)]
mod golden {
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
            },
            r#"{"type":"hello","nick":"alice"}"#,
        );
        client(
            ClientMsg::Hello {
                nick: "alice".into(),
                resume: BTreeMap::from([("lobby".into(), 42), ("rust".into(), 0)]),
            },
            r#"{"type":"hello","nick":"alice","resume":{"lobby":42,"rust":0}}"#,
        );
        client(
            ClientMsg::Direct {
                id: "d1".into(),
                to: "bob".into(),
                text: "psst".into(),
                kind: MessageKind::Text,
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
            },
            r#"{"type":"send","id":"c1","room":"lobby","text":"hello"}"#,
        );
        client(
            ClientMsg::Send {
                id: "c2".into(),
                room: "lobby".into(),
                text: "waves".into(),
                kind: MessageKind::Action,
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
        ];
        for (code, name) in names {
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{name}\""));
        }
    }

    #[test]
    fn decoders_tolerate_what_newer_peers_add() {
        let msg = ServerMsg::from_json(
            r#"{"type":"error","code":"shiny_new_code","message":"x","extra":1}"#,
        )
        .unwrap();
        assert_eq!(msg, ServerMsg::error(ErrorCode::Unknown, "x"));
        let hello = ClientMsg::from_json(r#"{"type":"hello","nick":"a","colour":"red"}"#).unwrap();
        assert_eq!(
            hello,
            ClientMsg::Hello {
                nick: "a".into(),
                resume: BTreeMap::new()
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
}
