//! What a message does to the message it names (its `target`): a reply
//! quotes it, a deletion erases it, an edit replaces its text, a reaction is
//! given or taken back. [`check`] decides, before the message takes a
//! number, whether it may (a refusal takes none); [`Effect::apply`] makes
//! the change once the message is stored, in the same transaction, so a
//! change and the message that records it are committed together or not at
//! all. Also here: the search index and the mentions, which follow the text
//! of every message people read.

use rusqlite::{Connection, OptionalExtension as _, params};
use shared::MessageKind;
use shared::limits::{MAX_NICK_CHARS, MAX_REACTIONS};
use shared::protocol::{Quote, mentions};
use shared::validate::nick_key;

use super::super::schema;
use super::super::{NewMessage, StoreError};

/// The target of a change, as stored.
pub(super) struct TargetRow {
    seq: u64,
    sql_seq: i64,
    ts: i64,
    nick: String,
    text: String,
    kind: Option<MessageKind>,
    account: Option<i64>,
    deleted: bool,
    file: Option<String>,
    search_id: Option<i64>,
}

/// What a message will do to its target once stored.
pub(super) enum Effect {
    /// It names none.
    None,
    /// A reply: it carries the quote of the message it answers.
    Reply(Box<Quote>),
    Delete(TargetRow),
    Edit(TargetRow),
    React(TargetRow, String),
    Unreact(TargetRow, String),
}

/// Whether `message` may do what it does to its target, and what that is.
pub(super) fn check(
    tx: &Connection,
    message: &NewMessage,
    ts: i64,
) -> rusqlite::Result<Result<Effect, StoreError>> {
    let Some(seq) = message.target else {
        return Ok(Ok(Effect::None));
    };
    let Some(target) = target_row(tx, &message.room, seq)? else {
        return Ok(Err(StoreError::NoSuchMessage { seq }));
    };
    // Only messages people read change, never a change itself, and nothing
    // is done to a deleted message.
    if target.deleted || !target.kind.is_some_and(MessageKind::is_readable) {
        return Ok(Err(StoreError::NoSuchMessage { seq }));
    }
    let own = target.account.is_some() && target.account == message.account;
    Ok(match message.kind {
        MessageKind::Text | MessageKind::Action => Ok(Effect::Reply(Box::new(Quote::of(
            seq,
            &target.nick,
            &target.text,
            false,
        )))),
        MessageKind::Delete if own || message.moderator => Ok(Effect::Delete(target)),
        MessageKind::Delete => Err(StoreError::NotYours { seq }),
        MessageKind::Edit => {
            let too_old = message.edit_window.is_some_and(|window| {
                let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
                ts.saturating_sub(target.ts) > window
            });
            if !own {
                Err(StoreError::NotYours { seq })
            } else if target.file.is_some() {
                Err(StoreError::Unchanged(
                    "a shared file's message keeps the file's name",
                ))
            } else if too_old {
                Err(StoreError::TooOldToEdit { seq })
            } else if target.text == message.text {
                Err(StoreError::Unchanged("the message says that already"))
            } else {
                Ok(Effect::Edit(target))
            }
        }
        MessageKind::React | MessageKind::Unreact => {
            let key = nick_key(&message.nick);
            let given = tx
                .prepare_cached(
                    "SELECT 1 FROM reactions
                     WHERE room = ?1 AND seq = ?2 AND emoji = ?3 AND nick_key = ?4",
                )?
                .exists(params![message.room, target.sql_seq, message.text, key])?;
            if message.kind == MessageKind::Unreact {
                if given {
                    Ok(Effect::Unreact(target, key))
                } else {
                    Err(StoreError::Unchanged("you have not reacted so"))
                }
            } else if given {
                Err(StoreError::Unchanged("you have reacted so already"))
            } else if !emoji_room(tx, &message.room, target.sql_seq, &message.text)? {
                Err(StoreError::NoReaction(
                    "a message has at most 20 different reactions",
                ))
            } else {
                Ok(Effect::React(target, key))
            }
        }
        MessageKind::Unknown => Ok(Effect::None),
    })
}

impl Effect {
    /// Makes the change, now that `message` is stored as number `seq`; a
    /// reply's or a reaction's quote is what its delivery carries.
    pub(super) fn apply(
        self,
        tx: &Connection,
        message: &NewMessage,
        seq: u64,
        ts: i64,
    ) -> rusqlite::Result<Option<Box<Quote>>> {
        let rev = i64::try_from(seq).unwrap_or(i64::MAX);
        match self {
            Effect::None => Ok(None),
            Effect::Reply(quote) => Ok(Some(quote)),
            Effect::Delete(target) => {
                erase(tx, message, &target, ts)?;
                Ok(None)
            }
            Effect::Edit(target) => {
                tx.prepare_cached(
                    "UPDATE messages SET text = ?3, edited = ?4, rev = ?5
                     WHERE room = ?1 AND seq = ?2",
                )?
                .execute(params![
                    message.room,
                    target.sql_seq,
                    message.text,
                    ts,
                    rev
                ])?;
                if let Some(id) = target.search_id {
                    tx.prepare_cached("UPDATE message_search SET text = ?2 WHERE rowid = ?1")?
                        .execute(params![id, message.text])?;
                }
                forget_mentions(tx, &message.room, target.sql_seq)?;
                note_mentions(tx, &message.room, target.seq, &message.text)?;
                Ok(None)
            }
            Effect::React(target, key) => {
                tx.prepare_cached(
                    "INSERT INTO reactions (room, seq, emoji, nick_key, nick, given)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    message.room,
                    target.sql_seq,
                    message.text,
                    key,
                    message.nick,
                    rev
                ])?;
                revise(tx, &message.room, target.sql_seq, rev)?;
                Ok(Some(Box::new(Quote::of(
                    target.seq,
                    &target.nick,
                    &target.text,
                    false,
                ))))
            }
            Effect::Unreact(target, key) => {
                tx.prepare_cached(
                    "DELETE FROM reactions
                     WHERE room = ?1 AND seq = ?2 AND emoji = ?3 AND nick_key = ?4",
                )?
                .execute(params![
                    message.room,
                    target.sql_seq,
                    message.text,
                    key
                ])?;
                revise(tx, &message.room, target.sql_seq, rev)?;
                Ok(None)
            }
        }
    }
}

/// The message `seq` of `room`, if there is one.
fn target_row(tx: &Connection, room: &str, seq: u64) -> rusqlite::Result<Option<TargetRow>> {
    let Ok(sql_seq) = i64::try_from(seq) else {
        return Ok(None);
    };
    tx.prepare_cached(
        "SELECT ts, nick, text, kind, account, deleted, file_id, search_id FROM messages
         WHERE room = ?1 AND seq = ?2",
    )?
    .query_row(params![room, sql_seq], |row| {
        Ok(TargetRow {
            seq,
            sql_seq,
            ts: row.get(0)?,
            nick: row.get(1)?,
            text: row.get(2)?,
            kind: schema::kind_from_sql(&row.get::<_, String>(3)?),
            account: row.get(4)?,
            deleted: row.get::<_, i64>(5)? != 0,
            file: row.get(6)?,
            search_id: row.get(7)?,
        })
    })
    .optional()
}

/// Whether message `seq` may take a reaction `emoji`: it has it already
/// (from someone else), or has fewer than [`MAX_REACTIONS`] different ones.
fn emoji_room(tx: &Connection, room: &str, seq: i64, emoji: &str) -> rusqlite::Result<bool> {
    let (kinds, has_it): (i64, bool) = tx
        .prepare_cached(
            "SELECT COUNT(DISTINCT emoji), COALESCE(MAX(emoji = ?3), 0) FROM reactions
             WHERE room = ?1 AND seq = ?2",
        )?
        .query_row(params![room, seq, emoji], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok(has_it || usize::try_from(kinds).unwrap_or(usize::MAX) < MAX_REACTIONS)
}

/// The message changed with `rev`, the number of the change.
fn revise(tx: &Connection, room: &str, seq: i64, rev: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE messages SET rev = ?3 WHERE room = ?1 AND seq = ?2")?
        .execute(params![room, seq, rev])?;
    Ok(())
}

/// Takes the text and file of a deleted message out of the store (with the
/// texts its edits carried, its search row, mentions and reactions), and
/// logs a moderator's deletion of someone else's message.
fn erase(
    tx: &Connection,
    message: &NewMessage,
    target: &TargetRow,
    ts: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE messages SET text = '', deleted = 1, file_id = NULL
         WHERE room = ?1 AND seq = ?2",
    )?
    .execute(params![message.room, target.sql_seq])?;
    tx.prepare_cached(
        "UPDATE messages SET text = '' WHERE room = ?1 AND target = ?2 AND kind = 'edit'",
    )?
    .execute(params![message.room, target.sql_seq])?;
    if let Some(id) = target.search_id {
        unindex(tx, id)?;
    }
    forget_mentions(tx, &message.room, target.sql_seq)?;
    tx.prepare_cached("DELETE FROM reactions WHERE room = ?1 AND seq = ?2")?
        .execute(params![message.room, target.sql_seq])?;
    if let Some(file) = &target.file {
        tx.prepare_cached("DELETE FROM files WHERE id = ?1")?
            .execute([file])?;
    }
    let someone_else = target.account.is_none() || target.account != message.account;
    if message.moderator && someone_else {
        let action = shared::Moderation::Delete {
            target: target.nick.clone(),
            seq: target.seq,
        };
        let action = serde_json::to_string(&action).unwrap_or_default();
        tx.prepare_cached(
            "INSERT INTO moderation_log (room, ts, by, action) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![message.room, ts, message.nick, action])?;
    }
    Ok(())
}

/// Adds the text of `message` (to be number `seq`) to the search index;
/// returns its row there.
pub(super) fn index(tx: &Connection, message: &NewMessage, seq: u64) -> rusqlite::Result<i64> {
    tx.prepare_cached("INSERT INTO message_search (text, room, seq) VALUES (?1, ?2, ?3)")?
        .execute(params![
            message.text,
            message.room,
            i64::try_from(seq).unwrap_or(i64::MAX)
        ])?;
    Ok(tx.last_insert_rowid())
}

/// Takes search row `id` out of the index.
pub(super) fn unindex(tx: &Connection, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM message_search WHERE rowid = ?1")?
        .execute([id])?;
    Ok(())
}

/// Notes whom message `seq` of `room` mentions.
pub(super) fn note_mentions(
    tx: &Connection,
    room: &str,
    seq: u64,
    text: &str,
) -> rusqlite::Result<()> {
    let mut named = mentions(text)
        .filter(|name| name.chars().count() <= MAX_NICK_CHARS)
        .peekable();
    if named.peek().is_none() {
        return Ok(());
    }
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO mentions (room, seq, nick_key) VALUES (?1, ?2, ?3)",
    )?;
    for name in named {
        insert.execute(params![room, seq, nick_key(name)])?;
    }
    Ok(())
}

fn forget_mentions(tx: &Connection, room: &str, seq: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM mentions WHERE room = ?1 AND seq = ?2")?
        .execute(params![room, seq])?;
    Ok(())
}
