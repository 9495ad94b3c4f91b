//! What a measured message says: who sent it, its number, and when it was
//! due, padded to the benchmark's message size. Receivers find it in a
//! typed message or a plain-text line without decoding the rest.

use std::sync::OnceLock;
use std::time::Instant;

/// The text of every measured message is this long, as in the issue's
/// comparison (gorilla's and axum's chat examples were measured with 100-byte
/// messages).
pub const TEXT_BYTES: usize = 100;

/// Marks the start and the end of the fields; nicknames and the server's own
/// words never contain it.
const MARK: char = '~';

/// Microseconds since the generator started: the clock every sender stamps
/// and every receiver reads, in one process.
pub fn now_us() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// What a receiver found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Measured message `id` (the sender's number times its share of ids,
    /// plus its sequence number), due at `sent_us`.
    Measured { id: u64, sent_us: u64 },
    /// The message that ends the setup in a room: once every member has it,
    /// every member has had every join announcement before it.
    WarmUp,
}

/// The text of measured message `id`, due at `sent_us`.
pub fn text(id: u64, sent_us: u64) -> String {
    let mut text = format!("{MARK}{id}.{sent_us}{MARK}");
    while text.len() < TEXT_BYTES {
        text.push('x');
    }
    text
}

/// The text of a room's warm-up message.
pub fn warm_up_text() -> String {
    let mut text = format!("{MARK}w{MARK}");
    while text.len() < TEXT_BYTES {
        text.push('w');
    }
    text
}

/// Finds the stamp in a frame or line that carries one of the texts above.
pub fn find(frame: &str) -> Option<Stamp> {
    let start = frame.find(MARK)? + MARK.len_utf8();
    let rest = frame.get(start..)?;
    let fields = &rest[..rest.find(MARK)?];
    if fields == "w" {
        return Some(Stamp::WarmUp);
    }
    let (id, sent_us) = fields.split_once('.')?;
    Some(Stamp::Measured {
        id: id.parse().ok()?,
        sent_us: sent_us.parse().ok()?,
    })
}

/// Every stamp in a frame that carries several messages: a `history` frame
/// with what a reader that fell behind missed.
pub fn find_all(frame: &str) -> impl Iterator<Item = Stamp> + '_ {
    let mut rest = frame;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find(MARK)?;
            let after = &rest[start + MARK.len_utf8()..];
            let end = after.find(MARK)?;
            let stamp = find(&rest[start..]);
            rest = &after[end + MARK.len_utf8()..];
            if stamp.is_some() {
                return stamp;
            }
        }
    })
}

/// Whether a typed message carries missed messages (see [`find_all`]).
pub fn is_typed_history(frame: &str) -> bool {
    frame.starts_with(r#"{"type":"history""#)
}

/// Whether a typed message is a chat message, the one kind receivers
/// time. The server writes `type` first.
pub fn is_typed_message(frame: &str) -> bool {
    frame.starts_with(r#"{"type":"message""#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{ChatMessage, MessageKind, ServerMsg};

    #[test]
    fn a_stamp_survives_both_wires() {
        let text = text(4_200_017, 1_234_567);
        assert_eq!(text.len(), TEXT_BYTES);
        let msg = ServerMsg::Message(ChatMessage {
            room: "lobby".into(),
            seq: 9,
            ts: 1,
            nick: "s1".into(),
            text,
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        });
        let expected = Some(Stamp::Measured {
            id: 4_200_017,
            sent_us: 1_234_567,
        });
        let json = msg.to_json();
        assert!(is_typed_message(&json));
        assert_eq!(find(&json), expected);
        let line = shared::plain::render(&msg).unwrap();
        assert_eq!(find(&line), expected);
        assert_eq!(find(&warm_up_text()), Some(Stamp::WarmUp));
        assert_eq!(warm_up_text().len(), TEXT_BYTES);
    }

    #[test]
    fn other_frames_carry_no_stamp() {
        let joined = ServerMsg::UserJoined {
            room: "lobby".into(),
            nick: "r7".into(),
        };
        assert!(!is_typed_message(&joined.to_json()));
        assert_eq!(find(&joined.to_json()), None);
        assert_eq!(find("* r7 joined"), None);
        assert_eq!(find("s1: ~x.y~"), None);
    }

    #[test]
    fn a_history_frame_carries_every_stamp() {
        let message = |id: u64| ChatMessage {
            room: "lobby".into(),
            seq: id,
            ts: 1,
            nick: "s1".into(),
            text: text(id, id * 10),
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        };
        let history = ServerMsg::History {
            room: "lobby".into(),
            messages: vec![message(1), message(2), message(3)],
            has_older: false,
        }
        .to_json();
        assert!(is_typed_history(&history));
        let ids: Vec<Stamp> = find_all(&history).collect();
        assert_eq!(
            ids,
            (1..=3)
                .map(|id| Stamp::Measured {
                    id,
                    sent_us: id * 10
                })
                .collect::<Vec<_>>()
        );
        assert_eq!(find_all("~nothing~ here").count(), 0);
    }
}
