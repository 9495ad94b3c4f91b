//! History for one connection: what a client gets from the store when it
//! joins a room (the latest messages), when it comes back (exactly what it
//! missed), and when it scrolls up (older pages).
//!
//! The order of events makes this exact. The hub tells a client `joined`,
//! with the room's head, before any live message of that room reaches the
//! client's queue, and every later message has a higher sequence number. So
//! the connection writes `joined`, then reads the store up to the head, then
//! carries on with the queue: history and live messages meet without a gap
//! and without a message twice.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use shared::limits::{JOIN_HISTORY, MAX_HISTORY_PAGE, REPLAY_LIMIT};
use shared::{ChatMessage, ErrorCode, ServerMsg};

use crate::hub::Request;
use crate::outbox::Outgoing;
use crate::store::Store;

pub(super) struct Recall {
    store: Arc<dyn Store>,
    /// The rooms the client was told it is in.
    rooms: HashSet<String>,
    /// The last sequence number the client saw per room, from its hello,
    /// until the room's `joined` uses it.
    resume: BTreeMap<String, u64>,
}

impl Recall {
    pub(super) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            rooms: HashSet::new(),
            resume: BTreeMap::new(),
        }
    }

    /// Remembers where a reconnecting client left off.
    pub(super) fn note(&mut self, request: &Request) {
        if let Request::Hello { resume, .. } = request {
            self.resume.clone_from(resume);
        }
    }

    /// Inserts, after each `joined` in the batch, the history that goes with
    /// it. Batches without one (nearly all) pass untouched.
    pub(super) async fn expand(&mut self, batch: &mut Vec<Arc<Outgoing>>) {
        let joins = batch.iter().any(|event| {
            matches!(
                event.msg(),
                ServerMsg::Joined { .. } | ServerMsg::Left { .. }
            )
        });
        if !joins {
            return;
        }
        let events = std::mem::take(batch);
        for event in events {
            let joined = match event.msg() {
                ServerMsg::Joined { room, head, .. } => Some((room.clone(), *head)),
                ServerMsg::Left { room } => {
                    self.rooms.remove(room);
                    None
                }
                _ => None,
            };
            batch.push(event);
            if let Some((room, head)) = joined {
                self.rooms.insert(room.clone());
                for msg in self.catch_up(&room, head).await {
                    batch.push(Outgoing::new(msg));
                }
            }
        }
    }

    /// What a client that just joined `room` (whose latest message is
    /// `head`) gets: what it missed, if it is coming back, or the latest
    /// messages.
    async fn catch_up(&mut self, room: &str, head: u64) -> Vec<ServerMsg> {
        if head == 0 {
            return Vec::new();
        }
        if let Some(seen) = self.resume.remove(room) {
            if seen >= head {
                return Vec::new();
            }
            match self.store.since(room, seen, REPLAY_LIMIT + 1).await {
                Ok(mut missed) => {
                    missed.retain(|m| m.seq <= head);
                    let whole = missed.len() <= REPLAY_LIMIT
                        && missed.first().is_some_and(|m| m.seq == seen + 1);
                    if whole {
                        return vec![page(room, missed)];
                    }
                    // Too much to replay: say where the hole is, then give
                    // the latest messages as a fresh start.
                    let latest = self.latest(room, head).await;
                    let to = latest.first().map_or(head, |m| m.seq - 1);
                    let mut out = Vec::new();
                    if to > seen {
                        out.push(ServerMsg::Gap {
                            room: room.to_owned(),
                            from: seen + 1,
                            to,
                        });
                    }
                    out.push(page(room, latest));
                    return out;
                }
                Err(error) => return vec![unavailable(&error)],
            }
        }
        vec![page(room, self.latest(room, head).await)]
    }

    async fn latest(&self, room: &str, head: u64) -> Vec<ChatMessage> {
        match self.store.history(room, Some(head + 1), JOIN_HISTORY).await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, room, "cannot read history");
                Vec::new()
            }
        }
    }

    /// An older page, for a `history` request.
    pub(super) async fn older(&self, room: &str, before: u64, limit: Option<u32>) -> ServerMsg {
        if !self.rooms.contains(room) {
            return ServerMsg::error(
                ErrorCode::NotInRoom,
                format!("join {room} to read its history"),
            );
        }
        let limit = limit
            .map_or(MAX_HISTORY_PAGE, |l| {
                usize::try_from(l).unwrap_or(MAX_HISTORY_PAGE)
            })
            .clamp(1, MAX_HISTORY_PAGE);
        match self.store.history(room, Some(before), limit).await {
            Ok(messages) => page(room, messages),
            Err(error) => unavailable(&error),
        }
    }
}

/// A page of messages; sequence numbers start at 1 and have no gaps, so the
/// first one says whether older ones exist.
fn page(room: &str, messages: Vec<ChatMessage>) -> ServerMsg {
    let has_older = messages.first().is_some_and(|m| m.seq > 1);
    ServerMsg::History {
        room: room.to_owned(),
        messages,
        has_older,
    }
}

fn unavailable(error: &crate::store::StoreError) -> ServerMsg {
    tracing::warn!(%error, "cannot read history");
    ServerMsg::error(
        ErrorCode::StoreFailed,
        "history is unavailable right now; try again",
    )
}
