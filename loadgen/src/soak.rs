//! Soak: one server, mixed traffic for a long time. Web users (WebSocket,
//! `hubbub.v2` and `hubbub.v1`), terminal users (the line protocol on the
//! terminal door) and datagram users (`hubbub.v1` over UDP sessions, the
//! `hubbub` client's transport) spread over rooms, each sending now and
//! then; every minute a share of them leaves and comes back, resuming where
//! it was; files are uploaded over HTTP now and then, and a few slow readers
//! fall behind. Every few minutes a row says what the server holds (RSS, open
//! descriptors) and how the traffic fared (deliveries, loss, p99, CPU).
//!
//! Loss is counted from what arrived, two ways. Typed receivers (web and
//! datagram) track each room's sequence numbers: every message committed
//! after the one the receiver first joined at must arrive, live or in the
//! history that answers a resume, so each hole is a lost message. Terminal
//! lines carry no sequence number, so a terminal receiver tracks message
//! ids: every message sent after it was in the room and acknowledged must
//! arrive before it leaves, unless it was sent in the last [`GRACE`] before
//! it left.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use shared::{ChatMessage, ClientMsg, ServerMsg, frame_messages};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Wire, Ws};
use crate::payload::{self, Stamp, now_us};
use crate::procfs::{CpuMeter, Proc};
use crate::server::{Server, ServerEnd, ServerSpec};
use crate::tally;

/// A message counts against a receiver only once it is this old: it may
/// still be on its way, and one sent this close to a terminal's leaving may
/// have been in the socket the terminal closed.
const GRACE: Duration = Duration::from_secs(10);
/// The generator's read buffer for each connection.
const READ_BUFFER: usize = 16 * 1024;
/// How long one connection may take to be in its room.
const ENTER_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections opened at once while the population first comes in.
const SETUP_CONCURRENCY: usize = 64;
/// After the last message is sent, how long the run waits for the rest.
const DRAIN: Duration = Duration::from_secs(20);
/// Churn stops this long before the end, so that everyone is back in.
const CHURN_QUIET: Duration = Duration::from_secs(60);
/// How long a slow reader waits between two messages it reads.
const SLOW_READ_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Plan {
    pub seconds: f64,
    pub web: usize,
    pub terminal: usize,
    pub datagram: usize,
    pub rooms: usize,
    /// Messages a second from everyone together.
    pub rate: f64,
    /// The share of the users that leaves and comes back each minute, in
    /// percent.
    pub churn_percent: f64,
    pub uploads_per_minute: f64,
    pub slow_readers: usize,
    pub report_secs: u64,
}

impl Plan {
    fn users(&self) -> usize {
        self.web + self.terminal + self.datagram
    }
}

/// One row: what the server holds and how the traffic fared since the
/// previous row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub elapsed_s: f64,
    pub server_rss_kib: Option<u64>,
    pub server_fds: Option<u64>,
    /// Messages that reached a receiver in the interval, live or in history.
    pub deliveries: u64,
    /// Of those, the ones that came in history (after a resume, or to a
    /// receiver the server caught up from the store).
    pub by_history: u64,
    /// Messages sent in the interval.
    pub sent: u64,
    /// Expected deliveries that did not arrive, over the whole run so far.
    pub lost: u64,
    /// Live deliveries in the interval, from the send to the arrival.
    pub p99_ms: f64,
    pub max_ms: f64,
    /// p99 as web, terminal and datagram receivers saw it.
    pub p99_by_door_ms: [f64; 3],
    pub server_cpu_percent: Option<f64>,
    pub generator_cpu_percent: f64,
    /// Users in their rooms when the row was taken.
    pub connected: usize,
    pub resumes: u64,
    pub disconnects: u64,
    pub uploads: u64,
    pub slow_reader_closes: u64,
}

impl Row {
    pub fn header() -> String {
        "  elapsed  RSS MiB    fds  deliveries (history)    sent  lost  p99 ms  max ms  p99 web/term/udp  server CPU  gen CPU  in  resumes  drops  uploads  slow closed".to_owned()
    }

    pub fn line(&self) -> String {
        let mib = |kib: Option<u64>| {
            kib.map_or("n/a".to_owned(), |kib| {
                format!("{:.1}", kib as f64 / 1024.0)
            })
        };
        format!(
            "{:>7.0}s {:>8} {:>6} {:>11} {:>10} {:>7} {:>5} {:>7.2} {:>7.1} {:>17} {:>10} {:>7.0}% {:>4} {:>8} {:>6} {:>8} {:>12}",
            self.elapsed_s,
            mib(self.server_rss_kib),
            self.server_fds
                .map_or("n/a".to_owned(), |fds| fds.to_string()),
            self.deliveries,
            format!("({})", self.by_history),
            self.sent,
            self.lost,
            self.p99_ms,
            self.max_ms,
            format!(
                "{:.0}/{:.0}/{:.0}",
                self.p99_by_door_ms[0], self.p99_by_door_ms[1], self.p99_by_door_ms[2]
            ),
            self.server_cpu_percent
                .map_or("n/a".to_owned(), |cpu| format!("{cpu:.1}%")),
            self.generator_cpu_percent,
            self.connected,
            self.resumes,
            self.disconnects,
            self.uploads,
            self.slow_reader_closes,
        )
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub plan: Plan,
    pub setup_seconds: f64,
    pub rows: Vec<Row>,
    pub totals: Totals,
    /// Lost at the end, by the receivers' kind.
    pub lost_typed: u64,
    pub lost_terminal: u64,
    /// Users not in their room at the end (their holes count as loss).
    pub not_in_at_end: usize,
    pub first_error: Option<String>,
    pub server: ServerEnd,
}

impl Report {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![Row::header()];
        lines.extend(self.rows.iter().map(Row::line));
        let t = &self.totals;
        lines.push(format!(
            "{} users ({} web, {} terminal, {} datagram) in {} rooms, {:.0} msg/s, {:.0} s; setup {:.1} s",
            self.plan.users(),
            self.plan.web,
            self.plan.terminal,
            self.plan.datagram,
            self.plan.rooms,
            self.plan.rate,
            self.plan.seconds,
            self.setup_seconds
        ));
        lines.push(format!(
            "sent {}, acknowledged {} (+{} terminal echoes), delivered {} ({} by history), lost {} (typed {}, terminal {}), \
             duplicates {}, misdelivered {}, gaps {}, refusals {}, resumes {}, failed reconnects {}, drops {}, \
             uploads {} ({} failed), slow readers closed {}, not in at the end {}",
            t.sent,
            t.acks,
            t.echoes,
            t.deliveries,
            t.by_history,
            self.lost_typed + self.lost_terminal,
            self.lost_typed,
            self.lost_terminal,
            t.duplicates,
            t.misdelivered,
            t.gaps,
            t.refusals,
            t.resumes,
            t.reconnect_failures,
            t.disconnects,
            t.uploads,
            t.upload_failures,
            t.slow_closed,
            self.not_in_at_end,
        ));
        if let Some(error) = &self.first_error {
            lines.push(format!("first error: {error}"));
        }
        lines.push(format!(
            "server: {} warnings, {} errors, exited cleanly: {:?}",
            self.server.warnings, self.server.errors, self.server.exited_cleanly
        ));
        lines.extend(
            self.server
                .last_lines
                .iter()
                .map(|line| format!("  server: {line}")),
        );
        lines
    }
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Totals {
    pub sent: u64,
    pub acks: u64,
    /// Terminal senders' own lines coming back: the door's acknowledgement.
    pub echoes: u64,
    pub deliveries: u64,
    pub by_history: u64,
    pub duplicates: u64,
    /// A message under a sequence number other than its acknowledged one,
    /// or in a room it was not sent to.
    pub misdelivered: u64,
    pub gaps: u64,
    pub refusals: u64,
    pub resumes: u64,
    pub reconnect_failures: u64,
    /// Connections that ended without their user leaving.
    pub disconnects: u64,
    pub uploads: u64,
    pub upload_failures: u64,
    pub slow_closed: u64,
    /// Lost by terminal receivers in connections that have ended.
    lost_closed: u64,
}

/// A growable set of small numbers.
#[derive(Debug, Default)]
struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// Adds `i`; true if it was not there.
    fn insert(&mut self, i: u64) -> bool {
        let (word, bit) = ((i / 64) as usize, i % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let was = self.words[word] >> bit & 1;
        self.words[word] |= 1 << bit;
        was == 0
    }

    fn contains(&self, i: u64) -> bool {
        self.words
            .get((i / 64) as usize)
            .is_some_and(|word| word >> (i % 64) & 1 == 1)
    }

    /// How many of `0..n` are in.
    fn count_below(&self, n: u64) -> u64 {
        let full = (n / 64) as usize;
        let mut count: u64 = self
            .words
            .iter()
            .take(full)
            .map(|word| u64::from(word.count_ones()))
            .sum();
        let rest = n % 64;
        if rest > 0
            && let Some(word) = self.words.get(full)
        {
            count += u64::from((word & ((1 << rest) - 1)).count_ones());
        }
        count
    }
}

/// One message the generator sent.
#[derive(Debug)]
struct Rec {
    room: u32,
    /// Its place among its room's messages in the order they were sent.
    index: u32,
    sender: u32,
    sent_us: u64,
    /// Its sequence number, once an ack or a typed receiver said it (0
    /// before): a message with one was committed.
    seq: u64,
}

#[derive(Debug, Default)]
struct RoomLog {
    /// Message ids in the order they were sent.
    order: Vec<u64>,
    /// When the message under each sequence number was sent (plus one: 0 is
    /// unknown), uploads' announcements included.
    sent_by_seq: Vec<u64>,
}

impl RoomLog {
    fn note_seq(&mut self, seq: u64, sent_us: u64) {
        let Ok(seq) = usize::try_from(seq) else {
            return;
        };
        if seq >= self.sent_by_seq.len() {
            self.sent_by_seq.resize(seq + 1, 0);
        }
        if self.sent_by_seq[seq] == 0 {
            self.sent_by_seq[seq] = sent_us + 1;
        }
    }

    /// The highest sequence number of a message sent by `cutoff_us`: every
    /// number up to it was committed before it.
    fn head_by(&self, cutoff_us: u64) -> u64 {
        self.sent_by_seq
            .iter()
            .rposition(|&sent| sent != 0 && sent - 1 <= cutoff_us)
            .map_or(0, |seq| seq as u64)
    }
}

#[derive(Debug, Default)]
struct Log {
    recs: Vec<Rec>,
    rooms: Vec<RoomLog>,
}

impl Log {
    /// The messages of `room` sent from place `from` until `cutoff_us`
    /// that were committed, and of those the ones `got` lacks (by place,
    /// counted from `from`).
    fn missing(&self, room: usize, from: usize, cutoff_us: u64, got: &Bits) -> u64 {
        let Some(log) = self.rooms.get(room) else {
            return 0;
        };
        let recs = &self.recs;
        let sent_by = |id: &u64| {
            recs.get(*id as usize)
                .is_some_and(|rec| rec.sent_us <= cutoff_us)
        };
        let end = log.order.partition_point(sent_by);
        (from..end)
            .filter(|&place| {
                log.order
                    .get(place)
                    .and_then(|&id| recs.get(id as usize))
                    .is_some_and(|rec| rec.seq != 0)
                    && !got.contains((place - from) as u64)
            })
            .count() as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Web(Wire),
    Terminal,
    Datagram,
}

/// What one terminal connection received, by place in its room's order.
#[derive(Debug)]
struct Window {
    from: usize,
    got: Bits,
}

#[derive(Debug)]
struct User {
    kind: Kind,
    room: usize,
    /// When it was last in its room, while it is connected.
    since_us: Option<u64>,
    /// The HTTP token of its current connection (web users upload with it).
    token: Option<String>,
    /// Typed: the room's head when it first joined; numbers after it must
    /// all arrive.
    base: Option<u64>,
    got: Bits,
    /// The highest number seen, which a resume starts from.
    last: u64,
    /// Terminal: the current connection's messages.
    window: Option<Window>,
}

#[derive(Debug)]
struct Stats {
    totals: Totals,
    latency: Histogram<u64>,
    /// The same by the receiver's door: web, terminal, datagram.
    by_door: [Histogram<u64>; 3],
    first_error: Option<String>,
}

impl Stats {
    fn record(&mut self, kind: Kind, sent_us: u64) {
        let latency = now_us().saturating_sub(sent_us).max(1);
        let _ = self.latency.record(latency);
        let door = match kind {
            Kind::Web(_) => 0,
            Kind::Terminal => 1,
            Kind::Datagram => 2,
        };
        let _ = self.by_door[door].record(latency);
    }

    fn reset(&mut self) {
        self.latency.reset();
        for histogram in &mut self.by_door {
            histogram.reset();
        }
    }

    fn error(&mut self, what: String) {
        self.first_error.get_or_insert(what);
    }
}

struct Ctx {
    plan: Plan,
    http: SocketAddr,
    terminal: SocketAddr,
    datagram: SocketAddr,
    rooms: Vec<String>,
    log: RefCell<Log>,
    users: Vec<RefCell<User>>,
    stats: RefCell<Stats>,
    sending: Cell<bool>,
    /// Set after the last row: connections closing then are not drops.
    stopping: Cell<bool>,
    rng: Cell<u64>,
    gate: tokio::sync::Semaphore,
}

impl Ctx {
    fn random(&self) -> u64 {
        // xorshift64: enough to spread the users' timings.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }

    fn uniform(&self) -> f64 {
        (self.random() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Between `low` and `high` seconds.
    fn between(&self, low: f64, high: f64) -> Duration {
        Duration::from_secs_f64(low + (high - low) * self.uniform())
    }

    fn nick(&self, user: usize, generation: u32) -> String {
        let prefix = match self.users[user].borrow().kind {
            Kind::Web(_) => 'w',
            Kind::Terminal => 't',
            Kind::Datagram => 'd',
        };
        // A new name for each return: the old connection's may not be
        // given up yet when the new one says hello.
        if generation == 0 {
            format!("{prefix}{user}")
        } else {
            format!("{prefix}{user}r{generation}")
        }
    }

    /// The typed `hello` of `user`: into its room, resuming from the last
    /// number it saw (from the start the first time, which is the head).
    fn hello(&self, user: usize, generation: u32) -> String {
        let (room, last) = {
            let state = self.users[user].borrow();
            (state.room, state.last)
        };
        ClientMsg::Hello {
            nick: self.nick(user, generation),
            resume: BTreeMap::from([(self.rooms[room].clone(), last)]),
            auth: None,
        }
        .to_json()
    }

    /// A new message of `user`: its id and text.
    fn new_message(&self, user: usize) -> (u64, String) {
        let room = self.users[user].borrow().room;
        let mut log = self.log.borrow_mut();
        let id = log.recs.len() as u64;
        let sent_us = now_us();
        let index = log.rooms[room].order.len() as u32;
        log.rooms[room].order.push(id);
        log.recs.push(Rec {
            room: room as u32,
            index,
            sender: user as u32,
            sent_us,
            seq: 0,
        });
        self.stats.borrow_mut().totals.sent += 1;
        (id, payload::text(id, sent_us))
    }

    /// Handles one typed message; true once the user is in its room.
    fn typed(&self, user: usize, line: &str) -> bool {
        let Ok(message) = ServerMsg::from_json(line) else {
            return false;
        };
        match message {
            ServerMsg::Message(message) => self.chat(user, &message, true),
            ServerMsg::History { messages, .. } => {
                for message in &messages {
                    self.chat(user, message, false);
                }
            }
            ServerMsg::Ack { id, seq, .. } => {
                let mut stats = self.stats.borrow_mut();
                stats.totals.acks += 1;
                let Ok(id) = id.parse::<u64>() else {
                    return false;
                };
                let mut log = self.log.borrow_mut();
                let Some(rec) = log.recs.get_mut(id as usize) else {
                    stats.totals.misdelivered += 1;
                    return false;
                };
                if rec.seq == 0 {
                    rec.seq = seq;
                    let (room, sent) = (rec.room as usize, rec.sent_us);
                    log.rooms[room].note_seq(seq, sent);
                } else if rec.seq != seq {
                    stats.totals.misdelivered += 1;
                }
            }
            ServerMsg::Joined { room, head, .. } => {
                let mut state = self.users[user].borrow_mut();
                if room == self.rooms[state.room] {
                    let base = *state.base.get_or_insert(head);
                    state.last = state.last.max(base);
                    state.since_us = Some(now_us());
                    return true;
                }
            }
            ServerMsg::Welcome { token, .. } => {
                self.users[user].borrow_mut().token = token.map(|token| token.expose().to_owned());
            }
            ServerMsg::Gap { room, from, to } => {
                let mut stats = self.stats.borrow_mut();
                stats.totals.gaps += 1;
                stats.error(format!("gap in {room}: {from}..={to}"));
            }
            ServerMsg::Error { code, message, .. } => {
                let mut stats = self.stats.borrow_mut();
                stats.totals.refusals += 1;
                stats.error(format!("refused: {code:?}: {message}"));
            }
            _ => {}
        }
        false
    }

    /// A chat message reached a typed user, live or in history.
    fn chat(&self, user: usize, message: &ChatMessage, live: bool) {
        let mut state = self.users[user].borrow_mut();
        if message.room != self.rooms[state.room] {
            return;
        }
        let mut stats = self.stats.borrow_mut();
        let mut sent_us = None;
        if let Some(Stamp::Measured { id, sent_us: sent }) = payload::find(&message.text) {
            let mut log = self.log.borrow_mut();
            match log.recs.get_mut(id as usize) {
                Some(rec) if rec.room as usize == state.room => {
                    if rec.seq == 0 {
                        rec.seq = message.seq;
                        log.rooms[state.room].note_seq(message.seq, sent);
                    } else if rec.seq != message.seq {
                        stats.totals.misdelivered += 1;
                    }
                    sent_us = Some(sent);
                }
                _ => stats.totals.misdelivered += 1,
            }
        }
        state.last = state.last.max(message.seq);
        let Some(base) = state.base else {
            return;
        };
        if message.seq <= base {
            return;
        }
        if state.got.insert(message.seq - base - 1) {
            stats.totals.deliveries += 1;
            if !live {
                stats.totals.by_history += 1;
            } else if let Some(sent) = sent_us {
                stats.record(state.kind, sent);
            }
        } else {
            stats.totals.duplicates += 1;
        }
    }

    /// Handles one line to a terminal user.
    fn line(&self, user: usize, line: &str) -> TermLine {
        if let Some(room) = line
            .split_once("-- you joined [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(room, _)| room)
        {
            let mut state = self.users[user].borrow_mut();
            if room == self.rooms[state.room] {
                let from = self.log.borrow().rooms[state.room].order.len();
                state.window = Some(Window {
                    from,
                    got: Bits::default(),
                });
                state.since_us = Some(now_us());
                return TermLine::InRoom;
            }
            if room == shared::DEFAULT_ROOM {
                return TermLine::InLobby;
            }
            return TermLine::Other;
        }
        if line.starts_with("! ") || line.contains("nickname: ! ") {
            let mut stats = self.stats.borrow_mut();
            stats.totals.refusals += 1;
            stats.error(format!("terminal refused: {line}"));
            return TermLine::Other;
        }
        let Some(Stamp::Measured { id, sent_us }) = payload::find(line) else {
            return TermLine::Other;
        };
        // `HH:MM [room] #42 <nick> text` is history, `HH:MM [room] <nick> text` live.
        let history = line
            .split_once("] ")
            .is_some_and(|(_, rest)| rest.starts_with('#'));
        let mut state = self.users[user].borrow_mut();
        let mut stats = self.stats.borrow_mut();
        let place = {
            let log = self.log.borrow();
            match log.recs.get(id as usize) {
                Some(rec) if rec.room as usize == state.room => {
                    if rec.sender as usize == user && !history {
                        stats.totals.echoes += 1;
                    }
                    rec.index as usize
                }
                _ => {
                    stats.totals.misdelivered += 1;
                    return TermLine::Other;
                }
            }
        };
        let Some(window) = &mut state.window else {
            return TermLine::Other;
        };
        if place < window.from {
            return TermLine::Other;
        }
        if window.got.insert((place - window.from) as u64) {
            stats.totals.deliveries += 1;
            if history {
                stats.totals.by_history += 1;
            } else {
                stats.record(Kind::Terminal, sent_us);
            }
        } else {
            stats.totals.duplicates += 1;
        }
        TermLine::Other
    }

    /// A user is out of its room: a terminal's connection is settled.
    fn left(&self, user: usize) {
        let mut state = self.users[user].borrow_mut();
        state.since_us = None;
        state.token = None;
        if let Some(window) = state.window.take() {
            let cutoff = now_us().saturating_sub(GRACE.as_micros() as u64);
            let lost = self
                .log
                .borrow()
                .missing(state.room, window.from, cutoff, &window.got);
            self.stats.borrow_mut().totals.lost_closed += lost;
        }
    }

    /// Expected deliveries that have not arrived: by typed users and by
    /// terminal users in their current connections, counting messages older
    /// than [`GRACE`] (or all, at the end), and by terminal connections
    /// that have ended.
    fn lost(&self, at_end: bool) -> (u64, u64, usize) {
        let now = now_us();
        let cutoff = if at_end {
            u64::MAX
        } else {
            now.saturating_sub(GRACE.as_micros() as u64)
        };
        let log = self.log.borrow();
        let heads: Vec<u64> = log.rooms.iter().map(|room| room.head_by(cutoff)).collect();
        let settled =
            |since: Option<u64>| since.is_some_and(|since| since + GRACE.as_micros() as u64 <= now);
        let (mut typed, mut terminal, mut out) = (0, 0, 0);
        for user in &self.users {
            let state = user.borrow();
            if state.since_us.is_none() {
                out += 1;
            }
            match state.kind {
                Kind::Terminal => {
                    if let Some(window) = &state.window
                        && (at_end || settled(state.since_us))
                    {
                        terminal += log.missing(state.room, window.from, cutoff, &window.got);
                    }
                }
                Kind::Web(_) | Kind::Datagram => {
                    if !(at_end || settled(state.since_us)) {
                        continue;
                    }
                    let Some(base) = state.base else {
                        continue;
                    };
                    let head = heads[state.room];
                    if head > base {
                        let expected = head - base;
                        typed += expected - state.got.count_below(expected).min(expected);
                    }
                }
            }
        }
        terminal += self.stats.borrow().totals.lost_closed;
        (typed, terminal, out)
    }

    fn connected(&self) -> usize {
        self.users
            .iter()
            .filter(|user| user.borrow().since_us.is_some())
            .count()
    }
}

enum TermLine {
    InLobby,
    InRoom,
    Other,
}

/// One user's connection, whatever the door.
enum Conn {
    Web(Box<Ws>),
    Terminal {
        read: BufReader<OwnedReadHalf>,
        write: OwnedWriteHalf,
        buf: Vec<u8>,
    },
    Datagram(cli::link::Link),
}

enum Event {
    /// A text frame, a terminal line or a datagram message.
    Text(String),
    Closed(String),
}

impl Conn {
    /// The next thing from the server. Cancel-safe: a terminal's partial
    /// line stays in `buf`.
    async fn next(&mut self) -> Event {
        match self {
            Conn::Web(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => return Event::Text(text.as_str().to_owned()),
                    Some(Ok(Message::Close(frame))) => {
                        return Event::Closed(format!("closed by the server: {frame:?}"));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Event::Closed(error.to_string()),
                    None => return Event::Closed("the connection ended".to_owned()),
                }
            },
            Conn::Terminal { read, buf, .. } => match read.read_until(b'\n', buf).await {
                Ok(0) => Event::Closed("the terminal door closed the connection".to_owned()),
                Ok(_) if buf.ends_with(b"\n") => {
                    let line = String::from_utf8_lossy(buf).trim_end().to_owned();
                    buf.clear();
                    Event::Text(line)
                }
                Ok(_) => Event::Closed("the terminal door closed mid-line".to_owned()),
                Err(error) => Event::Closed(error.to_string()),
            },
            Conn::Datagram(link) => loop {
                match link.incoming.recv().await {
                    Some(cli::link::Incoming::Message(message)) => return Event::Text(message),
                    Some(cli::link::Incoming::Notice(_)) => {}
                    Some(cli::link::Incoming::Closed(why)) => return Event::Closed(why),
                    None => return Event::Closed("the session ended".to_owned()),
                }
            },
        }
    }

    async fn send_typed(&mut self, json: String) -> anyhow::Result<()> {
        match self {
            Conn::Web(ws) => ws.send(Message::text(json)).await?,
            Conn::Datagram(link) => link
                .outgoing
                .send(json)
                .await
                .map_err(|_| anyhow::anyhow!("the session ended"))?,
            Conn::Terminal { .. } => bail!("terminals speak lines"),
        }
        Ok(())
    }

    async fn send_line(&mut self, line: &str) -> anyhow::Result<()> {
        match self {
            Conn::Terminal { write, .. } => {
                write.write_all(format!("{line}\r\n").as_bytes()).await?;
                Ok(())
            }
            _ => bail!("only terminals speak lines"),
        }
    }

    async fn say(&mut self, room: &str, id: u64, text: String) -> anyhow::Result<()> {
        if let Conn::Terminal { .. } = self {
            return self.send_line(&text).await;
        }
        let json = ClientMsg::Send {
            id: id.to_string(),
            room: room.to_owned(),
            text,
            kind: shared::MessageKind::Text,
            reply_to: None,
        }
        .to_json();
        self.send_typed(json).await
    }

    async fn close(self) {
        match self {
            Conn::Web(mut ws) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.as_mut().close(None)).await;
            }
            Conn::Terminal { mut write, .. } => {
                let _ = write.shutdown().await;
            }
            // Dropping the link closes the session.
            Conn::Datagram(link) => drop(link),
        }
    }
}

/// Connects `user` and waits until it is in its room.
async fn connect(ctx: &Ctx, user: usize, generation: u32) -> anyhow::Result<Conn> {
    let kind = ctx.users[user].borrow().kind;
    let mut conn = match kind {
        Kind::Web(wire) => {
            let ws = client::open(ctx.http, wire, READ_BUFFER).await?;
            let mut conn = Conn::Web(Box::new(ws));
            conn.send_typed(ctx.hello(user, generation)).await?;
            conn
        }
        Kind::Datagram => {
            let link = cli::udp::connect_to(ctx.datagram).await?;
            let mut conn = Conn::Datagram(link);
            conn.send_typed(ctx.hello(user, generation)).await?;
            conn
        }
        Kind::Terminal => {
            client::ensure_loopback(ctx.terminal)?;
            let tcp = TcpStream::connect(ctx.terminal)
                .await
                .with_context(|| format!("cannot connect to {}", ctx.terminal))?;
            tcp.set_nodelay(true)?;
            let (read, write) = tcp.into_split();
            let mut conn = Conn::Terminal {
                read: BufReader::with_capacity(READ_BUFFER, read),
                write,
                buf: Vec::new(),
            };
            conn.send_line(&ctx.nick(user, generation)).await?;
            conn
        }
    };
    let room = ctx.rooms[ctx.users[user].borrow().room].clone();
    tokio::time::timeout(ENTER_TIMEOUT, async {
        loop {
            let text = match conn.next().await {
                Event::Text(text) => text,
                Event::Closed(why) => bail!("closed while entering: {why}"),
            };
            if kind == Kind::Terminal {
                match ctx.line(user, &text) {
                    TermLine::InRoom => return Ok(()),
                    TermLine::InLobby => {
                        conn.send_line(&format!("/join {room}")).await?;
                        conn.send_line(&format!("/leave {}", shared::DEFAULT_ROOM))
                            .await?;
                    }
                    TermLine::Other => {}
                }
            } else {
                let mut entered = false;
                for line in frame_messages(&text) {
                    entered |= ctx.typed(user, line);
                }
                if entered {
                    return Ok(());
                }
            }
        }
    })
    .await
    .with_context(|| {
        format!(
            "{} was not in {room} within {ENTER_TIMEOUT:?}",
            ctx.nick(user, generation)
        )
    })??;
    Ok(conn)
}

enum End {
    Away(Duration),
    Dropped(String),
}

/// One user for the whole run: connects, reads and sends, leaves when told
/// and comes back resuming, reconnects when dropped.
async fn user(ctx: Rc<Ctx>, user: usize, mut away: mpsc::UnboundedReceiver<Duration>) {
    let period = ctx.plan.users() as f64 / ctx.plan.rate;
    let mut next_send = Instant::now() + ctx.between(0.0, period);
    let mut generation = 0;
    let mut first = true;
    let mut churning = true;
    loop {
        let conn = if first {
            let _permit = ctx.gate.acquire().await;
            connect(&ctx, user, generation).await
        } else {
            connect(&ctx, user, generation).await
        };
        let mut conn = match conn {
            Ok(conn) => conn,
            Err(error) => {
                ctx.left(user);
                if !ctx.stopping.get() {
                    let mut stats = ctx.stats.borrow_mut();
                    stats.totals.reconnect_failures += 1;
                    stats.error(format!("{error:#}"));
                }
                generation += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if !first {
            ctx.stats.borrow_mut().totals.resumes += 1;
        }
        first = false;
        let room = ctx.rooms[ctx.users[user].borrow().room].clone();
        let terminal = matches!(conn, Conn::Terminal { .. });
        let end = loop {
            tokio::select! {
                event = conn.next() => match event {
                    Event::Text(text) => {
                        if terminal {
                            ctx.line(user, &text);
                        } else {
                            for line in frame_messages(&text) {
                                ctx.typed(user, line);
                            }
                        }
                    }
                    Event::Closed(why) => break End::Dropped(why),
                },
                () = tokio::time::sleep_until(next_send) => {
                    // Each user sends about once a period, never twice in a
                    // row: a quiet terminal is closed after a minute.
                    next_send = Instant::now() + ctx.between(0.5 * period, 1.5 * period);
                    if ctx.sending.get() {
                        let (id, text) = ctx.new_message(user);
                        if let Err(error) = conn.say(&room, id, text).await {
                            break End::Dropped(format!("cannot send: {error:#}"));
                        }
                    }
                }
                leave = away.recv(), if churning => match leave {
                    Some(leave) => break End::Away(leave),
                    // No more churn: the rest of the run in the room.
                    None => churning = false,
                },
            }
        };
        ctx.left(user);
        conn.close().await;
        generation += 1;
        match end {
            End::Away(away) => tokio::time::sleep(away).await,
            End::Dropped(why) => {
                if ctx.stopping.get() {
                    return;
                }
                {
                    let mut stats = ctx.stats.borrow_mut();
                    stats.totals.disconnects += 1;
                    stats.error(format!("{} dropped: {why}", ctx.nick(user, generation - 1)));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// A reader that reads one message every [`SLOW_READ_EVERY`]; when the
/// server gives up on it, it comes back after a while.
async fn slow_reader(ctx: Rc<Ctx>, index: usize) {
    let room = ctx.rooms[index % ctx.rooms.len()].clone();
    for generation in 0u32.. {
        let nick = format!("slow{index}r{generation}");
        let entered = async {
            let mut ws = client::open(ctx.http, Wire::TypedV1, 4096).await?;
            client::enter(&mut ws, Wire::TypedV1, (nick, None), &room).await?;
            Ok::<_, anyhow::Error>(ws)
        }
        .await;
        if let Ok(mut ws) = entered {
            loop {
                tokio::time::sleep(SLOW_READ_EVERY).await;
                match ws.next().await {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                }
            }
            if ctx.stopping.get() {
                return;
            }
            ctx.stats.borrow_mut().totals.slow_closed += 1;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// Each minute, a share of the users leaves for a few seconds, at times
/// spread over the minute.
async fn churn(ctx: Rc<Ctx>, aways: Vec<mpsc::UnboundedSender<Duration>>, until: Instant) {
    let per_minute = (ctx.plan.users() as f64 * ctx.plan.churn_percent / 100.0).round() as usize;
    if per_minute == 0 {
        return;
    }
    let every = Duration::from_secs(60) / per_minute as u32;
    loop {
        let wait = every.mul_f64(0.5 + ctx.uniform());
        if Instant::now() + wait >= until {
            return;
        }
        tokio::time::sleep(wait).await;
        let user = (ctx.random() % aways.len() as u64) as usize;
        if ctx.users[user].borrow().since_us.is_some() {
            let _ = aways[user].send(ctx.between(1.0, 15.0));
        }
    }
}

/// Uploads a small file now and then, as a web user in its room.
async fn uploads(ctx: Rc<Ctx>) {
    if ctx.plan.uploads_per_minute <= 0.0 || ctx.plan.web == 0 {
        return;
    }
    let every = 60.0 / ctx.plan.uploads_per_minute;
    for n in 0u64.. {
        tokio::time::sleep(ctx.between(0.5 * every, 1.5 * every)).await;
        let uploader = (0..20).find_map(|_| {
            let user = (ctx.random() % ctx.plan.web as u64) as usize;
            let state = ctx.users[user].borrow();
            state.token.clone().map(|token| (state.room, token))
        });
        let Some((room, token)) = uploader else {
            continue;
        };
        let size = 4096 + (ctx.random() % (60 * 1024)) as usize;
        let started = now_us();
        match upload(ctx.http, &ctx.rooms[room], &token, n, size).await {
            Ok(seq) => {
                ctx.log.borrow_mut().rooms[room].note_seq(seq, started);
                ctx.stats.borrow_mut().totals.uploads += 1;
            }
            Err(error) => {
                let mut stats = ctx.stats.borrow_mut();
                stats.totals.upload_failures += 1;
                stats.error(format!("upload: {error:#}"));
            }
        }
    }
}

/// `POST /api/rooms/{room}/files` with `size` bytes; the announcement's
/// sequence number.
async fn upload(
    addr: SocketAddr,
    room: &str,
    token: &str,
    n: u64,
    size: usize,
) -> anyhow::Result<u64> {
    client::ensure_loopback(addr)?;
    let boundary = "hubbub-load-soak-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"soak-{n}.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend((0..size).map(|i| (i.wrapping_mul(31) ^ n as usize) as u8));
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/rooms/{room}/files HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(&body).await?;
    let mut response = Vec::new();
    tokio::time::timeout(ENTER_TIMEOUT, tcp.read_to_end(&mut response))
        .await
        .context("no answer to an upload")??;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("an upload's answer has no body")?;
    if !head.starts_with("HTTP/1.1 201") {
        bail!("an upload was refused: {head} {body}");
    }
    let answer: serde_json::Value = serde_json::from_str(body)?;
    answer["seq"]
        .as_u64()
        .context("an upload's answer has no seq")
}

/// Runs the soak against a server started for it.
pub async fn run(
    spec: &ServerSpec,
    plan: Plan,
    deadline: std::time::Instant,
) -> anyhow::Result<Report> {
    if spec.attach.is_some() {
        bail!("the soak starts its own server (it needs the terminal and datagram doors)");
    }
    // The rate and the duration are checked where they are read.
    if plan.rooms == 0 || plan.users() == 0 {
        bail!("a soak needs rooms and users");
    }
    if plan.report_secs == 0 {
        bail!("--report-secs must be positive");
    }
    // Room for everyone twice over: a returning user's new connection may
    // come before the server has let the old one go.
    let connections = u32::try_from(2 * (plan.users() + plan.slow_readers) + 200)?;
    let server = Server::start(spec, connections).await?;
    let result = measure(&server, plan, deadline).await;
    let end = server.stop().await?;
    let mut report = result?;
    report.server = end;
    Ok(report)
}

async fn measure(
    server: &Server,
    plan: Plan,
    deadline: std::time::Instant,
) -> anyhow::Result<Report> {
    let (terminal, datagram) = server.doors().await?;
    let users = (0..plan.users())
        .map(|index| {
            let kind = if index < plan.web {
                Kind::Web(if index % 2 == 0 {
                    Wire::Typed
                } else {
                    Wire::TypedV1
                })
            } else if index < plan.web + plan.terminal {
                Kind::Terminal
            } else {
                Kind::Datagram
            };
            RefCell::new(User {
                kind,
                room: index % plan.rooms,
                since_us: None,
                token: None,
                base: None,
                got: Bits::default(),
                last: 0,
                window: None,
            })
        })
        .collect();
    let rooms: Vec<String> = (0..plan.rooms).map(|room| format!("soak{room}")).collect();
    let ctx = Rc::new(Ctx {
        plan,
        http: server.addr,
        terminal,
        datagram,
        log: RefCell::new(Log {
            recs: Vec::new(),
            rooms: rooms.iter().map(|_| RoomLog::default()).collect(),
        }),
        rooms,
        users,
        stats: RefCell::new(Stats {
            totals: Totals::default(),
            latency: tally::histogram(),
            by_door: [tally::histogram(), tally::histogram(), tally::histogram()],
            first_error: None,
        }),
        sending: Cell::new(true),
        stopping: Cell::new(false),
        rng: Cell::new(0x9e37_79b9_7f4a_7c15),
        gate: tokio::sync::Semaphore::new(SETUP_CONCURRENCY),
    });

    let setup_started = Instant::now();
    let mut tasks = Vec::new();
    let mut aways = Vec::new();
    for index in 0..plan.users() {
        let (tx, rx) = mpsc::unbounded_channel();
        aways.push(tx);
        tasks.push(tokio::task::spawn_local(user(Rc::clone(&ctx), index, rx)));
    }
    let setup_deadline =
        (setup_started + Duration::from_secs(180)).min(Instant::from_std(deadline));
    while ctx.connected() < plan.users() {
        if Instant::now() > setup_deadline {
            let stats = ctx.stats.borrow();
            bail!(
                "setup did not finish: {} of {} users in their rooms; first error: {}",
                ctx.connected(),
                plan.users(),
                stats.first_error.as_deref().unwrap_or("none")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();
    for index in 0..plan.slow_readers {
        tasks.push(tokio::task::spawn_local(slow_reader(
            Rc::clone(&ctx),
            index,
        )));
    }

    let proc = server.proc();
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(plan.seconds);
    if end + DRAIN + Duration::from_secs(20) > Instant::from_std(deadline) {
        bail!(
            "--max-seconds leaves no time for {} s and the drain",
            plan.seconds
        );
    }
    tasks.push(tokio::task::spawn_local(churn(
        Rc::clone(&ctx),
        aways,
        end - CHURN_QUIET,
    )));
    tasks.push(tokio::task::spawn_local(uploads(Rc::clone(&ctx))));
    {
        let mut stats = ctx.stats.borrow_mut();
        stats.reset();
    }
    let mut previous = ctx.stats.borrow().totals;
    let mut server_cpu = proc.map(CpuMeter::start).transpose()?;
    let mut my_cpu = CpuMeter::start(Proc::Me)?;
    let mut rows = Vec::new();
    println!("{}", Row::header());
    let every = Duration::from_secs(plan.report_secs);
    let mut next = started + every;
    loop {
        let last = next >= end;
        if last {
            tokio::time::sleep_until(end).await;
            ctx.sending.set(false);
            tokio::time::sleep(DRAIN).await;
        } else {
            tokio::time::sleep_until(next).await;
        }
        let (typed, terminal, _) = ctx.lost(last);
        let mut stats = ctx.stats.borrow_mut();
        let totals = stats.totals;
        let server_busy = server_cpu.map(|meter| meter.read()).transpose()?;
        let my_busy = my_cpu.read()?;
        let row = Row {
            elapsed_s: started.elapsed().as_secs_f64(),
            server_rss_kib: proc.and_then(|proc| proc.rss_kib().ok()),
            server_fds: proc.and_then(|proc| proc.fd_count().ok()),
            deliveries: totals.deliveries - previous.deliveries,
            by_history: totals.by_history - previous.by_history,
            sent: totals.sent - previous.sent,
            lost: typed + terminal,
            p99_ms: stats.latency.value_at_quantile(0.99) as f64 / 1000.0,
            max_ms: stats.latency.max() as f64 / 1000.0,
            p99_by_door_ms: stats
                .by_door
                .each_ref()
                .map(|histogram| histogram.value_at_quantile(0.99) as f64 / 1000.0),
            server_cpu_percent: server_busy.map(|(cpu, wall)| percent(cpu, wall)),
            generator_cpu_percent: percent(my_busy.0, my_busy.1),
            connected: ctx.connected(),
            resumes: totals.resumes - previous.resumes,
            disconnects: totals.disconnects - previous.disconnects,
            uploads: totals.uploads - previous.uploads,
            slow_reader_closes: totals.slow_closed - previous.slow_closed,
        };
        stats.reset();
        drop(stats);
        println!("{}", row.line());
        rows.push(row);
        previous = totals;
        server_cpu = proc.map(CpuMeter::start).transpose()?;
        my_cpu = CpuMeter::start(Proc::Me)?;
        if last {
            break;
        }
        next += every;
    }
    let (lost_typed, lost_terminal, not_in_at_end) = ctx.lost(true);
    ctx.stopping.set(true);
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    let stats = ctx.stats.borrow();
    Ok(Report {
        plan,
        setup_seconds,
        rows,
        totals: stats.totals,
        lost_typed,
        lost_terminal,
        not_in_at_end,
        first_error: stats.first_error.clone(),
        server: ServerEnd::default(),
    })
}

fn percent(cpu: Duration, wall: Duration) -> f64 {
    cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9) * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_count_what_is_in() {
        let mut bits = Bits::default();
        assert!(bits.insert(0));
        assert!(bits.insert(63));
        assert!(bits.insert(64));
        assert!(!bits.insert(64));
        assert!(bits.insert(200));
        assert!(bits.contains(63) && !bits.contains(62));
        assert_eq!(bits.count_below(0), 0);
        assert_eq!(bits.count_below(1), 1);
        assert_eq!(bits.count_below(64), 2);
        assert_eq!(bits.count_below(65), 3);
        assert_eq!(bits.count_below(1000), 4);
    }

    #[test]
    fn a_room_head_is_the_highest_number_sent_in_time() {
        let mut room = RoomLog::default();
        room.note_seq(1, 10);
        room.note_seq(3, 30);
        room.note_seq(2, 35);
        assert_eq!(room.head_by(5), 0);
        assert_eq!(room.head_by(30), 3);
        assert_eq!(room.head_by(u64::MAX), 3);
    }

    #[test]
    fn a_terminal_misses_only_committed_messages_sent_in_time() {
        let mut log = Log {
            recs: Vec::new(),
            rooms: vec![RoomLog::default()],
        };
        for (id, (sent_us, seq)) in [(10, 1), (20, 0), (30, 2), (40, 3)].into_iter().enumerate() {
            log.rooms[0].order.push(id as u64);
            log.recs.push(Rec {
                room: 0,
                index: id as u32,
                sender: 0,
                sent_us,
                seq,
            });
        }
        let mut got = Bits::default();
        got.insert(0);
        // From place 1: 20 was never committed, 30 is missing, 40 too late.
        assert_eq!(log.missing(0, 1, 35, &got), 1);
        assert_eq!(log.missing(0, 0, 35, &Bits::default()), 2);
    }
}
