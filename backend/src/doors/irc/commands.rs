//! What each line a client sends asks for: IRC commands become hub
//! requests, reads of history, or answers the wire gives itself.

use shared::MessageKind;

use super::connection::{IrcAsk, IrcWire, Local, Out, SERVER};
use super::message::{self, Message, Refused, parse_stamp};
use super::registration::CHATHISTORY_PAGE;
use crate::doors::driver::{Ask, Bound, End};
use crate::hub::{Moderate, Request};

impl IrcWire {
    pub(super) fn reply_numeric(code: &'static str, rest: String) -> IrcAsk {
        Ask::Local(Local::Lines(vec![Out::Numeric(code, rest)]))
    }

    /// What one line asks for.
    pub(super) fn ask_of(&mut self, text: &str) -> Option<IrcAsk> {
        let msg = match message::parse(text) {
            Ok(msg) => msg,
            Err(Refused::Empty) => return None,
            Err(Refused::TooLong) => {
                return Some(Self::reply_numeric(
                    "417",
                    ":Input line was too long; it was not sent".to_owned(),
                ));
            }
        };
        let params = &msg.params;
        let param = |i: usize| params.get(i).copied();
        let need_more = || {
            Some(Self::reply_numeric(
                "461",
                format!("{} :Not enough parameters", msg.command),
            ))
        };
        match msg.command.as_str() {
            "CAP" => return self.cap(param(0), param(1)),
            "AUTHENTICATE" => return self.authenticate(param(0)),
            "PING" => {
                let token = param(0).unwrap_or(SERVER);
                return Some(Ask::Local(Local::Lines(vec![Out::Raw(format!(
                    ":{SERVER} PONG {SERVER} :{token}"
                ))])));
            }
            "PONG" => return None,
            "QUIT" => return Some(Ask::End(End::Left)),
            _ => {}
        }
        if let Some(registration) = self.registration.as_deref_mut() {
            match msg.command.as_str() {
                "NICK" => match param(0) {
                    Some(nick) => registration.nick = Some(nick.to_owned()),
                    None => {
                        return Some(Self::reply_numeric("431", ":No nickname given".to_owned()));
                    }
                },
                "USER" => {
                    if params.len() < 4 {
                        return need_more();
                    }
                    registration.user = true;
                }
                "PASS" => match param(0) {
                    Some(password) => registration.password = Some(password.to_owned()),
                    None => return need_more(),
                },
                _ if registration.sent => return None,
                _ => {
                    return Some(Self::reply_numeric(
                        "451",
                        ":You have not registered".to_owned(),
                    ));
                }
            }
            return self.try_register();
        }
        let room_of = |name: &str| name.strip_prefix('#').map(str::to_owned);
        Some(match msg.command.as_str() {
            "NICK" => match param(0) {
                Some(nick) => Ask::Hub(Request::Nick {
                    nick: nick.to_owned(),
                }),
                None => Self::reply_numeric("431", ":No nickname given".to_owned()),
            },
            "USER" | "PASS" => Self::reply_numeric("462", ":You may not reregister".to_owned()),
            "JOIN" => {
                let Some(names) = param(0) else {
                    return need_more();
                };
                // Several channels at once are several requests.
                let mut rooms = rooms(names);
                let Some(room) = rooms.next() else {
                    return need_more();
                };
                self.pending_joins.extend(rooms);
                Ask::Hub(Request::Join { room })
            }
            "PART" => {
                let Some(names) = param(0) else {
                    return need_more();
                };
                let mut rooms = rooms(names);
                let Some(room) = rooms.next() else {
                    return need_more();
                };
                self.pending_parts.extend(rooms);
                Ask::Hub(Request::Leave { room })
            }
            "PRIVMSG" | "NOTICE" => {
                let (Some(target), Some(text)) = (param(0), param(1)) else {
                    if msg.command == "NOTICE" {
                        return None;
                    }
                    return Some(Self::reply_numeric("412", ":No text to send".to_owned()));
                };
                let (text, kind) = match ctcp(text) {
                    Some(("ACTION", action)) => (action, MessageKind::Action),
                    // Other CTCP (VERSION, PING…) has nobody to answer it.
                    Some(_) => return None,
                    None => (text, MessageKind::Text),
                };
                let text = strip_formatting(text);
                if text.trim().is_empty() {
                    return Some(Self::reply_numeric("412", ":No text to send".to_owned()));
                }
                match room_of(target) {
                    Some(room) => Ask::Hub(Request::Send {
                        id: Some(self.next_id()),
                        room,
                        text,
                        kind,
                        reply_to: None,
                    }),
                    None => Ask::Hub(Request::Direct {
                        id: Some(self.next_id()),
                        to: target.to_owned(),
                        text,
                        kind,
                        reply_to: None,
                    }),
                }
            }
            "TOPIC" => {
                let Some(name) = param(0) else {
                    return need_more();
                };
                let room = room_of_channel(name);
                match param(1) {
                    Some(topic) => Ask::Hub(Request::Moderate {
                        room,
                        action: Moderate::Topic {
                            topic: strip_formatting(topic),
                        },
                    }),
                    None => Ask::Local(Local::Lines(self.topic_lines(&room, true))),
                }
            }
            "NAMES" => {
                let lines = match param(0) {
                    Some(names) => names
                        .split(',')
                        .flat_map(|name| self.names_lines(&room_of_channel(name)))
                        .collect(),
                    None => vec![Out::to("366", "* :End of /NAMES list")],
                };
                Ask::Local(Local::Lines(lines))
            }
            "WHO" => Ask::Local(Local::Lines(self.who_lines(param(0).unwrap_or("*")))),
            "WHOIS" => {
                let Some(nick) = params.last().copied() else {
                    return Some(Self::reply_numeric("431", ":No nickname given".to_owned()));
                };
                Ask::Local(Local::Lines(self.whois_lines(nick)))
            }
            "LIST" => Ask::Hub(Request::Rooms),
            "AWAY" => {
                self.away = param(0).is_some_and(|text| !text.is_empty());
                if self.away {
                    Self::reply_numeric("306", ":You have been marked as being away".to_owned())
                } else {
                    Self::reply_numeric("305", ":You are no longer marked as being away".to_owned())
                }
            }
            "MODE" => {
                let Some(target) = param(0) else {
                    return need_more();
                };
                match (room_of(target), param(1)) {
                    (Some(_), None) => Self::reply_numeric("324", format!("{target} +")),
                    (Some(_), Some(mode)) if mode.trim_start_matches(['+', '-']) == "b" => {
                        Self::reply_numeric("368", format!("{target} :End of channel ban list"))
                    }
                    (Some(_), Some(_)) => Self::reply_numeric(
                        "472",
                        format!(
                            "{target} :Hubbub has no channel modes; use the web client's room settings"
                        ),
                    ),
                    (None, _) => Self::reply_numeric("221", "+".to_owned()),
                }
            }
            "KICK" => {
                let (Some(name), Some(nick)) = (param(0), param(1)) else {
                    return need_more();
                };
                Ask::Hub(Request::Moderate {
                    room: room_of_channel(name),
                    action: Moderate::Kick {
                        nick: nick.to_owned(),
                        reason: param(2).filter(|r| !r.is_empty()).map(strip_formatting),
                    },
                })
            }
            "TAGMSG" => return typing(&msg),
            "CHATHISTORY" => self.chathistory(&msg),
            other => Self::reply_numeric("421", format!("{other} :Unknown command")),
        })
    }

    /// `CHATHISTORY` (IRCv3 draft/chathistory): a page of a channel's (or
    /// a conversation's) history, answered in a `chathistory` batch.
    fn chathistory(&mut self, msg: &Message<'_>) -> IrcAsk {
        let param = |i: usize| msg.params.get(i).copied();
        let fail = |code: &str, text: &str| {
            let sub = param(0).unwrap_or("*");
            Ask::Local(Local::Lines(vec![Out::Raw(format!(
                ":{SERVER} FAIL CHATHISTORY {code} {sub} :{text}"
            ))]))
        };
        let sub = param(0).unwrap_or("").to_ascii_uppercase();
        if sub == "TARGETS" {
            // Hubbub's conversations are rooms a client rejoins, not a list
            // kept per account: there are no other targets to tell.
            return Ask::Local(Local::Lines(self.empty_batch("draft/chathistory-targets")));
        }
        let Some(target) = param(1) else {
            return fail("NEED_MORE_PARAMS", "Not enough parameters");
        };
        let room = self.room_of_target(target);
        let limit_at = if sub == "BETWEEN" { 4 } else { 3 };
        let Some(limit) = param(limit_at).and_then(|l| l.parse::<usize>().ok()) else {
            return fail("INVALID_PARAMS", "The limit is missing or not a number");
        };
        let limit = limit.clamp(1, CHATHISTORY_PAGE);
        let reference = |i: usize| param(i).and_then(|r| bound(r, &room));
        let (after, before, newest) = match sub.as_str() {
            "LATEST" => match param(2) {
                Some("*") => (Bound::Open, Bound::Open, true),
                _ => match reference(2) {
                    Some(after) => (after, Bound::Open, true),
                    None => return fail("INVALID_PARAMS", "Give * or a msgid= or timestamp="),
                },
            },
            "BEFORE" | "AFTER" | "AROUND" => {
                let Some(at) = reference(2) else {
                    return fail("INVALID_PARAMS", "Give a msgid= or timestamp=");
                };
                match (sub.as_str(), at) {
                    ("BEFORE", at) => (Bound::Open, at, true),
                    // Sequence numbers are dense: half the page each side.
                    ("AROUND", Bound::Seq(seq)) => (
                        Bound::Seq(seq.saturating_sub(limit as u64 / 2 + 1)),
                        Bound::Open,
                        false,
                    ),
                    // Around a moment: from it on.
                    (_, at) => (at, Bound::Open, false),
                }
            }
            "BETWEEN" => {
                let (Some(from), Some(to)) = (reference(2), reference(3)) else {
                    return fail("INVALID_PARAMS", "Give two msgid= or timestamp=");
                };
                if ordered(from, to) {
                    (from, to, false)
                } else {
                    (to, from, true)
                }
            }
            _ => {
                return fail(
                    "INVALID_PARAMS",
                    "Hubbub knows LATEST, BEFORE, AFTER, AROUND, BETWEEN and TARGETS",
                );
            }
        };
        Ask::Range {
            room,
            after,
            before,
            limit,
            newest,
        }
    }
}

/// `\x01COMMAND text\x01` → (`COMMAND`, `text`).
fn ctcp(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('\u{1}')?;
    let inner = inner.strip_suffix('\u{1}').unwrap_or(inner);
    Some(inner.split_once(' ').unwrap_or((inner, "")))
}

/// Removes IRC's formatting codes (bold, colours, italics…): other doors
/// would show them as noise.
fn strip_formatting(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{2}' | '\u{1d}' | '\u{1f}' | '\u{1e}' | '\u{11}' | '\u{16}' | '\u{f}' => {}
            // Colour: up to two digits, optionally a comma and two more.
            '\u{3}' => {
                for _ in 0..2 {
                    if chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                }
                let mut ahead = chars.clone();
                if ahead.next() == Some(',') && ahead.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                    for _ in 0..2 {
                        if chars.peek().is_some_and(char::is_ascii_digit) {
                            chars.next();
                        }
                    }
                }
            }
            // Hex colour.
            '\u{4}' => {
                for _ in 0..6 {
                    if chars.peek().is_some_and(char::is_ascii_hexdigit) {
                        chars.next();
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The room a channel name names: `#rust` (or a bare `rust`) is `rust`.
fn room_of_channel(name: &str) -> String {
    name.strip_prefix('#').unwrap_or(name).to_owned()
}

/// The rooms of a `JOIN`/`PART` list (`#a,#b`), in order, empty names
/// skipped.
fn rooms(names: &str) -> impl Iterator<Item = String> + '_ {
    names
        .split(',')
        .filter(|name| !name.is_empty())
        .map(room_of_channel)
}

/// `@+typing=active TAGMSG #room`: the client is typing there.
fn typing(msg: &Message<'_>) -> Option<IrcAsk> {
    let room = msg.params.first()?.strip_prefix('#')?;
    (msg.tag("+typing").as_deref() == Some("active")).then(|| {
        Ask::Hub(Request::Typing {
            room: room.to_owned(),
        })
    })
}

/// A `msgid=` or `timestamp=` reference to a point in `room`'s history.
/// A msgid is `room/seq` ([`super::render`] writes them); one of another
/// room is no point in this one.
fn bound(reference: &str, room: &str) -> Option<Bound> {
    if let Some(id) = reference.strip_prefix("msgid=") {
        let (of, seq) = id.rsplit_once('/')?;
        if of != room {
            return None;
        }
        return seq.parse().ok().map(Bound::Seq);
    }
    let stamp = reference.strip_prefix("timestamp=")?;
    parse_stamp(stamp).map(Bound::Time)
}

/// Whether `first` comes before `second` (of the same kind; a mixed pair
/// is taken in the order given).
fn ordered(first: Bound, second: Bound) -> bool {
    match (first, second) {
        (Bound::Seq(a), Bound::Seq(b)) => a <= b,
        (Bound::Time(a), Bound::Time(b)) => a <= b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_codes_are_stripped() {
        assert_eq!(
            strip_formatting("\u{2}bold\u{2} \u{3}04,12red\u{f}"),
            "bold red"
        );
        assert_eq!(strip_formatting("\u{3}3green 5"), "green 5");
        assert_eq!(strip_formatting("plain"), "plain");
    }

    #[test]
    fn ctcp_actions_are_recognised() {
        assert_eq!(ctcp("\u{1}ACTION waves\u{1}"), Some(("ACTION", "waves")));
        assert_eq!(ctcp("\u{1}VERSION\u{1}"), Some(("VERSION", "")));
        assert_eq!(ctcp("hello"), None);
    }

    #[test]
    fn history_references_name_a_point_in_this_room() {
        assert_eq!(bound("msgid=lobby/42", "lobby"), Some(Bound::Seq(42)));
        assert_eq!(bound("msgid=rust/42", "lobby"), None, "another room's");
        assert_eq!(bound("msgid=lobby/x", "lobby"), None);
        assert_eq!(
            bound("timestamp=1970-01-01T00:00:01.500Z", "lobby"),
            Some(Bound::Time(1500))
        );
        assert_eq!(bound("42", "lobby"), None);
        assert!(ordered(Bound::Seq(1), Bound::Seq(2)));
        assert!(!ordered(Bound::Time(2), Bound::Time(1)));
    }
}
