//! Pulling the plug: the real server binary killed with SIGKILL again and
//! again while clients send, and in the middle of an upload. What was
//! acknowledged must survive exactly once, numbered without a gap; a client
//! that comes back gets exactly what it missed; a resend is never a second
//! message; a cut upload leaves nothing anyone can see; and the database
//! stays sound.
//!
//! Each run prints its seed; `CRASH_SEED=<seed>` repeats its kill moments.
//! The long form: `cargo test -p backend --test crash -- --ignored`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is a failed assertion"
)]

mod cli_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cli_support::{OTHER_DOORS_ON_FREE_PORTS, PATIENCE, Running, backend};
use futures_util::{SinkExt as _, StreamExt as _};
use shared::{ClientMsg, MessageKind, ServerMsg};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// The rooms the senders write to, by turns: numbering is per room.
const ROOMS: [&str; 2] = ["lobby", "den"];
/// Clients sending at once.
const SENDERS: usize = 4;
/// Messages a sender has on their way at most, as a client with a queue of
/// unacknowledged messages has.
const WINDOW: usize = 16;
/// The most acknowledgements a round waits for before the kill.
const MOST_ACKS_BEFORE_KILL: u64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_kills_mid_traffic_lose_and_repeat_nothing() {
    crash_loop(5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the long form, 100 kills: run with --ignored"]
async fn a_hundred_kills_mid_traffic_lose_and_repeat_nothing() {
    crash_loop(100).await;
}

// ---------------------------------------------------------------- the loop

async fn crash_loop(rounds: u32) {
    let began = Instant::now();
    let mut rng = Rng::seeded();
    let dir = tempfile::tempdir().unwrap();
    let mut senders: Vec<Sender> = (0..SENDERS).map(Sender::new).collect();
    for round in 0..rounds {
        let mut server = start(dir.path());
        let addr = server.http_door().0;
        let (acks, mut acked) = mpsc::unbounded_channel();
        let tasks: Vec<_> = senders
            .drain(..)
            .map(|sender| tokio::spawn(sender.session(addr, acks.clone(), true)))
            .collect();
        drop(acks);
        // The moment is a number of acknowledgements, not a time: the same
        // seed kills at the same point of the traffic. Some rounds end
        // while the server is still opening its data or answering the
        // resends of the round before.
        let kill_after = if rng.below(10) == 0 {
            rng.below(WINDOW as u64)
        } else {
            rng.below(MOST_ACKS_BEFORE_KILL) + 1
        };
        for _ in 0..kill_after {
            tokio::time::timeout(PATIENCE, acked.recv())
                .await
                .unwrap_or_else(|_| panic!("round {round}: no acknowledgement in time"))
                .unwrap_or_else(|| panic!("round {round}: every sender stopped before the kill"));
        }
        server.signal("KILL");
        let out = tokio::task::block_in_place(|| server.finish());
        assert!(
            !out.status.success(),
            "round {round}: the server was killed"
        );
        for task in tasks {
            senders.push(task.await.unwrap());
        }
    }

    // The last start: everyone resends what is still unanswered, and stops.
    let mut server = start(dir.path());
    let addr = server.http_door().0;
    let (acks, _acked) = mpsc::unbounded_channel();
    let tasks: Vec<_> = senders
        .drain(..)
        .map(|sender| tokio::spawn(sender.session(addr, acks.clone(), false)))
        .collect();
    for task in tasks {
        let sender = tokio::time::timeout(PATIENCE, task)
            .await
            .expect("every resend answered in time")
            .unwrap();
        assert!(
            sender.unacked.is_empty(),
            "{} was not answered: {:?}",
            sender.nick,
            sender.unacked
        );
        senders.push(sender);
    }
    let mut stored = HashMap::new();
    for room in ROOMS {
        stored.insert(room, read_room(addr, room).await);
    }
    // Once more, as a client back after everything: the rest of each room.
    let heads: HashMap<String, u64> = stored
        .iter()
        .map(|(room, messages)| ((*room).to_owned(), messages.len() as u64))
        .collect();
    for sender in &mut senders {
        tokio::time::timeout(PATIENCE, sender.catch_up(addr, &heads))
            .await
            .unwrap_or_else(|_| panic!("{} did not get the rest in time", sender.nick));
    }
    server.signal("TERM");
    let out = tokio::task::block_in_place(|| server.finish());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);

    let (mut acknowledged, mut resent, mut recovered) = (0, 0, 0);
    let mut by_id: HashMap<String, (&str, u64)> = HashMap::new();
    for (room, messages) in &stored {
        let seqs: Vec<u64> = messages.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(
            seqs,
            (1..=messages.len() as u64).collect::<Vec<_>>(),
            "{room} is numbered 1, 2, 3... without a gap"
        );
        for (seq, text) in messages {
            let before = by_id.insert(text.clone(), (room, *seq));
            assert!(
                before.is_none(),
                "{text} is stored twice: {before:?}, {seq}"
            );
        }
    }
    for sender in &senders {
        for n in 0..sender.sent {
            let id = sender.id(n);
            let Some(&(room, seq)) = by_id.get(&id) else {
                panic!("{id} was acknowledged but is not in history");
            };
            assert_eq!(room, room_of(n), "{id} is in its room");
            assert_eq!(
                Some(&seq),
                sender.acked.get(&n),
                "{id} was acknowledged with the number it has in history"
            );
        }
        acknowledged += sender.sent;
        resent += sender.resent;
        recovered += sender.recovered;
        for (room, seen) in &sender.seen {
            // In order and once each was checked as they came.
            assert_eq!(
                seen.len(),
                stored[room.as_str()].len(),
                "{} read all of {room}",
                sender.nick
            );
        }
    }
    assert_eq!(
        by_id.len() as u64,
        acknowledged,
        "history holds exactly the messages sent"
    );

    assert_sound(&dir.path().join("data"));
    println!(
        "crash loop: {rounds} kills, {acknowledged} messages acknowledged, {resent} resent \
         ({recovered} of them committed before the kill), {:.1} s",
        began.elapsed().as_secs_f64()
    );
}

/// A client that sends numbered messages (`s0-17`), each to the room its
/// number says, and keeps across connections what a client must to come
/// back: what is still unanswered, and how far it read each room.
struct Sender {
    nick: String,
    /// Messages sent so far, numbered from 0.
    sent: u64,
    /// Sent and not acknowledged: resent with the same id on reconnecting.
    unacked: BTreeSet<u64>,
    /// Each acknowledged message's sequence number in its room.
    acked: HashMap<u64, u64>,
    /// Every sequence number received per room, in the order received.
    seen: BTreeMap<String, Vec<u64>>,
    /// Messages sent again after a kill.
    resent: u64,
    /// Of those, the ones the killed server had committed: answered with
    /// their first number, at or below the room's head on rejoining.
    recovered: u64,
    /// While resends are on their way: the messages resent, and each
    /// room's head when this connection joined it.
    resending: BTreeSet<u64>,
    heads: HashMap<String, u64>,
}

impl Sender {
    fn new(index: usize) -> Self {
        Self {
            nick: format!("s{index}"),
            sent: 0,
            unacked: BTreeSet::new(),
            acked: HashMap::new(),
            seen: ROOMS
                .iter()
                .map(|r| ((*r).to_owned(), Vec::new()))
                .collect(),
            resent: 0,
            recovered: 0,
            resending: BTreeSet::new(),
            heads: HashMap::new(),
        }
    }

    fn id(&self, n: u64) -> String {
        format!("{}-{n}", self.nick)
    }

    /// One connection: resume every room from the last message read there,
    /// resend what is unanswered, then (with `more`) send new messages until
    /// the server is gone, or (without) stop once all are answered. Every
    /// acknowledgement is reported on `acks`.
    async fn session(
        mut self,
        addr: SocketAddr,
        acks: mpsc::UnboundedSender<()>,
        more: bool,
    ) -> Self {
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            shared::SUBPROTOCOL.parse().unwrap(),
        );
        // A server killed as it started is gone before anyone connects.
        let Ok((ws, _)) = tokio_tungstenite::connect_async(request).await else {
            return self;
        };
        let (mut sink, mut stream) = ws.split();
        let resume = self
            .seen
            .iter()
            .map(|(room, seen)| (room.clone(), seen.last().copied().unwrap_or(0)))
            .collect();
        let hello = ClientMsg::Hello {
            nick: self.nick.clone(),
            resume,
            auth: None,
        };
        if sink.send(Message::text(hello.to_json())).await.is_err() {
            return self;
        }
        // In every room again before the first send.
        let mut joined = 0;
        while joined < ROOMS.len() {
            let text = match stream.next().await {
                Some(Ok(Message::Text(text))) => text,
                // Pings, answered by tungstenite.
                Some(Ok(_)) => continue,
                _ => return self,
            };
            if let Ok(ServerMsg::Joined { room, head, .. }) = ServerMsg::from_json(&text) {
                self.heads.insert(room, head);
                joined += 1;
            }
            self.read(&text, &acks);
        }
        self.resending = self.unacked.clone();
        self.resent += self.resending.len() as u64;
        for n in self.resending.clone() {
            if sink.send(Message::text(self.send(n))).await.is_err() {
                return self;
            }
        }
        loop {
            if !more && self.unacked.is_empty() {
                return self;
            }
            if more && self.unacked.len() < WINDOW {
                let n = self.sent;
                self.sent += 1;
                self.unacked.insert(n);
                if sink.send(Message::text(self.send(n))).await.is_err() {
                    return self;
                }
                continue;
            }
            let text = match stream.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                _ => return self,
            };
            self.read(&text, &acks);
        }
    }

    /// Connects with every room's resume point and reads until it has
    /// every room up to `heads`.
    async fn catch_up(&mut self, addr: SocketAddr, heads: &HashMap<String, u64>) {
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            shared::SUBPROTOCOL.parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let resume = self
            .seen
            .iter()
            .map(|(room, seen)| (room.clone(), seen.last().copied().unwrap_or(0)))
            .collect();
        let hello = ClientMsg::Hello {
            nick: self.nick.clone(),
            resume,
            auth: None,
        };
        ws.send(Message::text(hello.to_json())).await.unwrap();
        let (acks, _) = mpsc::unbounded_channel();
        while heads
            .iter()
            .any(|(room, head)| self.seen[room].last().copied().unwrap_or(0) < *head)
        {
            if let Message::Text(text) = ws.next().await.expect("open").unwrap() {
                self.read(&text, &acks);
            }
        }
    }

    /// The frame that sends message `n`; its text is its id.
    fn send(&self, n: u64) -> String {
        let id = self.id(n);
        ClientMsg::Send {
            id: id.clone(),
            room: room_of(n).to_owned(),
            text: id,
            kind: MessageKind::Text,
            reply_to: None,
        }
        .to_json()
    }

    fn read(&mut self, frame: &str, acks: &mpsc::UnboundedSender<()>) {
        let nick = &self.nick;
        match ServerMsg::from_json(frame) {
            Ok(ServerMsg::Ack { id, room, seq, .. }) => {
                let n: u64 = id
                    .strip_prefix(&format!("{nick}-"))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{nick} got an ack for {id}"));
                assert_eq!(room, room_of(n), "{id} acknowledged in its room");
                assert!(
                    self.unacked.remove(&n),
                    "{id} acknowledged twice (again as {seq})"
                );
                if self.resending.remove(&n) && seq <= self.heads[room.as_str()] {
                    self.recovered += 1;
                }
                self.acked.insert(n, seq);
                let _ = acks.send(());
            }
            Ok(ServerMsg::Message(message)) => self.saw(&message.room, message.seq),
            Ok(ServerMsg::History { room, messages, .. }) => {
                for message in messages {
                    self.saw(&room, message.seq);
                }
            }
            Ok(ServerMsg::Gap { room, from, to }) => {
                panic!("{nick} was not given {from}..={to} of {room} on coming back")
            }
            Ok(ServerMsg::Error { .. }) => panic!("{nick} got an error: {frame}"),
            Ok(_) => {}
            Err(error) => panic!("{nick} cannot read {frame:?}: {error}"),
        }
    }

    /// Messages arrive in order, each once, across every reconnection.
    fn saw(&mut self, room: &str, seq: u64) {
        let seen = self.seen.get_mut(room).expect("one of the senders' rooms");
        let last = seen.last().copied().unwrap_or(0);
        assert_eq!(
            seq,
            last + 1,
            "{} got {room} #{seq} after #{last}",
            self.nick
        );
        seen.push(seq);
    }
}

fn room_of(n: u64) -> &'static str {
    ROOMS[(n % ROOMS.len() as u64) as usize]
}

// ---------------------------------------------------------------- uploads

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_in_the_middle_of_an_upload_leaves_nothing_visible() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let content: Vec<u8> = noise(7, 1 << 20);

    let mut server = start(dir.path());
    let addr = server.http_door().0;
    let (_uploader, token) = guest(addr, "uploader").await;
    let (prefix, suffix) = envelope("big.bin");
    let mut upload = TcpStream::connect(addr).await.unwrap();
    upload
        .write_all(
            upload_head(addr, &token, prefix.len() + content.len() + suffix.len()).as_bytes(),
        )
        .await
        .unwrap();
    upload.write_all(&prefix).await.unwrap();
    upload
        .write_all(&content[..content.len() / 2])
        .await
        .unwrap();
    upload.flush().await.unwrap();
    // The server is writing it down when the power goes.
    let written = eventually("half the upload is on disk", || {
        temporaries(&data)
            .into_iter()
            .find(|(_, size)| *size >= content.len() as u64 / 4)
    })
    .await;
    server.signal("KILL");
    tokio::task::block_in_place(|| server.finish());
    drop(upload);
    assert!(written.0.exists(), "the kill left the unfinished upload");

    let mut server = start(dir.path());
    let addr = server.http_door().0;
    // Once it answers, the file store is open.
    let (status, _) = get(addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        temporaries(&data),
        Vec::new(),
        "the start removed what the kill left"
    );
    assert_eq!(blobs(&data), Vec::<PathBuf>::new(), "no blob was kept");
    assert_eq!(
        read_room(addr, "lobby").await,
        Vec::new(),
        "nothing was announced"
    );
    {
        let db = read_only(&data);
        let files: i64 = db
            .query_row("SELECT count(*) FROM files", [], |row| row.get(0))
            .unwrap();
        assert_eq!(files, 0, "no file is known");
    }

    // And the same upload, whole, works on the new server.
    let (_uploader, token) = guest(addr, "uploader").await;
    let length = prefix.len() + content.len() + suffix.len();
    let request = [
        upload_head(addr, &token, length).as_bytes(),
        &prefix,
        &content,
        &suffix,
    ]
    .concat();
    let (status, answer) = exchange(addr, &request).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    let id = answer["id"].as_str().unwrap();
    assert_eq!(answer["seq"], 1);
    let (status, downloaded) = get(
        addr,
        &format!("/api/files/{id}"),
        &[("Authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(status, 200);
    assert!(downloaded == content, "the download is the upload");
    assert_eq!(
        read_room(addr, "lobby").await,
        vec![(1, "big.bin".to_owned())]
    );
    assert_eq!(blobs(&data).len(), 1);
    assert_eq!(temporaries(&data), Vec::new());

    server.signal("TERM");
    let out = tokio::task::block_in_place(|| server.finish());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);
    assert_sound(&data);
}

/// A connected guest, and the token its welcome gave (uploads need one).
async fn guest(
    addr: SocketAddr,
    nick: &str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    String,
) {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        shared::SUBPROTOCOL.parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let hello = ClientMsg::Hello {
        nick: nick.to_owned(),
        resume: BTreeMap::new(),
        auth: None,
    };
    ws.send(Message::text(hello.to_json())).await.unwrap();
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a welcome in time")
            .expect("the connection stays open")
            .unwrap();
        if let Ok(ServerMsg::Welcome { token, .. }) = ServerMsg::from_json(frame.to_text().unwrap())
        {
            return (ws, token.expect("a guest's token").expose().to_owned());
        }
    }
}

const BOUNDARY: &str = "hubbub-crash-boundary-5Zq0";

/// The multipart body around a file's bytes.
fn envelope(name: &str) -> (Vec<u8>, Vec<u8>) {
    let prefix = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    (
        prefix.into_bytes(),
        format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
    )
}

fn upload_head(addr: SocketAddr, token: &str, length: usize) -> String {
    format!(
        "POST /api/rooms/lobby/files HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// Unfinished uploads, with their sizes.
fn temporaries(data: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(entries) = std::fs::read_dir(data.join("files").join("tmp")) else {
        return Vec::new();
    };
    entries
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.path(), entry.metadata().map_or(0, |m| m.len()))
        })
        .collect()
}

/// Every kept blob (`files/<2 hex>/<62 hex>`).
fn blobs(data: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(data.join("files")).unwrap() {
        let dir = dir.unwrap();
        if dir.file_name() == "tmp" {
            continue;
        }
        for blob in std::fs::read_dir(dir.path()).unwrap() {
            found.push(blob.unwrap().path());
        }
    }
    found
}

/// `size` bytes that do not repeat, the same for the same seed.
fn noise(seed: u64, size: usize) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    (0..size).map(|_| rng.next() as u8).collect()
}

/// Checks `found` every few milliseconds until it finds something: for
/// what the server does on its disk, which no answer announces.
async fn eventually<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------- shared

/// The binary in `dir` (its data in `dir/data`) on free loopback ports,
/// with the rate limit out of the way of a test that floods.
fn start(dir: &Path) -> Running {
    let mut command = backend(dir);
    command.args(OTHER_DOORS_ON_FREE_PORTS).args([
        "--http",
        "127.0.0.1:0",
        "--websocket-messages-per-second",
        "1000000",
        "--websocket-message-burst",
        "100000",
    ]);
    Running::start(command)
}

/// A GET of `path` on its own connection: the status and the body.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    exchange(addr, request.as_bytes()).await
}

/// One HTTP/1.1 exchange on its own connection: the status and the body.
async fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("an answer in time")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the end of the headers");
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, raw[split + 4..].to_vec())
}

/// Every message of `room` over the HTTP API, as a client reads history:
/// its number and text, oldest first.
async fn read_room(addr: SocketAddr, room: &str) -> Vec<(u64, String)> {
    let mut all = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let query = before.map_or(String::new(), |b| format!("&before={b}"));
        let (status, body) = get(
            addr,
            &format!("/api/rooms/{room}/messages?limit=100{query}"),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let mut batch: Vec<(u64, String)> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["seq"].as_u64().unwrap(),
                    m["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        batch.append(&mut all);
        all = batch;
        if page["has_older"] != true {
            return all;
        }
        before = all.first().map(|(seq, _)| *seq);
    }
}

fn read_only(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        data.join("hubbub.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

/// SQLite finds nothing wrong with the database a stopped server left.
fn assert_sound(data: &Path) {
    let check: String = read_only(data)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// xorshift64*: enough randomness to pick kill moments, and the same
/// moments for the same seed.
struct Rng(u64);

impl Rng {
    /// From `CRASH_SEED` if set, else from the clock; printed either way.
    fn seeded() -> Self {
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        println!("crash loop seed: {seed} (CRASH_SEED={seed} repeats it)");
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
