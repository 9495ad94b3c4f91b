//! The writer thread: the one owner of the write connection, the numbering
//! of messages, and group commit.
//!
//! Appends arrive over a bounded channel, in call order. The thread blocks for
//! the first one, then takes everything else already queued (up to
//! [`MAX_BATCH`] messages or [`MAX_BATCH_BYTES`] of them), writes them all in
//! one transaction with one prepared statement, commits — one fsync of the WAL
//! for the whole group — and only then answers each append. Under load the
//! groups grow by themselves: while one commit is on its way to the disk, the
//! next group queues up. A lone message is committed at once, unless it says
//! it may wait ([`NewMessage::patience`](super::NewMessage::patience), asked
//! for under heavy fan-out only): the writer then waits that long before
//! taking the rest of the group.
//!
//! Each message gets its room's next sequence number inside the transaction.
//! The numbers a group takes become the rooms' heads only once it commits, so
//! a group that fails leaves no hole. A resend (a client id already used by
//! the same nickname in the room) hits the unique index; SQLite undoes only
//! that statement, the original is looked up and returned, and the rest of
//! the group goes on.
//!
//! An error before the commit fails the group, which is rolled back, and the
//! writer carries on. An error in the commit itself fails the group and every
//! later write (see [`StoreError::Failed`]): what reached the disk is then
//! unknown, and numbering on from memory could reuse or skip numbers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{CachedStatement, Connection, OptionalExtension as _, TransactionBehavior, params};
use shared::ChatMessage;
use shared::protocol::Quote;
use tokio::sync::{mpsc, oneshot};

use super::schema;
use super::{Appended, FileRecord, NewMessage, StoreError};

mod effect;

/// The most messages committed in one transaction.
pub(super) const MAX_BATCH: usize = 4_096;
/// About the most bytes of messages committed in one transaction: a group of
/// long messages stops growing here, so one commit stays short.
pub(super) const MAX_BATCH_BYTES: usize = 4 << 20;

/// What the store asks of its writer.
pub(super) enum Command {
    Append(Job),
    /// A write of the directory's (an account, a session, a moderation
    /// action), in a transaction of its own between groups of appends.
    Exec(Exec),
    /// Answer once everything queued before it is committed, then stop.
    Close(oneshot::Sender<()>),
}

/// Statements to run in one transaction, and where to say how it went. An
/// `Err` from `run` rolls the transaction back.
pub(super) struct Exec {
    pub(super) run: ExecFn,
    pub(super) done: oneshot::Sender<Result<(), StoreError>>,
}

pub(super) type ExecFn =
    Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> Result<(), StoreError> + Send>;

/// One append and where to send its outcome.
pub(super) struct Job {
    pub(super) message: NewMessage,
    pub(super) done: oneshot::Sender<Result<Appended, StoreError>>,
}

impl Job {
    /// What the message weighs against [`MAX_BATCH_BYTES`].
    fn weight(&self) -> usize {
        let message = &self.message;
        64 + message.room.len()
            + message.nick.len()
            + message.text.len()
            + message.client_id.as_ref().map_or(0, String::len)
            + message
                .file
                .as_ref()
                .map_or(0, |file| 128 + file.attachment.name.len())
    }
}

/// Every room's latest sequence number: those committed, and those the
/// group being written has taken so far.
#[derive(Debug, Default)]
pub(super) struct Heads {
    committed: HashMap<String, u64>,
    taken: HashMap<String, u64>,
}

impl Heads {
    pub(super) fn new(committed: HashMap<String, u64>) -> Self {
        Self {
            committed,
            taken: HashMap::new(),
        }
    }

    fn current(&self, room: &str) -> u64 {
        self.taken
            .get(room)
            .or_else(|| self.committed.get(room))
            .copied()
            .unwrap_or(0)
    }

    fn take(&mut self, room: &str, seq: u64) {
        match self.taken.get_mut(room) {
            Some(head) => *head = seq,
            None => {
                self.taken.insert(room.to_owned(), seq);
            }
        }
    }

    /// The group committed: its numbers are the rooms' heads now.
    fn commit(&mut self) {
        self.committed.extend(self.taken.drain());
    }

    /// The group failed: its numbers are free again.
    fn discard(&mut self) {
        self.taken.clear();
    }
}

/// Starts the writer thread on a connection set up by `schema::open_writer`,
/// numbering on from `heads`. It ends when the store is closed, or when every
/// sender is gone and the queue is empty (what is queued is still committed).
pub(super) fn spawn(
    conn: Connection,
    heads: HashMap<String, u64>,
    commands: mpsc::Receiver<Command>,
    stats: Arc<Counters>,
) -> std::io::Result<()> {
    let writer = Writer {
        conn,
        heads: Heads::new(heads),
        last_ts: 0,
        stats,
        failed: None,
    };
    std::thread::Builder::new()
        .name("hubbub-store-writer".to_owned())
        .spawn(move || writer.run(commands))?;
    Ok(())
}

struct Writer {
    conn: Connection,
    heads: Heads,
    /// The time given to the last group: times never go back, even if the
    /// clock does.
    last_ts: i64,
    stats: Arc<Counters>,
    /// Why a commit failed; from then on every append is refused.
    failed: Option<String>,
}

impl Writer {
    fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
        // `blocking_recv` is right here: this is a plain thread, not a task.
        while let Some(first) = commands.blocking_recv() {
            if let Command::Append(job) = &first
                && !job.message.patience.is_zero()
            {
                // The message may wait for company: whatever arrives
                // meanwhile shares its commit.
                std::thread::sleep(job.message.patience);
            }
            let mut closing = None;
            let mut exec = None;
            let mut bytes = 0;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Append(job) => {
                        bytes += job.weight();
                        jobs.push(job);
                    }
                    Command::Exec(job) => {
                        // After the appends before it, in its own
                        // transaction: order is kept, and a directory write
                        // never fails a group of messages.
                        exec = Some(job);
                        break;
                    }
                    Command::Close(reply) => {
                        closing = Some(reply);
                        break;
                    }
                }
                if jobs.len() >= MAX_BATCH || bytes >= MAX_BATCH_BYTES {
                    break;
                }
                next = commands.try_recv().ok();
            }
            self.commit(&mut jobs);
            if let Some(job) = exec {
                self.exec(job);
            }
            if let Some(reply) = closing {
                // Everything appended before `close` is committed. Refuse
                // what raced in behind it, and stop.
                commands.close();
                while let Ok(command) = commands.try_recv() {
                    match command {
                        Command::Append(job) => {
                            let _ = job.done.send(Err(StoreError::Closed));
                        }
                        Command::Exec(job) => {
                            let _ = job.done.send(Err(StoreError::Closed));
                        }
                        Command::Close(other) => {
                            let _ = other.send(());
                        }
                    }
                }
                let _ = reply.send(());
                break;
            }
        }
        tracing::debug!("message store writer stopped");
    }

    /// Runs one directory write in a transaction of its own and answers it.
    fn exec(&mut self, job: Exec) {
        if let Some(reason) = &self.failed {
            let _ = job.done.send(Err(StoreError::Failed(reason.clone())));
            return;
        }
        let outcome = match self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Err(error) => Err(StoreError::Write(error.to_string())),
            // An error from the statements drops `tx`: rolled back.
            Ok(tx) => (job.run)(&tx).and_then(|()| {
                tx.commit().map_err(|error| {
                    // As for a group: a commit that failed may or may not be
                    // on disk, so nothing more is written until a restart.
                    let reason = error.to_string();
                    tracing::error!(error = %reason, "writing to the directory failed");
                    self.failed = Some(reason.clone());
                    StoreError::Failed(reason)
                })
            }),
        };
        let _ = job.done.send(outcome);
    }

    /// Commits `jobs` as one group and answers each of them.
    fn commit(&mut self, jobs: &mut Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        if let Some(reason) = &self.failed {
            for job in jobs.drain(..) {
                let _ = job.done.send(Err(StoreError::Failed(reason.clone())));
            }
            return;
        }
        let started = Instant::now();
        self.last_ts = self.last_ts.max(now_ms());
        let written = write_batch(
            &mut self.conn,
            &mut self.heads,
            self.last_ts,
            jobs.iter().map(|job| &job.message),
        );
        match written {
            Ok(outcomes) => {
                self.stats.record(jobs.len(), started.elapsed());
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    // A dropped receiver is an append nobody waits for any
                    // more; the message is stored all the same.
                    let _ = job.done.send(outcome.into_result(job.message));
                }
            }
            Err(failure) => {
                let reason = failure.error.to_string();
                // A commit that failed may or may not be on disk; a
                // connection that could not roll back is stuck.
                let unknown = failure.in_commit || !self.conn.is_autocommit();
                tracing::error!(
                    error = %reason,
                    messages = jobs.len(),
                    refusing_from_now_on = unknown,
                    "writing messages to the store failed"
                );
                for job in jobs.drain(..) {
                    let _ = job.done.send(Err(StoreError::Write(reason.clone())));
                }
                if unknown {
                    self.failed = Some(reason);
                }
            }
        }
    }
}

/// What became of one message of a group that committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Stored with this number and time; a reply or a reaction with the
    /// quote of its target.
    Stored {
        seq: u64,
        ts: i64,
        quote: Option<Box<Quote>>,
    },
    /// A resend: this is the message sent the first time.
    Duplicate(ChatMessage),
    /// Not stored.
    Refused(StoreError),
}

impl Outcome {
    fn into_result(self, message: NewMessage) -> Result<Appended, StoreError> {
        match self {
            Outcome::Stored { seq, ts, quote } => Ok(Appended {
                msg: ChatMessage {
                    room: message.room,
                    seq,
                    ts,
                    nick: message.nick,
                    text: message.text,
                    kind: message.kind,
                    attachment: message.file.map(|file| file.attachment),
                    target: message.target,
                    deleted: false,
                    quote,
                    edited: None,
                    reactions: Vec::new(),
                    rev: 0,
                },
                duplicate: false,
            }),
            Outcome::Duplicate(original) => Ok(Appended {
                msg: original,
                duplicate: true,
            }),
            Outcome::Refused(error) => Err(error),
        }
    }
}

/// Why a group was not committed.
#[derive(Debug)]
pub(super) struct BatchFailure {
    pub(super) error: rusqlite::Error,
    /// The commit itself failed (rather than a statement before it).
    pub(super) in_commit: bool,
}

/// Numbers and writes `batch` in one transaction, all stamped `ts`, and
/// commits it. Returns one outcome per message, in order. On `Err` nothing
/// was committed and `heads` is as it was.
pub(super) fn write_batch<'a>(
    conn: &mut Connection,
    heads: &mut Heads,
    ts: i64,
    batch: impl IntoIterator<Item = &'a NewMessage>,
) -> Result<Vec<Outcome>, BatchFailure> {
    let written = write_uncommitted(conn, heads, ts, batch);
    let result = match written {
        Ok((tx, outcomes)) => match tx.commit() {
            Ok(()) => Ok(outcomes),
            Err(error) => Err(BatchFailure {
                error,
                in_commit: true,
            }),
        },
        Err(error) => Err(BatchFailure {
            error,
            in_commit: false,
        }),
    };
    match result {
        Ok(outcomes) => {
            heads.commit();
            Ok(outcomes)
        }
        Err(failure) => {
            heads.discard();
            Err(failure)
        }
    }
}

/// Begins the transaction and writes every message; the caller commits.
/// (Dropping the transaction rolls it back.)
fn write_uncommitted<'c, 'a>(
    conn: &'c mut Connection,
    heads: &mut Heads,
    ts: i64,
    batch: impl IntoIterator<Item = &'a NewMessage>,
) -> rusqlite::Result<(rusqlite::Transaction<'c>, Vec<Outcome>)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::new();
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO messages (room, seq, ts, nick, text, kind, client_id, file_id, account, target, search_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for message in batch {
            outcomes.push(write_one(&tx, &mut insert, heads, ts, message)?);
        }
    }
    Ok((tx, outcomes))
}

/// Writes one message with its room's next number. An `Err` fails the group.
fn write_one(
    tx: &Connection,
    insert: &mut CachedStatement<'_>,
    heads: &mut Heads,
    ts: i64,
    message: &NewMessage,
) -> rusqlite::Result<Outcome> {
    let refused = |reason: String| {
        Outcome::Refused(StoreError::Refused {
            room: message.room.clone(),
            reason,
        })
    };
    let effect = match effect::check(tx, message, ts)? {
        Ok(effect) => effect,
        Err(refusal) => return Ok(Outcome::Refused(refusal)),
    };
    // Two tries: the second after re-reading the room's head, should the
    // first number be taken (only another process writing to the same
    // database could have taken it).
    for _ in 0..2 {
        let Some(seq) = heads.current(&message.room).checked_add(1) else {
            return Ok(refused(
                "the room has used up its sequence numbers".to_owned(),
            ));
        };
        let Ok(sql_seq) = i64::try_from(seq) else {
            return Ok(refused(
                "the room has used up its sequence numbers".to_owned(),
            ));
        };
        // The search row first, so that the message names it; undone if the
        // message is not stored after all.
        let search_id = if message.kind.is_readable() {
            Some(effect::index(tx, message, seq)?)
        } else {
            None
        };
        let inserted = insert.execute(params![
            message.room,
            sql_seq,
            ts,
            message.nick,
            message.text,
            schema::kind_to_sql(message.kind),
            message.client_id,
            message.file.as_ref().map(|file| &file.attachment.id),
            message.account,
            message.target.and_then(|t| i64::try_from(t).ok()),
            search_id,
        ]);
        let Err(error) = inserted else {
            if let Some(file) = &message.file {
                // A failure here (an id taken twice: 128 random bits make
                // that a broken random source) fails the group.
                insert_file(tx, message, file, ts)?;
            }
            if message.kind.is_readable() {
                effect::note_mentions(tx, &message.room, seq, &message.text)?;
            }
            let quote = effect.apply(tx, message, seq, ts)?;
            heads.take(&message.room, seq);
            return Ok(Outcome::Stored { seq, ts, quote });
        };
        if let Some(id) = search_id {
            effect::unindex(tx, id)?;
        }
        // With SQLite's default conflict handling (ABORT) a constraint error
        // undoes this one statement; the transaction, and the rest of the
        // group, go on.
        match error.sqlite_extended_error_code() {
            Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE) => {
                return match original(tx, message)? {
                    Some(original) => Ok(Outcome::Duplicate(original)),
                    None => Ok(refused(error.to_string())),
                };
            }
            Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                let head: Option<i64> = tx.query_row(
                    "SELECT MAX(seq) FROM messages WHERE room = ?1",
                    [&message.room],
                    |row| row.get(0),
                )?;
                let head = head.and_then(|h| u64::try_from(h).ok()).unwrap_or(0);
                tracing::warn!(
                    room = %message.room,
                    head,
                    "a sequence number was taken by someone else; is another Hubbub using this data directory?"
                );
                heads.take(&message.room, head);
            }
            _ if error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                return Ok(refused(error.to_string()));
            }
            _ => return Err(error),
        }
    }
    Ok(refused(
        "its sequence number was taken twice: is another Hubbub using this data directory?"
            .to_owned(),
    ))
}

/// The record of the file `message` announces.
fn insert_file(
    tx: &Connection,
    message: &NewMessage,
    file: &FileRecord,
    ts: i64,
) -> rusqlite::Result<()> {
    let size = i64::try_from(file.attachment.size).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO files (id, sha256, name, size, type, uploader, room, ts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        file.attachment.id,
        file.sha256,
        file.attachment.name,
        size,
        file.attachment.content_type,
        message.nick,
        message.room,
        ts,
    ])?;
    Ok(())
}

/// The stored message that `message` resends, if any. (Only messages with a
/// client id are resent, and announcements of files have none, so the
/// original carries no attachment.)
fn original(tx: &Connection, message: &NewMessage) -> rusqlite::Result<Option<ChatMessage>> {
    let mut find = tx.prepare_cached(
        "SELECT seq, ts, text, kind, target, deleted FROM messages
         WHERE room = ?1 AND nick = ?2 AND client_id = ?3",
    )?;
    let row = find
        .query_row(
            params![message.room, message.nick, message.client_id],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<i64>>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    Ok(row.and_then(|(seq, ts, text, kind, target, deleted)| {
        Some(ChatMessage {
            room: message.room.clone(),
            seq: u64::try_from(seq).ok()?,
            ts,
            nick: message.nick.clone(),
            text,
            kind: schema::kind_from_sql(&kind)?,
            attachment: None,
            target: target.and_then(|t| u64::try_from(t).ok()),
            deleted: deleted != 0,
            // What an ack needs; a client that asks for the message again
            // reads it from history with all the rest.
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        })
    }))
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Batch sizes up to 2^(BUCKETS-1) and above each get a bucket.
const BUCKETS: usize = 13;

/// What the writer has done, counted as it goes (relaxed atomics: these are
/// statistics, read while the writer runs).
#[derive(Debug, Default)]
pub(super) struct Counters {
    batches: AtomicU64,
    messages: AtomicU64,
    largest: AtomicU64,
    busy_nanos: AtomicU64,
    sizes: [AtomicU64; BUCKETS],
}

impl Counters {
    fn record(&self, size: usize, took: Duration) {
        let size = u64::try_from(size).unwrap_or(u64::MAX);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.messages.fetch_add(size, Ordering::Relaxed);
        self.largest.fetch_max(size, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
        let bucket = usize::try_from(size.max(1).ilog2())
            .unwrap_or(BUCKETS)
            .min(BUCKETS - 1);
        if let Some(count) = self.sizes.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        metrics::histogram!(crate::metrics::STORE_COMMIT_SECONDS).record(took.as_secs_f64());
        metrics::histogram!(crate::metrics::STORE_COMMIT_MESSAGES).record(size as f64);
    }

    pub(super) fn snapshot(&self) -> WriterStats {
        WriterStats {
            batches: self.batches.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            largest_batch: self.largest.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
            size_histogram: self
                .sizes
                .iter()
                .map(|count| count.load(Ordering::Relaxed))
                .collect(),
        }
    }
}

/// The group commits done so far (committed groups only; see
/// [`super::SqliteStore::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub batches: u64,
    /// Messages in them (refused ones included).
    pub messages: u64,
    /// The most messages one transaction held.
    pub largest_batch: u64,
    /// Time spent writing and committing (fsync included).
    pub busy: Duration,
    /// `size_histogram[i]` counts the groups of 2^i to 2^(i+1) - 1 messages
    /// (the last bucket: that many or more).
    pub size_histogram: Vec<u64>,
}
