//! A room as the client holds it: its scrollback of [`Line`]s (chat
//! messages, notices, gaps), who is in it and who is typing, and how it is
//! named on screen. The reducer in `state` decides when a room changes;
//! this module owns how a message finds its place among the lines (in `seq`
//! order, once) and how long the scrollback may grow.

use std::collections::BTreeSet;
use std::rc::Rc;

use shared::protocol::{Quote, Reaction, Role, RoomSettings, UnreadCount};
use shared::{ChatMessage, MessageKind, direct_members};

use crate::linkify::mentions_me;
use crate::lowercase::lowercase;
use crate::moderation::role_of;
use crate::scrollback::Scrollback;

/// Lines a room keeps, at least; up to one chunk more is kept, since trimming
/// drops whole chunks. Enough for a busy day; bounded so that a tab left open
/// for weeks does not grow without end.
pub const MAX_LINES_PER_ROOM: usize = 20_000;
const _: () = assert!(
    MAX_LINES_PER_ROOM >= 10_000,
    "the page must hold 10,000 lines"
);

/// One entry of a room's scrollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Unique within this page's life, and increasing in the order lines
    /// were added. Sequence numbers are not unique: they restart when the
    /// server does, so they cannot serve as render keys.
    pub id: u64,
    pub body: LineBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineBody {
    /// A chat message as the server confirmed it.
    Chat(Rc<ChatMessage>),
    /// Something the client tells the person: joins, leaves, errors.
    Notice { text: Rc<str>, tone: Tone },
    /// Messages `from` to `to` exist but were not sent after a reconnect
    /// (more were missed than the server replays). It sits where they
    /// belong, and shrinks as they are loaded.
    Gap { from: u64, to: u64 },
}

impl Line {
    pub fn chat(&self) -> Option<&ChatMessage> {
        match &self.body {
            LineBody::Chat(msg) => Some(msg),
            LineBody::Notice { .. } | LineBody::Gap { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Error,
}

/// How many chat messages in `lines` were added after the line `after` (a
/// line id): the "N new" of the jump-to-latest button. Counts from the end,
/// so it costs what it counts.
pub fn chats_after(lines: &Scrollback<Line>, after: u64) -> usize {
    lines
        .iter()
        .rev()
        .take_while(|line| line.id > after)
        .filter(|line| line.chat().is_some())
        .count()
}

/// A room the client is in, or was in before the connection dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Room {
    pub name: String,
    /// In the room on the current connection.
    pub joined: bool,
    /// The online list, in the server's order. Empty while disconnected: a
    /// stale list would claim people are present when nobody knows.
    pub members: Vec<String>,
    pub lines: Scrollback<Line>,
    /// Chat messages from others that arrived while nobody was looking at
    /// this room (another room on screen, or the tab hidden); signed in, as
    /// the server counted them after the read marker, then counted on.
    pub unread: u32,
    /// Those of them that mention the person.
    pub mentions: u32,
    /// The read marker: the person has read the room up to this `seq`
    /// (the server's for an account, this browser's for a guest).
    pub read: u64,
    /// A message to show that is not loaded yet (a search result): the
    /// page of history around it was asked for.
    pub awaiting: Option<u64>,
    /// The server has messages older than the oldest one here: scrolling to
    /// the top can load more.
    pub has_older: bool,
    /// A page of older messages was asked for and has not arrived yet.
    pub loading_older: bool,
    /// The highest `seq` seen here (0 for none).
    pub last_seq: u64,
    /// Who is typing, and until when (ms since the epoch), oldest first.
    pub typing: Vec<(String, i64)>,
    /// For a conversation (`@alice+bob`): the other person's nickname as
    /// they write it, once known.
    pub peer: Option<String>,
    /// Topic, slow mode and roles, as the server last said (`room_state`).
    /// Behind an `Rc`: every action copies the rooms, and views take it as
    /// a prop.
    pub settings: Rc<RoomSettings>,
    /// Taken out of the room by a moderator (kicked or banned), as opposed
    /// to leaving: the room stays on screen to say why, and may be joined
    /// again.
    pub ejected: bool,
    /// Muted here by a moderator: until when (ms since the epoch), or
    /// `Some(None)` for good.
    pub muted_until: Option<Option<i64>>,
    /// When the person's last message here was sent (ms, the browser's
    /// clock): with slow mode, when the next may be.
    pub posted_at: Option<i64>,
    /// The message the person is answering: the composer's next message
    /// goes as a reply to it.
    pub replying: Option<Quote>,
    /// Messages known to be deleted, by `seq`: a deletion can arrive before
    /// the page of history that holds its message.
    pub(super) deleted: BTreeSet<u64>,
    /// The person asked to leave: the `left` that follows is theirs.
    pub(super) leaving: bool,
    /// The connection was lost while in the room (and the room was told):
    /// joining again says so.
    pub(super) lost: bool,
    /// Lines before this index came from an earlier connection. Only lines
    /// from here on are ordered and de-duplicated by `seq`, because a
    /// restarted server numbers from 1 again.
    pub(super) live_from: usize,
}

impl Room {
    pub(super) fn new(name: &str) -> Self {
        Room {
            name: name.to_owned(),
            ..Room::default()
        }
    }

    /// The confirmed chat messages, oldest first.
    pub fn messages(&self) -> impl Iterator<Item = &ChatMessage> {
        self.lines.iter().filter_map(Line::chat)
    }

    /// The lowest `seq` here: where the next older page ends.
    pub fn oldest_seq(&self) -> Option<u64> {
        self.messages().next().map(|m| m.seq)
    }

    /// Someone's role here.
    pub fn role_of(&self, nick: &str) -> Role {
        role_of(&self.settings.roles, nick)
    }

    /// A conversation between two people rather than a room.
    pub fn is_direct(&self) -> bool {
        direct_members(&self.name).is_some()
    }

    /// How the room is named on screen: `#rust`, or for a conversation the
    /// other person's nickname.
    pub fn label(&self, me: Option<&str>) -> String {
        match &self.peer {
            Some(peer) if self.is_direct() => peer.clone(),
            _ => room_label(&self.name, me),
        }
    }

    /// Who is typing at `now`, oldest first.
    pub fn typing_at(&self, now: i64) -> Vec<&str> {
        self.typing
            .iter()
            .filter(|(_, until)| *until > now)
            .map(|(nick, _)| nick.as_str())
            .collect()
    }

    pub(super) fn learn_peer(&mut self, nick: &str, me: Option<&str>) {
        let Some((a, b)) = direct_members(&self.name) else {
            return;
        };
        let mine = me.map(lowercase);
        let key = lowercase(nick);
        if Some(&key) != mine.as_ref() && (key == a || key == b) {
            self.peer = Some(nick.to_owned());
        }
    }

    /// Puts a message in `seq` order, unless this connection already has it
    /// (the sender's own message arrives once as an ack and once as itself).
    /// Returns whether it was added.
    pub(super) fn insert_chat(&mut self, id: u64, msg: ChatMessage) -> bool {
        // Messages nearly always arrive in order, so search from the end.
        // Sequence numbers are kept by the server's store across restarts,
        // so a message seen before a reconnect is recognised after it.
        let len = self.lines.len();
        let mut at = len;
        let mut gap = None;
        let mut known = None;
        for (back, line) in self.lines.iter().rev().enumerate() {
            let index = len - 1 - back;
            match &line.body {
                LineBody::Chat(have) if have.seq == msg.seq => {
                    // A copy with later changes (a page read after them)
                    // replaces this one, unless this one was deleted.
                    let fresher = msg.rev > have.rev && !have.deleted;
                    known = Some(fresher.then_some((index, line.id)));
                    break;
                }
                LineBody::Chat(have) if have.seq > msg.seq => at = index,
                LineBody::Chat(_) => break,
                // At or after the start of a hole: it goes below the marker.
                LineBody::Gap { from, to } if msg.seq >= *from => {
                    gap = Some((index, *from, *to));
                    break;
                }
                LineBody::Gap { .. } => at = index,
                LineBody::Notice { .. } => {}
            }
        }
        if let Some(fresher) = known {
            if let Some((index, id)) = fresher {
                let body = LineBody::Chat(Rc::new(self.as_known(msg)));
                self.lines.set(index, Line { id, body });
            }
            return false;
        }
        // A message from inside the hole was loaded: the hole now ends
        // before it (pages arrive oldest first), or is gone.
        if let Some((index, from, to)) = gap
            && msg.seq <= to
        {
            if msg.seq > from {
                let id = self.lines.get(index).map_or(0, |l| l.id);
                let body = LineBody::Gap {
                    from,
                    to: msg.seq - 1,
                };
                self.lines.set(index, Line { id, body });
            } else {
                self.lines.remove(index);
                at -= 1;
            }
        }
        self.last_seq = self.last_seq.max(msg.seq);
        let msg = self.as_known(msg);
        let line = Line {
            id,
            body: LineBody::Chat(Rc::new(msg)),
        };
        self.lines.insert(at, line);
        self.trim();
        true
    }

    /// `msg` as this room knows it: deleted if its deletion came first,
    /// and quoting a deleted message as deleted.
    fn as_known(&self, msg: ChatMessage) -> ChatMessage {
        let mut msg = if self.deleted.contains(&msg.seq) {
            deleted(&msg)
        } else {
            msg
        };
        if let Some(quote) = &mut msg.quote
            && self.deleted.contains(&quote.seq)
        {
            quote.text.clear();
            quote.deleted = true;
        }
        msg
    }

    /// The line of chat message `seq`, if it is here: its index, its id
    /// and the message. Searched from the end, where changes mostly land.
    fn find_chat(&self, seq: u64) -> Option<(usize, u64, &ChatMessage)> {
        let len = self.lines.len();
        self.lines
            .iter()
            .rev()
            .enumerate()
            .find_map(|(back, line)| match &line.body {
                LineBody::Chat(msg) if msg.seq == seq => Some((len - 1 - back, line.id, &**msg)),
                _ => None,
            })
    }

    /// A message of kind `delete`: its target is deleted, wherever it is
    /// among the lines, and stays deleted when a page of history brings it
    /// again; replies here quote it as deleted. The deletion itself is not
    /// a line.
    pub(super) fn delete(&mut self, deletion: &ChatMessage) {
        self.last_seq = self.last_seq.max(deletion.seq);
        let Some(target) = deletion.target else {
            return;
        };
        if !self.deleted.insert(target) {
            return;
        }
        let mut changed = Vec::new();
        for (index, line) in self.lines.iter().enumerate() {
            if let LineBody::Chat(msg) = &line.body
                && (msg.seq == target && !msg.deleted
                    || msg
                        .quote
                        .as_ref()
                        .is_some_and(|q| q.seq == target && !q.deleted))
            {
                changed.push((index, line.id, (**msg).clone()));
            }
        }
        for (index, id, msg) in changed {
            let body = LineBody::Chat(Rc::new(self.as_known(msg)));
            self.lines.set(index, Line { id, body });
        }
    }

    /// The read marker moved to `seq` (here or on another page): the
    /// counts cover only what is after it. Messages not loaded here are
    /// not counted again, so the counts only go down.
    pub(super) fn mark_read(&mut self, seq: u64, me: Option<&str>) {
        self.read = self.read.max(seq);
        if self.read >= self.last_seq {
            self.unread = 0;
            self.mentions = 0;
            return;
        }
        let (unread, mentions) = self.count_after(self.read, me);
        self.unread = self.unread.min(unread);
        self.mentions = self.mentions.min(mentions);
    }

    /// The server's counts: they replace the page's, plus the messages
    /// here that came after the server counted (its answer can follow
    /// them).
    pub(super) fn set_counts(&mut self, count: &UnreadCount, me: Option<&str>) {
        self.read = self.read.max(count.read);
        let (unread, mentions) = self.count_after(count.head.max(self.read), me);
        self.unread = count.unread.saturating_add(unread);
        self.mentions = count.mentions.saturating_add(mentions);
    }

    /// The messages here by others after `seq`, and those of them that
    /// mention `me`.
    fn count_after(&self, seq: u64, me: Option<&str>) -> (u32, u32) {
        let (mut unread, mut mentions) = (0, 0);
        for msg in self.messages() {
            if msg.seq > seq && me != Some(msg.nick.as_str()) && !msg.deleted {
                unread += 1;
                if me.is_some_and(|me| mentions_me(&msg.text, me)) {
                    mentions += 1;
                }
            }
        }
        (unread, mentions)
    }

    /// Whether message `seq` is among the lines.
    pub fn has_message(&self, seq: u64) -> bool {
        self.lines
            .iter()
            .rev()
            .any(|line| line.chat().is_some_and(|m| m.seq == seq))
    }

    /// A message of kind `edit`, `react` or `unreact`: it changes its
    /// target when the target is here and does not include it yet (the
    /// target's `rev` is below the change's `seq`), and the target's `rev`
    /// becomes the change's; an edit also changes the quotes of the replies
    /// to it. A target not here is left alone: a page that brings it later
    /// already includes the change. The change itself is not a line.
    pub(super) fn change(&mut self, change: &ChatMessage) {
        self.last_seq = self.last_seq.max(change.seq);
        let Some((index, id, msg)) = change.target.and_then(|seq| self.find_chat(seq)) else {
            return;
        };
        if msg.deleted || msg.rev >= change.seq {
            return;
        }
        let mut msg = msg.clone();
        msg.rev = change.seq;
        let (emoji, nick) = (&change.text, &change.nick);
        let given = msg.reactions.iter_mut().find(|r| r.emoji == *emoji);
        match (change.kind, given) {
            (MessageKind::Edit, _) => {
                msg.text.clone_from(&change.text);
                msg.edited = Some(change.ts);
            }
            (MessageKind::React, Some(reaction)) => {
                if !reaction.nicks.contains(nick) {
                    reaction.nicks.push(nick.clone());
                }
            }
            (MessageKind::React, None) => msg.reactions.push(Reaction {
                emoji: emoji.clone(),
                nicks: vec![nick.clone()],
            }),
            (_, Some(reaction)) => {
                reaction.nicks.retain(|n| n != nick);
                msg.reactions.retain(|r| !r.nicks.is_empty());
            }
            (_, None) => {}
        }
        let edited = (change.kind == MessageKind::Edit).then_some(msg.seq);
        let body = LineBody::Chat(Rc::new(msg));
        self.lines.set(index, Line { id, body });
        // Replies here quote it as it is now, as a page read later would.
        if let Some(target) = edited {
            let text = change.text.split('\n').next().unwrap_or_default();
            let mut quoting = Vec::new();
            for (index, line) in self.lines.iter().enumerate() {
                if let LineBody::Chat(msg) = &line.body
                    && msg.quote.as_ref().is_some_and(|q| q.seq == target)
                {
                    quoting.push((index, line.id, (**msg).clone()));
                }
            }
            for (index, id, mut msg) in quoting {
                if let Some(quote) = &mut msg.quote {
                    text.clone_into(&mut quote.text);
                }
                let body = LineBody::Chat(Rc::new(msg));
                self.lines.set(index, Line { id, body });
            }
        }
    }

    /// After a page that ends at `last`: if the next message here is not
    /// `last + 1`, the ones between are missing (a page loaded around a
    /// quoted message, far above what was here), and a gap marker below
    /// the page says so and loads them.
    pub(super) fn mark_hole_after(&mut self, last: u64, id: u64) {
        // The page's last line: it may have ended with changes, which are
        // no lines.
        let len = self.lines.len();
        let Some(index) = self.lines.iter().rev().position(|line| match &line.body {
            LineBody::Chat(msg) => msg.seq <= last,
            _ => false,
        }) else {
            return;
        };
        let index = len - 1 - index;
        let next = self
            .lines
            .range(index + 1..self.lines.len())
            .find_map(|(_, line)| match &line.body {
                LineBody::Chat(msg) => Some(Some(msg.seq)),
                LineBody::Gap { .. } => Some(None),
                LineBody::Notice { .. } => None,
            })
            .flatten();
        if let Some(next) = next.filter(|next| *next > last + 1) {
            let body = LineBody::Gap {
                from: last + 1,
                to: next - 1,
            };
            self.lines.insert(index + 1, Line { id, body });
        }
    }

    pub(super) fn push_notice(&mut self, id: u64, text: String, tone: Tone) {
        self.lines.push(Line {
            id,
            body: LineBody::Notice {
                text: text.into(),
                tone,
            },
        });
        self.trim();
    }

    fn trim(&mut self) {
        let dropped = self.lines.trim_front(MAX_LINES_PER_ROOM);
        self.live_from = self.live_from.saturating_sub(dropped);
        if dropped > 0 {
            self.has_older = true;
        }
    }
}

/// `msg` as a deleted message reads: no text, no file, no reactions.
fn deleted(msg: &ChatMessage) -> ChatMessage {
    ChatMessage {
        text: String::new(),
        attachment: None,
        deleted: true,
        reactions: Vec::new(),
        edited: None,
        ..msg.clone()
    }
}

/// A room's name for people: `#rust`; a conversation (`@alice+bob`) is
/// named by the other person (`bob` for alice).
pub fn room_label(room: &str, me: Option<&str>) -> String {
    match direct_members(room) {
        Some((a, b)) => {
            let me = me.map(lowercase);
            if me.as_deref() == Some(a) {
                b.to_owned()
            } else {
                a.to_owned()
            }
        }
        None => format!("#{room}"),
    }
}

/// "alice is typing…", "alice and bob are typing…", and so on; `None` when
/// nobody is.
pub fn typing_text(nicks: &[&str]) -> Option<String> {
    match nicks {
        [] => None,
        [one] => Some(format!("{one} is typing…")),
        [a, b] => Some(format!("{a} and {b} are typing…")),
        [a, b, c] => Some(format!("{a}, {b} and {c} are typing…")),
        _ => Some("Several people are typing…".to_owned()),
    }
}
