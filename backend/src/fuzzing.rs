//! The decoders that read what comes from outside, reachable from the fuzz
//! targets in `fuzz/` (a crate of its own). They stay private to their doors
//! otherwise; this module only names them, so the doors keep their shape.

pub use crate::doors::irc::message::{
    Message as IrcMessage, Refused as IrcRefused, escape_tag as irc_escape_tag, parse as irc_line,
};
pub use crate::doors::tcp::lines::{Line, LineReader};
pub use crate::doors::tcp::telnet::TelnetFilter;
pub use crate::doors::ws::fragments::stop_in as ws_fragments_stop;
pub use crate::files::range::{Part, part as range_part};

use std::convert::Infallible;

/// Reads one text frame as the WebSocket door and the datagram door read a
/// `hubbub.v1` message, and what it asks for (the plain-text mode's frames
/// are `shared::plain`'s). What it asks is the hub's business, so it is
/// dropped here.
pub fn typed_message(text: &str) {
    drop(crate::doors::typed::decode::<Infallible>(text));
}
