//! `hubbub`, the terminal client of Hubbub: chat in the same rooms as the
//! web and `nc` users, over the datagram door (UDP sessions made reliable,
//! the default) or over WebSocket.
//!
//! [`chat`] decides what is sent and shown, without I/O; [`udp`] and [`ws`]
//! carry `hubbub.v1` messages over their transports behind one [`link::Link`];
//! [`run`] ties them to the terminal and reconnects when a connection is lost.
//! [`files`] shares a file in a room over HTTP (`hubbub send-file`).

pub mod chat;
pub mod files;
pub mod link;
pub mod run;
pub mod udp;
pub mod ws;
