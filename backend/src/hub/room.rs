//! One room's members. Its messages and their sequence numbers are the
//! store's business.

use std::sync::Arc;

use crate::outbox::{Outbox, Outgoing, Pushed};

use super::ClientId;

pub(super) struct Room {
    /// In order of joining. A `Vec` because fan-out, the hot path, walks it
    /// front to back; joins and leaves are rare next to deliveries.
    members: Vec<Member>,
}

struct Member {
    id: ClientId,
    outbox: Outbox,
}

impl Room {
    pub(super) fn new() -> Self {
        Self {
            members: Vec::new(),
        }
    }

    pub(super) fn contains(&self, id: ClientId) -> bool {
        self.members.iter().any(|m| m.id == id)
    }

    pub(super) fn add(&mut self, id: ClientId, outbox: Outbox) {
        if !self.contains(id) {
            self.members.push(Member { id, outbox });
        }
    }

    pub(super) fn remove(&mut self, id: ClientId) {
        self.members.retain(|m| m.id != id);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub(super) fn member_ids(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.members.iter().map(|m| m.id)
    }

    /// Hands the same event to every member except `except` and returns how
    /// many took it. Members whose connection is gone are added to `gone`,
    /// for the hub to remove after the walk; members who are behind (and
    /// will read the event from the store) to `behind`.
    pub(super) fn broadcast(
        &self,
        event: &Arc<Outgoing>,
        except: Option<ClientId>,
        gone: &mut Vec<ClientId>,
        behind: &mut Vec<ClientId>,
    ) -> usize {
        let mut delivered = 0;
        for member in &self.members {
            if Some(member.id) == except {
                continue;
            }
            match member.outbox.try_broadcast(Arc::clone(event)) {
                Pushed::Queued => delivered += 1,
                Pushed::Behind => behind.push(member.id),
                Pushed::Gone => gone.push(member.id),
            }
        }
        delivered
    }
}
