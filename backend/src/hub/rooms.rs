//! This node's rooms: who is in each, each room's head, and delivering to
//! the members.
//!
//! A room exists here while someone is in it; its messages and their
//! numbers are the store's, and its head (the latest committed message's
//! sequence number) is kept for every room that has messages, present or
//! not. A delivery never waits: members whose connection is gone or who fell
//! behind are noted (`gone`, `behind`) for the hub to deal with once the
//! walk is done.

use std::collections::HashMap;
use std::sync::Arc;

use shared::{ChatMessage, ServerMsg};

use super::ClientId;
use super::room::Room;
use crate::outbox::{Outbox, Outgoing};

pub struct Rooms {
    /// Rooms with someone in them.
    rooms: HashMap<String, Room>,
    /// The sequence number of every room's latest committed message.
    heads: HashMap<String, u64>,
    /// Connections found gone during a delivery, removed once it is done.
    pub(super) gone: Vec<ClientId>,
    /// Readers found behind during a delivery: they catch up from the store.
    pub(super) behind: Vec<ClientId>,
    messages_in: metrics::Counter,
    deliveries: metrics::Counter,
}

impl Rooms {
    pub(super) fn new(heads: HashMap<String, u64>) -> Self {
        Self {
            rooms: HashMap::new(),
            heads,
            gone: Vec::new(),
            behind: Vec::new(),
            messages_in: metrics::counter!(crate::metrics::MESSAGES_IN),
            deliveries: metrics::counter!(crate::metrics::DELIVERIES),
        }
    }

    /// Delivers a committed message to the members of its room here, and
    /// moves the room's head to it. Returns how many members took it.
    pub fn deliver(&mut self, msg: ChatMessage) -> usize {
        let head = self.heads.entry(msg.room.clone()).or_insert(0);
        *head = (*head).max(msg.seq);
        self.messages_in.increment(1);
        let name = msg.room.clone();
        let event = Outgoing::new(ServerMsg::Message(msg));
        let delivered = self.broadcast(&name, &event, None);
        self.deliveries.increment(delivered as u64);
        delivered
    }

    /// The sequence number of `room`'s latest committed message (0: none).
    pub(super) fn head(&self, room: &str) -> u64 {
        self.heads.get(room).copied().unwrap_or(0)
    }

    pub(super) fn get(&self, name: &str) -> Option<&Room> {
        self.rooms.get(name)
    }

    /// The rooms with someone in them.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, &Room)> {
        self.rooms.iter()
    }

    /// Adds a member to a room, creating it; false if it was there already.
    pub(super) fn add(&mut self, name: &str, id: ClientId, outbox: Outbox) -> bool {
        let room = self.rooms.entry(name.to_owned()).or_insert_with(Room::new);
        if room.contains(id) {
            return false;
        }
        room.add(id, outbox);
        true
    }

    /// Takes a member out of a room; true if others are still in it.
    pub(super) fn remove(&mut self, name: &str, id: ClientId) -> bool {
        let Some(room) = self.rooms.get_mut(name) else {
            return false;
        };
        room.remove(id);
        if room.is_empty() {
            // An empty room costs nothing to recreate (its history and head
            // stay); keeping it would let a client grow the hub's memory by
            // joining made-up names.
            self.rooms.remove(name);
            return false;
        }
        true
    }

    /// Hands the same event to every member of `name` but `except`; returns
    /// how many took it.
    pub(super) fn broadcast(
        &mut self,
        name: &str,
        event: &Arc<Outgoing>,
        except: Option<ClientId>,
    ) -> usize {
        match self.rooms.get(name) {
            Some(room) => room.broadcast(event, except, &mut self.gone, &mut self.behind),
            None => 0,
        }
    }
}
