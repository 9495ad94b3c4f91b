//! What readers ask about their rooms besides messages: read markers (an
//! account's, kept in the store and told to all its connections), unread
//! counts and search. The hub checks who asks and for which rooms; the
//! store answers on a task of its own, so the hub never waits for a read.

use shared::limits::{MAX_QUERY_BYTES, SEARCH_PAGE};
use shared::validate::nick_key;
use shared::{ErrorCode, ServerMsg};

use super::ClientId;
use super::actor::{Refusal, State, room_key};
use crate::incident::Incident;
use crate::outbox::{Outbox, Outgoing};
use crate::store::Reader;

impl State {
    /// Moves the account's read marker in `room` to `seq` (at most the
    /// room's latest message), and tells every connection of the account.
    pub(super) fn mark_read(&mut self, id: ClientId, room: &str, seq: u64) -> Result<(), Refusal> {
        self.registered(id, None)?;
        let room = room_key(room).map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e))?;
        let Some(account) = self.account_of(id) else {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "sign in to keep read markers on the server (a guest's stay in its browser)",
            ));
        };
        if !self.is_in(id, &room) {
            return Err(Refusal::new(
                ErrorCode::NotInRoom,
                format!("join {room} to mark it read"),
            ));
        }
        let seq = seq.min(self.rooms.head(&room));
        let outboxes: Vec<Outbox> = self
            .online_connections(account)
            .into_iter()
            .filter_map(|client| self.outbox_of(client))
            .collect();
        let write = self.commits.store.mark_read(account, room.clone(), seq);
        tokio::spawn(async move {
            match write.await {
                Ok(seq) => {
                    let event = Outgoing::new(ServerMsg::Read { room, seq });
                    for outbox in outboxes {
                        let _ = outbox.try_push(std::sync::Arc::clone(&event));
                    }
                }
                Err(error) => {
                    Incident::log("a read marker could not be stored", &error);
                }
            }
        });
        Ok(())
    }

    /// Sends the client what is unread in each of its rooms.
    pub(super) fn unread(&mut self, id: ClientId) -> Result<(), Refusal> {
        let nick = self.registered(id, None)?;
        let Some(account) = self.account_of(id) else {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "sign in to have unread counts on the server (a guest's stay in its browser)",
            ));
        };
        let Some(outbox) = self.outbox_of(id) else {
            return Ok(());
        };
        let reader = Reader {
            account,
            nick_key: nick_key(&nick),
        };
        let read = self.commits.store.unread(reader, self.rooms_of(id));
        tokio::spawn(async move {
            let msg = match read.await {
                Ok(rooms) => ServerMsg::Unread { rooms },
                Err(error) => {
                    let incident = Incident::log("unread counts could not be read", &error);
                    ServerMsg::error(ErrorCode::StoreFailed, incident.to_string())
                }
            };
            let _ = outbox.try_push(Outgoing::new(msg));
        });
        Ok(())
    }

    /// Searches `room` (or every room the client is in) for `q`'s words and
    /// sends the client a page of results.
    pub(super) fn search(
        &mut self,
        id: ClientId,
        q: &str,
        room: Option<&str>,
        before: Option<u64>,
    ) -> Result<(), Refusal> {
        self.registered(id, None)?;
        let q = q.trim();
        if q.is_empty() {
            return Err(Refusal::new(
                ErrorCode::TextEmpty,
                "type words to search for",
            ));
        }
        if q.len() > MAX_QUERY_BYTES {
            return Err(Refusal::new(
                ErrorCode::TextTooLong,
                format!("a search has at most {MAX_QUERY_BYTES} bytes"),
            ));
        }
        let rooms = match room {
            Some(room) => {
                let room = room_key(room).map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e))?;
                if !self.is_in(id, &room) {
                    return Err(Refusal::new(
                        ErrorCode::NotInRoom,
                        format!("join {room} to search it"),
                    ));
                }
                vec![room]
            }
            None => self.rooms_of(id),
        };
        let Some(outbox) = self.outbox_of(id) else {
            return Ok(());
        };
        let q = q.to_owned();
        let found = self
            .commits
            .store
            .search(rooms, q.clone(), before, SEARCH_PAGE);
        tokio::spawn(async move {
            let msg = match found.await {
                Ok((results, next)) => ServerMsg::SearchResults { q, results, next },
                Err(error) => {
                    let incident = Incident::log("a search failed", &error);
                    ServerMsg::error(ErrorCode::StoreFailed, incident.to_string())
                }
            };
            let _ = outbox.try_push(Outgoing::new(msg));
        });
        Ok(())
    }
}
