//! The hub's fan-out alone: from one member's `send` to the message being in
//! every member's inbox, for rooms of 100 and 1,000. No sockets and no
//! encoding (the doors do those); the store is an in-memory one that commits
//! at once, so the figure is the hub's own work per message.
//!
//! ```sh
//! cargo bench -p backend --bench fanout
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark code: a failure should stop it with its message"
)]

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backend::accounts::Policy;
use backend::hub::{Auth, Hub, LocalFanout, Peer, Request, Session, Settings, Stores};
use backend::outbox::{Inbox, Outgoing};
use backend::store::{
    AccountId, Appended, Committed, Directory, FileRecord, NewMessage, Reader, SearchPage,
    Snapshot, SqliteStore, Store, StoreError,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use shared::protocol::UnreadCount;
use shared::{ChatMessage, MessageKind, ServerMsg};
use tokio_util::sync::CancellationToken;

/// Numbers messages and forgets them: a store whose commit costs nothing.
#[derive(Default)]
struct Forgetful {
    heads: Mutex<HashMap<String, u64>>,
}

impl Store for Forgetful {
    fn append(&self, message: NewMessage) -> BoxFuture<'static, Result<Appended, StoreError>> {
        let seq = {
            let mut heads = self.heads.lock().unwrap();
            let head = heads.entry(message.room.clone()).or_insert(0);
            *head += 1;
            *head
        };
        let msg = ChatMessage {
            room: message.room,
            seq,
            ts: 0,
            nick: message.nick,
            text: message.text,
            kind: message.kind,
            attachment: None,
            target: None,
            deleted: false,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        };
        async move {
            Ok(Appended {
                msg,
                duplicate: false,
            })
        }
        .boxed()
    }

    fn history(
        &self,
        _room: &str,
        _before: Option<u64>,
        _limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>> {
        async { Ok(Vec::new()) }.boxed()
    }

    fn since(
        &self,
        _room: &str,
        _after: u64,
        _limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ChatMessage>, StoreError>> {
        async { Ok(Vec::new()) }.boxed()
    }

    fn heads(&self) -> BoxFuture<'static, Result<HashMap<String, u64>, StoreError>> {
        async { Ok(HashMap::new()) }.boxed()
    }

    fn find_by_client_id(
        &self,
        _room: &str,
        _nick: &str,
        _client_id: &str,
    ) -> BoxFuture<'static, Result<Option<Committed>, StoreError>> {
        async { Ok(None) }.boxed()
    }

    fn file(
        &self,
        _id: &str,
    ) -> BoxFuture<'static, Result<Option<(FileRecord, String)>, StoreError>> {
        async { Ok(None) }.boxed()
    }

    fn search(
        &self,
        _rooms: Vec<String>,
        _query: String,
        _before: Option<u64>,
        _limit: usize,
    ) -> BoxFuture<'static, Result<SearchPage, StoreError>> {
        async { Ok((Vec::new(), None)) }.boxed()
    }

    fn unread(
        &self,
        _reader: Reader,
        _rooms: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<UnreadCount>, StoreError>> {
        async { Ok(Vec::new()) }.boxed()
    }

    fn mark_read(
        &self,
        _account: AccountId,
        _room: String,
        seq: u64,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        async move { Ok(seq) }.boxed()
    }

    fn read_markers(
        &self,
        _account: AccountId,
    ) -> BoxFuture<'static, Result<std::collections::BTreeMap<String, u64>, StoreError>> {
        async { Ok(std::collections::BTreeMap::new()) }.boxed()
    }

    fn seq_before_time(
        &self,
        _room: &str,
        _ts: i64,
    ) -> BoxFuture<'static, Result<u64, StoreError>> {
        async { Ok(0) }.boxed()
    }

    fn close(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        async { Ok(()) }.boxed()
    }
}

/// A room of `members`, everyone in the lobby and every queue empty.
struct Room {
    _hub: Hub,
    sessions: Vec<Session>,
    inboxes: Vec<Inbox>,
    batch: Vec<Arc<Outgoing>>,
}

impl Room {
    async fn fill(members: usize) -> Room {
        let shutdown = CancellationToken::new();
        // Nobody has an account: the directory is a real one, empty, in a
        // directory of its own that lives as long as the benchmark.
        let dir = tempfile::tempdir().unwrap().keep();
        let directory: Arc<dyn Directory> = Arc::new(SqliteStore::open(&dir).unwrap());
        let config = backend::Config::default();
        let stores = Stores {
            messages: Arc::new(Forgetful::default()),
            heads: HashMap::new(),
            directory,
            snapshot: Snapshot::default(),
            policy: Arc::new(Policy::new(&config.accounts, &config.moderation)),
        };
        let settings = Settings {
            max_lag: Duration::from_secs(60),
            writes_per_second: backend::pace::WRITES_PER_SECOND,
            edit_window: Duration::from_secs(3600),
        };
        let (hub, _task) = Hub::spawn(&shutdown, stores, settings, Box::new(LocalFanout));
        let mut room = Room {
            _hub: hub.clone(),
            sessions: Vec::new(),
            inboxes: Vec::new(),
            batch: Vec::new(),
        };
        for member in 0..members {
            let peer = Peer {
                ip: IpAddr::from([127, 0, 0, 1]),
                presented: None,
            };
            let (session, inbox) = hub.connect(peer).await.unwrap();
            session
                .request(Request::Hello {
                    nick: format!("m{member}"),
                    resume: BTreeMap::new(),
                    auth: Auth::Guest,
                })
                .await;
            room.sessions.push(session);
            room.inboxes.push(inbox);
            // Each arrival is announced to everyone: empty the queues often
            // enough that no one falls behind (256 places each).
            if member % 100 == 99 || member + 1 == members {
                room.wait_for(member, |msg| matches!(msg, ServerMsg::Joined { .. }))
                    .await;
                room.drain();
            }
        }
        room
    }

    /// Waits until member `index` has an event that `wanted` accepts.
    async fn wait_for(&mut self, index: usize, wanted: impl Fn(&ServerMsg) -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                self.batch.clear();
                self.inboxes[index].recv_many(&mut self.batch, 256).await;
                if self.batch.iter().any(|event| wanted(event.msg())) {
                    return;
                }
            }
        })
        .await;
        if waited.is_err() {
            panic!(
                "member {index} waited 10 s for an event; the last: {:?}",
                self.batch.last().map(|e| e.msg())
            );
        }
    }

    /// Takes whatever is queued for anyone, without waiting.
    fn drain(&mut self) {
        for inbox in &mut self.inboxes {
            let mut batch = Vec::new();
            // Unconstrained: tokio's cooperative budget would otherwise
            // answer "not ready" after a hundred or so receives in a row.
            while tokio::task::unconstrained(inbox.recv_many(&mut batch, 256))
                .now_or_never()
                .is_some_and(|n| n > 0)
            {
                batch.clear();
            }
        }
    }

    /// One message from member 0, until every member has it.
    async fn send_one(&mut self, n: u64) {
        self.sessions[0]
            .request(Request::Send {
                id: Some(format!("b{n}")),
                room: shared::DEFAULT_ROOM.into(),
                text: "x".repeat(100),
                kind: MessageKind::Text,
                reply_to: None,
            })
            .await;
        for index in 0..self.inboxes.len() {
            self.wait_for(index, |msg| matches!(msg, ServerMsg::Message(_)))
                .await;
        }
    }
}

fn fanout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("hub fan-out, send to all inboxes");
    for members in [100, 1_000] {
        let mut room = runtime.block_on(Room::fill(members));
        let mut n = 0;
        group.bench_with_input(BenchmarkId::from_parameter(members), &members, |b, _| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        n += 1;
                        room.send_one(n).await;
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
