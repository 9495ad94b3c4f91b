//! The typed protocol, `hubbub.v1`: what one of its messages asks of the
//! server, and how an event is written in it. The WebSocket door and the
//! datagram door carry the same JSON messages, and both translate them here.

use bytes::Bytes;
use shared::{ClientMsg, ErrorCode, ServerMsg};

use super::driver::Ask;
use crate::hub::{Auth, Moderate, Request};
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
pub(crate) fn ask_of<L>(msg: ClientMsg) -> Ask<L> {
    let moderate = |room: String, action: Moderate| Request::Moderate { room, action };
    Ask::Hub(match msg {
        ClientMsg::Hello { nick, resume, auth } => Request::Hello {
            nick,
            resume,
            auth: auth.map_or(Auth::Guest, Auth::Unchecked),
        },
        ClientMsg::Register { password, invite } => Request::Register { password, invite },
        ClientMsg::SignOut { everywhere } => Request::SignOut { everywhere },
        ClientMsg::Kick { room, nick, reason } => moderate(room, Moderate::Kick { nick, reason }),
        ClientMsg::Ban {
            room,
            nick,
            minutes,
            reason,
        } => moderate(
            room,
            Moderate::Ban {
                nick,
                minutes,
                reason,
            },
        ),
        ClientMsg::Unban { room, nick } => moderate(room, Moderate::Unban { nick }),
        ClientMsg::Mute {
            room,
            nick,
            minutes,
            reason,
        } => moderate(
            room,
            Moderate::Mute {
                nick,
                minutes,
                reason,
            },
        ),
        ClientMsg::Unmute { room, nick } => moderate(room, Moderate::Unmute { nick }),
        ClientMsg::Slow { room, seconds } => moderate(room, Moderate::Slow { seconds }),
        ClientMsg::Topic { room, topic } => moderate(room, Moderate::Topic { topic }),
        ClientMsg::Op { room, nick, role } => moderate(room, Moderate::Op { nick, role }),
        ClientMsg::Delete { room, seq } => Request::Delete { room, seq },
        ClientMsg::ModLog {
            room,
            before,
            limit,
        } => Request::ModLog {
            room,
            before,
            limit,
        },
        ClientMsg::Invite => Request::Invite,
        ClientMsg::Nick { nick } => Request::Nick { nick },
        ClientMsg::Join { room } => Request::Join { room },
        ClientMsg::Leave { room } => Request::Leave { room },
        ClientMsg::Send {
            id,
            room,
            text,
            kind,
            reply_to,
        } => Request::Send {
            id: Some(id),
            room,
            text,
            kind,
            reply_to,
        },
        ClientMsg::Direct {
            id,
            to,
            text,
            kind,
            reply_to,
        } => Request::Direct {
            id: Some(id),
            to,
            text,
            kind,
            reply_to,
        },
        ClientMsg::Edit {
            id,
            room,
            seq,
            text,
        } => Request::Edit {
            id: Some(id),
            room,
            seq,
            text,
        },
        ClientMsg::React {
            room,
            seq,
            emoji,
            remove,
        } => Request::React {
            room,
            seq,
            emoji,
            remove,
        },
        ClientMsg::Read { room, seq } => Request::Read { room, seq },
        ClientMsg::Unread => Request::Unread,
        ClientMsg::Search { q, room, before } => Request::Search { q, room, before },
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
