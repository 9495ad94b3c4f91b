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

mod render;
mod strip;

use crate::limits::MAX_HISTORY_PAGE;
use crate::protocol::{ClientMsg, Role};

pub use render::{clock, error_line, message_line, render, size_label, who_line};
pub use strip::strip_controls;

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
    /// `/register [--invite CODE] PASSWORD`: make the nickname an account
    /// (with an invite code where registration needs one). The password is
    /// the rest of the line, spaces and all, as for `/login`.
    Register {
        password: &'a str,
        invite: Option<&'a str>,
    },
    /// `/login NICK PASSWORD`: sign in (before a nickname is taken).
    Login { nick: &'a str, password: &'a str },
    /// `/logout [all]`: end this session (or every one of the account).
    Logout { everywhere: bool },
    /// `/kick NICK [REASON]` in the current room.
    Kick {
        nick: &'a str,
        reason: Option<&'a str>,
    },
    /// `/ban NICK [MINUTES] [REASON]`.
    Ban {
        nick: &'a str,
        minutes: Option<u32>,
        reason: Option<&'a str>,
    },
    /// `/unban NICK`.
    Unban(&'a str),
    /// `/mute NICK [MINUTES] [REASON]`.
    Mute {
        nick: &'a str,
        minutes: Option<u32>,
        reason: Option<&'a str>,
    },
    /// `/unmute NICK`.
    Unmute(&'a str),
    /// `/slow SECONDS` (0 or `off`: off).
    Slow(u32),
    /// `/topic [TEXT]`: show the topic, or set it (`-` clears it).
    Topic(Option<&'a str>),
    /// `/op NICK [owner|moderator|member]` (moderator without a role);
    /// `/deop NICK` is `member`.
    Op { nick: &'a str, role: Role },
    /// `/delete N`: delete message number N (see `/history`).
    Delete(u64),
    /// `/reply N TEXT`: answer message N.
    Reply { seq: u64, text: &'a str },
    /// `/edit N TEXT`: replace the text of one's message N.
    Edit { seq: u64, text: &'a str },
    /// `/react N EMOJI`, or `/unreact N EMOJI` (`remove`).
    React {
        seq: u64,
        emoji: &'a str,
        remove: bool,
    },
    /// `/search WORDS`: the current room's messages with these words.
    Search(&'a str),
    /// `/unread`: what is unread in each room (signed in).
    Unread,
    /// `/modlog`: the current room's moderation log.
    ModLog,
    /// `/invite`: a registration invite code (operators).
    Invite,
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
        "register" => {
            let (invite, password) = match arg.strip_prefix("--invite ") {
                Some(rest) => match rest.trim_start().split_once(' ') {
                    Some((code, password)) => (Some(code), password.trim()),
                    None => (None, ""),
                },
                None => (None, arg),
            };
            if password.is_empty() {
                Input::Usage("/register [--invite CODE] PASSWORD")
            } else {
                Input::Register { password, invite }
            }
        }
        "login" => match arg.split_once(' ') {
            Some((nick, password)) if !password.trim().is_empty() => Input::Login {
                nick,
                password: password.trim(),
            },
            _ => Input::Usage("/login NICK PASSWORD"),
        },
        "logout" => match arg {
            "" => Input::Logout { everywhere: false },
            "all" => Input::Logout { everywhere: true },
            _ => Input::Usage("/logout [all]"),
        },
        "kick" => match words(arg) {
            Some((nick, rest)) => Input::Kick { nick, reason: rest },
            None => Input::Usage("/kick NICK [REASON]"),
        },
        "ban" | "mute" => {
            let usage = if name.eq_ignore_ascii_case("ban") {
                "/ban NICK [MINUTES] [REASON]"
            } else {
                "/mute NICK [MINUTES] [REASON]"
            };
            let Some((nick, rest)) = words(arg) else {
                return Input::Usage(usage);
            };
            let (minutes, reason) = match rest.and_then(words) {
                Some((first, more)) => match first.parse::<u32>() {
                    Ok(minutes) => (Some(minutes), more),
                    Err(_) => (None, rest),
                },
                None => (None, None),
            };
            if name.eq_ignore_ascii_case("ban") {
                Input::Ban {
                    nick,
                    minutes,
                    reason,
                }
            } else {
                Input::Mute {
                    nick,
                    minutes,
                    reason,
                }
            }
        }
        "unban" if one_word(arg) => Input::Unban(arg),
        "unban" => Input::Usage("/unban NICK"),
        "unmute" if one_word(arg) => Input::Unmute(arg),
        "unmute" => Input::Usage("/unmute NICK"),
        "slow" => match arg {
            "off" => Input::Slow(0),
            _ => match arg.parse::<u32>() {
                Ok(seconds) => Input::Slow(seconds),
                Err(_) => Input::Usage("/slow SECONDS (0 or off: off)"),
            },
        },
        "topic" if arg.is_empty() => Input::Topic(None),
        "topic" => Input::Topic(Some(arg)),
        "op" => match words(arg) {
            Some((nick, None)) => Input::Op {
                nick,
                role: Role::Moderator,
            },
            Some((nick, Some(role))) => match role.to_ascii_lowercase().as_str() {
                "owner" => Input::Op {
                    nick,
                    role: Role::Owner,
                },
                "moderator" | "mod" => Input::Op {
                    nick,
                    role: Role::Moderator,
                },
                "member" => Input::Op {
                    nick,
                    role: Role::Member,
                },
                _ => Input::Usage("/op NICK [owner|moderator|member]"),
            },
            None => Input::Usage("/op NICK [owner|moderator|member]"),
        },
        "deop" if one_word(arg) => Input::Op {
            nick: arg,
            role: Role::Member,
        },
        "deop" => Input::Usage("/deop NICK"),
        "delete" | "del" => match arg.trim_start_matches('#').parse::<u64>() {
            Ok(seq) if seq > 0 => Input::Delete(seq),
            _ => Input::Usage("/delete N (the message's number, as /history shows it)"),
        },
        "reply" | "re" => match numbered(arg) {
            Some((seq, text)) => Input::Reply { seq, text },
            None => Input::Usage("/reply N TEXT (N: the message's number, as /history shows it)"),
        },
        "edit" => match numbered(arg) {
            Some((seq, text)) => Input::Edit { seq, text },
            None => Input::Usage("/edit N TEXT (N: your message's number, as /history shows it)"),
        },
        "react" | "unreact" => match numbered(arg) {
            Some((seq, emoji)) if one_word(emoji) => Input::React {
                seq,
                emoji,
                remove: name.eq_ignore_ascii_case("unreact"),
            },
            _ => Input::Usage("/react N EMOJI, /unreact N EMOJI"),
        },
        "search" if !arg.is_empty() => Input::Search(arg),
        "search" => Input::Usage("/search WORDS"),
        "unread" => Input::Unread,
        "modlog" => Input::ModLog,
        "invite" => Input::Invite,
        _ => Input::Unknown(name),
    }
}

/// The first word of `text` and what follows it, if there is a first word.
fn words(text: &str) -> Option<(&str, Option<&str>)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(match text.split_once(' ') {
        Some((first, rest)) => (first, Some(rest.trim()).filter(|r| !r.is_empty())),
        None => (text, None),
    })
}

/// A message's number (`42` or `#42`) and the text after it.
fn numbered(arg: &str) -> Option<(u64, &str)> {
    let (number, text) = arg.split_once(' ')?;
    let seq = number.trim_start_matches('#').parse::<u64>().ok()?;
    let text = text.trim();
    (seq > 0 && !text.is_empty()).then_some((seq, text))
}

fn one_word(text: &str) -> bool {
    !text.is_empty() && !text.contains(' ')
}

/// The message a command about the current room sends there, for the
/// commands that are only that (moderation, deletion, reactions, search,
/// the log). Replies and edits carry the client's message ids: each client
/// sends those itself.
pub fn room_command(input: &Input<'_>, room: &str) -> Option<ClientMsg> {
    let room = room.to_owned();
    let owned = |text: &Option<&str>| text.map(str::to_owned);
    Some(match *input {
        Input::Kick { nick, reason } => ClientMsg::Kick {
            room,
            nick: nick.to_owned(),
            reason: owned(&reason),
        },
        Input::Ban {
            nick,
            minutes,
            reason,
        } => ClientMsg::Ban {
            room,
            nick: nick.to_owned(),
            minutes,
            reason: owned(&reason),
        },
        Input::Unban(nick) => ClientMsg::Unban {
            room,
            nick: nick.to_owned(),
        },
        Input::Mute {
            nick,
            minutes,
            reason,
        } => ClientMsg::Mute {
            room,
            nick: nick.to_owned(),
            minutes,
            reason: owned(&reason),
        },
        Input::Unmute(nick) => ClientMsg::Unmute {
            room,
            nick: nick.to_owned(),
        },
        Input::Slow(seconds) => ClientMsg::Slow { room, seconds },
        Input::Topic(Some(topic)) => ClientMsg::Topic {
            room,
            topic: if topic == "-" {
                String::new()
            } else {
                topic.to_owned()
            },
        },
        Input::Op { nick, role } => ClientMsg::Op {
            room,
            nick: nick.to_owned(),
            role,
        },
        Input::Delete(seq) => ClientMsg::Delete { room, seq },
        Input::React { seq, emoji, remove } => ClientMsg::React {
            room,
            seq,
            emoji: emoji.to_owned(),
            remove,
        },
        Input::Search(q) => ClientMsg::Search {
            q: q.to_owned(),
            room: Some(room),
            before: None,
        },
        Input::ModLog => ClientMsg::ModLog {
            room,
            before: None,
            limit: None,
        },
        _ => return None,
    })
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
    "--   /register PASSWORD  make your nickname an account (/register --invite CODE PASSWORD",
    "--                       where the server asks for an invite)",
    "--   /login NICK PASSWORD  sign in (instead of choosing a nickname)",
    "--   /logout [all]     end this session (all: every session)",
    "--   /topic [TEXT]     show the current room's topic, or set it (- clears it)",
    "--   /delete N         delete message N (your own; anyone's for moderators)",
    "--   /reply N TEXT     answer message N (/history shows the numbers)",
    "--   /edit N TEXT      replace the text of your message N",
    "--   /react N EMOJI    react to message N (/unreact N EMOJI takes it back)",
    "--   /search WORDS     find messages of the current room",
    "--   /unread           what is unread in your rooms (signed in)",
    "-- moderators, in the current room:",
    "--   /kick NICK [REASON]            /ban NICK [MINUTES] [REASON]   /unban NICK",
    "--   /mute NICK [MINUTES] [REASON]  /unmute NICK   /slow SECONDS (0: off)",
    "--   /op NICK [owner|moderator|member]   /deop NICK   /modlog",
    "--   /quit             leave",
];

#[cfg(test)]
mod tests {
    use super::*;

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
    fn account_and_moderation_commands() {
        assert_eq!(
            parse("/register s3cret"),
            Input::Register {
                password: "s3cret",
                invite: None
            }
        );
        assert_eq!(
            parse("/register correct horse battery"),
            Input::Register {
                password: "correct horse battery",
                invite: None
            }
        );
        assert_eq!(
            parse("/register --invite ABCD-EFGH s3cret pass"),
            Input::Register {
                password: "s3cret pass",
                invite: Some("ABCD-EFGH")
            }
        );
        assert!(matches!(parse("/register"), Input::Usage(_)));
        assert!(matches!(parse("/register --invite ABCD"), Input::Usage(_)));
        assert_eq!(
            parse("/login ada correct horse"),
            Input::Login {
                nick: "ada",
                password: "correct horse"
            }
        );
        assert_eq!(parse("/logout all"), Input::Logout { everywhere: true });
        assert_eq!(
            parse("/kick bob  too loud "),
            Input::Kick {
                nick: "bob",
                reason: Some("too loud")
            }
        );
        assert_eq!(
            parse("/ban bob 30 spam"),
            Input::Ban {
                nick: "bob",
                minutes: Some(30),
                reason: Some("spam")
            }
        );
        assert_eq!(
            parse("/ban bob spam links"),
            Input::Ban {
                nick: "bob",
                minutes: None,
                reason: Some("spam links")
            }
        );
        assert_eq!(
            parse("/mute bob"),
            Input::Mute {
                nick: "bob",
                minutes: None,
                reason: None
            }
        );
        assert_eq!(parse("/slow off"), Input::Slow(0));
        assert_eq!(parse("/slow 10"), Input::Slow(10));
        assert_eq!(parse("/topic"), Input::Topic(None));
        assert_eq!(
            parse("/op bob owner"),
            Input::Op {
                nick: "bob",
                role: Role::Owner
            }
        );
        assert_eq!(
            parse("/deop bob"),
            Input::Op {
                nick: "bob",
                role: Role::Member
            }
        );
        assert_eq!(parse("/delete #42"), Input::Delete(42));
        assert!(matches!(parse("/delete x"), Input::Usage(_)));
        assert_eq!(
            room_command(&parse("/topic -"), "rust"),
            Some(ClientMsg::Topic {
                room: "rust".into(),
                topic: String::new()
            })
        );
        assert_eq!(room_command(&parse("/topic"), "rust"), None);
        assert_eq!(
            room_command(&parse("/delete 7"), "rust"),
            Some(ClientMsg::Delete {
                room: "rust".into(),
                seq: 7
            })
        );
    }
}
