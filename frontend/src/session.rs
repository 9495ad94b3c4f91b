//! What the connection task remembers from one socket to the next, and the
//! decisions it makes on it: which nickname to say hello with, how long to
//! wait before reconnecting, what to send once welcomed (rooms to rejoin,
//! messages queued while offline), and when a refused nickname is our own
//! old connection that the server has not yet seen go.
//!
//! `hooks::use_chat` owns the socket and asks this; nothing here does I/O or
//! reads a clock (times are passed in), so it is tested natively.

use std::collections::{BTreeSet, VecDeque};

use shared::{ClientMsg, DEFAULT_ROOM, ErrorCode, ServerMsg};

use crate::backoff::Backoff;

/// How long a refused hello with our own nickname is retried after a
/// reconnect. The server closes a connection it hears nothing from after
/// 60 s (docs/protocol.md), so by then the old one is gone.
pub const RECLAIM_WINDOW_MS: f64 = 75_000.0;

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
    /// Rooms besides the lobby the client is in; joined again after a
    /// reconnect (the server puts every new connection in the lobby only).
    rooms: BTreeSet<String>,
    /// Messages waiting for a welcomed socket, oldest first.
    outbox: VecDeque<ClientMsg>,
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
            ServerMsg::Welcome { nick, .. } => {
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
            ServerMsg::Joined { room, .. } if room != DEFAULT_ROOM => {
                self.rooms.insert(room.clone());
            }
            ServerMsg::Left { room } => {
                self.rooms.remove(room);
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
            ServerMsg::Error {
                code: ErrorCode::NickInvalid,
                id: None,
                ..
            } if !self.welcomed => self.nick = None,
            _ => {}
        }
        Verdict::Pass
    }

    /// The socket is gone.
    pub fn lost(&mut self) {
        self.welcomed = false;
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

    /// What to send right after a welcome, before anything queued: a join
    /// for each room we were in besides the lobby.
    pub fn rejoins(&self) -> Vec<ClientMsg> {
        self.rooms
            .iter()
            .map(|room| ClientMsg::Join { room: room.clone() })
            .collect()
    }

    /// Messages waiting for a connection.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }
}

#[cfg(test)]
mod tests {
    use shared::{Limits, MessageKind};

    use super::*;

    fn welcome(nick: &str) -> ServerMsg {
        ServerMsg::Welcome {
            nick: nick.into(),
            server: "0.1.0".into(),
            limits: Limits::V1,
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

    #[test]
    fn rooms_joined_are_rejoined_after_a_reconnect() {
        let mut session = Session::default();
        session.observe(&welcome("alice"), 0.0);
        for room in [DEFAULT_ROOM, "rust", "go"] {
            session.observe(
                &ServerMsg::Joined {
                    room: room.into(),
                    members: vec![],
                    head: 0,
                },
                0.0,
            );
        }
        session.observe(&ServerMsg::Left { room: "go".into() }, 0.0);
        assert_eq!(
            session.rejoins(),
            [ClientMsg::Join {
                room: "rust".into()
            }]
        );
    }
}
