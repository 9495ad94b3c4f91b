//! One terminal connection, served by one task.
//!
//! Like a WebSocket connection, the task waits on the closer (shutdown, slow
//! reader), the idle timer, the hub's events (written in batches, one write
//! per batch, each with a deadline) and the socket. It keeps what a terminal
//! needs and the hub does not tell it on request: the current room (the last
//! one joined) and each room's online list, for `/who`.
//!
//! A terminal sends no pings, so only its lines prove life: after a quiet
//! spell it is warned, and closed if it stays quiet.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::line::{self, EOL, Input};
use shared::{DEFAULT_ROOM, ErrorCode, MessageKind, ServerMsg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

use super::MAX_LINE_BYTES;
use super::lines::{Line, LineReader};
use crate::config::Heartbeat;
use crate::doors::meter::Meter;
use crate::doors::recall::Recall;
use crate::guard::{MessageRate, Permit, Verdict};
use crate::hub::{Door, Hub, Request, Session};
use crate::outbox::{CloseReason, Inbox, KEPT_BATCH, Outgoing};
use crate::store::Store;

/// Most events written in one batch.
const MAX_BATCH: usize = 64;
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4 * 1024;
/// What a terminal is asked before anything else.
const PROMPT: &str = "nickname: ";
/// The last words to everyone at shutdown.
pub(super) const GOODBYE: &str = "* server shutting down; bye";

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Close(CloseReason),
    /// The user typed `/quit`.
    Quit,
    /// The peer closed the connection or it broke.
    PeerGone,
}

pub(super) struct Peer {
    pub addr: SocketAddr,
    /// The connection's place under the caps, released when the task ends.
    pub permit: Permit,
}

/// What the connection knows about its user.
#[derive(Default)]
struct Term {
    registered: bool,
    /// Where plain lines go: the last room joined.
    current: Option<String>,
    /// The rooms the user is in, with their online lists.
    rooms: BTreeMap<String, Vec<String>>,
}

impl Term {
    /// Follows an event about to be written; returns lines of its own to
    /// write after it.
    fn observe(&mut self, msg: &ServerMsg) -> Option<String> {
        match msg {
            ServerMsg::Welcome { .. } => self.registered = true,
            ServerMsg::Joined { room, members, .. } => {
                self.rooms.insert(room.clone(), members.clone());
                // A direct conversation someone opens does not take over
                // the current room; /msg is how to talk there.
                if !room.starts_with('@') {
                    self.current = Some(room.clone());
                }
            }
            ServerMsg::Left { room } => {
                self.rooms.remove(room);
                if self.current.as_deref() == Some(room) {
                    self.current = self
                        .rooms
                        .keys()
                        .find(|r| r.as_str() == DEFAULT_ROOM)
                        .or_else(|| self.rooms.keys().find(|r| !r.starts_with('@')))
                        .cloned();
                    return Some(match &self.current {
                        Some(room) => format!("-- now talking in [{room}]{EOL}"),
                        None => format!("-- you are in no room; /join ROOM{EOL}"),
                    });
                }
            }
            ServerMsg::UserJoined { room, nick } => {
                if let Some(members) = self.rooms.get_mut(room)
                    && !members.contains(nick)
                {
                    members.push(nick.clone());
                }
            }
            ServerMsg::UserLeft { room, nick } => {
                if let Some(members) = self.rooms.get_mut(room) {
                    members.retain(|m| m != nick);
                }
            }
            ServerMsg::Members { room, members } => {
                if let Some(known) = self.rooms.get_mut(room) {
                    known.clone_from(members);
                }
            }
            ServerMsg::NickChanged { old, new, .. } => {
                for members in self.rooms.values_mut() {
                    for member in members.iter_mut().filter(|m| *m == old) {
                        member.clone_from(new);
                    }
                }
            }
            ServerMsg::Error {
                code: ErrorCode::NickTaken | ErrorCode::NickInvalid,
                ..
            } if !self.registered => return Some(PROMPT.to_owned()),
            _ => {}
        }
        None
    }

    /// The room plain lines go to, or the error to show.
    fn room(&self) -> Result<String, String> {
        self.current
            .clone()
            .ok_or_else(|| "you are in no room; /join ROOM".to_owned())
    }
}

pub(super) async fn serve(
    mut stream: TcpStream,
    peer: Peer,
    hub: Hub,
    heartbeat: Heartbeat,
    mut rate: MessageRate,
    store: Arc<dyn Store>,
    public_url: Arc<str>,
) {
    let Some((session, mut inbox)) = hub.connect(Door::Terminal).await else {
        return;
    };
    drop(hub);
    let Peer {
        addr: peer,
        permit: _permit,
    } = peer;
    let _ = stream.set_nodelay(true);
    let client = session.id();
    let meter = Meter::new("tcp");
    tracing::info!(door = "tcp", %peer, %client, "connection opened");

    let closer = session.closer().clone();
    let mut recall = Recall::new(store);
    let mut term = Term::default();
    let mut reader = LineReader::new(MAX_LINE_BYTES);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut lines = Vec::new();
    let mut batch: Vec<Arc<Outgoing>> = Vec::new();
    let warn_after = warn_after(heartbeat.idle_after);
    let idle = sleep(warn_after);
    tokio::pin!(idle);
    let mut warned = false;

    let banner = format!(
        "Hubbub {} terminal chat. Times are UTC. /help lists the commands.{EOL}{PROMPT}",
        env!("CARGO_PKG_VERSION")
    );
    let mut end = write(&mut stream, &banner, heartbeat).await;

    while end.is_none() {
        end = tokio::select! {
            () = closer.closed() => Some(End::Close(closer.reason())),
            () = &mut idle => {
                if warned {
                    Some(End::Close(CloseReason::Idle))
                } else {
                    warned = true;
                    let left = heartbeat.idle_after.saturating_sub(warn_after);
                    idle.as_mut().reset(Instant::now() + left);
                    let warning = format!(
                        "! idle: closing in {} s unless you type something{EOL}",
                        left.as_secs().max(1)
                    );
                    write(&mut stream, &warning, heartbeat).await
                }
            }
            received = inbox.recv_paced(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    Some(End::Close(CloseReason::Shutdown))
                } else {
                    recall.expand(&mut batch).await;
                    let out = render(&batch, &mut term, &public_url);
                    meter.sent(&batch);
                    batch.clear();
                    batch.shrink_to(KEPT_BATCH);
                    match write(&mut stream, &out, heartbeat).await {
                        None if inbox.needs_catch_up() => loop {
                            // Behind: catch up from the store (see `Recall::settled`).
                            let pages = recall.missed().await;
                            let wrote = !pages.is_empty();
                            let written = write(&mut stream, &render(&pages, &mut term, &public_url), heartbeat).await;
                            if written.is_some() || recall.settled(&session, wrote).await {
                                break written;
                            }
                        },
                        written => written,
                    }
                }
            }
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => Some(End::PeerGone),
                Ok(n) => {
                    idle.as_mut().reset(Instant::now() + warn_after);
                    warned = false;
                    reader.feed(&chunk[..n], &mut lines);
                    let mut out = String::new();
                    let mut ended = None;
                    for line in lines.drain(..) {
                        meter.received();
                        let handled = match line {
                            Line::Text(text) => {
                                handle(&text, &session, &mut rate, &mut recall, &term, &public_url).await
                            }
                            Line::TooLong => Ok(format!(
                                "! line too long: at most {MAX_LINE_BYTES} bytes; it was not sent{EOL}"
                            )),
                            Line::InvalidUtf8 => {
                                Ok(format!("! invalid UTF-8: that line was not sent{EOL}"))
                            }
                        };
                        match handled {
                            Ok(reply) => out.push_str(&reply),
                            Err(end) => {
                                ended = Some(end);
                                break;
                            }
                        }
                    }
                    lines.clear();
                    match write(&mut stream, &out, heartbeat).await {
                        None => ended,
                        written => written,
                    }
                }
            },
        };
    }
    let end = end.unwrap_or(End::PeerGone);

    // Leave the hub first, so that the user's rooms hear at once.
    session.disconnect().await;
    if let End::Close(reason) = end
        && reason.delivers_backlog()
    {
        deliver_backlog(&mut stream, &mut inbox, &mut term, heartbeat, &public_url).await;
    }
    finish(&mut stream, end, heartbeat).await;
    let reason = match end {
        End::Close(reason) => reason.describe(),
        End::Quit => "quit",
        End::PeerGone => "connection lost",
    };
    tracing::info!(door = "tcp", %peer, %client, reason, "connection closed");
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

/// Handles one line: requests go to the hub, and what is answered at once
/// (help, `/who`, history, refusals) comes back as lines to write. `Err`
/// ends the connection.
async fn handle(
    text: &str,
    session: &Session,
    rate: &mut MessageRate,
    recall: &mut Recall,
    term: &Term,
    public_url: &str,
) -> Result<String, End> {
    let input = if term.registered {
        line::parse(text)
    } else {
        match line::parse(text) {
            Input::Quit => Input::Quit,
            Input::Blank => return Ok(PROMPT.to_owned()),
            _ => Input::Nick(text.trim()),
        }
    };
    if input == Input::Blank {
        return Ok(String::new());
    }
    match rate.check() {
        Verdict::Allow => {}
        Verdict::Refuse => {
            metrics::counter!(crate::metrics::RATE_LIMITED).increment(1);
            return Ok(lines_of(&[line::error_line(
                "slow down: you are sending too fast; that line was not delivered",
            )]));
        }
        Verdict::Disconnect => return Err(End::Close(CloseReason::Flooding)),
    }
    let say = |text: &str, kind| {
        term.room().map(|room| Request::Send {
            id: None,
            room,
            text: text.to_owned(),
            kind,
        })
    };
    let request = match input {
        Input::Nick(nick) if !term.registered => Ok(Request::Hello {
            nick: nick.to_owned(),
            resume: BTreeMap::new(),
        }),
        Input::Say(text) => say(text, MessageKind::Text),
        Input::Me(text) => say(text, MessageKind::Action),
        Input::Nick(nick) => Ok(Request::Nick {
            nick: nick.to_owned(),
        }),
        Input::Join(room) => Ok(Request::Join {
            room: room.to_owned(),
        }),
        Input::Leave(room) => match room {
            Some(room) => Ok(Request::Leave {
                room: room.to_owned(),
            }),
            None => term.room().map(|room| Request::Leave { room }),
        },
        Input::Rooms => Ok(Request::Rooms),
        Input::Msg { to, text } => Ok(Request::Direct {
            id: None,
            to: to.to_owned(),
            text: text.to_owned(),
            kind: MessageKind::Text,
        }),
        Input::Who => {
            return Ok(match term.room() {
                Ok(room) => {
                    let members = term.rooms.get(&room).map_or(&[][..], Vec::as_slice);
                    lines_of(&[line::who_line(&room, members)])
                }
                Err(error) => lines_of(&[line::error_line(&error)]),
            });
        }
        Input::History(n) => {
            let room = match term.room() {
                Ok(room) => room,
                Err(error) => return Ok(lines_of(&[line::error_line(&error)])),
            };
            let limit = u32::try_from(n).ok();
            let pages = recall.older(&room, u64::MAX, limit).await;
            let mut out = String::new();
            let mut any = false;
            for page in &pages {
                if let Some(lines) = line::render(page, public_url) {
                    any = true;
                    out.push_str(&lines);
                }
            }
            if !any {
                out = lines_of(&[format!("-- [{room}] no messages yet")]);
            }
            return Ok(out);
        }
        Input::Help => return Ok(lines_of(line::HELP)),
        Input::Quit => return Err(End::Quit),
        Input::Usage(usage) => return Ok(lines_of(&[format!("! usage: {usage}")])),
        Input::Unknown(name) => {
            return Ok(lines_of(&[line::error_line(&format!(
                "unknown command /{name}; /help lists the commands (//{name} says it)"
            ))]));
        }
        Input::Blank => return Ok(String::new()),
    };
    match request {
        Ok(request) => {
            session.request(request).await;
            Ok(String::new())
        }
        Err(error) => Ok(lines_of(&[line::error_line(&error)])),
    }
}

fn lines_of<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line.as_ref());
        out.push_str(EOL);
    }
    out
}

/// The lines of a batch of events, noting what they change.
fn render(batch: &[Arc<Outgoing>], term: &mut Term, public_url: &str) -> String {
    let mut out = String::new();
    for event in batch {
        if let Some(lines) = event.terminal(public_url) {
            out.push_str(lines);
        }
        if let Some(more) = term.observe(event.msg()) {
            out.push_str(&more);
        }
    }
    out
}

/// Writes under the write deadline; how the connection ends if that failed.
async fn write(stream: &mut TcpStream, out: &str, heartbeat: Heartbeat) -> Option<End> {
    if out.is_empty() {
        return None;
    }
    match timeout(heartbeat.write_deadline, stream.write_all(out.as_bytes())).await {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(End::PeerGone),
        Err(_elapsed) => Some(End::Close(CloseReason::WriteTimeout)),
    }
}

/// Writes what the hub queued for the user before it left.
async fn deliver_backlog(
    stream: &mut TcpStream,
    inbox: &mut Inbox,
    term: &mut Term,
    heartbeat: Heartbeat,
    public_url: &str,
) {
    let mut batch = Vec::new();
    let _ = timeout(heartbeat.write_deadline, async {
        while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let out = render(&batch, term, public_url);
            batch.clear();
            if write(stream, &out, heartbeat).await.is_some() {
                break;
            }
        }
    })
    .await;
}

/// Says goodbye with one line, closes the writing side, and reads what the
/// terminal still sends for a moment, so that unread input does not turn the
/// close into a reset that loses the goodbye.
async fn finish(stream: &mut TcpStream, end: End, heartbeat: Heartbeat) {
    let goodbye = match end {
        End::Close(CloseReason::WriteTimeout) | End::PeerGone => return,
        End::Quit => format!("-- bye{EOL}"),
        End::Close(CloseReason::Shutdown) => format!("{GOODBYE}{EOL}"),
        End::Close(reason) => format!("! closing: {}{EOL}", reason.describe()),
    };
    if write(stream, &goodbye, heartbeat).await.is_some() {
        return;
    }
    let _ = timeout(heartbeat.write_deadline, stream.shutdown()).await;
    let mut sink = [0u8; 1024];
    let _ = timeout(heartbeat.close_grace, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
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
    fn the_current_room_follows_joins_and_leaves() {
        let mut term = Term::default();
        let joined = |room: &str| ServerMsg::Joined {
            room: room.into(),
            members: vec!["me".into()],
            head: 0,
        };
        term.observe(&joined("lobby"));
        term.observe(&joined("rust"));
        assert_eq!(term.room().unwrap(), "rust");
        term.observe(&joined("@a+me"));
        assert_eq!(term.room().unwrap(), "rust", "a conversation is not a room");
        term.observe(&ServerMsg::UserJoined {
            room: "rust".into(),
            nick: "bob".into(),
        });
        assert_eq!(term.rooms["rust"], ["me", "bob"]);
        let note = term.observe(&ServerMsg::Left {
            room: "rust".into(),
        });
        assert_eq!(note.unwrap(), "-- now talking in [lobby]\r\n");
        assert_eq!(term.room().unwrap(), "lobby");
    }
}
