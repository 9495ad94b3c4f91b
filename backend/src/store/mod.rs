//! The durable message store: where every chat message is kept, and what
//! history, paging and resume read from.
//!
//! The hub hands each accepted message to [`Store::append`] and goes on; it
//! acknowledges and broadcasts the message only when that future resolves,
//! that is once the message is committed. The store numbers each message in
//! its room as part of the commit (strictly increasing, no gaps: a message
//! that is not committed takes no number), stamps it with the server's time,
//! and answers a resend of a client-chosen id with the original message. The
//! hub sees only the [`Store`] trait: today's implementation is SQLite in the
//! data directory ([`open_sqlite`]); a shared database or a broker can take
//! its place when Hubbub runs on several nodes, since the numbering is the
//! store's.
//!
//! The SQLite store (`sqlite`) runs SQLite on its own threads, never on the
//! runtime's: one writer thread owns the only write connection and commits
//! appends in groups (`writer`), and reads run on a small pool of read-only
//! connections through `spawn_blocking` (WAL lets them read beside the
//! writer). `schema` holds the schema and its migrations.

mod directory;
mod schema;
mod sqlite;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use shared::protocol::{SearchHit, UnreadCount};
use shared::{Attachment, ChatMessage, ClientMsgId, MessageKind};

pub use directory::{
    AccountId, AccountRecord, Change, Directory, NewAccount, Record, Sanction, SanctionKind,
    SecretHash, SessionRecord, Snapshot, Subject,
};
pub use sqlite::SqliteStore;
pub use writer::WriterStats;

/// The most messages any one read returns, whatever `limit` it was given, so
/// that no request can make the server hold a whole room in memory. Above
/// `shared::limits::REPLAY_LIMIT` + 1, what the doors ask for.
pub const MAX_READ: usize = 10_000;
/// The most appends that may wait for the writer. One more is refused at once
/// with [`StoreError::Overloaded`] (not stored, and without a number). The
/// hub keeps its own count of messages in flight below this.
pub const QUEUE_CAPACITY: usize = 8_192;

/// A message the hub has accepted, for the store to number and keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub room: String,
    pub nick: String,
    pub text: String,
    pub kind: MessageKind,
    /// The id the sender chose, when it chose one. A second message with the
    /// same id from the same nickname in the same room is not stored again:
    /// its append answers with the original ([`Appended::duplicate`]).
    pub client_id: Option<ClientMsgId>,
    /// The file this message shares: its record is stored in the same
    /// transaction as the message, so a file is known exactly when its
    /// announcement is. Boxed: rare, and messages wait in queues by the
    /// thousand.
    pub file: Option<Box<FileRecord>>,
    /// How long the message may wait for others to share its commit before
    /// the writer commits it. Zero, the rule outside heavy fan-out, commits
    /// it as soon as the writer is free; the hub asks for more when nobody
    /// would see the message sooner anyway (see
    /// [`crate::pace::WritePace::commit_patience`]).
    pub patience: Duration,
    /// The account that sends it (`None`: a guest).
    pub account: Option<AccountId>,
    /// For a deletion (kind `delete`): the message it deletes. The writer
    /// checks, in the same transaction, that the target exists and is not
    /// deleted yet, and that its author is `account` unless `moderator`;
    /// then the target loses its text and file.
    pub target: Option<u64>,
    /// The sender moderates the room: a deletion may take anyone's message
    /// (and one of someone else's is logged as a moderation action).
    pub moderator: bool,
    /// For an edit: how old its target may be (`None`: any age).
    pub edit_window: Option<Duration>,
}

/// A shared file as the store keeps it: what its messages show, and the hash
/// that names its bytes on disk. The uploader, room and time are the
/// announcing message's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub attachment: Attachment,
    /// The SHA-256 of the bytes, in lowercase hex.
    pub sha256: String,
}

/// A committed message: what the sender's acknowledgement and the room's
/// broadcast carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The message as stored, with its sequence number and time. For a
    /// duplicate, the original (its text is the original's too).
    pub msg: ChatMessage,
    /// The message's client id had been used already: nothing new was
    /// stored, and `msg` is the message sent the first time. Acknowledge it
    /// again; do not broadcast it again.
    pub duplicate: bool,
}

/// A page of search results, newest first, and the position the next page
/// starts before, when there may be one.
pub type SearchPage = (Vec<SearchHit>, Option<u64>);

/// Whose unread counts: an account, and its nickname's key for mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub account: AccountId,
    pub nick_key: String,
}

/// Where a committed message sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub ts: i64,
}

/// Keeps messages durably. Every method returns at once with a future that
/// owns what it needs, so the hub can start an append in its handler (without
/// awaiting) and learn of the commit later.
pub trait Store: Send + Sync + 'static {
    /// Numbers, stamps and appends one message durably; resolves once it is
    /// committed (fsynced). Calls from many tasks are grouped into one
    /// transaction by the implementation (group commit): that is how ingest
    /// reaches 20k msg/s with `synchronous=FULL`.
    ///
    /// Order: the message is queued when `append` is called, not when the
    /// future is first polled, and messages are committed, and numbered, in
    /// call order. Dropping the future does not take the message back.
    ///
    /// An error means the message was not stored and took no sequence
    /// number, with one exception: when a commit itself fails
    /// ([`StoreError::Write`], then [`StoreError::Failed`] for every later
    /// append), what reached the disk is unknown until a restart. A client
    /// that sends the message again with the same id then gets the original
    /// if it was stored, and it is stored now if it was not.
    fn append(&self, message: NewMessage) -> BoxFuture<'static, Result<Appended, StoreError>>;
    /// The newest `limit` messages of `room` with seq < `before` (or the
    /// newest overall when `None`), oldest first. `limit` is capped at
    /// [`MAX_READ`].
    fn history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>>;
    /// Messages of `room` with seq > `after`, oldest first, at most `limit`
    /// (capped at [`MAX_READ`]).
    fn since(
        &self,
        room: &str,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>>;
    /// The highest seq of every room that has messages (loaded once at start).
    fn heads(&self) -> BoxFuture<'static, Result<HashMap<String, u64>, StoreError>>;
    /// The committed message a client already sent with this id in this
    /// room, if any. (`append` already answers resends; this is for asking
    /// without sending.)
    fn find_by_client_id(
        &self,
        room: &str,
        nick: &str,
        client_id: &str,
    ) -> BoxFuture<'static, Result<Option<Committed>, StoreError>>;
    /// The shared file with this id, if there is one, and the room (or
    /// conversation) it was shared in. A file whose message was deleted is
    /// gone.
    fn file(
        &self,
        id: &str,
    ) -> BoxFuture<'static, Result<Option<(FileRecord, String)>, StoreError>>;
    /// The messages of `rooms` with all of `query`'s words (the last one
    /// also as the start of a word), newest first, found before the
    /// position `before` (the `next` of the previous page), at most
    /// `limit` (capped at [`MAX_READ`]); and the `next` of this page when
    /// there may be more.
    fn search(
        &self,
        rooms: Vec<String>,
        query: String,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'static, Result<SearchPage, StoreError>>;
    /// What is unread for `reader` in each of `rooms`: messages by others
    /// after its read marker, and those that mention it.
    fn unread(
        &self,
        reader: Reader,
        rooms: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<UnreadCount>, StoreError>>;
    /// Moves `account`'s read marker in `room` forward to `seq` (never
    /// back), and returns where it is then.
    fn mark_read(
        &self,
        account: AccountId,
        room: String,
        seq: u64,
    ) -> BoxFuture<'static, Result<u64, StoreError>>;
    /// Every read marker of `account`: the room and the last seq it read.
    fn read_markers(
        &self,
        account: AccountId,
    ) -> BoxFuture<'static, Result<BTreeMap<String, u64>, StoreError>>;
    /// The last seq of `room` stamped before `ts` (milliseconds since the
    /// epoch), 0 if none: where a reader asking by time starts.
    fn seq_before_time(&self, room: &str, ts: i64) -> BoxFuture<'static, Result<u64, StoreError>>;
    /// Waits for every append already made to be committed (graceful
    /// shutdown), then refuses appends. Reads keep working.
    fn close(&self) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// Opens (creating it if need be) the SQLite store `hubbub.db` in `data_dir`
/// and brings its schema up to date.
///
/// This does blocking file I/O (opening, migrating): call it before serving,
/// or from `spawn_blocking`.
pub fn open_sqlite(data_dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqliteStore::open(data_dir)?))
}

/// Why the store could not do what it was asked.
///
/// `Clone`, because one failed commit fails every append of its group, and
/// each of them gets the error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or set up.
    #[error("cannot open the message store {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    /// The database was written by a newer Hubbub.
    #[error(
        "the message store has schema version {found}, but this build knows only up to {known}: \
         run a newer Hubbub, or restore a backup"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// The store could not give the message a sequence number it can keep
    /// (the room's numbers are used up, or another process writes to the
    /// same database).
    #[error("a message to room {room:?} was refused: {reason}")]
    Refused { room: String, reason: String },
    /// [`QUEUE_CAPACITY`] appends are already waiting for the writer.
    #[error("the message store is overloaded; the message was not stored")]
    Overloaded,
    /// The store was closed; the message was not stored.
    #[error("the message store is closed; the message was not stored")]
    Closed,
    /// Writing the group this message was in failed; none of the group was
    /// stored, and none took a sequence number. (If the commit itself
    /// failed, that is unknown until a restart: see [`StoreError::Failed`].)
    #[error("writing to the message store failed: {0}")]
    Write(String),
    /// A commit failed in a way that leaves unknown what reached the disk,
    /// so the store takes no more writes until Hubbub is restarted (and
    /// reads what is really there). Restart once the cause, such as a full
    /// disk, is fixed.
    #[error("the message store refuses writes after a failed commit: {0}")]
    Failed(String),
    /// A read failed.
    #[error("reading from the message store failed: {0}")]
    Read(String),
    /// A stored row cannot be turned back into a message.
    #[error("the message store holds a row it cannot read: {0}")]
    Corrupt(String),
    /// A deletion's target is not a message of the room, or is deleted.
    #[error("there is no message {seq} in this room")]
    NoSuchMessage { seq: u64 },
    /// A deletion's or an edit's target is someone else's message.
    #[error("message {seq} is someone else's")]
    NotYours { seq: u64 },
    /// An edit came after the edit window.
    #[error("message {seq} is too old to edit")]
    TooOldToEdit { seq: u64 },
    /// A reaction that is there already, or not there to take back, or an
    /// edit to the text the message has.
    #[error("nothing changes: {0}")]
    Unchanged(&'static str),
    /// A reaction beyond [`shared::limits::MAX_REACTIONS`] different ones,
    /// or to something that takes none (a deletion, an edit).
    #[error("{0}")]
    NoReaction(&'static str),
    /// The nickname is an account already.
    #[error("the nickname is registered already")]
    Taken,
    /// The invite code does not exist, was used, or ran out.
    #[error("that invite code does not register: it is unknown, used or expired")]
    InviteInvalid,
}

impl StoreError {
    /// Whether the error's text is about the server's insides (SQLite's
    /// words, paths) rather than a state a client can act on (busy, closed):
    /// such text is logged, and clients get an [`crate::incident::Incident`].
    pub fn is_internal(&self) -> bool {
        !matches!(
            self,
            StoreError::Overloaded
                | StoreError::Closed
                | StoreError::NoSuchMessage { .. }
                | StoreError::NotYours { .. }
                | StoreError::Taken
                | StoreError::InviteInvalid
        )
    }
}
