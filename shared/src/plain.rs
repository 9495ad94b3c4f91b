//! The plain-text mode: what a WebSocket client that asks for no subprotocol
//! sees, as in the gorilla/websocket chat example Hubbub grew from. Each text
//! frame such a client sends is one message to [`DEFAULT_ROOM`]; each event it
//! receives is one line of text.
//!
//! Two commands exist in this mode, because a chat without names is no chat:
//! `/nick NAME` and `/me ACTION`. A message that really starts with `/` is
//! sent by doubling it: `//etc` posts `/etc`.

use crate::protocol::{ChatMessage, DEFAULT_ROOM, MessageKind, ServerMsg};

/// What one frame from a plain-text client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlainInput<'a> {
    Say(&'a str),
    Action(&'a str),
    Nick(&'a str),
    /// A `/word` this mode does not know; answered with a hint.
    UnknownCommand(&'a str),
}

/// Parses one frame from a plain-text client.
pub fn parse_input(frame: &str) -> PlainInput<'_> {
    // gorilla's page sends what the user typed; a trailing newline from a
    // terminal client is not part of the message.
    let frame = frame.strip_suffix('\n').unwrap_or(frame);
    let frame = frame.strip_suffix('\r').unwrap_or(frame);
    if let Some(escaped) = frame.strip_prefix("//") {
        // Keep one slash: "//etc" says "/etc".
        return PlainInput::Say(&frame[frame.len() - escaped.len() - 1..]);
    }
    let Some(command) = frame.strip_prefix('/') else {
        return PlainInput::Say(frame);
    };
    let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
    match name {
        "nick" => PlainInput::Nick(rest.trim()),
        "me" => PlainInput::Action(rest),
        _ => PlainInput::UnknownCommand(name),
    }
}

/// The line a plain-text client sees for an event, or `None` for events that
/// mean nothing to it (acknowledgements, other rooms).
pub fn render(msg: &ServerMsg) -> Option<String> {
    let in_default_room = |room: &str| room == DEFAULT_ROOM;
    match msg {
        ServerMsg::Welcome { nick, .. } => Some(format!(
            "* you are {nick} in {DEFAULT_ROOM}; type /nick NAME to change your name"
        )),
        ServerMsg::Joined { room, members, .. } | ServerMsg::Members { room, members }
            if in_default_room(room) =>
        {
            Some(format!("* online: {}", members.join(", ")))
        }
        ServerMsg::History { room, messages, .. }
            if in_default_room(room) && !messages.is_empty() =>
        {
            let lines: Vec<String> = messages.iter().map(chat_line).collect();
            Some(lines.join("\n"))
        }
        ServerMsg::Gap { room, from, to } if in_default_room(room) => Some(format!(
            "* {} older messages skipped",
            to.saturating_sub(*from) + 1
        )),
        ServerMsg::UserJoined { room, nick } if in_default_room(room) => {
            Some(format!("* {nick} joined"))
        }
        ServerMsg::UserLeft { room, nick } if in_default_room(room) => {
            Some(format!("* {nick} left"))
        }
        ServerMsg::NickChanged { old, new, rooms } if rooms.iter().any(|r| in_default_room(r)) => {
            Some(format!("* {old} is now {new}"))
        }
        ServerMsg::Message(msg) if in_default_room(&msg.room) => Some(chat_line(msg)),
        ServerMsg::Moderated { room, by, action } if in_default_room(room) => {
            Some(format!("* {}", action.describe(by)))
        }
        ServerMsg::RoomState { room, settings }
            if in_default_room(room) && !settings.topic.is_empty() =>
        {
            Some(format!("* topic: {}", settings.topic))
        }
        ServerMsg::Error { message, .. } => Some(format!("! {message}")),
        _ => None,
    }
}

fn chat_line(msg: &ChatMessage) -> String {
    let ChatMessage {
        nick,
        text,
        kind,
        attachment,
        ..
    } = msg;
    // The download path is relative: a plain-text client is a page (or a
    // program) that already knows the server it talks to.
    if let Some(file) = attachment {
        return format!(
            "{nick} shared {} ({}) {}",
            file.name,
            crate::line::size_label(file.size),
            file.download_path()
        );
    }
    if msg.deleted {
        return format!("{nick}: (deleted)");
    }
    let edited = if msg.edited.is_some() {
        " (edited)"
    } else {
        ""
    };
    let quote = msg
        .quote
        .as_ref()
        .map(|q| format!("[↪ {}: {}] ", q.nick, q.text))
        .unwrap_or_default();
    match kind {
        MessageKind::Text | MessageKind::Unknown => format!("{nick}: {quote}{text}{edited}"),
        MessageKind::Action => format!("* {nick} {quote}{text}{edited}"),
        MessageKind::Delete => format!("* {nick} deleted a message"),
        MessageKind::Edit => format!("* {nick} edited a message: {text}"),
        MessageKind::React => match &msg.quote {
            Some(q) => format!("* {nick} reacted {text} to {}: {}", q.nick, q.text),
            None => format!("* {nick} reacted {text}"),
        },
        MessageKind::Unreact => format!("* {nick} took back {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    #[test]
    fn frames_are_messages_unless_they_are_commands() {
        assert_eq!(parse_input("hello"), PlainInput::Say("hello"));
        assert_eq!(parse_input("hello\n"), PlainInput::Say("hello"));
        assert_eq!(parse_input("hello\r\n"), PlainInput::Say("hello"));
        assert_eq!(parse_input("/nick  bob "), PlainInput::Nick("bob"));
        assert_eq!(parse_input("/me waves"), PlainInput::Action("waves"));
        assert_eq!(parse_input("//etc/passwd"), PlainInput::Say("/etc/passwd"));
        assert_eq!(parse_input("/join x"), PlainInput::UnknownCommand("join"));
        assert_eq!(parse_input("/"), PlainInput::UnknownCommand(""));
    }

    #[test]
    fn events_render_as_lines() {
        let msg = |kind| {
            ServerMsg::Message(ChatMessage {
                room: "lobby".into(),
                seq: 1,
                ts: 0,
                nick: "alice".into(),
                text: "hi <b>".into(),
                kind,
                attachment: None,
                target: None,
                deleted: false,
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
            })
        };
        assert_eq!(render(&msg(MessageKind::Text)).unwrap(), "alice: hi <b>");
        assert_eq!(render(&msg(MessageKind::Action)).unwrap(), "* alice hi <b>");
        assert_eq!(
            render(&ServerMsg::UserJoined {
                room: "lobby".into(),
                nick: "bob".into()
            })
            .unwrap(),
            "* bob joined"
        );
        assert_eq!(
            render(&ServerMsg::error(ErrorCode::TextTooLong, "too long")).unwrap(),
            "! too long"
        );
        let ack = ServerMsg::Ack {
            id: "1".into(),
            room: "lobby".into(),
            seq: 1,
            ts: 0,
        };
        assert_eq!(render(&ack), None);
        let elsewhere = ServerMsg::UserJoined {
            room: "rust".into(),
            nick: "bob".into(),
        };
        assert_eq!(render(&elsewhere), None);
        let history = ServerMsg::History {
            room: "lobby".into(),
            messages: vec![
                ChatMessage {
                    room: "lobby".into(),
                    seq: 1,
                    ts: 0,
                    nick: "ann".into(),
                    text: "one".into(),
                    kind: MessageKind::Text,
                    attachment: None,
                    target: None,
                    deleted: false,
                    quote: None,
                    edited: None,
                    reactions: Vec::new(),
                    rev: 0,
                },
                ChatMessage {
                    room: "lobby".into(),
                    seq: 2,
                    ts: 0,
                    nick: "ann".into(),
                    text: "two".into(),
                    kind: MessageKind::Action,
                    attachment: None,
                    target: None,
                    deleted: false,
                    quote: None,
                    edited: None,
                    reactions: Vec::new(),
                    rev: 0,
                },
            ],
            has_older: false,
        };
        assert_eq!(render(&history).unwrap(), "ann: one\n* ann two");
        let shared = ServerMsg::Message(ChatMessage {
            room: "lobby".into(),
            seq: 3,
            ts: 0,
            nick: "ann".into(),
            text: "notes.txt".into(),
            kind: MessageKind::Text,
            attachment: Some(crate::protocol::Attachment {
                id: "ab".repeat(16),
                name: "notes.txt".into(),
                size: 2048,
                content_type: "application/octet-stream".into(),
            }),
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        });
        assert_eq!(
            render(&shared).unwrap(),
            format!(
                "ann shared notes.txt (2.0 KiB) /api/files/{}",
                "ab".repeat(16)
            )
        );
    }

    #[test]
    fn changes_to_messages_are_lines_too() {
        let message = |kind, text: &str| ChatMessage {
            room: "lobby".into(),
            seq: 5,
            ts: 0,
            nick: "ann".into(),
            text: text.into(),
            kind,
            attachment: None,
            target: Some(4),
            deleted: false,
            quote: Some(Box::new(crate::protocol::Quote::of(
                4, "bob", "lunch?", false,
            ))),
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        };
        let line = |m: ChatMessage| render(&ServerMsg::Message(m)).unwrap();
        assert_eq!(
            line(message(MessageKind::Text, "yes")),
            "ann: [↪ bob: lunch?] yes"
        );
        assert_eq!(
            line(message(MessageKind::React, "👍")),
            "* ann reacted 👍 to bob: lunch?"
        );
        assert_eq!(
            line(ChatMessage {
                quote: None,
                ..message(MessageKind::Edit, "yes!")
            }),
            "* ann edited a message: yes!"
        );
        assert_eq!(
            line(message(MessageKind::Unreact, "👍")),
            "* ann took back 👍"
        );
        assert_eq!(
            line(ChatMessage {
                quote: None,
                edited: Some(1),
                ..message(MessageKind::Text, "fixed")
            }),
            "ann: fixed (edited)"
        );
    }
}
