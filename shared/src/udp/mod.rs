//! The datagram door's protocol: UDP sessions made reliable.
//!
//! [`wire`] encodes and decodes every datagram; [`Endpoint`] is the
//! reliability state machine one side of a session runs: sequence numbers,
//! cumulative acks with a selective-ack bitmap, retransmission on RFC 6298
//! timers with Karn's rule, at most [`Config::max_in_flight`] datagrams
//! unacknowledged, heartbeats, and the splitting of messages longer than one
//! datagram. It does no I/O and reads no clock: the caller hands it datagrams
//! and the time, and asks it what to send and when to wake it next, so the
//! server, the terminal client and the property tests drive the same code.
//!
//! The messages carried are `hubbub.v1` JSON, exactly as over WebSocket.
//! docs/udp.md describes the protocol for people writing their own clients.

pub mod endpoint;
pub mod wire;

pub use endpoint::{Closed, Config, Endpoint, SendError, Stats};
pub use wire::{Body, COOKIE_LEN, Cookie, DecodeError, Header, Packet, SessionId};

/// Largest datagram either side sends: small enough never to be fragmented
/// by IP (RFC 8085 §3.2).
pub const MAX_DATAGRAM: usize = 1200;

/// The protocol version a client asks for in its hello.
pub const VERSION: u8 = 1;
