//! One terminal connection's wire, for the connection driver
//! ([`crate::doors::driver`]).
//!
//! Bytes from the socket become lines ([`super::lines`]), and each line a
//! command or a message ([`shared::line::parse`]); events are written as the
//! terminal door's lines, each batch in one write under the write deadline.
//! The connection follows what it writes to know its user's current room and
//! online lists ([`super::term`]).
//!
//! A terminal sends no pings, so only its lines prove life: after a quiet
//! spell it is warned, and closed if it stays quiet.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use shared::line::{self, EOL, Input};
use shared::{Credentials, ErrorCode, MessageKind, Secret, ServerMsg};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::MAX_LINE_BYTES;
use super::lines::{Line, LineReader};
use super::socket::{close_with, write};
use super::term::Term;
use crate::config::Heartbeat;
use crate::doors::driver::{Ask, End, Wire};
use crate::guard::Permit;
use crate::hub::{Auth, Request};
use crate::outbox::{CloseReason, Encoding, Outgoing};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4 * 1024;
/// Lines kept while the nickname waits for the hub's answer (a script's
/// `printf 'ada\nhello\n' | nc`, a paste): they are read once it is
/// accepted, or the first of them is the next nickname tried.
const MAX_HELD: usize = 32;
/// What a terminal is asked before anything else.
pub(super) const PROMPT: &str = "nickname: ";
/// The last words to everyone at shutdown.
const GOODBYE: &str = "* server shutting down; bye";

/// An event as the terminal door's lines (each ending in CR LF, controls
/// stripped). The context is the server's public HTTP root, for links to
/// shared files: the same for every terminal of a server.
pub struct TerminalLines;

impl Encoding for TerminalLines {
    type Context = str;

    fn encode(msg: &ServerMsg, public_url: &str) -> Option<Bytes> {
        line::render(msg, public_url).map(Bytes::from)
    }
}

/// What only a terminal is answered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Local {
    /// Ask for a nickname (again).
    Prompt,
    /// The list of commands.
    Help,
    /// The room's topic.
    Topic(String),
}

type TermAsk = Ask<Local>;

pub(super) struct Peer {
    pub addr: SocketAddr,
    /// The connection's place under the caps, released when the task ends.
    pub permit: Permit,
}

/// What a terminal needs until it has a nickname: boxed, and gone once it
/// is in, so that a connection that chats carries none of it.
#[derive(Default)]
struct Naming {
    /// A nickname was sent and the hub has not answered yet.
    waiting: bool,
    /// The next line is the password of the registered nickname `tried`.
    password_next: bool,
    /// The nickname last tried.
    tried: Option<String>,
    /// Lines read while the hub had not answered.
    held: Vec<String>,
}

/// A terminal connection's wire.
pub(super) struct TermWire {
    stream: TcpStream,
    reader: LineReader,
    chunk: Box<[u8]>,
    term: Term,
    /// Until the terminal is in with a nickname (and its held lines read).
    naming: Option<Box<Naming>>,
    /// What is waiting for the next flush.
    out: Vec<u8>,
    quiet: Quiet,
    /// The server's timings, shared by every connection.
    heartbeat: Arc<Heartbeat>,
    public_url: Arc<str>,
    peer: SocketAddr,
    _permit: Permit,
}

impl TermWire {
    pub(super) fn new(
        stream: TcpStream,
        peer: Peer,
        heartbeat: Arc<Heartbeat>,
        public_url: Arc<str>,
    ) -> Self {
        let _ = stream.set_nodelay(true);
        let banner = format!(
            "Hubbub {} terminal chat. Times are UTC. /help lists the commands.{EOL}{PROMPT}",
            env!("CARGO_PKG_VERSION")
        );
        Self {
            stream,
            reader: LineReader::new(MAX_LINE_BYTES),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            term: Term::default(),
            naming: Some(Box::default()),
            out: banner.into_bytes(),
            quiet: Quiet::new(Instant::now()),
            heartbeat,
            public_url,
            peer: peer.addr,
            _permit: peer.permit,
        }
    }

    /// A line before the welcome: the nickname, the password of a
    /// registered one, or `/login NICK PASSWORD`. While a nickname waits for
    /// the hub's answer, the lines after it wait too.
    fn naming_line(&mut self, text: &str) -> Option<TermAsk> {
        let input = line::parse(text);
        if input == Input::Quit {
            return Some(Ask::End(End::Left));
        }
        let naming = self.naming.get_or_insert_with(Box::default);
        if naming.waiting {
            if naming.held.len() == MAX_HELD {
                return Some(Ask::Reply(ServerMsg::error(
                    ErrorCode::Malformed,
                    "wait for your nickname to be accepted; that line was not sent",
                )));
            }
            naming.held.push(text.to_owned());
            return None;
        }
        if input == Input::Blank {
            naming.password_next = false;
            return Some(Ask::Local(Local::Prompt));
        }
        let hello = |nick: &str, auth| {
            Ask::Hub(Request::Hello {
                nick: nick.to_owned(),
                resume: BTreeMap::new(),
                auth,
            })
        };
        let password = |text: &str| {
            Auth::Unchecked(Credentials::Password(Secret::new(
                text.trim_end_matches('\r'),
            )))
        };
        naming.waiting = true;
        if std::mem::take(&mut naming.password_next)
            && let Some(nick) = naming.tried.clone()
        {
            return Some(hello(&nick, password(text)));
        }
        Some(match input {
            Input::Login {
                nick,
                password: secret,
            } => {
                naming.tried = Some(nick.to_owned());
                hello(nick, password(secret))
            }
            _ => {
                let nick = text.trim();
                naming.tried = Some(nick.to_owned());
                hello(nick, Auth::Guest)
            }
        })
    }

    /// Follows an event or a reply about to be written: the terminal's
    /// state, the end of a wait for the nickname's answer, and the prompt
    /// that comes next. Returns lines of its own to write after it.
    fn follow(&mut self, msg: &ServerMsg) -> Option<String> {
        let mut more = self.term.observe(msg);
        let registered = self.term.registered;
        let Some(naming) = self.naming.as_deref_mut() else {
            return more;
        };
        if naming.waiting && answers_hello(msg, registered) {
            naming.waiting = false;
        }
        if !registered
            && let ServerMsg::Error {
                code: ErrorCode::NickRegistered,
                ..
            } = msg
            && let Some(nick) = &naming.tried
        {
            naming.password_next = true;
            more = Some(format!("password for {}: ", line::strip_controls(nick)));
        }
        more
    }

    /// What one line asks for; `None` for a line that asks nothing (yet).
    fn ask_of(&mut self, text: &str) -> Option<TermAsk> {
        if !self.term.registered {
            return self.naming_line(text);
        }
        let input = line::parse(text);
        if let Ok(room) = self.term.room()
            && let Some(msg) = line::room_command(&input, &room)
        {
            return Some(crate::doors::typed::ask_of(msg));
        }
        let in_room = |request: fn(String) -> Request| match self.term.room() {
            Ok(room) => Ask::Hub(request(room)),
            Err(error) => Ask::Reply(ServerMsg::error(ErrorCode::NotInRoom, error)),
        };
        let say = |text: &str, kind: MessageKind, reply_to: Option<u64>| match self.term.room() {
            Ok(room) => Ask::Hub(Request::Send {
                id: None,
                room,
                text: text.to_owned(),
                kind,
                reply_to,
            }),
            Err(error) => Ask::Reply(ServerMsg::error(ErrorCode::NotInRoom, error)),
        };
        let not_in_room = || {
            Ask::Reply(ServerMsg::error(
                ErrorCode::NotInRoom,
                "you are in no room; /join ROOM",
            ))
        };
        Some(match input {
            Input::Blank => return None,
            Input::Say(text) => say(text, MessageKind::Text, None),
            Input::Me(text) => say(text, MessageKind::Action, None),
            Input::Reply { seq, text } => say(text, MessageKind::Text, Some(seq)),
            Input::Edit { seq, text } => match self.term.room() {
                Ok(room) => Ask::Hub(Request::Edit {
                    id: None,
                    room,
                    seq,
                    text: text.to_owned(),
                }),
                Err(_) => not_in_room(),
            },
            Input::Unread => Ask::Hub(Request::Unread),
            Input::Nick(nick) => Ask::Hub(Request::Nick {
                nick: nick.to_owned(),
            }),
            Input::Join(room) => Ask::Hub(Request::Join {
                room: room.to_owned(),
            }),
            Input::Leave(Some(room)) => Ask::Hub(Request::Leave {
                room: room.to_owned(),
            }),
            Input::Leave(None) => in_room(|room| Request::Leave { room }),
            Input::Rooms => Ask::Hub(Request::Rooms),
            Input::Msg { to, text } => Ask::Hub(Request::Direct {
                id: None,
                to: to.to_owned(),
                text: text.to_owned(),
                kind: MessageKind::Text,
                reply_to: None,
            }),
            Input::Who => match self.term.room() {
                Ok(room) => {
                    let members = self.term.rooms.get(&room).cloned().unwrap_or_default();
                    Ask::Reply(ServerMsg::Members { room, members })
                }
                Err(error) => Ask::Reply(ServerMsg::error(ErrorCode::NotInRoom, error)),
            },
            Input::History(n) => match self.term.room() {
                Ok(room) => Ask::History {
                    room,
                    before: u64::MAX,
                    limit: u32::try_from(n).ok(),
                },
                Err(error) => Ask::Reply(ServerMsg::error(ErrorCode::NotInRoom, error)),
            },
            Input::Register { password, invite } => Ask::Hub(Request::Register {
                password: Secret::new(password),
                invite: invite.map(Secret::new),
            }),
            Input::Login { .. } => Ask::Reply(ServerMsg::error(
                ErrorCode::AlreadyRegistered,
                "you have a nickname already: reconnect to sign in with /login",
            )),
            Input::Logout { everywhere } => Ask::Hub(Request::SignOut { everywhere }),
            Input::Topic(None) => match self.term.room() {
                Ok(room) => Ask::Local(Local::Topic(room)),
                Err(_) => not_in_room(),
            },
            Input::Invite => Ask::Hub(Request::Invite),
            // The commands about the current room, when there is none.
            Input::Kick { .. }
            | Input::Ban { .. }
            | Input::Unban(_)
            | Input::Mute { .. }
            | Input::Unmute(_)
            | Input::Slow(_)
            | Input::Topic(Some(_))
            | Input::Op { .. }
            | Input::Delete(_)
            | Input::React { .. }
            | Input::Search(_)
            | Input::ModLog => not_in_room(),
            Input::Help => Ask::Local(Local::Help),
            Input::Quit => Ask::End(End::Left),
            Input::Usage(usage) => Ask::Reply(ServerMsg::error(
                ErrorCode::Malformed,
                format!("usage: {usage}"),
            )),
            Input::Unknown(name) => Ask::Reply(ServerMsg::error(
                ErrorCode::Malformed,
                format!("unknown command /{name}; /help lists the commands (//{name} says it)"),
            )),
        })
    }
}

impl Wire for TermWire {
    const DOOR: &'static str = "tcp";
    type Input = std::io::Result<usize>;
    type Local = Local;

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn protocol(&self) -> &'static str {
        "lines"
    }

    fn read(&mut self) -> impl Future<Output = Self::Input> + Send + '_ {
        self.stream.read(&mut self.chunk)
    }

    fn decode(&mut self, read: Self::Input, asks: &mut Vec<TermAsk>) {
        let n = match read {
            Ok(0) | Err(_) => return asks.push(Ask::End(End::Lost("connection lost"))),
            Ok(n) => n,
        };
        self.quiet.heard(Instant::now());
        let mut lines = Vec::new();
        self.reader.feed(&self.chunk[..n], &mut lines);
        for line in lines {
            let ask = match line {
                Line::Text(text) => self.ask_of(&text),
                Line::TooLong => Some(Ask::Reply(ServerMsg::error(
                    ErrorCode::TextTooLong,
                    format!("line too long: at most {MAX_LINE_BYTES} bytes; it was not sent"),
                ))),
                Line::InvalidUtf8 => Some(Ask::Reply(ServerMsg::error(
                    ErrorCode::Malformed,
                    "invalid UTF-8: that line was not sent",
                ))),
            };
            asks.extend(ask);
        }
    }

    fn held(&mut self, asks: &mut Vec<TermAsk>) {
        let Some(naming) = self.naming.as_deref_mut() else {
            return;
        };
        if naming.waiting {
            return;
        }
        let held = std::mem::take(&mut naming.held);
        if self.term.registered {
            // In: nothing of the naming is needed any more.
            self.naming = None;
        }
        // Read as if they came now: after a welcome they are chat, after a
        // refusal the first is the next nickname (and the rest wait again).
        for text in held {
            asks.extend(self.ask_of(&text));
        }
    }

    fn reply(&mut self, msg: ServerMsg) {
        if let ServerMsg::History { room, messages, .. } = &msg
            && messages.is_empty()
        {
            let note = format!("-- [{}] no messages yet{EOL}", line::strip_controls(room));
            self.out.extend_from_slice(note.as_bytes());
            return;
        }
        if let Some(lines) = line::render(&msg, &self.public_url) {
            self.out.extend_from_slice(lines.as_bytes());
        }
        if let Some(more) = self.follow(&msg) {
            self.out.extend_from_slice(more.as_bytes());
        }
    }

    fn answer(&mut self, local: Local) {
        match local {
            Local::Prompt => self.out.extend_from_slice(PROMPT.as_bytes()),
            Local::Help => {
                for help in line::HELP {
                    self.out.extend_from_slice(help.as_bytes());
                    self.out.extend_from_slice(EOL.as_bytes());
                }
            }
            Local::Topic(room) => {
                let shown = line::strip_controls(&room);
                let text = match self.term.topics.get(&room) {
                    Some(topic) => {
                        format!("-- [{shown}] topic: {}{EOL}", line::strip_controls(topic))
                    }
                    None => format!("-- [{shown}] no topic{EOL}"),
                };
                self.out.extend_from_slice(text.as_bytes());
            }
        }
    }

    async fn write(&mut self, events: &[Arc<Outgoing>]) -> Result<(), End> {
        let mut out = Vec::new();
        for event in events {
            if let Some(lines) = event.encoded::<TerminalLines>(&self.public_url) {
                out.extend_from_slice(lines);
            }
            if let Some(more) = self.follow(event.msg()) {
                out.extend_from_slice(more.as_bytes());
            }
        }
        write(&mut self.stream, &out, self.heartbeat.write_deadline).await
    }

    async fn flush(&mut self) -> Result<(), End> {
        let out = std::mem::take(&mut self.out);
        write(&mut self.stream, &out, self.heartbeat.write_deadline).await
    }

    fn write_deadline(&self) -> Duration {
        self.heartbeat.write_deadline
    }

    fn deadline(&self) -> Option<Instant> {
        Some(self.quiet.deadline(self.heartbeat.idle_after))
    }

    fn timer(&mut self, now: Instant) -> Result<(), End> {
        match self.quiet.due(now, self.heartbeat.idle_after) {
            QuietDue::Close => Err(End::Close(CloseReason::Idle)),
            QuietDue::Warn(left) => {
                let warning = format!(
                    "! idle: closing in {} s unless you type something{EOL}",
                    left.as_secs().max(1)
                );
                self.out.extend_from_slice(warning.as_bytes());
                Ok(())
            }
            QuietDue::Nothing => Ok(()),
        }
    }

    async fn goodbye(&mut self, end: End) {
        let Heartbeat {
            write_deadline,
            close_grace,
            ..
        } = *self.heartbeat;
        finish(&mut self.stream, end, write_deadline, close_grace).await;
    }
}

/// Whether an event ends the wait for the answer to a terminal's nickname:
/// the first room joined after the welcome (so that held lines have a room
/// to go to), or a refusal of the nickname or its password.
fn answers_hello(msg: &ServerMsg, registered: bool) -> bool {
    match msg {
        ServerMsg::Joined { .. } => registered,
        ServerMsg::Error { code, .. } => {
            !registered
                && matches!(
                    code,
                    ErrorCode::NickTaken
                        | ErrorCode::NickInvalid
                        | ErrorCode::NickRegistered
                        | ErrorCode::AuthFailed
                        | ErrorCode::GuestsNotAllowed
                        | ErrorCode::RateLimited
                        | ErrorCode::StoreFailed
                )
        }
        _ => false,
    }
}

/// Says goodbye with one line, and closes.
async fn finish(stream: &mut TcpStream, end: End, deadline: Duration, close_grace: Duration) {
    let goodbye = match end {
        End::Close(CloseReason::WriteTimeout) | End::Lost(_) => return,
        End::Left => format!("-- bye{EOL}"),
        End::Close(CloseReason::Shutdown) => format!("{GOODBYE}{EOL}"),
        End::Close(reason) => format!("! closing: {}{EOL}", reason.describe()),
    };
    close_with(stream, &goodbye, deadline, close_grace).await;
}

/// When to warn a quiet terminal and when to close it, for an idle limit
/// the caller gives. A line only notes the time; the timer looks when it
/// fires.
struct Quiet {
    heard: Instant,
    warned: bool,
}

/// What the quiet timer found due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuietDue {
    /// Warn the terminal: it is closed this long from now unless it speaks.
    Warn(Duration),
    /// Warned, and still quiet.
    Close,
    /// The terminal spoke since the timer was set.
    Nothing,
}

impl Quiet {
    fn new(now: Instant) -> Self {
        Self {
            heard: now,
            warned: false,
        }
    }

    fn heard(&mut self, now: Instant) {
        self.heard = now;
        self.warned = false;
    }

    fn deadline(&self, idle_after: Duration) -> Instant {
        if self.warned {
            self.heard + idle_after
        } else {
            self.heard + warn_after(idle_after)
        }
    }

    fn due(&mut self, now: Instant, idle_after: Duration) -> QuietDue {
        if now < self.deadline(idle_after) {
            QuietDue::Nothing
        } else if self.warned {
            QuietDue::Close
        } else {
            self.warned = true;
            QuietDue::Warn(idle_after.saturating_sub(warn_after(idle_after)))
        }
    }
}

/// When to warn a quiet terminal: 10 s before the idle limit, or halfway
/// through a limit of 20 s or less.
fn warn_after(idle_after: Duration) -> Duration {
    if idle_after > Duration::from_secs(20) {
        idle_after - Duration::from_secs(10)
    } else {
        idle_after / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_terminals_are_warned_before_the_limit() {
        assert_eq!(warn_after(Duration::from_secs(60)), Duration::from_secs(50));
        assert_eq!(warn_after(Duration::from_secs(2)), Duration::from_secs(1));
    }

    #[test]
    fn a_quiet_terminal_is_warned_then_closed_unless_it_speaks() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let idle = Duration::from_secs(60);
        let mut quiet = Quiet::new(start);
        assert_eq!(quiet.deadline(idle), at(50));
        assert_eq!(quiet.due(at(49), idle), QuietDue::Nothing);
        assert_eq!(
            quiet.due(at(50), idle),
            QuietDue::Warn(Duration::from_secs(10))
        );
        assert_eq!(quiet.deadline(idle), at(60));
        // A line after the warning starts the count again.
        quiet.heard(at(55));
        assert_eq!(quiet.due(at(60), idle), QuietDue::Nothing);
        assert_eq!(quiet.deadline(idle), at(105));
        assert_eq!(
            quiet.due(at(105), idle),
            QuietDue::Warn(Duration::from_secs(10))
        );
        assert_eq!(quiet.due(at(115), idle), QuietDue::Close);
    }
}
