//! The typed protocol, `hubbub.v1`: what one of its messages asks of the
//! server, and how an event is written in it. The WebSocket door and the
//! datagram door carry the same JSON messages, and both translate them here.

use bytes::Bytes;
use shared::{ClientMsg, ErrorCode, ServerMsg};

use super::driver::Ask;
use crate::hub::Request;
use crate::outbox::Encoding;

/// An event as one `hubbub.v1` JSON message: a frame of its own, a line of a
/// `hubbub.v2` frame, or a datagram message.
pub struct Json;

impl Encoding for Json {
    type Context = ();

    fn encode(msg: &ServerMsg, (): &()) -> Option<Bytes> {
        Some(Bytes::from(msg.to_json()))
    }
}

/// Decodes one message and says what it asks for.
pub(crate) fn decode<L>(text: &str) -> Ask<L> {
    match ClientMsg::from_json(text) {
        Ok(msg) => ask_of(msg),
        Err(error) => Ask::Reply(ServerMsg::error(
            ErrorCode::Malformed,
            format!("not a hubbub.v1 message: {error}"),
        )),
    }
}

/// Translates a `hubbub.v1` message to what it asks for.
fn ask_of<L>(msg: ClientMsg) -> Ask<L> {
    Ask::Hub(match msg {
        ClientMsg::Hello { nick, resume } => Request::Hello { nick, resume },
        ClientMsg::Nick { nick } => Request::Nick { nick },
        ClientMsg::Join { room } => Request::Join { room },
        ClientMsg::Leave { room } => Request::Leave { room },
        ClientMsg::Send {
            id,
            room,
            text,
            kind,
        } => Request::Send {
            id: Some(id),
            room,
            text,
            kind,
        },
        ClientMsg::Direct { id, to, text, kind } => Request::Direct {
            id: Some(id),
            to,
            text,
            kind,
        },
        ClientMsg::Typing { room } => Request::Typing { room },
        ClientMsg::Rooms => Request::Rooms,
        ClientMsg::History {
            room,
            before,
            limit,
        } => {
            return Ask::History {
                room,
                before,
                limit,
            };
        }
    })
}
