//! The terminal line protocol, as `nc` or `telnet` users speak it to the
//! terminal door: one line in is a message to the current room or a
//! `/command`; every event out is one or more lines of plain text.
//!
//! I/O-free: the door splits the byte stream into lines and hands them here.
//!
//! Everything relayed to a terminal goes through [`strip_controls`], so that
//! nobody can drive another user's terminal with escape sequences: C0 and C1
//! control characters and ANSI escape sequences are removed, a tab becomes a
//! space, and a line break inside a message becomes a visible `⏎` (the
//! message stays on one line, so one message is always one line).
//!
//! Times are shown as `HH:MM` in UTC: the server knows no user's time zone.

use std::borrow::Cow;

use crate::limits::MAX_HISTORY_PAGE;
use crate::protocol::{ChatMessage, MessageKind, RoomInfo, ServerMsg};

/// How many messages `/history` shows without a number.
pub const DEFAULT_HISTORY: usize = 20;

/// What a line becomes: a line break in a relayed text.
pub const LINE_BREAK: char = '⏎';

/// The end of every line written to a terminal (telnet wants CR LF).
pub const EOL: &str = "\r\n";

/// What one line from a terminal asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// A message to the current room.
    Say(&'a str),
    /// `/me ACTION`
    Me(&'a str),
    /// `/nick NAME`
    Nick(&'a str),
    /// `/join ROOM`
    Join(&'a str),
    /// `/leave [ROOM]`: the current room without one.
    Leave(Option<&'a str>),
    /// `/rooms`
    Rooms,
    /// `/who`: the current room's online list.
    Who,
    /// `/msg NICK TEXT`
    Msg { to: &'a str, text: &'a str },
    /// `/history [N]`: the last N messages of the current room (at most
    /// [`MAX_HISTORY_PAGE`], [`DEFAULT_HISTORY`] without N).
    History(usize),
    /// `/quit`
    Quit,
    /// `/help`
    Help,
    /// A blank line: nothing to do.
    Blank,
    /// A known command used wrongly: the usage to show.
    Usage(&'static str),
    /// A `/word` that is no command.
    Unknown(&'a str),
}

/// Parses one line (without its line ending). `//text` says `/text`.
pub fn parse(line: &str) -> Input<'_> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Input::Blank;
    }
    if line.starts_with("//") {
        return Input::Say(&line[1..]);
    }
    let Some(command) = line.strip_prefix('/') else {
        return Input::Say(line);
    };
    let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
    let arg = rest.trim();
    match name.to_ascii_lowercase().as_str() {
        "nick" if !arg.is_empty() => Input::Nick(arg),
        "nick" => Input::Usage("/nick NAME"),
        "join" if !arg.is_empty() => Input::Join(arg),
        "join" => Input::Usage("/join ROOM"),
        "leave" | "part" => Input::Leave(Some(arg).filter(|a| !a.is_empty())),
        "rooms" | "list" => Input::Rooms,
        "who" | "names" => Input::Who,
        "msg" => match arg.split_once(' ') {
            Some((to, text)) if !text.trim().is_empty() => Input::Msg {
                to,
                text: text.trim_start(),
            },
            _ => Input::Usage("/msg NICK TEXT"),
        },
        "me" if !arg.is_empty() => Input::Me(rest),
        "me" => Input::Usage("/me ACTION"),
        "history" if arg.is_empty() => Input::History(DEFAULT_HISTORY),
        "history" => match arg.parse::<usize>() {
            Ok(n) if n >= 1 => Input::History(n.min(MAX_HISTORY_PAGE)),
            _ => Input::Usage("/history [N] (N from 1 to 100)"),
        },
        "quit" | "exit" => Input::Quit,
        "help" | "?" => Input::Help,
        _ => Input::Unknown(name),
    }
}

/// The lines `/help` shows.
pub const HELP: &[&str] = &[
    "-- commands:",
    "--   TEXT              say TEXT in the current room (//TEXT says /TEXT)",
    "--   /me ACTION        say what you do",
    "--   /msg NICK TEXT    a direct message to NICK",
    "--   /join ROOM        join ROOM (created if new); it becomes the current room",
    "--   /leave [ROOM]     leave ROOM (the current room without one)",
    "--   /rooms            list the rooms",
    "--   /who              who is in the current room",
    "--   /history [N]      the last N messages of the current room (default 20, at most 100)",
    "--   /nick NAME        change your nickname",
    "--   /quit             leave",
];

/// Removes what could drive a terminal: ANSI escape sequences (CSI
/// `ESC [ … final`, OSC `ESC ] … BEL|ESC \`, other `ESC x`, a lone ESC), the
/// C1 controls (U+0080–U+009F, CSI and OSC included) and the C0 controls and
/// DEL. A tab becomes a space and a line break (LF, CR LF or CR) becomes
/// [`LINE_BREAK`]. Text without any of those is borrowed as it is.
pub fn strip_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push(LINE_BREAK),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push(LINE_BREAK);
                }
            }
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                // `ESC x`: a two-character sequence; the x goes too, unless
                // it is text of its own (a control starts a new sequence).
                Some(&next) if !is_control(next) => {
                    chars.next();
                }
                _ => {}
            },
            // C1 CSI and OSC/DCS/…: sequences of their own.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c.is_control()
}

/// Skips a CSI sequence's parameters and intermediates (0x20–0x3F) and its
/// final byte (0x40–0x7E). Anything else ends it early, unconsumed unless it
/// is a control.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            return;
        }
    }
}

/// Skips an OSC (or DCS, APC…) string up to its terminator: BEL, ST (`ESC \`
/// or U+009C), or the end of the text.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

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
    let text = strip_controls(&msg.text);
    match msg.kind {
        MessageKind::Text => format!("{time} [{room}] <{nick}> {text}"),
        MessageKind::Action => format!("{time} [{room}] * {nick} {text}"),
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
        ServerMsg::Welcome { nick, .. } => vec![format!(
            "-- you are {}; /help lists the commands",
            strip_controls(nick)
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
    fn lines_are_messages_unless_they_are_commands() {
        assert_eq!(parse("hello"), Input::Say("hello"));
        assert_eq!(parse("hello\r"), Input::Say("hello"));
        assert_eq!(parse("//etc/passwd"), Input::Say("/etc/passwd"));
        assert_eq!(parse("   "), Input::Blank);
        assert_eq!(parse("/nick  bob "), Input::Nick("bob"));
        assert_eq!(parse("/nick"), Input::Usage("/nick NAME"));
        assert_eq!(parse("/join rust"), Input::Join("rust"));
        assert_eq!(parse("/JOIN rust"), Input::Join("rust"));
        assert_eq!(parse("/leave"), Input::Leave(None));
        assert_eq!(parse("/leave rust"), Input::Leave(Some("rust")));
        assert_eq!(parse("/rooms"), Input::Rooms);
        assert_eq!(parse("/who"), Input::Who);
        assert_eq!(
            parse("/msg bob hi there"),
            Input::Msg {
                to: "bob",
                text: "hi there"
            }
        );
        assert_eq!(parse("/msg bob"), Input::Usage("/msg NICK TEXT"));
        assert_eq!(parse("/me waves"), Input::Me("waves"));
        assert_eq!(parse("/history"), Input::History(DEFAULT_HISTORY));
        assert_eq!(parse("/history 5"), Input::History(5));
        assert_eq!(parse("/history 500"), Input::History(MAX_HISTORY_PAGE));
        assert!(matches!(parse("/history x"), Input::Usage(_)));
        assert!(matches!(parse("/history 0"), Input::Usage(_)));
        assert_eq!(parse("/quit"), Input::Quit);
        assert_eq!(parse("/help"), Input::Help);
        assert_eq!(parse("/frob x"), Input::Unknown("frob"));
    }

    #[test]
    fn controls_and_escapes_are_stripped() {
        assert!(matches!(strip_controls("plain text é"), Cow::Borrowed(_)));
        assert_eq!(strip_controls("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(strip_controls("bell\u{7}!"), "bell!");
        assert_eq!(strip_controls("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(strip_controls("a\u{1b}]0;title\u{1b}\\b"), "ab");
        assert_eq!(strip_controls("a\u{1b}[2J\u{1b}[Hb"), "ab");
        assert_eq!(strip_controls("a\u{1b}"), "a");
        assert_eq!(strip_controls("a\u{1b}cb"), "ab");
        assert_eq!(strip_controls("a\u{9b}31mb"), "ab");
        assert_eq!(strip_controls("a\u{85}b\u{0}c\u{7f}"), "abc");
        assert_eq!(strip_controls("a\tb"), "a b");
        assert_eq!(
            strip_controls("one\ntwo\r\nthree\rfour"),
            "one⏎two⏎three⏎four"
        );
        // An unterminated OSC swallows the rest, never the terminal.
        assert_eq!(strip_controls("a\u{1b}]52;c;AAAA"), "a");
    }

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
}
