//! The reducer's transitions, run natively: each test applies the actions
//! the hooks would dispatch and checks what the views would then show.

use shared::MessageKind;
use shared::protocol::Reaction;

use super::*;
use crate::scrollback::CHUNK;

fn welcome(nick: &str) -> Action {
    Action::Server(ServerMsg::Welcome {
        nick: nick.into(),
        server: "0.1.0".into(),
        limits: Limits::V1,
        account: false,
        token: None,
        expires: None,
    })
}

fn joined(members: &[&str]) -> Action {
    Action::Server(ServerMsg::Joined {
        room: DEFAULT_ROOM.into(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        head: 0,
    })
}

fn message(seq: u64, nick: &str, text: &str) -> Action {
    Action::Server(ServerMsg::Message(ChatMessage {
        room: DEFAULT_ROOM.into(),
        seq,
        ts: 1_764_028_800_000 + seq as i64,
        nick: nick.into(),
        text: text.into(),
        kind: MessageKind::Text,
        attachment: None,
        target: None,
        deleted: false,
        quote: None,
        edited: None,
        reactions: Vec::new(),
        rev: 0,
    }))
}

fn queued(id: &str, nick: &str, text: &str) -> Action {
    Action::Queued(Pending::queued(
        id.into(),
        ChatMessage {
            room: DEFAULT_ROOM.into(),
            seq: 0,
            ts: 0,
            nick: nick.into(),
            text: text.into(),
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        },
    ))
}

/// A message queued and handed to the socket at once (a live connection).
fn sent(state: &mut ChatState, id: &str, nick: &str, text: &str) {
    state.apply(queued(id, nick, text));
    state.apply(Action::Transmitted(id.into()));
}

fn delivery(state: &ChatState, i: usize) -> Delivery {
    state.pending[i].delivery.clone()
}

fn ack(id: &str, seq: u64) -> Action {
    Action::Server(ServerMsg::Ack {
        id: id.into(),
        room: DEFAULT_ROOM.into(),
        seq,
        ts: 1_764_028_900_000,
    })
}

fn run(actions: impl IntoIterator<Item = Action>) -> ChatState {
    let mut state = ChatState::default();
    for action in actions {
        state.apply(action);
    }
    state
}

/// A state as after connecting as `alice` with `bob` in the lobby.
fn in_lobby() -> ChatState {
    run([
        Action::Joining("alice".into()),
        Action::Connecting { attempt: 0 },
        Action::Connected,
        welcome("alice"),
        joined(&["alice", "bob"]),
    ])
}

fn lobby(state: &ChatState) -> &Room {
    state.rooms.get(DEFAULT_ROOM).unwrap()
}

fn texts(state: &ChatState) -> Vec<String> {
    lobby(state)
        .messages()
        .map(|m| format!("{}:{}", m.nick, m.text))
        .collect()
}

fn notices(state: &ChatState) -> Vec<String> {
    lobby(state)
        .lines
        .iter()
        .filter_map(|l| match &l.body {
            LineBody::Notice { text, .. } => Some(text.to_string()),
            LineBody::Gap { from, to } => Some(format!("gap {from}-{to}")),
            LineBody::Chat(_) => None,
        })
        .collect()
}

#[test]
fn reduce_wraps_apply() {
    let state = Rc::new(ChatState::default());
    let next = state.reduce(Action::Connected);
    assert_eq!(next.conn, ConnState::Connected);
}

#[test]
fn the_nickname_is_asked_for_until_the_first_welcome() {
    let mut state = ChatState::starting(None, Default::default());
    assert!(state.needs_nick());
    assert_eq!(state.conn, ConnState::Offline);
    state.apply(Action::Joining("alice".into()));
    state.apply(Action::Connecting { attempt: 0 });
    assert_eq!(state.conn, ConnState::Connecting);
    state.apply(Action::Connected);
    assert!(state.needs_nick());
    state.apply(welcome("alice"));
    assert!(!state.needs_nick());
    assert!(state.registered);
    assert_eq!(state.me.as_deref(), Some("alice"));
    assert_eq!(state.joining, None);
}

#[test]
fn a_refused_nickname_shows_the_servers_reason_and_asks_again() {
    let mut state = run([
        Action::Joining("alice".into()),
        Action::Connected,
        Action::Server(ServerMsg::error(ErrorCode::NickTaken, "alice is taken")),
    ]);
    assert!(state.needs_nick());
    assert_eq!(state.nick_error.as_deref(), Some("alice is taken"));
    assert_eq!(state.joining, None);

    state.apply(Action::Joining("alice2".into()));
    assert_eq!(state.nick_error, None);
    state.apply(welcome("alice2"));
    assert!(!state.needs_nick());
}

#[test]
fn a_nickname_refused_locally_is_shown_the_same_way() {
    let state = run([Action::NickRejected("a nickname cannot be empty".into())]);
    assert!(state.needs_nick());
    assert_eq!(
        state.nick_error.as_deref(),
        Some("a nickname cannot be empty")
    );
}

#[test]
fn a_members_snapshot_replaces_the_online_list_quietly() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::Members {
        room: DEFAULT_ROOM.into(),
        members: vec!["alice".into(), "carol".into()],
    }));
    assert_eq!(lobby(&state).members, ["alice", "carol"]);
    // Missed arrivals and departures are not announced after the fact.
    assert!(notices(&state).is_empty());
    // A room the client is not in stays unknown.
    state.apply(Action::Server(ServerMsg::Members {
        room: "elsewhere".into(),
        members: vec!["dave".into()],
    }));
    assert!(!state.rooms.contains_key("elsewhere"));
}

#[test]
fn joined_sets_the_online_list_and_presence_events_update_it() {
    let mut state = in_lobby();
    assert_eq!(lobby(&state).members, ["alice", "bob"]);
    assert!(lobby(&state).joined);

    state.apply(Action::Server(ServerMsg::UserJoined {
        room: DEFAULT_ROOM.into(),
        nick: "carol".into(),
    }));
    // A repeated join does not list anyone twice.
    state.apply(Action::Server(ServerMsg::UserJoined {
        room: DEFAULT_ROOM.into(),
        nick: "carol".into(),
    }));
    assert_eq!(lobby(&state).members, ["alice", "bob", "carol"]);

    state.apply(Action::Server(ServerMsg::UserLeft {
        room: DEFAULT_ROOM.into(),
        nick: "bob".into(),
    }));
    assert_eq!(lobby(&state).members, ["alice", "carol"]);
    // Leaving twice is news once, too.
    state.apply(Action::Server(ServerMsg::UserLeft {
        room: DEFAULT_ROOM.into(),
        nick: "bob".into(),
    }));
    assert_eq!(notices(&state), ["carol joined.", "bob left."]);

    // Events for rooms the client is not in are ignored.
    state.apply(Action::Server(ServerMsg::UserJoined {
        room: "elsewhere".into(),
        nick: "dave".into(),
    }));
    assert!(!state.rooms.contains_key("elsewhere"));
}

#[test]
fn nick_changes_rename_members_in_the_listed_rooms() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::NickChanged {
        old: "bob".into(),
        new: "robert".into(),
        rooms: vec![DEFAULT_ROOM.into(), "not-here".into()],
    }));
    assert_eq!(lobby(&state).members, ["alice", "robert"]);
    assert_eq!(state.me.as_deref(), Some("alice"));
    assert_eq!(notices(&state), ["bob is now known as robert."]);
    assert!(!state.rooms.contains_key("not-here"));
}

#[test]
fn my_own_nick_change_updates_me() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::NickChanged {
        old: "alice".into(),
        new: "alicia".into(),
        rooms: vec![DEFAULT_ROOM.into()],
    }));
    assert_eq!(state.me.as_deref(), Some("alicia"));
    assert_eq!(lobby(&state).members, ["alicia", "bob"]);
    assert_eq!(notices(&state), ["You are now known as alicia."]);
}

#[test]
fn messages_are_kept_in_seq_order_without_duplicates() {
    let state = {
        let mut s = in_lobby();
        for action in [
            message(1, "bob", "one"),
            message(3, "bob", "three"),
            message(2, "bob", "two"),
            message(3, "bob", "three"),
        ] {
            s.apply(action);
        }
        s
    };
    assert_eq!(texts(&state), ["bob:one", "bob:two", "bob:three"]);
}

#[test]
fn my_message_is_pending_until_acked_and_shown_once() {
    let mut state = in_lobby();
    sent(&mut state, "c1", "alice", "hello");
    assert_eq!(state.pending_in(DEFAULT_ROOM).count(), 1);
    assert!(texts(&state).is_empty());

    state.apply(ack("c1", 7));
    assert_eq!(state.pending.len(), 0);
    assert_eq!(texts(&state), ["alice:hello"]);
    let confirmed = lobby(&state).messages().next().unwrap().clone();
    assert_eq!(confirmed.seq, 7);
    assert_eq!(confirmed.ts, 1_764_028_900_000);

    // The server echoes the message itself after the ack: no duplicate.
    state.apply(message(7, "alice", "hello"));
    assert_eq!(texts(&state), ["alice:hello"]);

    // An ack for an id the client does not know changes nothing.
    let before = state.clone();
    state.apply(ack("unknown", 8));
    assert_eq!(state, before);
}

#[test]
fn an_ack_that_overtakes_earlier_messages_still_sorts() {
    let mut state = in_lobby();
    sent(&mut state, "c1", "alice", "mine");
    state.apply(ack("c1", 2));
    state.apply(message(1, "bob", "earlier"));
    state.apply(message(2, "alice", "mine"));
    assert_eq!(texts(&state), ["bob:earlier", "alice:mine"]);
}

#[test]
fn a_refused_message_is_marked_failed_not_dropped() {
    let mut state = in_lobby();
    sent(&mut state, "c1", "alice", "x");
    state.apply(Action::Server(ServerMsg::Error {
        code: ErrorCode::TextTooLong,
        message: "too long".into(),
        id: Some("c1".into()),
    }));
    assert_eq!(delivery(&state, 0), Delivery::Failed("too long".into()));
    assert!(texts(&state).is_empty());

    sent(&mut state, "c2", "alice", "y");
    state.apply(Action::SendFailed {
        id: "c2".into(),
        reason: "not connected".into(),
    });
    assert_eq!(
        delivery(&state, 1),
        Delivery::Failed("not connected".into())
    );
}

#[test]
fn other_errors_become_notices_in_the_active_room() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::error(
        ErrorCode::NickTaken,
        "bob is taken",
    )));
    // Registered: a refused rename does not bring back the nickname prompt.
    assert!(!state.needs_nick());
    assert_eq!(state.nick_error, None);
    state.apply(Action::Notice("unknown command /frob".into()));
    assert_eq!(notices(&state), ["bob is taken", "unknown command /frob"]);
}

#[test]
fn losing_the_connection_keeps_history_and_clears_presence() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "hi"));
    sent(&mut state, "c1", "alice", "unconfirmed");
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(800),
    });

    assert_eq!(
        state.conn,
        ConnState::Reconnecting {
            attempt: 1,
            retry_at: Some(800)
        }
    );
    assert!(!state.registered);
    assert!(!state.needs_nick(), "the chat stays on screen");
    assert_eq!(texts(&state), ["bob:hi"]);
    assert!(lobby(&state).members.is_empty());
    assert!(!lobby(&state).joined);
    assert_eq!(delivery(&state, 0), Delivery::Queued, "resent once back");
    assert_eq!(notices(&state), ["Connection lost. Reconnecting…"]);

    // Further failed attempts do not repeat the notice.
    state.apply(Action::Connecting { attempt: 1 });
    assert_eq!(
        state.conn,
        ConnState::Reconnecting {
            attempt: 1,
            retry_at: None
        }
    );
    state.apply(Action::Disconnected {
        attempt: 2,
        retry_at: Some(1600),
    });
    assert_eq!(notices(&state).len(), 1);
}

#[test]
fn after_reconnecting_history_already_shown_is_not_shown_twice() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "before the drop"));
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(500),
    });
    state.apply(Action::Connecting { attempt: 1 });
    state.apply(Action::Connected);
    state.apply(welcome("alice"));
    state.apply(joined(&["alice"]));
    assert_eq!(lobby(&state).members, ["alice"]);
    assert!(notices(&state).contains(&"Reconnected.".to_owned()));

    // The server's store keeps sequence numbers across restarts: the
    // history that follows the join repeats what is on screen, and adds
    // what was missed.
    state.apply(Action::Server(ServerMsg::History {
        room: "lobby".into(),
        messages: vec![
            ChatMessage {
                room: "lobby".into(),
                seq: 1,
                ts: 0,
                nick: "bob".into(),
                text: "before the drop".into(),
                kind: MessageKind::Text,
                attachment: None,
                target: None,
                deleted: false,
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
            },
            ChatMessage {
                room: "lobby".into(),
                seq: 2,
                ts: 0,
                nick: "bob".into(),
                text: "while away".into(),
                kind: MessageKind::Text,
                attachment: None,
                target: None,
                deleted: false,
                quote: None,
                edited: None,
                reactions: Vec::new(),
                rev: 0,
            },
        ],
        has_older: false,
    }));
    state.apply(message(3, "bob", "live again"));
    assert_eq!(
        texts(&state),
        ["bob:before the drop", "bob:while away", "bob:live again"]
    );
    assert_eq!(state.conn, ConnState::Connected);
}

#[test]
fn a_nickname_taken_while_away_asks_for_a_new_one() {
    let mut state = in_lobby();
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(500),
    });
    state.apply(Action::Connected);
    state.apply(Action::Server(ServerMsg::error(
        ErrorCode::NickTaken,
        "alice is taken",
    )));
    assert!(state.needs_nick());
    assert_eq!(state.nick_error.as_deref(), Some("alice is taken"));
}

#[test]
fn with_no_nickname_to_retry_the_client_goes_offline() {
    let mut state = run([
        Action::Joining("alice".into()),
        Action::Connecting { attempt: 0 },
    ]);
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: None,
    });
    assert_eq!(state.conn, ConnState::Offline);
    assert_eq!(state.joining, None);
}

#[test]
fn scrollback_is_bounded_but_holds_ten_thousand() {
    let mut state = in_lobby();
    let total = MAX_LINES_PER_ROOM as u64 + 2 * CHUNK as u64;
    for seq in 1..=total {
        state.apply(message(seq, "bob", "spam"));
    }
    let room = lobby(&state);
    assert!(room.lines.len() >= MAX_LINES_PER_ROOM);
    assert!(room.lines.len() < MAX_LINES_PER_ROOM + CHUNK);
    let first = room.messages().next().unwrap().seq;
    assert_eq!(first, total - room.lines.len() as u64 + 1);
    // De-duplication still works after trimming.
    let before = room.lines.len();
    state.apply(message(total, "bob", "spam"));
    assert_eq!(lobby(&state).lines.len(), before);
}

#[test]
fn line_ids_are_unique() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "a"));
    state.apply(Action::Notice("x".into()));
    state.apply(message(2, "bob", "b"));
    let mut ids: Vec<u64> = lobby(&state).lines.iter().map(|l| l.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[test]
fn connection_state_names_are_stable() {
    assert_eq!(ConnState::Offline.name(), "offline");
    assert_eq!(ConnState::Connecting.name(), "connecting");
    assert_eq!(ConnState::Connected.name(), "connected");
    assert_eq!(
        ConnState::Reconnecting {
            attempt: 1,
            retry_at: None
        }
        .name(),
        "reconnecting"
    );
}

fn visible(visible: bool) -> Action {
    Action::PageVisible(visible)
}

#[test]
fn messages_sent_while_offline_wait_in_the_queue() {
    let mut state = in_lobby();
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(5_000),
    });
    state.apply(queued("c1", "alice", "typed while offline"));
    assert_eq!(delivery(&state, 0), Delivery::Queued);

    // Another failed attempt leaves it queued.
    state.apply(Action::Connecting { attempt: 1 });
    state.apply(Action::Disconnected {
        attempt: 2,
        retry_at: Some(9_000),
    });
    assert_eq!(delivery(&state, 0), Delivery::Queued);

    // Back: the hook sends it after the welcome, the server confirms it.
    state.apply(Action::Connected);
    state.apply(welcome("alice"));
    state.apply(joined(&["alice", "bob"]));
    state.apply(Action::Transmitted("c1".into()));
    assert_eq!(delivery(&state, 0), Delivery::Sending);
    state.apply(ack("c1", 1));
    state.apply(message(1, "alice", "typed while offline"));
    assert!(state.pending.is_empty());
    assert_eq!(texts(&state), ["alice:typed while offline"]);
}

#[test]
fn a_message_lost_on_the_wire_waits_to_be_resent_and_a_failed_one_can_be_retried() {
    let mut state = in_lobby();
    sent(&mut state, "c1", "alice", "one");
    sent(&mut state, "c2", "alice", "two");
    state.apply(queued("c3", "alice", "three"));
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(1_000),
    });
    // On the wire when it dropped: sent again, same id, once back (the
    // server answers a known id with its original ack).
    assert_eq!(delivery(&state, 0), Delivery::Queued);
    assert_eq!(delivery(&state, 1), Delivery::Queued);
    assert_eq!(delivery(&state, 2), Delivery::Queued);
    for id in ["c1", "c2"] {
        state.apply(Action::SendFailed {
            id: id.into(),
            reason: "refused".into(),
        });
    }

    state.apply(Action::Retry {
        id: "c1".into(),
        new_id: "c4".into(),
    });
    let ids: Vec<&str> = state.pending.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["c2", "c3", "c4"]);
    assert_eq!(delivery(&state, 2), Delivery::Queued);
    assert_eq!(state.pending[2].draft.text, "one");

    state.apply(Action::Dismiss("c2".into()));
    let ids: Vec<&str> = state.pending.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["c3", "c4"]);
    // Unknown ids change nothing.
    let before = state.clone();
    state.apply(Action::Retry {
        id: "nope".into(),
        new_id: "c9".into(),
    });
    state.apply(Action::Dismiss("nope".into()));
    state.apply(Action::Transmitted("nope".into()));
    assert_eq!(state, before);
}

#[test]
fn unread_counts_others_messages_while_the_tab_is_hidden() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "seen"));
    assert_eq!(state.unread_total(), 0);
    assert_eq!(state.title(), "Hubbub");

    state.apply(visible(false));
    state.apply(message(2, "bob", "while away"));
    state.apply(message(3, "bob", "again"));
    state.apply(message(3, "bob", "again")); // a duplicate is not news
    sent(&mut state, "c1", "alice", "mine");
    state.apply(ack("c1", 4));
    state.apply(message(4, "alice", "mine")); // nor is my own
    state.apply(Action::Info("not a message".into()));
    assert_eq!(state.unread_total(), 2);
    assert_eq!(state.title(), "(2) Hubbub");

    state.apply(visible(true));
    assert_eq!(state.unread_total(), 0);
    assert_eq!(state.title(), "Hubbub");
}

#[test]
fn unread_counts_per_room_and_clears_on_switching() {
    let mut state = in_lobby();
    state.apply(Action::JoinRequested("rust".into()));
    assert_eq!(
        state.active_room, DEFAULT_ROOM,
        "not before the server says so"
    );
    state.apply(Action::Server(ServerMsg::Joined {
        room: "rust".into(),
        members: vec!["alice".into()],
        head: 0,
    }));
    assert_eq!(state.active_room, "rust");
    assert_eq!(state.switch_to, None);

    state.apply(message(1, "bob", "in the lobby"));
    assert_eq!(lobby(&state).unread, 1);
    // Visible, but another room is on screen: still unread, and the
    // title counts it.
    assert_eq!(state.title(), "(1) Hubbub");

    state.apply(Action::SwitchRoom(DEFAULT_ROOM.into()));
    assert_eq!(state.active_room, DEFAULT_ROOM);
    assert_eq!(lobby(&state).unread, 0);
    // Switching to a room the client is not in does nothing.
    state.apply(Action::SwitchRoom("nowhere".into()));
    assert_eq!(state.active_room, DEFAULT_ROOM);
    // Asking to join a room already joined just shows it.
    state.apply(Action::JoinRequested("rust".into()));
    assert_eq!(state.active_room, "rust");
}

#[test]
fn leaving_the_room_on_screen_shows_another() {
    let mut state = in_lobby();
    state.apply(Action::JoinRequested("rust".into()));
    state.apply(Action::Server(ServerMsg::Joined {
        room: "rust".into(),
        members: vec!["alice".into()],
        head: 0,
    }));
    state.apply(Action::LeaveRequested("rust".into()));
    state.apply(Action::Server(ServerMsg::Left {
        room: "rust".into(),
    }));
    assert_eq!(state.active_room, DEFAULT_ROOM);
    assert!(!state.rooms.contains_key("rust"));
    assert_eq!(notices(&state), ["You left #rust."]);
}

#[test]
fn chats_after_counts_new_messages_only() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "old"));
    let seen = lobby(&state).lines.last().unwrap().id;
    state.apply(message(2, "bob", "new"));
    state.apply(Action::Info("a notice".into()));
    state.apply(message(3, "bob", "newer"));
    assert_eq!(chats_after(&lobby(&state).lines, seen), 2);
    assert_eq!(chats_after(&lobby(&state).lines, u64::MAX), 0);
}

#[test]
fn the_reconnect_countdown_is_a_deadline() {
    let mut state = in_lobby();
    state.apply(Action::Disconnected {
        attempt: 3,
        retry_at: Some(1_764_028_804_000),
    });
    assert_eq!(
        state.conn,
        ConnState::Reconnecting {
            attempt: 3,
            retry_at: Some(1_764_028_804_000)
        }
    );
    state.apply(Action::Connecting { attempt: 3 });
    state.apply(Action::Connected);
    assert_eq!(state.conn, ConnState::Connected);
    assert!(!state.registered, "connected is not yet welcomed");
    assert_eq!(state.shown_conn().name(), "reconnecting");
    state.apply(welcome("alice"));
    assert_eq!(state.shown_conn(), ConnState::Connected);

    // Before the first welcome an open socket is simply connected.
    let fresh = run([Action::Joining("bob".into()), Action::Connected]);
    assert_eq!(fresh.shown_conn(), ConnState::Connected);
}

fn chat_in(room: &str, seq: u64, nick: &str, text: &str) -> ChatMessage {
    ChatMessage {
        room: room.into(),
        seq,
        ts: 1_764_028_800_000 + seq as i64,
        nick: nick.into(),
        text: text.into(),
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

fn history(room: &str, seqs: impl IntoIterator<Item = u64>, has_older: bool) -> Action {
    Action::Server(ServerMsg::History {
        room: room.into(),
        messages: seqs
            .into_iter()
            .map(|seq| chat_in(room, seq, "bob", &format!("m{seq}")))
            .collect(),
        has_older,
    })
}

fn seqs(state: &ChatState) -> Vec<u64> {
    lobby(state).messages().map(|m| m.seq).collect()
}

fn joined_room(room: &str, members: &[&str]) -> Action {
    Action::Server(ServerMsg::Joined {
        room: room.into(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        head: 0,
    })
}

#[test]
fn older_pages_go_on_top_once_and_has_older_says_when_to_stop() {
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 151..=200, true));
    assert!(lobby(&state).has_older);
    assert_eq!(lobby(&state).oldest_seq(), Some(151));
    state.apply(message(201, "bob", "live"));

    state.apply(Action::OlderRequested(DEFAULT_ROOM.into()));
    assert!(lobby(&state).loading_older);
    // A page that overlaps what is here adds only what is missing.
    state.apply(history(DEFAULT_ROOM, 51..=160, true));
    assert!(!lobby(&state).loading_older);
    assert!(lobby(&state).has_older);
    assert_eq!(seqs(&state), (51..=201).collect::<Vec<_>>());

    state.apply(Action::OlderRequested(DEFAULT_ROOM.into()));
    state.apply(history(DEFAULT_ROOM, 1..=50, false));
    assert!(!lobby(&state).has_older);
    assert_eq!(seqs(&state), (1..=201).collect::<Vec<_>>());
    // Older pages are not news.
    assert_eq!(lobby(&state).unread, 0);
    assert_eq!(lobby(&state).last_seq, 201);

    // An empty answer to a request also ends it.
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 10..=12, true));
    state.apply(Action::OlderRequested(DEFAULT_ROOM.into()));
    state.apply(history(DEFAULT_ROOM, [], false));
    assert!(!lobby(&state).has_older);
    // Reaching seq 1 ends it whatever the flag says.
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 1..=3, true));
    assert!(!lobby(&state).has_older);
}

#[test]
fn missed_messages_after_a_resume_follow_in_order_and_do_not_touch_has_older() {
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 1..=10, false));
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(1),
    });
    state.apply(Action::Connected);
    state.apply(welcome("alice"));
    state.apply(joined(&["alice", "bob"]));
    // The server replays 11..=14; 10 again (a race) is not shown twice.
    state.apply(history(DEFAULT_ROOM, 10..=14, true));
    state.apply(message(15, "bob", "live"));
    assert_eq!(seqs(&state), (1..=15).collect::<Vec<_>>());
    assert!(!lobby(&state).has_older);
    assert_eq!(lobby(&state).last_seq, 15);
}

#[test]
fn missed_messages_in_another_room_count_as_unread() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::Joined {
        room: "rust".into(),
        members: vec!["alice".into()],
        head: 5,
    }));
    state.apply(history("rust", 1..=5, false));
    assert_eq!(state.rooms["rust"].unread, 0, "the first page is not news");
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(1),
    });
    state.apply(Action::Connected);
    state.apply(welcome("alice"));
    state.apply(joined_room("rust", &["alice"]));
    state.apply(history("rust", 6..=8, true));
    assert_eq!(state.rooms["rust"].unread, 3);
    state.apply(Action::SwitchRoom("rust".into()));
    assert_eq!(state.rooms["rust"].unread, 0);
}

#[test]
fn a_gap_is_a_marker_where_the_hole_is_and_shrinks_as_it_is_loaded() {
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 1..=42, false));
    // Back after 2,000 missed: 43..=2042 are not sent, the latest 50 are.
    state.apply(Action::Server(ServerMsg::Gap {
        room: DEFAULT_ROOM.into(),
        from: 43,
        to: 2042,
    }));
    state.apply(history(DEFAULT_ROOM, 2043..=2092, true));
    let order: Vec<String> = lobby(&state)
        .lines
        .iter()
        .filter_map(|l| match &l.body {
            LineBody::Chat(m) if m.seq == 42 || m.seq == 2043 => Some(m.seq.to_string()),
            LineBody::Gap { from, to } => Some(format!("gap {from}-{to}")),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["42", "gap 43-2042", "2043"]);
    assert!(!lobby(&state).has_older, "the top is still the beginning");

    // "Load them" asks for the newest 100 of the hole: they go below the
    // marker, which now ends before them.
    state.apply(history(DEFAULT_ROOM, 1943..=2042, true));
    assert!(notices(&state).contains(&"gap 43-1942".to_owned()));
    let all = seqs(&state);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in order");
    // The rest of the hole, in pages, and the marker is gone.
    let mut to: u64 = 1942;
    while to >= 43 {
        let from = to.saturating_sub(99).max(1);
        state.apply(history(DEFAULT_ROOM, from..=to, true));
        to = from - 1;
    }
    assert!(!notices(&state).iter().any(|n| n.starts_with("gap")));
    assert_eq!(seqs(&state), (1..=2092).collect::<Vec<_>>());
}

#[test]
fn typing_shows_for_six_seconds_unless_refreshed_and_a_message_ends_it() {
    let mut state = in_lobby();
    let t = 1_000_000;
    let typing = |nick: &str, at: i64| Action::Typing {
        room: DEFAULT_ROOM.into(),
        nick: nick.into(),
        at,
    };
    state.apply(typing("bob", t));
    assert_eq!(lobby(&state).typing_at(t + 1), ["bob"]);
    assert_eq!(state.next_typing_expiry(), Some(t + TYPING_SHOWN_MS));
    state.apply(typing("carol", t + 1_000));
    assert_eq!(
        typing_text(&lobby(&state).typing_at(t + 2_000)).as_deref(),
        Some("bob and carol are typing…")
    );
    // Refreshed: bob stays past his first six seconds.
    state.apply(typing("bob", t + 4_000));
    assert_eq!(lobby(&state).typing_at(t + 6_500), ["bob", "carol"]);
    assert_eq!(lobby(&state).typing_at(t + 7_000), ["bob"]);
    state.apply(Action::ExpireTyping(t + 7_000));
    assert_eq!(lobby(&state).typing.len(), 1);
    assert_eq!(state.next_typing_expiry(), Some(t + 10_000));
    // bob's message ends it.
    state.apply(message(1, "bob", "done"));
    assert!(lobby(&state).typing_at(t + 7_001).is_empty());
    assert_eq!(state.next_typing_expiry(), None);
    // My own typing (should it come back) is never shown; nor in a room
    // I am not in.
    state.apply(typing("alice", t));
    state.apply(Action::Typing {
        room: "nowhere".into(),
        nick: "bob".into(),
        at: t,
    });
    assert_eq!(state.next_typing_expiry(), None);
    // Leaving ends it too.
    state.apply(typing("carol", t));
    state.apply(Action::Server(ServerMsg::UserLeft {
        room: DEFAULT_ROOM.into(),
        nick: "carol".into(),
    }));
    assert!(lobby(&state).typing.is_empty());
    // Losing the connection forgets everything.
    state.apply(typing("bob", t));
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(1),
    });
    assert!(lobby(&state).typing.is_empty());
}

#[test]
fn typing_lines_read_naturally() {
    assert_eq!(typing_text(&[]), None);
    assert_eq!(typing_text(&["a"]).as_deref(), Some("a is typing…"));
    assert_eq!(
        typing_text(&["a", "b", "c"]).as_deref(),
        Some("a, b and c are typing…")
    );
    assert_eq!(
        typing_text(&["a", "b", "c", "d"]).as_deref(),
        Some("Several people are typing…")
    );
}

#[test]
fn conversations_are_named_by_the_other_person() {
    assert_eq!(room_label("rust", Some("alice")), "#rust");
    assert_eq!(room_label("@alice+bob", Some("Alice")), "bob");
    assert_eq!(room_label("@alice+bob", Some("bob")), "alice");
    assert_eq!(room_label("@alice+bob", None), "alice");

    let mut state = in_lobby();
    state.apply(Action::DirectRequested { to: "Bob".into() });
    assert_eq!(state.switch_to.as_deref(), Some("@alice+bob"));
    assert_eq!(
        state.active_room, DEFAULT_ROOM,
        "not before the server says so"
    );
    state.apply(joined_room("@alice+bob", &["alice", "Bob"]));
    assert_eq!(state.active_room, "@alice+bob");
    let room = &state.rooms["@alice+bob"];
    assert!(room.is_direct());
    assert!(!state.rooms[DEFAULT_ROOM].is_direct());
    // The label keeps bob's own spelling, learned from the online list.
    assert_eq!(room.label(Some("alice")), "Bob");

    // A conversation someone else starts appears without taking over the
    // screen, and counts as unread.
    state.apply(Action::SwitchRoom(DEFAULT_ROOM.into()));
    state.apply(joined_room("@alice+carol", &["alice", "carol"]));
    state.apply(Action::Server(ServerMsg::Message(chat_in(
        "@alice+carol",
        1,
        "Carol",
        "psst",
    ))));
    assert_eq!(state.active_room, DEFAULT_ROOM);
    let room = &state.rooms["@alice+carol"];
    assert_eq!(room.unread, 1);
    assert_eq!(room.label(Some("alice")), "Carol");
    // Asking again for a conversation that is open just shows it.
    state.apply(Action::DirectRequested { to: "carol".into() });
    assert_eq!(state.active_room, "@alice+carol");
    assert_eq!(state.rooms["@alice+carol"].unread, 0);
}

#[test]
fn the_room_directory_is_kept_as_the_server_lists_it() {
    let mut state = in_lobby();
    assert_eq!(state.directory, None);
    let rooms = vec![RoomInfo {
        room: "rust".into(),
        members: 3,
    }];
    state.apply(Action::Server(ServerMsg::Rooms {
        rooms: rooms.clone(),
    }));
    assert_eq!(state.directory, Some(rooms));
}

fn started(id: u64, name: &str, size: u64) -> Action {
    Action::UploadStarted {
        id,
        room: DEFAULT_ROOM.into(),
        name: name.into(),
        size,
    }
}

fn upload(state: &ChatState, id: u64) -> &Upload {
    state.uploads.iter().find(|u| u.id == id).unwrap()
}

#[test]
fn an_upload_tracks_the_file_to_100_percent_and_its_row_then_goes() {
    let mut state = in_lobby();
    state.apply(started(1, "cat.png", 1_000));
    assert_eq!(upload(&state, 1).status, UploadStatus::Uploading);
    assert_eq!(upload(&state, 1).percent(), 0);
    // The request is the file plus 200 bytes of multipart framing: the
    // bar follows the file.
    state.apply(Action::UploadProgress {
        id: 1,
        loaded: 600,
        total: 1_200,
    });
    assert_eq!(upload(&state, 1).sent, 500);
    assert_eq!(upload(&state, 1).percent(), 50);
    // Progress never goes backwards.
    state.apply(Action::UploadProgress {
        id: 1,
        loaded: 100,
        total: 1_200,
    });
    assert_eq!(upload(&state, 1).percent(), 50);
    state.apply(Action::UploadProgress {
        id: 1,
        loaded: 1_200,
        total: 1_200,
    });
    assert_eq!(upload(&state, 1).percent(), 100);
    assert_eq!(upload(&state, 1).status, UploadStatus::Uploading);
    assert_eq!(state.next_upload_expiry(), None);

    state.apply(Action::UploadDone { id: 1, at: 10_000 });
    assert_eq!(upload(&state, 1).status, UploadStatus::Done { at: 10_000 });
    assert_eq!(upload(&state, 1).sent, 1_000);
    assert_eq!(state.uploads_in(DEFAULT_ROOM).count(), 1);
    assert_eq!(state.uploads_in("rust").count(), 0);
    assert_eq!(state.next_upload_expiry(), Some(10_000 + UPLOAD_SHOWN_MS));
    state.apply(Action::ExpireUploads(10_000 + UPLOAD_SHOWN_MS - 1));
    assert_eq!(state.uploads.len(), 1);
    state.apply(Action::ExpireUploads(10_000 + UPLOAD_SHOWN_MS));
    assert!(state.uploads.is_empty());

    // An empty file is done when it is done.
    state.apply(started(2, "empty.txt", 0));
    assert_eq!(upload(&state, 2).percent(), 0);
    state.apply(Action::UploadDone { id: 2, at: 1 });
    assert_eq!(upload(&state, 2).percent(), 100);
}

#[test]
fn a_failed_upload_keeps_the_servers_reason_until_dismissed() {
    let mut state = in_lobby();
    state.apply(started(1, "huge.iso", 30 << 20));
    state.apply(Action::UploadProgress {
        id: 1,
        loaded: 1 << 20,
        total: 30 << 20,
    });
    let reason = "The file is larger than the server's limit of 25 MiB.";
    state.apply(Action::UploadFailed {
        id: 1,
        reason: reason.into(),
    });
    assert_eq!(
        upload(&state, 1).status,
        UploadStatus::Failed(reason.into())
    );
    // It stays for the person to read: no expiry, and nothing later
    // (a late progress event, a cancel) changes it.
    state.apply(Action::ExpireUploads(i64::MAX));
    state.apply(Action::UploadCancelled { id: 1, at: 5 });
    state.apply(Action::UploadDone { id: 1, at: 5 });
    assert_eq!(
        upload(&state, 1).status,
        UploadStatus::Failed(reason.into())
    );
    assert_eq!(upload(&state, 1).percent(), 3);
    state.apply(Action::UploadDismissed(1));
    assert!(state.uploads.is_empty());
}

#[test]
fn a_cancelled_upload_says_so_briefly_and_others_go_on() {
    let mut state = in_lobby();
    state.apply(started(1, "a.pdf", 100));
    state.apply(started(2, "b.pdf", 100));
    state.apply(Action::UploadCancelled { id: 1, at: 50 });
    assert_eq!(upload(&state, 1).status, UploadStatus::Cancelled { at: 50 });
    assert_eq!(upload(&state, 2).status, UploadStatus::Uploading);
    // The abort that follows a cancel is not a failure.
    state.apply(Action::UploadFailed {
        id: 1,
        reason: "aborted".into(),
    });
    assert_eq!(upload(&state, 1).status, UploadStatus::Cancelled { at: 50 });
    state.apply(Action::ExpireUploads(50 + UPLOAD_SHOWN_MS));
    let left: Vec<u64> = state.uploads.iter().map(|u| u.id).collect();
    assert_eq!(left, [2]);
    // A lost connection does not touch uploads: they travel over HTTP.
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(1),
    });
    assert_eq!(upload(&state, 2).status, UploadStatus::Uploading);
}

// Accounts -----------------------------------------------------------------

use shared::protocol::{ModLogEntry, Moderation, Role, RoomSettings, Secret};

fn welcome_as(nick: &str, account: bool, token: Option<&str>) -> Action {
    Action::Server(ServerMsg::Welcome {
        nick: nick.into(),
        server: "0.1.0".into(),
        limits: Limits::V1,
        account,
        token: token.map(Secret::new),
        expires: None,
    })
}

fn refusal(code: ErrorCode, text: &str) -> Action {
    Action::Server(ServerMsg::error(code, text))
}

#[test]
fn a_welcome_with_an_account_signs_in_under_the_accounts_nickname() {
    // The page remembered another spelling; the cookie decided who it is.
    let mut state = run([
        Action::Joining("ada_old".into()),
        Action::Connected,
        welcome_as("Ada", true, None),
    ]);
    assert!(state.account);
    assert_eq!(state.me.as_deref(), Some("Ada"));
    assert_eq!(state.token, None, "the cookie signs its requests");
    assert!(!state.needs_nick());
    assert_eq!(notices(&state), ["Signed in as Ada."]);

    // Reconnecting as the same account says nothing new.
    state.apply(joined(&["Ada"]));
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(1),
    });
    state.apply(welcome_as("Ada", true, None));
    assert_eq!(
        notices(&state),
        ["Signed in as Ada.", "Connection lost. Reconnecting…"]
    );
}

#[test]
fn a_guest_keeps_its_token_while_its_connection_lasts() {
    let mut state = run([Action::Connected, welcome_as("bob", false, Some("g1"))]);
    assert!(!state.account);
    assert_eq!(state.token, Some(Secret::new("g1")));
    state.apply(Action::Disconnected {
        attempt: 1,
        retry_at: Some(1),
    });
    assert_eq!(state.token, None);
    state.apply(welcome_as("bob", false, Some("g2")));
    assert_eq!(state.token, Some(Secret::new("g2")));
}

#[test]
fn registered_signs_the_connection_in() {
    let mut state = in_lobby();
    state.apply(Action::AccountBusy);
    assert!(state.account_busy);
    state.apply(Action::Server(ServerMsg::Registered {
        nick: "alice".into(),
        token: Secret::new("s1"),
        expires: 1_766_620_800_000,
    }));
    assert!(state.account);
    assert!(!state.account_busy);
    assert_eq!(state.token, Some(Secret::new("s1")));
    assert_eq!(notices(&state), ["alice is registered: you are signed in."]);
}

#[test]
fn a_registered_nickname_asks_the_guest_for_its_password() {
    let state = run([
        Action::Joining("ada".into()),
        Action::Connected,
        refusal(ErrorCode::NickRegistered, "ada is registered"),
    ]);
    assert!(state.needs_nick());
    assert_eq!(state.nick_error.as_deref(), Some(NICK_REGISTERED));
    assert_eq!(state.auth_mode, AuthMode::SignIn);
    assert_eq!(state.joining, None);

    // A failed sign-in, closed registration, a server for accounts only:
    // the server's sentence, and the form again.
    for (code, mode) in [
        (ErrorCode::AuthFailed, AuthMode::Guest),
        (ErrorCode::RegistrationClosed, AuthMode::Guest),
        (ErrorCode::GuestsNotAllowed, AuthMode::SignIn),
    ] {
        let state = run([
            Action::Joining("ada".into()),
            Action::Connected,
            refusal(code, "the sentence"),
        ]);
        assert!(state.needs_nick(), "{code:?}");
        assert_eq!(state.nick_error.as_deref(), Some("the sentence"));
        assert_eq!(state.auth_mode, mode, "{code:?}");
    }

    // Switching the form's mode clears what it said.
    let mut state = state;
    state.apply(Action::AuthMode(AuthMode::Register));
    assert_eq!(state.auth_mode, AuthMode::Register);
    assert_eq!(state.nick_error, None);
}

#[test]
fn an_account_that_is_signed_out_elsewhere_comes_back_to_the_form() {
    // Signed out everywhere from another browser: this one's socket is
    // closed, and its hello as a guest is refused.
    let mut state = run([
        Action::Joining("ada".into()),
        Action::Connected,
        welcome_as("ada", true, None),
        Action::Disconnected {
            attempt: 1,
            retry_at: Some(1),
        },
        Action::Connected,
        refusal(ErrorCode::NickRegistered, "registered"),
    ]);
    assert!(state.needs_nick());
    assert!(!state.account);
    assert_eq!(state.auth_mode, AuthMode::SignIn);
    // Signing in again keeps the rooms' history.
    state.apply(welcome_as("ada", true, None));
    assert!(!state.needs_nick());
    assert!(state.rooms.contains_key(DEFAULT_ROOM));
}

#[test]
fn signing_out_forgets_the_chat_and_offers_to_sign_in_again() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "private"));
    sent(&mut state, "c1", "alice", "unsent");
    let last_id = lobby(&state).lines.last().unwrap().id;
    state.apply(Action::SignedOut {
        mode: AuthMode::SignIn,
        note: Some("You signed out.".into()),
    });
    assert!(state.needs_nick());
    assert!(state.rooms.is_empty() && state.pending.is_empty());
    assert_eq!(state.me, None);
    assert!(!state.account && state.token.is_none());
    assert_eq!(state.conn, ConnState::Offline);
    assert_eq!(state.prefill.as_deref(), Some("alice"));
    assert_eq!(state.auth_mode, AuthMode::SignIn);
    assert_eq!(state.prompt_note.as_deref(), Some("You signed out."));
    // Line ids stay unique for the page's life.
    state.apply(Action::Notice("x".into()));
    assert!(lobby(&state).lines.last().unwrap().id > last_id);
    // The next welcome clears what the form said.
    state.apply(welcome_as("alice", true, None));
    assert_eq!(state.prompt_note, None);
    assert_eq!(state.prefill, None);
}

#[test]
fn a_deliberate_redial_rejoins_without_saying_the_connection_was_lost() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "hi"));
    sent(&mut state, "c1", "alice", "on the wire");
    state.apply(Action::Redialing);
    assert!(!state.registered && !lobby(&state).joined);
    assert!(lobby(&state).members.is_empty());
    assert_eq!(delivery(&state, 0), Delivery::Queued);
    state.apply(Action::Connected);
    state.apply(welcome_as("alice", true, None));
    state.apply(joined(&["alice", "bob"]));
    assert_eq!(notices(&state), ["Signed in as alice."]);
}

#[test]
fn registering_from_the_header_reports_its_failure() {
    let mut state = in_lobby();
    state.apply(Action::AccountBusy);
    state.apply(Action::AccountFailed("Choose a password".into()));
    assert!(!state.account_busy);
    assert_eq!(state.account_error.as_deref(), Some("Choose a password"));
    state.apply(Action::AccountBusy);
    assert_eq!(state.account_error, None);
    // The server's refusal of the `register` lands in the menu, not in
    // the room.
    state.apply(refusal(
        ErrorCode::PasswordWeak,
        "a password has at least 8 characters",
    ));
    assert!(!state.account_busy);
    assert_eq!(
        state.account_error.as_deref(),
        Some("a password has at least 8 characters")
    );
    assert!(notices(&state).is_empty());
    // Not while nothing is being registered.
    state.apply(refusal(ErrorCode::RegistrationClosed, "closed"));
    assert_eq!(notices(&state), ["closed"]);
}

// Rooms' settings and moderation -------------------------------------------

fn room_state(room: &str, topic: &str, slow: u32, roles: &[(&str, Role)]) -> Action {
    Action::Server(ServerMsg::RoomState {
        room: room.into(),
        settings: RoomSettings {
            topic: topic.into(),
            slow,
            roles: roles.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect(),
        },
    })
}

fn moderated(by: &str, action: Moderation) -> Action {
    Action::Server(ServerMsg::Moderated {
        room: DEFAULT_ROOM.into(),
        by: by.into(),
        action,
    })
}

fn left() -> Action {
    Action::Server(ServerMsg::Left {
        room: DEFAULT_ROOM.into(),
    })
}

#[test]
fn room_state_sets_the_topic_slow_mode_and_roles() {
    let mut state = in_lobby();
    assert_eq!(state.my_role(DEFAULT_ROOM), Role::Member);
    state.apply(room_state(
        DEFAULT_ROOM,
        "be kind",
        30,
        &[("alice", Role::Owner), ("bob", Role::Moderator)],
    ));
    let settings = &lobby(&state).settings;
    assert_eq!(settings.topic, "be kind");
    assert_eq!(settings.slow, 30);
    assert_eq!(state.my_role(DEFAULT_ROOM), Role::Owner);
    assert_eq!(lobby(&state).role_of("bob"), Role::Moderator);
    assert_eq!(state.my_role("elsewhere"), Role::Member);
    // A room the client is not in is not made up.
    state.apply(room_state("elsewhere", "x", 0, &[]));
    assert!(!state.rooms.contains_key("elsewhere"));
    // The next state replaces the last one.
    state.apply(room_state(DEFAULT_ROOM, "", 0, &[]));
    assert_eq!(*lobby(&state).settings, RoomSettings::default());

    state.apply(Action::ShowTopic);
    state.apply(room_state(DEFAULT_ROOM, "rust only", 0, &[]));
    state.apply(Action::ShowTopic);
    assert_eq!(
        notices(&state),
        ["#lobby has no topic.", "The topic of #lobby: rust only"]
    );
}

#[test]
fn every_moderation_is_a_line_in_the_room() {
    let mut state = in_lobby();
    state.apply(moderated(
        "ada",
        Moderation::Kick {
            target: "bob".into(),
            reason: Some("spam".into()),
        },
    ));
    state.apply(moderated("ada", Moderation::Slow { seconds: 10 }));
    state.apply(moderated(
        "ada",
        Moderation::Topic {
            topic: "be kind".into(),
        },
    ));
    // The room sees a deletion as the deleted message.
    state.apply(moderated(
        "ada",
        Moderation::Delete {
            target: "bob".into(),
            seq: 3,
        },
    ));
    assert_eq!(
        notices(&state),
        [
            "ada kicked bob: spam",
            "ada set slow mode: one message every 10 s",
            "ada set the topic: be kind"
        ]
    );
    assert!(!lobby(&state).ejected);
}

#[test]
fn a_kicked_client_keeps_the_room_on_screen_and_says_why() {
    for moderation_first in [true, false] {
        let mut state = in_lobby();
        state.apply(message(1, "bob", "hi"));
        let kick = moderated(
            "ada",
            Moderation::Kick {
                target: "Alice".into(),
                reason: Some("calm down".into()),
            },
        );
        if moderation_first {
            state.apply(kick.clone());
            state.apply(left());
        } else {
            state.apply(left());
            state.apply(kick);
        }
        let room = lobby(&state);
        assert!(room.ejected && !room.joined);
        assert!(room.members.is_empty());
        assert_eq!(state.active_room, DEFAULT_ROOM, "still on screen");
        assert_eq!(texts(&state), ["bob:hi"]);
        let said = notices(&state);
        assert!(said.contains(&"ada kicked Alice: calm down".to_owned()));
        assert!(said.contains(&"You are no longer in #lobby.".to_owned()));
        let tone = lobby(&state).lines.iter().find_map(|l| match &l.body {
            LineBody::Notice { text, tone } if text.contains("kicked") => Some(*tone),
            _ => None,
        });
        assert_eq!(tone, Some(Tone::Error));

        // Joining again puts it back.
        state.apply(joined(&["alice", "ada"]));
        assert!(!lobby(&state).ejected && lobby(&state).joined);
    }

    // A room the person is no longer in may be closed; a joined one not.
    let mut state = in_lobby();
    state.apply(Action::CloseRoom(DEFAULT_ROOM.into()));
    assert!(state.rooms.contains_key(DEFAULT_ROOM));
    state.apply(left());
    state.apply(Action::CloseRoom(DEFAULT_ROOM.into()));
    assert!(!state.rooms.contains_key(DEFAULT_ROOM));
}

#[test]
fn a_banned_client_is_told_and_a_refused_join_switches_nowhere() {
    let mut state = in_lobby();
    state.apply(Action::JoinRequested("mods".into()));
    state.apply(refusal(ErrorCode::Banned, "you are banned from #mods"));
    assert_eq!(state.switch_to, None);
    assert!(!state.needs_nick());
    assert_eq!(notices(&state), ["you are banned from #mods"]);
    assert!(!state.rooms.contains_key("mods"));
}

#[test]
fn a_mute_of_the_client_is_remembered_until_lifted() {
    let mut state = in_lobby();
    state.apply(moderated(
        "ada",
        Moderation::Mute {
            target: "bob".into(),
            until: None,
            reason: None,
        },
    ));
    assert_eq!(lobby(&state).muted_until, None, "someone else's");
    state.apply(moderated(
        "ada",
        Moderation::Mute {
            target: "alice".into(),
            until: Some(1_764_100_000_000),
            reason: None,
        },
    ));
    assert_eq!(lobby(&state).muted_until, Some(Some(1_764_100_000_000)));
    state.apply(moderated(
        "ada",
        Moderation::Unmute {
            target: "alice".into(),
        },
    ));
    assert_eq!(lobby(&state).muted_until, None);
    assert_eq!(notices(&state).last().unwrap(), "ada unmuted alice");
}

#[test]
fn the_moderation_log_and_invites_are_notices() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::ModLog {
        room: DEFAULT_ROOM.into(),
        entries: vec![ModLogEntry {
            id: 3,
            ts: 1_709_251_200_000,
            by: "ada".into(),
            action: Moderation::Unban {
                target: "bob".into(),
            },
        }],
        has_older: true,
    }));
    state.apply(Action::Server(ServerMsg::ModLog {
        room: DEFAULT_ROOM.into(),
        entries: vec![],
        has_older: false,
    }));
    state.apply(Action::Server(ServerMsg::Invite {
        code: Secret::new("c0de"),
        expires: 1_709_251_200_000,
    }));
    assert_eq!(
        notices(&state),
        [
            "Moderation log of #lobby, newest first:\n\
             2024-03-01 00:00 UTC — ada lifted bob's ban\n\
             … and older entries.",
            "No moderation in #lobby yet.",
            "Invite code: c0de (good for one registration, until 2024-03-01 00:00 UTC)"
        ]
    );
}

// Deletions ----------------------------------------------------------------

fn deletion(seq: u64, by: &str, target: u64) -> ChatMessage {
    ChatMessage {
        kind: MessageKind::Delete,
        target: Some(target),
        ..chat_in(DEFAULT_ROOM, seq, by, "")
    }
}

fn deleted_seqs(state: &ChatState) -> Vec<u64> {
    lobby(state)
        .messages()
        .filter(|m| m.deleted)
        .map(|m| m.seq)
        .collect()
}

#[test]
fn a_deletion_marks_its_message_and_is_not_a_line() {
    let mut state = in_lobby();
    for seq in 1..=3 {
        state.apply(message(seq, "bob", &format!("m{seq}")));
    }
    let lines = lobby(&state).lines.len();
    state.apply(Action::Server(ServerMsg::Message(deletion(4, "bob", 2))));
    assert_eq!(lobby(&state).lines.len(), lines, "no line for the deletion");
    assert_eq!(deleted_seqs(&state), [2]);
    let gone = lobby(&state).messages().find(|m| m.seq == 2).unwrap();
    assert!(gone.text.is_empty() && gone.attachment.is_none());
    assert_eq!(gone.nick, "bob", "who wrote it still shows");
    assert_eq!(lobby(&state).last_seq, 4, "resume past the deletion");
    assert_eq!(texts(&state), ["bob:m1", "bob:", "bob:m3"]);
    // A deletion is not news.
    state.apply(visible(false));
    state.apply(Action::Server(ServerMsg::Message(deletion(5, "ada", 1))));
    assert_eq!(lobby(&state).unread, 0);
    assert_eq!(deleted_seqs(&state), [1, 2]);
}

#[test]
fn a_deletion_before_its_message_is_loaded_holds_for_later_pages() {
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 50..=60, true));
    // Message 20 is in no page yet when it is deleted.
    state.apply(Action::Server(ServerMsg::Message(deletion(61, "ada", 20))));
    assert!(deleted_seqs(&state).is_empty());
    state.apply(Action::OlderRequested(DEFAULT_ROOM.into()));
    state.apply(history(DEFAULT_ROOM, 10..=49, true));
    assert_eq!(deleted_seqs(&state), [20]);
    assert_eq!(seqs(&state).first(), Some(&10));

    // A later page (or a repeated one, after a reconnect) keeps it deleted,
    // and the server's own mark is kept too.
    state.apply(history(DEFAULT_ROOM, 15..=25, true));
    assert_eq!(deleted_seqs(&state), [20]);
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: vec![ChatMessage {
            deleted: true,
            text: String::new(),
            ..chat_in(DEFAULT_ROOM, 9, "bob", "")
        }],
        has_older: true,
    }));
    assert_eq!(deleted_seqs(&state), [9, 20]);
}

#[test]
fn deletions_in_a_page_of_history_mark_their_messages() {
    let mut state = in_lobby();
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: vec![
            chat_in(DEFAULT_ROOM, 1, "bob", "oops"),
            chat_in(DEFAULT_ROOM, 2, "bob", "kept"),
            deletion(3, "bob", 1),
        ],
        has_older: false,
    }));
    assert_eq!(seqs(&state), [1, 2]);
    assert_eq!(deleted_seqs(&state), [1]);
    assert_eq!(lobby(&state).last_seq, 3);
}

// Refused messages -----------------------------------------------------------

#[test]
fn moderation_refusals_of_a_message_mark_it_not_sent() {
    for code in [
        ErrorCode::Banned,
        ErrorCode::Muted,
        ErrorCode::SlowMode,
        ErrorCode::Forbidden,
        ErrorCode::GuestsNotAllowed,
    ] {
        let mut state = in_lobby();
        sent(&mut state, "c1", "alice", "x");
        state.apply(Action::Server(ServerMsg::Error {
            code,
            message: "the sentence".into(),
            id: Some("c1".into()),
        }));
        assert_eq!(
            delivery(&state, 0),
            Delivery::Failed("the sentence".into()),
            "{code:?}"
        );
        assert!(notices(&state).is_empty());
    }
}

#[test]
fn slow_mode_counts_from_the_last_message_sent() {
    let mut state = in_lobby();
    let at = |state: &mut ChatState, id: &str, ts: i64| {
        state.apply(Action::Queued(Pending::queued(
            id.into(),
            ChatMessage {
                ts,
                ..chat_in(DEFAULT_ROOM, 0, "alice", id)
            },
        )));
        state.apply(Action::Transmitted(id.into()));
    };
    // Before slow mode, a message holds nothing back.
    at(&mut state, "c0", 500);
    state.apply(ack("c0", 1));
    assert_eq!(lobby(&state).posted_at, None);
    state.apply(room_state(DEFAULT_ROOM, "", 30, &[]));
    at(&mut state, "c1", 1_000);
    state.apply(ack("c1", 2));
    assert_eq!(lobby(&state).posted_at, Some(1_000));
    // Refused by slow mode: the wait starts again from this attempt, as
    // far as this page knows.
    at(&mut state, "c2", 50_000);
    state.apply(Action::Server(ServerMsg::Error {
        code: ErrorCode::SlowMode,
        message: "slow mode: wait 12 s".into(),
        id: Some("c2".into()),
    }));
    assert_eq!(lobby(&state).posted_at, Some(50_000));
    // Other refusals leave it.
    at(&mut state, "c3", 90_000);
    state.apply(Action::Server(ServerMsg::Error {
        code: ErrorCode::Muted,
        message: "muted".into(),
        id: Some("c3".into()),
    }));
    assert_eq!(lobby(&state).posted_at, Some(50_000));
}

#[test]
fn the_form_checks_the_nickname_and_asks_for_a_password_to_sign_in() {
    let entry = |mode, nick: &str, password: &str| Entry {
        mode,
        nick: nick.into(),
        password: password.into(),
        invite: String::new(),
    };
    assert_eq!(
        entry(AuthMode::Guest, " bob ", "").check(),
        Ok("bob".into())
    );
    assert_eq!(
        entry(AuthMode::SignIn, "ada", "").check(),
        Err("Enter the account's password.".into())
    );
    assert_eq!(
        entry(AuthMode::Register, "ada", "").check(),
        Err("Choose a password for the account.".into())
    );
    assert_eq!(
        entry(AuthMode::SignIn, "ada", " pw ").check(),
        Ok("ada".into())
    );
    assert!(entry(AuthMode::Register, "", "pw").check().is_err());
    assert!(entry(AuthMode::Guest, "server", "").check().is_err());
    let shown = format!("{:?}", entry(AuthMode::SignIn, "ada", "hunter2"));
    assert!(
        shown.contains("ada") && !shown.contains("hunter2"),
        "{shown}"
    );
}

/// Signed in as alice, in the lobby and in #rust (on screen).
fn signed_in_two_rooms() -> ChatState {
    let mut state = run([
        Action::Joining("alice".into()),
        Action::Connecting { attempt: 0 },
        Action::Connected,
        Action::Server(ServerMsg::Welcome {
            nick: "alice".into(),
            server: "0.1.0".into(),
            limits: Limits::V1,
            account: true,
            token: None,
            expires: None,
        }),
        joined(&["alice", "bob"]),
    ]);
    state.apply(Action::JoinRequested("rust".into()));
    state.apply(joined_room("rust", &["alice"]));
    state
}

fn said(room: &str, seq: u64, nick: &str, text: &str) -> Action {
    Action::Server(ServerMsg::Message(chat_in(room, seq, nick, text)))
}

#[test]
fn the_servers_unread_counts_replace_the_pages_and_later_messages_add_to_them() {
    let mut state = signed_in_two_rooms();
    assert_eq!(state.active_room, "rust");
    // History is counted by the server, not again here.
    state.apply(history(DEFAULT_ROOM, 1..=6, true));
    assert_eq!(lobby(&state).unread, 0);
    state.apply(Action::Server(ServerMsg::Unread {
        rooms: vec![UnreadCount {
            room: DEFAULT_ROOM.into(),
            read: 3,
            unread: 3,
            mentions: 1,
            head: 6,
        }],
    }));
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (3, 1));
    assert_eq!(lobby(&state).read, 3);
    state.apply(said(DEFAULT_ROOM, 7, "bob", "@Alice are you there?"));
    state.apply(said(DEFAULT_ROOM, 8, "bob", "mail alice@example.org"));
    state.apply(said(DEFAULT_ROOM, 9, "alice", "@alice my own"));
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (5, 2));
    assert_eq!(state.title(), "(5) Hubbub");
    // Changes to messages are not messages.
    state.apply(Action::Server(ServerMsg::Message(ChatMessage {
        kind: MessageKind::React,
        target: Some(7),
        ..chat_in(DEFAULT_ROOM, 10, "bob", "👍")
    })));
    assert_eq!(lobby(&state).unread, 5);
}

#[test]
fn counts_the_server_took_before_a_live_message_arrived_are_not_lowered_by_it() {
    let mut state = signed_in_two_rooms();
    state.apply(said(DEFAULT_ROOM, 11, "bob", "@alice one"));
    state.apply(said(DEFAULT_ROOM, 12, "bob", "two"));
    state.apply(said(DEFAULT_ROOM, 13, "alice", "mine"));
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (2, 1));
    // The answer to an `unread` asked before 12 came in: 10 and 11 are
    // unread, up to 11; 12 was counted here and still is, 13 is alice's.
    state.apply(Action::Server(ServerMsg::Unread {
        rooms: vec![UnreadCount {
            room: DEFAULT_ROOM.into(),
            read: 9,
            unread: 2,
            mentions: 1,
            head: 11,
        }],
    }));
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (3, 1));
    assert_eq!(lobby(&state).read, 9);
}

#[test]
fn a_read_marker_from_another_page_clears_the_counts_up_to_it() {
    let mut state = signed_in_two_rooms();
    for seq in 1..=4 {
        state.apply(said(DEFAULT_ROOM, seq, "bob", &format!("@alice {seq}")));
    }
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (4, 4));
    // Read up to 2 elsewhere: 3 and 4 are still unread.
    state.apply(Action::Server(ServerMsg::Read {
        room: DEFAULT_ROOM.into(),
        seq: 2,
    }));
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (2, 2));
    state.apply(Action::Server(ServerMsg::Read {
        room: DEFAULT_ROOM.into(),
        seq: 4,
    }));
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (0, 0));
    assert_eq!(state.title(), "Hubbub");
    // A marker never moves back.
    state.apply(Action::Server(ServerMsg::Read {
        room: DEFAULT_ROOM.into(),
        seq: 1,
    }));
    assert_eq!(lobby(&state).read, 4);
}

#[test]
fn the_room_on_screen_is_due_a_read_marker_while_the_tab_is_visible() {
    let mut state = signed_in_two_rooms();
    state.apply(said("rust", 1, "bob", "hi"));
    assert_eq!(state.read_due(), Some(("rust".into(), 1)));
    state.apply(Action::MarkRead {
        room: "rust".into(),
        seq: 1,
    });
    assert_eq!(state.read_due(), None);
    state.apply(visible(false));
    state.apply(said("rust", 2, "bob", "@alice hello?"));
    assert_eq!(state.read_due(), None, "not while hidden");
    assert_eq!(state.rooms["rust"].mentions, 1);
    state.apply(visible(true));
    assert_eq!(state.rooms["rust"].mentions, 0);
    assert_eq!(state.read_due(), Some(("rust".into(), 2)));
    // Another room's messages are not read by looking at this one.
    state.apply(said(DEFAULT_ROOM, 5, "bob", "lobby"));
    assert_eq!(state.read_due(), Some(("rust".into(), 2)));
}

#[test]
fn a_guest_counts_after_the_marker_this_browser_kept() {
    let kept = vec![(DEFAULT_ROOM.to_owned(), 3)];
    let mut state = ChatState::starting(Some("alice".into()), kept);
    state.apply(Action::Connected);
    state.apply(welcome("alice"));
    state.apply(Action::Server(ServerMsg::Joined {
        room: "rust".into(),
        members: vec![],
        head: 2,
    }));
    state.apply(Action::Server(ServerMsg::Joined {
        room: DEFAULT_ROOM.into(),
        members: vec![],
        head: 6,
    }));
    assert_eq!(state.active_room, DEFAULT_ROOM);
    state.apply(visible(false));
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: (1..=6)
            .map(|seq| chat_in(DEFAULT_ROOM, seq, "bob", &format!("@alice m{seq}")))
            .collect(),
        has_older: false,
    }));
    assert_eq!((lobby(&state).unread, lobby(&state).mentions), (3, 3));
    // A room new to this browser: what is there is not news.
    state.apply(history("rust", 1..=2, false));
    assert_eq!(state.rooms["rust"].unread, 0);
    state.apply(visible(true));
    state.apply(Action::MarkRead {
        room: DEFAULT_ROOM.into(),
        seq: 6,
    });
    assert_eq!(
        state.read_markers(),
        [("lobby".to_owned(), 6), ("rust".to_owned(), 2)]
    );
}

fn hit(room: &str, seq: u64) -> SearchHit {
    SearchHit {
        room: room.into(),
        seq,
        ts: 0,
        nick: "bob".into(),
        snippet: vec!["the ".into(), "release".into(), " notes".into()],
    }
}

#[test]
fn search_results_come_in_pages_and_a_refusal_ends_the_wait() {
    let mut state = signed_in_two_rooms();
    state.apply(Action::Search {
        q: "release".into(),
        room: None,
    });
    let results = |q: &str, seqs: &[u64], next| {
        Action::Server(ServerMsg::SearchResults {
            q: q.into(),
            results: seqs.iter().map(|s| hit("rust", *s)).collect(),
            next,
        })
    };
    state.apply(results("release", &[40, 30], Some(30)));
    state.apply(results("stale", &[1], None)); // an older search's answer
    let search = state.search.clone().unwrap();
    assert_eq!(search.hits.len(), 2);
    assert_eq!((search.next, search.busy), (Some(30), false));
    state.apply(Action::SearchMore);
    state.apply(results("release", &[20], None));
    let search = state.search.clone().unwrap();
    let seqs: Vec<u64> = search.hits.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, [40, 30, 20]);
    assert_eq!(search.next, None);

    state.apply(Action::Search {
        q: " ".into(),
        room: Some("rust".into()),
    });
    state.apply(Action::Server(ServerMsg::error(
        ErrorCode::TextEmpty,
        "type words to search for",
    )));
    assert!(!state.search.as_ref().unwrap().busy);
    let said_why = state.rooms["rust"].lines.iter().any(|l| {
        matches!(&l.body, LineBody::Notice { text, .. } if &**text == "type words to search for")
    });
    assert!(said_why, "the refusal is a notice in the room on screen");
    state.apply(Action::CloseSearch);
    assert_eq!(state.search, None);
}

#[test]
fn jumping_to_a_loaded_message_shows_it_and_to_another_loads_the_page_around_it() {
    let mut state = signed_in_two_rooms();
    state.apply(history(DEFAULT_ROOM, 950..=1000, true));
    state.apply(Action::Search {
        q: "m".into(),
        room: None,
    });
    state.apply(Action::Jump {
        room: DEFAULT_ROOM.into(),
        seq: 960,
    });
    assert_eq!(state.active_room, DEFAULT_ROOM);
    assert_eq!(state.search, None, "the results close");
    assert_eq!(state.found.map(|f| f.seq), Some(960));
    assert_eq!(state.awaiting(), None);

    state.apply(Action::Jump {
        room: DEFAULT_ROOM.into(),
        seq: 500,
    });
    assert_eq!(state.found, None);
    assert_eq!(state.awaiting(), Some((DEFAULT_ROOM.into(), 500)));
    // The hook asks for history before 525, 50 of them.
    state.apply(history(DEFAULT_ROOM, 475..=524, true));
    assert_eq!(state.awaiting(), None);
    assert_eq!(state.found.map(|f| f.seq), Some(500));
    let order: Vec<String> = lobby(&state)
        .lines
        .iter()
        .filter_map(|l| match &l.body {
            LineBody::Chat(m) if [475, 524, 950].contains(&m.seq) => Some(m.seq.to_string()),
            LineBody::Gap { from, to } => Some(format!("gap {from}-{to}")),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["475", "524", "gap 525-949", "950"]);
    assert!(lobby(&state).has_older);
    // Loading the hole shrinks it, as after a long absence.
    state.apply(history(DEFAULT_ROOM, 900..=949, true));
    let gaps: Vec<(u64, u64)> = lobby(&state)
        .lines
        .iter()
        .filter_map(|l| match l.body {
            LineBody::Gap { from, to } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, [(525, 899)]);
}
// Replies, edits and reactions ------------------------------------------------

fn change(seq: u64, by: &str, kind: MessageKind, target: u64, text: &str) -> Action {
    Action::Server(ServerMsg::Message(changed(seq, by, kind, target, text)))
}

fn changed(seq: u64, by: &str, kind: MessageKind, target: u64, text: &str) -> ChatMessage {
    ChatMessage {
        kind,
        target: Some(target),
        ..chat_in(DEFAULT_ROOM, seq, by, text)
    }
}

fn shown(state: &ChatState, seq: u64) -> &ChatMessage {
    lobby(state).messages().find(|m| m.seq == seq).unwrap()
}

/// The reactions of message `seq` as `emoji nick,nick`.
fn reactions(state: &ChatState, seq: u64) -> Vec<String> {
    shown(state, seq)
        .reactions
        .iter()
        .map(|r| format!("{} {}", r.emoji, r.nicks.join(",")))
        .collect()
}

#[test]
fn an_edit_replaces_the_text_and_says_when() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "teh plan"));
    state.apply(message(2, "ada", "ok"));
    let lines = lobby(&state).lines.len();
    state.apply(change(3, "bob", MessageKind::Edit, 1, "the plan"));
    assert_eq!(lobby(&state).lines.len(), lines, "an edit is no line");
    assert_eq!(texts(&state), ["bob:the plan", "ada:ok"]);
    let edited = shown(&state, 1);
    assert_eq!(edited.edited, Some(1_764_028_800_003), "the edit's time");
    assert_eq!(edited.rev, 3);
    assert_eq!(lobby(&state).last_seq, 3, "resume past the edit");
    // A reply to it quotes it as it is now.
    state.apply(Action::Server(ServerMsg::Message(ChatMessage {
        quote: Some(Box::new(Quote::of(1, "bob", "the plan", false))),
        ..chat_in(DEFAULT_ROOM, 4, "ada", "agreed")
    })));
    state.apply(change(
        5,
        "bob",
        MessageKind::Edit,
        1,
        "the new plan\nin full",
    ));
    let quote = shown(&state, 4).quote.clone().unwrap();
    assert_eq!(
        (quote.nick.as_str(), quote.text.as_str()),
        ("bob", "the new plan")
    );
}

#[test]
fn reactions_gather_nicks_per_emoji_in_the_order_first_given() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "shipped"));
    state.apply(change(2, "ada", MessageKind::React, 1, "🎉"));
    state.apply(change(3, "carol", MessageKind::React, 1, "👀"));
    state.apply(change(4, "carol", MessageKind::React, 1, "🎉"));
    assert_eq!(reactions(&state, 1), ["🎉 ada,carol", "👀 carol"]);
    // Taking one back removes the nick; the last one takes the emoji.
    state.apply(change(5, "ada", MessageKind::Unreact, 1, "🎉"));
    state.apply(change(6, "carol", MessageKind::Unreact, 1, "👀"));
    assert_eq!(reactions(&state, 1), ["🎉 carol"]);
    // Taking back what is not there changes nothing but the rev.
    state.apply(change(7, "dan", MessageKind::Unreact, 1, "👍"));
    assert_eq!(reactions(&state, 1), ["🎉 carol"]);
    assert_eq!(shown(&state, 1).rev, 7);
    assert_eq!(seqs(&state), [1], "no change is a line");
}

#[test]
fn a_change_already_in_the_page_is_not_applied_again() {
    let mut state = in_lobby();
    // History read after the edit (5) and a reaction (6): rev 6.
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: vec![ChatMessage {
            text: "newest".into(),
            edited: Some(5),
            reactions: vec![Reaction {
                emoji: "👍".into(),
                nicks: vec!["ada".into()],
            }],
            rev: 6,
            ..chat_in(DEFAULT_ROOM, 1, "bob", "")
        }],
        has_older: false,
    }));
    // An older edit and the same reaction arrive late (a resume that
    // overlaps the page): nothing changes.
    state.apply(change(4, "bob", MessageKind::Edit, 1, "older"));
    state.apply(change(6, "ada", MessageKind::React, 1, "👍"));
    assert_eq!(texts(&state), ["bob:newest"]);
    assert_eq!(reactions(&state, 1), ["👍 ada"]);
    // A later one does, once, however often it comes.
    for _ in 0..2 {
        state.apply(change(7, "ada", MessageKind::Unreact, 1, "👍"));
        state.apply(change(8, "carol", MessageKind::React, 1, "👍"));
    }
    assert_eq!(reactions(&state, 1), ["👍 carol"]);
    // Out of order: 9 after 10 is ignored.
    state.apply(change(10, "bob", MessageKind::Edit, 1, "final"));
    state.apply(change(9, "bob", MessageKind::Edit, 1, "draft"));
    assert_eq!(texts(&state), ["bob:final"]);
    assert_eq!(shown(&state, 1).rev, 10);
}

#[test]
fn a_change_to_a_message_not_loaded_waits_for_its_page() {
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 50..=60, true));
    state.apply(change(61, "bob", MessageKind::Edit, 20, "gone"));
    state.apply(change(62, "ada", MessageKind::React, 20, "👍"));
    assert_eq!(seqs(&state), (50..=60).collect::<Vec<_>>());
    assert_eq!(lobby(&state).last_seq, 62);
    // The older page, read now, includes both.
    state.apply(Action::OlderRequested(DEFAULT_ROOM.into()));
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: vec![ChatMessage {
            edited: Some(61),
            reactions: vec![Reaction {
                emoji: "👍".into(),
                nicks: vec!["ada".into()],
            }],
            rev: 62,
            ..chat_in(DEFAULT_ROOM, 20, "bob", "gone")
        }],
        has_older: true,
    }));
    assert_eq!(reactions(&state, 20), ["👍 ada"]);
    assert_eq!(shown(&state, 20).text, "gone");
}

#[test]
fn changes_in_a_page_apply_to_the_messages_before_them() {
    let mut state = in_lobby();
    // Missed while away: a message, then its edit and a reaction.
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: vec![
            chat_in(DEFAULT_ROOM, 1, "bob", "v1"),
            changed(2, "bob", MessageKind::Edit, 1, "v2"),
            changed(3, "ada", MessageKind::React, 1, "❤️"),
        ],
        has_older: false,
    }));
    assert_eq!(texts(&state), ["bob:v2"]);
    assert_eq!(reactions(&state, 1), ["❤️ ada"]);
    assert_eq!(lobby(&state).lines.len(), 1);
    // A fresher copy of a message already here (a page read later)
    // replaces it; a staler one does not.
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: vec![ChatMessage {
            rev: 9,
            edited: Some(9),
            ..chat_in(DEFAULT_ROOM, 1, "bob", "v3")
        }],
        has_older: false,
    }));
    assert_eq!(texts(&state), ["bob:v3"]);
    state.apply(history(DEFAULT_ROOM, [1], false));
    assert_eq!(texts(&state), ["bob:v3"]);
}

#[test]
fn a_deleted_message_takes_no_changes_and_its_replies_quote_it_as_deleted() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "secret"));
    state.apply(change(2, "ada", MessageKind::React, 1, "👍"));
    state.apply(Action::Server(ServerMsg::Message(ChatMessage {
        quote: Some(Box::new(Quote::of(1, "bob", "secret", false))),
        ..chat_in(DEFAULT_ROOM, 3, "ada", "really?")
    })));
    state.apply(Action::Server(ServerMsg::Message(deletion(4, "bob", 1))));
    assert!(shown(&state, 1).reactions.is_empty());
    let quote = shown(&state, 3).quote.clone().unwrap();
    assert!(quote.deleted && quote.text.is_empty(), "{quote:?}");
    state.apply(change(5, "bob", MessageKind::Edit, 1, "back"));
    state.apply(change(6, "ada", MessageKind::React, 1, "👀"));
    assert_eq!(texts(&state), ["bob:", "ada:really?"]);
    assert!(shown(&state, 1).reactions.is_empty());
    // A reply loaded after the deletion quotes it as deleted too.
    state.apply(Action::Server(ServerMsg::Message(ChatMessage {
        quote: Some(Box::new(Quote::of(1, "bob", "secret", false))),
        ..chat_in(DEFAULT_ROOM, 7, "carol", "what was it?")
    })));
    assert!(shown(&state, 7).quote.as_ref().unwrap().deleted);
    assert!(!format!("{:?}", lobby(&state).lines).contains("secret"));
}

#[test]
fn the_reply_being_written_is_per_room_and_its_ack_keeps_the_quote() {
    let mut state = in_lobby();
    state.apply(message(1, "bob", "lunch?"));
    let quote = Quote::of(1, "bob", "lunch?", false);
    state.apply(Action::Replying {
        room: DEFAULT_ROOM.into(),
        to: Some(quote.clone()),
    });
    assert_eq!(lobby(&state).replying, Some(quote.clone()));
    state.apply(Action::Queued(Pending::queued(
        "c1".into(),
        ChatMessage {
            quote: Some(Box::new(quote.clone())),
            ..chat_in(DEFAULT_ROOM, 0, "alice", "yes")
        },
    )));
    state.apply(Action::Replying {
        room: DEFAULT_ROOM.into(),
        to: None,
    });
    assert_eq!(lobby(&state).replying, None);
    state.apply(ack("c1", 2));
    assert_eq!(shown(&state, 2).quote.as_deref(), Some(&quote));
}

#[test]
fn a_page_around_a_quoted_message_far_above_leaves_a_gap_to_load() {
    let mut state = in_lobby();
    state.apply(history(DEFAULT_ROOM, 951..=1000, true));
    // The quoted message is 500: the page around it.
    state.apply(history(DEFAULT_ROOM, 476..=525, true));
    assert_eq!(notices(&state), ["gap 526-950"]);
    assert!(lobby(&state).has_older, "more above the page");
    assert_eq!(lobby(&state).unread, 0, "old messages are not news");
    // "Load them" fills it from its end, as any gap.
    state.apply(history(DEFAULT_ROOM, 851..=950, true));
    assert_eq!(notices(&state), ["gap 526-850"]);
    let mut to = 850;
    while to >= 526 {
        let from = (to - 99).max(526);
        state.apply(history(DEFAULT_ROOM, from..=to, true));
        to = from - 1;
    }
    assert!(notices(&state).is_empty());
    assert_eq!(seqs(&state), (476..=1000).collect::<Vec<_>>());
    // A page that meets what is here, or ends in changes, leaves none.
    state.apply(history(DEFAULT_ROOM, 376..=475, true));
    state.apply(Action::Server(ServerMsg::History {
        room: DEFAULT_ROOM.into(),
        messages: vec![
            chat_in(DEFAULT_ROOM, 374, "bob", "x"),
            changed(375, "bob", MessageKind::Edit, 374, "y"),
        ],
        has_older: true,
    }));
    assert!(notices(&state).is_empty());
}

#[test]
fn refused_edits_and_reactions_show_the_servers_sentence() {
    let mut state = in_lobby();
    for (code, why) in [
        (
            ErrorCode::EditWindowOver,
            "This message is too old to edit.",
        ),
        (ErrorCode::Unchanged, "Nothing would change."),
        (ErrorCode::ReactionInvalid, "A reaction is one emoji."),
    ] {
        state.apply(Action::Server(ServerMsg::Error {
            code,
            message: why.into(),
            id: Some("k-9".into()),
        }));
        assert_eq!(notices(&state).last().map(String::as_str), Some(why));
    }
}

// Desktop notifications ------------------------------------------------------

fn alerted(state: &ChatState) -> Option<(String, String, u64)> {
    state
        .alert
        .as_ref()
        .map(|a| (a.title.clone(), a.body.clone(), a.seq))
}

#[test]
fn a_mention_or_a_direct_message_in_the_background_is_worth_a_notification_once_on() {
    let mut state = in_lobby();
    state.apply(visible(false));
    state.apply(message(1, "bob", "@alice lunch?"));
    assert_eq!(state.alert, None, "not turned on");

    state.apply(Action::Alerts(Alerts::On));
    state.apply(message(2, "bob", "the build is green"));
    assert_eq!(state.alert, None, "no mention");
    state.apply(message(3, "bob", "@alice lunch?"));
    assert_eq!(
        alerted(&state),
        Some(("bob in #lobby".into(), "@alice lunch?".into(), 3))
    );
    let first = state.alert.clone().unwrap().nonce;
    state.apply(Action::Server(ServerMsg::Message(chat_in(
        "@alice+bob",
        1,
        "bob",
        "psst",
    ))));
    let direct = state.alert.clone().unwrap();
    assert_eq!(
        (direct.title.as_str(), direct.body.as_str()),
        ("bob", "psst")
    );
    assert_eq!(direct.room, "@alice+bob");
    assert_ne!(direct.nonce, first, "a new one");

    // One's own words, a page of history, a message seen before: none.
    state.apply(message(4, "alice", "@alice note to self"));
    state.apply(history(DEFAULT_ROOM, [5], false));
    state.apply(message(3, "bob", "@alice lunch?"));
    assert_eq!(state.alert.clone().unwrap().nonce, direct.nonce);

    // Looking at the page: none; turned off: none.
    state.apply(visible(true));
    state.apply(message(6, "bob", "@alice here?"));
    assert_eq!(state.alert.clone().unwrap().nonce, direct.nonce);
    state.apply(visible(false));
    state.apply(Action::Alerts(Alerts::Off));
    state.apply(message(7, "bob", "@alice?"));
    assert_eq!(state.alert.clone().unwrap().nonce, direct.nonce);
}

#[test]
fn signing_out_keeps_the_choice_of_notifications() {
    let mut state = in_lobby();
    state.apply(Action::Alerts(Alerts::On));
    state.apply(Action::SignedOut {
        mode: AuthMode::SignIn,
        note: None,
    });
    assert_eq!(state.alerts, Alerts::On);
}
