//! What the person's requests send: a composer line (text, `/me`, or a
//! command), a retry, a join, a page of older messages. Each comes to an
//! [`Outgoing`]: the actions the state records first, then at most one
//! [`ClientMsg`] for the connection, which sends it at once on a welcomed
//! socket and keeps it for the next one otherwise.
//!
//! `hooks::use_chat` carries these out. Nothing here does I/O or reads a
//! clock (the time comes in), so every rule is tested natively.

use std::cell::Cell;

use shared::limits::MAX_HISTORY_PAGE;
use shared::protocol::Quote;
use shared::{ChatMessage, ClientMsg, ClientMsgId, MessageKind};

use crate::input::{self, Input, help_text};
use crate::lowercase::direct_room;
use crate::state::{Action, Delivery, Pending};

/// What a composer line depends on in the state: where it goes and who
/// writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composing {
    /// The room on screen, which a message goes to and `/leave` leaves.
    pub room: String,
    /// The nickname the server last accepted.
    pub me: Option<String>,
    /// The rooms and conversations the client is in on this connection:
    /// joining one of them only shows it.
    pub joined: Vec<String>,
    /// The message of `room` the person is answering, if any.
    pub replying: Option<Quote>,
}

/// What one request comes to. The actions go first: a message is recorded
/// as pending before the connection can send it, so that its ack always
/// finds it.
#[derive(Debug, Default, PartialEq)]
pub struct Outgoing {
    pub actions: Vec<Action>,
    pub send: Option<ClientMsg>,
}

impl Outgoing {
    fn record(action: Action) -> Self {
        Outgoing {
            actions: vec![action],
            send: None,
        }
    }

    fn send(msg: ClientMsg) -> Self {
        Outgoing {
            actions: Vec::new(),
            send: Some(msg),
        }
    }
}

/// Ids for outgoing messages: unique for this page, and a random prefix so
/// that a reloaded page does not reuse the ids of the previous one. A `Cell`,
/// because every callback of the hook shares one.
pub struct MessageIds {
    prefix: String,
    next: Cell<u64>,
}

impl MessageIds {
    pub fn new(prefix: String) -> Self {
        MessageIds {
            prefix,
            next: Cell::new(0),
        }
    }

    pub fn next(&self) -> ClientMsgId {
        let n = self.next.get() + 1;
        self.next.set(n);
        format!("{}-{n}", self.prefix)
    }
}

/// A composer line, typed at `now` (ms since the epoch): a message to the
/// room on screen, or what its command asks for. A line the composer would
/// refuse becomes a notice, and `/help` the list of commands.
pub fn line(raw: &str, at: &Composing, ids: &MessageIds, now: i64) -> Outgoing {
    match input::parse(raw) {
        Err(err) => Outgoing::record(Action::Notice(err.to_string())),
        Ok(Input::Help) => Outgoing::record(Action::Info(help_text())),
        Ok(Input::Nick(nick)) => Outgoing::send(ClientMsg::Nick { nick }),
        Ok(Input::Join(room)) => join(room, &at.joined),
        Ok(Input::Leave(room)) => {
            let room = room.unwrap_or_else(|| at.room.clone());
            Outgoing {
                actions: vec![Action::LeaveRequested(room.clone())],
                send: Some(ClientMsg::Leave { room }),
            }
        }
        Ok(Input::Room(line)) => room_command(&line, &at.room),
        Ok(Input::Direct { to, text }) => {
            // The conversation is named after both people: without a
            // nickname there is none yet.
            let Some(nick) = at.me.clone() else {
                return Outgoing::default();
            };
            let id = ids.next();
            let draft = ChatMessage {
                room: direct_room(&nick, &to),
                seq: 0,
                ts: now,
                nick,
                text: text.clone(),
                kind: MessageKind::Text,
                attachment: None,
                target: None,
                deleted: false,
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
            };
            Outgoing {
                actions: vec![
                    Action::DirectRequested { to: to.clone() },
                    Action::Queued(Pending::queued(id.clone(), draft)),
                ],
                send: Some(ClientMsg::Direct {
                    id,
                    to,
                    text,
                    kind: MessageKind::Text,
                    reply_to: None,
                }),
            }
        }
        Ok(Input::Say { text, kind }) => {
            let id = ids.next();
            let quote = at.replying.clone();
            let reply_to = quote.as_ref().map(|q| q.seq);
            let draft = ChatMessage {
                room: at.room.clone(),
                seq: 0,
                ts: now,
                nick: at.me.clone().unwrap_or_default(),
                text: text.clone(),
                kind,
                attachment: None,
                target: None,
                deleted: false,
                quote: quote.map(Box::new),
                edited: None,
                reactions: Vec::new(),
                rev: 0,
            };
            let mut actions = vec![Action::Queued(Pending::queued(id.clone(), draft))];
            if reply_to.is_some() {
                actions.push(Action::Replying {
                    room: at.room.clone(),
                    to: None,
                });
            }
            Outgoing {
                actions,
                send: Some(ClientMsg::Send {
                    id,
                    room: at.room.clone(),
                    text,
                    kind,
                    reply_to,
                }),
            }
        }
    }
}

/// A command about `room` (checked by `input`), read by `shared::line` as
/// the terminal reads it. `/topic` alone shows the topic.
fn room_command(line: &str, room: &str) -> Outgoing {
    let parsed = shared::line::parse(line);
    if let Some(msg) = shared::line::room_command(&parsed, room) {
        return Outgoing::send(msg);
    }
    match parsed {
        shared::line::Input::Invite => Outgoing::send(ClientMsg::Invite),
        _ => Outgoing::record(Action::ShowTopic),
    }
}

/// Joining `room` (a normalized name) shows it once the server confirms; a
/// room the client is in already is only shown, and nothing is sent.
pub fn join(room: String, joined: &[String]) -> Outgoing {
    let send = (!joined.contains(&room)).then(|| ClientMsg::Join { room: room.clone() });
    Outgoing {
        actions: vec![Action::JoinRequested(room)],
        send,
    }
}

/// Sending a failed message again. It goes under a new id: the old one may
/// have reached the server. Anything but a failed message stays as it is.
pub fn retry(pending: &[Pending], id: ClientMsgId, ids: &MessageIds) -> Outgoing {
    let Some(p) = pending.iter().find(|p| p.id == id) else {
        return Outgoing::default();
    };
    if !matches!(p.delivery, Delivery::Failed(_)) {
        return Outgoing::default();
    }
    let new_id = ids.next();
    Outgoing {
        actions: vec![Action::Retry {
            id,
            new_id: new_id.clone(),
        }],
        send: Some(ClientMsg::Send {
            id: new_id,
            room: p.draft.room.clone(),
            text: p.draft.text.clone(),
            kind: p.draft.kind,
            reply_to: p.draft.quote.as_ref().map(|q| q.seq),
        }),
    }
}

/// The page of `room` around message `seq` (25 on either side), for
/// showing a message that is not loaded (a search result, a quoted
/// message, a notification's).
pub fn around(room: &str, seq: u64) -> ClientMsg {
    ClientMsg::History {
        room: room.to_owned(),
        before: seq.saturating_add(25),
        limit: Some(50),
    }
}

/// A page of `room`'s messages before `before` (a `seq`), as large as the
/// server gives.
pub fn older(room: &str, before: u64) -> Outgoing {
    Outgoing {
        actions: vec![Action::OlderRequested(room.to_owned())],
        send: Some(ClientMsg::History {
            room: room.to_owned(),
            before,
            limit: u32::try_from(MAX_HISTORY_PAGE).ok(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use shared::DEFAULT_ROOM;

    use super::*;

    const NOW: i64 = 1_764_028_800_000;

    fn ids() -> MessageIds {
        MessageIds::new("k3x9a0bz".into())
    }

    /// alice in the lobby, and in #rust too.
    fn alice() -> Composing {
        Composing {
            room: DEFAULT_ROOM.into(),
            me: Some("alice".into()),
            joined: vec![DEFAULT_ROOM.into(), "rust".into()],
            replying: None,
        }
    }

    fn draft(room: &str, nick: &str, text: &str, kind: MessageKind) -> ChatMessage {
        ChatMessage {
            room: room.into(),
            seq: 0,
            ts: NOW,
            nick: nick.into(),
            text: text.into(),
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

    #[test]
    fn message_ids_are_unique_and_short_enough() {
        let ids = MessageIds::new("k3x9a0bz".into());
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert!(shared::validate::validate_id(&a));
        assert_eq!(a, "k3x9a0bz-1");
    }

    /// What a message comes to when it is the first of [`ids`].
    fn said(room: &str, nick: &str, text: &str, kind: MessageKind) -> Outgoing {
        Outgoing {
            actions: vec![Action::Queued(Pending::queued(
                "k3x9a0bz-1".into(),
                draft(room, nick, text, kind),
            ))],
            send: Some(ClientMsg::Send {
                id: "k3x9a0bz-1".into(),
                room: room.into(),
                text: text.into(),
                kind,
                reply_to: None,
            }),
        }
    }

    #[test]
    fn text_is_recorded_as_pending_and_then_sent_under_the_same_id() {
        let ids = ids();
        assert_eq!(
            line("hello\n", &alice(), &ids, NOW),
            said(DEFAULT_ROOM, "alice", "hello", MessageKind::Text)
        );
        // The next line gets the next id; `//` escapes a slash.
        let next = line("//etc/hosts", &alice(), &ids, NOW);
        assert_eq!(
            next.send,
            Some(ClientMsg::Send {
                id: "k3x9a0bz-2".into(),
                room: DEFAULT_ROOM.into(),
                text: "/etc/hosts".into(),
                kind: MessageKind::Text,
                reply_to: None,
            })
        );
    }

    #[test]
    fn me_is_an_action_in_the_room_on_screen() {
        let at = Composing {
            room: "rust".into(),
            ..alice()
        };
        assert_eq!(
            line("/me waves", &at, &ids(), NOW),
            said("rust", "alice", "waves", MessageKind::Action)
        );
    }

    #[test]
    fn a_message_typed_before_any_welcome_waits_without_an_author() {
        let at = Composing {
            me: None,
            joined: Vec::new(),
            ..alice()
        };
        assert_eq!(
            line("early", &at, &ids(), NOW),
            said(DEFAULT_ROOM, "", "early", MessageKind::Text)
        );
    }

    #[test]
    fn nick_is_only_sent() {
        assert_eq!(
            line("/nick  bob ", &alice(), &ids(), NOW),
            Outgoing::send(ClientMsg::Nick { nick: "bob".into() })
        );
    }

    #[test]
    fn leave_says_the_left_that_follows_is_asked_for() {
        assert_eq!(
            line("/leave", &alice(), &ids(), NOW),
            Outgoing {
                actions: vec![Action::LeaveRequested(DEFAULT_ROOM.into())],
                send: Some(ClientMsg::Leave {
                    room: DEFAULT_ROOM.into()
                }),
            }
        );
        assert_eq!(
            line("/part #Rust", &alice(), &ids(), NOW).send,
            Some(ClientMsg::Leave {
                room: "rust".into()
            })
        );
    }

    #[test]
    fn moderators_commands_go_to_the_room_on_screen() {
        let at = Composing {
            room: "mods".into(),
            ..alice()
        };
        let sent = |text: &str| line(text, &at, &ids(), NOW);
        let room = || "mods".to_owned();
        let bob = || "bob".to_owned();
        assert_eq!(
            sent("/kick bob too loud"),
            Outgoing::send(ClientMsg::Kick {
                room: room(),
                nick: bob(),
                reason: Some("too loud".into())
            })
        );
        assert_eq!(
            sent("/ban bob 90 spam"),
            Outgoing::send(ClientMsg::Ban {
                room: room(),
                nick: bob(),
                minutes: Some(90),
                reason: Some("spam".into())
            })
        );
        assert_eq!(
            sent("/ban bob"),
            Outgoing::send(ClientMsg::Ban {
                room: room(),
                nick: bob(),
                minutes: None,
                reason: None
            })
        );
        assert_eq!(
            sent("/unban bob"),
            Outgoing::send(ClientMsg::Unban {
                room: room(),
                nick: bob()
            })
        );
        assert_eq!(
            sent("/mute bob 10"),
            Outgoing::send(ClientMsg::Mute {
                room: room(),
                nick: bob(),
                minutes: Some(10),
                reason: None
            })
        );
        assert_eq!(
            sent("/unmute bob"),
            Outgoing::send(ClientMsg::Unmute {
                room: room(),
                nick: bob()
            })
        );
        assert_eq!(
            sent("/slow 30"),
            Outgoing::send(ClientMsg::Slow {
                room: room(),
                seconds: 30
            })
        );
        assert_eq!(
            sent("/slow off"),
            Outgoing::send(ClientMsg::Slow {
                room: room(),
                seconds: 0
            })
        );
        assert_eq!(
            sent("/topic be kind"),
            Outgoing::send(ClientMsg::Topic {
                room: room(),
                topic: "be kind".into()
            })
        );
        assert_eq!(
            sent("/topic -"),
            Outgoing::send(ClientMsg::Topic {
                room: room(),
                topic: String::new()
            })
        );
        assert_eq!(sent("/topic"), Outgoing::record(Action::ShowTopic));
        assert_eq!(
            sent("/op bob"),
            Outgoing::send(ClientMsg::Op {
                room: room(),
                nick: bob(),
                role: shared::protocol::Role::Moderator
            })
        );
        assert_eq!(
            sent("/deop bob"),
            Outgoing::send(ClientMsg::Op {
                room: room(),
                nick: bob(),
                role: shared::protocol::Role::Member
            })
        );
        assert_eq!(
            sent("/modlog"),
            Outgoing::send(ClientMsg::ModLog {
                room: room(),
                before: None,
                limit: None
            })
        );
        assert_eq!(
            sent("/delete 42"),
            Outgoing::send(ClientMsg::Delete {
                room: room(),
                seq: 42
            })
        );
        assert_eq!(sent("/invite"), Outgoing::send(ClientMsg::Invite));
        // A command used wrongly stays on the page, and spends no id.
        let ids = ids();
        let out = line("/mute", &at, &ids, NOW);
        assert_eq!(out.send, None);
        assert!(
            matches!(&out.actions[..], [Action::Notice(why)] if why.contains("/mute NICK")),
            "{out:?}"
        );
        assert_eq!(ids.next(), "k3x9a0bz-1");
    }

    #[test]
    fn join_asks_the_server_only_for_a_room_the_client_is_not_in() {
        assert_eq!(
            line("/join #Go", &alice(), &ids(), NOW),
            Outgoing {
                actions: vec![Action::JoinRequested("go".into())],
                send: Some(ClientMsg::Join { room: "go".into() }),
            }
        );
        // Already in it: it is only shown.
        assert_eq!(
            line("/join rust", &alice(), &ids(), NOW),
            Outgoing::record(Action::JoinRequested("rust".into()))
        );
        // The room list's '+' joins the same way.
        assert_eq!(
            join("go".into(), &alice().joined),
            line("/join go", &alice(), &ids(), NOW)
        );
        assert_eq!(
            join("rust".into(), &alice().joined),
            Outgoing::record(Action::JoinRequested("rust".into()))
        );
    }

    #[test]
    fn msg_opens_the_conversation_and_sends_directly() {
        let out = line("/msg Bob hi there", &alice(), &ids(), NOW);
        assert_eq!(
            out,
            Outgoing {
                actions: vec![
                    Action::DirectRequested { to: "Bob".into() },
                    Action::Queued(Pending::queued(
                        "k3x9a0bz-1".into(),
                        draft("@alice+bob", "alice", "hi there", MessageKind::Text),
                    )),
                ],
                send: Some(ClientMsg::Direct {
                    id: "k3x9a0bz-1".into(),
                    to: "Bob".into(),
                    text: "hi there".into(),
                    kind: MessageKind::Text,
                    reply_to: None,
                }),
            }
        );
        // Without a nickname there is no conversation to name, and no id is
        // spent.
        let ids = ids();
        let nobody = Composing {
            me: None,
            ..alice()
        };
        assert_eq!(line("/msg bob hi", &nobody, &ids, NOW), Outgoing::default());
        assert_eq!(ids.next(), "k3x9a0bz-1");
    }

    #[test]
    fn help_and_mistakes_stay_on_the_page() {
        let ids = ids();
        assert_eq!(
            line("/help", &alice(), &ids, NOW),
            Outgoing::record(Action::Info(help_text()))
        );
        let out = line("/frob x", &alice(), &ids, NOW);
        let Some(Action::Notice(why)) = out.actions.first() else {
            panic!("a notice: {out:?}");
        };
        assert!(why.contains("unknown command /frob"), "{why}");
        assert_eq!(out.actions.len(), 1);
        assert_eq!(out.send, None);
        assert_eq!(
            line("/me", &alice(), &ids, NOW).send,
            None,
            "an empty action"
        );
        assert_eq!(ids.next(), "k3x9a0bz-1", "no id spent on what is not sent");
    }

    #[test]
    fn only_a_failed_message_is_retried_and_under_a_new_id() {
        let ids = ids();
        let failed = Pending {
            delivery: Delivery::Failed("refused".into()),
            ..Pending::queued(
                "old-1".into(),
                draft("rust", "alice", "again", MessageKind::Action),
            )
        };
        let waiting = Pending::queued(
            "old-2".into(),
            draft("rust", "alice", "queued", MessageKind::Text),
        );
        let pending = [failed, waiting];
        assert_eq!(
            retry(&pending, "old-1".into(), &ids),
            Outgoing {
                actions: vec![Action::Retry {
                    id: "old-1".into(),
                    new_id: "k3x9a0bz-1".into(),
                }],
                send: Some(ClientMsg::Send {
                    id: "k3x9a0bz-1".into(),
                    room: "rust".into(),
                    text: "again".into(),
                    kind: MessageKind::Action,
                    reply_to: None,
                }),
            }
        );
        assert_eq!(retry(&pending, "old-2".into(), &ids), Outgoing::default());
        assert_eq!(retry(&pending, "gone".into(), &ids), Outgoing::default());
        assert_eq!(ids.next(), "k3x9a0bz-2");
    }

    #[test]
    fn an_older_page_is_marked_loading_and_asked_for_in_full() {
        assert_eq!(
            older("rust", 151),
            Outgoing {
                actions: vec![Action::OlderRequested("rust".into())],
                send: Some(ClientMsg::History {
                    room: "rust".into(),
                    before: 151,
                    limit: Some(100),
                }),
            }
        );
    }

    #[test]
    fn a_reply_carries_its_quote_through_the_queue_and_a_retry() {
        let quote = Quote::of(41, "bob", "shall we ship it?", false);
        let at = Composing {
            replying: Some(quote.clone()),
            ..alice()
        };
        let ids = ids();
        let out = line("yes!", &at, &ids, NOW);
        let draft = ChatMessage {
            quote: Some(Box::new(quote)),
            ..draft(DEFAULT_ROOM, "alice", "yes!", MessageKind::Text)
        };
        assert_eq!(
            out,
            Outgoing {
                actions: vec![
                    Action::Queued(Pending::queued("k3x9a0bz-1".into(), draft.clone())),
                    Action::Replying {
                        room: DEFAULT_ROOM.into(),
                        to: None
                    },
                ],
                send: Some(ClientMsg::Send {
                    id: "k3x9a0bz-1".into(),
                    room: DEFAULT_ROOM.into(),
                    text: "yes!".into(),
                    kind: MessageKind::Text,
                    reply_to: Some(41),
                }),
            }
        );
        // Failed, then retried: still a reply.
        let failed = Pending {
            delivery: Delivery::Failed("refused".into()),
            ..Pending::queued("k3x9a0bz-1".into(), draft)
        };
        let again = retry(&[failed], "k3x9a0bz-1".into(), &ids).send;
        assert!(
            matches!(
                again,
                Some(ClientMsg::Send {
                    reply_to: Some(41),
                    ..
                })
            ),
            "{again:?}"
        );
        // A command is no reply, and leaves the reply in place.
        let out = line("/nick bob", &at, &ids, NOW);
        assert_eq!(out.actions, []);
    }

    #[test]
    fn going_to_a_quote_asks_for_the_page_around_it() {
        assert_eq!(
            around("rust", 500),
            ClientMsg::History {
                room: "rust".into(),
                before: 525,
                limit: Some(50),
            }
        );
    }
}
