//! The SQLite schema, its migrations, and how a connection is set up.
//!
//! Migrations are a ladder on `PRAGMA user_version`: migration `i` (counting
//! from 0) takes the schema from version `i` to `i + 1`. Opening runs the
//! missing steps, and the version bump, in one transaction, so a crash leaves
//! the old schema or the new one. A database with a version above the ladder
//! was written by a newer build and is refused rather than guessed at.
//!
//! A migration is never edited once released; a change is a new step.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use shared::MessageKind;

use super::StoreError;

/// The database file inside the data directory.
pub(super) const FILE_NAME: &str = "hubbub.db";

/// How long a connection waits for a lock held by another one (a checkpoint,
/// an operator's `sqlite3` session) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The write connection's page cache: negative means KiB (64 MiB).
const WRITER_CACHE_KIB: i64 = -65_536;
/// WAL pages after which a commit checkpoints (SQLite's default is 1,000).
const CHECKPOINT_PAGES: i64 = 10_000;
/// Bytes of WAL kept on disk after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Every step of the schema's history, oldest first.
const MIGRATIONS: &[&str] = &[
    // v1: messages, keyed by room and sequence number. WITHOUT ROWID keeps the
    // rows in primary-key order, so history and replay are one range scan.
    // STRICT makes SQLite refuse a value of the wrong type instead of storing
    // it. `kind` is `text` or `action` (checked when read, so a new kind needs
    // no table rebuild). The partial unique index makes a resend with the same
    // client-chosen id a refusal, and finds the original for its ack.
    "CREATE TABLE messages (
        room      TEXT    NOT NULL,
        seq       INTEGER NOT NULL CHECK (seq > 0),
        ts        INTEGER NOT NULL,
        nick      TEXT    NOT NULL,
        text      TEXT    NOT NULL,
        kind      TEXT    NOT NULL,
        client_id TEXT,
        PRIMARY KEY (room, seq)
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_client_id
        ON messages (room, nick, client_id) WHERE client_id IS NOT NULL;",
    // v2: shared files. The bytes live in the data directory under their
    // SHA-256 (`files::blobs`); a row here is one upload of them, under a
    // random id, with the name its uploader gave (cleaned). A message that
    // announces an upload names it in `file_id`. The reference is checked at
    // commit (DEFERRED), so the writer can store the message first and the
    // file after it, once the message has its number.
    "CREATE TABLE files (
        id       TEXT    NOT NULL PRIMARY KEY,
        sha256   TEXT    NOT NULL,
        name     TEXT    NOT NULL,
        size     INTEGER NOT NULL CHECK (size >= 0),
        type     TEXT    NOT NULL,
        uploader TEXT    NOT NULL,
        room     TEXT    NOT NULL,
        ts       INTEGER NOT NULL
    ) STRICT;
    ALTER TABLE messages ADD COLUMN file_id TEXT
        REFERENCES files (id) DEFERRABLE INITIALLY DEFERRED;",
    // v3: accounts and moderation. A message names the account that sent it
    // (NULL: a guest), so that only its author can delete it; a deletion is
    // a message of kind `delete` naming its `target`, and the target keeps
    // its place with `deleted = 1` and nothing of its text or file.
    // Passwords are argon2id PHC strings; sessions and invites are kept by
    // the SHA-256 of their secret, never the secret. A ban or a mute names
    // an account or, for a guest, an address; `nick_key` is how `unban NICK`
    // finds it. The moderation log keeps each action as the JSON that
    // `mod_log` sends.
    "CREATE TABLE accounts (
        id       INTEGER PRIMARY KEY,
        nick     TEXT    NOT NULL,
        nick_key TEXT    NOT NULL UNIQUE,
        password TEXT    NOT NULL,
        created  INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE sessions (
        token   TEXT    NOT NULL PRIMARY KEY,
        account INTEGER NOT NULL REFERENCES accounts (id),
        created INTEGER NOT NULL,
        expires INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX sessions_account ON sessions (account);
    CREATE TABLE invites (
        code    TEXT    NOT NULL PRIMARY KEY,
        by      INTEGER NOT NULL REFERENCES accounts (id),
        created INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        used_by INTEGER REFERENCES accounts (id)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE room_roles (
        room    TEXT    NOT NULL,
        account INTEGER NOT NULL REFERENCES accounts (id),
        role    TEXT    NOT NULL,
        PRIMARY KEY (room, account)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE room_settings (
        room  TEXT    NOT NULL PRIMARY KEY,
        topic TEXT    NOT NULL,
        slow  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE sanctions (
        id       INTEGER PRIMARY KEY,
        room     TEXT    NOT NULL,
        kind     TEXT    NOT NULL,
        account  INTEGER REFERENCES accounts (id),
        address  TEXT,
        nick_key TEXT    NOT NULL,
        until    INTEGER,
        CHECK ((account IS NULL) <> (address IS NULL))
    ) STRICT;
    CREATE INDEX sanctions_room ON sanctions (room, kind, nick_key);
    CREATE TABLE moderation_log (
        id     INTEGER PRIMARY KEY,
        room   TEXT    NOT NULL,
        ts     INTEGER NOT NULL,
        by     TEXT    NOT NULL,
        action TEXT    NOT NULL
    ) STRICT;
    CREATE INDEX moderation_log_room ON moderation_log (room, id);
    ALTER TABLE messages ADD COLUMN account INTEGER;
    ALTER TABLE messages ADD COLUMN target INTEGER;
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;",
    // v4: messages that live. An edit, a reaction and its taking back are
    // messages too (kinds `edit`, `react`, `unreact`, naming their
    // `target`; a reply names the message it answers the same way), and
    // the writer applies each to its target in the same commit: `text` is
    // always the current text, `edited` the time of the last edit, `rev`
    // the number of the last change. `reactions` is who gave which emoji
    // (`given`: the number of the `react`). `mentions` is who each message
    // names with `@nick` (by `nick_key`), for unread counts; `read_markers`
    // how far each account has read each room. `message_search` is the
    // full-text index (FTS5) of the messages people read (and the names of
    // shared files), its own copy of their current text: `search_id` is a message's row there, so an edit
    // or a deletion finds it at once. Existing messages are indexed here.
    "ALTER TABLE messages ADD COLUMN edited INTEGER;
    ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN search_id INTEGER;
    CREATE INDEX messages_target ON messages (room, target) WHERE target IS NOT NULL;
    CREATE TABLE reactions (
        room     TEXT    NOT NULL,
        seq      INTEGER NOT NULL,
        emoji    TEXT    NOT NULL,
        nick_key TEXT    NOT NULL,
        nick     TEXT    NOT NULL,
        given    INTEGER NOT NULL,
        PRIMARY KEY (room, seq, emoji, nick_key)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE mentions (
        room     TEXT    NOT NULL,
        seq      INTEGER NOT NULL,
        nick_key TEXT    NOT NULL,
        PRIMARY KEY (room, seq, nick_key)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX mentions_of ON mentions (nick_key, room, seq);
    CREATE TABLE read_markers (
        account INTEGER NOT NULL,
        room    TEXT    NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (account, room)
    ) STRICT, WITHOUT ROWID;
    CREATE VIRTUAL TABLE message_search USING fts5 (
        text, room UNINDEXED, seq UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TEMP TABLE indexed AS
        SELECT row_number() OVER (ORDER BY room, seq) AS id, room, seq, text FROM messages
        WHERE kind IN ('text', 'action') AND deleted = 0;
    INSERT INTO message_search (rowid, text, room, seq) SELECT id, text, room, seq FROM indexed;
    UPDATE messages SET search_id = indexed.id
        FROM indexed WHERE messages.room = indexed.room AND messages.seq = indexed.seq;
    DROP TABLE indexed;",
];

/// The schema version this build writes.
pub(super) fn version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Opens the write connection: creates the file if need be, sets WAL and
/// `synchronous=FULL` (a commit is on disk when it returns, even across a
/// power cut), and migrates.
pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |e: rusqlite::Error| StoreError::Open {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let mut conn = Connection::open(path).map_err(open_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            path: path.to_owned(),
            reason: format!("SQLite kept journal mode {mode:?} instead of WAL"),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_error)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(open_error)?;
    // A deleted or edited message's old text is zeroed where it lay in its
    // page, not left in the page's free space for anyone with the file to
    // read. FAST: only where that costs no extra write.
    conn.pragma_update(None, "secure_delete", "FAST")
        .map_err(open_error)?;
    // Group commit spreads each transaction over many pages: the end of every
    // room's range of the table and of every sender's range of the client-id
    // index. Two settings keep that cheap (measured in docs/benchmarks.md,
    // "Durable ingest"): a page cache that holds those hot pages (SQLite's
    // default, 2 MiB, does not, and every miss is a read), and checkpoints
    // every ~40 MiB of WAL instead of every ~4 MiB, so that a page written
    // by many commits is copied back into the database once per checkpoint
    // rather than once per few commits.
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)
        .map_err(open_error)?;
    conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)
        .map_err(open_error)?;
    // After a checkpoint, a WAL that grew past this (readers held a
    // checkpoint back) is cut back to it.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .map_err(open_error)?;
    migrate(&mut conn).map_err(|e| match e {
        Migration::TooNew { found } => StoreError::SchemaTooNew {
            found,
            known: version(),
        },
        Migration::Sqlite(e) => open_error(e),
    })?;
    Ok(conn)
}

/// Opens a read-only connection to a database the writer has set up.
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |e: rusqlite::Error| StoreError::Open {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    Ok(conn)
}

enum Migration {
    TooNew { found: i64 },
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Migration {
    fn from(e: rusqlite::Error) -> Self {
        Migration::Sqlite(e)
    }
}

/// Runs the steps the database lacks, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), Migration> {
    // IMMEDIATE: take the write lock before reading the version, so two
    // processes opening one fresh database cannot both migrate it.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > version() {
        return Err(Migration::TooNew { found });
    }
    let done = usize::try_from(found).unwrap_or(0);
    if done == MIGRATIONS.len() {
        return Ok(());
    }
    for step in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", version())?;
    tx.commit()?;
    Ok(())
}

/// How a message's kind is stored. (The server never makes a message of an
/// unknown kind; should one come, it is kept as text.)
pub(super) fn kind_to_sql(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Text | MessageKind::Unknown => "text",
        MessageKind::Action => "action",
        MessageKind::Delete => "delete",
        MessageKind::Edit => "edit",
        MessageKind::React => "react",
        MessageKind::Unreact => "unreact",
    }
}

/// The kind stored as `value`, if this build knows it.
pub(super) fn kind_from_sql(value: &str) -> Option<MessageKind> {
    match value {
        "text" => Some(MessageKind::Text),
        "action" => Some(MessageKind::Action),
        "delete" => Some(MessageKind::Delete),
        "edit" => Some(MessageKind::Edit),
        "react" => Some(MessageKind::React),
        "unreact" => Some(MessageKind::Unreact),
        _ => None,
    }
}

/// How a role is stored.
pub(super) fn role_to_sql(role: shared::Role) -> &'static str {
    match role {
        shared::Role::Member => "member",
        shared::Role::Moderator => "moderator",
        shared::Role::Owner => "owner",
        shared::Role::Operator => "operator",
    }
}

pub(super) fn role_from_sql(value: &str) -> Option<shared::Role> {
    match value {
        "member" => Some(shared::Role::Member),
        "moderator" => Some(shared::Role::Moderator),
        "owner" => Some(shared::Role::Owner),
        "operator" => Some(shared::Role::Operator),
        _ => None,
    }
}
