//! The store's tests: each opens a store in a fresh temporary directory and
//! checks what comes back out, as the hub would see it. The kill -9 test runs
//! this same test binary as a child process that writes until it is killed.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use rusqlite::Connection;
use shared::{ChatMessage, MessageKind};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::writer::{self, Command, Counters, Job};
use super::*;

/// What the doors ask for (`shared::limits`): the history shown on joining,
/// a page of older messages, and the most missed messages replayed.
const JOIN_HISTORY: usize = 50;
const PAGE: usize = 100;
const REPLAY_LIMIT: usize = 1_000;

fn message(room: &str, nick: &str, text: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        room: room.to_owned(),
        nick: nick.to_owned(),
        text: text.to_owned(),
        kind: MessageKind::Text,
        client_id: client_id.map(str::to_owned),
        file: None,
        patience: Duration::ZERO,
        account: None,
        target: None,
        moderator: false,
        edit_window: None,
    }
}

/// Appends `count` messages to `room` the way the hub does: every call in
/// order, without waiting, then waits for all the commits. Their texts and
/// ids are `#1`, `#2`... counted from `first`.
async fn fill(store: &dyn Store, room: &str, first: u64, count: u64) -> Vec<ChatMessage> {
    let pending: Vec<_> = (first..first + count)
        .map(|n| {
            let name = format!("#{n}");
            store.append(message(room, "alice", &name, Some(&name)))
        })
        .collect();
    join_all(pending)
        .await
        .into_iter()
        .map(|outcome| {
            let appended = outcome.unwrap();
            assert!(!appended.duplicate);
            appended.msg
        })
        .collect()
}

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

fn raw(dir: &Path) -> Connection {
    Connection::open(dir.join(schema::FILE_NAME)).unwrap()
}

fn integrity_check(dir: &Path) -> String {
    raw(dir)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

fn user_version(dir: &Path) -> i64 {
    raw(dir)
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn append_numbers_stamps_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut wave = message("lobby", "bob", "waves", None);
    wave.kind = MessageKind::Action;
    let pending = [
        store.append(message("lobby", "alice", "hi", Some("c1"))),
        store.append(wave),
        store.append(message("rust", "alice", "hello", Some("c1"))),
    ];
    let appended: Vec<Appended> = join_all(pending)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let [hi, wave, hello] = [&appended[0], &appended[1], &appended[2]];
    assert!(!hi.duplicate && !wave.duplicate && !hello.duplicate);
    // Numbered per room from 1, in call order.
    assert_eq!(
        (hi.msg.seq, wave.msg.seq, hello.msg.seq),
        (1, 2, 1),
        "{appended:?}"
    );
    assert_eq!(hi.msg.text, "hi");
    assert_eq!(wave.msg.kind, MessageKind::Action);
    // Stamped with the server's time, never going back.
    assert!(u128::try_from(hi.msg.ts).unwrap() >= before);
    assert!(wave.msg.ts >= hi.msg.ts);

    assert_eq!(
        store.history("lobby", None, JOIN_HISTORY).await.unwrap(),
        vec![hi.msg.clone(), wave.msg.clone()]
    );
    assert_eq!(
        store.since("lobby", 1, REPLAY_LIMIT).await.unwrap(),
        vec![wave.msg.clone()]
    );
    assert_eq!(
        store.history("rust", None, JOIN_HISTORY).await.unwrap(),
        vec![hello.msg.clone()]
    );
    assert_eq!(
        store.heads().await.unwrap(),
        HashMap::from([("lobby".to_owned(), 2), ("rust".to_owned(), 1)])
    );
    let found = store
        .find_by_client_id("lobby", "alice", "c1")
        .await
        .unwrap();
    assert_eq!(
        found,
        Some(Committed {
            seq: 1,
            ts: hi.msg.ts
        })
    );
    let found = store
        .find_by_client_id("rust", "alice", "c1")
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.seq), Some(1));
    for (room, nick, id) in [
        ("lobby", "bob", "c1"),
        ("lobby", "alice", "c2"),
        ("nowhere", "alice", "c1"),
    ] {
        assert_eq!(
            store.find_by_client_id(room, nick, id).await.unwrap(),
            None,
            "{room} {nick} {id}"
        );
    }
    store.close().await.unwrap();
    assert_eq!(integrity_check(dir.path()), "ok");
}

#[tokio::test]
async fn an_empty_store_has_no_heads_and_no_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    assert!(store.heads().await.unwrap().is_empty());
    assert!(store.history("lobby", None, 50).await.unwrap().is_empty());
    assert!(store.since("lobby", 0, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn history_pages_backwards_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    let lobby = fill(store.as_ref(), "lobby", 1, 250).await;
    assert_eq!(seqs(&lobby), (1..=250).collect::<Vec<_>>());
    fill(store.as_ref(), "other", 1, 10).await;
    let history = |before, limit| store.history("lobby", before, limit);

    // Joining: the newest 50, oldest first.
    let joined = history(None, JOIN_HISTORY).await.unwrap();
    assert_eq!(joined, lobby[200..]);
    // Paging back from the oldest one shown, a page at a time.
    let page = history(Some(201), PAGE).await.unwrap();
    assert_eq!(seqs(&page), (101..=200).collect::<Vec<_>>());
    let page = history(Some(101), PAGE).await.unwrap();
    assert_eq!(page, lobby[..100]);
    // `before` is exclusive.
    assert!(history(Some(1), PAGE).await.unwrap().is_empty());
    assert!(history(Some(0), PAGE).await.unwrap().is_empty());
    assert_eq!(seqs(&history(Some(2), PAGE).await.unwrap()), [1]);
    assert_eq!(seqs(&history(Some(150), 3).await.unwrap()), [147, 148, 149]);
    // Past the head, or no bound at all: the newest.
    for before in [None, Some(251), Some(10_000), Some(u64::MAX)] {
        assert_eq!(
            seqs(&history(before, 3).await.unwrap()),
            [248, 249, 250],
            "{before:?}"
        );
    }
    // Limits: zero, and more than there is (capped, not an error).
    assert!(history(None, 0).await.unwrap().is_empty());
    assert_eq!(history(None, usize::MAX).await.unwrap(), lobby);
    // Rooms do not mix.
    let other = store.history("other", None, PAGE).await.unwrap();
    assert_eq!(seqs(&other), (1..=10).collect::<Vec<_>>());
    assert!(other.iter().all(|m| m.room == "other"));
    assert!(store.history("nowhere", None, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn since_returns_exactly_what_was_missed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    let lobby = fill(store.as_ref(), "lobby", 1, 30).await;
    fill(store.as_ref(), "other", 1, 40).await;
    let since = |after, limit| store.since("lobby", after, limit);

    assert_eq!(since(0, REPLAY_LIMIT).await.unwrap(), lobby);
    assert_eq!(since(25, REPLAY_LIMIT).await.unwrap(), lobby[25..]);
    assert!(since(30, REPLAY_LIMIT).await.unwrap().is_empty());
    assert!(since(31, REPLAY_LIMIT).await.unwrap().is_empty());
    assert!(since(u64::MAX, REPLAY_LIMIT).await.unwrap().is_empty());
    // At most `limit`, from the oldest missed: asking for one more than the
    // replay limit tells a gap too large to replay.
    assert_eq!(seqs(&since(10, 5).await.unwrap()), [11, 12, 13, 14, 15]);
    assert!(since(10, 0).await.unwrap().is_empty());
    assert_eq!(since(0, usize::MAX).await.unwrap().len(), 30);
}

#[tokio::test]
async fn an_accounts_read_markers_and_a_moment_in_a_room_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    let lobby = fill(store.as_ref(), "lobby", 1, 5).await;
    fill(store.as_ref(), "rust", 1, 3).await;
    assert!(store.read_markers(7).await.unwrap().is_empty());
    store.mark_read(7, "lobby".into(), 4).await.unwrap();
    store.mark_read(7, "rust".into(), 2).await.unwrap();
    store.mark_read(8, "lobby".into(), 1).await.unwrap();
    let markers = store.read_markers(7).await.unwrap();
    assert_eq!(
        markers.into_iter().collect::<Vec<_>>(),
        [("lobby".to_owned(), 4), ("rust".to_owned(), 2)]
    );
    // The last message stamped before a moment: before the first, none;
    // just after the third, the third.
    let first = lobby[0].ts;
    assert_eq!(store.seq_before_time("lobby", first).await.unwrap(), 0);
    let third = lobby[2].ts;
    let before_fourth = store.seq_before_time("lobby", third + 1).await.unwrap();
    assert!(
        (3..=5).contains(&before_fourth)
            && lobby[..before_fourth as usize]
                .iter()
                .all(|m| m.ts <= third),
        "{before_fourth}"
    );
    assert_eq!(store.seq_before_time("lobby", i64::MAX).await.unwrap(), 5);
    assert_eq!(store.seq_before_time("nowhere", i64::MAX).await.unwrap(), 0);
}

#[tokio::test]
async fn restart_keeps_history_and_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let lobby = {
        let store = open_sqlite(dir.path()).unwrap();
        let lobby = fill(store.as_ref(), "lobby", 1, 5).await;
        fill(store.as_ref(), "rust", 1, 2).await;
        store.close().await.unwrap();
        lobby
    };
    let store = open_sqlite(dir.path()).unwrap();
    assert_eq!(
        store.heads().await.unwrap(),
        HashMap::from([("lobby".to_owned(), 5), ("rust".to_owned(), 2)])
    );
    assert_eq!(store.history("lobby", None, 50).await.unwrap(), lobby);
    let found = store
        .find_by_client_id("rust", "alice", "#2")
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.seq), Some(2));
    // Numbering goes on from what is stored, and a resend from before the
    // restart is still known.
    let more = fill(store.as_ref(), "lobby", 6, 2).await;
    assert_eq!(seqs(&more), [6, 7]);
    let resent = store
        .append(message("lobby", "alice", "#3", Some("#3")))
        .await
        .unwrap();
    assert!(resent.duplicate);
    assert_eq!(resent.msg, lobby[2]);
    drop(store);
    // Dropped without `close`: what was committed is there all the same.
    let store = open_sqlite(dir.path()).unwrap();
    assert_eq!(store.heads().await.unwrap()["lobby"], 7);
    assert_eq!(integrity_check(dir.path()), "ok");
}

#[tokio::test]
async fn migrations_run_on_a_fresh_database_and_once() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!dir.path().join(schema::FILE_NAME).exists());
    let store = open_sqlite(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), schema::version());
    assert_eq!(schema::version(), 4);
    let objects: Vec<String> = raw(dir.path())
        .prepare("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        objects,
        [
            "accounts",
            "files",
            "invites",
            "mentions",
            "mentions_of",
            "message_search",
            "message_search_config",
            "message_search_content",
            "message_search_data",
            "message_search_docsize",
            "message_search_idx",
            "messages",
            "messages_client_id",
            "messages_target",
            "moderation_log",
            "moderation_log_room",
            "reactions",
            "read_markers",
            "room_roles",
            "room_settings",
            "sanctions",
            "sanctions_room",
            "sessions",
            "sessions_account"
        ]
    );
    fill(store.as_ref(), "lobby", 1, 3).await;
    store.close().await.unwrap();
    drop(store);

    // Reopening migrates nothing and loses nothing.
    for _ in 0..2 {
        let store = open_sqlite(dir.path()).unwrap();
        assert_eq!(user_version(dir.path()), schema::version());
        assert_eq!(store.history("lobby", None, 50).await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn a_shared_file_is_stored_with_its_message_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    let attachment = Attachment {
        id: "0123456789abcdef0123456789abcdef".into(),
        name: "cat.png".into(),
        size: 48_230,
        content_type: "image/png".into(),
    };
    let mut announcement = message("lobby", "alice", "cat.png", None);
    announcement.file = Some(Box::new(FileRecord {
        attachment: attachment.clone(),
        sha256: "ab".repeat(32),
    }));
    store
        .append(message("lobby", "bob", "before", None))
        .await
        .unwrap();
    let appended = store.append(announcement).await.unwrap();
    assert_eq!(appended.msg.attachment.as_ref(), Some(&attachment));
    assert_eq!(appended.msg.seq, 2);

    let history = store.history("lobby", None, 10).await.unwrap();
    assert_eq!(history[0].attachment, None);
    assert_eq!(history[1].attachment.as_ref(), Some(&attachment));
    let missed = store.since("lobby", 1, 10).await.unwrap();
    assert_eq!(missed[0].attachment.as_ref(), Some(&attachment));

    let (record, shared_in) = store.file(&attachment.id).await.unwrap().unwrap();
    assert_eq!(shared_in, "lobby");
    assert_eq!(record.attachment, attachment);
    assert_eq!(record.sha256, "ab".repeat(32));
    assert_eq!(store.file(&"00".repeat(16)).await.unwrap(), None);
    let (uploader, room): (String, String) = raw(dir.path())
        .query_row("SELECT uploader, room FROM files", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!((uploader.as_str(), room.as_str()), ("alice", "lobby"));
}

#[tokio::test]
async fn a_version_1_database_gains_files_and_keeps_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join(schema::FILE_NAME)).unwrap();
        conn.execute_batch(
            "CREATE TABLE messages (
                room TEXT NOT NULL, seq INTEGER NOT NULL CHECK (seq > 0),
                ts INTEGER NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL,
                kind TEXT NOT NULL, client_id TEXT, PRIMARY KEY (room, seq)
            ) STRICT, WITHOUT ROWID;
            CREATE UNIQUE INDEX messages_client_id
                ON messages (room, nick, client_id) WHERE client_id IS NOT NULL;
            INSERT INTO messages VALUES ('lobby', 1, 0, 'ann', 'old', 'text', NULL);
            PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = open_sqlite(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), schema::version());
    let history = store.history("lobby", None, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text, "old");
    assert_eq!(history[0].attachment, None);
    assert_eq!(integrity_check(dir.path()), "ok");
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_sqlite(dir.path()).unwrap());
    raw(dir.path())
        .pragma_update(None, "user_version", 99)
        .unwrap();
    match open_sqlite(dir.path()) {
        Err(StoreError::SchemaTooNew {
            found: 99,
            known: 4,
        }) => {}
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

#[test]
fn the_write_connection_is_wal_and_synchronous_full() {
    let dir = tempfile::tempdir().unwrap();
    let conn = schema::open_writer(&dir.path().join(schema::FILE_NAME)).unwrap();
    let pragma = |name: &str| -> String {
        conn.pragma_query_value(None, name, |row| {
            row.get::<_, rusqlite::types::Value>(0)
                .map(|value| format!("{value:?}"))
        })
        .unwrap()
    };
    assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
    assert_eq!(pragma("synchronous"), "Integer(2)", "2 is FULL");
    assert_eq!(pragma("foreign_keys"), "Integer(1)");
    assert_eq!(pragma("busy_timeout"), "Integer(5000)");
    assert_eq!(pragma("cache_size"), "Integer(-65536)");
    assert_eq!(pragma("wal_autocheckpoint"), "Integer(10000)");
    assert_eq!(pragma("secure_delete"), "Integer(2)", "2 is FAST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_all_commit_exactly_once_and_in_order() {
    const TASKS: u64 = 64;
    const PER_TASK: u64 = 50;
    const SHARED: u64 = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();

    // Many tasks, each waiting for each commit, in rooms of their own and in
    // one room they all share...
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let own = format!("room-{task}");
                let nick = format!("user{task}");
                let mut seqs = Vec::new();
                for n in 1..=PER_TASK {
                    let id = format!("{n}");
                    let mine = store.append(message(&own, &nick, "mine", Some(&id)));
                    let together = store.append(message("busy", &nick, "ours", Some(&id)));
                    assert_eq!(mine.await.unwrap().msg.seq, n);
                    seqs.push(together.await.unwrap().msg.seq);
                }
                seqs
            })
        })
        .collect();
    // ...beside one sequencer with thousands in flight in one room, as the hub.
    let shared = fill(store.as_ref(), "shared", 1, SHARED).await;
    assert_eq!(seqs(&shared), (1..=SHARED).collect::<Vec<_>>());
    let mut busy = Vec::new();
    for task in join_all(tasks).await {
        let seqs = task.unwrap();
        // Each task's messages in the shared room come in its call order.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        busy.extend(seqs);
    }
    busy.sort_unstable();
    assert_eq!(busy, (1..=TASKS * PER_TASK).collect::<Vec<_>>());

    let heads = store.heads().await.unwrap();
    assert_eq!(heads.len(), usize::try_from(TASKS + 2).unwrap());
    assert_eq!(heads["shared"], SHARED);
    assert_eq!(heads["busy"], TASKS * PER_TASK);
    assert_eq!(store.since("shared", 0, MAX_READ).await.unwrap(), shared);
    let stored = store.since("busy", 0, MAX_READ).await.unwrap();
    assert_eq!(seqs(&stored), busy);
    for task in 0..TASKS {
        let room = format!("room-{task}");
        assert_eq!(heads[&room], PER_TASK);
        let messages = store.since(&room, 0, MAX_READ).await.unwrap();
        assert_eq!(
            seqs(&messages),
            (1..=PER_TASK).collect::<Vec<_>>(),
            "{room}"
        );
    }
    let total: i64 = raw(dir.path())
        .query_row("SELECT COUNT(*) FROM messages", [], |row| row.get(0))
        .unwrap();
    assert_eq!(u64::try_from(total).unwrap(), 2 * TASKS * PER_TASK + SHARED);
    store.close().await.unwrap();
    assert_eq!(integrity_check(dir.path()), "ok");
}

#[tokio::test]
async fn appends_are_grouped_into_few_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    fill(&store, "lobby", 1, 3_000).await;
    let stats = store.stats();
    assert_eq!(stats.messages, 3_000);
    assert_eq!(stats.size_histogram.iter().sum::<u64>(), stats.batches);
    // 3,000 calls made before any answer: however the writer raced them, it
    // cannot have needed one commit for each.
    assert!(stats.batches < 3_000, "{stats:?}");
    assert!(stats.largest_batch > 1, "{stats:?}");
}

#[tokio::test]
async fn a_message_that_may_wait_is_committed_after_its_patience_with_what_came_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let patience = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let first = store.append(NewMessage {
        patience,
        ..message("lobby", "ann", "first", None)
    });
    // Queued by the call, while the writer waits out the first's patience.
    let second = store.append(message("lobby", "bob", "second", None));
    let (first, second) = tokio::join!(first, second);
    assert!(started.elapsed() >= patience);
    assert_eq!((first.unwrap().msg.seq, second.unwrap().msg.seq), (1, 2));
    let stats = store.stats();
    assert_eq!((stats.batches, stats.largest_batch), (1, 2), "{stats:?}");
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_resend_gets_the_original_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    let original = store
        .append(message("lobby", "alice", "hello", Some("c1")))
        .await
        .unwrap();
    assert!(!original.duplicate);

    // Resent, maybe with other text, beside new messages.
    let pending = [
        store.append(message("lobby", "alice", "hello again?", Some("c1"))),
        store.append(message("lobby", "bob", "from bob", Some("c1"))),
        store.append(message("rust", "alice", "elsewhere", Some("c1"))),
        store.append(message("lobby", "alice", "news", Some("c2"))),
    ];
    let [resent, bob, elsewhere, news] = <[_; 4]>::try_from(join_all(pending).await)
        .unwrap()
        .map(Result::unwrap);
    assert!(resent.duplicate);
    assert_eq!(resent.msg, original.msg);
    // The same id from someone else, or in another room, is a new message;
    // and the resend took no number.
    assert!(!bob.duplicate && !elsewhere.duplicate && !news.duplicate);
    assert_eq!((bob.msg.seq, elsewhere.msg.seq, news.msg.seq), (2, 1, 3));
    let stored = store.since("lobby", 0, 10).await.unwrap();
    assert_eq!(seqs(&stored), [1, 2, 3]);
    assert_eq!(stored[0].text, "hello");

    // Messages without an id are never taken for resends.
    for _ in 0..2 {
        let appended = store
            .append(message("lobby", "carol", "same", None))
            .await
            .unwrap();
        assert!(!appended.duplicate);
    }
    assert_eq!(store.heads().await.unwrap()["lobby"], 5);
}

#[test]
fn a_resend_in_the_same_group_does_not_fail_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = schema::open_writer(&dir.path().join(schema::FILE_NAME)).unwrap();
    let mut heads = writer::Heads::default();
    let group = [
        message("lobby", "alice", "a", Some("a")),
        message("lobby", "alice", "a again", Some("a")),
        message("lobby", "alice", "b", Some("b")),
        message("lobby", "bob", "a", Some("a")),
        message("rust", "alice", "a", Some("a")),
    ];
    let outcomes = writer::write_batch(&mut conn, &mut heads, 1_000, &group).unwrap();
    let first = ChatMessage {
        room: "lobby".into(),
        seq: 1,
        ts: 1_000,
        nick: "alice".into(),
        text: "a".into(),
        kind: MessageKind::Text,
        attachment: None,
        target: None,
        deleted: false,
        quote: None,
        edited: None,
        reactions: Vec::new(),
        rev: 0,
    };
    assert_eq!(
        outcomes,
        [
            writer::Outcome::Stored {
                seq: 1,
                ts: 1_000,
                quote: None
            },
            writer::Outcome::Duplicate(first),
            writer::Outcome::Stored {
                seq: 2,
                ts: 1_000,
                quote: None
            },
            writer::Outcome::Stored {
                seq: 3,
                ts: 1_000,
                quote: None
            },
            writer::Outcome::Stored {
                seq: 1,
                ts: 1_000,
                quote: None
            },
        ]
    );
    let stored: Vec<(String, i64, String)> = conn
        .prepare("SELECT room, seq, text FROM messages ORDER BY room, seq")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        stored,
        [
            ("lobby".into(), 1, "a".into()),
            ("lobby".into(), 2, "b".into()),
            ("lobby".into(), 3, "a".into()),
            ("rust".into(), 1, "a".into()),
        ]
    );
}

#[test]
fn numbers_taken_behind_the_writers_back_are_skipped_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = schema::open_writer(&dir.path().join(schema::FILE_NAME)).unwrap();
    // Another writer stored lobby 1..=3; this one believes the room empty.
    let mut other = writer::Heads::default();
    let three = [
        message("lobby", "x", "1", None),
        message("lobby", "x", "2", None),
        message("lobby", "x", "3", None),
    ];
    writer::write_batch(&mut conn, &mut other, 1, &three).unwrap();
    let mut stale = writer::Heads::default();
    let next = [message("lobby", "y", "4", None)];
    let outcomes = writer::write_batch(&mut conn, &mut stale, 2, &next).unwrap();
    assert_eq!(
        outcomes,
        [writer::Outcome::Stored {
            seq: 4,
            ts: 2,
            quote: None
        }]
    );
}

#[test]
fn a_failed_group_takes_no_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = schema::open_writer(&dir.path().join(schema::FILE_NAME)).unwrap();
    let mut heads = writer::Heads::default();
    writer::write_batch(
        &mut conn,
        &mut heads,
        1,
        &[message("lobby", "a", "1", None)],
    )
    .unwrap();
    // A trigger makes the second message of the next group fail outright
    // (with an error that is not a constraint's).
    conn.execute_batch(FAIL_ON_BOOM).unwrap();
    let group = [
        message("lobby", "a", "2", None),
        message("lobby", "a", "boom", None),
    ];
    let failure = writer::write_batch(&mut conn, &mut heads, 2, &group).unwrap_err();
    assert!(!failure.in_commit, "{failure:?}");
    assert!(conn.is_autocommit(), "rolled back");
    conn.execute_batch("DROP TRIGGER fail").unwrap();
    // Nothing of the failed group is stored, and the next message gets 2.
    let outcomes = writer::write_batch(
        &mut conn,
        &mut heads,
        3,
        &[message("lobby", "a", "3", None)],
    )
    .unwrap();
    assert_eq!(
        outcomes,
        [writer::Outcome::Stored {
            seq: 2,
            ts: 3,
            quote: None
        }]
    );
}

#[tokio::test]
async fn close_commits_what_was_appended_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).unwrap();
    let pending: Vec<_> = (0..500)
        .map(|_| store.append(message("lobby", "alice", "hi", None)))
        .collect();
    store.close().await.unwrap();
    for outcome in join_all(pending).await {
        outcome.unwrap();
    }
    assert_eq!(
        store.append(message("lobby", "alice", "late", None)).await,
        Err(StoreError::Closed)
    );
    // Closing twice is fine, and reads go on.
    store.close().await.unwrap();
    assert_eq!(store.since("lobby", 0, MAX_READ).await.unwrap().len(), 500);
    assert_eq!(store.heads().await.unwrap()["lobby"], 500);
}

#[tokio::test]
async fn a_failed_statement_fails_its_group_and_the_writer_goes_on() {
    let (commands, outcome) = failing_writer("");
    let failed = outcome(&commands, "boom").await;
    assert!(
        matches!(&failed, Err(StoreError::Write(reason)) if reason.contains("malformed JSON")),
        "{failed:?}"
    );
    let next = outcome(&commands, "fine").await.unwrap();
    assert_eq!(next.msg.seq, 1, "the failed message took no number");
}

#[tokio::test]
async fn a_failed_commit_fails_its_group_and_every_later_write() {
    // A deferred foreign key that no message satisfies: every insert goes
    // through, and every COMMIT fails.
    let (commands, outcome) = failing_writer(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (seq INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
         CREATE TEMP TRIGGER orphan AFTER INSERT ON messages BEGIN
             INSERT INTO child VALUES (NEW.seq);
         END;",
    );
    let failed = outcome(&commands, "one").await;
    assert!(
        matches!(&failed, Err(StoreError::Write(reason)) if reason.contains("FOREIGN KEY")),
        "{failed:?}"
    );
    let refused = outcome(&commands, "two").await;
    assert!(matches!(refused, Err(StoreError::Failed(_))), "{refused:?}");
}

/// Makes inserting a message with the text `boom` fail with an error that
/// is not a constraint's (malformed JSON).
const FAIL_ON_BOOM: &str = "CREATE TEMP TRIGGER fail BEFORE INSERT ON messages
     WHEN NEW.text = 'boom' BEGIN SELECT json('{'); END;";

type Outcome = futures_util::future::BoxFuture<'static, Result<Appended, StoreError>>;

/// A writer on a fresh in-memory database with `setup` run on it, whose
/// messages with the text `boom` fail; and a function to append through it.
fn failing_writer(
    setup: &str,
) -> (
    mpsc::Sender<Command>,
    impl Fn(&mpsc::Sender<Command>, &str) -> Outcome,
) {
    let conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.execute_batch(
        "CREATE TABLE messages (room TEXT, seq INTEGER, ts INTEGER, nick TEXT, text TEXT,
                                kind TEXT, client_id TEXT, file_id TEXT, account INTEGER,
                                target INTEGER, deleted INTEGER NOT NULL DEFAULT 0,
                                edited INTEGER, rev INTEGER NOT NULL DEFAULT 0,
                                search_id INTEGER,
                                PRIMARY KEY (room, seq));
         CREATE VIRTUAL TABLE message_search USING fts5 (text, room UNINDEXED, seq UNINDEXED);
",
    )
    .unwrap();
    conn.execute_batch(FAIL_ON_BOOM).unwrap();
    conn.execute_batch(setup).unwrap();
    let (commands, queue) = mpsc::channel(16);
    writer::spawn(conn, HashMap::new(), queue, Arc::new(Counters::default())).unwrap();
    let append = |commands: &mpsc::Sender<Command>, text: &str| -> Outcome {
        let (done, outcome) = oneshot::channel();
        let job = Job {
            message: message("lobby", "alice", text, None),
            done,
        };
        let commands = commands.clone();
        Box::pin(async move {
            commands.send(Command::Append(job)).await.unwrap();
            outcome.await.unwrap()
        })
    };
    (commands, append)
}

#[test]
fn client_id_lookups_use_the_unique_index() {
    let dir = tempfile::tempdir().unwrap();
    let conn = schema::open_writer(&dir.path().join(schema::FILE_NAME)).unwrap();
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT seq, ts FROM messages
             WHERE room = ?1 AND nick = ?2 AND client_id = ?3",
        )
        .unwrap()
        .query_map(["lobby", "alice", "c1"], |row| row.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|step| step.contains("messages_client_id")),
        "{plan:?}"
    );
}

/// Where the kill -9 child writes; set only in the child.
const CRASH_DIR: &str = "HUBBUB_STORE_CRASH_DIR";
const CRASH_ROOMS: u64 = 8;

/// Kills a writing store with SIGKILL, again and again, and then checks the
/// database: it is intact, every message acknowledged before a kill is there
/// once, and every room is numbered without a gap.
#[test]
fn kill_9_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<(String, u64, String)> = Vec::new();
    for round in 0..4 {
        let mut child = Process::new(std::env::current_exe().unwrap())
            .args(["--exact", "store::tests::crash_child", "--nocapture"])
            .env(CRASH_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut this_round = 0;
        let mut killed = false;
        // Every line read is an acknowledgement the child received: the
        // message was committed. Kill it in the middle of its traffic, then
        // take the acknowledgements still in the pipe.
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let Some(ack) = line.strip_prefix("ack ") else {
                assert!(!line.starts_with("error"), "the child failed: {line}");
                continue;
            };
            let mut fields = ack.split(' ');
            let (Some(room), Some(seq), Some(text)) = (fields.next(), fields.next(), fields.next())
            else {
                panic!("a bad line: {line}");
            };
            acked.push((room.to_owned(), seq.parse().unwrap(), text.to_owned()));
            this_round += 1;
            if this_round == 1_000 + round * 500 && !killed {
                child.kill().unwrap(); // SIGKILL
                killed = true;
            }
        }
        child.wait().unwrap();
        assert!(killed, "round {round}: the child ended by itself");
    }

    assert_eq!(integrity_check(dir.path()), "ok");
    let conn = raw(dir.path());
    let unique: HashSet<_> = acked.iter().map(|(room, seq, _)| (room, seq)).collect();
    assert_eq!(
        unique.len(),
        acked.len(),
        "a sequence number acknowledged twice"
    );
    let mut statement = conn
        .prepare("SELECT text FROM messages WHERE room = ?1 AND seq = ?2")
        .unwrap();
    for (room, seq, text) in &acked {
        let stored: String = statement
            .query_row(
                rusqlite::params![room, i64::try_from(*seq).unwrap()],
                |row| row.get(0),
            )
            .unwrap_or_else(|e| panic!("acknowledged {room} #{seq} is missing: {e}"));
        assert_eq!(&stored, text);
    }
    // No holes: each room holds exactly 1..=its head.
    let rooms: Vec<(String, i64, i64)> = conn
        .prepare("SELECT room, COUNT(*), MAX(seq) FROM messages GROUP BY room")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rooms.len(), usize::try_from(CRASH_ROOMS).unwrap());
    for (room, count, head) in rooms {
        assert_eq!(count, head, "{room} has holes");
    }
}

/// The child of `kill_9_loses_no_acknowledged_message`: does nothing unless
/// started by it. Appends to a few rooms with up to 256 messages in flight,
/// each with a client id, and prints `ack ROOM SEQ TEXT` for each commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let store = match open_sqlite(Path::new(&dir)) {
        Ok(store) => store,
        Err(e) => {
            println!("error {e}");
            return;
        }
    };
    // A nickname of its own, so that its ids are new to the database.
    let nick = format!("n{}", std::process::id());
    let in_flight = Arc::new(Semaphore::new(256));
    // Bounded, should the parent never kill it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0u64;
    while Instant::now() < deadline {
        let permit = Arc::clone(&in_flight).acquire_owned().await.unwrap();
        let room = format!("room-{}", sent % CRASH_ROOMS);
        let text = format!("{nick}-{sent}");
        let committed = store.append(message(&room, &nick, &text, Some(&text)));
        tokio::spawn(async move {
            let line = match committed.await {
                Ok(appended) if !appended.duplicate => {
                    format!("ack {room} {} {text}", appended.msg.seq)
                }
                Ok(appended) => format!("error a duplicate: {appended:?}"),
                Err(e) => format!("error {e}"),
            };
            // A parent that stopped listening (it failed) ends the child.
            if writeln!(std::io::stdout(), "{line}").is_err() {
                std::process::exit(1);
            }
            drop(permit);
        });
        sent += 1;
    }
}

#[test]
fn an_edit_after_the_window_is_refused_and_one_inside_it_changes_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = schema::open_writer(&dir.path().join(schema::FILE_NAME)).unwrap();
    let mut heads = writer::Heads::default();
    let original = NewMessage {
        account: Some(7),
        ..message("lobby", "ada", "frist", None)
    };
    writer::write_batch(&mut conn, &mut heads, 1_000, &[original]).unwrap();
    let edit = |text: &str| NewMessage {
        kind: MessageKind::Edit,
        account: Some(7),
        target: Some(1),
        edit_window: Some(Duration::from_secs(60)),
        ..message("lobby", "ada", text, None)
    };
    // 60 s after: still in.
    let outcomes = writer::write_batch(&mut conn, &mut heads, 61_000, &[edit("first")]).unwrap();
    assert_eq!(
        outcomes,
        [writer::Outcome::Stored {
            seq: 2,
            ts: 61_000,
            quote: None
        }]
    );
    // A millisecond later: out, and no number taken.
    let outcomes = writer::write_batch(&mut conn, &mut heads, 61_001, &[edit("1st")]).unwrap();
    assert_eq!(
        outcomes,
        [writer::Outcome::Refused(StoreError::TooOldToEdit {
            seq: 1
        })]
    );
    let (text, edited, rev): (String, i64, i64) = conn
        .query_row(
            "SELECT text, edited, rev FROM messages WHERE room = 'lobby' AND seq = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!((text.as_str(), edited, rev), ("first", 61_000, 2));
    let indexed: String = conn
        .query_row(
            "SELECT text FROM message_search WHERE message_search MATCH 'first'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(indexed, "first");
}

#[test]
fn the_migration_indexes_the_messages_already_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(schema::FILE_NAME);
    {
        let conn = schema::open_writer(&path).unwrap();
        // Back to how version 3 left a database with two messages.
        conn.execute_batch(
            "DROP TABLE message_search; DROP TABLE reactions; DROP TABLE mentions;
             DROP TABLE read_markers; DROP INDEX messages_target;
             ALTER TABLE messages DROP COLUMN edited; ALTER TABLE messages DROP COLUMN rev;
             ALTER TABLE messages DROP COLUMN search_id;
             INSERT INTO messages (room, seq, ts, nick, text, kind)
                 VALUES ('lobby', 1, 1, 'ada', 'old release notes', 'text'),
                        ('lobby', 2, 2, 'ada', 'gone', 'text');
             UPDATE messages SET deleted = 1, text = '' WHERE seq = 2;
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let conn = schema::open_writer(&path).unwrap();
    let found: Vec<(i64, i64)> = conn
        .prepare(
            "SELECT s.seq, m.search_id FROM message_search AS s
             JOIN messages AS m ON m.room = s.room AND m.seq = s.seq
             WHERE message_search MATCH 'releas*' AND s.rowid = m.search_id",
        )
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 1);
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM message_search", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 1, "a deleted message is not indexed");
}
