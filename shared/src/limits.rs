//! Limits both sides respect. The server enforces them; the client checks them
//! before sending so that a person learns about a limit while typing, not from
//! an error afterwards.

use serde::{Deserialize, Serialize};

/// Longest chat text, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 4 * 1024;
/// Longest nickname, in characters after normalization.
pub const MAX_NICK_CHARS: usize = 32;
/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 32;
/// Longest client-chosen message id, in bytes.
pub const MAX_ID_BYTES: usize = 64;
/// Messages a client gets when it joins a room.
pub const JOIN_HISTORY: usize = 50;
/// Most messages in one page of older history.
pub const MAX_HISTORY_PAGE: usize = 100;
/// Most missed messages the server replays per room to a reconnecting
/// client; beyond that it sends a `gap` and the latest messages instead.
pub const REPLAY_LIMIT: usize = 1_000;
/// Different reactions one message may have.
pub const MAX_REACTIONS: usize = 20;
/// Bytes of a reaction's emoji (the longest emoji sequences are 35).
pub const MAX_EMOJI_BYTES: usize = 64;
/// Bytes of a search query.
pub const MAX_QUERY_BYTES: usize = 256;
/// Results in one page of a search.
pub const SEARCH_PAGE: usize = 20;
/// Characters of the message a reply or a reaction quotes.
pub const QUOTE_CHARS: usize = 80;
/// Largest WebSocket message or frame the server reads. Room for the longest
/// text after JSON escaping (a control character becomes six bytes) plus the
/// envelope; anything larger closes the connection with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Most frames one WebSocket message may arrive in. The message's bytes are
/// bounded by [`MAX_FRAME_BYTES`], its frames by nothing else: without this,
/// a message of 10,000 one-byte (or empty) continuation frames costs the
/// server 10,000 frames parsed. Browsers send every message in one frame;
/// a library that fragments cuts at a few KiB, so even a 64 KiB message in
/// 512-byte pieces fits. One more closes the connection with 1009.
pub const MAX_FRAGMENTS: usize = 128;

/// The limits as the server announces them in its welcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_text_bytes: usize,
    pub max_nick_chars: usize,
    pub max_room_chars: usize,
    pub max_id_bytes: usize,
}

impl Limits {
    /// The limits of protocol v1.
    pub const V1: Limits = Limits {
        max_text_bytes: MAX_TEXT_BYTES,
        max_nick_chars: MAX_NICK_CHARS,
        max_room_chars: MAX_ROOM_CHARS,
        max_id_bytes: MAX_ID_BYTES,
    };
}
