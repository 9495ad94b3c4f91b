//! What the connection task remembers from one socket to the next, and the
//! decisions it makes on it: which nickname to say hello with, how long to
//! wait before reconnecting, what to say hello with (the last message seen
//! in each room, so the server replays exactly what was missed), what to
//! send once welcomed (messages queued while offline, and those that were on
//! the wire when it dropped, under their own ids), how often to say we are
//! typing, and when a refused nickname is our own old connection that the
//! server has not yet seen go.
//!
//! `connection` owns the socket and asks this; nothing here does I/O or
//! reads a clock (times are passed in), so it is tested natively.

use std::collections::{BTreeMap, VecDeque};

use shared::{ClientMsg, ErrorCode, ServerMsg};

use crate::backoff::Backoff;

/// How long a refused hello with our own nickname is retried after a
/// reconnect. The server closes a connection it hears nothing from after
/// 60 s (docs/protocol.md), so by then the old one is gone.
pub const RECLAIM_WINDOW_MS: f64 = 75_000.0;

/// At most one typing notification per room this often (docs/protocol.md).
pub const TYPING_EVERY_MS: f64 = 3_000.0;

/// What to do with a message from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on to the state.
    Pass,
    /// Our own nickname was refused after a reconnect, most likely because
    /// the server still holds our previous connection. Keep it from the state
    /// (no nickname prompt), drop this socket and try again after a backoff.
    /// `first` is true for the first refusal of a run.
    Reclaim { first: bool },
}

#[derive(Debug, Default)]
pub struct Session {
    /// The nickname to say hello with on the next socket: the one asked
    /// for, then the one the server accepted. `None` after a refusal, until
    /// the person picks another; no socket is opened without one.
    pub nick: Option<String>,
    pub backoff: Backoff,
    /// Welcomed on the current socket.
    pub welcomed: bool,
    /// The nickname the server last accepted on this page.
    accepted: Option<String>,
    /// When our own nickname was first refused in the current run of
    /// reconnects (ms since the epoch).
    reclaim_since: Option<f64>,
    /// The rooms the client is in, each with the highest `seq` seen there
    /// (0 for none): the `resume` of the next hello.
    seen: BTreeMap<String, u64>,
    /// Messages waiting for a welcomed socket, oldest first.
    outbox: VecDeque<ClientMsg>,
    /// Messages written to the socket whose ack (or refusal) has not come,
    /// oldest first. If the socket drops they are sent again with the same
    /// ids; the server recognises one it already stored.
    in_flight: Vec<ClientMsg>,
    /// When a typing notification was last sent, per room.
    typing_sent: BTreeMap<String, f64>,
    /// Signed in on the current socket.
    account: bool,
    /// Time to ask the server what is unread (`unread`).
    unread_due: bool,
}

impl Session {
    pub fn new(nick: Option<String>) -> Self {
        Session {
            nick,
            ..Session::default()
        }
    }

    /// Follows what the server says about who and where we are.
    pub fn observe(&mut self, msg: &ServerMsg, now_ms: f64) -> Verdict {
        match msg {
            ServerMsg::Welcome { nick, account, .. } => {
                // The server joins the rooms of the hello's `resume` before
                // it reads what follows the hello: one `unread` covers them.
                self.account = *account;
                self.unread_due = *account;
                self.welcomed = true;
                self.nick = Some(nick.clone());
                self.accepted = Some(nick.clone());
                self.reclaim_since = None;
                self.backoff.reset();
            }
            ServerMsg::NickChanged { old, new, .. }
                if self.welcomed && self.nick.as_deref() == Some(old.as_str()) =>
            {
                self.nick = Some(new.clone());
                self.accepted = Some(new.clone());
            }
            // A room joined since: its counts too.
            ServerMsg::Joined { room, .. } if !self.seen.contains_key(room) => {
                self.unread_due |= self.account && self.welcomed;
                self.seen.insert(room.clone(), 0);
            }
            ServerMsg::Registered { .. } => self.account = true,
            ServerMsg::Left { room } => {
                self.seen.remove(room);
            }
            ServerMsg::Message(msg) => self.saw(&msg.room, msg.seq),
            ServerMsg::History { room, messages, .. } => {
                if let Some(last) = messages.last() {
                    self.saw(room, last.seq);
                }
            }
            ServerMsg::Ack { id, room, seq, .. } => {
                self.saw(room, *seq);
                self.in_flight.retain(|m| msg_id(m) != Some(id.as_str()));
            }
            ServerMsg::Error { id: Some(id), .. } => {
                self.in_flight.retain(|m| msg_id(m) != Some(id.as_str()));
            }
            ServerMsg::Error {
                code: ErrorCode::NickTaken,
                id: None,
                ..
            } if !self.welcomed => {
                let ours = self.nick.is_some() && self.nick == self.accepted;
                let since = *self.reclaim_since.get_or_insert(now_ms);
                if ours && now_ms - since < RECLAIM_WINDOW_MS {
                    return Verdict::Reclaim {
                        first: since == now_ms,
                    };
                }
                self.nick = None;
                self.reclaim_since = None;
            }
            // Refusals that saying hello again would only repeat: the
            // person chooses another nickname, or signs in.
            ServerMsg::Error {
                code:
                    ErrorCode::NickInvalid
                    | ErrorCode::NickRegistered
                    | ErrorCode::AuthFailed
                    | ErrorCode::GuestsNotAllowed
                    | ErrorCode::RegistrationClosed,
                id: None,
                ..
            } if !self.welcomed => self.nick = None,
            _ => {}
        }
        Verdict::Pass
    }

    fn saw(&mut self, room: &str, seq: u64) {
        if let Some(last) = self.seen.get_mut(room) {
            *last = (*last).max(seq);
        }
    }

    /// Whether to ask the server what is unread now (signed in: after the
    /// welcome, and after joining a room); asking clears it.
    pub fn take_unread_due(&mut self) -> bool {
        std::mem::take(&mut self.unread_due)
    }

    /// The socket is gone. What was on the wire unconfirmed goes back to
    /// the front of the queue, in order, to be sent again with its id.
    pub fn lost(&mut self) {
        self.welcomed = false;
        self.account = false;
        self.unread_due = false;
        for msg in self.in_flight.drain(..).rev() {
            self.outbox.push_front(msg);
        }
        self.typing_sent.clear();
    }

    /// The person signed out: nothing of this session may follow the next
    /// person in (no nickname, no rooms to resume, nothing queued).
    pub fn forget(&mut self) {
        *self = Session::default();
    }

    /// `msg` was written to a welcomed socket.
    pub fn sent(&mut self, msg: &ClientMsg) {
        if msg_id(msg).is_some() {
            self.in_flight.push(msg.clone());
        }
    }

    /// The `resume` for a hello: every room the client is in with the last
    /// `seq` seen there. Empty before the first welcome, so that a new
    /// visitor lands in the lobby.
    pub fn resume(&self) -> BTreeMap<String, u64> {
        self.seen.clone()
    }

    /// Whether to tell the server we are typing in `room` at `now` (ms):
    /// at most once per [`TYPING_EVERY_MS`] per room.
    pub fn typing_due(&mut self, room: &str, now: f64) -> bool {
        match self.typing_sent.get(room) {
            Some(last) if now - last < TYPING_EVERY_MS => false,
            _ => {
                self.typing_sent.insert(room.to_owned(), now);
                true
            }
        }
    }

    /// Keeps `msg` until a socket is welcomed.
    pub fn queue(&mut self, msg: ClientMsg) {
        self.outbox.push_back(msg);
    }

    /// Puts back a message that could not be written, first in line.
    pub fn requeue(&mut self, msg: ClientMsg) {
        self.outbox.push_front(msg);
    }

    /// The next message to send on a welcomed socket, if one waits.
    pub fn next_queued(&mut self) -> Option<ClientMsg> {
        self.outbox.pop_front()
    }

    /// Messages waiting for a connection.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }
}

/// The id of a message that gets an ack.
fn msg_id(msg: &ClientMsg) -> Option<&str> {
    match msg {
        ClientMsg::Send { id, .. } | ClientMsg::Direct { id, .. } | ClientMsg::Edit { id, .. } => {
            Some(id)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use shared::{DEFAULT_ROOM, Limits, MessageKind};

    use super::*;

    fn welcome(nick: &str) -> ServerMsg {
        ServerMsg::Welcome {
            nick: nick.into(),
            server: "0.1.0".into(),
            limits: Limits::V1,
            account: false,
            token: None,
            expires: None,
        }
    }

    fn taken() -> ServerMsg {
        ServerMsg::error(ErrorCode::NickTaken, "taken")
    }

    fn send(id: &str) -> ClientMsg {
        ClientMsg::Send {
            id: id.into(),
            room: DEFAULT_ROOM.into(),
            text: id.into(),
            kind: MessageKind::Text,
            reply_to: None,
        }
    }

    #[test]
    fn a_welcome_resets_backoff_and_remembers_the_accepted_nick() {
        let mut session = Session::new(Some("ａｌｉｃｅ".into()));
        session.backoff.next_delay_ms(0.5);
        assert_eq!(session.observe(&welcome("alice"), 0.0), Verdict::Pass);
        assert!(session.welcomed);
        assert_eq!(session.nick.as_deref(), Some("alice"));
        assert_eq!(session.backoff.attempt(), 0);
    }

    #[test]
    fn a_refused_first_hello_forgets_the_nick_so_reconnects_do_not_retry_it() {
        let mut session = Session::new(Some("alice".into()));
        assert_eq!(session.observe(&taken(), 0.0), Verdict::Pass);
        assert_eq!(session.nick, None);

        let mut session = Session::new(Some("server".into()));
        session.observe(&ServerMsg::error(ErrorCode::NickInvalid, "no"), 0.0);
        assert_eq!(session.nick, None);
    }

    #[test]
    fn a_registered_nickname_or_a_failed_sign_in_is_not_said_again() {
        for code in [
            ErrorCode::NickRegistered,
            ErrorCode::AuthFailed,
            ErrorCode::GuestsNotAllowed,
        ] {
            let mut session = Session::new(Some("ada".into()));
            session.observe(&ServerMsg::error(code, "no"), 0.0);
            assert_eq!(session.nick, None, "{code:?}");
        }
    }

    #[test]
    fn signing_out_forgets_the_nick_the_rooms_and_the_queue() {
        let mut session = Session::new(Some("ada".into()));
        session.observe(&welcome("ada"), 0.0);
        session.observe(&joined("rust"), 0.0);
        session.queue(send("c1"));
        session.forget();
        assert_eq!(session.nick, None);
        assert!(session.resume().is_empty());
        assert_eq!(session.next_queued(), None);
        assert!(!session.welcomed);
    }

    #[test]
    fn a_refused_rename_keeps_the_registered_nick() {
        let mut session = Session::default();
        session.observe(&welcome("alice"), 0.0);
        assert_eq!(session.observe(&taken(), 0.0), Verdict::Pass);
        assert_eq!(session.nick.as_deref(), Some("alice"));
    }

    #[test]
    fn my_rename_is_what_the_next_hello_uses() {
        let mut session = Session::default();
        session.observe(&welcome("alice"), 0.0);
        session.observe(
            &ServerMsg::NickChanged {
                old: "bob".into(),
                new: "robert".into(),
                rooms: vec![],
            },
            0.0,
        );
        assert_eq!(session.nick.as_deref(), Some("alice"));
        session.observe(
            &ServerMsg::NickChanged {
                old: "alice".into(),
                new: "alicia".into(),
                rooms: vec![],
            },
            0.0,
        );
        assert_eq!(session.nick.as_deref(), Some("alicia"));
    }

    #[test]
    fn our_own_nick_refused_after_a_reconnect_is_retried_for_a_while() {
        let mut session = Session::new(Some("alice".into()));
        session.observe(&welcome("alice"), 0.0);
        session.lost();

        let t0 = 1_000_000.0;
        assert_eq!(
            session.observe(&taken(), t0),
            Verdict::Reclaim { first: true }
        );
        session.lost();
        assert_eq!(
            session.observe(&taken(), t0 + 10_000.0),
            Verdict::Reclaim { first: false }
        );
        assert_eq!(session.nick.as_deref(), Some("alice"), "still ours");

        // The old connection is gone: welcomed again, and a later loss
        // starts a fresh window.
        session.observe(&welcome("alice"), t0 + 20_000.0);
        session.lost();
        assert_eq!(
            session.observe(&taken(), t0 + 500_000.0),
            Verdict::Reclaim { first: true }
        );

        // Past the window, someone else has it: ask the person.
        session.lost();
        assert_eq!(
            session.observe(&taken(), t0 + 500_000.0 + RECLAIM_WINDOW_MS),
            Verdict::Pass
        );
        assert_eq!(session.nick, None);
    }

    #[test]
    fn a_nick_never_accepted_here_is_not_reclaimed() {
        // Remembered from an earlier visit, but this page was never welcomed
        // with it: it may well be someone else's now.
        let mut session = Session::new(Some("alice".into()));
        assert_eq!(session.observe(&taken(), 5.0), Verdict::Pass);
    }

    #[test]
    fn the_outbox_keeps_order_and_takes_back_what_failed() {
        let mut session = Session::default();
        session.queue(send("c1"));
        session.queue(send("c2"));
        assert_eq!(session.queued(), 2);
        let first = session.next_queued().unwrap();
        assert_eq!(first, send("c1"));
        session.requeue(first);
        assert_eq!(session.next_queued(), Some(send("c1")));
        assert_eq!(session.next_queued(), Some(send("c2")));
        assert_eq!(session.next_queued(), None);
    }

    fn joined(room: &str) -> ServerMsg {
        ServerMsg::Joined {
            room: room.into(),
            members: vec![],
            head: 0,
        }
    }

    fn chat(room: &str, seq: u64) -> shared::ChatMessage {
        shared::ChatMessage {
            room: room.into(),
            seq,
            ts: 0,
            nick: "bob".into(),
            text: "x".into(),
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }
    }

    #[test]
    fn the_resume_names_every_room_with_the_last_seq_seen() {
        let mut session = Session::default();
        assert!(
            session.resume().is_empty(),
            "a first hello lands in the lobby"
        );
        session.observe(&welcome("alice"), 0.0);
        for room in [DEFAULT_ROOM, "rust", "go", "@alice+bob"] {
            session.observe(&joined(room), 0.0);
        }
        session.observe(
            &ServerMsg::History {
                room: DEFAULT_ROOM.into(),
                messages: vec![chat("lobby", 40), chat("lobby", 41)],
                has_older: true,
            },
            0.0,
        );
        session.observe(&ServerMsg::Message(chat("lobby", 42)), 0.0);
        // An older page does not lower it.
        session.observe(
            &ServerMsg::History {
                room: DEFAULT_ROOM.into(),
                messages: vec![chat("lobby", 1)],
                has_older: false,
            },
            0.0,
        );
        session.observe(
            &ServerMsg::Ack {
                id: "c1".into(),
                room: "@alice+bob".into(),
                seq: 7,
                ts: 0,
            },
            0.0,
        );
        session.observe(&ServerMsg::Left { room: "go".into() }, 0.0);
        // Messages of rooms we are not in do not add rooms.
        session.observe(&ServerMsg::Message(chat("elsewhere", 3)), 0.0);
        let expected: BTreeMap<String, u64> = [
            ("@alice+bob".to_owned(), 7),
            ("lobby".to_owned(), 42),
            ("rust".to_owned(), 0),
        ]
        .into();
        assert_eq!(session.resume(), expected);
    }

    #[test]
    fn messages_on_the_wire_when_the_socket_drops_are_resent_with_their_ids() {
        let mut session = Session::default();
        session.observe(&welcome("alice"), 0.0);
        for id in ["c1", "c2", "c3"] {
            session.sent(&send(id));
        }
        session.sent(&ClientMsg::Typing {
            room: "lobby".into(),
        });
        session.observe(
            &ServerMsg::Ack {
                id: "c1".into(),
                room: "lobby".into(),
                seq: 1,
                ts: 0,
            },
            0.0,
        );
        session.observe(
            &ServerMsg::Error {
                code: ErrorCode::TextTooLong,
                message: "long".into(),
                id: Some("c3".into()),
            },
            0.0,
        );
        // An edit is acknowledged like a message, and resent like one.
        let edit = ClientMsg::Edit {
            id: "c5".into(),
            room: "lobby".into(),
            seq: 1,
            text: "fixed".into(),
        };
        session.sent(&edit);
        session.queue(send("c4"));
        session.lost();
        assert_eq!(session.next_queued(), Some(send("c2")));
        assert_eq!(session.next_queued(), Some(edit));
        assert_eq!(session.next_queued(), Some(send("c4")));
        assert_eq!(session.next_queued(), None);
    }

    #[test]
    fn typing_is_sent_at_most_every_three_seconds_per_room() {
        let mut session = Session::default();
        assert!(session.typing_due("lobby", 1_000.0));
        assert!(!session.typing_due("lobby", 2_000.0));
        assert!(session.typing_due("rust", 2_000.0));
        assert!(!session.typing_due("lobby", 3_999.0));
        assert!(session.typing_due("lobby", 4_000.0));
        // A new connection starts afresh.
        session.lost();
        assert!(session.typing_due("lobby", 4_500.0));
    }

    #[test]
    fn a_signed_in_page_asks_what_is_unread_after_the_welcome_and_each_new_room() {
        let mut session = Session::default();
        session.observe(&welcome("alice"), 0.0);
        session.observe(&joined("lobby"), 0.0);
        assert!(!session.take_unread_due(), "a guest has no markers");

        let mut session = Session::default();
        let signed_in = ServerMsg::Welcome {
            nick: "alice".into(),
            server: "0.1.0".into(),
            limits: Limits::V1,
            account: true,
            token: None,
            expires: None,
        };
        session.observe(&signed_in, 0.0);
        assert!(session.take_unread_due());
        assert!(!session.take_unread_due(), "asked once");
        session.observe(&joined("lobby"), 0.0);
        assert!(session.take_unread_due(), "a room joined since");
        session.observe(&joined("lobby"), 0.0);
        assert!(!session.take_unread_due(), "not for a room we are in");
        // After a reconnect the resumed rooms are known: the welcome's ask
        // covers them.
        session.lost();
        session.observe(&joined("lobby"), 0.0);
        assert!(!session.take_unread_due());
        session.observe(&signed_in, 0.0);
        assert!(session.take_unread_due());
    }
}
