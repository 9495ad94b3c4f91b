//! The hub task and the state only it owns.
//!
//! Every handler runs to completion without awaiting: the hub never waits on a
//! connection. Events reach connections through `try_push`, and a connection
//! whose queue is full is closed as too slow instead of holding up everyone.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use shared::validate::{self, nick_key};
use shared::{ChatMessage, ClientMsgId, DEFAULT_ROOM, ErrorCode, Limits, MessageKind, ServerMsg};
use tokio::sync::mpsc;

use super::room::Room;
use super::{ClientId, Command, Door, Request};
use crate::outbox::{Outbox, Outgoing, Pushed};

pub(super) async fn run(mut commands: mpsc::Receiver<Command>, clients: Arc<AtomicUsize>) {
    let mut state = State::new();
    while let Some(command) = commands.recv().await {
        state.handle(command);
        clients.store(state.clients.len(), Ordering::Relaxed);
    }
    tracing::debug!("hub stopped: no connections and no doors left");
}

struct Client {
    outbox: Outbox,
    /// `None` until the client has said hello.
    nick: Option<String>,
    rooms: BTreeSet<String>,
    #[allow(dead_code, reason = "read by metrics once they exist")]
    door: Door,
}

struct State {
    clients: HashMap<ClientId, Client>,
    /// Nickname key (see `validate::nick_key`) → holder.
    nicks: HashMap<String, ClientId>,
    rooms: HashMap<String, Room>,
    next_guest: u64,
    /// Connections found gone during a fan-out, removed once it is done.
    gone: Vec<ClientId>,
    messages_in: metrics::Counter,
    deliveries: metrics::Counter,
}

impl State {
    fn new() -> Self {
        Self {
            clients: HashMap::new(),
            nicks: HashMap::new(),
            rooms: HashMap::new(),
            next_guest: 0,
            gone: Vec::new(),
            messages_in: metrics::counter!(crate::metrics::MESSAGES_IN),
            deliveries: metrics::counter!(crate::metrics::DELIVERIES),
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Connect { id, door, outbox } => {
                let client = Client {
                    outbox,
                    nick: None,
                    rooms: BTreeSet::new(),
                    door,
                };
                self.clients.insert(id, client);
            }
            Command::Request { id, request } => self.request(id, request),
            Command::Disconnect { id } => self.remove(id),
        }
        self.sweep();
    }

    fn request(&mut self, id: ClientId, request: Request) {
        if !self.clients.contains_key(&id) {
            return; // Already removed (found slow or gone).
        }
        let result = match request {
            Request::Hello { nick } => self.hello(id, &nick),
            Request::HelloGuest => {
                let nick = self.free_guest_nick();
                self.hello(id, &nick)
            }
            Request::Nick { nick } => self.rename(id, &nick),
            Request::Join { room } => self.join(id, &room),
            Request::Leave { room } => self.leave(id, &room),
            Request::Send {
                id: msg_id,
                room,
                text,
                kind,
            } => self.post(id, msg_id.as_ref(), &room, text, kind),
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

    fn hello(&mut self, id: ClientId, wanted: &str) -> Result<(), Refusal> {
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
                nick,
                server: env!("CARGO_PKG_VERSION").to_owned(),
                limits: Limits::V1,
            },
        );
        self.join(id, DEFAULT_ROOM)
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

    fn join(&mut self, id: ClientId, room_name: &str) -> Result<(), Refusal> {
        let nick = self.registered(id, None)?;
        let name = validate::normalize_room(room_name)
            .map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e.to_string()))?;
        let Some(client) = self.clients.get_mut(&id) else {
            return Ok(());
        };
        let outbox = client.outbox.clone();
        let newly_joined = client.rooms.insert(name.clone());
        let room = self.rooms.entry(name.clone()).or_insert_with(Room::new);
        if newly_joined {
            let event = Outgoing::new(ServerMsg::UserJoined {
                room: name.clone(),
                nick,
            });
            room.broadcast(&event, None, &mut self.gone);
            room.add(id, outbox);
        }
        let mut members: Vec<String> = room
            .member_ids()
            .filter_map(|member| self.clients.get(&member)?.nick.clone())
            .collect();
        members.sort_by_key(|nick| nick.to_lowercase());
        self.tell(
            id,
            ServerMsg::Joined {
                room: name,
                members,
            },
        );
        Ok(())
    }

    fn leave(&mut self, id: ClientId, room_name: &str) -> Result<(), Refusal> {
        let nick = self.registered(id, None)?;
        let name = validate::normalize_room(room_name)
            .map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e.to_string()))?;
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
        msg_id: Option<&ClientMsgId>,
        room_name: &str,
        text: String,
        kind: MessageKind,
    ) -> Result<(), Refusal> {
        let nick = self.registered(id, msg_id)?;
        if let Some(msg_id) = msg_id
            && !validate::validate_id(msg_id)
        {
            return Err(Refusal::new(
                ErrorCode::IdInvalid,
                format!("a message id has 1 to {} bytes", Limits::V1.max_id_bytes),
            ));
        }
        let refuse = |code, message: String| Refusal {
            code,
            message,
            msg_id: msg_id.cloned(),
        };
        let name = validate::normalize_room(room_name)
            .map_err(|e| refuse(ErrorCode::RoomInvalid, e.to_string()))?;
        let in_room = self
            .clients
            .get(&id)
            .is_some_and(|client| client.rooms.contains(&name));
        let room = match self.rooms.get_mut(&name) {
            Some(room) if in_room => room,
            _ => {
                return Err(refuse(
                    ErrorCode::NotInRoom,
                    format!("join {name} before you post there"),
                ));
            }
        };
        validate::validate_text(&text).map_err(|e| {
            let code = match e {
                validate::TextError::Empty => ErrorCode::TextEmpty,
                validate::TextError::TooLong(_) => ErrorCode::TextTooLong,
            };
            refuse(code, e.to_string())
        })?;

        let seq = room.take_seq();
        let ts = now_millis();
        if let Some(msg_id) = msg_id {
            let ack = Outgoing::new(ServerMsg::Ack {
                id: msg_id.clone(),
                room: name.clone(),
                seq,
                ts,
            });
            if let Some(client) = self.clients.get(&id)
                && client.outbox.try_push(ack) == Pushed::Gone
            {
                self.gone.push(id);
            }
        }
        let event = Outgoing::new(ServerMsg::Message(ChatMessage {
            room: name,
            seq,
            ts,
            nick,
            text,
            kind,
        }));
        let delivered = room.broadcast(&event, None, &mut self.gone);
        self.messages_in.increment(1);
        self.deliveries.increment(delivered as u64);
        Ok(())
    }

    /// Removes a connection: frees its nickname and leaves its rooms, telling
    /// the people there.
    fn remove(&mut self, id: ClientId) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
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
            // An empty room costs nothing to recreate; keeping it would let a
            // client grow the hub's memory by joining made-up names.
            self.rooms.remove(name);
            return;
        }
        let event = Outgoing::new(ServerMsg::UserLeft {
            room: name.to_owned(),
            nick,
        });
        room.broadcast(&event, None, &mut self.gone);
    }

    /// Removes the connections found gone during the last command. Removing
    /// one tells its rooms, which can find more gone: repeat until none are.
    fn sweep(&mut self) {
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
        self.nick_of(id).cloned().ok_or_else(|| Refusal {
            code: ErrorCode::NotRegistered,
            message: "say hello with a nickname first".to_owned(),
            msg_id: msg_id.cloned(),
        })
    }

    /// Sends an event to one client.
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

/// Why a request was refused; becomes a `ServerMsg::Error` to its sender.
struct Refusal {
    code: ErrorCode,
    message: String,
    msg_id: Option<ClientMsgId>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            msg_id: None,
        }
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
