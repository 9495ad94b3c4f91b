//! Events as a terminal shows them: lines of plain text, every relayed
//! string stripped of controls.

use std::borrow::Cow;

use super::{EOL, strip_controls};
use crate::protocol::{ChatMessage, MessageKind, Quote, Reaction, RoomInfo, ServerMsg, utc};

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
    let what = msg
        .target
        .map_or_else(|| "a message".to_owned(), |seq| format!("#{seq}"));
    match msg.kind {
        MessageKind::Text | MessageKind::Action | MessageKind::Unknown => {
            let quote = msg.quote.as_deref().map(quote_part).unwrap_or_default();
            let edited = if msg.edited.is_some() {
                " (edited)"
            } else {
                ""
            };
            let reactions = reactions_part(&msg.reactions);
            if msg.kind == MessageKind::Action {
                format!("{time} [{room}] * {nick} {quote}{text}{edited}{reactions}")
            } else {
                format!("{time} [{room}] <{nick}> {quote}{text}{edited}{reactions}")
            }
        }
        MessageKind::Delete => format!("{time} [{room}] -- {nick} deleted {}", deleted_what(msg)),
        MessageKind::Edit => format!("{time} [{room}] -- {nick} edited {what}: {text}"),
        MessageKind::React => match &msg.quote {
            Some(quote) => format!(
                "{time} [{room}] -- {nick} reacted {text} to #{} <{}> {}",
                quote.seq,
                strip_controls(&quote.nick),
                strip_controls(&quote.text)
            ),
            None => format!("{time} [{room}] -- {nick} reacted {text} to {what}"),
        },
        MessageKind::Unreact => {
            format!("{time} [{room}] -- {nick} took back {text} on {what}")
        }
    }
}

/// `HH:MM [room] #N rest` from a message's line `HH:MM [room] rest`.
fn numbered(line: &str, seq: u64) -> String {
    match line.split_once("] ") {
        Some((head, rest)) => format!("{head}] #{seq} {rest}"),
        None => line.to_owned(),
    }
}

fn deleted_what(msg: &ChatMessage) -> String {
    match msg.target {
        Some(seq) => format!("message #{seq}"),
        None => "a message".to_owned(),
    }
}

/// `[↪ #12 alice: first words…] `, before a reply's text.
fn quote_part(quote: &Quote) -> String {
    let text = if quote.deleted {
        Cow::Borrowed("(deleted)")
    } else {
        strip_controls(&quote.text)
    };
    format!(
        "[↪ #{} {}: {text}] ",
        quote.seq,
        strip_controls(&quote.nick)
    )
}

/// `  [👍 2 · 🎉 1]`, after a message's text.
fn reactions_part(reactions: &[Reaction]) -> String {
    if reactions.is_empty() {
        return String::new();
    }
    let counts: Vec<String> = reactions
        .iter()
        .map(|r| format!("{} {}", strip_controls(&r.emoji), r.nicks.len()))
        .collect();
    format!("  [{}]", counts.join(" · "))
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
        // Numbered, for the commands that name a message (`/reply N`).
        ServerMsg::History { messages, .. } => messages
            .iter()
            .map(|m| numbered(&message_line(m, base_url), m.seq))
            .collect(),
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
        ServerMsg::Unread { rooms } => {
            let rooms: Vec<String> = rooms
                .iter()
                .filter(|r| r.unread > 0)
                .map(|r| {
                    let mentions = match r.mentions {
                        0 => String::new(),
                        n => format!(", {} mentioning you", count_label(n)),
                    };
                    format!(
                        "[{}] {} unread{mentions}",
                        strip_controls(&r.room),
                        count_label(r.unread)
                    )
                })
                .collect();
            if rooms.is_empty() {
                vec!["-- nothing unread".to_owned()]
            } else {
                vec![format!("-- unread: {}", rooms.join("; "))]
            }
        }
        ServerMsg::SearchResults { q, results, next } => {
            let q = strip_controls(q);
            if results.is_empty() {
                vec![format!("-- no messages match \"{q}\"")]
            } else {
                let mut lines = vec![format!("-- messages matching \"{q}\", newest first:")];
                lines.extend(results.iter().map(|hit| {
                    format!(
                        "--   #{} {} [{}] <{}> {}",
                        hit.seq,
                        clock(hit.ts, 0),
                        strip_controls(&hit.room),
                        strip_controls(&hit.nick),
                        // Matches between asterisks, as plain text marks
                        // emphasis.
                        hit.snippet
                            .iter()
                            .enumerate()
                            .map(|(i, part)| {
                                let part = strip_controls(part);
                                if i % 2 == 1 {
                                    format!("*{part}*")
                                } else {
                                    part.into_owned()
                                }
                            })
                            .collect::<String>()
                    )
                }));
                if next.is_some() {
                    lines
                        .push("--   (more: /search again with more words to narrow it)".to_owned());
                }
                lines
            }
        }
        ServerMsg::Typing { .. } | ServerMsg::Ack { .. } | ServerMsg::Read { .. } => return None,
    };
    if lines.is_empty() {
        return None;
    }
    let mut out = lines.join(EOL);
    out.push_str(EOL);
    Some(out)
}

/// `999+` above [`crate::protocol::UnreadCount::MAX`].
fn count_label(n: u32) -> String {
    if n >= crate::protocol::UnreadCount::MAX {
        format!("{}+", crate::protocol::UnreadCount::MAX - 1)
    } else {
        n.to_string()
    }
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
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
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
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
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
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
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

    #[test]
    fn replies_edits_and_reactions_are_lines_a_person_reads() {
        let base = ChatMessage {
            room: "lobby".into(),
            seq: 42,
            ts: 0,
            nick: "bob".into(),
            text: "yes, today".into(),
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        };
        let reply = ChatMessage {
            target: Some(41),
            quote: Some(Box::new(Quote::of(
                41,
                "ada",
                "shall we\x1b[2J ship?",
                false,
            ))),
            edited: Some(60_000),
            reactions: vec![
                Reaction {
                    emoji: "🎉".into(),
                    nicks: vec!["ada".into(), "cat".into()],
                },
                Reaction {
                    emoji: "👀".into(),
                    nicks: vec!["dan".into()],
                },
            ],
            ..base.clone()
        };
        assert_eq!(
            message_line(&reply, BASE),
            "00:00 [lobby] <bob> [↪ #41 ada: shall we ship?] yes, today (edited)  [🎉 2 · 👀 1]"
        );
        let edit = ChatMessage {
            seq: 43,
            kind: MessageKind::Edit,
            target: Some(42),
            ..base.clone()
        };
        assert_eq!(
            message_line(&edit, BASE),
            "00:00 [lobby] -- bob edited #42: yes, today"
        );
        let react = ChatMessage {
            seq: 44,
            nick: "ada".into(),
            text: "🎉".into(),
            kind: MessageKind::React,
            target: Some(42),
            quote: Some(Box::new(Quote::of(42, "bob", "yes, today", false))),
            ..base.clone()
        };
        assert_eq!(
            message_line(&react, BASE),
            "00:00 [lobby] -- ada reacted 🎉 to #42 <bob> yes, today"
        );
        let unreact = ChatMessage {
            kind: MessageKind::Unreact,
            quote: None,
            ..react
        };
        assert_eq!(
            message_line(&unreact, BASE),
            "00:00 [lobby] -- ada took back 🎉 on #42"
        );
        let history = ServerMsg::History {
            room: "lobby".into(),
            messages: vec![base],
            has_older: false,
        };
        assert_eq!(
            render(&history, BASE).unwrap(),
            "00:00 [lobby] #42 <bob> yes, today\r\n"
        );
    }

    #[test]
    fn search_results_and_unread_counts_are_listed() {
        use crate::protocol::{SearchHit, UnreadCount};
        let found = ServerMsg::SearchResults {
            q: "ship".into(),
            results: vec![SearchHit {
                room: "lobby".into(),
                seq: 41,
                ts: 0,
                nick: "ada".into(),
                snippet: vec!["shall we ".into(), "ship".into(), "?".into()],
            }],
            next: None,
        };
        assert_eq!(
            render(&found, BASE).unwrap(),
            "-- messages matching \"ship\", newest first:\r\n--   #41 00:00 [lobby] <ada> shall we *ship*?\r\n"
        );
        let unread = ServerMsg::Unread {
            rooms: vec![
                UnreadCount {
                    room: "lobby".into(),
                    read: 3,
                    unread: 1_000,
                    mentions: 2,
                    head: 47,
                },
                UnreadCount {
                    room: "rust".into(),
                    read: 9,
                    unread: 0,
                    mentions: 0,
                    head: 47,
                },
            ],
        };
        assert_eq!(
            render(&unread, BASE).unwrap(),
            "-- unread: [lobby] 999+ unread, 2 mentioning you\r\n"
        );
        let read = ServerMsg::Read {
            room: "lobby".into(),
            seq: 4,
        };
        assert_eq!(render(&read, BASE), None);
    }
}
