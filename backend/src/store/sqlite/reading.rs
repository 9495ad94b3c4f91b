//! Reading besides history: reactions added to a page of messages, search
//! over the full-text index, unread counts and read markers.

use std::collections::{BTreeMap, HashMap};

use futures_util::FutureExt as _;
use futures_util::future::{self, BoxFuture};
use rusqlite::{Connection, OptionalExtension as _, params, params_from_iter};
use shared::ChatMessage;
use shared::protocol::{Reaction, SearchHit, UnreadCount};

use super::{SqliteStore, read_error, sql_limit};
use crate::store::{AccountId, Reader, SearchPage, StoreError};

/// Where FTS5's `snippet` marks the start and end of a match: characters of
/// Unicode's private use area, which chat text has no business holding (any
/// it holds are dropped from snippets).
const MATCH_START: char = '\u{E000}';
const MATCH_END: char = '\u{E001}';
/// Words of context a snippet shows around the match.
const SNIPPET_WORDS: i64 = 16;

/// Adds their reactions to the messages of a page that have any (a message
/// with none has never changed: `rev` is 0).
pub(super) fn add_reactions(
    conn: &Connection,
    room: &str,
    messages: &mut [ChatMessage],
) -> Result<(), StoreError> {
    let changed = messages.iter().filter(|m| m.rev > 0).map(|m| m.seq);
    let (Some(first), Some(last)) = (changed.clone().min(), changed.max()) else {
        return Ok(());
    };
    let mut statement = conn
        .prepare_cached(
            "SELECT seq, emoji, nick FROM reactions
             WHERE room = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq, given",
        )
        .map_err(read_error)?;
    let bounds = |seq: u64| i64::try_from(seq).unwrap_or(i64::MAX);
    let mut rows = statement
        .query(params![room, bounds(first), bounds(last)])
        .map_err(read_error)?;
    // The page may be in either order (history reads newest first).
    let at: HashMap<u64, usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.rev > 0)
        .map(|(i, m)| (m.seq, i))
        .collect();
    while let Some(row) = rows.next().map_err(read_error)? {
        let seq = u64::try_from(row.get::<_, i64>(0).map_err(read_error)?).unwrap_or(0);
        let emoji: String = row.get(1).map_err(read_error)?;
        let nick: String = row.get(2).map_err(read_error)?;
        let Some(message) = at.get(&seq).and_then(|&i| messages.get_mut(i)) else {
            continue;
        };
        match message.reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => reaction.nicks.push(nick),
            None => message.reactions.push(Reaction {
                emoji,
                nicks: vec![nick],
            }),
        }
    }
    Ok(())
}

/// `query` as an FTS5 expression: every word as a phrase of its own (so
/// that nothing a person types is FTS5 syntax), all of them required, the
/// last one also as a prefix (search as one types). `None`: no words.
fn match_expression(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split_whitespace()
        .map(|word| word.replace('"', ""))
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{word}\""))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut expression = rest.join(" ");
    if !expression.is_empty() {
        expression.push(' ');
    }
    expression.push_str(last);
    expression.push('*');
    Some(expression)
}

/// A snippet marked with [`MATCH_START`] and [`MATCH_END`] as the pieces
/// [`SearchHit::snippet`] holds: plain, matched, plain, ...
fn snippet_parts(marked: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for c in marked.chars() {
        match c {
            MATCH_START if parts.len() % 2 == 1 => parts.push(String::new()),
            MATCH_END if parts.len() % 2 == 0 => parts.push(String::new()),
            MATCH_START | MATCH_END => {}
            c => {
                if let Some(part) = parts.last_mut() {
                    part.push(c);
                }
            }
        }
    }
    if parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    parts
}

impl SqliteStore {
    pub(super) fn search_rooms(
        &self,
        rooms: Vec<String>,
        query: &str,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'static, Result<SearchPage, StoreError>> {
        let limit = sql_limit(limit);
        let Some(expression) = match_expression(query) else {
            return future::ready(Ok((Vec::new(), None))).boxed();
        };
        if rooms.is_empty() || limit == 0 {
            return future::ready(Ok((Vec::new(), None))).boxed();
        }
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        self.read(move |conn| {
            // One placeholder per room: a client is in a few rooms.
            let places: Vec<String> = (0..rooms.len()).map(|i| format!("?{}", i + 4)).collect();
            let sql = format!(
                "SELECT s.rowid, s.room, s.seq, m.ts, m.nick,
                     snippet(message_search, 0, char(57344), char(57345), '…', {SNIPPET_WORDS})
                 FROM message_search AS s
                 JOIN messages AS m ON m.room = s.room AND m.seq = s.seq
                 WHERE message_search MATCH ?1 AND s.rowid < ?2 AND s.room IN ({})
                 ORDER BY s.rowid DESC LIMIT ?3",
                places.join(", ")
            );
            let mut statement = conn.prepare(&sql).map_err(read_error)?;
            let values: Vec<rusqlite::types::Value> =
                [expression.into(), before.into(), limit.into()]
                    .into_iter()
                    .chain(rooms.into_iter().map(Into::into))
                    .collect();
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(read_error)?;
            let mut hits = Vec::new();
            let mut last = None;
            while let Some(row) = rows.next().map_err(read_error)? {
                last = Some(row.get::<_, i64>(0).map_err(read_error)?);
                let seq: i64 = row.get(2).map_err(read_error)?;
                let marked: String = row.get(5).map_err(read_error)?;
                hits.push(SearchHit {
                    room: row.get(1).map_err(read_error)?,
                    seq: u64::try_from(seq).unwrap_or(0),
                    ts: row.get(3).map_err(read_error)?,
                    nick: row.get(4).map_err(read_error)?,
                    snippet: snippet_parts(&marked),
                });
            }
            let full = i64::try_from(hits.len()).unwrap_or(i64::MAX) == limit;
            let next = last
                .filter(|_| full)
                .and_then(|rowid| u64::try_from(rowid).ok());
            Ok((hits, next))
        })
    }

    pub(super) fn unread_counts(
        &self,
        reader: Reader,
        rooms: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<UnreadCount>, StoreError>> {
        self.read(move |conn| {
            let cap = i64::from(UnreadCount::MAX);
            let mut counts = Vec::with_capacity(rooms.len());
            for room in rooms {
                let read: i64 = conn
                    .prepare_cached("SELECT seq FROM read_markers WHERE account = ?1 AND room = ?2")
                    .map_err(read_error)?
                    .query_row(params![reader.account, room], |row| row.get(0))
                    .optional()
                    .map_err(read_error)?
                    .unwrap_or(0);
                let unread: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM messages
                         WHERE room = ?1 AND seq > ?2 AND kind IN ('text', 'action')
                             AND deleted = 0 AND account IS NOT ?3
                         LIMIT ?4)",
                    )
                    .map_err(read_error)?
                    .query_row(params![room, read, reader.account, cap], |row| row.get(0))
                    .map_err(read_error)?;
                let mentions: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM mentions AS x
                         JOIN messages AS m ON m.room = x.room AND m.seq = x.seq
                         WHERE x.nick_key = ?1 AND x.room = ?2 AND x.seq > ?3
                             AND m.account IS NOT ?4
                         LIMIT ?5)",
                    )
                    .map_err(read_error)?
                    .query_row(
                        params![reader.nick_key, room, read, reader.account, cap],
                        |row| row.get(0),
                    )
                    .map_err(read_error)?;
                let head: i64 = conn
                    .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ?1")
                    .map_err(read_error)?
                    .query_row(params![room], |row| row.get(0))
                    .map_err(read_error)?;
                counts.push(UnreadCount {
                    room,
                    read: u64::try_from(read).unwrap_or(0),
                    unread: u32::try_from(unread).unwrap_or(0),
                    mentions: u32::try_from(mentions).unwrap_or(0),
                    head: u64::try_from(head).unwrap_or(0),
                });
            }
            Ok(counts)
        })
    }

    pub(super) fn markers_of(
        &self,
        account: AccountId,
    ) -> BoxFuture<'static, Result<BTreeMap<String, u64>, StoreError>> {
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached("SELECT room, seq FROM read_markers WHERE account = ?1")
                .map_err(read_error)?;
            let rows = statement
                .query_map(params![account], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(read_error)?;
            let mut markers = BTreeMap::new();
            for row in rows {
                let (room, seq) = row.map_err(read_error)?;
                markers.insert(room, u64::try_from(seq).unwrap_or(0));
            }
            Ok(markers)
        })
    }

    /// A scan of the room's messages: stamps follow sequence numbers only
    /// as far as the clock never stepped back, so no search on seq may
    /// assume they do.
    pub(super) fn seq_stamped_before(
        &self,
        room: String,
        ts: i64,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.read(move |conn| {
            let seq: i64 = conn
                .prepare_cached(
                    "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ?1 AND ts < ?2",
                )
                .map_err(read_error)?
                .query_row(params![room, ts], |row| row.get(0))
                .map_err(read_error)?;
            Ok(u64::try_from(seq).unwrap_or(0))
        })
    }

    pub(super) fn move_marker(
        &self,
        account: AccountId,
        room: String,
        seq: u64,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.exec(move |tx| {
            tx.prepare_cached(
                "INSERT INTO read_markers (account, room, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account, room) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            )
            .and_then(|mut insert| insert.execute(params![account, room, seq]))
            .map_err(|e| StoreError::Write(e.to_string()))?;
            let now: i64 = tx
                .query_row(
                    "SELECT seq FROM read_markers WHERE account = ?1 AND room = ?2",
                    params![account, room],
                    |row| row.get(0),
                )
                .map_err(|e| StoreError::Write(e.to_string()))?;
            Ok(u64::try_from(now).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_type_is_never_fts5_syntax() {
        assert_eq!(match_expression("release"), Some("\"release\"*".into()));
        assert_eq!(
            match_expression(" the  NEAR(x) \"notes "),
            Some("\"the\" \"NEAR(x)\" \"notes\"*".into())
        );
        assert_eq!(match_expression("   "), None);
        assert_eq!(match_expression("\"\""), None);
    }

    #[test]
    fn a_snippet_alternates_plain_and_matched_text() {
        let marked = format!("see the {MATCH_START}release{MATCH_END} notes");
        assert_eq!(snippet_parts(&marked), ["see the ", "release", " notes"]);
        let marked = format!("{MATCH_START}release{MATCH_END}");
        assert_eq!(snippet_parts(&marked), ["", "release"]);
        // A stray marker in the text itself changes nothing.
        let marked = format!("a{MATCH_END}b {MATCH_START}c{MATCH_END}");
        assert_eq!(snippet_parts(&marked), ["ab ", "c"]);
    }
}
