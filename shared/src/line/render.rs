//! Events as a terminal shows them: lines of plain text, every relayed
//! string stripped of controls.

use std::borrow::Cow;

use super::{EOL, strip_controls};
use crate::protocol::{ChatMessage, MessageKind, RoomInfo, ServerMsg, utc};

/// `HH:MM` for a time in milliseconds since the Unix epoch, at a fixed
/// offset from UTC in minutes (0 for UTC, which is what the door shows).
pub fn clock(ts_millis: i64, offset_minutes: i32) -> String {
    let minutes = ts_millis.div_euclid(60_000) + i64::from(offset_minutes);
    let of_day = minutes.rem_euclid(24 * 60);
    format!("{:02}:{:02}", of_day / 60, of_day % 60)
}

/// One chat message as a terminal line (without its line ending):
/// `HH:MM [room] <nick> text`, or `HH:MM [room] * nick action`. A shared
/// file is `HH:MM [room] <nick> shared NAME (SIZE) URL`, where the URL is
/// the download path under `base_url`, the server's public HTTP root
/// (`http://host:port`, no trailing slash): a terminal cannot follow a
/// relative link.
pub fn message_line(msg: &ChatMessage, base_url: &str) -> String {
    let time = clock(msg.ts, 0);
    let room = strip_controls(&msg.room);
    let nick = strip_controls(&msg.nick);
    if let Some(file) = &msg.attachment {
        return format!(
            "{time} [{room}] <{nick}> shared {} ({}) {}{}",
            strip_controls(&file.name),
            size_label(file.size),
            strip_controls(base_url),
            // The id is the server's own hex, but a terminal gets nothing
            // unstripped.
            strip_controls(&file.download_path()),
        );
    }
    if msg.deleted {
        return format!("{time} [{room}] <{nick}> (deleted)");
    }
    let text = strip_controls(&msg.text);
    match msg.kind {
        MessageKind::Text | MessageKind::Unknown => format!("{time} [{room}] <{nick}> {text}"),
        MessageKind::Action => format!("{time} [{room}] * {nick} {text}"),
        MessageKind::Delete => match msg.target {
            Some(seq) => format!("{time} [{room}] -- {nick} deleted message #{seq}"),
            None => format!("{time} [{room}] -- {nick} deleted a message"),
        },
    }
}

/// A size for people: `512 B`, `47.1 KiB`, `3.0 MiB`, `1.2 GiB`.
pub fn size_label(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The online list of a room: `-- [room] online: a, b`.
pub fn who_line<S: AsRef<str>>(room: &str, members: &[S]) -> String {
    let names: Vec<Cow<'_, str>> = members.iter().map(|m| strip_controls(m.as_ref())).collect();
    format!(
        "-- [{}] online ({}): {}",
        strip_controls(room),
        names.len(),
        names.join(", ")
    )
}

/// An error for a person: `! text`.
pub fn error_line(message: &str) -> String {
    format!("! {}", strip_controls(message))
}

/// The lines a terminal shows for an event, each ending in [`EOL`], or
/// `None` for events a terminal does not show (acks, typing). `base_url` is
/// the server's public HTTP root, for shared files' links (see
/// [`message_line`]).
pub fn render(msg: &ServerMsg, base_url: &str) -> Option<String> {
    let lines: Vec<String> = match msg {
        ServerMsg::Welcome { nick, account, .. } => vec![format!(
            "-- you are {}{}; /help lists the commands",
            strip_controls(nick),
            if *account { ", signed in" } else { "" }
        )],
        ServerMsg::Registered { nick, .. } => vec![format!(
            "-- {} is registered to you now, and you are signed in",
            strip_controls(nick)
        )],
        ServerMsg::RoomState { room, settings } => {
            let room = strip_controls(room);
            let mut lines = Vec::new();
            if !settings.topic.is_empty() {
                lines.push(format!(
                    "-- [{room}] topic: {}",
                    strip_controls(&settings.topic)
                ));
            }
            if settings.slow > 0 {
                lines.push(format!(
                    "-- [{room}] slow mode: one message every {} s",
                    settings.slow
                ));
            }
            lines
        }
        ServerMsg::Moderated { room, by, action } => vec![format!(
            "-- [{}] {}",
            strip_controls(room),
            strip_controls(&action.describe(by))
        )],
        ServerMsg::ModLog { room, entries, .. } => {
            let room = strip_controls(room);
            if entries.is_empty() {
                vec![format!("-- [{room}] the moderation log is empty")]
            } else {
                std::iter::once(format!("-- [{room}] moderation log, newest first:"))
                    .chain(entries.iter().map(|entry| {
                        format!(
                            "--   #{} {} {}",
                            entry.id,
                            utc(entry.ts),
                            strip_controls(&entry.action.describe(&entry.by))
                        )
                    }))
                    .collect()
            }
        }
        ServerMsg::Invite { code, expires } => vec![format!(
            "-- invite code {} (good once, until {})",
            strip_controls(code.expose()),
            utc(*expires)
        )],
        ServerMsg::Joined { room, members, .. } => {
            vec![
                format!("-- you joined [{}]", strip_controls(room)),
                who_line(room, members),
            ]
        }
        ServerMsg::History { messages, .. } => {
            messages.iter().map(|m| message_line(m, base_url)).collect()
        }
        ServerMsg::Gap { room, from, to } => vec![format!(
            "-- [{}] {} older messages skipped",
            strip_controls(room),
            to.saturating_sub(*from) + 1
        )],
        ServerMsg::Rooms { rooms } => rooms_lines(rooms),
        ServerMsg::Members { room, members } => vec![who_line(room, members)],
        ServerMsg::Left { room } => vec![format!("-- you left [{}]", strip_controls(room))],
        ServerMsg::UserJoined { room, nick } => vec![format!(
            "-- {} joined [{}]",
            strip_controls(nick),
            strip_controls(room)
        )],
        ServerMsg::UserLeft { room, nick } => vec![format!(
            "-- {} left [{}]",
            strip_controls(nick),
            strip_controls(room)
        )],
        ServerMsg::NickChanged { old, new, .. } => vec![format!(
            "-- {} is now {}",
            strip_controls(old),
            strip_controls(new)
        )],
        ServerMsg::Message(m) => vec![message_line(m, base_url)],
        ServerMsg::Error { message, .. } => vec![error_line(message)],
        ServerMsg::Typing { .. } | ServerMsg::Ack { .. } => return None,
    };
    if lines.is_empty() {
        return None;
    }
    let mut out = lines.join(EOL);
    out.push_str(EOL);
    Some(out)
}

fn rooms_lines(rooms: &[RoomInfo]) -> Vec<String> {
    if rooms.is_empty() {
        return vec!["-- no rooms yet".to_owned()];
    }
    let list: Vec<String> = rooms
        .iter()
        .map(|r| format!("{} ({})", strip_controls(&r.room), r.members))
        .collect();
    vec![format!("-- rooms: {}", list.join(", "))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    #[test]
    fn times_are_hours_and_minutes() {
        assert_eq!(clock(0, 0), "00:00");
        // 2024-01-02 13:45:59 UTC
        assert_eq!(clock(1_704_203_159_000, 0), "13:45");
        assert_eq!(clock(1_704_203_159_000, 120), "15:45");
        assert_eq!(clock(1_704_203_159_000, -14 * 60), "23:45");
        assert_eq!(clock(-60_000, 0), "23:59");
    }

    const BASE: &str = "http://chat.example:8080";

    fn render_at(msg: &ServerMsg) -> Option<String> {
        render(msg, BASE)
    }

    #[test]
    fn sizes_are_for_people() {
        assert_eq!(size_label(0), "0 B");
        assert_eq!(size_label(1023), "1023 B");
        assert_eq!(size_label(1024), "1.0 KiB");
        assert_eq!(size_label(48_230), "47.1 KiB");
        assert_eq!(size_label(25 << 20), "25.0 MiB");
        assert_eq!(size_label(3 << 30), "3.0 GiB");
        assert_eq!(size_label(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn a_shared_file_is_its_name_size_and_absolute_link() {
        let shared = |name: &str| {
            ServerMsg::Message(ChatMessage {
                room: "lobby".into(),
                seq: 3,
                ts: 1_704_203_159_000,
                nick: "alice".into(),
                text: name.into(),
                kind: MessageKind::Text,
                attachment: Some(crate::protocol::Attachment {
                    id: "0123456789abcdef0123456789abcdef".into(),
                    name: name.into(),
                    size: 48_230,
                    content_type: "image/png".into(),
                }),
                target: None,
                deleted: false,
            })
        };
        assert_eq!(
            render_at(&shared("cat.png")).unwrap(),
            "13:45 [lobby] <alice> shared cat.png (47.1 KiB) \
             http://chat.example:8080/api/files/0123456789abcdef0123456789abcdef\r\n"
        );
        // A name cannot drive the terminal either.
        assert!(
            render_at(&shared("\u{1b}]0;pwned\u{7}x.png"))
                .unwrap()
                .contains("<alice> shared x.png (47.1 KiB) http://")
        );
    }

    #[test]
    fn events_render_as_lines() {
        let msg = |kind, text: &str| {
            ServerMsg::Message(ChatMessage {
                room: "lobby".into(),
                seq: 1,
                ts: 1_704_203_159_000,
                nick: "alice".into(),
                text: text.into(),
                kind,
                attachment: None,
                target: None,
                deleted: false,
            })
        };
        assert_eq!(
            render_at(&msg(MessageKind::Text, "hi <b>")).unwrap(),
            "13:45 [lobby] <alice> hi <b>\r\n"
        );
        assert_eq!(
            render_at(&msg(MessageKind::Action, "waves")).unwrap(),
            "13:45 [lobby] * alice waves\r\n"
        );
        assert_eq!(
            render_at(&msg(MessageKind::Text, "\u{1b}[31mred\nline")).unwrap(),
            "13:45 [lobby] <alice> red⏎line\r\n"
        );
        assert_eq!(
            render_at(&ServerMsg::UserJoined {
                room: "rust".into(),
                nick: "bob".into()
            })
            .unwrap(),
            "-- bob joined [rust]\r\n"
        );
        assert_eq!(
            render_at(&ServerMsg::Joined {
                room: "rust".into(),
                members: vec!["ann".into(), "bob".into()],
                head: 0,
            })
            .unwrap(),
            "-- you joined [rust]\r\n-- [rust] online (2): ann, bob\r\n"
        );
        assert_eq!(
            render_at(&ServerMsg::error(ErrorCode::TextTooLong, "too long")).unwrap(),
            "! too long\r\n"
        );
        assert_eq!(
            render_at(&ServerMsg::Rooms {
                rooms: vec![RoomInfo {
                    room: "lobby".into(),
                    members: 2
                }]
            })
            .unwrap(),
            "-- rooms: lobby (2)\r\n"
        );
        let ack = ServerMsg::Ack {
            id: "1".into(),
            room: "lobby".into(),
            seq: 1,
            ts: 0,
        };
        assert_eq!(render_at(&ack), None);
        let empty = ServerMsg::History {
            room: "lobby".into(),
            messages: Vec::new(),
            has_older: false,
        };
        assert_eq!(render_at(&empty), None);
    }

    #[test]
    fn moderation_and_deletions_read_as_lines() {
        use crate::protocol::{Moderation, RoomSettings};
        let kicked = ServerMsg::Moderated {
            room: "lobby".into(),
            by: "ada".into(),
            action: Moderation::Kick {
                target: "bob".into(),
                reason: Some("\u{1b}[2Jspam".into()),
            },
        };
        assert_eq!(
            render_at(&kicked).unwrap(),
            "-- [lobby] ada kicked bob: spam\r\n"
        );
        let state = ServerMsg::RoomState {
            room: "lobby".into(),
            settings: RoomSettings {
                topic: "be kind".into(),
                slow: 10,
                ..RoomSettings::default()
            },
        };
        assert_eq!(
            render_at(&state).unwrap(),
            "-- [lobby] topic: be kind\r\n-- [lobby] slow mode: one message every 10 s\r\n"
        );
        let plain_state = ServerMsg::RoomState {
            room: "lobby".into(),
            settings: RoomSettings::default(),
        };
        assert_eq!(render_at(&plain_state), None);
        let deletion = ChatMessage {
            room: "lobby".into(),
            seq: 43,
            ts: 0,
            nick: "ada".into(),
            text: String::new(),
            kind: MessageKind::Delete,
            attachment: None,
            target: Some(42),
            deleted: false,
        };
        assert_eq!(
            message_line(&deletion, BASE),
            "00:00 [lobby] -- ada deleted message #42"
        );
        let gone = ChatMessage {
            seq: 42,
            nick: "bob".into(),
            kind: MessageKind::Text,
            target: None,
            deleted: true,
            ..deletion
        };
        assert_eq!(message_line(&gone, BASE), "00:00 [lobby] <bob> (deleted)");
    }
}
