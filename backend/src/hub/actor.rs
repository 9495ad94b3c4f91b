//! The hub task and the state only it owns.
//!
//! Every handler runs to completion without awaiting: the hub never waits on a
//! connection or on a store. Events reach connections through `try_push`,
//! and a connection whose queue is full is closed as too slow instead of
//! holding up everyone. A chat message or a moderation action is handed to a
//! store and the hub goes on; [`super::commit`] makes it take effect once it
//! is kept.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shared::validate::{self, nick_key};
use shared::{
    ClientMsgId, DEFAULT_ROOM, ErrorCode, Limits, Role, RoomInfo, RoomSettings, Secret, ServerMsg,
    direct_members, direct_room, utc,
};
use tokio::sync::{mpsc, oneshot};

use super::commit::{Commits, Draft, Target};
use super::fanout::Fanout;
use super::moderation::{Moderation, Who};
use super::nicks::{Holder, Nicks};
use super::rooms::Rooms;
use super::{Auth, Caller, ClientId, Command, Peer, RoomSet, ShareRefusal, check_share};
use crate::accounts::{GuestTokens, NewSession, Policy, SignedIn, now_ms};
use crate::incident::Incident;
use crate::outbox::{CloseReason, Outbox, Outgoing, Pushed};
use crate::store::{AccountId, SanctionKind, SecretHash, Snapshot};

/// A user's typing notices in one room are passed on at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(3);

pub(super) async fn run(
    mut commands: mpsc::Receiver<Command>,
    clients: Arc<AtomicUsize>,
    mut state: State,
) {
    loop {
        tokio::select! {
            // Commits first: they free room for more and deliver what waits.
            biased;
            Some((pending, outcome)) = state.commits.next(), if !state.commits.is_empty() => {
                state.committed(pending, outcome);
            }
            command = commands.recv() => {
                let Some(command) = command else { break };
                state.handle(command);
            }
        }
        state.sweep();
        clients.store(state.clients.len(), Ordering::Relaxed);
    }
    // Every door is gone; answer what is still on its way to the disk.
    while let Some((pending, outcome)) = state.commits.next().await {
        state.committed(pending, outcome);
    }
    tracing::debug!("hub stopped: no connections and no doors left");
}

struct Client {
    outbox: Outbox,
    /// `None` until the client has said hello.
    nick: Option<String>,
    rooms: RoomSet,
    /// When this client's last typing notice per room was passed on (the
    /// recent ones only: a few, and none for most clients).
    typing: Vec<(String, Instant)>,
    /// Its messages handed to the store and not answered yet.
    in_flight: usize,
    /// Since when it has been behind the live messages, if it is.
    behind_since: Option<Instant>,
    /// Where it connects from: a guest is banned by address.
    ip: IpAddr,
    /// The account and session it is signed in with (`None`: a guest, or
    /// no hello yet), or the sign-in its handshake presented until the
    /// `hello` uses it. Boxed: a guest has none of it (its token is checked
    /// by its MAC), and every connection carries the place.
    signing: Option<Box<Signing>>,
    /// Its nickname is being registered: it keeps it until that is done.
    registering: bool,
}

enum Signing {
    /// The account of the session the handshake's cookie presented.
    Presented(SignedIn),
    /// The account the client is signed in to, and its session's hash.
    Session {
        account: AccountId,
        session: SecretHash,
    },
}

impl Client {
    fn take_presented(&mut self) -> Option<SignedIn> {
        match self.signing.take().map(|signing| *signing) {
            Some(Signing::Presented(signed_in)) => Some(signed_in),
            other => {
                self.signing = other.map(Box::new);
                None
            }
        }
    }

    fn session(&self) -> Option<&SecretHash> {
        match self.signing.as_deref() {
            Some(Signing::Session { session, .. }) => Some(session),
            _ => None,
        }
    }

    /// The account it is signed in to; `None`: a guest (or no hello yet).
    fn account(&self) -> Option<AccountId> {
        match self.signing.as_deref() {
            Some(Signing::Session { account, .. }) => Some(*account),
            _ => None,
        }
    }
}

pub(super) struct State {
    /// Boxed: a table keeps room for more entries than it holds, and a
    /// `Client` is over a hundred bytes; the fan-out never looks here (rooms
    /// hold their members' outboxes).
    clients: HashMap<ClientId, Box<Client>>,
    pub(super) nicks: Nicks,
    /// Clients that left with messages still on their way to the store:
    /// their queue stays open until each is answered, so that a connection
    /// closing right after sending still writes its acks before it goes.
    leaving: HashMap<ClientId, Leaving>,
    /// The rooms of this node, their members and heads.
    pub(super) rooms: Rooms,
    /// Writes on their way through the stores.
    pub(super) commits: Commits,
    /// Where committed messages go.
    pub(super) fanout: Box<dyn Fanout>,
    /// Roles, room settings, bans and mutes.
    pub(super) moderation: Moderation,
    pub(super) policy: Arc<Policy>,
    /// Each account online, with its connections.
    online: HashMap<AccountId, Vec<ClientId>>,
    /// Guests by the hash of their token, for the HTTP API.
    /// Makes and checks guests' tokens (`None`: no randomness for its key,
    /// and guests get none).
    guest_tokens: Option<GuestTokens>,
    /// When each user (nickname key) last posted in each room, while the
    /// room is in slow mode.
    last_posts: HashMap<(String, String), Instant>,
    /// How long a reader may stay behind before it is closed as slow.
    max_lag: Duration,
    /// How long after sending a message its author may edit it.
    pub(super) edit_window: Duration,
}

/// What the hub starts from.
pub(super) struct Setup {
    pub commits: Commits,
    pub fanout: Box<dyn Fanout>,
    pub heads: HashMap<String, u64>,
    pub max_lag: Duration,
    pub edit_window: Duration,
    pub snapshot: Snapshot,
    pub policy: Arc<Policy>,
}

impl State {
    pub(super) fn new(setup: Setup) -> Self {
        let Setup {
            commits,
            fanout,
            heads,
            max_lag,
            edit_window,
            snapshot,
            policy,
        } = setup;
        Self {
            clients: HashMap::new(),
            nicks: Nicks::load(&snapshot.accounts),
            leaving: HashMap::new(),
            rooms: Rooms::new(heads),
            commits,
            fanout,
            moderation: Moderation::load(&snapshot),
            policy,
            online: HashMap::new(),
            guest_tokens: guest_tokens(),
            last_posts: HashMap::new(),
            max_lag,
            edit_window,
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Connect { id, outbox, peer } => {
                let Peer { ip, presented } = *peer;
                let client = Client {
                    outbox,
                    nick: None,
                    rooms: RoomSet::default(),
                    typing: Vec::new(),
                    in_flight: 0,
                    behind_since: None,
                    ip,
                    signing: presented.map(|p| Box::new(Signing::Presented(p))),
                    registering: false,
                };
                self.clients.insert(id, Box::new(client));
            }
            Command::Request { id, request } => self.request(id, request),
            Command::Share { share, reply } => self.share(share, reply),
            Command::Disconnect { id } => self.remove(id),
            Command::CatchUp {
                id,
                positions,
                reply,
            } => {
                let _ = reply.send(self.resume_live(id, &positions));
            }
            Command::Register {
                nick,
                registration,
                guest,
                reply,
            } => self.register_for_http(nick, registration, guest.as_ref(), reply),
            Command::SignedOut { account, session } => {
                self.close_sessions(account, session.as_ref());
            }
            Command::MayRead {
                caller,
                ip,
                room,
                reply,
            } => {
                let _ = reply.send(self.may_read(&caller, ip, &room));
            }
            Command::MayShare {
                caller,
                ip,
                room,
                reply,
            } => {
                let _ = reply.send(self.check_uploader(&caller, ip, &room).map(|_| ()));
            }
        }
    }

    /// Puts a reader that was behind back on live room events if it has
    /// read, from the store, up to the head of each of its rooms; says
    /// whether it did. The hub answers between commits, so no message can
    /// fall between what the reader read and what it is sent from now on.
    fn resume_live(&mut self, id: ClientId, positions: &HashMap<String, u64>) -> bool {
        let Some(client) = self.clients.get_mut(&id) else {
            return false;
        };
        let level = client
            .rooms
            .iter()
            .all(|room| self.rooms.head(room) <= positions.get(room).copied().unwrap_or(0));
        if !level {
            self.rooms.behind.push(id);
            return false;
        }
        client.outbox.set_live();
        client.behind_since = None;
        // Arrivals, departures, renames and changes of a room's topic or
        // slow mode were not queued for it while it was behind, and the
        // store does not keep them: its online lists and room states are put
        // right instead.
        let rooms: Vec<String> = client.rooms.iter().cloned().collect();
        for room in rooms {
            let members = self.members_of(&room);
            let settings = self.room_settings(&room);
            self.tell(
                id,
                ServerMsg::Members {
                    room: room.clone(),
                    members,
                },
            );
            self.tell(id, ServerMsg::RoomState { room, settings });
        }
        true
    }

    fn request(&mut self, id: ClientId, request: super::Request) {
        use super::Request;
        if !self.clients.contains_key(&id) {
            return; // Already removed (found slow or gone).
        }
        let result = match request {
            Request::Hello { nick, resume, auth } => self.hello(id, &nick, &resume, auth),
            Request::HelloGuest => {
                let nick = self.nicks.free_guest();
                self.hello(id, &nick, &BTreeMap::new(), Auth::Guest)
            }
            Request::Register { .. } => Err(Refusal::new(
                ErrorCode::AuthFailed,
                "registration was not prepared by the server",
            )),
            Request::Enroll(registration) => self.register_connection(id, registration),
            Request::SignOut { everywhere } => self.sign_out(id, everywhere),
            Request::Nick { nick } => self.rename(id, &nick),
            Request::Join { room } => self.join_named(id, &room),
            Request::Leave { room } => self.leave(id, &room),
            Request::Send {
                id: msg_id,
                room,
                text,
                kind,
                reply_to,
            } => {
                let target = self.room_to_post(id, msg_id.as_ref(), &room);
                let draft = Draft {
                    msg_id,
                    text,
                    kind,
                    reply_to,
                };
                target.and_then(|target| self.submit(id, target, draft))
            }
            Request::Direct {
                id: msg_id,
                to,
                text,
                kind,
                reply_to,
            } => {
                let target = self.conversation_with(id, msg_id.as_ref(), &to);
                let draft = Draft {
                    msg_id,
                    text,
                    kind,
                    reply_to,
                };
                target.and_then(|target| self.submit(id, target, draft))
            }
            Request::Edit {
                id: msg_id,
                room,
                seq,
                text,
            } => self.edit(id, msg_id, &room, seq, text),
            Request::React {
                room,
                seq,
                emoji,
                remove,
            } => self.react(id, &room, seq, &emoji, remove),
            Request::Read { room, seq } => self.mark_read(id, &room, seq),
            Request::Unread => self.unread(id),
            Request::Search { q, room, before } => self.search(id, &q, room.as_deref(), before),
            Request::Typing { room } => self.typing(id, &room),
            Request::Rooms => {
                self.list_rooms(id);
                Ok(())
            }
            Request::Moderate { room, action } => self.moderate(id, &room, action),
            Request::Delete { room, seq } => self.delete(id, &room, seq),
            Request::ModLog {
                room,
                before,
                limit,
            } => self.mod_log(id, &room, before, limit),
            Request::Invite => self.invite(id),
        };
        if let Err(error) = result {
            self.tell(
                id,
                ServerMsg::Error {
                    code: error.code,
                    message: error.message,
                    id: error.msg_id,
                },
            );
        }
    }

    fn hello(
        &mut self,
        id: ClientId,
        wanted: &str,
        resume: &BTreeMap<String, u64>,
        auth: Auth,
    ) -> Result<(), Refusal> {
        if self.nick_of(id).is_some() {
            return Err(Refusal::new(
                ErrorCode::AlreadyRegistered,
                "you already have a nickname; use `nick` to change it",
            ));
        }
        let signed_in = match auth {
            Auth::SignedIn(signed_in, session) => Some((signed_in, session)),
            Auth::Unchecked(_) => {
                return Err(Refusal::new(
                    ErrorCode::AuthFailed,
                    "those credentials were not checked by the server",
                ));
            }
            Auth::Guest => self
                .clients
                .get_mut(&id)
                .and_then(|client| client.take_presented())
                .map(|signed_in| (signed_in, None)),
        };
        let (nick, welcome) = match signed_in {
            Some((signed_in, session)) => self.sign_in(id, signed_in, session)?,
            None => self.as_guest(id, wanted)?,
        };
        self.tell(id, welcome);
        if resume.is_empty() {
            return self.join_named(id, DEFAULT_ROOM);
        }
        // Rejoin every room the client was in. A room it may not enter (a
        // conversation of others, a bad name, a ban) is refused on its own;
        // the client's other rooms are not held up by it.
        for room in resume.keys() {
            let joined = match direct_members(room) {
                Some(_) => self.join_direct(id, room, &nick),
                None => self.join_named(id, room),
            };
            if let Err(error) = joined {
                self.tell(id, ServerMsg::error(error.code, error.message));
            }
        }
        Ok(())
    }

    /// Signs a connection in to an account checked by the driver (or its
    /// handshake's session); returns its nickname and welcome.
    fn sign_in(
        &mut self,
        id: ClientId,
        signed_in: SignedIn,
        session: Option<NewSession>,
    ) -> Result<(String, ServerMsg), Refusal> {
        let nick = self
            .nicks
            .hold(signed_in.account)
            .unwrap_or_else(|| signed_in.nick.clone());
        let Some(client) = self.clients.get_mut(&id) else {
            return Err(Refusal::new(
                ErrorCode::NotRegistered,
                "the connection is gone",
            ));
        };
        client.nick = Some(nick.clone());
        client.signing = Some(Box::new(Signing::Session {
            account: signed_in.account,
            session: signed_in.session,
        }));
        self.online.entry(signed_in.account).or_default().push(id);
        let (token, expires) = session.map_or((None, None), |s| (Some(s.token), Some(s.expires)));
        let welcome = ServerMsg::Welcome {
            nick: nick.clone(),
            server: env!("CARGO_PKG_VERSION").to_owned(),
            limits: Limits::V1,
            account: true,
            token,
            expires,
        };
        Ok((nick, welcome))
    }

    /// Lets a guest in under `wanted`, with a token for the HTTP API that
    /// lasts as long as the connection.
    fn as_guest(&mut self, id: ClientId, wanted: &str) -> Result<(String, ServerMsg), Refusal> {
        if !self.policy.guests {
            return Err(Refusal::new(
                ErrorCode::GuestsNotAllowed,
                "this server admits signed-in users only: sign in or register",
            ));
        }
        let nick = self.nicks.claim(id, wanted)?;
        // Nothing is kept of it: the hub checks one by its MAC.
        let token = self.guest_tokens.as_ref().map(|tokens| tokens.issue(id.0));
        if let Some(client) = self.clients.get_mut(&id) {
            client.nick = Some(nick.clone());
            client.signing = None;
        }
        let welcome = ServerMsg::Welcome {
            nick: nick.clone(),
            server: env!("CARGO_PKG_VERSION").to_owned(),
            limits: Limits::V1,
            account: false,
            token,
            expires: None,
        };
        Ok((nick, welcome))
    }

    fn rename(&mut self, id: ClientId, wanted: &str) -> Result<(), Refusal> {
        let old = self.registered(id, None)?;
        if let Some(client) = self.clients.get(&id) {
            if client.account().is_some() {
                return Err(Refusal::new(
                    ErrorCode::Forbidden,
                    "a signed-in user keeps the account's nickname; sign out to chat as a guest",
                ));
            }
            if client.registering {
                return Err(Refusal::new(
                    ErrorCode::Forbidden,
                    "your nickname is being registered; try again in a moment",
                ));
            }
        }
        let new = self.nicks.rename(id, &old, wanted)?;
        if new == old {
            return Ok(());
        }
        let Some(client) = self.clients.get_mut(&id) else {
            return Ok(());
        };
        client.nick = Some(new.clone());
        let rooms: Vec<String> = client.rooms.iter().cloned().collect();

        // Everyone who shares a room with the renamed user hears it once,
        // and so does the user, as confirmation.
        let mut audience: HashSet<ClientId> = HashSet::from([id]);
        for room in &rooms {
            if let Some(room) = self.rooms.get(room) {
                audience.extend(room.member_ids());
            }
        }
        let event = Outgoing::new(ServerMsg::NickChanged { old, new, rooms });
        for member in audience {
            self.push(member, &event);
        }
        Ok(())
    }

    /// Joins a room by the name the client gave.
    pub(super) fn join_named(&mut self, id: ClientId, room_name: &str) -> Result<(), Refusal> {
        self.registered(id, None)?;
        let name = validate::normalize_room(room_name)
            .map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e.to_string()))?;
        self.admit(id, &name)?;
        self.enter(id, name);
        Ok(())
    }

    /// Whether the client may enter the named room: not banned, and signed
    /// in if the room admits no guests.
    fn admit(&self, id: ClientId, room: &str) -> Result<(), Refusal> {
        let Some(client) = self.clients.get(&id) else {
            return Ok(());
        };
        if client.account().is_none() && !self.policy.admits_guest(room) {
            return Err(Refusal::new(
                ErrorCode::GuestsNotAllowed,
                format!("{room} admits signed-in users only: sign in or register"),
            ));
        }
        if self.is_operator(id) {
            return Ok(());
        }
        if let Some(until) = self
            .moderation
            .under(room, SanctionKind::Ban, self.who(id), now_ms())
        {
            return Err(Refusal::new(
                ErrorCode::Banned,
                format!("you are banned from {room}{}", until_text(until)),
            ));
        }
        Ok(())
    }

    /// Rejoins a conversation, which only its two users may do.
    fn join_direct(&mut self, id: ClientId, room: &str, nick: &str) -> Result<(), Refusal> {
        let me = nick.to_lowercase();
        match direct_members(room) {
            Some((a, b)) if a == me || b == me => {
                self.enter(id, room.to_owned());
                Ok(())
            }
            _ => Err(Refusal::new(
                ErrorCode::RoomInvalid,
                format!("{room} is a conversation of other people"),
            )),
        }
    }

    /// Puts a registered client in a room (if it is not there yet, telling
    /// the others, unless the same account is there already) and sends it
    /// the room's online list, head and settings.
    fn enter(&mut self, id: ClientId, name: String) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let Some(nick) = client.nick.clone() else {
            return;
        };
        let account = client.account();
        let outbox = client.outbox.clone();
        if client.rooms.insert(name.clone()) {
            if !self.present_elsewhere(id, account, &name) {
                let event = Outgoing::new(ServerMsg::UserJoined {
                    room: name.clone(),
                    nick: nick.clone(),
                });
                self.rooms.broadcast(&name, &event, None);
            }
            self.rooms.add(&name, id, outbox);
        }
        if let Some(account) = account {
            self.claim_new_room(id, account, &nick, &name);
        }
        let members = self.members_of(&name);
        let head = self.rooms.head(&name);
        self.tell(
            id,
            ServerMsg::Joined {
                room: name.clone(),
                members,
                head,
            },
        );
        // A room with nothing set says nothing more: a client starts every
        // room it joins with no topic, no slow mode and no roles.
        let settings = self.room_settings(&name);
        if settings != RoomSettings::default() {
            self.tell(
                id,
                ServerMsg::RoomState {
                    room: name,
                    settings,
                },
            );
        }
    }

    /// Whether another connection of `account` is in `room` (then the room
    /// sees no arrival or departure when this one comes or goes).
    fn present_elsewhere(&self, id: ClientId, account: Option<AccountId>, room: &str) -> bool {
        let Some(account) = account else {
            return false;
        };
        self.online.get(&account).is_some_and(|connections| {
            connections.iter().any(|other| {
                *other != id
                    && self
                        .clients
                        .get(other)
                        .is_some_and(|client| client.rooms.contains(room))
            })
        })
    }

    /// The first signed-in user to enter a new room (no messages, no roles)
    /// owns it. Not the lobby, whose owners are the operators, nor a
    /// conversation.
    fn claim_new_room(&mut self, id: ClientId, account: AccountId, nick: &str, room: &str) {
        if room == DEFAULT_ROOM
            || direct_members(room).is_some()
            || self.rooms.head(room) > 0
            || self.moderation.has_roles(room)
        {
            return;
        }
        self.own(id, account, nick, room);
    }

    fn leave(&mut self, id: ClientId, room_name: &str) -> Result<(), Refusal> {
        self.registered(id, None)?;
        let name = room_key(room_name).map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e))?;
        if !self.take_out(id, &name) {
            return Err(Refusal::new(
                ErrorCode::NotInRoom,
                format!("you are not in {name}"),
            ));
        }
        Ok(())
    }

    /// Takes a client out of a room, telling it and (unless the same account
    /// is still there) the others; false if it was not in it.
    pub(super) fn take_out(&mut self, id: ClientId, room: &str) -> bool {
        let Some(client) = self.clients.get_mut(&id) else {
            return false;
        };
        if !client.rooms.remove(room) {
            return false;
        }
        let nick = client.nick.clone().unwrap_or_default();
        self.tell(
            id,
            ServerMsg::Left {
                room: room.to_owned(),
            },
        );
        self.remove_from_room(id, room, nick);
        true
    }

    /// Where a client's message to a room goes: the room, if the client is
    /// in it, is not muted there, and is not held back by slow mode.
    fn room_to_post(
        &mut self,
        id: ClientId,
        msg_id: Option<&ClientMsgId>,
        room_name: &str,
    ) -> Result<Target, Refusal> {
        let target = self.member_of(id, msg_id, room_name, "before you post there")?;
        if direct_members(&target.room).is_none() {
            self.may_post(id, &target.nick, &target.room)
                .map_err(|e| Refusal::about(msg_id, e.code, e.message))?;
        }
        Ok(target)
    }

    /// The room `room_name` names and the client's nickname, if the client
    /// is registered and in that room; else the refusal, which tells it to
    /// join the room `what` (the rest of the sentence).
    pub(super) fn member_of(
        &self,
        id: ClientId,
        msg_id: Option<&ClientMsgId>,
        room_name: &str,
        what: &str,
    ) -> Result<Target, Refusal> {
        let nick = self.registered(id, msg_id)?;
        let refuse = |code, message: String| Refusal::about(msg_id, code, message);
        let room = room_key(room_name).map_err(|e| refuse(ErrorCode::RoomInvalid, e))?;
        if !self.is_in(id, &room) {
            return Err(refuse(ErrorCode::NotInRoom, format!("join {room} {what}")));
        }
        Ok(Target { room, nick })
    }

    /// Whether a client may post in a named room now: not muted, and not
    /// too soon after its last message in slow mode (moderators are never
    /// slowed). Notes the post for slow mode.
    fn may_post(&mut self, id: ClientId, nick: &str, room: &str) -> Result<(), Refusal> {
        let role = self.role_of(id, room);
        if role.moderates() {
            return Ok(());
        }
        self.not_muted(id, room)?;
        let slow = self.moderation.slow(room);
        if slow == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let key = (room.to_owned(), nick_key(nick));
        let every = Duration::from_secs(u64::from(slow));
        if let Some(last) = self.last_posts.get(&key) {
            let since = now.duration_since(*last);
            if since < every {
                let wait = (every - since).as_secs().max(1);
                return Err(Refusal::new(
                    ErrorCode::SlowMode,
                    format!("slow mode in {room}: one message every {slow} s; wait {wait} s"),
                ));
            }
        }
        self.last_posts.insert(key, now);
        if self.last_posts.len() > 10_000 {
            self.last_posts
                .retain(|_, last| now.duration_since(*last) < Duration::from_secs(3_600));
        }
        Ok(())
    }

    /// Where a direct message to `to` goes: their conversation, which both
    /// users enter (every connection of each) from its first message on.
    fn conversation_with(
        &mut self,
        id: ClientId,
        msg_id: Option<&ClientMsgId>,
        to: &str,
    ) -> Result<Target, Refusal> {
        let nick = self.registered(id, msg_id)?;
        let refuse = |code, message: String| Refusal::about(msg_id, code, message);
        let nobody = || {
            refuse(
                ErrorCode::NoSuchUser,
                format!("nobody called {to} is online"),
            )
        };
        let holder = self.nicks.holder(to).ok_or_else(nobody)?;
        let mine = self.holder_of(id);
        if Some(holder) == mine {
            return Err(nobody());
        }
        let peers = self.connections_of(holder);
        let peer_nick = peers
            .first()
            .and_then(|peer| self.nick_of(*peer).cloned())
            .ok_or_else(nobody)?;
        let room = direct_room(&nick, &peer_nick);
        let mut members = mine.map_or_else(|| vec![id], |mine| self.connections_of(mine));
        members.extend(peers);
        for member in members {
            let present = self
                .clients
                .get(&member)
                .is_some_and(|client| client.rooms.contains(&room));
            if !present {
                self.enter(member, room.clone());
            }
        }
        Ok(Target { room, nick })
    }

    /// Counts a message of `sender`'s handed to the store.
    pub(super) fn note_in_flight(&mut self, sender: ClientId) {
        if let Some(client) = self.clients.get_mut(&sender) {
            client.in_flight += 1;
        }
    }

    /// Answers one of `sender`'s messages, whether it is still here or left
    /// while the message was on its way; the last answer to a client that
    /// left closes its queue.
    pub(super) fn answer(&mut self, sender: ClientId, answer: Option<ServerMsg>) {
        if let Some(client) = self.clients.get_mut(&sender) {
            client.in_flight = client.in_flight.saturating_sub(1);
            if let Some(answer) = answer {
                self.tell(sender, answer);
            }
            return;
        }
        let Some(leaving) = self.leaving.get_mut(&sender) else {
            return;
        };
        if let Some(answer) = answer {
            let _ = leaving.outbox.try_push(Outgoing::new(answer));
        }
        leaving.in_flight = leaving.in_flight.saturating_sub(1);
        if leaving.in_flight == 0 {
            self.leaving.remove(&sender);
        }
    }

    fn typing(&mut self, id: ClientId, room_name: &str) -> Result<(), Refusal> {
        let nick = self.registered(id, None)?;
        let Some(client) = self.clients.get_mut(&id) else {
            return Ok(());
        };
        if !client.rooms.contains(room_name) {
            return Err(Refusal::new(
                ErrorCode::NotInRoom,
                format!("you are not in {room_name}"),
            ));
        }
        let now = Instant::now();
        client
            .typing
            .retain(|(_, last)| now.duration_since(*last) < TYPING_EVERY);
        if client.typing.iter().any(|(room, _)| room == room_name) {
            return Ok(());
        }
        client.typing.push((room_name.to_owned(), now));
        let event = Outgoing::new(ServerMsg::Typing {
            room: room_name.to_owned(),
            nick,
        });
        self.rooms.broadcast(room_name, &event, Some(id));
        Ok(())
    }

    fn list_rooms(&mut self, id: ClientId) {
        let mut rooms: Vec<RoomInfo> = self
            .rooms
            .iter()
            .filter(|(name, _)| direct_members(name).is_none())
            .map(|(name, _)| RoomInfo {
                room: name.clone(),
                // People, not connections: an account on three devices is
                // one member.
                members: u32::try_from(self.members_of(name).len()).unwrap_or(u32::MAX),
            })
            .collect();
        rooms.sort_by(|a, b| a.room.cmp(&b.room));
        self.tell(id, ServerMsg::Rooms { rooms });
    }

    /// Removes a connection: frees its nickname (an account's, once its
    /// last connection goes) and leaves its rooms, telling the people there.
    fn remove(&mut self, id: ClientId) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        if client.in_flight > 0 {
            self.leaving.insert(
                id,
                Leaving {
                    outbox: client.outbox.clone(),
                    in_flight: client.in_flight,
                },
            );
        }
        let account = client.account();
        let Some(nick) = client.nick else {
            return;
        };
        match account {
            Some(account) => {
                let last = match self.online.get_mut(&account) {
                    Some(connections) => {
                        connections.retain(|c| *c != id);
                        connections.is_empty()
                    }
                    None => true,
                };
                if last {
                    self.online.remove(&account);
                    self.nicks.release(Holder::Account(account), &nick);
                }
            }
            None => self.nicks.release(Holder::Guest(id), &nick),
        }
        for room in &client.rooms {
            self.remove_departed(id, account, room, nick.clone());
        }
    }

    fn remove_from_room(&mut self, id: ClientId, name: &str, nick: String) {
        let account = self.account_of(id);
        self.remove_departed(id, account, name, nick);
    }

    /// Takes a connection out of a room's members and tells the others it
    /// left, unless the same account is still there.
    fn remove_departed(
        &mut self,
        id: ClientId,
        account: Option<AccountId>,
        name: &str,
        nick: String,
    ) {
        if !self.rooms.remove(name, id) || self.present_elsewhere(id, account, name) {
            return;
        }
        let event = Outgoing::new(ServerMsg::UserLeft {
            room: name.to_owned(),
            nick,
        });
        self.rooms.broadcast(name, &event, None);
    }

    /// Deals with what the last command found: readers that fell behind
    /// (closed as slow once behind for too long) and connections gone.
    /// Removing one tells its rooms, which can find more: repeat until done.
    fn sweep(&mut self) {
        let now = Instant::now();
        for id in std::mem::take(&mut self.rooms.behind) {
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            let since = *client.behind_since.get_or_insert(now);
            if now.duration_since(since) > self.max_lag {
                metrics::counter!(crate::metrics::SLOW_DISCONNECTS).increment(1);
                client.outbox.closer().close(CloseReason::Slow);
                self.rooms.gone.push(id);
            }
        }
        while let Some(id) = self.rooms.gone.pop() {
            self.remove(id);
        }
    }

    /// Refuses a client muted in `room` (moderators are never muted).
    pub(super) fn not_muted(&self, id: ClientId, room: &str) -> Result<(), Refusal> {
        if self.role_of(id, room).moderates() {
            return Ok(());
        }
        match self
            .moderation
            .under(room, SanctionKind::Mute, self.who(id), now_ms())
        {
            Some(until) => Err(Refusal::new(
                ErrorCode::Muted,
                format!("you are muted in {room}{}", until_text(until)),
            )),
            None => Ok(()),
        }
    }

    /// The connections signed in to `account`.
    pub(super) fn online_connections(&self, account: AccountId) -> Vec<ClientId> {
        self.online.get(&account).cloned().unwrap_or_default()
    }

    /// The rooms the client is in.
    pub(super) fn rooms_of(&self, id: ClientId) -> Vec<String> {
        self.clients
            .get(&id)
            .map(|client| client.rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(super) fn nick_of(&self, id: ClientId) -> Option<&String> {
        self.clients.get(&id)?.nick.as_ref()
    }

    pub(super) fn account_of(&self, id: ClientId) -> Option<AccountId> {
        self.clients.get(&id)?.account()
    }

    /// Who the client is for bans and mutes.
    pub(super) fn who(&self, id: ClientId) -> Who {
        let (account, ip) = self
            .clients
            .get(&id)
            .map_or((None, IpAddr::from([0, 0, 0, 0])), |client| {
                (client.account(), client.ip)
            });
        Who { account, ip }
    }

    /// The client's place in the nickname table.
    pub(super) fn holder_of(&self, id: ClientId) -> Option<Holder> {
        let client = self.clients.get(&id)?;
        client.nick.as_ref()?;
        Some(match client.account() {
            Some(account) => Holder::Account(account),
            None => Holder::Guest(id),
        })
    }

    /// The connections of whoever holds a nickname.
    pub(super) fn connections_of(&self, holder: Holder) -> Vec<ClientId> {
        match holder {
            Holder::Guest(id) => vec![id],
            Holder::Account(account) => self.online.get(&account).cloned().unwrap_or_default(),
        }
    }

    /// Whether the client is signed in to a server operator's account.
    pub(super) fn is_operator(&self, id: ClientId) -> bool {
        // Asked for every message posted: nothing to work out on a server
        // without operators.
        if self.policy.operators.is_empty() {
            return false;
        }
        self.clients.get(&id).is_some_and(|client| {
            client.account().is_some()
                && client
                    .nick
                    .as_ref()
                    .is_some_and(|nick| self.policy.operators.contains(&nick_key(nick)))
        })
    }

    /// The client's role in `room`.
    pub(super) fn role_of(&self, id: ClientId, room: &str) -> Role {
        if self.is_operator(id) {
            return Role::Operator;
        }
        match self.account_of(id) {
            Some(account) => self.moderation.role(room, account),
            None => Role::Member,
        }
    }

    /// An account's role in `room`, online or not.
    pub(super) fn account_role(&self, account: AccountId, room: &str) -> Role {
        let operator = self
            .nicks
            .name(account)
            .is_some_and(|nick| self.policy.operators.contains(&nick_key(nick)));
        if operator {
            Role::Operator
        } else {
            self.moderation.role(room, account)
        }
    }

    /// The room's settings as its members see them: the stored roles, and
    /// the operators who are in it.
    pub(super) fn room_settings(&self, room: &str) -> RoomSettings {
        let mut settings = self
            .moderation
            .settings(room, |account| self.nicks.name(account).cloned());
        if let Some(members) = self.rooms.get(room) {
            for member in members.member_ids() {
                if self.is_operator(member)
                    && let Some(nick) = self.nick_of(member)
                {
                    settings.roles.insert(nick.clone(), Role::Operator);
                }
            }
        }
        settings
    }

    /// Tells every member of `room` its settings as they are now.
    pub(super) fn broadcast_room_state(&mut self, room: &str) {
        let settings = self.room_settings(room);
        let event = Outgoing::new(ServerMsg::RoomState {
            room: room.to_owned(),
            settings,
        });
        self.rooms.broadcast(room, &event, None);
    }

    /// The client's nickname, or the refusal for a client that has not said
    /// hello yet.
    pub(super) fn registered(
        &self,
        id: ClientId,
        msg_id: Option<&ClientMsgId>,
    ) -> Result<String, Refusal> {
        self.nick_of(id).cloned().ok_or_else(|| {
            Refusal::about(
                msg_id,
                ErrorCode::NotRegistered,
                "say hello with a nickname first".to_owned(),
            )
        })
    }

    /// Whether the client is in `room`.
    pub(super) fn is_in(&self, id: ClientId, room: &str) -> bool {
        self.clients
            .get(&id)
            .is_some_and(|client| client.rooms.contains(room))
    }

    pub(super) fn outbox_of(&self, id: ClientId) -> Option<Outbox> {
        Some(self.clients.get(&id)?.outbox.clone())
    }

    pub(super) fn credential_of(&self, id: ClientId) -> Option<SecretHash> {
        self.clients.get(&id)?.session().cloned()
    }

    pub(super) fn set_registering(&mut self, id: ClientId, registering: bool) {
        if let Some(client) = self.clients.get_mut(&id) {
            client.registering = registering;
        }
    }

    /// A guest that registered its nickname is signed in to the account now.
    pub(super) fn became_account(&mut self, id: ClientId, account: AccountId, session: SecretHash) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        client.signing = Some(Box::new(Signing::Session { account, session }));
        client.registering = false;
        self.online.entry(account).or_default().push(id);
    }

    /// Closes the connections signed in with `session`, or with any session
    /// of `account` (`None`).
    pub(super) fn close_sessions(&mut self, account: AccountId, session: Option<&SecretHash>) {
        for id in self.online.get(&account).cloned().unwrap_or_default() {
            let Some(client) = self.clients.get(&id) else {
                continue;
            };
            let using = session.is_none_or(|s| client.session() == Some(s));
            if using {
                client.outbox.closer().close(CloseReason::SignedOut);
            }
        }
    }

    /// The guest connection a guest token belongs to, while it is a guest.
    pub(super) fn guest_of(&self, token: &Secret) -> Option<ClientId> {
        let connection = self.guest_tokens.as_ref()?.connection(token.expose())?;
        let id = ClientId(connection);
        let client = self.clients.get(&id)?;
        client.account().is_none().then_some(id)
    }

    /// Who an HTTP caller is: nickname and account, if anyone.
    fn caller_identity(
        &self,
        caller: &Caller,
    ) -> Option<(String, Option<AccountId>, Option<IpAddr>)> {
        match caller {
            Caller::Anonymous => None,
            Caller::Account { account, nick } => Some((nick.clone(), Some(*account), None)),
            Caller::Guest(token) => {
                // A guest that registered is an account now: its guest
                // token is done.
                let client = self.clients.get(&self.guest_of(token)?)?;
                Some((client.nick.clone()?, None, Some(client.ip)))
            }
        }
    }

    /// Whether an HTTP caller may read `room`: a conversation only its two
    /// users, a room whoever it admits.
    fn may_read(&self, caller: &Caller, ip: IpAddr, room: &str) -> bool {
        let identity = self.caller_identity(caller);
        if let Some((a, b)) = direct_members(room) {
            return identity.is_some_and(|(nick, ..)| {
                let me = nick.to_lowercase();
                a == me || b == me
            });
        }
        let account = identity.as_ref().and_then(|(_, account, _)| *account);
        if account.is_none() && !self.policy.admits_guest(room) {
            return false;
        }
        let ip = identity.and_then(|(_, _, guest_ip)| guest_ip).unwrap_or(ip);
        self.moderation
            .under(room, SanctionKind::Ban, Who { account, ip }, now_ms())
            .is_none()
    }

    /// Who uploads, and whether they may share in `room`: the nickname, the
    /// room's canonical name, and the account.
    pub(super) fn check_uploader(
        &self,
        uploader: &Caller,
        ip: IpAddr,
        room: &str,
    ) -> Result<(String, String, Option<AccountId>), ShareRefusal> {
        let (nick, account, guest_ip) = self
            .caller_identity(uploader)
            .ok_or(ShareRefusal::Unauthorized)?;
        let (nick, room) = check_share(&nick, room)?;
        if direct_members(&room).is_some() {
            return Ok((nick, room, account));
        }
        if account.is_none() && !self.policy.admits_guest(&room) {
            return Err(ShareRefusal::NotAllowed(format!(
                "{room} admits signed-in users only"
            )));
        }
        let who = Who {
            account,
            ip: guest_ip.unwrap_or(ip),
        };
        let now = now_ms();
        if let Some(until) = self.moderation.under(&room, SanctionKind::Ban, who, now) {
            return Err(ShareRefusal::NotAllowed(format!(
                "you are banned from {room}{}",
                until_text(until)
            )));
        }
        if let Some(until) = self.moderation.under(&room, SanctionKind::Mute, who, now) {
            return Err(ShareRefusal::NotAllowed(format!(
                "you are muted in {room}{}",
                until_text(until)
            )));
        }
        Ok((nick, room, account))
    }

    /// The nicknames in `room`, sorted as people read them, each once
    /// (an account may be there from several connections).
    pub(super) fn members_of(&self, room: &str) -> Vec<String> {
        let Some(room) = self.rooms.get(room) else {
            return Vec::new();
        };
        let mut members: Vec<String> = room
            .member_ids()
            .filter_map(|member| self.clients.get(&member)?.nick.clone())
            .collect();
        members.sort_by_key(|nick| nick.to_lowercase());
        members.dedup();
        members
    }

    /// The connections in `room` of whoever holds `nick`.
    pub(super) fn present_in(&self, room: &str, nick: &str) -> Option<(Holder, Vec<ClientId>)> {
        let holder = self.nicks.holder(nick)?;
        let here: Vec<ClientId> = self
            .connections_of(holder)
            .into_iter()
            .filter(|id| self.is_in(*id, room))
            .collect();
        (!here.is_empty()).then_some((holder, here))
    }

    /// Sends an event to one client.
    pub(super) fn tell(&mut self, id: ClientId, msg: ServerMsg) {
        self.push(id, &Outgoing::new(msg));
    }

    fn push(&mut self, id: ClientId, event: &Arc<Outgoing>) {
        if let Some(client) = self.clients.get(&id)
            && client.outbox.try_push(Arc::clone(event)) == Pushed::Gone
        {
            self.rooms.gone.push(id);
        }
    }

    /// Answers an HTTP registration the hub cannot start.
    pub(super) fn refuse_http(
        reply: oneshot::Sender<Result<SignedIn, super::RegisterRefusal>>,
        refusal: super::RegisterRefusal,
    ) {
        let _ = reply.send(Err(refusal));
    }

    /// Logs an internal failure of a write and tells its client.
    pub(super) fn report(&mut self, id: ClientId, what: &str, error: &dyn std::fmt::Display) {
        let incident = Incident::log(what, error);
        self.tell(
            id,
            ServerMsg::error(ErrorCode::StoreFailed, incident.to_string()),
        );
    }
}

/// ` until 2026-12-04 14:05 UTC`, or nothing for no end.
pub(super) fn until_text(until: Option<i64>) -> String {
    until.map_or_else(String::new, |ts| format!(" until {}", utc(ts)))
}

/// A client gone from the hub whose last messages await the store's answer.
struct Leaving {
    outbox: Outbox,
    in_flight: usize,
}

/// Why a request was refused; becomes a `ServerMsg::Error` to its sender.
pub(super) struct Refusal {
    pub(super) code: ErrorCode,
    pub(super) message: String,
    msg_id: Option<ClientMsgId>,
}

impl Refusal {
    pub(super) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::about(None, code, message.into())
    }

    /// A refusal of the message with id `msg_id`, which the error names.
    pub(super) fn about(msg_id: Option<&ClientMsgId>, code: ErrorCode, message: String) -> Self {
        Self {
            code,
            message,
            msg_id: msg_id.cloned(),
        }
    }
}

/// The canonical name of a room or a conversation as a client wrote it.
pub(super) fn room_key(name: &str) -> Result<String, String> {
    if direct_members(name).is_some() {
        return Ok(name.to_owned());
    }
    validate::normalize_room(name).map_err(|e| e.to_string())
}

/// The guest tokens' maker, under a key drawn now.
fn guest_tokens() -> Option<GuestTokens> {
    let mut key = [0; 32];
    match getrandom::fill(&mut key) {
        Ok(()) => Some(GuestTokens::new(key)),
        Err(error) => {
            tracing::error!(%error, "no randomness for guest tokens; guests get none");
            None
        }
    }
}
