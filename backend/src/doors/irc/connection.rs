//! One IRC connection's wire, for the connection driver
//! ([`crate::doors::driver`]): the socket, the connection's state, and the
//! driver's side of it. What a client line asks for is [`super::commands`];
//! how the hub's events look on IRC is [`super::render`]; registration and
//! the welcome are [`super::registration`].
//!
//! Rooms are channels (`lobby` is `#lobby`); a direct conversation is a
//! private query.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::ServerMsg;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::caps::Caps;
use super::message::{MAX_CLIENT_TAGS, MAX_LINE};
use super::registration::Registration;
use crate::config::Heartbeat;
use crate::doors::driver::{Ask, End, Wire};
use crate::doors::tcp::lines::{Line, LineReader};
use crate::doors::tcp::socket::{close_with, write};
use crate::guard::Permit;
use crate::hub::Request;
use crate::outbox::{CloseReason, Outgoing};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4 * 1024;
/// The server's name in the prefix of its own lines.
pub(super) const SERVER: &str = "hubbub";
/// The host part of every user's prefix: Hubbub does not show addresses.
pub(super) const HOST: &str = "hubbub";
/// A signed-in client's read markers move at most this often: each is a
/// write to the store.
const MARK_EVERY: Duration = Duration::from_secs(2);
/// The client's own messages acknowledged and not yet come back from the
/// room: a few, unless the room is gone.
const MAX_OWN: usize = 64;

/// What only an IRC connection answers.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Local {
    /// Replies of the wire's own (numerics, PONG, the channel lists).
    Lines(Vec<Out>),
}

/// A line for the client.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Out {
    /// Written as it is.
    Raw(String),
    /// A numeric or a server notice: `:hubbub CODE nick rest`, with the
    /// nickname the connection has when it is written.
    Numeric(&'static str, String),
}

impl Out {
    pub(super) fn to(code: &'static str, rest: impl Into<String>) -> Self {
        Out::Numeric(code, rest.into())
    }
}

pub(super) type IrcAsk = Ask<Local>;

pub(super) struct Peer {
    pub addr: SocketAddr,
    /// The connection's place under the caps, released when the task ends.
    pub permit: Permit,
}

/// A channel as this connection knows it.
#[derive(Default)]
pub(super) struct Channel {
    pub members: std::collections::BTreeSet<String>,
    pub topic: String,
}

/// A signed-in client's read markers: what it was shown, and what the
/// store has been told.
#[derive(Default)]
pub(super) struct Marks {
    /// The last seq written to the client, per channel.
    pub shown: HashMap<String, u64>,
    /// The last seq sent as its read marker, per channel.
    pub sent: HashMap<String, u64>,
    /// When the markers may next move.
    pub next: Option<Instant>,
    /// Something was shown since the markers last moved.
    pub dirty: bool,
}

pub(super) struct IrcWire {
    stream: TcpStream,
    reader: LineReader,
    chunk: Box<[u8]>,
    /// Until the welcome.
    pub(super) registration: Option<Box<Registration>>,
    /// The hub's events that came after a SASL welcome and before the
    /// client finished registering.
    pub(super) deferred: Vec<Arc<Outgoing>>,
    pub(super) caps: Caps,
    /// Signed in to an account (not a guest).
    pub(super) signed_in: bool,
    /// The nickname the hub gave this connection (`*` before the welcome).
    pub(super) nick: String,
    pub(super) channels: HashMap<String, Channel>,
    /// The room of the `joined` just shown: the history that follows it
    /// is the join's.
    pub(super) joined: Option<String>,
    /// The channels after the first of a `JOIN a,b` (or `PART`), asked
    /// for one at a time as each answer is written.
    pub(super) pending_joins: VecDeque<String>,
    pub(super) pending_parts: VecDeque<String>,
    pub(super) away: bool,
    /// The ids this connection gives its messages: a random prefix and a
    /// count, so that they never repeat an earlier connection's.
    id_prefix: String,
    sent: u64,
    /// (room, seq) of the client's own messages acknowledged and not yet
    /// seen come back: they are echoed only with `echo-message`.
    pub(super) own: VecDeque<(String, u64)>,
    pub(super) marks: Marks,
    /// Numbers the batches this connection opens.
    pub(super) batches: u64,
    out: Vec<u8>,
    heard: Instant,
    pinged: bool,
    heartbeat: Arc<Heartbeat>,
    pub(super) public_url: Arc<str>,
    peer: SocketAddr,
    _permit: Permit,
}

impl IrcWire {
    pub(super) fn new(
        stream: TcpStream,
        peer: Peer,
        heartbeat: Arc<Heartbeat>,
        public_url: Arc<str>,
    ) -> Self {
        let _ = stream.set_nodelay(true);
        let mut random = [0u8; 6];
        // Without randomness the ids are still unique within this
        // connection; the peer's port keeps them apart from others.
        let id_prefix = match getrandom::fill(&mut random) {
            Ok(()) => random.iter().map(|b| format!("{b:02x}")).collect(),
            Err(_) => format!("p{}", peer.addr.port()),
        };
        Self {
            stream,
            // Tags, the 512 bytes and a little slack: what is longer is
            // refused as a whole line.
            reader: LineReader::new(MAX_CLIENT_TAGS + MAX_LINE),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            registration: Some(Box::default()),
            deferred: Vec::new(),
            caps: Caps::default(),
            signed_in: false,
            nick: "*".to_owned(),
            channels: HashMap::new(),
            joined: None,
            pending_joins: VecDeque::new(),
            pending_parts: VecDeque::new(),
            away: false,
            id_prefix,
            sent: 0,
            own: VecDeque::new(),
            marks: Marks::default(),
            batches: 0,
            out: Vec::new(),
            heard: Instant::now(),
            pinged: false,
            heartbeat,
            public_url,
            peer: peer.addr,
            _permit: peer.permit,
        }
    }

    /// A new id for a message the client sends, so that its ack says
    /// which seq is the client's own.
    pub(super) fn next_id(&mut self) -> String {
        self.sent += 1;
        format!("irc-{}-{}", self.id_prefix, self.sent)
    }

    /// Notes the client's own message, acknowledged as `seq`.
    pub(super) fn acked(&mut self, room: &str, seq: u64) {
        if self.own.len() == MAX_OWN {
            self.own.pop_front();
        }
        self.own.push_back((room.to_owned(), seq));
    }

    /// Whether `room`'s `seq` is the client's own message (and forgets it).
    pub(super) fn is_own(&mut self, room: &str, seq: u64) -> bool {
        match self.own.iter().position(|(r, s)| *s == seq && r == room) {
            Some(at) => {
                self.own.remove(at);
                true
            }
            None => false,
        }
    }

    /// The read markers due: every channel shown further than it was
    /// marked, if the last move was long enough ago (or `now`, when the
    /// client is leaving).
    fn read_markers(&mut self, asks: &mut Vec<IrcAsk>, now: bool) {
        if !self.signed_in || !self.marks.dirty {
            return;
        }
        let moved: Vec<(String, u64)> = self
            .marks
            .shown
            .iter()
            .filter(|(room, seq)| self.marks.sent.get(*room).is_none_or(|sent| sent < seq))
            .filter(|(room, _)| self.channels.contains_key(*room))
            .map(|(room, seq)| (room.clone(), *seq))
            .collect();
        let at = Instant::now();
        if !now && self.marks.next.is_some_and(|next| at < next) {
            return;
        }
        self.marks.dirty = false;
        for (room, seq) in moved {
            self.marks.sent.insert(room.clone(), seq);
            asks.push(Ask::Hub(Request::Read { room, seq }));
        }
        self.marks.next = Some(at + MARK_EVERY);
    }

    /// When the client should be pinged, or given up on.
    fn liveness(&self) -> Instant {
        if self.pinged {
            self.heard + self.heartbeat.idle_after
        } else {
            self.heard + self.heartbeat.ping_every
        }
    }

    pub(super) fn line(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// `:hubbub NNN nick rest`.
    pub(super) fn numeric(&self, code: &str, rest: &str) -> String {
        format!(":{SERVER} {code} {} {rest}", self.nick)
    }
}

impl Wire for IrcWire {
    const DOOR: &'static str = "irc";
    type Input = std::io::Result<usize>;
    type Local = Local;

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn protocol(&self) -> &'static str {
        "irc"
    }

    fn read(&mut self) -> impl Future<Output = Self::Input> + Send + '_ {
        self.stream.read(&mut self.chunk)
    }

    fn decode(&mut self, read: Self::Input, asks: &mut Vec<IrcAsk>) {
        let n = match read {
            Ok(0) | Err(_) => return asks.push(Ask::End(End::Lost("connection lost"))),
            Ok(n) => n,
        };
        self.heard = Instant::now();
        self.pinged = false;
        let mut lines = Vec::new();
        self.reader.feed(&self.chunk[..n], &mut lines);
        for line in lines {
            let ask = match line {
                Line::Text(text) => {
                    let ask = self.ask_of(&text);
                    if let Some(Ask::End(End::Left)) = ask {
                        // What the client saw before `QUIT` is read.
                        self.read_markers(asks, true);
                    }
                    ask
                }
                Line::TooLong => Some(Self::reply_numeric(
                    "417",
                    ":Input line was too long; it was not sent".to_owned(),
                )),
                Line::InvalidUtf8 => Some(Ask::Local(Local::Lines(vec![Out::to(
                    "NOTICE",
                    ":That line was not UTF-8; it was not sent",
                )]))),
            };
            asks.extend(ask);
        }
    }

    fn held(&mut self, asks: &mut Vec<IrcAsk>) {
        if let Some(room) = self.pending_joins.pop_front() {
            asks.push(Ask::Hub(Request::Join { room }));
        }
        if let Some(room) = self.pending_parts.pop_front() {
            asks.push(Ask::Hub(Request::Leave { room }));
        }
        self.read_markers(asks, false);
    }

    fn reply(&mut self, msg: ServerMsg) {
        self.show_reply(&msg);
    }

    fn answer(&mut self, local: Local) {
        let Local::Lines(lines) = local;
        for line in lines {
            self.local_line(line);
        }
    }

    async fn write(&mut self, events: &[Arc<Outgoing>]) -> Result<(), End> {
        for event in events {
            if self.holding() {
                self.deferred.push(Arc::clone(event));
            } else {
                self.show(event.msg());
            }
        }
        // A join's history comes in the batch of its `joined`; what comes in
        // a later batch is a catch-up.
        self.joined = None;
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), End> {
        let out = std::mem::take(&mut self.out);
        write(&mut self.stream, &out, self.heartbeat.write_deadline).await
    }

    fn resumes_from_markers(&self) -> bool {
        // A client that asks for history itself is not replayed to.
        !self.caps.chathistory
    }

    fn write_deadline(&self) -> Duration {
        self.heartbeat.write_deadline
    }

    fn deadline(&self) -> Option<Instant> {
        let liveness = self.liveness();
        Some(match self.marks.next {
            // The driver asks what is held when the timer fires.
            Some(next) if self.marks.dirty => next.min(liveness),
            _ => liveness,
        })
    }

    fn timer(&mut self, now: Instant) -> Result<(), End> {
        if now < self.liveness() {
            return Ok(());
        }
        if self.pinged {
            return Err(End::Close(CloseReason::Idle));
        }
        self.pinged = true;
        self.line(&format!("PING :{SERVER}"));
        Ok(())
    }

    async fn goodbye(&mut self, end: End) {
        let why = match end {
            End::Close(CloseReason::WriteTimeout) | End::Lost(_) => return,
            End::Left => "Quit".to_owned(),
            End::Close(CloseReason::Shutdown) => "Server shutting down".to_owned(),
            End::Close(reason) => reason.describe().to_owned(),
        };
        let line = format!("ERROR :Closing link: {why}\r\n");
        let Heartbeat {
            write_deadline,
            close_grace,
            ..
        } = *self.heartbeat;
        close_with(&mut self.stream, &line, write_deadline, close_grace).await;
    }
}
