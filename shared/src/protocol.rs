//! Protocol v1: the messages a `hubbub.v1` WebSocket client and the server exchange.
//!
//! Every message is one JSON object in one WebSocket text frame, tagged by its
//! `"type"` field. The golden tests at the bottom of this file pin the JSON of
//! each message, so any change to the wire shows up as a diff there (and must be
//! mirrored in `docs/protocol.md`).
//!
//! Compatibility rules, so that old clients keep working as the protocol grows:
//! new optional fields may be added to existing messages (decoders ignore unknown
//! fields), new message types may be added (clients ignore types they do not
//! know), and unknown error codes decode as [`ErrorCode::Unknown`].

use serde::{Deserialize, Serialize};

use crate::limits::Limits;

/// The WebSocket subprotocol that selects this protocol. A client that asks for
/// no subprotocol gets the plain-text mode instead (see [`crate::plain`]).
pub const SUBPROTOCOL: &str = "hubbub.v1";

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
    /// example after [`ErrorCode::NickTaken`]). Joins [`DEFAULT_ROOM`].
    Hello { nick: String },
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
    /// The client is now in `room`; `members` is its online list.
    Joined { room: String, members: Vec<String> },
    /// The client is no longer in `room`.
    Left { room: String },
    /// Someone else entered a room the client is in.
    UserJoined { room: String, nick: String },
    /// Someone else left a room the client is in (or disconnected).
    UserLeft { room: String, nick: String },
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
    fn client_messages() {
        client(
            ClientMsg::Hello {
                nick: "alice".into(),
            },
            r#"{"type":"hello","nick":"alice"}"#,
        );
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
            },
            r#"{"type":"joined","room":"lobby","members":["alice","bob"]}"#,
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
            }),
            r#"{"type":"message","room":"lobby","seq":43,"ts":1764028800500,"nick":"alice","text":"waves","kind":"action"}"#,
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
        let hello = ClientMsg::from_json(r#"{"type":"hello","nick":"a","resume":{}}"#).unwrap();
        assert_eq!(hello, ClientMsg::Hello { nick: "a".into() });
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
