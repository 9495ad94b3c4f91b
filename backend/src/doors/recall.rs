//! History for one connection, for every door: what a client gets from the store when it
//! joins a room (the latest messages), when it comes back (exactly what it
//! missed), when it scrolls up (older pages), and when it fell behind the
//! live messages and catches up.
//!
//! The order of events makes this exact. The hub tells a client `joined`,
//! with the room's head, before any live message of that room reaches the
//! client's queue, and every later message has a higher sequence number. So
//! the connection writes `joined`, then reads the store up to the head, then
//! carries on with the queue: history and live messages meet without a gap
//! and without a message twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use shared::limits::{JOIN_HISTORY, MAX_HISTORY_PAGE, REPLAY_LIMIT};
use shared::{ChatMessage, ErrorCode, ServerMsg};

use super::driver::Bound;
use crate::hub::{Request, RoomSet, Session};
use crate::incident::Incident;
use crate::outbox::Outgoing;
use crate::store::{AccountId, Store, StoreError};

/// A catch-up step's question to the hub: see [`Recall::settle`].
pub(super) type Settle = std::pin::Pin<Box<dyn Future<Output = bool> + Send>>;

pub(super) struct Recall {
    store: Arc<dyn Store>,
    /// The rooms the client was told it is in.
    rooms: RoomSet,
    /// The last sequence number the client saw per room, from its hello,
    /// until the room's `joined` uses it.
    resume: BTreeMap<String, u64>,
    /// The last sequence number written to the client per room.
    positions: Positions,
}

impl Recall {
    pub(super) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            rooms: RoomSet::default(),
            resume: BTreeMap::new(),
            positions: Positions::default(),
        }
    }

    /// Remembers where a reconnecting client left off.
    pub(super) fn note(&mut self, request: &Request) {
        if let Request::Hello { resume, .. } = request {
            self.resume.clone_from(resume);
        }
    }

    /// Prepares a batch for writing: notes how far each room has been
    /// written, drops a message already written (after a catch-up from the
    /// store, the live copy of a message read there may still come), and
    /// inserts, after each `joined`, the history that goes with it.
    ///
    /// The filtering is done when this is called; the returned future only
    /// has work when the batch holds a join or a leave. That work reads the
    /// store and is boxed, so that it does not size every connection's task.
    pub(super) fn expand<'a>(
        &'a mut self,
        batch: &'a mut Vec<Arc<Outgoing>>,
    ) -> impl Future<Output = ()> + Send + 'a {
        let mut joins = false;
        batch.retain(|event| match event.msg() {
            ServerMsg::Message(m) => self.positions.advance(&m.room, m.seq),
            ServerMsg::Joined { .. } | ServerMsg::Left { .. } => {
                joins = true;
                true
            }
            _ => true,
        });
        let history = joins.then(|| Box::pin(self.follow_joins(batch)));
        async move {
            if let Some(history) = history {
                history.await;
            }
        }
    }

    /// Notes the rooms a batch joins and leaves, and inserts the history
    /// that goes with each `joined` after it.
    async fn follow_joins(&mut self, batch: &mut Vec<Arc<Outgoing>>) {
        let events = std::mem::take(batch);
        for event in events {
            let joined = match event.msg() {
                ServerMsg::Joined { room, head, .. } => Some((room.clone(), *head)),
                ServerMsg::Left { room } => {
                    self.rooms.remove(room);
                    self.positions.remove(room);
                    None
                }
                _ => None,
            };
            batch.push(event);
            if let Some((room, head)) = joined {
                self.rooms.insert(room.clone());
                for msg in self.joined_history(&room, head).await {
                    batch.push(Outgoing::new(msg));
                }
                // History covers the room up to its head; live messages
                // follow it.
                self.positions.advance(&room, head);
            }
        }
    }

    /// For a reader that fell behind: the next pages of what it missed in
    /// each room, read from the store after what it was last written.
    pub(super) async fn missed(&mut self) -> Vec<Arc<Outgoing>> {
        let mut pages = Vec::new();
        let rooms: Vec<String> = self.rooms.iter().cloned().collect();
        for room in rooms {
            let after = self.positions.get(&room).unwrap_or(0);
            match self.store.since(&room, after, REPLAY_LIMIT).await {
                Ok(messages) if !messages.is_empty() => {
                    if let Some(last) = messages.last() {
                        self.positions.advance(&room, last.seq);
                    }
                    pages.extend(page(&room, messages).into_iter().map(Outgoing::new));
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, room, "cannot read missed messages"),
            }
        }
        pages
    }

    /// After a catch-up step wrote the pages of [`Recall::missed`] (`wrote`
    /// says whether there were any): resolves to whether the reader is done,
    /// because the hub agrees it has everything and sends it live messages
    /// again. A door repeats `missed`, write, `settle` until it is (or the
    /// hub closes it: it closes a reader that stays behind past `max_lag`).
    /// The wait is the door's to poll beside its other work.
    pub(super) fn settle(&self, session: &Session, wrote: bool) -> Settle {
        let level = session.catch_up(self.positions());
        Box::pin(async move {
            if level.await {
                return true;
            }
            if !wrote {
                // The store had nothing new yet (or could not be read): give
                // it a moment rather than asking again at once.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        })
    }

    /// How far each of the client's rooms has been written.
    fn positions(&self) -> HashMap<String, u64> {
        self.rooms
            .iter()
            .map(|room| (room.clone(), self.positions.get(room).unwrap_or(0)))
            .collect()
    }

    /// What a client that just joined `room` (whose latest message is
    /// `head`) gets: what it missed, if it is coming back, or the latest
    /// messages.
    async fn joined_history(&mut self, room: &str, head: u64) -> Vec<ServerMsg> {
        let resumed = self.resume.remove(room);
        if self.resume.is_empty() {
            // Free the map's node: it would stay for the whole connection.
            self.resume = BTreeMap::new();
        }
        if head == 0 {
            return Vec::new();
        }
        if let Some(seen) = resumed {
            if seen >= head {
                return Vec::new();
            }
            match self.store.since(room, seen, REPLAY_LIMIT + 1).await {
                Ok(mut missed) => {
                    missed.retain(|m| m.seq <= head);
                    let whole = missed.len() <= REPLAY_LIMIT
                        && missed.first().is_some_and(|m| m.seq == seen + 1);
                    if whole {
                        return page(room, missed);
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
                    out.extend(page(room, latest));
                    return out;
                }
                Err(error) => return vec![unavailable(&error)],
            }
        }
        page(room, self.latest(room, head).await)
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

    /// The account's read markers, to resume from.
    pub(super) async fn read_markers(
        &self,
        account: AccountId,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        self.store.read_markers(account).await
    }

    /// The messages of `room` strictly between `after` and `before`: the
    /// oldest `limit` of them, or the newest when `newest`; one page.
    pub(super) async fn range(
        &self,
        room: &str,
        after: Bound,
        before: Bound,
        limit: usize,
        newest: bool,
    ) -> ServerMsg {
        if !self.rooms.contains(room) {
            return ServerMsg::error(
                ErrorCode::NotInRoom,
                format!("join {room} to read its history"),
            );
        }
        let limit = limit.clamp(1, MAX_HISTORY_PAGE);
        let read = async {
            // A moment is where the messages stamped before it end.
            let after = match after {
                Bound::Open => 0,
                Bound::Seq(seq) => seq,
                Bound::Time(ts) => self.store.seq_before_time(room, ts).await?,
            };
            let before = match before {
                Bound::Open => u64::MAX,
                Bound::Seq(seq) => seq,
                Bound::Time(ts) => self
                    .store
                    .seq_before_time(room, ts)
                    .await?
                    .saturating_add(1),
            };
            let mut messages = if newest {
                self.store.history(room, Some(before), limit).await?
            } else {
                self.store.since(room, after, limit).await?
            };
            messages.retain(|m| m.seq > after && m.seq < before);
            Ok::<_, StoreError>(messages)
        };
        match read.await {
            Ok(messages) => history(room, messages),
            Err(error) => unavailable(&error),
        }
    }

    /// An older page, for a `history` request.
    pub(super) async fn older(
        &self,
        room: &str,
        before: u64,
        limit: Option<u32>,
    ) -> Vec<ServerMsg> {
        if !self.rooms.contains(room) {
            return vec![ServerMsg::error(
                ErrorCode::NotInRoom,
                format!("join {room} to read its history"),
            )];
        }
        let limit = limit
            .map_or(MAX_HISTORY_PAGE, |l| {
                usize::try_from(l).unwrap_or(MAX_HISTORY_PAGE)
            })
            .clamp(1, MAX_HISTORY_PAGE);
        match self.store.history(room, Some(before), limit).await {
            Ok(messages) => page(room, messages),
            Err(error) => vec![unavailable(&error)],
        }
    }
}

/// The last sequence number written to the client in each room. Looked up
/// for every message written, so a short list rather than a hash map: a
/// client is in a few rooms, and a run of messages is mostly of one room, so
/// the room found last is tried first and usually costs one comparison.
#[derive(Default)]
struct Positions {
    rooms: Vec<(String, u64)>,
    last: usize,
}

impl Positions {
    fn find(&mut self, room: &str) -> Option<usize> {
        if self
            .rooms
            .get(self.last)
            .is_some_and(|(name, _)| name == room)
        {
            return Some(self.last);
        }
        let found = self.rooms.iter().position(|(name, _)| name == room)?;
        self.last = found;
        Some(found)
    }

    fn get(&self, room: &str) -> Option<u64> {
        self.rooms
            .iter()
            .find(|(name, _)| name == room)
            .map(|&(_, seq)| seq)
    }

    /// Moves a room's written position to `seq`; false if it was already
    /// there or past it (the message was written before).
    fn advance(&mut self, room: &str, seq: u64) -> bool {
        match self.find(room) {
            Some(index) => {
                let at = &mut self.rooms[index].1;
                if *at >= seq {
                    return false;
                }
                *at = seq;
            }
            None => {
                // One place per room, as in `RoomSet::insert`.
                self.rooms.reserve_exact(1);
                self.rooms.push((room.to_owned(), seq));
            }
        }
        true
    }

    fn remove(&mut self, room: &str) {
        self.rooms.retain(|(name, _)| name != room);
        self.last = 0;
    }
}

/// Most text in one `history` frame. A page of long messages is sent as
/// several frames, so that no frame is larger than a connection's write
/// buffer takes, or than a client would want to parse at once.
const FRAME_TEXT_BYTES: usize = 64 * 1024;

/// A page of messages as `history` frames of at most [`MAX_HISTORY_PAGE`]
/// messages and about [`FRAME_TEXT_BYTES`] of text each (never empty:
/// a frame holds at least one message). Sequence numbers start at 1 and
/// have no gaps, so a frame's first one says whether older ones exist.
fn page(room: &str, messages: Vec<ChatMessage>) -> Vec<ServerMsg> {
    let mut frames = Vec::new();
    let mut chunk: Vec<ChatMessage> = Vec::new();
    let mut bytes = 0;
    for message in messages {
        let len = message.text.len();
        if !chunk.is_empty() && (chunk.len() == MAX_HISTORY_PAGE || bytes + len > FRAME_TEXT_BYTES)
        {
            frames.push(history(room, std::mem::take(&mut chunk)));
            bytes = 0;
        }
        bytes += len;
        chunk.push(message);
    }
    if !chunk.is_empty() || frames.is_empty() {
        frames.push(history(room, chunk));
    }
    frames
}

fn history(room: &str, messages: Vec<ChatMessage>) -> ServerMsg {
    let has_older = messages.first().is_some_and(|m| m.seq > 1);
    ServerMsg::History {
        room: room.to_owned(),
        messages,
        has_older,
    }
}

fn unavailable(error: &StoreError) -> ServerMsg {
    let incident = Incident::log("history could not be read", error);
    ServerMsg::error(
        ErrorCode::StoreFailed,
        format!("history is unavailable right now; try again ({incident})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::MessageKind;

    fn message(seq: u64, len: usize) -> ChatMessage {
        ChatMessage {
            room: "lobby".into(),
            seq,
            ts: 0,
            nick: "a".into(),
            text: "x".repeat(len),
            kind: MessageKind::Text,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }
    }

    #[test]
    fn long_pages_go_out_as_several_bounded_frames() {
        let messages: Vec<ChatMessage> = (1..=40).map(|seq| message(seq, 4000)).collect();
        let frames = page("lobby", messages);
        let mut seqs = Vec::new();
        for frame in &frames {
            let ServerMsg::History { messages, .. } = frame else {
                panic!("{frame:?}");
            };
            let text: usize = messages.iter().map(|m| m.text.len()).sum();
            assert!(text <= FRAME_TEXT_BYTES, "{text} bytes in one frame");
            seqs.extend(messages.iter().map(|m| m.seq));
        }
        assert!(frames.len() > 1);
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "all, once, in order");
        // Short messages: at most a page's worth per frame.
        let frames = page("lobby", (1..=250).map(|seq| message(seq, 10)).collect());
        assert_eq!(frames.len(), 3);
        // Nothing to send is still an answer.
        assert_eq!(page("lobby", Vec::new()).len(), 1);
    }
}
