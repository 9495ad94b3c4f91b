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

mod auth;
mod decode;
mod moderation;
mod reactions;
mod reading;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::Limits;

pub use auth::{Credentials, Secret};
pub use moderation::{ModLogEntry, Moderation, Role, RoomSettings, utc};
pub use reactions::{QUICK_REACTIONS, Quote, Reaction};
pub use reading::{SearchHit, UnreadCount, mentions};

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
    ///
    /// With `auth` the client signs in to the account of `nick` (with its
    /// password) or to the account of a session (with its token, when `nick`
    /// is the account's). Without it, a browser whose session cookie came
    /// with the WebSocket handshake is signed in by it; anyone else is a
    /// guest, who may not take a registered nickname.
    Hello {
        nick: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        resume: BTreeMap<String, u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auth: Option<Credentials>,
    },
    /// Register the guest nickname this connection holds as an account with
    /// `password` (and an `invite` code, where registration is by invitation).
    /// Answered with [`ServerMsg::Registered`]: the connection is then
    /// signed in.
    Register {
        password: Secret,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite: Option<Secret>,
    },
    /// End this connection's session (`everywhere`: every session of the
    /// account). The server closes the connection; a client comes back as a
    /// guest or signs in again.
    SignOut {
        #[serde(default, skip_serializing_if = "is_false")]
        everywhere: bool,
    },
    /// Take `nick` out of `room` (moderators).
    Kick {
        room: String,
        nick: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Keep `nick` out of `room` for `minutes` (forever without it) and take
    /// them out now (moderators). A signed-in user is banned by account, a
    /// guest by address, for a day at most.
    Ban {
        room: String,
        nick: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Unban {
        room: String,
        nick: String,
    },
    /// Keep `nick` from posting in `room` for `minutes` (forever without it).
    Mute {
        room: String,
        nick: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Unmute {
        room: String,
        nick: String,
    },
    /// Slow mode: members may post in `room` once every `seconds` (0: off).
    Slow {
        room: String,
        seconds: u32,
    },
    /// Set `room`'s topic (empty: none).
    Topic {
        room: String,
        topic: String,
    },
    /// Give `nick` a role in `room` (owners; `member` takes a role away).
    Op {
        room: String,
        nick: String,
        role: Role,
    },
    /// Delete message `seq` of `room`: one's own (signed in), or anyone's
    /// (moderators). The room gets a message of kind `delete` naming it.
    Delete {
        room: String,
        seq: u64,
    },
    /// Ask for `room`'s moderation log, newest first (moderators): the
    /// entries before id `before`, at most `limit`.
    ModLog {
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Make an invite code for registration (server operators).
    Invite,
    /// Change nickname.
    Nick {
        nick: String,
    },
    /// Join a room (created on first join).
    Join {
        room: String,
    },
    /// Leave a room.
    Leave {
        room: String,
    },
    /// Post a message to a room the client is in; with `reply_to`, as an
    /// answer to that message of the room.
    Send {
        id: ClientMsgId,
        room: String,
        text: String,
        #[serde(default, skip_serializing_if = "MessageKind::is_text")]
        kind: MessageKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Replace the text of one's own message `seq` of `room` (signed in,
    /// within the server's edit window). The room gets a message of kind
    /// `edit` naming it; `id` is acknowledged like a `send`'s.
    Edit {
        id: ClientMsgId,
        room: String,
        seq: u64,
        text: String,
    },
    /// React to message `seq` of `room` with `emoji` (one emoji), or take
    /// the reaction back (`remove`). The room gets a message of kind `react`
    /// (or `unreact`) naming it.
    React {
        room: String,
        seq: u64,
        emoji: String,
        #[serde(default, skip_serializing_if = "is_false")]
        remove: bool,
    },
    /// The person has read `room` up to `seq`. Kept for an account (it only
    /// moves forward) and told to its other connections as `read`; a
    /// guest's is refused, since it keeps its own.
    Read {
        room: String,
        seq: u64,
    },
    /// Ask how much is unread in each room the client is in: answered with
    /// `unread` (signed in; a guest has no read markers on the server).
    Unread,
    /// Search the messages of `room` (without it: of every room the client
    /// is in) for `q`'s words, newest first; `before`: the `next` of the
    /// previous page. Answered with `search_results`.
    Search {
        q: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
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
    Typing {
        room: String,
    },
    /// Ask for the list of rooms.
    Rooms,
}

/// Server → client. Decoded by [`ServerMsg::from_json`] (see `decode`);
/// serde's derived decoder is the tests' oracle only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The nickname was accepted: the client is registered.
    Welcome {
        nick: String,
        /// The server's version, for display and bug reports.
        server: String,
        limits: Limits,
        /// Signed in to the account of `nick` (else a guest).
        #[serde(default, skip_serializing_if = "is_false")]
        account: bool,
        /// A bearer token for the HTTP API (uploads, downloads, history):
        /// for a sign-in with a password, its new session (until
        /// `expires`); for a guest, one that lasts as long as this
        /// connection. Absent when the client signed in with a session it
        /// already has.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<Secret>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires: Option<i64>,
    },
    /// The nickname is an account now, and this connection is signed in to
    /// it with a session `token` (until `expires`).
    Registered {
        nick: String,
        token: Secret,
        expires: i64,
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
    /// `room`'s topic, slow mode and roles: after `joined`, and whenever one
    /// of them changes.
    RoomState {
        room: String,
        #[serde(flatten)]
        settings: RoomSettings,
    },
    /// A moderator (`by`) acted in `room`: every member sees it.
    Moderated {
        room: String,
        by: String,
        #[serde(flatten)]
        action: Moderation,
    },
    /// A page of `room`'s moderation log, newest first.
    ModLog {
        room: String,
        entries: Vec<ModLogEntry>,
        has_older: bool,
    },
    /// A registration invite code, good once, until `expires`.
    Invite { code: Secret, expires: i64 },
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
    /// The account's read marker in `room` moved to `seq` (read on another
    /// of its connections, or this one's own `read` taken).
    Read { room: String, seq: u64 },
    /// What is unread in the rooms the client is in, as asked with `unread`.
    Unread { rooms: Vec<UnreadCount> },
    /// A page of search results for `q`, newest first; `next`, when there
    /// are more, is the `before` of the next page.
    SearchResults {
        q: String,
        results: Vec<SearchHit>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<u64>,
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
    direct_room_of_lowercase(a.to_lowercase(), b.to_lowercase())
}

/// [`direct_room`] of two nicknames already in lowercase, for a client that
/// lowercases them without std's Unicode tables (the web client asks the
/// browser, whose tables it downloads anyway).
pub fn direct_room_of_lowercase(a: String, b: String) -> String {
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
    /// The message this one acts on: for a [`MessageKind::Delete`], the one
    /// deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<u64>,
    /// This message was deleted: its text (and file) are gone from the
    /// server, and `text` is empty.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// The message this one answers (a reply) or reacts to, quoted. Boxed:
    /// most messages have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Box<Quote>>,
    /// When its text was last edited (ms since the epoch, UTC); `text` is
    /// the edited text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<i64>,
    /// Its reactions, in the order they were first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// The number of the latest edit or reaction that this copy of the
    /// message includes (0: none). A client applies an `edit`, `react` or
    /// `unreact` to it only if that message's `seq` is above this: a message
    /// read from history already includes every change before the read.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rev: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
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
    /// Not shown as a message: `nick` deleted message `target` of the room.
    Delete,
    /// Not shown as a message: `nick` replaced the text of message `target`
    /// (their own) with `text`.
    Edit,
    /// Not shown as a message: `nick` reacted to message `target` with the
    /// emoji in `text`.
    React,
    /// Not shown as a message: `nick` took back their reaction `text` to
    /// message `target`.
    Unreact,
    /// A kind this build does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl MessageKind {
    pub fn is_text(&self) -> bool {
        *self == MessageKind::Text
    }

    /// A message people read (text or an action), rather than a change to
    /// one (a deletion, an edit, a reaction).
    pub fn is_readable(self) -> bool {
        matches!(self, MessageKind::Text | MessageKind::Action)
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
    /// The nickname is a registered account's: sign in to use it.
    NickRegistered,
    /// The nickname and password (or the token) do not sign in: wrong, or
    /// expired, or revoked.
    AuthFailed,
    /// A new password breaks the rules: too short, or too long.
    PasswordWeak,
    /// The server admits signed-in users only (or the room admits no
    /// guests).
    GuestsNotAllowed,
    /// Registration is closed, or needs a valid invite code.
    RegistrationClosed,
    /// The client's role does not allow this (a moderator command from a
    /// member, deleting someone else's message).
    Forbidden,
    /// The client is banned from the room.
    Banned,
    /// The client is muted in the room.
    Muted,
    /// Slow mode: the client posted in the room too recently.
    SlowMode,
    /// There is no message with that number in the room (or it is deleted).
    NoSuchMessage,
    /// The message is too old to edit now (see the server's edit window).
    EditWindowOver,
    /// A reaction is one emoji, and a message has at most
    /// [`crate::limits::MAX_REACTIONS`] different ones.
    ReactionInvalid,
    /// Nothing would change: the reaction is there already (or is not
    /// there to take back), or the edit's text is the text the message has.
    Unchanged,
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
    /// Decodes one message (a `hubbub.v1` frame, or a line of a
    /// `hubbub.v2` frame).
    pub fn from_json(frame: &str) -> Result<Self, serde_json::Error> {
        decode::server_msg(frame)
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
mod golden;
