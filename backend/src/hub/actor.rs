//! The hub task and the state only it owns.
//!
//! Every handler runs to completion without awaiting: the hub never waits on a
//! connection or on the store. Events reach connections through `try_push`,
//! and a connection whose queue is full is closed as too slow instead of
//! holding up everyone. A chat message is handed to the store and the hub
//! goes on; [`super::commit`] answers it once it is committed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shared::validate;
use shared::{
    ClientMsgId, DEFAULT_ROOM, ErrorCode, Limits, RoomInfo, ServerMsg, direct_members, direct_room,
};
use tokio::sync::mpsc;

use super::RoomSet;
use super::commit::{Commits, Draft, Target};
use super::fanout::Fanout;
use super::nicks::Nicks;
use super::rooms::Rooms;
use super::{ClientId, Command, Request};
use crate::outbox::{CloseReason, Outbox, Outgoing, Pushed};

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
            Some((pending, result)) = state.commits.next(), if !state.commits.is_empty() => {
                state.committed(pending, result);
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
    while let Some((pending, result)) = state.commits.next().await {
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
}

pub(super) struct State {
    /// Boxed: a table keeps room for more entries than it holds, and a
    /// `Client` is over a hundred bytes; the fan-out never looks here (rooms
    /// hold their members' outboxes).
    clients: HashMap<ClientId, Box<Client>>,
    nicks: Nicks,
    /// Clients that left with messages still on their way to the store:
    /// their queue stays open until each is answered, so that a connection
    /// closing right after sending still writes its acks before it goes.
    leaving: HashMap<ClientId, Leaving>,
    /// The rooms of this node, their members and heads.
    pub(super) rooms: Rooms,
    /// Messages on their way through the store.
    pub(super) commits: Commits,
    /// Where committed messages go.
    pub(super) fanout: Box<dyn Fanout>,
    /// How long a reader may stay behind before it is closed as slow.
    max_lag: Duration,
}

impl State {
    pub(super) fn new(
        commits: Commits,
        fanout: Box<dyn Fanout>,
        heads: HashMap<String, u64>,
        max_lag: Duration,
    ) -> Self {
        Self {
            clients: HashMap::new(),
            nicks: Nicks::default(),
            leaving: HashMap::new(),
            rooms: Rooms::new(heads),
            commits,
            fanout,
            max_lag,
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Connect { id, outbox } => {
                let client = Client {
                    outbox,
                    nick: None,
                    rooms: RoomSet::default(),
                    typing: HashMap::new(),
                    in_flight: 0,
                    behind_since: None,
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
        // Arrivals, departures and renames were not queued for it while it
        // was behind, and the store does not keep them: its online lists are
        // put right instead.
        let rooms: Vec<String> = client.rooms.iter().cloned().collect();
        for room in rooms {
            let members = self.members_of(&room);
            self.tell(id, ServerMsg::Members { room, members });
        }
        true
    }

    fn request(&mut self, id: ClientId, request: Request) {
        if !self.clients.contains_key(&id) {
            return; // Already removed (found slow or gone).
        }
        let result = match request {
            Request::Hello { nick, resume } => self.hello(id, &nick, &resume),
            Request::HelloGuest => {
                let nick = self.nicks.free_guest();
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
            } => {
                let target = self.room_to_post(id, msg_id.as_ref(), &room);
                target.and_then(|target| self.submit(id, target, Draft { msg_id, text, kind }))
            }
            Request::Direct {
                id: msg_id,
                to,
                text,
                kind,
            } => {
                let target = self.conversation_with(id, msg_id.as_ref(), &to);
                target.and_then(|target| self.submit(id, target, Draft { msg_id, text, kind }))
            }
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
        let nick = self.nicks.claim(id, wanted)?;
        if let Some(client) = self.clients.get_mut(&id) {
            client.nick = Some(nick.clone());
        }
        self.tell(
            id,
            ServerMsg::Welcome {
                nick: nick.clone(),
                server: env!("CARGO_PKG_VERSION").to_owned(),
                limits: Limits::V1,
                account: false,
                token: None,
                expires: None,
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
        if client.rooms.insert(name.clone()) {
            let event = Outgoing::new(ServerMsg::UserJoined {
                room: name.clone(),
                nick,
            });
            self.rooms.broadcast(&name, &event, None);
            self.rooms.add(&name, id, outbox);
        }
        let members = self.members_of(&name);
        let head = self.rooms.head(&name);
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

    /// Where a client's message to a room goes: the room, if the client is
    /// in it.
    fn room_to_post(
        &self,
        id: ClientId,
        msg_id: Option<&ClientMsgId>,
        room_name: &str,
    ) -> Result<Target, Refusal> {
        let nick = self.registered(id, msg_id)?;
        let refuse = |code, message: String| Refusal::about(msg_id, code, message);
        let room = room_key(room_name).map_err(|e| refuse(ErrorCode::RoomInvalid, e))?;
        let in_room = self
            .clients
            .get(&id)
            .is_some_and(|client| client.rooms.contains(&room));
        if !in_room {
            return Err(refuse(
                ErrorCode::NotInRoom,
                format!("join {room} before you post there"),
            ));
        }
        Ok(Target { room, nick })
    }

    /// Where a direct message to `to` goes: their conversation, which both
    /// users enter from its first message on.
    fn conversation_with(
        &mut self,
        id: ClientId,
        msg_id: Option<&ClientMsgId>,
        to: &str,
    ) -> Result<Target, Refusal> {
        let nick = self.registered(id, msg_id)?;
        let refuse = |code, message: String| Refusal::about(msg_id, code, message);
        let peer = self
            .nicks
            .holder(to)
            .filter(|peer| *peer != id)
            .ok_or_else(|| {
                refuse(
                    ErrorCode::NoSuchUser,
                    format!("nobody called {to} is online"),
                )
            })?;
        let peer_nick = self.nick_of(peer).cloned().unwrap_or_default();
        let room = direct_room(&nick, &peer_nick);
        for member in [id, peer] {
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
        self.rooms.broadcast(room_name, &event, Some(id));
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
        self.nicks.release(id, &nick);
        for room in &client.rooms {
            self.remove_from_room(id, room, nick.clone());
        }
    }

    fn remove_from_room(&mut self, id: ClientId, name: &str, nick: String) {
        if !self.rooms.remove(name, id) {
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

    /// Sends an event to one client.
    fn tell(&mut self, id: ClientId, msg: ServerMsg) {
        self.push(id, &Outgoing::new(msg));
    }

    fn push(&mut self, id: ClientId, event: &Arc<Outgoing>) {
        if let Some(client) = self.clients.get(&id)
            && client.outbox.try_push(Arc::clone(event)) == Pushed::Gone
        {
            self.rooms.gone.push(id);
        }
    }
}

/// A client gone from the hub whose last messages await the store's answer.
struct Leaving {
    outbox: Outbox,
    in_flight: usize,
}

/// Why a request was refused; becomes a `ServerMsg::Error` to its sender.
pub(super) struct Refusal {
    pub(super) code: ErrorCode,
    message: String,
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
fn room_key(name: &str) -> Result<String, String> {
    if direct_members(name).is_some() {
        return Ok(name.to_owned());
    }
    validate::normalize_room(name).map_err(|e| e.to_string())
}
