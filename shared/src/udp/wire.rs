//! Every datagram of the datagram door, as bytes.
//!
//! The first byte says what a datagram is. Handshake datagrams carry no
//! session; session datagrams carry the 16-byte session id and the reliability
//! header. All integers are big-endian. Decoding never panics and never
//! allocates: a datagram that is not exactly one of these is a [`DecodeError`].
//!
//! ```text
//! hello    01 version padding…             (HELLO_LEN bytes or more)
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

const HELLO: u8 = 0x01;
const COOKIE: u8 = 0x02;
const CONNECT: u8 = 0x03;
const ACCEPT: u8 = 0x04;
const REFUSE: u8 = 0x05;
const UNKNOWN: u8 = 0x06;
const DATA: u8 = 0x10;
const ACK: u8 = 0x11;
const PING: u8 = 0x12;
const CLOSE: u8 = 0x13;

impl Packet<'_> {
    /// Appends the datagram to `out`. A hello is padded to [`HELLO_LEN`].
    ///
    /// A reason longer than [`MAX_REASON`] is cut at the last character
    /// boundary within it, so that what is encoded always decodes. A chunk
    /// longer than [`MAX_CHUNK`] is the caller's mistake: it is encoded, and
    /// the receiver refuses it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Packet::Hello { version } => {
                let start = out.len();
                out.extend_from_slice(&[HELLO, version]);
                out.resize(start + HELLO_LEN, 0);
            }
            Packet::Cookie(cookie) => {
                out.push(COOKIE);
                out.extend_from_slice(cookie);
            }
            Packet::Connect { version, cookie } => {
                out.extend_from_slice(&[CONNECT, version]);
                out.extend_from_slice(cookie);
            }
            Packet::Accept(session) => {
                out.push(ACCEPT);
                out.extend_from_slice(&session);
            }
            Packet::Refuse(reason) => {
                out.push(REFUSE);
                out.extend_from_slice(truncate_reason(reason).as_bytes());
            }
            Packet::Unknown(session) => {
                out.push(UNKNOWN);
                out.extend_from_slice(&session);
            }
            Packet::Session {
                session,
                header,
                body,
            } => {
                let kind = match body {
                    Body::Data { .. } => DATA,
                    Body::Ack => ACK,
                    Body::Ping => PING,
                    Body::Close(_) => CLOSE,
                };
                out.push(kind);
                out.extend_from_slice(&session);
                out.extend_from_slice(&header.seq.to_be_bytes());
                out.extend_from_slice(&header.ack.to_be_bytes());
                out.extend_from_slice(&header.sack.to_be_bytes());
                match body {
                    Body::Data { last, chunk } => {
                        debug_assert!(chunk.len() <= MAX_CHUNK, "chunk of {} bytes", chunk.len());
                        out.push(u8::from(last));
                        out.extend_from_slice(chunk);
                    }
                    Body::Ack | Body::Ping => {}
                    Body::Close(reason) => {
                        out.extend_from_slice(truncate_reason(reason).as_bytes());
                    }
                }
            }
        }
    }

    /// Reads one datagram.
    ///
    /// Besides the layout, it checks what the layout alone cannot say: a hello
    /// is at least [`HELLO_LEN`] bytes, no datagram exceeds
    /// [`MAX_DATAGRAM`](super::MAX_DATAGRAM), data and pings carry a sequence
    /// number from 1 and acks and closes carry 0.
    pub fn decode(datagram: &[u8]) -> Result<Packet<'_>, DecodeError> {
        let (&kind, rest) = datagram.split_first().ok_or(DecodeError::Empty)?;
        if !matches!(kind, HELLO..=UNKNOWN | DATA..=CLOSE) {
            return Err(DecodeError::UnknownKind(kind));
        }
        if datagram.len() > super::MAX_DATAGRAM {
            return Err(DecodeError::Length);
        }
        match kind {
            HELLO => {
                if datagram.len() < HELLO_LEN {
                    return Err(DecodeError::Length);
                }
                Ok(Packet::Hello { version: rest[0] })
            }
            COOKIE => Ok(Packet::Cookie(exact(rest)?)),
            CONNECT => {
                let (&version, cookie) = rest.split_first().ok_or(DecodeError::Length)?;
                Ok(Packet::Connect {
                    version,
                    cookie: exact(cookie)?,
                })
            }
            ACCEPT => Ok(Packet::Accept(*exact(rest)?)),
            REFUSE => Ok(Packet::Refuse(reason(rest)?)),
            UNKNOWN => Ok(Packet::Unknown(*exact(rest)?)),
            _ => decode_session(kind, rest),
        }
    }
}

fn decode_session(kind: u8, rest: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let (fixed, payload) = rest
        .split_first_chunk::<{ SESSION_HEADER_LEN - 1 }>()
        .ok_or(DecodeError::Length)?;
    let (session, fields) = fixed.split_first_chunk::<16>().ok_or(DecodeError::Length)?;
    let field = |i: usize| -> u32 {
        let mut bytes = [0; 4];
        bytes.copy_from_slice(&fields[i * 4..i * 4 + 4]);
        u32::from_be_bytes(bytes)
    };
    let header = Header {
        seq: field(0),
        ack: field(1),
        sack: field(2),
    };
    let sequenced = matches!(kind, DATA | PING);
    if sequenced == (header.seq == 0) {
        return Err(DecodeError::Invalid);
    }
    let body = match kind {
        DATA => {
            let (&last, chunk) = payload.split_first().ok_or(DecodeError::Length)?;
            let last = match last {
                0 => false,
                1 => true,
                _ => return Err(DecodeError::Invalid),
            };
            Body::Data { last, chunk }
        }
        ACK | PING if !payload.is_empty() => return Err(DecodeError::Length),
        ACK => Body::Ack,
        PING => Body::Ping,
        _ => Body::Close(reason(payload)?),
    };
    Ok(Packet::Session {
        session: *session,
        header,
        body,
    })
}

/// A fixed-size field that is the whole rest of the datagram.
fn exact<const N: usize>(bytes: &[u8]) -> Result<&[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError::Length)
}

fn reason(bytes: &[u8]) -> Result<&str, DecodeError> {
    if bytes.len() > MAX_REASON {
        return Err(DecodeError::Invalid);
    }
    std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid)
}

/// The longest prefix of `reason` that fits in [`MAX_REASON`] bytes.
pub(crate) fn truncate_reason(reason: &str) -> &str {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// The session a datagram belongs to, read without decoding the rest, so the
/// server can route it to its session cheaply. `None` for handshake datagrams
/// and for anything too short.
pub fn session_of(datagram: &[u8]) -> Option<SessionId> {
    if datagram.len() < SESSION_HEADER_LEN || !matches!(datagram[0], DATA..=CLOSE) {
        return None;
    }
    datagram[1..17].try_into().ok()
}

#[cfg(test)]
mod tests;
