//! The hub task and the state only it owns.
//!
//! Every handler runs to completion without awaiting: the hub never waits on a
//! connection or on the store. Events reach connections through `try_push`,
//! and a connection whose queue is full is closed as too slow instead of
//! holding up everyone. A chat message is handed to the store, and the hub
//! goes on; the store's answers come back in the order the messages were
//! handed over (`commits`), and only then is a message acknowledged to its
//! sender and delivered to its room.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use shared::validate::{self, nick_key};
use shared::{
    ChatMessage, ClientMsgId, DEFAULT_ROOM, ErrorCode, Limits, MessageKind, RoomInfo, ServerMsg,
    direct_members, direct_room,
};
use tokio::sync::{mpsc, oneshot};

use super::RoomSet;
use super::room::Room;
use super::{ClientId, Command, Door, Request, Share, ShareRefusal, check_share};
use crate::outbox::{CloseReason, Outbox, Outgoing, Pushed};
use crate::pace::WritePace;
use crate::store::{Appended, NewMessage, Store, StoreError};

/// Messages handed to the store and not yet committed. Past this the hub
/// refuses new ones instead of queueing without bound.
const MAX_IN_FLIGHT: usize = 4_096;
/// A user's typing notices in one room are passed on at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(3);

/// A message on its way through the store, and who is waiting for it.
enum Pending {
    /// A connected client's message, acknowledged through its outbox.
    Client {
        sender: ClientId,
        msg_id: Option<ClientMsgId>,
    },
    /// A shared file's announcement; the upload waits for it.
    Share(oneshot::Sender<Result<ChatMessage, ShareRefusal>>),
}

type Commit = BoxFuture<'static, (Pending, Result<Appended, StoreError>)>;

pub(super) async fn run(
    mut commands: mpsc::Receiver<Command>,
    clients: Arc<AtomicUsize>,
    store: Arc<dyn Store>,
    heads: HashMap<String, u64>,
    max_lag: Duration,
    pace: Arc<WritePace>,
) {
    let mut state = State::new(store, heads, max_lag, pace);
    let mut commits: FuturesOrdered<Commit> = FuturesOrdered::new();
    loop {
        tokio::select! {
            // Commits first: they free room for more and deliver what waits.
            biased;
            Some((pending, result)) = commits.next(), if !commits.is_empty() => {
                state.committed(pending, result);
            }
            command = commands.recv() => {
                let Some(command) = command else { break };
                state.handle(command, &mut commits);
            }
        }
        state.sweep();
        clients.store(state.clients.len(), Ordering::Relaxed);
    }
    // Every door is gone; answer what is still on its way to the disk.
    while let Some((pending, result)) = commits.next().await {
        state.committed(pending, result);
    }
    tracing::debug!("hub stopped: no connections and no doors left");
}

struct Client {
    outbox: Outbox,
    /// `None` until the client has said hello.
    nick: Option<String>,
    rooms: RoomSet,
    /// When this client's last typing notice per room was passed on.
    typing: HashMap<String, Instant>,
    /// Its messages handed to the store and not answered yet.
    in_flight: usize,
    /// Since when it has been behind the live messages, if it is.
    behind_since: Option<Instant>,
    #[allow(dead_code, reason = "read by per-door metrics once more doors exist")]
    door: Door,
}

struct State {
    /// Boxed: a table keeps room for more entries than it holds, and a
    /// `Client` is 168 bytes; the fan-out never looks here (rooms hold their
    /// members' outboxes).
    clients: HashMap<ClientId, Box<Client>>,
    /// Nickname key (see `validate::nick_key`) → holder.
    nicks: HashMap<String, ClientId>,
    /// Clients that left with messages still on their way to the store:
    /// their queue stays open until each is answered, so that a connection
    /// closing right after sending still writes its acks before it goes.
    leaving: HashMap<ClientId, Leaving>,
    /// Rooms with someone in them.
    rooms: HashMap<String, Room>,
    /// The sequence number of every room's latest committed message.
    heads: HashMap<String, u64>,
    store: Arc<dyn Store>,
    next_guest: u64,
    /// Connections found gone during a fan-out, removed once it is done.
    gone: Vec<ClientId>,
    /// Readers found behind during a fan-out: they catch up from the store.
    behind: Vec<ClientId>,
    /// How long a reader may stay behind before it is closed as slow.
    max_lag: Duration,
    /// The connections' write budget, which says how long a message may
    /// wait for its commit unseen.
    pace: Arc<WritePace>,
    messages_in: metrics::Counter,
    deliveries: metrics::Counter,
}

impl State {
    fn new(
        store: Arc<dyn Store>,
        heads: HashMap<String, u64>,
        max_lag: Duration,
        pace: Arc<WritePace>,
    ) -> Self {
        Self {
            clients: HashMap::new(),
            nicks: HashMap::new(),
            leaving: HashMap::new(),
            rooms: HashMap::new(),
            heads,
            store,
            next_guest: 0,
            gone: Vec::new(),
            behind: Vec::new(),
            max_lag,
            pace,
            messages_in: metrics::counter!(crate::metrics::MESSAGES_IN),
            deliveries: metrics::counter!(crate::metrics::DELIVERIES),
        }
    }

    fn handle(&mut self, command: Command, commits: &mut FuturesOrdered<Commit>) {
        match command {
            Command::Connect { id, door, outbox } => {
                let client = Client {
                    outbox,
                    nick: None,
                    rooms: RoomSet::default(),
                    typing: HashMap::new(),
                    in_flight: 0,
                    behind_since: None,
                    door,
                };
                self.clients.insert(id, Box::new(client));
            }
            Command::Request { id, request } => self.request(id, request, commits),
            Command::Share { share, reply } => self.share(share, reply, commits),
            Command::Disconnect { id } => self.remove(id),
            Command::CatchUp {
                id,
                positions,
                reply,
            } => {
                let _ = reply.send(self.caught_up(id, &positions));
            }
        }
    }

    /// Whether a reader that was behind has now read, from the store, up to
    /// the head of each of its rooms; if so, room events are queued for it
    /// again. The hub answers between commits, so no message can fall
    /// between what the reader read and what it is sent from now on.
    fn caught_up(&mut self, id: ClientId, positions: &HashMap<String, u64>) -> bool {
        let Some(client) = self.clients.get_mut(&id) else {
            return false;
        };
        let level = client.rooms.iter().all(|room| {
            let head = self.heads.get(room).copied().unwrap_or(0);
            head <= positions.get(room).copied().unwrap_or(0)
        });
        if level {
            client.outbox.set_live();
            client.behind_since = None;
            // Arrivals, departures and renames were not queued for it while
            // it was behind, and the store does not keep them: its online
            // lists are put right instead.
            let rooms: Vec<String> = client.rooms.iter().cloned().collect();
            for room in rooms {
                let members = self.members_of(&room);
                self.tell(id, ServerMsg::Members { room, members });
            }
            return true;
        }
        self.behind.push(id);
        false
    }

    fn request(&mut self, id: ClientId, request: Request, commits: &mut FuturesOrdered<Commit>) {
        if !self.clients.contains_key(&id) {
            return; // Already removed (found slow or gone).
        }
        let result = match request {
            Request::Hello { nick, resume } => self.hello(id, &nick, &resume),
            Request::HelloGuest => {
                let nick = self.free_guest_nick();
                self.hello(id, &nick, &BTreeMap::new())
            }
            Request::Nick { nick } => self.rename(id, &nick),
            Request::Join { room } => self.join_named(id, &room),
            Request::Leave { room } => self.leave(id, &room),
            Request::Send {
                id: msg_id,
                room,
                text,
                kind,
            } => self.post(id, msg_id, &room, text, kind, commits),
            Request::Direct {
                id: msg_id,
                to,
                text,
                kind,
            } => self.direct(id, msg_id, &to, text, kind, commits),
            Request::Typing { room } => self.typing(id, &room),
            Request::Rooms => {
                self.list_rooms(id);
                Ok(())
            }
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
    ) -> Result<(), Refusal> {
        if self.nick_of(id).is_some() {
            return Err(Refusal::new(
                ErrorCode::AlreadyRegistered,
                "you already have a nickname; use `nick` to change it",
            ));
        }
        let nick = self.claim_nick(id, wanted)?;
        if let Some(client) = self.clients.get_mut(&id) {
            client.nick = Some(nick.clone());
        }
        self.tell(
            id,
            ServerMsg::Welcome {
                nick: nick.clone(),
                server: env!("CARGO_PKG_VERSION").to_owned(),
                limits: Limits::V1,
            },
        );
        if resume.is_empty() {
            return self.join_named(id, DEFAULT_ROOM);
        }
        // Rejoin every room the client was in. A room it may not enter (a
        // conversation of others, a bad name) is refused on its own; the
        // client's other rooms are not held up by it.
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

    fn rename(&mut self, id: ClientId, wanted: &str) -> Result<(), Refusal> {
        let old = self.registered(id, None)?;
        let new = self.claim_nick(id, wanted)?;
        if new == old {
            return Ok(());
        }
        if nick_key(&new) != nick_key(&old) {
            self.nicks.remove(&nick_key(&old));
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
    fn join_named(&mut self, id: ClientId, room_name: &str) -> Result<(), Refusal> {
        self.registered(id, None)?;
        let name = validate::normalize_room(room_name)
            .map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e.to_string()))?;
        self.enter(id, name);
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
    /// the others) and sends it the room's online list and head.
    fn enter(&mut self, id: ClientId, name: String) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let Some(nick) = client.nick.clone() else {
            return;
        };
        let outbox = client.outbox.clone();
        let newly_joined = client.rooms.insert(name.clone());
        let room = self.rooms.entry(name.clone()).or_insert_with(Room::new);
        if newly_joined {
            let event = Outgoing::new(ServerMsg::UserJoined {
                room: name.clone(),
                nick,
            });
            room.broadcast(&event, None, &mut self.gone, &mut self.behind);
            room.add(id, outbox);
        }
        let members = self.members_of(&name);
        let head = self.heads.get(&name).copied().unwrap_or(0);
        self.tell(
            id,
            ServerMsg::Joined {
                room: name,
                members,
                head,
            },
        );
    }

    fn leave(&mut self, id: ClientId, room_name: &str) -> Result<(), Refusal> {
        let nick = self.registered(id, None)?;
        let name = room_key(room_name).map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e))?;
        let was_in = self
            .clients
            .get_mut(&id)
            .is_some_and(|client| client.rooms.remove(&name));
        if !was_in {
            return Err(Refusal::new(
                ErrorCode::NotInRoom,
                format!("you are not in {name}"),
            ));
        }
        self.tell(id, ServerMsg::Left { room: name.clone() });
        self.remove_from_room(id, &name, nick);
        Ok(())
    }

    fn post(
        &mut self,
        id: ClientId,
        msg_id: Option<ClientMsgId>,
        room_name: &str,
        text: String,
        kind: MessageKind,
        commits: &mut FuturesOrdered<Commit>,
    ) -> Result<(), Refusal> {
        let nick = self.registered(id, msg_id.as_ref())?;
        let refuse = |code, message: String| Refusal::about(msg_id.as_ref(), code, message);
        let name = room_key(room_name).map_err(|e| refuse(ErrorCode::RoomInvalid, e))?;
        let in_room = self
            .clients
            .get(&id)
            .is_some_and(|client| client.rooms.contains(&name));
        if !in_room {
            return Err(refuse(
                ErrorCode::NotInRoom,
                format!("join {name} before you post there"),
            ));
        }
        self.submit(id, msg_id, name, nick, text, kind, commits)
    }

    fn direct(
        &mut self,
        id: ClientId,
        msg_id: Option<ClientMsgId>,
        to: &str,
        text: String,
        kind: MessageKind,
        commits: &mut FuturesOrdered<Commit>,
    ) -> Result<(), Refusal> {
        let nick = self.registered(id, msg_id.as_ref())?;
        let refuse = |code, message: String| Refusal::about(msg_id.as_ref(), code, message);
        let peer = self
            .nicks
            .get(&nick_key(to.trim()))
            .copied()
            .filter(|peer| *peer != id)
            .ok_or_else(|| {
                refuse(
                    ErrorCode::NoSuchUser,
                    format!("nobody called {to} is online"),
                )
            })?;
        let peer_nick = self.nick_of(peer).cloned().unwrap_or_default();
        let room = direct_room(&nick, &peer_nick);
        // Both users are in the conversation from its first message on.
        for member in [id, peer] {
            let present = self
                .clients
                .get(&member)
                .is_some_and(|client| client.rooms.contains(&room));
            if !present {
                self.enter(member, room.clone());
            }
        }
        self.submit(id, msg_id, room, nick, text, kind, commits)
    }

    /// Validates a message's id and text and hands it to the store.
    #[allow(clippy::too_many_arguments, reason = "one message's parts")]
    fn submit(
        &mut self,
        id: ClientId,
        msg_id: Option<ClientMsgId>,
        room: String,
        nick: String,
        text: String,
        kind: MessageKind,
        commits: &mut FuturesOrdered<Commit>,
    ) -> Result<(), Refusal> {
        let refuse = |code, message: String| Refusal::about(msg_id.as_ref(), code, message);
        if let Some(msg_id) = &msg_id
            && !validate::validate_id(msg_id)
        {
            return Err(refuse(
                ErrorCode::IdInvalid,
                format!("a message id has 1 to {} bytes", Limits::V1.max_id_bytes),
            ));
        }
        validate::validate_text(&text).map_err(|e| {
            let code = match e {
                validate::TextError::Empty => ErrorCode::TextEmpty,
                validate::TextError::TooLong(_) => ErrorCode::TextTooLong,
            };
            refuse(code, e.to_string())
        })?;
        if commits.len() >= MAX_IN_FLIGHT {
            return Err(refuse(
                ErrorCode::StoreFailed,
                "the server is busy storing messages; send it again in a moment".to_owned(),
            ));
        }
        let append = self.store.append(NewMessage {
            room,
            nick,
            text,
            kind,
            client_id: msg_id.clone(),
            file: None,
            patience: self.pace.commit_patience(tokio::time::Instant::now()),
        });
        let pending = Pending::Client { sender: id, msg_id };
        commits.push_back(Box::pin(async move { (pending, append.await) }));
        if let Some(client) = self.clients.get_mut(&id) {
            client.in_flight += 1;
        }
        Ok(())
    }

    /// Hands the announcement of a shared file to the store. Nobody need be
    /// in the room: like any message, it is kept for those who come later.
    fn share(
        &mut self,
        share: Share,
        reply: oneshot::Sender<Result<ChatMessage, ShareRefusal>>,
        commits: &mut FuturesOrdered<Commit>,
    ) {
        let Share { nick, room, file } = share;
        let (nick, room) = match check_share(&nick, &room) {
            Ok(checked) => checked,
            Err(refusal) => {
                let _ = reply.send(Err(refusal));
                return;
            }
        };
        if commits.len() >= MAX_IN_FLIGHT {
            let _ = reply.send(Err(ShareRefusal::Busy));
            return;
        }
        let append = self.store.append(NewMessage {
            room,
            nick,
            // The name is cleaned and at most 255 bytes: a valid text.
            text: file.attachment.name.clone(),
            kind: MessageKind::Text,
            client_id: None,
            file: Some(Box::new(file)),
            // An upload's announcement is answered to its uploader over
            // HTTP, which no write budget paces.
            patience: Duration::ZERO,
        });
        let pending = Pending::Share(reply);
        commits.push_back(Box::pin(async move { (pending, append.await) }));
    }

    /// A message the store has answered for: acknowledge it to its sender
    /// and deliver it to its room, or tell the sender why it was not kept.
    fn committed(&mut self, pending: Pending, result: Result<Appended, StoreError>) {
        match pending {
            Pending::Client { sender, msg_id } => self.acknowledge(sender, msg_id, &result),
            Pending::Share(reply) => {
                let answer = match &result {
                    Ok(appended) => Ok(appended.msg.clone()),
                    Err(error) => {
                        tracing::error!(%error, "a shared file could not be announced");
                        Err(ShareRefusal::Store(error.clone()))
                    }
                };
                // An uploader that went away misses only the answer.
                let _ = reply.send(answer);
            }
        }
        let Ok(Appended { msg, duplicate }) = result else {
            return;
        };
        if duplicate {
            // Sent before, and delivered then: the resend only needed its ack.
            return;
        }
        let head = self.heads.entry(msg.room.clone()).or_insert(0);
        *head = (*head).max(msg.seq);
        self.messages_in.increment(1);
        let name = msg.room.clone();
        let event = Outgoing::new(ServerMsg::Message(msg));
        if let Some(room) = self.rooms.get(&name) {
            let delivered = room.broadcast(&event, None, &mut self.gone, &mut self.behind);
            self.deliveries.increment(delivered as u64);
        }
    }

    /// Answers a client about one of its messages: the ack, or why it was
    /// not kept.
    fn acknowledge(
        &mut self,
        sender: ClientId,
        msg_id: Option<ClientMsgId>,
        result: &Result<Appended, StoreError>,
    ) {
        let answer = match result {
            Ok(Appended { msg, .. }) => msg_id.map(|id| ServerMsg::Ack {
                id,
                room: msg.room.clone(),
                seq: msg.seq,
                ts: msg.ts,
            }),
            Err(error) => {
                tracing::error!(%error, "a message could not be stored");
                Some(ServerMsg::Error {
                    code: ErrorCode::StoreFailed,
                    message: format!("your message was not delivered: {error}"),
                    id: msg_id,
                })
            }
        };
        self.answer(sender, answer);
    }

    /// Answers one of `sender`'s messages, whether it is still here or left
    /// while the message was on its way; the last answer to a client that
    /// left closes its queue.
    fn answer(&mut self, sender: ClientId, answer: Option<ServerMsg>) {
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
        let recent = client
            .typing
            .get(room_name)
            .is_some_and(|last| now.duration_since(*last) < TYPING_EVERY);
        if recent {
            return Ok(());
        }
        client.typing.insert(room_name.to_owned(), now);
        let event = Outgoing::new(ServerMsg::Typing {
            room: room_name.to_owned(),
            nick,
        });
        if let Some(room) = self.rooms.get(room_name) {
            room.broadcast(&event, Some(id), &mut self.gone, &mut self.behind);
        }
        Ok(())
    }

    fn list_rooms(&mut self, id: ClientId) {
        let mut rooms: Vec<RoomInfo> = self
            .rooms
            .iter()
            .filter(|(name, _)| direct_members(name).is_none())
            .map(|(name, room)| RoomInfo {
                room: name.clone(),
                members: u32::try_from(room.len()).unwrap_or(u32::MAX),
            })
            .collect();
        rooms.sort_by(|a, b| a.room.cmp(&b.room));
        self.tell(id, ServerMsg::Rooms { rooms });
    }

    /// Removes a connection: frees its nickname and leaves its rooms, telling
    /// the people there.
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
        let Some(nick) = client.nick else {
            return;
        };
        if self.nicks.get(&nick_key(&nick)) == Some(&id) {
            self.nicks.remove(&nick_key(&nick));
        }
        for room in &client.rooms {
            self.remove_from_room(id, room, nick.clone());
        }
    }

    fn remove_from_room(&mut self, id: ClientId, name: &str, nick: String) {
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        room.remove(id);
        if room.is_empty() {
            // An empty room costs nothing to recreate (its history and head
            // stay); keeping it would let a client grow the hub's memory by
            // joining made-up names.
            self.rooms.remove(name);
            return;
        }
        let event = Outgoing::new(ServerMsg::UserLeft {
            room: name.to_owned(),
            nick,
        });
        room.broadcast(&event, None, &mut self.gone, &mut self.behind);
    }

    /// Deals with what the last command found: readers that fell behind
    /// (closed as slow once behind for too long) and connections gone.
    /// Removing one tells its rooms, which can find more: repeat until done.
    fn sweep(&mut self) {
        let now = Instant::now();
        for id in std::mem::take(&mut self.behind) {
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            let since = *client.behind_since.get_or_insert(now);
            if now.duration_since(since) > self.max_lag {
                metrics::counter!(crate::metrics::SLOW_DISCONNECTS).increment(1);
                client.outbox.closer().close(CloseReason::Slow);
                self.gone.push(id);
            }
        }
        while let Some(id) = self.gone.pop() {
            self.remove(id);
        }
    }

    /// Validates `wanted` and reserves it for `id`.
    fn claim_nick(&mut self, id: ClientId, wanted: &str) -> Result<String, Refusal> {
        let nick = validate::normalize_nick(wanted)
            .map_err(|e| Refusal::new(ErrorCode::NickInvalid, e.to_string()))?;
        let key = nick_key(&nick);
        match self.nicks.get(&key) {
            Some(&holder) if holder != id => Err(Refusal::new(
                ErrorCode::NickTaken,
                format!("the nickname {nick} is taken; choose another"),
            )),
            _ => {
                self.nicks.insert(key, id);
                Ok(nick)
            }
        }
    }

    fn free_guest_nick(&mut self) -> String {
        loop {
            self.next_guest += 1;
            let nick = format!("guest-{}", self.next_guest);
            if !self.nicks.contains_key(&nick_key(&nick)) {
                return nick;
            }
        }
    }

    fn nick_of(&self, id: ClientId) -> Option<&String> {
        self.clients.get(&id)?.nick.as_ref()
    }

    /// The client's nickname, or the refusal for a client that has not said
    /// hello yet.
    fn registered(&self, id: ClientId, msg_id: Option<&ClientMsgId>) -> Result<String, Refusal> {
        self.nick_of(id).cloned().ok_or_else(|| {
            Refusal::about(
                msg_id,
                ErrorCode::NotRegistered,
                "say hello with a nickname first".to_owned(),
            )
        })
    }

    /// Sends an event to one client.
    /// The nicknames in `room`, sorted as people read them.
    fn members_of(&self, room: &str) -> Vec<String> {
        let Some(room) = self.rooms.get(room) else {
            return Vec::new();
        };
        let mut members: Vec<String> = room
            .member_ids()
            .filter_map(|member| self.clients.get(&member)?.nick.clone())
            .collect();
        members.sort_by_key(|nick| nick.to_lowercase());
        members
    }

    fn tell(&mut self, id: ClientId, msg: ServerMsg) {
        self.push(id, &Outgoing::new(msg));
    }

    fn push(&mut self, id: ClientId, event: &Arc<Outgoing>) {
        if let Some(client) = self.clients.get(&id)
            && client.outbox.try_push(Arc::clone(event)) == Pushed::Gone
        {
            self.gone.push(id);
        }
    }
}

/// A client gone from the hub whose last messages await the store's answer.
struct Leaving {
    outbox: Outbox,
    in_flight: usize,
}

/// Why a request was refused; becomes a `ServerMsg::Error` to its sender.
struct Refusal {
    code: ErrorCode,
    message: String,
    msg_id: Option<ClientMsgId>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::about(None, code, message.into())
    }

    /// A refusal of the message with id `msg_id`, which the error names.
    fn about(msg_id: Option<&ClientMsgId>, code: ErrorCode, message: String) -> Self {
        Self {
            code,
            message,
            msg_id: msg_id.cloned(),
        }
    }
}

/// The canonical name of a room or a conversation as a client wrote it.
fn room_key(name: &str) -> Result<String, String> {
    if direct_members(name).is_some() {
        return Ok(name.to_owned());
    }
    validate::normalize_room(name).map_err(|e| e.to_string())
}
