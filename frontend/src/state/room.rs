//! A room as the client holds it: its scrollback of [`Line`]s (chat
//! messages, notices, gaps), who is in it and who is typing, and how it is
//! named on screen. The reducer in `state` decides when a room changes;
//! this module owns how a message finds its place among the lines (in `seq`
//! order, once) and how long the scrollback may grow.

use std::collections::BTreeSet;
use std::rc::Rc;

use shared::protocol::{Role, RoomSettings};
use shared::{ChatMessage, direct_members};

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
    /// this room (another room on screen, or the tab hidden).
    pub unread: u32,
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
        let mine = me.map(str::to_lowercase);
        let key = nick.to_lowercase();
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
        for (back, line) in self.lines.iter().rev().enumerate() {
            let index = len - 1 - back;
            match &line.body {
                LineBody::Chat(have) if have.seq == msg.seq => return false,
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
        let msg = if self.deleted.contains(&msg.seq) {
            deleted(&msg)
        } else {
            msg
        };
        let line = Line {
            id,
            body: LineBody::Chat(Rc::new(msg)),
        };
        self.lines.insert(at, line);
        self.trim();
        true
    }

    /// A message of kind `delete`: its target is deleted, wherever it is
    /// among the lines, and stays deleted when a page of history brings it
    /// again. The deletion itself is not a line.
    pub(super) fn delete(&mut self, deletion: &ChatMessage) {
        self.last_seq = self.last_seq.max(deletion.seq);
        let Some(target) = deletion.target else {
            return;
        };
        self.deleted.insert(target);
        let len = self.lines.len();
        let mut found = None;
        for (back, line) in self.lines.iter().rev().enumerate() {
            if let LineBody::Chat(msg) = &line.body
                && msg.seq == target
            {
                if !msg.deleted {
                    found = Some((len - 1 - back, line.id, deleted(msg)));
                }
                break;
            }
        }
        if let Some((index, id, msg)) = found {
            let body = LineBody::Chat(Rc::new(msg));
            self.lines.set(index, Line { id, body });
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

/// `msg` as a deleted message reads: no text, no file.
fn deleted(msg: &ChatMessage) -> ChatMessage {
    ChatMessage {
        text: String::new(),
        attachment: None,
        deleted: true,
        ..msg.clone()
    }
}

/// A room's name for people: `#rust`; a conversation (`@alice+bob`) is
/// named by the other person (`bob` for alice).
pub fn room_label(room: &str, me: Option<&str>) -> String {
    match direct_members(room) {
        Some((a, b)) => {
            let me = me.map(str::to_lowercase);
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
