//! What a `hubbub.v1` message asks of the server. The WebSocket door and the
//! datagram door carry the same JSON messages, and both translate them here.

use shared::{ClientMsg, ErrorCode, ServerMsg};

use crate::hub::Request;

/// What a client's message amounts to.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A request for the hub.
    Request(Request),
    /// Older messages of a room, which the door reads from the store itself.
    History {
        room: String,
        before: u64,
        limit: Option<u32>,
    },
    /// A mistake the door answers itself, without bothering the hub.
    Reply(ServerMsg),
}

/// Decodes one message and says what the door does with it.
pub fn decode(text: &str) -> Inbound {
    match ClientMsg::from_json(text) {
        Ok(msg) => typed(msg),
        Err(error) => Inbound::Reply(ServerMsg::error(
            ErrorCode::Malformed,
            format!("not a hubbub.v1 message: {error}"),
        )),
    }
}

/// Translates a `hubbub.v1` message to what the door does with it.
fn typed(msg: ClientMsg) -> Inbound {
    Inbound::Request(match msg {
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
            return Inbound::History {
                room,
                before,
                limit,
            };
        }
    })
}

/// The refusal of a message over the rate limit, naming the message when it
/// has an id so that the client can mark it as not sent.
pub fn rate_limited(request: &Request) -> ServerMsg {
    let id = match request {
        Request::Send { id, .. } => id.clone(),
        _ => None,
    };
    ServerMsg::Error {
        code: ErrorCode::RateLimited,
        message: "slow down: you are sending too fast; this message was not delivered".to_owned(),
        id,
    }
}
