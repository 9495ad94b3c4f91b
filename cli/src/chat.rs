//! What the terminal client says and shows, without I/O: a line typed by the
//! person becomes `hubbub.v1` messages to send, and an event from the server
//! becomes lines to show, written like the terminal door writes them
//! ([`shared::line`]). It also remembers what a reconnect needs: the last
//! message seen in each room, to resume exactly there, and the messages sent
//! but not yet acknowledged, to send again under the same ids.

use std::collections::{BTreeMap, BTreeSet};

use shared::limits::MAX_TEXT_BYTES;
use shared::line::{self, Input};
use shared::{ClientMsg, Credentials, ErrorCode, MessageKind, Secret, ServerMsg};

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Send(ClientMsg),
    /// One line for the person (no line ending).
    Show(String),
    Quit,
}

/// The client's view of the conversation.
#[derive(Debug)]
pub struct Chat {
    nick: String,
    /// A room to join and make current once welcomed.
    first_room: Option<String>,
    /// Where plain lines go.
    current: Option<String>,
    members: BTreeMap<String, BTreeSet<String>>,
    /// The last sequence number seen per room.
    positions: BTreeMap<String, u64>,
    /// Sent, not yet acknowledged or refused, by id.
    unacked: BTreeMap<String, ClientMsg>,
    id_prefix: String,
    next_id: u64,
    welcomed: bool,
    /// The server's HTTP root, for links to shared files.
    base_url: String,
    /// Welcomed and in a room: plain lines have somewhere to go.
    ready: bool,
    /// The account's password, when signing in with one: the first hello
    /// uses it, and a reconnect whose session has ended.
    password: Option<Secret>,
    /// The session the server gave, which reconnects sign in with.
    token: Option<Secret>,
    /// Each room's topic, for `/topic`.
    topics: BTreeMap<String, String>,
}

impl Chat {
    /// `id_prefix` keeps this client's message ids apart from those of its
    /// earlier runs under the same nickname (the server drops a message whose
    /// id it has seen from that nickname in that room).
    /// `base_url` is the server's HTTP root (`http://host:8080`), under
    /// which shared files are linked.
    pub fn new(nick: &str, first_room: Option<&str>, id_prefix: &str, base_url: &str) -> Self {
        Chat {
            nick: nick.to_owned(),
            first_room: first_room.map(str::to_owned),
            current: None,
            members: BTreeMap::new(),
            positions: BTreeMap::new(),
            unacked: BTreeMap::new(),
            id_prefix: id_prefix.to_owned(),
            next_id: 1,
            welcomed: false,
            base_url: base_url.trim_end_matches('/').to_owned(),
            ready: false,
            password: None,
            token: None,
            topics: BTreeMap::new(),
        }
    }

    /// Signs in to the nickname's account: with its password, or a session
    /// token from an earlier sign-in.
    pub fn sign_in(&mut self, password: Option<Secret>, token: Option<Secret>) {
        self.password = password;
        self.token = token;
    }

    /// The session the server opened for this client, once it has one: for
    /// HTTP requests (`send-file`).
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    pub fn nick(&self) -> &str {
        &self.nick
    }

    pub fn current_room(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The first message on a new connection: the nickname, and on a
    /// reconnect where each room was left off.
    pub fn hello(&mut self) -> ClientMsg {
        self.welcomed = false;
        self.ready = false;
        let auth = match (&self.token, &self.password) {
            (Some(token), _) => Some(Credentials::Token(token.clone())),
            (None, Some(password)) => Some(Credentials::Password(password.clone())),
            (None, None) => None,
        };
        ClientMsg::Hello {
            nick: self.nick.clone(),
            resume: self.positions.clone(),
            auth,
        }
    }

    /// What a line typed by the person asks for.
    pub fn input(&mut self, typed: &str) -> Vec<Step> {
        if typed.len() > MAX_TEXT_BYTES {
            // Said here rather than by the server: a line far over the limit
            // would not even fit in one message.
            return vec![Step::Show(line::error_line(&format!(
                "not sent: the line is {} bytes, the most is {MAX_TEXT_BYTES}",
                typed.len()
            )))];
        }
        let in_room = |chat: &Self| chat.current.clone();
        let input = line::parse(typed);
        if let Some(room) = &self.current
            && let Some(msg) = line::room_command(&input, room)
        {
            return vec![Step::Send(msg)];
        }
        match input {
            Input::Blank => Vec::new(),
            Input::Say(text) => match in_room(self) {
                Some(room) => vec![self.say(room, text, MessageKind::Text)],
                None => vec![not_in_a_room()],
            },
            Input::Me(text) => match in_room(self) {
                Some(room) => vec![self.say(room, text, MessageKind::Action)],
                None => vec![not_in_a_room()],
            },
            Input::Reply { seq, text } => match in_room(self) {
                Some(room) => vec![self.answer(room, text, MessageKind::Text, Some(seq))],
                None => vec![not_in_a_room()],
            },
            Input::Edit { seq, text } => match in_room(self) {
                Some(room) => {
                    let id = self.next_id();
                    let msg = ClientMsg::Edit {
                        id: id.clone(),
                        room,
                        seq,
                        text: text.to_owned(),
                    };
                    self.unacked.insert(id, msg.clone());
                    vec![Step::Send(msg)]
                }
                None => vec![not_in_a_room()],
            },
            Input::Unread => vec![Step::Send(ClientMsg::Unread)],
            Input::Msg { to, text } => {
                let id = self.next_id();
                let msg = ClientMsg::Direct {
                    id: id.clone(),
                    to: to.to_owned(),
                    text: text.to_owned(),
                    kind: MessageKind::Text,
                    reply_to: None,
                };
                self.unacked.insert(id, msg.clone());
                vec![Step::Send(msg)]
            }
            // Before the welcome the nickname was refused: try this one.
            Input::Nick(nick) if !self.welcomed => {
                nick.clone_into(&mut self.nick);
                vec![Step::Send(self.hello())]
            }
            Input::Nick(nick) => vec![Step::Send(ClientMsg::Nick {
                nick: nick.to_owned(),
            })],
            Input::Join(room) => {
                // What is typed next is meant for the new room: hold it until
                // the server says the room is joined (or why not).
                self.ready = false;
                vec![Step::Send(ClientMsg::Join {
                    room: room.to_owned(),
                })]
            }
            Input::Leave(room) => match room.map(str::to_owned).or_else(|| in_room(self)) {
                Some(room) => vec![Step::Send(ClientMsg::Leave { room })],
                None => vec![not_in_a_room()],
            },
            Input::Rooms => vec![Step::Send(ClientMsg::Rooms)],
            Input::Who => match &self.current {
                Some(room) => {
                    let members: Vec<&String> = self
                        .members
                        .get(room)
                        .map(|m| m.iter().collect())
                        .unwrap_or_default();
                    vec![Step::Show(line::who_line(room, &members))]
                }
                None => vec![not_in_a_room()],
            },
            Input::History(count) => match &self.current {
                Some(room) => vec![Step::Send(ClientMsg::History {
                    room: room.clone(),
                    // Everything up to the newest message seen: the last
                    // `count` messages of the room.
                    before: self.positions.get(room).map_or(u64::MAX, |seq| seq + 1),
                    limit: u32::try_from(count).ok(),
                })],
                None => vec![not_in_a_room()],
            },
            Input::Register { password, invite } => vec![Step::Send(ClientMsg::Register {
                password: Secret::new(password),
                invite: invite.map(Secret::new),
            })],
            Input::Login { nick, password } if !self.welcomed => {
                nick.clone_into(&mut self.nick);
                self.sign_in(Some(Secret::new(password)), None);
                vec![Step::Send(self.hello())]
            }
            Input::Login { .. } => vec![Step::Show(line::error_line(
                "you are connected already: start hubbub with --login to sign in",
            ))],
            Input::Logout { everywhere } => vec![Step::Send(ClientMsg::SignOut { everywhere })],
            Input::Topic(None) => match &self.current {
                Some(room) => vec![Step::Show(match self.topics.get(room) {
                    Some(topic) => format!("-- [{room}] topic: {}", line::strip_controls(topic)),
                    None => format!("-- [{room}] no topic"),
                })],
                None => vec![not_in_a_room()],
            },
            Input::Invite => vec![Step::Send(ClientMsg::Invite)],
            // What `room_command` sends, when there is no current room.
            Input::Kick { .. }
            | Input::Ban { .. }
            | Input::Unban(_)
            | Input::Mute { .. }
            | Input::Unmute(_)
            | Input::Slow(_)
            | Input::Topic(Some(_))
            | Input::Op { .. }
            | Input::Delete(_)
            | Input::React { .. }
            | Input::Search(_)
            | Input::ModLog => vec![not_in_a_room()],
            Input::Quit => vec![Step::Quit],
            Input::Help => line::HELP
                .iter()
                .map(|help| Step::Show((*help).to_owned()))
                .collect(),
            Input::Usage(usage) => vec![Step::Show(line::error_line(&format!("usage: {usage}")))],
            Input::Unknown(name) => vec![Step::Show(line::error_line(&format!(
                "unknown command /{name}; /help lists the commands (//text says /text)"
            )))],
        }
    }

    /// What an event from the server shows, and anything it makes the
    /// client send.
    pub fn event(&mut self, msg: &ServerMsg) -> Vec<Step> {
        // The event itself is shown first, then any hint about it.
        let mut steps: Vec<Step> = line::render(msg, &self.base_url)
            .map(|text| {
                text.split(line::EOL)
                    .filter(|shown| !shown.is_empty())
                    .map(|shown| Step::Show(shown.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        match msg {
            ServerMsg::Welcome {
                nick,
                account,
                token,
                ..
            } => {
                self.nick.clone_from(nick);
                self.welcomed = true;
                if *account && token.is_some() {
                    self.token.clone_from(token);
                }
                if let Some(room) = self.first_room.take() {
                    steps.push(Step::Send(ClientMsg::Join { room }));
                }
                // Sent before the connection was lost: the server drops any
                // it already has (same id), so nothing is doubled.
                steps.extend(self.unacked.values().cloned().map(Step::Send));
            }
            ServerMsg::Joined { room, members, .. } => {
                self.members
                    .insert(room.clone(), members.iter().cloned().collect());
                self.current = Some(room.clone());
                self.ready = self.welcomed;
            }
            ServerMsg::Left { room } => {
                self.members.remove(room);
                self.positions.remove(room);
                if self.current.as_deref() == Some(room.as_str()) {
                    self.current = self.members.keys().next().cloned();
                }
            }
            ServerMsg::UserJoined { room, nick } => {
                self.members
                    .entry(room.clone())
                    .or_default()
                    .insert(nick.clone());
            }
            ServerMsg::UserLeft { room, nick } => {
                if let Some(members) = self.members.get_mut(room) {
                    members.remove(nick);
                }
            }
            ServerMsg::Members { room, members } => {
                if let Some(known) = self.members.get_mut(room) {
                    *known = members.iter().cloned().collect();
                }
            }
            ServerMsg::NickChanged { old, new, rooms } => {
                for room in rooms {
                    if let Some(members) = self.members.get_mut(room) {
                        members.remove(old);
                        members.insert(new.clone());
                    }
                }
                if *old == self.nick {
                    self.nick.clone_from(new);
                }
            }
            ServerMsg::Message(message) => self.seen(&message.room, message.seq),
            ServerMsg::History { room, messages, .. } => {
                if let Some(last) = messages.last() {
                    self.seen(room, last.seq);
                }
            }
            ServerMsg::Ack { id, .. } => {
                self.unacked.remove(id);
            }
            ServerMsg::Error { id: Some(id), .. } => {
                self.unacked.remove(id);
            }
            ServerMsg::Error { id: None, .. } if self.welcomed => self.ready = true,
            ServerMsg::Error {
                code: ErrorCode::AuthFailed,
                id: None,
                ..
            } if self.token.is_some() => {
                // The session ended meanwhile: sign in again with the
                // password, if there is one.
                self.token = None;
                if self.password.is_some() {
                    steps.push(Step::Send(self.hello()));
                }
            }
            ServerMsg::Error {
                code: ErrorCode::AuthFailed,
                id: None,
                ..
            } => {
                // A wrong password is not tried again on every reconnect.
                self.password = None;
                steps.push(Step::Show(
                    "-- try again with /login NICK PASSWORD, or chat as a guest with /nick NAME"
                        .to_owned(),
                ));
            }
            ServerMsg::Error {
                code: ErrorCode::NickRegistered,
                id: None,
                ..
            } => {
                steps.push(Step::Show(
                    "-- sign in with /login NICK PASSWORD, or choose another nickname with /nick NAME"
                        .to_owned(),
                ));
            }
            ServerMsg::Error { id: None, .. } => {
                steps.push(Step::Show(
                    "-- choose another nickname with /nick NAME".to_owned(),
                ));
            }
            ServerMsg::Registered { token, .. } => self.token = Some(token.clone()),
            ServerMsg::RoomState { room, settings } => {
                if settings.topic.is_empty() {
                    self.topics.remove(room);
                } else {
                    self.topics.insert(room.clone(), settings.topic.clone());
                }
            }
            ServerMsg::Gap { .. }
            | ServerMsg::Typing { .. }
            | ServerMsg::Rooms { .. }
            | ServerMsg::Read { .. }
            | ServerMsg::Unread { .. }
            | ServerMsg::SearchResults { .. }
            | ServerMsg::Moderated { .. }
            | ServerMsg::ModLog { .. }
            | ServerMsg::Invite { .. } => {}
        }
        steps
    }

    /// Whether the server has welcomed this client on the current connection.
    pub fn is_welcomed(&self) -> bool {
        self.welcomed
    }

    /// Whether lines typed now can be acted on: the client is welcomed and
    /// has joined its rooms. Until then the terminal holds them.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Whether `typed` is for the time before the welcome (a nickname to try
    /// instead of a refused one, or leaving).
    pub fn is_early(typed: &str) -> bool {
        matches!(
            line::parse(typed),
            Input::Nick(_) | Input::Login { .. } | Input::Quit | Input::Help
        )
    }

    /// Messages sent and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }

    fn say(&mut self, room: String, text: &str, kind: MessageKind) -> Step {
        self.answer(room, text, kind, None)
    }

    /// A message to `room`, answering message `reply_to` if given; kept
    /// until acknowledged, to be sent again after a reconnect.
    fn answer(
        &mut self,
        room: String,
        text: &str,
        kind: MessageKind,
        reply_to: Option<u64>,
    ) -> Step {
        let id = self.next_id();
        let msg = ClientMsg::Send {
            id: id.clone(),
            room,
            text: text.to_owned(),
            kind,
            reply_to,
        };
        self.unacked.insert(id, msg.clone());
        Step::Send(msg)
    }

    fn next_id(&mut self) -> String {
        let id = format!("{}-{}", self.id_prefix, self.next_id);
        self.next_id += 1;
        id
    }

    fn seen(&mut self, room: &str, seq: u64) {
        let position = self.positions.entry(room.to_owned()).or_default();
        *position = (*position).max(seq);
    }
}

fn not_in_a_room() -> Step {
    Step::Show(line::error_line("you are in no room; /join ROOM first"))
}

#[cfg(test)]
mod tests {
    use shared::{ChatMessage, Limits};

    use super::*;

    fn welcomed(chat: &mut Chat) {
        chat.event(&ServerMsg::Welcome {
            nick: "ada".into(),
            server: "test".into(),
            limits: Limits::V1,
            account: false,
            token: None,
            expires: None,
        });
        chat.event(&ServerMsg::Joined {
            room: "lobby".into(),
            members: vec!["ada".into(), "bob".into()],
            head: 0,
        });
    }

    fn message(room: &str, seq: u64, nick: &str, text: &str) -> ServerMsg {
        ServerMsg::Message(ChatMessage {
            room: room.into(),
            seq,
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
        })
    }

    #[test]
    fn lines_go_to_the_current_room_with_fresh_ids() {
        let mut chat = Chat::new("ada", None, "run1", "http://hub:8080");
        assert_eq!(chat.input("hi"), vec![not_in_a_room()]);
        welcomed(&mut chat);
        let Step::Send(ClientMsg::Send { id, room, text, .. }) = &chat.input("hello")[0] else {
            panic!("a line is a message");
        };
        assert_eq!(
            (id.as_str(), room.as_str(), text.as_str()),
            ("run1-1", "lobby", "hello")
        );
        let Step::Send(ClientMsg::Send { id, kind, .. }) = &chat.input("/me waves")[0] else {
            panic!("/me is a message");
        };
        assert_eq!((id.as_str(), *kind), ("run1-2", MessageKind::Action));
        assert_eq!(chat.unacked(), 2);
    }

    #[test]
    fn replies_and_edits_carry_ids_and_wait_for_their_acks() {
        let mut chat = Chat::new("ada", None, "run1", "http://hub:8080");
        welcomed(&mut chat);
        assert_eq!(
            chat.input("/reply 7 sure"),
            vec![Step::Send(ClientMsg::Send {
                id: "run1-1".into(),
                room: "lobby".into(),
                text: "sure".into(),
                kind: MessageKind::Text,
                reply_to: Some(7),
            })]
        );
        assert_eq!(
            chat.input("/edit #8 fixed it"),
            vec![Step::Send(ClientMsg::Edit {
                id: "run1-2".into(),
                room: "lobby".into(),
                seq: 8,
                text: "fixed it".into(),
            })]
        );
        assert_eq!(chat.unacked(), 2, "both are sent again after a reconnect");
        assert_eq!(
            chat.input("/unreact 8 👍"),
            vec![Step::Send(ClientMsg::React {
                room: "lobby".into(),
                seq: 8,
                emoji: "👍".into(),
                remove: true,
            })]
        );
        assert_eq!(
            chat.input("/search release notes"),
            vec![Step::Send(ClientMsg::Search {
                q: "release notes".into(),
                room: Some("lobby".into()),
                before: None,
            })]
        );
        assert_eq!(chat.input("/unread"), vec![Step::Send(ClientMsg::Unread)]);
        assert!(
            matches!(&chat.input("/reply x")[0], Step::Show(usage) if usage.contains("/reply N TEXT"))
        );
    }

    #[test]
    fn events_show_as_terminal_lines() {
        let mut chat = Chat::new("ada", None, "run1", "http://hub:8080");
        welcomed(&mut chat);
        assert_eq!(
            chat.event(&message("lobby", 7, "bob", "hi \u{1b}[31mthere")),
            vec![Step::Show("00:00 [lobby] <bob> hi there".into())]
        );
        assert_eq!(
            chat.input("/who"),
            vec![Step::Show("-- [lobby] online (2): ada, bob".into())]
        );
        assert!(
            chat.event(&ServerMsg::Typing {
                room: "lobby".into(),
                nick: "bob".into()
            })
            .is_empty()
        );
    }

    #[test]
    fn a_reconnect_resumes_and_resends_what_was_not_acknowledged() {
        let mut chat = Chat::new("ada", Some("rust"), "run1", "http://hub:8080");
        welcomed(&mut chat);
        chat.event(&message("lobby", 41, "bob", "one"));
        chat.event(&message("lobby", 42, "bob", "two"));
        let first = chat.input("are you there?");
        let second = chat.input("hello?");
        chat.event(&ServerMsg::Ack {
            id: "run1-1".into(),
            room: "lobby".into(),
            seq: 43,
            ts: 0,
        });
        let ClientMsg::Hello { nick, resume, .. } = chat.hello() else {
            panic!("hello first");
        };
        assert_eq!(nick, "ada");
        assert_eq!(resume.get("lobby"), Some(&42));
        assert!(!chat.is_welcomed());
        let steps = chat.event(&ServerMsg::Welcome {
            nick: "ada".into(),
            server: "test".into(),
            limits: Limits::V1,
            account: false,
            token: None,
            expires: None,
        });
        // The first room was joined on the first welcome; only the message
        // without an ack is sent again, under its id.
        let sent: Vec<&Step> = steps
            .iter()
            .filter(|s| matches!(s, Step::Send(_)))
            .collect();
        assert_eq!(sent, vec![&second[0]]);
        assert_ne!(first, second);
    }

    #[test]
    fn history_asks_for_the_latest_messages_of_the_current_room() {
        let mut chat = Chat::new("ada", None, "run1", "http://hub:8080");
        welcomed(&mut chat);
        chat.event(&message("lobby", 9, "bob", "x"));
        assert_eq!(
            chat.input("/history 5"),
            vec![Step::Send(ClientMsg::History {
                room: "lobby".into(),
                before: 10,
                limit: Some(5),
            })]
        );
        assert_eq!(chat.input("/quit"), vec![Step::Quit]);
        assert!(
            matches!(&chat.input("/frobnicate")[0], Step::Show(s) if s.contains("unknown command"))
        );
    }

    #[test]
    fn a_line_over_the_limit_is_refused_here() {
        let mut chat = Chat::new("ada", None, "run1", "http://hub:8080");
        welcomed(&mut chat);
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            chat.input(&long),
            vec![Step::Show(format!(
                "! not sent: the line is {} bytes, the most is {MAX_TEXT_BYTES}",
                MAX_TEXT_BYTES + 1
            ))]
        );
        assert_eq!(chat.unacked(), 0);
        assert!(matches!(
            &chat.input(&"y".repeat(MAX_TEXT_BYTES))[0],
            Step::Send(_)
        ));
    }

    #[test]
    fn a_members_snapshot_corrects_the_online_list() {
        let mut chat = Chat::new("ada", None, "run1", "http://hub:8080");
        welcomed(&mut chat);
        let shown = chat.event(&ServerMsg::Members {
            room: "lobby".into(),
            members: vec!["ada".into(), "carol".into()],
        });
        assert_eq!(
            shown,
            vec![Step::Show("-- [lobby] online (2): ada, carol".into())]
        );
        assert_eq!(
            chat.input("/who"),
            vec![Step::Show("-- [lobby] online (2): ada, carol".into())]
        );
    }

    #[test]
    fn a_nick_change_follows_the_person() {
        let mut chat = Chat::new("ada", None, "run1", "http://hub:8080");
        welcomed(&mut chat);
        chat.event(&ServerMsg::NickChanged {
            old: "ada".into(),
            new: "ada2".into(),
            rooms: vec!["lobby".into()],
        });
        assert_eq!(chat.nick(), "ada2");
        assert_eq!(
            chat.input("/who"),
            vec![Step::Show("-- [lobby] online (2): ada2, bob".into())]
        );
    }
}
