//! Everything the Hubbub server and its clients must agree on: the typed
//! WebSocket protocol, the plain-text mode, and the rules for names and text.
//!
//! This crate does no I/O and builds for `wasm32-unknown-unknown` as well as
//! natively, so the web client and the server compile the same definitions: a
//! protocol change that breaks one side does not compile.

pub mod limits;
pub mod line;
pub mod plain;
pub mod protocol;
pub mod udp;
pub mod validate;

pub use limits::Limits;
pub use protocol::{
    Attachment, ChatMessage, ClientMsg, ClientMsgId, Credentials, DEFAULT_ROOM, ErrorCode,
    MessageKind, ModLogEntry, Moderation, Role, RoomInfo, RoomSettings, SUBPROTOCOL,
    SUBPROTOCOL_BATCHED, Secret, ServerMsg, direct_members, direct_room, direct_room_of_lowercase,
    frame_messages, utc,
};
