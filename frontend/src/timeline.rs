//! How a run of lines reads: where a new day starts (a separator) and which
//! messages continue the one before (grouped under one author and time).
//! The message list feeds lines through a [`Grouper`] in order; the rules are
//! plain Rust, tested natively.

use shared::{ChatMessage, MessageKind};

use crate::clock::local_day;

/// Messages further apart than this start a new group even from one author.
pub const GROUP_GAP_MS: i64 = 5 * 60 * 1000;

/// What the list draws before and around one chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// A new local day starts here: draw a separator for this day number.
    pub new_day: Option<i64>,
    /// Same author as the message right before, soon after: draw only the
    /// text, under the previous message's author and time.
    pub continued: bool,
}

/// Walks a run of lines in order and marks each chat message.
#[derive(Debug)]
pub struct Grouper<'a> {
    /// Local time zone offset (minutes) at an instant.
    offset: fn(i64) -> i64,
    /// The local day of the last chat message seen.
    day: Option<i64>,
    /// The line just before, if it was a chat message.
    prev: Option<&'a ChatMessage>,
}

impl<'a> Grouper<'a> {
    /// `before` is the line just before the run, if it is a chat message, and
    /// `last_day_before` the local day of the last chat message before the
    /// run (`None` when there is none: the first message gets a separator).
    pub fn new(
        offset: fn(i64) -> i64,
        before: Option<&'a ChatMessage>,
        last_ts_before: Option<i64>,
    ) -> Self {
        Grouper {
            offset,
            day: last_ts_before.map(|ts| local_day(ts, offset(ts))),
            prev: before,
        }
    }

    pub fn chat(&mut self, msg: &'a ChatMessage) -> Marks {
        let day = local_day(msg.ts, (self.offset)(msg.ts));
        let new_day = (self.day != Some(day)).then_some(day);
        let continued = new_day.is_none() && self.prev.is_some_and(|prev| continues(prev, msg));
        self.day = Some(day);
        self.prev = Some(msg);
        Marks { new_day, continued }
    }

    /// A notice breaks a group.
    pub fn notice(&mut self) {
        self.prev = None;
    }
}

/// Whether `msg` reads as a continuation of `prev`: same author and room,
/// both plain text (an action always shows its author), within
/// [`GROUP_GAP_MS`]. The caller checks the day.
pub fn continues(prev: &ChatMessage, msg: &ChatMessage) -> bool {
    prev.nick == msg.nick
        && prev.room == msg.room
        && prev.kind == MessageKind::Text
        && msg.kind == MessageKind::Text
        && (0..=GROUP_GAP_MS).contains(&(msg.ts - prev.ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_070_000_000; // 2025-11-25, 11:26 UTC

    fn utc(_: i64) -> i64 {
        0
    }

    fn msg(nick: &str, ts: i64, kind: MessageKind) -> ChatMessage {
        ChatMessage {
            room: "lobby".into(),
            seq: 1,
            ts,
            nick: nick.into(),
            text: "x".into(),
            kind,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }
    }

    fn text(nick: &str, ts: i64) -> ChatMessage {
        msg(nick, ts, MessageKind::Text)
    }

    #[test]
    fn consecutive_messages_by_one_author_are_grouped() {
        let lines = [
            text("bob", T0),
            text("bob", T0 + 1000),
            text("bob", T0 + 2000),
            text("alice", T0 + 3000),
            text("bob", T0 + 4000),
            text("bob", T0 + 4000 + GROUP_GAP_MS + 1),
            msg("bob", T0 + GROUP_GAP_MS + 5000, MessageKind::Action),
            text("bob", T0 + GROUP_GAP_MS + 6000),
        ];
        let mut grouper = Grouper::new(utc, None, None);
        let continued: Vec<bool> = lines.iter().map(|m| grouper.chat(m).continued).collect();
        assert_eq!(
            continued,
            [false, true, true, false, false, false, false, false]
        );
    }

    #[test]
    fn a_notice_or_a_new_day_breaks_a_group() {
        let a = text("bob", T0);
        let b = text("bob", T0 + 1000);
        let mut grouper = Grouper::new(utc, None, None);
        grouper.chat(&a);
        grouper.notice();
        assert!(!grouper.chat(&b).continued);

        // 23:59 and 00:01 are two days, however close.
        let day = local_day(T0, 0);
        let late = text("bob", (day + 1) * 86_400_000 - 60_000);
        let early = text("bob", (day + 1) * 86_400_000 + 60_000);
        let mut grouper = Grouper::new(utc, None, None);
        assert_eq!(grouper.chat(&late).new_day, Some(day));
        let marks = grouper.chat(&early);
        assert_eq!(marks.new_day, Some(day + 1));
        assert!(!marks.continued);
    }

    #[test]
    fn day_separators_come_once_per_local_day() {
        let day = local_day(T0, 0);
        let lines = [
            text("a", T0),
            text("b", T0 + 1),
            text("a", T0 + 86_400_000),
            text("a", T0 + 3 * 86_400_000),
        ];
        let mut grouper = Grouper::new(utc, None, None);
        let days: Vec<Option<i64>> = lines.iter().map(|m| grouper.chat(m).new_day).collect();
        assert_eq!(days, [Some(day), None, Some(day + 1), Some(day + 3)]);

        // A run that starts mid-history knows the day before it.
        let before = text("z", T0 - 1000);
        let mut grouper = Grouper::new(utc, Some(&before), Some(before.ts));
        let marks = grouper.chat(&lines[0]);
        assert_eq!(
            marks,
            Marks {
                new_day: None,
                continued: false
            }
        );
        let mut grouper = Grouper::new(utc, Some(&lines[0]), Some(T0));
        assert!(grouper.chat(&lines[0]).continued);
    }

    #[test]
    fn the_local_offset_decides_the_day() {
        fn plus_13(_: i64) -> i64 {
            13 * 60
        }
        let day = local_day(T0, 0);
        // 11:26 UTC is 00:26 the next day at UTC+13.
        let mut grouper = Grouper::new(plus_13, None, None);
        assert_eq!(grouper.chat(&text("a", T0)).new_day, Some(day + 1));
    }
}
