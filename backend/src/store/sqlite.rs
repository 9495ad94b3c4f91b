//! [`SqliteStore`]: the [`Store`] kept in one SQLite file in the data
//! directory.
//!
//! Appends go to the writer thread (`writer`); reads run on a small pool of
//! read-only connections through `spawn_blocking`. In WAL mode a reader sees
//! the last commit made before its read began and never waits for the writer,
//! nor the writer for it. A `std::sync::Mutex` guards the idle connections,
//! not a Tokio one: it is held only to push or pop one, never across an
//! `.await` or a query.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt as _;
use futures_util::future::{self, BoxFuture};
use rusqlite::{Connection, OptionalExtension as _, params};
use shared::protocol::{Quote, UnreadCount};
use shared::{Attachment, ChatMessage};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc, oneshot};

mod directory;
#[cfg(test)]
#[path = "sqlite/directory_tests.rs"]
mod directory_tests;
mod reading;

use super::schema;
use super::writer::{self, Command, Counters, Exec, ExecFn, Job, WriterStats};
use super::{
    AccountId, Appended, Committed, FileRecord, MAX_READ, NewMessage, QUEUE_CAPACITY, Reader,
    SearchPage, Store, StoreError,
};

/// The most reads that run at once (each on its own connection and blocking
/// thread). More wait their turn, so a burst of joins cannot take every
/// blocking thread.
const READERS: usize = 4;

/// The SQLite message store. Cheap to share: it is one `Arc` inside. Most
/// code should hold it as `Arc<dyn Store>` (see [`super::open_sqlite`]);
/// the concrete type adds [`SqliteStore::stats`] and [`SqliteStore::path`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    commands: mpsc::Sender<Command>,
    /// Set by `close`: appends are refused from then on.
    closed: AtomicBool,
    stats: Arc<Counters>,
    readers: Semaphore,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating it if need be) `hubbub.db` in `data_dir`, migrates it,
    /// and starts the writer thread. Blocking: see [`super::open_sqlite`].
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            path: data_dir.to_owned(),
            reason: e.to_string(),
        })?;
        let path = data_dir.join(schema::FILE_NAME);
        let conn = schema::open_writer(&path)?;
        let heads = read_heads(&conn)?;
        // One reader now, so that a database that cannot be read fails here
        // rather than on the first join.
        let reader = schema::open_reader(&path)?;
        let (commands, queue) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(Counters::default());
        writer::spawn(conn, heads, queue, Arc::clone(&stats)).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: format!("cannot start the writer thread: {e}"),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                commands,
                closed: AtomicBool::new(false),
                stats,
                readers: Semaphore::new(READERS),
                idle: Mutex::new(vec![reader]),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// What the writer has committed so far, and in how many groups.
    pub fn stats(&self) -> WriterStats {
        self.inner.stats.snapshot()
    }

    /// Runs `query` on a read connection on a blocking thread.
    fn read<T, F>(&self, query: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        async move {
            // The semaphore is never closed; treat it as closed store if it were.
            let _turn = inner
                .readers
                .acquire()
                .await
                .map_err(|_| StoreError::Closed)?;
            let pool = Arc::clone(&inner);
            tokio::task::spawn_blocking(move || {
                let conn = pool.take_reader()?;
                let result = query(&conn);
                pool.put_reader(conn);
                result
            })
            .await
            .map_err(|e| StoreError::Read(format!("the read task failed: {e}")))?
        }
        .boxed()
    }
}

impl SqliteStore {
    /// Runs `write` in a transaction of its own on the writer thread, after
    /// whatever was queued before it.
    fn exec<T, F>(&self, write: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        if self.inner.closed.load(Ordering::Acquire) {
            return future::ready(Err(StoreError::Closed)).boxed();
        }
        let slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let run: ExecFn = Box::new(move |tx| {
            let value = write(tx)?;
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
            Ok(())
        });
        let (done, answer) = oneshot::channel();
        let commands = self.inner.commands.clone();
        async move {
            commands
                .send(Command::Exec(Exec { run, done }))
                .await
                .map_err(|_| StoreError::Closed)?;
            answer.await.unwrap_or(Err(StoreError::Closed))?;
            let value = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            value.ok_or(StoreError::Closed)
        }
        .boxed()
    }
}

impl Inner {
    fn take_reader(&self) -> Result<Connection, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }

    fn put_reader(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < READERS {
            idle.push(conn);
        }
    }
}

fn read_error(e: rusqlite::Error) -> StoreError {
    StoreError::Read(e.to_string())
}

/// A read's `limit` as SQL wants it: capped at [`MAX_READ`].
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit.min(MAX_READ)).unwrap_or(0)
}

/// What history reads select: the message, and the file it shares if any.
/// A reply and a reaction come with the quote of their target (`q`).
const MESSAGE_COLUMNS: &str = "m.seq, m.ts, m.nick, m.text, m.kind, f.id, f.name, f.size, f.type,
     m.target, m.deleted, m.edited, m.rev, q.nick, q.text, q.deleted
     FROM messages AS m LEFT JOIN files AS f ON f.id = m.file_id
     LEFT JOIN messages AS q ON m.target IS NOT NULL AND m.kind IN ('text', 'action', 'react')
         AND q.room = m.room AND q.seq = m.target";

/// Runs a query with parameters `(room, bound, limit)` that selects
/// [`MESSAGE_COLUMNS`] and turns its rows into messages of `room`.
fn query_messages(
    conn: &Connection,
    sql: &str,
    room: &str,
    bound: i64,
    limit: i64,
) -> Result<Vec<ChatMessage>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(read_error)?;
    let mut rows = statement
        .query(params![room, bound, limit])
        .map_err(read_error)?;
    let mut messages = Vec::new();
    while let Some(row) = rows.next().map_err(read_error)? {
        let seq: i64 = row.get(0).map_err(read_error)?;
        let kind: String = row.get(4).map_err(read_error)?;
        messages.push(ChatMessage {
            room: room.to_owned(),
            seq: u64::try_from(seq).map_err(|_| {
                StoreError::Corrupt(format!("room {room:?} has sequence number {seq}"))
            })?,
            ts: row.get(1).map_err(read_error)?,
            nick: row.get(2).map_err(read_error)?,
            text: row.get(3).map_err(read_error)?,
            kind: schema::kind_from_sql(&kind).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "message {seq} of room {room:?} has the unknown kind {kind:?}"
                ))
            })?,
            attachment: attachment(row).map_err(read_error)?,
            target: row
                .get::<_, Option<i64>>(9)
                .map_err(read_error)?
                .and_then(|t| u64::try_from(t).ok()),
            deleted: row.get::<_, i64>(10).map_err(read_error)? != 0,
            edited: row.get(11).map_err(read_error)?,
            rev: u64::try_from(row.get::<_, i64>(12).map_err(read_error)?).unwrap_or(0),
            quote: quote(row).map_err(read_error)?,
            reactions: Vec::new(),
        });
    }
    reading::add_reactions(conn, room, &mut messages)?;
    Ok(messages)
}

/// The quote of a [`MESSAGE_COLUMNS`] row's target, if it has one.
fn quote(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Box<Quote>>> {
    let (Some(seq), Some(nick)) = (
        row.get::<_, Option<i64>>(9)?,
        row.get::<_, Option<String>>(13)?,
    ) else {
        return Ok(None);
    };
    let text: String = row.get(14)?;
    let deleted = row.get::<_, i64>(15)? != 0;
    Ok(Some(Box::new(Quote::of(
        u64::try_from(seq).unwrap_or(0),
        &nick,
        &text,
        deleted,
    ))))
}

/// The file of a [`MESSAGE_COLUMNS`] row, if it shares one.
fn attachment(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Attachment>> {
    let Some(id) = row.get::<_, Option<String>>(5)? else {
        return Ok(None);
    };
    let size: i64 = row.get(7)?;
    Ok(Some(Attachment {
        id,
        name: row.get(6)?,
        size: u64::try_from(size).unwrap_or(0),
        content_type: row.get(8)?,
    }))
}

/// Every room's highest sequence number.
fn read_heads(conn: &Connection) -> Result<HashMap<String, u64>, StoreError> {
    // Hop from room to room along the primary key (one seek per room)
    // instead of `GROUP BY room`, which would read every message.
    let mut statement = conn
        .prepare_cached(
            "WITH RECURSIVE rooms(room) AS (
                 SELECT (SELECT room FROM messages ORDER BY room LIMIT 1)
                 UNION ALL
                 SELECT (SELECT m.room FROM messages AS m
                         WHERE m.room > rooms.room ORDER BY m.room LIMIT 1)
                 FROM rooms WHERE rooms.room IS NOT NULL
             )
             SELECT room, (SELECT MAX(seq) FROM messages AS m WHERE m.room = rooms.room)
             FROM rooms WHERE room IS NOT NULL",
        )
        .map_err(read_error)?;
    let mut rows = statement.query([]).map_err(read_error)?;
    let mut heads = HashMap::new();
    while let Some(row) = rows.next().map_err(read_error)? {
        let room: String = row.get(0).map_err(read_error)?;
        let seq: i64 = row.get(1).map_err(read_error)?;
        let seq = u64::try_from(seq)
            .map_err(|_| StoreError::Corrupt(format!("room {room:?} has sequence number {seq}")))?;
        heads.insert(room, seq);
    }
    Ok(heads)
}

impl Store for SqliteStore {
    fn append(&self, message: NewMessage) -> BoxFuture<'static, Result<Appended, StoreError>> {
        // Queued here, in the call, so that the order of the calls is the
        // order of the commits however the futures are polled.
        if self.inner.closed.load(Ordering::Acquire) {
            return future::ready(Err(StoreError::Closed)).boxed();
        }
        let (done, outcome) = oneshot::channel();
        match self
            .inner
            .commands
            .try_send(Command::Append(Job { message, done }))
        {
            // The writer answers every job it takes; a job dropped unanswered
            // means the writer stopped before taking it.
            Ok(()) => outcome
                .map(|answer| answer.unwrap_or(Err(StoreError::Closed)))
                .boxed(),
            Err(TrySendError::Full(_)) => future::ready(Err(StoreError::Overloaded)).boxed(),
            Err(TrySendError::Closed(_)) => future::ready(Err(StoreError::Closed)).boxed(),
        }
    }

    fn history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>> {
        let limit = sql_limit(limit);
        if limit == 0 {
            return future::ready(Ok(Vec::new())).boxed();
        }
        // Every stored seq is below i64::MAX, so a larger `before` is "all".
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let room = room.to_owned();
        self.read(move |conn| {
            let mut messages = query_messages(
                conn,
                &format!(
                    "SELECT {MESSAGE_COLUMNS}
                     WHERE m.room = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3"
                ),
                &room,
                before,
                limit,
            )?;
            messages.reverse();
            Ok(messages)
        })
    }

    fn since(
        &self,
        room: &str,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>> {
        let limit = sql_limit(limit);
        let Ok(after) = i64::try_from(after) else {
            // Nothing is stored above i64::MAX.
            return future::ready(Ok(Vec::new())).boxed();
        };
        if limit == 0 {
            return future::ready(Ok(Vec::new())).boxed();
        }
        let room = room.to_owned();
        self.read(move |conn| {
            query_messages(
                conn,
                &format!(
                    "SELECT {MESSAGE_COLUMNS}
                     WHERE m.room = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3"
                ),
                &room,
                after,
                limit,
            )
        })
    }

    fn heads(&self) -> BoxFuture<'static, Result<HashMap<String, u64>, StoreError>> {
        self.read(read_heads)
    }

    fn find_by_client_id(
        &self,
        room: &str,
        nick: &str,
        client_id: &str,
    ) -> BoxFuture<'static, Result<Option<Committed>, StoreError>> {
        let (room, nick, client_id) = (room.to_owned(), nick.to_owned(), client_id.to_owned());
        self.read(move |conn| {
            let found: Option<(i64, i64)> = conn
                .prepare_cached(
                    "SELECT seq, ts FROM messages
                     WHERE room = ?1 AND nick = ?2 AND client_id = ?3",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row(params![room, nick, client_id], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })
                        .optional()
                })
                .map_err(read_error)?;
            found
                .map(|(seq, ts)| {
                    let seq = u64::try_from(seq).map_err(|_| {
                        StoreError::Corrupt(format!("room {room:?} has sequence number {seq}"))
                    })?;
                    Ok(Committed { seq, ts })
                })
                .transpose()
        })
    }

    fn file(
        &self,
        id: &str,
    ) -> BoxFuture<'static, Result<Option<(FileRecord, String)>, StoreError>> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT sha256, name, size, type, room FROM files WHERE id = ?1")
                .and_then(|mut statement| {
                    statement
                        .query_row([&id], |row| {
                            let size: i64 = row.get(2)?;
                            let record = FileRecord {
                                sha256: row.get(0)?,
                                attachment: Attachment {
                                    id: id.clone(),
                                    name: row.get(1)?,
                                    size: u64::try_from(size).unwrap_or(0),
                                    content_type: row.get(3)?,
                                },
                            };
                            Ok((record, row.get(4)?))
                        })
                        .optional()
                })
                .map_err(read_error)
        })
    }

    fn search(
        &self,
        rooms: Vec<String>,
        query: String,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'static, Result<SearchPage, StoreError>> {
        self.search_rooms(rooms, &query, before, limit)
    }

    fn unread(
        &self,
        reader: Reader,
        rooms: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<UnreadCount>, StoreError>> {
        self.unread_counts(reader, rooms)
    }

    fn mark_read(
        &self,
        account: AccountId,
        room: String,
        seq: u64,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.move_marker(account, room, seq)
    }

    fn read_markers(
        &self,
        account: AccountId,
    ) -> BoxFuture<'static, Result<BTreeMap<String, u64>, StoreError>> {
        self.markers_of(account)
    }

    fn seq_before_time(&self, room: &str, ts: i64) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.seq_stamped_before(room.to_owned(), ts)
    }

    fn close(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        // Refuse appends from this call on; those made before it are queued
        // ahead of the close command and are committed first.
        self.inner.closed.store(true, Ordering::Release);
        let commands = self.inner.commands.clone();
        async move {
            let (reply, closed) = oneshot::channel();
            // Either fails only when the writer has stopped already, having
            // committed everything it took.
            if commands.send(Command::Close(reply)).await.is_ok() {
                let _ = closed.await;
            }
            Ok(())
        }
        .boxed()
    }
}
