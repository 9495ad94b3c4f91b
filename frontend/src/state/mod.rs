//! The client's whole view of the chat as plain data, and every way it can
//! change. [`ChatState`] is a Yew [`Reducible`]: the connection turns what
//! happens on the wire into [`Action`]s and components render the result.
//!
//! Nothing here does I/O, reads a clock or touches the DOM (times come in
//! with the actions), so every transition is tested natively
//! (`cargo test -p frontend`).
//!
//! The parts have modules of their own: `room` (a [`Room`] and its
//! [`Line`]s, its settings and deletions, and how rooms are named and typing
//! reads) and `upload` (the files being shared, [`Upload`]). This module is
//! the reducer over them: [`ChatState`], [`Action`], the connection's state,
//! who the person is (a guest or signed in), pending messages, and what
//! moderators' actions do to the person's rooms.
//!
//! Cost: Yew hands `reduce` a state the last render still holds, so each
//! action copies the state. Everything big is shared: a room's lines live in
//! a [`Scrollback`](crate::scrollback::Scrollback) (an append copies one
//! chunk of 256 lines, not 10,000) and messages sit behind `Rc`s.

use std::collections::BTreeMap;
use std::rc::Rc;

use shared::protocol::{ModLogEntry, Moderation, Quote, Role, SearchHit, Secret, UnreadCount, utc};
use shared::validate::precheck_nick;
use shared::{
    ChatMessage, ClientMsgId, DEFAULT_ROOM, ErrorCode, Limits, MessageKind, RoomInfo, ServerMsg,
    direct_members,
};
use yew::Reducible;

use crate::linkify::mentions_me;
use crate::lowercase::{direct_room, lowercase};
use crate::markers::marker;

mod room;
mod upload;

pub use room::{
    Line, LineBody, MAX_LINES_PER_ROOM, Room, Tone, chats_after, room_label, typing_text,
};
pub use upload::{UPLOAD_SHOWN_MS, Upload, UploadStatus};

/// How long "alice is typing…" stays after her last typing notification
/// (docs/protocol.md: show it for 6 s unless it comes again).
pub const TYPING_SHOWN_MS: i64 = 6_000;

/// Where the connection to the server stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// No socket, and none is wanted until someone picks a nickname.
    Offline,
    /// The first socket is opening.
    Connecting,
    /// The socket is open (registration may still be under way).
    Connected,
    /// The connection was lost or could not be made; another attempt follows.
    /// `attempt` counts failures since the last welcome; `retry_at` is when
    /// the next attempt starts (milliseconds since the Unix epoch, the
    /// browser's clock), `None` while that attempt is opening.
    Reconnecting { attempt: u32, retry_at: Option<i64> },
}

impl ConnState {
    /// The stable name used in `data-state` and in CSS.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::Offline => "offline",
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Reconnecting { .. } => "reconnecting",
        }
    }
}

/// How the nickname form lets the person in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// A nickname for this visit only.
    #[default]
    Guest,
    /// The nickname and password of an account.
    SignIn,
    /// A new account.
    Register,
}

/// What the nickname form submits. Its `Debug` output (logs, test
/// failures) leaves the password and the invite code out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub mode: AuthMode,
    /// The nickname as typed.
    pub nick: String,
    /// Signing in or registering: the password.
    pub password: String,
    /// Registering: an invite code, where registration is by invitation
    /// (blank: none).
    pub invite: String,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("mode", &self.mode)
            .field("nick", &self.nick)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// The nickname to go in with (trimmed and checked as the server will),
    /// or why the form cannot be sent, for a person.
    pub fn check(&self) -> Result<String, String> {
        let nick = precheck_nick(&self.nick).map_err(|err| err.to_string())?;
        if self.mode != AuthMode::Guest && self.password.is_empty() {
            return Err(match self.mode {
                AuthMode::Register => "Choose a password for the account.".to_owned(),
                _ => "Enter the account's password.".to_owned(),
            });
        }
        Ok(nick)
    }
}

/// What the form says when a guest's nickname is an account's.
pub const NICK_REGISTERED: &str =
    "This nickname is registered: sign in with its password, or choose another.";

/// Where a message the person sent stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for a connection; it is sent when one is registered.
    Queued,
    /// Handed to the socket; no ack yet.
    Sending,
    /// Not delivered, and why. The person may retry or dismiss it.
    Failed(String),
}

/// A message the person sent that the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: ClientMsgId,
    /// The message as it will read once confirmed; `seq` is meaningless and
    /// `ts` is the local clock at sending.
    pub draft: Rc<ChatMessage>,
    pub delivery: Delivery,
}

impl Pending {
    pub fn queued(id: ClientMsgId, draft: ChatMessage) -> Self {
        Pending {
            id,
            draft: Rc::new(draft),
            delivery: Delivery::Queued,
        }
    }
}

/// A search and the results that came so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The words as sent.
    pub q: String,
    /// The room searched; `None`: every room the person is in.
    pub room: Option<String>,
    /// The results, newest first.
    pub hits: Vec<SearchHit>,
    /// The `before` of the next page, when there is one.
    pub next: Option<u64>,
    /// A page was asked for and has not come.
    pub busy: bool,
}

/// A message to bring into view and highlight (a search result's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub seq: u64,
    /// Counts the jumps, so that jumping to the same message again shows
    /// it again.
    pub nonce: u32,
}

/// Desktop notifications (the browser's `Notification`): what the browser
/// offers and what the person chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Alerts {
    /// The browser has none (or the page is not a secure context).
    #[default]
    Unavailable,
    Off,
    On,
    /// The person said no in the browser's prompt: only the browser's
    /// site settings can undo it.
    Blocked,
}

/// A message worth a desktop notification: a mention or a direct message
/// that arrived while the tab was in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub body: String,
    pub room: String,
    pub seq: u64,
    /// Counts the alerts, so that two alike are two.
    pub nonce: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatState {
    pub conn: ConnState,
    /// The nickname the server last accepted (kept across reconnects, so the
    /// chat stays on screen while the connection comes back).
    pub me: Option<String>,
    /// Welcomed on the current connection.
    pub registered: bool,
    /// A nickname on its way to the server in a `hello`, not yet answered.
    pub joining: Option<String>,
    /// Why the last nickname was refused, by the server or before sending.
    pub nick_error: Option<String>,
    /// The server's version from its welcome.
    pub server_version: Option<String>,
    pub limits: Limits,
    pub rooms: BTreeMap<String, Room>,
    /// The room on screen; the one messages are sent to.
    pub active_room: String,
    /// A room the person asked to join: shown once the server confirms.
    pub switch_to: Option<String>,
    /// Sent messages awaiting their ack, oldest first.
    pub pending: Vec<Pending>,
    /// The tab is in the background: new messages count as unread.
    pub hidden: bool,
    /// The rooms that exist, as the server last listed them (for joining).
    pub directory: Option<Vec<RoomInfo>>,
    /// Files the person is sharing (or just shared, or could not), oldest
    /// first.
    pub uploads: Vec<Upload>,
    /// Signed in to the account of `me` (else a guest).
    pub account: bool,
    /// A bearer token for the HTTP requests a session cookie does not sign:
    /// a guest's, good while its connection lasts (uploads, the files of
    /// conversations).
    pub token: Option<Secret>,
    /// How the nickname form asks.
    pub auth_mode: AuthMode,
    /// What the nickname form says that is not a refusal ("You signed out.").
    pub prompt_note: Option<String>,
    /// What the nickname form starts with after signing out: the account's
    /// nickname.
    pub prefill: Option<String>,
    /// Registering the guest nickname from the header (`register` over the
    /// socket) is under way.
    pub account_busy: bool,
    /// Why it failed.
    pub account_error: Option<String>,
    /// The search panel's search, while it is open.
    pub search: Option<Search>,
    /// The message of the room on screen to bring into view.
    pub found: Option<Found>,
    /// A guest's read markers as this browser kept them from an earlier
    /// visit: where each room's unread messages start once joined.
    pub kept_read: Vec<(String, u64)>,
    /// Whether desktop notifications are on.
    pub alerts: Alerts,
    /// The latest message to notify of, while they are on.
    pub alert: Option<Alert>,
    next_line_id: u64,
}

impl Default for ChatState {
    fn default() -> Self {
        ChatState {
            conn: ConnState::Offline,
            me: None,
            registered: false,
            joining: None,
            nick_error: None,
            server_version: None,
            limits: Limits::V1,
            rooms: BTreeMap::new(),
            active_room: DEFAULT_ROOM.to_owned(),
            switch_to: None,
            pending: Vec::new(),
            hidden: false,
            directory: None,
            uploads: Vec::new(),
            account: false,
            token: None,
            auth_mode: AuthMode::Guest,
            prompt_note: None,
            prefill: None,
            account_busy: false,
            account_error: None,
            search: None,
            found: None,
            kept_read: Vec::new(),
            alerts: Alerts::Unavailable,
            alert: None,
            next_line_id: 0,
        }
    }
}

/// Everything that changes the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A socket is opening. `attempt` counts failures since the last welcome.
    Connecting { attempt: u32 },
    /// The socket opened.
    Connected,
    /// The socket closed or never opened. The next attempt starts at
    /// `retry_at` (ms since the epoch); `None` means none will until someone
    /// picks a nickname.
    Disconnected { attempt: u32, retry_at: Option<i64> },
    /// A `hello` with this nickname is on its way.
    Joining(String),
    /// A nickname was refused before it was sent (the reason, for a person).
    NickRejected(String),
    /// A message from the server.
    Server(ServerMsg),
    /// The person sent a message; it waits for the socket.
    Queued(Pending),
    /// A queued message was handed to the socket.
    Transmitted(ClientMsgId),
    /// A message could not be handed to the socket.
    SendFailed { id: ClientMsgId, reason: String },
    /// A failed message goes back in the queue under a new id (the old one
    /// may have reached the server).
    Retry {
        id: ClientMsgId,
        new_id: ClientMsgId,
    },
    /// A failed message is given up.
    Dismiss(ClientMsgId),
    /// The person asked to join a room: switch to it once joined.
    JoinRequested(String),
    /// Show another room the client is in.
    SwitchRoom(String),
    /// The person wrote to `to` directly: show the conversation once the
    /// server has put us in it.
    DirectRequested { to: String },
    /// A page of older messages of `room` was asked for.
    OlderRequested(String),
    /// `nick` is typing in `room`, as the server said at `at` (ms since the
    /// epoch, the browser's clock).
    Typing { room: String, nick: String, at: i64 },
    /// Forget typing notifications that ran out by `now`.
    ExpireTyping(i64),
    /// The tab became visible (`true`) or hidden.
    PageVisible(bool),
    /// The person began sharing a file in `room`; `id` is this page's.
    UploadStarted {
        id: u64,
        room: String,
        name: String,
        size: u64,
    },
    /// `loaded` of `total` bytes of an upload's request are sent (the
    /// request is the file plus its multipart framing).
    UploadProgress { id: u64, loaded: u64, total: u64 },
    /// The server stored the file, at `at` (ms since the epoch).
    UploadDone { id: u64, at: i64 },
    /// The file was not stored, for this reason.
    UploadFailed { id: u64, reason: String },
    /// The person cancelled the upload, at `at`.
    UploadCancelled { id: u64, at: i64 },
    /// The person closed an upload's row.
    UploadDismissed(u64),
    /// Take away the rows of uploads that ended long enough before `now`.
    ExpireUploads(i64),
    /// Something to tell the person in the active room, such as a mistyped
    /// command.
    Notice(String),
    /// Like `Notice`, but not a problem: `/help`, a reconnect under way.
    Info(String),
    /// The nickname form switched to another way in.
    AuthMode(AuthMode),
    /// The person signed out, or left as a guest to sign in: the chat is
    /// forgotten and the nickname form shows in `mode`, saying `note`.
    SignedOut {
        mode: AuthMode,
        note: Option<String>,
    },
    /// The connection drops its socket on purpose, to open one that a new
    /// session cookie signs in: the rooms are joined again without a
    /// "connection lost".
    Redialing,
    /// Registering the guest nickname from the header is under way.
    AccountBusy,
    /// It failed, for this reason.
    AccountFailed(String),
    /// The person asked to leave `room`.
    LeaveRequested(String),
    /// The person closed a room they are no longer in.
    CloseRoom(String),
    /// The person is answering a message of `room` (`None`: no longer).
    Replying { room: String, to: Option<Quote> },
    /// The person asked for the topic of the room on screen (`/topic`).
    ShowTopic,
    /// The person has seen `room` up to `seq` (it is on screen, the tab
    /// visible): its read marker moves there.
    MarkRead { room: String, seq: u64 },
    /// A search was sent (`room`: `None` for every room).
    Search { q: String, room: Option<String> },
    /// The next page of the search was asked for.
    SearchMore,
    /// The search panel closed.
    CloseSearch,
    /// Show message `seq` of `room` in its place (a search result, a
    /// quoted message, a notification clicked).
    Jump { room: String, seq: u64 },
    /// Desktop notifications were turned on or off, or the browser said
    /// what it allows.
    Alerts(Alerts),
}

impl Reducible for ChatState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = Rc::unwrap_or_clone(self);
        state.apply(action);
        Rc::new(state)
    }
}

impl ChatState {
    /// The state at start-up, with the nickname remembered from an earlier
    /// visit (if any) already on its way.
    pub fn starting(remembered_nick: Option<String>, kept_read: Vec<(String, u64)>) -> Self {
        ChatState {
            joining: remembered_nick,
            kept_read,
            ..ChatState::default()
        }
    }

    /// The room the person is looking at and its newest `seq`, when that
    /// is past its read marker: time to move the marker (and, signed in,
    /// to tell the server).
    pub fn read_due(&self) -> Option<(String, u64)> {
        if self.hidden || !self.registered {
            return None;
        }
        let r = self.active()?;
        (r.joined && r.last_seq > r.read).then(|| (r.name.clone(), r.last_seq))
    }

    /// The message a jump waits for: its room and `seq`, once asked.
    pub fn awaiting(&self) -> Option<(String, u64)> {
        self.rooms
            .values()
            .find_map(|r| r.awaiting.map(|seq| (r.name.clone(), seq)))
    }

    /// A guest's read markers, to keep for the next visit.
    pub fn read_markers(&self) -> Vec<(String, u64)> {
        self.rooms
            .values()
            .filter(|r| r.read > 0)
            .map(|r| (r.name.clone(), r.read))
            .collect()
    }

    /// The room on screen, once it exists.
    pub fn active(&self) -> Option<&Room> {
        self.rooms.get(&self.active_room)
    }

    /// The person's role in `room` (a member's where nothing says more).
    pub fn my_role(&self, room: &str) -> Role {
        match (&self.me, self.rooms.get(room)) {
            (Some(me), Some(r)) => r.role_of(me),
            _ => Role::Member,
        }
    }

    /// Whether to ask for a nickname instead of showing the chat: before the
    /// first welcome, and when a nickname was refused while not registered
    /// (for example taken by someone else during a reconnect).
    /// The rooms and conversations the client is in on this connection.
    pub fn joined_rooms(&self) -> Vec<String> {
        self.rooms
            .values()
            .filter(|r| r.joined)
            .map(|r| r.name.clone())
            .collect()
    }

    pub fn needs_nick(&self) -> bool {
        !self.registered && (self.me.is_none() || self.nick_error.is_some())
    }

    /// Messages of `room` still awaiting their ack.
    pub fn pending_in<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a Pending> {
        self.pending.iter().filter(move |p| p.draft.room == room)
    }

    /// The connection as the person should see it: after a reconnect the
    /// socket is open before the server has welcomed us again, and until then
    /// nothing can be sent, so it still reads "reconnecting".
    pub fn shown_conn(&self) -> ConnState {
        match self.conn {
            ConnState::Connected if !self.registered && self.me.is_some() => {
                ConnState::Reconnecting {
                    attempt: 0,
                    retry_at: None,
                }
            }
            conn => conn,
        }
    }

    /// The uploads into `room`, oldest first.
    pub fn uploads_in<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a Upload> {
        self.uploads.iter().filter(move |u| u.room == room)
    }

    /// When the next finished upload's row runs out: the moment to dispatch
    /// [`Action::ExpireUploads`].
    pub fn next_upload_expiry(&self) -> Option<i64> {
        self.uploads.iter().filter_map(Upload::expires_at).min()
    }

    /// Unread messages in all rooms: the page title shows this.
    pub fn unread_total(&self) -> u32 {
        self.rooms.values().map(|r| r.unread).sum()
    }

    /// When the next typing notification runs out, if any is shown: the
    /// moment to dispatch [`Action::ExpireTyping`].
    pub fn next_typing_expiry(&self) -> Option<i64> {
        self.rooms
            .values()
            .flat_map(|r| r.typing.iter().map(|(_, until)| *until))
            .min()
    }

    /// The page title: `(3) Hubbub` with unread messages.
    pub fn title(&self) -> String {
        match self.unread_total() {
            0 => "Hubbub".to_owned(),
            n => format!("({n}) Hubbub"),
        }
    }

    /// Applies one action. `reduce` is this plus the `Rc` around it.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Connecting { attempt } => {
                self.conn = if attempt == 0 {
                    ConnState::Connecting
                } else {
                    ConnState::Reconnecting {
                        attempt,
                        retry_at: None,
                    }
                };
            }
            Action::Connected => {
                self.conn = ConnState::Connected;
                self.registered = false;
            }
            Action::Disconnected { attempt, retry_at } => self.disconnected(attempt, retry_at),
            Action::Joining(nick) => {
                self.joining = Some(nick);
                self.nick_error = None;
            }
            Action::NickRejected(reason) => {
                self.joining = None;
                self.prompt_note = None;
                self.nick_error = Some(reason);
            }
            Action::Server(msg) => self.server(msg),
            Action::Queued(pending) => self.pending.push(pending),
            Action::Transmitted(id) => {
                if let Some(p) = self.pending_mut(&id) {
                    p.delivery = Delivery::Sending;
                }
            }
            Action::SendFailed { id, reason } => {
                if let Some(p) = self.pending_mut(&id) {
                    p.delivery = Delivery::Failed(reason);
                }
            }
            Action::Retry { id, new_id } => {
                if let Some(at) = self.pending.iter().position(|p| p.id == id) {
                    let mut p = self.pending.remove(at);
                    p.id = new_id;
                    p.delivery = Delivery::Queued;
                    self.pending.push(p);
                }
            }
            Action::Dismiss(id) => self.pending.retain(|p| p.id != id),
            Action::JoinRequested(room) => {
                if self.rooms.get(&room).is_some_and(|r| r.joined) {
                    self.switch_room(room);
                } else {
                    self.switch_to = Some(room);
                }
            }
            Action::SwitchRoom(room) => self.switch_room(room),
            Action::DirectRequested { to } => {
                let Some(me) = self.me.clone() else {
                    return;
                };
                let room = direct_room(&me, &to);
                if self.rooms.get(&room).is_some_and(|r| r.joined) {
                    self.switch_room(room);
                } else {
                    self.switch_to = Some(room);
                }
            }
            Action::OlderRequested(room) => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.loading_older = true;
                }
            }
            Action::Typing { room, nick, at } => {
                if self.me.as_deref() == Some(nick.as_str()) {
                    return;
                }
                if let Some(r) = self.rooms.get_mut(&room) {
                    let until = at + TYPING_SHOWN_MS;
                    match r.typing.iter_mut().find(|(n, _)| *n == nick) {
                        Some(entry) => entry.1 = until,
                        None => r.typing.push((nick, until)),
                    }
                }
            }
            Action::ExpireTyping(now) => {
                for r in self.rooms.values_mut() {
                    if r.typing.iter().any(|(_, until)| *until <= now) {
                        r.typing.retain(|(_, until)| *until > now);
                    }
                }
            }
            Action::PageVisible(visible) => {
                self.hidden = !visible;
                if visible {
                    let active = self.active_room.clone();
                    if let Some(r) = self.rooms.get_mut(&active) {
                        r.unread = 0;
                        r.mentions = 0;
                    }
                }
            }
            Action::UploadStarted {
                id,
                room,
                name,
                size,
            } => self.uploads.push(Upload {
                id,
                room,
                name,
                size,
                sent: 0,
                status: UploadStatus::Uploading,
            }),
            Action::UploadProgress { id, loaded, total } => {
                if let Some(u) = self.uploading_mut(id)
                    && total > 0
                {
                    // The framing makes the request a little larger than
                    // the file: scale, so that the bar tracks the file.
                    let sent = loaded.min(total) as f64 / total as f64 * u.size as f64;
                    u.sent = u.sent.max(sent as u64);
                }
            }
            Action::UploadDone { id, at } => {
                if let Some(u) = self.uploading_mut(id) {
                    u.sent = u.size;
                    u.status = UploadStatus::Done { at };
                }
            }
            Action::UploadFailed { id, reason } => {
                if let Some(u) = self.uploading_mut(id) {
                    u.status = UploadStatus::Failed(reason);
                }
            }
            Action::UploadCancelled { id, at } => {
                if let Some(u) = self.uploading_mut(id) {
                    u.status = UploadStatus::Cancelled { at };
                }
            }
            Action::UploadDismissed(id) => self.uploads.retain(|u| u.id != id),
            Action::ExpireUploads(now) => self
                .uploads
                .retain(|u| u.expires_at().is_none_or(|until| until > now)),
            Action::Notice(text) => {
                let room = self.active_room.clone();
                self.notice(&room, text, Tone::Error);
            }
            Action::Info(text) => {
                let room = self.active_room.clone();
                self.notice(&room, text, Tone::Info);
            }
            Action::AuthMode(mode) => {
                self.auth_mode = mode;
                self.nick_error = None;
                self.prompt_note = None;
            }
            Action::SignedOut { mode, note } => self.signed_out(mode, note),
            Action::Redialing => {
                self.registered = false;
                self.drop_presence();
            }
            Action::AccountBusy => {
                self.account_busy = true;
                self.account_error = None;
            }
            Action::AccountFailed(reason) => {
                self.account_busy = false;
                self.account_error = Some(reason);
            }
            Action::LeaveRequested(room) => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.leaving = true;
                }
            }
            Action::CloseRoom(room) => {
                if self.rooms.get(&room).is_some_and(|r| !r.joined) {
                    self.forget_room(&room);
                }
            }
            Action::MarkRead { room, seq } => {
                let me = self.me.clone();
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.mark_read(seq, me.as_deref());
                }
            }
            Action::Search { q, room } => {
                self.search = Some(Search {
                    q,
                    room,
                    hits: Vec::new(),
                    next: None,
                    busy: true,
                });
            }
            Action::SearchMore => {
                if let Some(search) = &mut self.search {
                    search.busy = true;
                }
            }
            Action::CloseSearch => self.search = None,
            Action::Jump { room, seq } => self.jump(room, seq),
            Action::Alerts(alerts) => self.alerts = alerts,
            Action::Replying { room, to } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.replying = to;
                }
            }
            Action::ShowTopic => {
                let room = self.active_room.clone();
                let text = match self.rooms.get(&room).map(|r| r.settings.topic.as_str()) {
                    Some(topic) if !topic.is_empty() => format!("The topic of #{room}: {topic}"),
                    _ => format!("#{room} has no topic."),
                };
                self.notice(&room, text, Tone::Info);
            }
        }
    }

    /// Shows message `seq` of `room`: at once if it is loaded, else once
    /// the page around it (which `awaiting` asks for) arrives.
    fn jump(&mut self, room: String, seq: u64) {
        let nonce = self.found.map_or(0, |f| f.nonce.wrapping_add(1));
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let loaded = r.has_message(seq);
        r.awaiting = (!loaded).then_some(seq);
        self.search = None;
        self.switch_room(room);
        self.found = loaded.then_some(Found { seq, nonce });
    }

    /// The server's unread counts: they replace the page's.
    fn unread(&mut self, counts: Vec<UnreadCount>) {
        let me = self.me.clone();
        for count in counts {
            if let Some(r) = self.rooms.get_mut(&count.room) {
                r.set_counts(&count, me.as_deref());
            }
        }
    }

    /// Forgets everything of the chat but what outlives a sign-out: the
    /// page's line ids and whether it is visible.
    fn signed_out(&mut self, mode: AuthMode, note: Option<String>) {
        let prefill = self.me.take().or_else(|| self.joining.take());
        *self = ChatState {
            auth_mode: mode,
            prompt_note: note,
            prefill,
            hidden: self.hidden,
            kept_read: std::mem::take(&mut self.kept_read),
            alerts: self.alerts,
            next_line_id: self.next_line_id,
            ..ChatState::default()
        };
    }

    /// The rooms as a new connection finds them: nobody known to be present
    /// or typing, nothing loading, messages on the wire waiting to be sent
    /// again.
    fn drop_presence(&mut self) {
        self.token = None;
        for room in self.rooms.values_mut() {
            room.joined = false;
            room.members.clear();
            room.typing.clear();
            room.loading_older = false;
        }
        for pending in &mut self.pending {
            // Queued messages wait for the next connection. One on the wire
            // may or may not have reached the server: it is sent again with
            // the same id, and the server, which de-duplicates by id,
            // answers with the original ack if it had it.
            if pending.delivery == Delivery::Sending {
                pending.delivery = Delivery::Queued;
            }
        }
    }

    /// Takes a room off the page, showing another if it was on screen.
    fn forget_room(&mut self, room: &str) {
        if self.rooms.remove(room).is_some() && self.active_room == room {
            let next = self
                .rooms
                .iter()
                .find(|(_, r)| r.joined)
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| DEFAULT_ROOM.to_owned());
            self.active_room = next;
        }
        self.pending.retain(|p| p.draft.room != room);
    }

    /// An upload still under way: one that ended stays as it ended.
    fn uploading_mut(&mut self, id: u64) -> Option<&mut Upload> {
        self.uploads
            .iter_mut()
            .find(|u| u.id == id && u.status == UploadStatus::Uploading)
    }

    fn pending_mut(&mut self, id: &str) -> Option<&mut Pending> {
        self.pending.iter_mut().find(|p| p.id == id)
    }

    fn switch_room(&mut self, room: String) {
        if let Some(r) = self.rooms.get_mut(&room) {
            if !self.hidden {
                r.unread = 0;
                r.mentions = 0;
            }
            if self.active_room != room {
                self.found = None;
            }
            self.active_room = room;
        }
    }

    fn disconnected(&mut self, attempt: u32, retry_at: Option<i64>) {
        let was_registered = self.registered;
        self.registered = false;
        self.conn = match retry_at {
            Some(at) => ConnState::Reconnecting {
                attempt,
                retry_at: Some(at),
            },
            None => ConnState::Offline,
        };
        if retry_at.is_none() {
            self.joining = None;
        }
        self.drop_presence();
        if was_registered {
            let names: Vec<String> = self.rooms.keys().cloned().collect();
            for name in names {
                if let Some(r) = self.rooms.get_mut(&name) {
                    r.lost = true;
                }
                self.notice(&name, "Connection lost. Reconnecting…".into(), Tone::Error);
            }
        }
    }

    fn server(&mut self, msg: ServerMsg) {
        match msg {
            ServerMsg::Welcome {
                nick,
                server,
                limits,
                account,
                token,
                ..
            } => {
                let signed_in = account && !self.account;
                self.me = Some(nick.clone());
                self.registered = true;
                self.joining = None;
                self.nick_error = None;
                self.prompt_note = None;
                self.prefill = None;
                self.server_version = Some(server);
                self.limits = limits;
                self.account = account;
                self.token = token;
                self.account_busy = false;
                self.account_error = None;
                if signed_in {
                    let room = self.active_room.clone();
                    self.notice(&room, format!("Signed in as {nick}."), Tone::Info);
                }
            }
            ServerMsg::Registered { nick, token, .. } => {
                self.account = true;
                self.token = Some(token);
                self.account_busy = false;
                self.account_error = None;
                let room = self.active_room.clone();
                self.notice(
                    &room,
                    format!("{nick} is registered: you are signed in."),
                    Tone::Info,
                );
                self.me = Some(nick);
            }
            ServerMsg::Joined {
                room,
                members,
                head,
            } => {
                let me = self.me.clone();
                // A guest's unread messages start where this browser last
                // read, or, in a room new to it, after what is there now.
                let kept = (!self.account).then(|| marker(&self.kept_read, &room));
                let r = self.room_mut(&room);
                if let Some(kept) = kept {
                    let now = if r.last_seq == 0 { head } else { 0 };
                    r.read = r.read.max(kept.unwrap_or(now));
                }
                let rejoin = std::mem::take(&mut r.lost) && !r.lines.is_empty();
                r.joined = true;
                r.ejected = false;
                r.leaving = false;
                for member in &members {
                    r.learn_peer(member, me.as_deref());
                }
                r.members = members;
                r.live_from = r.lines.len();
                if rejoin {
                    self.notice(&room, "Reconnected.".into(), Tone::Info);
                }
                if self.switch_to.as_deref() == Some(room.as_str()) {
                    self.switch_to = None;
                    self.switch_room(room);
                }
            }
            ServerMsg::Left { room } => {
                let asked = self.rooms.get(&room).is_none_or(|r| r.leaving);
                if asked {
                    self.forget_room(&room);
                    let active = self.active_room.clone();
                    if self.rooms.contains_key(&active) {
                        self.notice(&active, format!("You left #{room}."), Tone::Info);
                    }
                    return;
                }
                // Not asked for: a moderator took us out. The room stays
                // on screen to say so (the `moderated` that says why may
                // come before or after this).
                self.pending.retain(|p| p.draft.room != room);
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.joined = false;
                    r.ejected = true;
                    r.members.clear();
                    r.typing.clear();
                    r.loading_older = false;
                }
                self.notice(&room, format!("You are no longer in #{room}."), Tone::Error);
            }
            ServerMsg::RoomState { room, settings } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.settings = Rc::new(settings);
                }
            }
            ServerMsg::Moderated { room, by, action } => self.moderated(&room, &by, &action),
            ServerMsg::ModLog {
                room,
                entries,
                has_older,
            } => {
                let text = modlog_text(&room, &entries, has_older);
                self.notice(&room, text, Tone::Info);
            }
            ServerMsg::Invite { code, expires } => {
                let room = self.active_room.clone();
                let text = format!(
                    "Invite code: {} (good for one registration, until {})",
                    code.expose(),
                    utc(expires)
                );
                self.notice(&room, text, Tone::Info);
            }
            ServerMsg::UserJoined { room, nick } => {
                // A repeated event (the server's or a reconnect's) is news
                // only once.
                if let Some(r) = self.rooms.get_mut(&room)
                    && !r.members.contains(&nick)
                {
                    r.members.push(nick.clone());
                    self.notice(&room, format!("{nick} joined."), Tone::Info);
                }
            }
            ServerMsg::UserLeft { room, nick } => {
                if let Some(r) = self.rooms.get_mut(&room) {
                    let before = r.members.len();
                    r.members.retain(|m| *m != nick);
                    r.typing.retain(|(n, _)| *n != nick);
                    if r.members.len() < before {
                        self.notice(&room, format!("{nick} left."), Tone::Info);
                    }
                }
            }
            ServerMsg::Members { room, members } => {
                // A snapshot after this client fell behind: what it missed
                // is not news to announce, only a list to correct.
                let me = self.me.clone();
                if let Some(r) = self.rooms.get_mut(&room) {
                    for member in &members {
                        r.learn_peer(member, me.as_deref());
                    }
                    r.typing.retain(|(n, _)| members.contains(n));
                    r.members = members;
                }
            }
            ServerMsg::NickChanged { old, new, rooms } => self.nick_changed(&old, &new, &rooms),
            ServerMsg::Message(msg) if msg.kind == MessageKind::Delete => {
                self.room_mut(&msg.room.clone()).delete(&msg);
            }
            ServerMsg::Message(msg) if is_change(msg.kind) => {
                if let Some(r) = self.rooms.get_mut(&msg.room) {
                    r.change(&msg);
                }
            }
            ServerMsg::Message(msg) => {
                let mine = self.me.as_deref() == Some(msg.nick.as_str());
                let room = msg.room.clone();
                let id = self.next_id();
                let unseen = self.hidden || room != self.active_room;
                let me = self.me.clone();
                let to_me = me.as_deref().is_some_and(|me| mentions_me(&msg.text, me));
                let direct = direct_members(&room).is_some();
                let alert = (self.alerts == Alerts::On && self.hidden && (to_me || direct))
                    .then(|| (msg.seq, alert_text(&msg, direct)));
                let r = self.room_mut(&room);
                // A message ends its author's typing.
                r.typing.retain(|(n, _)| *n != msg.nick);
                r.learn_peer(&msg.nick, me.as_deref());
                let after_marker = msg.seq > r.read;
                let readable = msg.kind.is_readable();
                if r.insert_chat(id, msg) && !mine && unseen && after_marker && readable {
                    r.unread += 1;
                    if to_me {
                        r.mentions += 1;
                    }
                    if let Some((seq, (title, body))) = alert {
                        let nonce = self.alert.as_ref().map_or(0, |a| a.nonce.wrapping_add(1));
                        self.alert = Some(Alert {
                            title,
                            body,
                            room,
                            seq,
                            nonce,
                        });
                    }
                }
            }
            ServerMsg::Ack { id, room, seq, ts } => {
                let Some(at) = self.pending.iter().position(|p| p.id == id) else {
                    return;
                };
                let pending = self.pending.remove(at);
                let draft = Rc::unwrap_or_clone(pending.draft);
                let confirmed = ChatMessage {
                    room: room.clone(),
                    seq,
                    ts,
                    nick: self.me.clone().unwrap_or(draft.nick),
                    text: draft.text,
                    kind: draft.kind,
                    attachment: None,
                    target: None,
                    deleted: false,
                    quote: draft.quote,
                    edited: None,
                    reactions: Vec::new(),
                    rev: 0,
                };
                let line_id = self.next_id();
                let r = self.room_mut(&room);
                // Slow mode counts the messages posted while it is on.
                if r.settings.slow > 0 {
                    r.posted_at = Some(r.posted_at.unwrap_or(draft.ts).max(draft.ts));
                }
                r.insert_chat(line_id, confirmed);
            }
            ServerMsg::History {
                room,
                messages,
                has_older,
            } => self.history(&room, messages, has_older),
            ServerMsg::Gap { room, from, to } => {
                if from <= to {
                    let id = self.next_id();
                    self.room_mut(&room).lines.push(Line {
                        id,
                        body: LineBody::Gap { from, to },
                    });
                }
            }
            // The connection turns typing into `Action::Typing`, with the time.
            ServerMsg::Typing { .. } => {}
            ServerMsg::Read { room, seq } => {
                let me = self.me.clone();
                if let Some(r) = self.rooms.get_mut(&room) {
                    r.mark_read(seq, me.as_deref());
                }
            }
            ServerMsg::Unread { rooms } => self.unread(rooms),
            ServerMsg::SearchResults { q, results, next } => {
                if let Some(search) = &mut self.search
                    && search.q == q
                    && search.busy
                {
                    search.hits.extend(results);
                    search.next = next;
                    search.busy = false;
                }
            }
            ServerMsg::Rooms { rooms } => self.directory = Some(rooms),
            ServerMsg::Error { code, message, id } => self.error(code, message, id),
        }
    }

    /// A moderator's action in `room`: a line in its timeline, and what it
    /// does to the person when they are its target. Topic, slow mode and
    /// roles change through the `room_state` that follows.
    fn moderated(&mut self, room: &str, by: &str, action: &Moderation) {
        if !self.rooms.contains_key(room) {
            return;
        }
        let me = self.me.clone().unwrap_or_default();
        let about_me = |target: &str| lowercase(target) == lowercase(&me);
        let mut tone = Tone::Info;
        match action {
            // The room sees a deletion as the message of kind `delete`.
            Moderation::Delete { .. } => return,
            // The `left` that comes with it keeps the room on screen.
            Moderation::Kick { target, .. } | Moderation::Ban { target, .. }
                if about_me(target) =>
            {
                tone = Tone::Error;
            }
            Moderation::Mute { target, until, .. } if about_me(target) => {
                tone = Tone::Error;
                if let Some(r) = self.rooms.get_mut(room) {
                    r.muted_until = Some(*until);
                }
            }
            Moderation::Unmute { target } if about_me(target) => {
                if let Some(r) = self.rooms.get_mut(room) {
                    r.muted_until = None;
                }
            }
            _ => {}
        }
        self.notice(room, action.describe(by), tone);
    }

    /// A page of messages: the latest after a join, the missed ones after a
    /// resume, or an older page. Sequence numbers place each message; ones
    /// already shown are not shown again.
    fn history(&mut self, room: &str, messages: Vec<ChatMessage>, has_older: bool) {
        let me = self.me.clone();
        let account = self.account;
        let on_screen = room == self.active_room;
        let unseen = self.hidden || !on_screen;
        let nonce = self.found.map_or(0, |f| f.nonce.wrapping_add(1));
        let first = messages.first().map(|m| m.seq);
        let last = messages.last().map(|m| m.seq);
        let mut ids: Vec<u64> = Vec::with_capacity(messages.len() + 1);
        for _ in 0..=messages.len() {
            ids.push(self.next_id());
        }
        let hole_id = ids.pop().unwrap_or_default();
        let r = self.room_mut(room);
        let oldest = r.oldest_seq();
        // Only a page that reaches above what is here says whether there
        // is more above; missed messages after a resume are below.
        let extends_top = match (oldest, first) {
            (None, _) => true,
            (Some(old), Some(new)) => new < old,
            (Some(_), None) => r.loading_older,
        };
        if extends_top {
            r.has_older = has_older;
        }
        r.loading_older = false;
        // The page around a message a jump waits for.
        let around = r.awaiting.filter(|seq| {
            first.is_some_and(|f| f <= *seq + 25) && last.is_some_and(|l| l + 25 >= *seq)
        });
        let seen_up_to = r.last_seq;
        // Signed in, the server counts what is unread (`unread`), history
        // included. A guest counts what is after its marker.
        for (id, msg) in ids.into_iter().zip(messages) {
            if msg.kind == MessageKind::Delete {
                r.delete(&msg);
                continue;
            }
            if is_change(msg.kind) {
                r.change(&msg);
                continue;
            }
            let news = !account && msg.seq > r.read && msg.kind.is_readable();
            let theirs = me.as_deref() != Some(msg.nick.as_str());
            let to_me = me.as_deref().is_some_and(|me| mentions_me(&msg.text, me));
            r.learn_peer(&msg.nick, me.as_deref());
            if r.insert_chat(id, msg) && news && theirs && unseen {
                r.unread += 1;
                if to_me {
                    r.mentions += 1;
                }
            }
        }
        if r.oldest_seq() == Some(1) {
            r.has_older = false;
        }
        // A page that ends below what was here (around a message far
        // above): what lies between is not loaded, and a gap says so.
        if let Some(last) = last.filter(|last| *last < seen_up_to) {
            r.mark_hole_after(last, hole_id);
        }
        let Some(seq) = around else {
            return;
        };
        r.awaiting = None;
        if r.has_message(seq) && on_screen {
            self.found = Some(Found { seq, nonce });
        }
    }

    fn nick_changed(&mut self, old: &str, new: &str, rooms: &[String]) {
        let mine = self.me.as_deref() == Some(old);
        if mine {
            self.me = Some(new.to_owned());
        }
        let text = if mine {
            format!("You are now known as {new}.")
        } else {
            format!("{old} is now known as {new}.")
        };
        for name in rooms {
            let Some(r) = self.rooms.get_mut(name) else {
                continue;
            };
            match r.members.iter_mut().find(|m| *m == old) {
                Some(member) => new.clone_into(member),
                None => r.members.push(new.to_owned()),
            }
            self.notice(name, text.clone(), Tone::Info);
        }
    }

    fn error(&mut self, code: ErrorCode, message: String, id: Option<ClientMsgId>) {
        if let Some(id) = id
            && let Some(p) = self.pending_mut(&id)
        {
            p.delivery = Delivery::Failed(message);
            let (room, sent_at) = (p.draft.room.clone(), p.draft.ts);
            // Slow mode refused it: the wait runs from about now, whatever
            // this page thought (another page may have posted).
            if code == ErrorCode::SlowMode
                && let Some(r) = self.rooms.get_mut(&room)
            {
                r.posted_at = Some(r.posted_at.unwrap_or(sent_at).max(sent_at));
            }
            return;
        }
        // The answer to the guest's `register`: shown where it was asked.
        if self.account_busy
            && matches!(
                code,
                ErrorCode::PasswordWeak
                    | ErrorCode::RegistrationClosed
                    | ErrorCode::NickRegistered
                    | ErrorCode::AlreadyRegistered
                    | ErrorCode::RateLimited
                    | ErrorCode::StoreFailed
                    | ErrorCode::Forbidden
                    | ErrorCode::Unknown
            )
        {
            self.account_busy = false;
            self.account_error = Some(message);
            return;
        }
        let refused_hello = matches!(
            code,
            ErrorCode::NickTaken
                | ErrorCode::NickInvalid
                | ErrorCode::NickRegistered
                | ErrorCode::AuthFailed
                | ErrorCode::GuestsNotAllowed
                | ErrorCode::RegistrationClosed
        );
        if refused_hello && !self.registered {
            self.joining = None;
            self.account = false;
            self.prompt_note = None;
            if matches!(
                code,
                ErrorCode::NickRegistered | ErrorCode::GuestsNotAllowed
            ) {
                self.auth_mode = AuthMode::SignIn;
            }
            self.nick_error = Some(if code == ErrorCode::NickRegistered {
                NICK_REGISTERED.to_owned()
            } else {
                message
            });
            return;
        }
        if let Some(search) = &mut self.search
            && search.busy
            && matches!(
                code,
                ErrorCode::TextEmpty | ErrorCode::TextTooLong | ErrorCode::NotInRoom
            )
        {
            search.busy = false;
        }
        if matches!(
            code,
            ErrorCode::RoomInvalid
                | ErrorCode::Banned
                | ErrorCode::GuestsNotAllowed
                | ErrorCode::Forbidden
        ) {
            // A join that was refused: nothing to switch to.
            self.switch_to = None;
        }
        let room = self.active_room.clone();
        self.notice(&room, message, Tone::Error);
    }

    fn notice(&mut self, room: &str, text: String, tone: Tone) {
        let id = self.next_id();
        self.room_mut(room).push_notice(id, text, tone);
    }

    fn room_mut(&mut self, name: &str) -> &mut Room {
        self.rooms
            .entry(name.to_owned())
            .or_insert_with(|| Room::new(name))
    }

    fn next_id(&mut self) -> u64 {
        self.next_line_id += 1;
        self.next_line_id
    }
}

/// A change to another message (an edit, a reaction or taking one back),
/// rather than a line of its own.
/// A notification's title and text: who, and where unless it is a
/// conversation with them.
fn alert_text(msg: &ChatMessage, direct: bool) -> (String, String) {
    let title = if direct {
        msg.nick.clone()
    } else {
        format!("{} in #{}", msg.nick, msg.room)
    };
    let body = match (&msg.attachment, msg.kind) {
        (Some(_), _) => format!("shared {}", msg.text),
        (None, MessageKind::Action) => format!("* {} {}", msg.nick, msg.text),
        (None, _) => msg.text.clone(),
    };
    (title, body)
}

fn is_change(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::Edit | MessageKind::React | MessageKind::Unreact
    )
}

/// A page of a room's moderation log as one notice, newest first.
fn modlog_text(room: &str, entries: &[ModLogEntry], has_older: bool) -> String {
    if entries.is_empty() {
        return format!("No moderation in #{room} yet.");
    }
    let mut text = format!("Moderation log of #{room}, newest first:");
    for entry in entries {
        text.push_str(&format!(
            "\n{} — {}",
            utc(entry.ts),
            entry.action.describe(&entry.by)
        ));
    }
    if has_older {
        text.push_str("\n… and older entries.");
    }
    text
}

#[cfg(test)]
mod tests;
