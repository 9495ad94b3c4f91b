//! The wires of the WebSocket door: what a text frame from the client asks
//! for, and how a batch of hub events becomes frames.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use shared::plain::{self, PlainInput};
use shared::{DEFAULT_ROOM, ErrorCode, MessageKind, ServerMsg};

use super::frames::Frame;
use crate::doors::driver::Ask;
use crate::doors::typed::{self, Json};
use crate::hub::Request;
use crate::outbox::{Encoding, Outgoing};

/// What a WebSocket client's message asks for: the door has no answers of
/// its own.
pub type WsAsk = Ask<Infallible>;

/// An event as a line of the gorilla chat example's plain text.
pub struct PlainText;

impl Encoding for PlainText {
    type Context = ();

    fn encode(msg: &ServerMsg, (): &()) -> Option<Bytes> {
        plain::render(msg).map(Bytes::from)
    }
}

/// Which protocol a connection speaks, fixed at the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `hubbub.v1`: one JSON message per text frame.
    Typed,
    /// `hubbub.v2`: the same messages, each batch of events in one text
    /// frame, one message per line.
    Batched,
    /// No subprotocol: the gorilla chat example's plain text.
    Plain,
}

impl Mode {
    /// The subprotocol, for the log.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Typed => shared::SUBPROTOCOL,
            Mode::Batched => shared::SUBPROTOCOL_BATCHED,
            Mode::Plain => "plain",
        }
    }

    pub fn decode(self, frame: &str) -> WsAsk {
        match self {
            Mode::Typed | Mode::Batched => typed::decode(frame),
            Mode::Plain => match plain::parse_input(frame) {
                PlainInput::Say(text) => Ask::Hub(say(text, MessageKind::Text)),
                PlainInput::Action(text) => Ask::Hub(say(text, MessageKind::Action)),
                PlainInput::Nick(nick) => Ask::Hub(Request::Nick {
                    nick: nick.to_owned(),
                }),
                PlainInput::UnknownCommand(name) => Ask::Reply(ServerMsg::error(
                    ErrorCode::Malformed,
                    format!(
                        "unknown command /{name}; try /nick NAME or /me ACTION (start with // to send a leading /)"
                    ),
                )),
            },
        }
    }

    /// The answer to a binary frame, which neither wire uses.
    pub fn binary_refusal() -> ServerMsg {
        ServerMsg::error(
            ErrorCode::BinaryFrame,
            "binary frames are not understood; send text frames",
        )
    }

    /// Turns one event the door produced itself into a frame.
    pub fn frame_of(self, msg: ServerMsg) -> Option<Frame> {
        let event = Outgoing::new(msg);
        let mut frames = self.frames(std::slice::from_ref(&event));
        frames.pop()
    }

    /// Turns a batch of hub events into frames. `hubbub.v1` sends each event
    /// as its own frame, sharing the encoded bytes with every other recipient.
    /// `hubbub.v2` and the plain wire join a batch into one frame with `\n`
    /// (the plain wire as the gorilla example does with the messages queued
    /// for a client): a frame per write rather than per event.
    pub fn frames(self, batch: &[Arc<Outgoing>]) -> Vec<Frame> {
        match self {
            Mode::Typed => batch
                .iter()
                .map(|event| Frame::Text(json(event).clone()))
                .collect(),
            Mode::Batched => match batch {
                // One event: its shared bytes, no copy.
                [event] => vec![Frame::Text(json(event).clone())],
                _ => join_lines(batch),
            },
            Mode::Plain => {
                let lines: Vec<&[u8]> = batch
                    .iter()
                    .filter_map(|event| event.encoded::<PlainText>(&()))
                    .map(|line| line.as_ref())
                    .collect();
                if lines.is_empty() {
                    Vec::new()
                } else {
                    vec![Frame::Text(Bytes::from(lines.join(&b'\n')))]
                }
            }
        }
    }
}

/// Most bytes of a joined `hubbub.v2` frame: a batch of long events (history
/// pages) goes out as several frames rather than one the client must hold
/// whole. A single event longer than this is a frame of its own.
const BATCH_FRAME_BYTES: usize = 64 * 1024;

/// Joins the events' JSON into frames of one message per line. A frame's
/// buffer is sized to what it will hold, so that it becomes the frame's
/// bytes without a copy or a second allocation.
fn join_lines(batch: &[Arc<Outgoing>]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut rest = batch;
    while !rest.is_empty() {
        let (count, len) = next_frame(rest);
        let mut frame = Vec::with_capacity(len);
        for (index, event) in rest[..count].iter().enumerate() {
            if index > 0 {
                frame.push(b'\n');
            }
            frame.extend_from_slice(json(event));
        }
        frames.push(Frame::Text(Bytes::from(frame)));
        rest = &rest[count..];
    }
    frames
}

/// How many of `events`, from the first, make the next frame (as many as fit
/// in [`BATCH_FRAME_BYTES`], at least one), and its length with a line break
/// between each two.
fn next_frame(events: &[Arc<Outgoing>]) -> (usize, usize) {
    let mut len = 0;
    for (count, event) in events.iter().enumerate() {
        let next = json(event).len() + usize::from(count > 0);
        if count > 0 && len + next > BATCH_FRAME_BYTES {
            return (count, len);
        }
        len += next;
    }
    (events.len(), len)
}

/// An event's `hubbub.v1` JSON, shared with every other recipient.
fn json(event: &Outgoing) -> &Bytes {
    static NONE: Bytes = Bytes::new();
    // The JSON encoding has bytes for every event.
    event.encoded::<Json>(&()).unwrap_or(&NONE)
}

fn say(text: &str, kind: MessageKind) -> Request {
    Request::Send {
        id: None,
        room: DEFAULT_ROOM.to_owned(),
        text: text.to_owned(),
        kind,
        reply_to: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(frame: &Frame) -> &str {
        match frame {
            Frame::Text(text) => std::str::from_utf8(text).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    fn json_of(event: &Outgoing) -> &str {
        std::str::from_utf8(json(event)).unwrap()
    }

    #[test]
    fn plain_text_shows_what_a_person_reads_and_nothing_else() {
        let event = Outgoing::new(ServerMsg::UserJoined {
            room: "lobby".into(),
            nick: "bob".into(),
        });
        assert_eq!(
            event.encoded::<PlainText>(&()).map(|b| b.as_ref()),
            Some(&b"* bob joined"[..])
        );
        let ack = Outgoing::new(ServerMsg::Ack {
            id: "1".into(),
            room: "lobby".into(),
            seq: 1,
            ts: 0,
        });
        assert_eq!(ack.encoded::<PlainText>(&()), None);
    }

    #[test]
    fn typed_frames_decode_to_requests_or_a_malformed_reply() {
        assert_eq!(
            Mode::Typed.decode(r#"{"type":"join","room":"rust"}"#),
            Ask::Hub(Request::Join {
                room: "rust".into()
            })
        );
        let Ask::Reply(ServerMsg::Error { code, message, .. }) = Mode::Typed.decode("{oops") else {
            panic!("malformed JSON must be answered");
        };
        assert_eq!(code, ErrorCode::Malformed);
        assert!(message.contains("not a hubbub.v1 message"), "{message}");
    }

    #[test]
    fn plain_frames_are_lobby_messages() {
        assert_eq!(
            Mode::Plain.decode("hello"),
            Ask::Hub(say("hello", MessageKind::Text))
        );
        assert!(matches!(
            Mode::Plain.decode("/dance"),
            Ask::Reply(ServerMsg::Error { .. })
        ));
    }

    #[test]
    fn a_plain_batch_is_one_frame_of_lines() {
        let joined = Outgoing::new(ServerMsg::UserJoined {
            room: "lobby".into(),
            nick: "bob".into(),
        });
        let ack = Outgoing::new(ServerMsg::Ack {
            id: "1".into(),
            room: "lobby".into(),
            seq: 1,
            ts: 0,
        });
        let left = Outgoing::new(ServerMsg::UserLeft {
            room: "lobby".into(),
            nick: "bob".into(),
        });
        let frames = Mode::Plain.frames(&[joined.clone(), ack.clone(), left]);
        assert_eq!(frames.len(), 1);
        assert_eq!(text_of(&frames[0]), "* bob joined\n* bob left");
        assert!(Mode::Plain.frames(&[ack]).is_empty());
        let typed = Mode::Typed.frames(&[joined]);
        assert_eq!(
            text_of(&typed[0]),
            r#"{"type":"user_joined","room":"lobby","nick":"bob"}"#
        );
    }

    #[test]
    fn a_batched_batch_is_one_frame_of_json_lines_up_to_a_size() {
        let event = |nick: &str| {
            Outgoing::new(ServerMsg::UserJoined {
                room: "lobby".into(),
                nick: nick.into(),
            })
        };
        let (bob, eve) = (event("bob"), event("eve"));
        let frames = Mode::Batched.frames(&[bob.clone(), eve.clone()]);
        assert_eq!(frames.len(), 1);
        assert_eq!(
            text_of(&frames[0]),
            format!("{}\n{}", json_of(&bob), json_of(&eve))
        );
        let single = Mode::Batched.frames(std::slice::from_ref(&bob));
        assert_eq!(
            text_of(&single[0]).as_ptr(),
            json(&bob).as_ptr(),
            "shared, not copied"
        );

        let long = Outgoing::new(ServerMsg::error(
            ErrorCode::Malformed,
            "x".repeat(BATCH_FRAME_BYTES / 2),
        ));
        let frames = Mode::Batched.frames(&[long.clone(), long.clone(), long, bob]);
        let sizes: Vec<usize> = frames.iter().map(|f| text_of(f).len()).collect();
        assert_eq!(frames.len(), 3, "{sizes:?}");
        assert!(
            sizes.iter().all(|&size| size <= BATCH_FRAME_BYTES),
            "{sizes:?}"
        );
        let lines: usize = frames.iter().map(|f| text_of(f).lines().count()).sum();
        assert_eq!(lines, 4);
    }
}
