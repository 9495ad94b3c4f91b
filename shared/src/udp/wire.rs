//! Every datagram of the datagram door, as bytes.
//!
//! The first byte says what a datagram is. Handshake datagrams carry no
//! session; session datagrams carry the 16-byte session id and the reliability
//! header. All integers are big-endian. Decoding never panics and never
//! allocates: a datagram that is not exactly one of these is a [`DecodeError`].
//!
//! ```text
//! hello    01 version padding…             (HELLO_LEN bytes in all)
//! cookie   02 cookie[32]
//! connect  03 version cookie[32]
//! accept   04 session[16]
//! refuse   05 reason (UTF-8, ≤ 200 bytes)
//! unknown  06 session[16]                  (the server has no such session)
//! data     10 session[16] seq ack sack last(1 byte: 0|1) chunk…
//! ack      11 session[16] seq=0 ack sack
//! ping     12 session[16] seq ack sack
//! close    13 session[16] seq=0 ack sack reason (UTF-8, ≤ 200 bytes)
//! ```

/// A session's id: 128 random bits chosen by the server.
pub type SessionId = [u8; 16];

/// Length of the server's address-proving cookie.
pub const COOKIE_LEN: usize = 32;

/// The server's cookie, opaque to the client, which echoes it in `connect`.
pub type Cookie = [u8; COOKIE_LEN];

/// Every hello is padded to this length, so that the cookie the server sends
/// back (33 bytes) is never larger than what it received.
pub const HELLO_LEN: usize = 64;

/// Bytes before the payload of a session datagram: kind, session, seq, ack, sack.
pub const SESSION_HEADER_LEN: usize = 1 + 16 + 4 + 4 + 4;

/// Largest piece of a message one data datagram carries.
pub const MAX_CHUNK: usize = super::MAX_DATAGRAM - SESSION_HEADER_LEN - 1;

/// Longest reason in a `refuse` or `close`, in bytes.
pub const MAX_REASON: usize = 200;

/// The reliability fields every session datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// This datagram's sequence number; 0 for `ack` and `close`, which are
    /// not retransmitted. Data and pings count from 1.
    pub seq: u32,
    /// Every sequence number up to and including this one was received.
    pub ack: u32,
    /// Bit `i` set: sequence number `ack + 2 + i` was received too
    /// (`ack + 1` is missing, or it would be acknowledged cumulatively).
    pub sack: u32,
}

/// What a session datagram carries after its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A piece of a message; `last` marks the message's final piece.
    Data { last: bool, chunk: &'a [u8] },
    /// Only the acknowledgement fields.
    Ack,
    /// A heartbeat, sequenced and acknowledged like data but carrying nothing.
    Ping,
    /// The sender ends the session, saying why.
    Close(&'a str),
}

/// One datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Client → server: asks for a cookie.
    Hello { version: u8 },
    /// Server → client: proof that the client receives at its address.
    Cookie(&'a Cookie),
    /// Client → server: the cookie echoed, asking for a session.
    Connect { version: u8, cookie: &'a Cookie },
    /// Server → client: the session is open.
    Accept(SessionId),
    /// Server → client, to a proven address: no session, and why.
    Refuse(&'a str),
    /// Server → client: datagrams for this session are no longer accepted
    /// (the server restarted or expired it); the client starts over.
    Unknown(SessionId),
    /// Within a session.
    Session {
        session: SessionId,
        header: Header,
        body: Body<'a>,
    },
}

/// Why bytes are not a datagram of this protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    UnknownKind(u8),
    /// Too short or too long for its kind.
    Length,
    /// A reason that is not UTF-8 or too long, or a `last` byte other than 0 or 1.
    Invalid,
}

impl Packet<'_> {
    /// Appends the datagram to `out`. A hello is padded to [`HELLO_LEN`].
    pub fn encode(&self, out: &mut Vec<u8>) {
        let _ = out;
        unimplemented!()
    }

    /// Reads one datagram.
    pub fn decode(datagram: &[u8]) -> Result<Packet<'_>, DecodeError> {
        let _ = datagram;
        unimplemented!()
    }
}

/// The session a datagram belongs to, read without decoding the rest, so the
/// server can route it to its session cheaply. `None` for handshake datagrams
/// and for anything too short.
pub fn session_of(datagram: &[u8]) -> Option<SessionId> {
    let _ = datagram;
    unimplemented!()
}
