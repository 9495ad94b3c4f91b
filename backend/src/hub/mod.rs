//! The hub: rooms, members, nicknames, presence and fan-out.
//!
//! One task owns all of that state (see [`actor`]); nothing else can touch it,
//! so there are no locks and every room sees its events in one order. Doors
//! reach it through a [`Session`], one per connection: requests go in through a
//! bounded channel, and everything the hub says to the connection (replies,
//! errors, other people's messages) comes back through that connection's
//! [`Inbox`] in order.
//!
//! The hub knows nothing of sockets, axum or wire formats. It speaks
//! [`Request`]s in and [`shared::ServerMsg`]s out (wrapped in encode-once
//! [`Outgoing`](crate::outbox::Outgoing) events); each door translates its own
//! wire to requests and the events back to its wire.

mod actor;
mod changes;
mod commit;
mod fanout;
mod moderate;
mod moderation;
mod nicks;
mod reading;
mod room;
mod room_set;
mod rooms;

pub use fanout::{Fanout, LocalFanout};
pub use room_set::RoomSet;
pub use rooms::Rooms;

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use std::net::IpAddr;

use shared::validate;
use shared::{ChatMessage, ClientMsgId, Credentials, MessageKind, Role, Secret, direct_members};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::accounts::{NewSession, Policy, Registration, SignedIn};
use crate::incident::Incident;
use crate::outbox::{self, Closer, Inbox};
use crate::pace::WritePace;
use crate::store::{AccountId, Directory, FileRecord, SecretHash, Snapshot, Store};

/// How many requests may wait for the hub. Doors wait (asynchronously) when it
/// is full, which slows the clients that send, never the ones that read.
const COMMAND_QUEUE: usize = 4096;

/// Identifies one connection for the lifetime of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(u64);

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// Who a `hello` says the client is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials: a guest, or the account of the session a browser's
    /// handshake presented (see [`Peer::presented`]).
    Guest,
    /// Credentials as the client sent them, not checked yet. The connection
    /// driver checks them before the hub sees the `hello`; one that reaches
    /// the hub unchecked is refused.
    Unchecked(Credentials),
    /// Checked: the account, and the session a password sign-in opened (its
    /// token goes back to the client once, in the welcome).
    SignedIn(SignedIn, Option<NewSession>),
}

/// What a moderator does in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moderate {
    Kick {
        nick: String,
        reason: Option<String>,
    },
    Ban {
        nick: String,
        minutes: Option<u32>,
        reason: Option<String>,
    },
    Unban {
        nick: String,
    },
    Mute {
        nick: String,
        minutes: Option<u32>,
        reason: Option<String>,
    },
    Unmute {
        nick: String,
    },
    Slow {
        seconds: u32,
    },
    Topic {
        topic: String,
    },
    Op {
        nick: String,
        role: Role,
    },
}

/// What a connection asks of the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Register with this nickname, then join the default room, or rejoin
    /// the rooms in `resume` (room → last sequence number seen).
    Hello {
        nick: String,
        resume: BTreeMap<String, u64>,
        auth: Auth,
    },
    /// Register with a free guest nickname the hub picks (`guest-7`), for
    /// clients that have no way to choose one before they talk.
    HelloGuest,
    /// Make the guest nickname this connection holds an account, as the
    /// client asked: the driver prepares it ([`Request::Enroll`]); one that
    /// reaches the hub unprepared is refused.
    Register {
        password: Secret,
        invite: Option<Secret>,
    },
    /// A registration the driver prepared (password hashed, session made).
    Enroll(Registration),
    /// End this connection's session, or every session of its account.
    SignOut {
        everywhere: bool,
    },
    Nick {
        nick: String,
    },
    Join {
        room: String,
    },
    Leave {
        room: String,
    },
    Send {
        /// The client's id for this message, echoed in the ack. Doors whose
        /// wire has no ids pass `None`.
        id: Option<ClientMsgId>,
        room: String,
        text: String,
        kind: MessageKind,
        /// The message of the room it answers.
        reply_to: Option<u64>,
    },
    /// A direct message to the user `to`.
    Direct {
        id: Option<ClientMsgId>,
        to: String,
        text: String,
        kind: MessageKind,
        reply_to: Option<u64>,
    },
    /// Replace the text of one's own message `seq` of `room`.
    Edit {
        id: Option<ClientMsgId>,
        room: String,
        seq: u64,
        text: String,
    },
    /// React to message `seq` of `room` with `emoji`, or take it back.
    React {
        room: String,
        seq: u64,
        emoji: String,
        remove: bool,
    },
    /// The account has read `room` up to `seq`.
    Read {
        room: String,
        seq: u64,
    },
    /// What is unread in the client's rooms.
    Unread,
    /// Messages with `q`'s words, in `room` or in every room of the client.
    Search {
        q: String,
        room: Option<String>,
        before: Option<u64>,
    },
    Typing {
        room: String,
    },
    /// The list of rooms and how many are in each.
    Rooms,
    /// A moderator's action in `room`.
    Moderate {
        room: String,
        action: Moderate,
    },
    /// Delete message `seq` of `room`.
    Delete {
        room: String,
        seq: u64,
    },
    /// A page of `room`'s moderation log.
    ModLog {
        room: String,
        before: Option<u64>,
        limit: Option<u32>,
    },
    /// A registration invite code (server operators).
    Invite,
}

impl Request {
    /// Whether the hub answers it with exactly one ack or error: a message
    /// posted with the client's id.
    pub fn awaits_answer(&self) -> bool {
        matches!(
            self,
            Request::Send { id: Some(_), .. } | Request::Direct { id: Some(_), .. }
        )
    }
}

/// Who a connection is, as the door knows it before the `hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub ip: IpAddr,
    /// The account of the session a browser's handshake carried (its
    /// cookie), already checked: a `hello` without credentials signs in to
    /// it.
    pub presented: Option<SignedIn>,
}

/// Who asks something of the HTTP API, as its credentials say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials (or ones that do not sign in).
    Anonymous,
    /// A live session's account.
    Account { account: AccountId, nick: String },
    /// A guest connection's token: the guest is whoever holds it while that
    /// connection lasts.
    Guest(shared::Secret),
}

enum Command {
    Connect {
        id: ClientId,
        outbox: outbox::Outbox,
        peer: Box<Peer>,
    },
    Request {
        id: ClientId,
        request: Request,
    },
    Disconnect {
        id: ClientId,
    },
    /// Announce a shared file (from the HTTP door, which has no session).
    Share {
        share: Share,
        reply: oneshot::Sender<Result<ChatMessage, ShareRefusal>>,
    },
    /// A reader that was behind has read up to `positions` (room → seq).
    CatchUp {
        id: ClientId,
        positions: HashMap<String, u64>,
        reply: oneshot::Sender<bool>,
    },
    /// Register `nick` as an account (from the HTTP door; `guest`: the
    /// token of the guest connection that holds it, if the request has it).
    Register {
        nick: String,
        registration: Registration,
        guest: Option<Secret>,
        reply: oneshot::Sender<Result<SignedIn, RegisterRefusal>>,
    },
    /// Sessions ended over HTTP: close the connections that use them
    /// (`session`: one; `None`: every session of `account`).
    SignedOut {
        account: AccountId,
        session: Option<SecretHash>,
    },
    /// Whether `caller` (from `ip`) may read `room`'s history and files.
    MayRead {
        caller: Caller,
        ip: IpAddr,
        room: String,
        reply: oneshot::Sender<bool>,
    },
    /// Whether `caller` (from `ip`) may share a file in `room` now, asked
    /// before the upload's bytes are read.
    MayShare {
        caller: Caller,
        ip: IpAddr,
        room: String,
        reply: oneshot::Sender<Result<(), ShareRefusal>>,
    },
}

/// An uploaded file to announce in `room` as a message from its uploader:
/// the message's text is the file's name and its attachment the file. The
/// HTTP door sends it on the uploader's behalf: a signed-in uploader need
/// not be connected; a guest is the connection its token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub uploader: Caller,
    /// Where the upload came from (bans of guests are by address).
    pub ip: IpAddr,
    pub room: String,
    pub file: FileRecord,
}

/// Why a file could not be announced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefusal {
    /// No account's session and no connected guest's token.
    #[error(
        "sign in, or connect as a guest, to share files (send your token as Authorization: Bearer)"
    )]
    Unauthorized,
    /// Banned or muted there, or a guest in a room for accounts.
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    NickInvalid(String),
    #[error("{0}")]
    RoomInvalid(String),
    /// The room is a conversation of two others.
    #[error("{room} is a conversation of other people")]
    NotMember { room: String },
    /// Too many messages are on their way to the store.
    #[error("the server is busy storing messages; try again in a moment")]
    Busy,
    #[error("the announcement could not be stored: {0}")]
    Store(Incident),
    /// The hub has stopped (the server is shutting down).
    #[error("the server is shutting down")]
    Stopped,
}

/// Why an account could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterRefusal {
    #[error("{0}")]
    NickInvalid(String),
    #[error("the nickname {0} is registered already; sign in, or choose another")]
    Taken(String),
    /// A guest is using the nickname now.
    #[error("the nickname {0} is in use; register it from that connection, or choose another")]
    InUse(String),
    #[error("that invite code does not register: it is unknown, used or expired")]
    InviteInvalid,
    #[error("the server is busy; try again in a moment")]
    Busy,
    #[error("the account could not be stored: {0}")]
    Store(Incident),
    #[error("the server is shutting down")]
    Stopped,
}

/// Checks who may share a file where, without asking the hub: a valid
/// nickname, and a valid room, or a conversation that nickname is one of
/// the two of. Returns the nickname normalized and the room's canonical
/// name. The hub asks before it posts an upload.
pub fn check_share(nick: &str, room: &str) -> Result<(String, String), ShareRefusal> {
    let nick =
        validate::normalize_nick(nick).map_err(|e| ShareRefusal::NickInvalid(e.to_string()))?;
    let room = match direct_members(room) {
        Some((a, b)) => {
            let me = nick.to_lowercase();
            if a != me && b != me {
                return Err(ShareRefusal::NotMember {
                    room: room.to_owned(),
                });
            }
            room.to_owned()
        }
        None => {
            validate::normalize_room(room).map_err(|e| ShareRefusal::RoomInvalid(e.to_string()))?
        }
    };
    Ok((nick, room))
}

/// What the hub starts from: the stores, and what they hold that the hub
/// keeps in memory.
pub struct Stores {
    pub messages: Arc<dyn Store>,
    /// The latest sequence number of every room.
    pub heads: HashMap<String, u64>,
    pub directory: Arc<dyn Directory>,
    /// Accounts, roles, room settings, bans and mutes.
    pub snapshot: Snapshot,
    pub policy: Arc<Policy>,
}

/// How the hub treats its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a reader may stay behind the live messages before it is
    /// closed as slow.
    pub max_lag: Duration,
    /// The write budget every connection's inbox shares (see [`crate::pace`]).
    pub writes_per_second: u32,
    /// How long after sending a message its author may edit it (zero: not
    /// at all).
    pub edit_window: Duration,
}

/// A cloneable handle to the hub, held by the doors.
#[derive(Clone)]
pub struct Hub {
    commands: mpsc::Sender<Command>,
    /// Connected clients, kept by the hub task for `/healthz`.
    clients: Arc<AtomicUsize>,
    next_id: Arc<AtomicU64>,
    /// Parent of every connection's closer: cancelling it closes them all.
    connections: CancellationToken,
    /// The write budget every connection's inbox shares.
    pace: Arc<WritePace>,
}

impl Hub {
    /// Starts the hub task on `store`, whose rooms' latest sequence numbers
    /// are `heads`, handing committed messages to `fanout`. Cancelling
    /// `shutdown` closes every connection; the task itself ends once every
    /// `Hub` and `Session` handle is dropped, after the messages still on
    /// their way to the store are answered.
    pub fn spawn(
        shutdown: &CancellationToken,
        stores: Stores,
        settings: Settings,
        fanout: Box<dyn Fanout>,
    ) -> (Hub, JoinHandle<()>) {
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let clients = Arc::new(AtomicUsize::new(0));
        let pace = Arc::new(WritePace::new(settings.writes_per_second));
        let Stores {
            messages,
            heads,
            directory,
            snapshot,
            policy,
        } = stores;
        let commits = commit::Commits::new(messages, directory, Arc::clone(&pace));
        let state = actor::State::new(actor::Setup {
            commits,
            fanout,
            heads,
            max_lag: settings.max_lag,
            edit_window: settings.edit_window,
            snapshot,
            policy,
        });
        let task = tokio::spawn(actor::run(receiver, Arc::clone(&clients), state));
        let hub = Hub {
            commands,
            clients,
            next_id: Arc::new(AtomicU64::new(1)),
            connections: shutdown.clone(),
            pace,
        };
        (hub, task)
    }

    /// How many clients are connected, from every door.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Posts `share` to its room like any message (numbered, committed,
    /// broadcast) and returns the message once it is committed.
    pub async fn share(&self, share: Share) -> Result<ChatMessage, ShareRefusal> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Share { share, reply })
            .await
            .map_err(|_| ShareRefusal::Stopped)?;
        answer.await.unwrap_or(Err(ShareRefusal::Stopped))
    }

    /// Registers `nick` as an account with a prepared registration, unless
    /// it is registered already or a guest uses it now (but for the guest
    /// whose `guest` token the request carries: its connection is signed in
    /// to the new account, with the same session); returns the account,
    /// signed in to its first session.
    pub async fn register(
        &self,
        nick: String,
        registration: Registration,
        guest: Option<Secret>,
    ) -> Result<SignedIn, RegisterRefusal> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Register {
                nick,
                registration,
                guest,
                reply,
            })
            .await
            .map_err(|_| RegisterRefusal::Stopped)?;
        answer.await.unwrap_or(Err(RegisterRefusal::Stopped))
    }

    /// Closes the connections signed in with sessions that were just ended
    /// (`session`, or every session of `account`).
    pub async fn signed_out(&self, account: AccountId, session: Option<SecretHash>) {
        let _ = self
            .commands
            .send(Command::SignedOut { account, session })
            .await;
    }

    /// Whether `caller`, from `ip`, may read `room`'s history and files: a
    /// conversation only its two users, a room whoever it admits.
    pub async fn may_read(&self, caller: Caller, ip: IpAddr, room: String) -> bool {
        let (reply, answer) = oneshot::channel();
        let asked = self
            .commands
            .send(Command::MayRead {
                caller,
                ip,
                room,
                reply,
            })
            .await;
        asked.is_ok() && answer.await.unwrap_or(false)
    }

    /// Whether `caller`, from `ip`, may share a file in `room` now (signed
    /// in or a connected guest, admitted, not banned or muted there): the
    /// same checks [`share`](Self::share) makes, before the bytes are read.
    pub async fn may_share(
        &self,
        caller: Caller,
        ip: IpAddr,
        room: String,
    ) -> Result<(), ShareRefusal> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::MayShare {
                caller,
                ip,
                room,
                reply,
            })
            .await
            .map_err(|_| ShareRefusal::Stopped)?;
        answer.await.unwrap_or(Err(ShareRefusal::Stopped))
    }

    /// Registers a new connection. Returns `None` if the hub has stopped.
    pub async fn connect(&self, peer: Peer) -> Option<(Session, Inbox)> {
        let id = ClientId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (outbox, inbox) = outbox::outbox(&self.connections, &self.pace);
        let closer = outbox.closer().clone();
        self.commands
            .send(Command::Connect {
                id,
                outbox,
                peer: Box::new(peer),
            })
            .await
            .ok()?;
        let session = Session {
            id,
            commands: self.commands.clone(),
            closer,
            disconnected: false,
        };
        Some((session, inbox))
    }
}

/// One connection's handle to the hub. Dropping it disconnects the client;
/// [`Session::disconnect`] does the same but waits for room in the hub's queue.
pub struct Session {
    id: ClientId,
    commands: mpsc::Sender<Command>,
    closer: Closer,
    disconnected: bool,
}

impl Session {
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// Closes this connection from the door's side (oversized frame, protocol
    /// error); the hub closes it through the same [`Closer`] when it is slow.
    pub fn closer(&self) -> &Closer {
        &self.closer
    }

    /// Hands a request to the hub. Its answer arrives through the inbox.
    ///
    /// The request is queued when this is called if the queue has room, as it
    /// almost always has; only a full queue makes the returned future wait.
    /// That rare wait is boxed: kept inline, a `send` future holding the
    /// request would size every connection's task (560 bytes), idle or not.
    pub fn request(&self, request: Request) -> impl Future<Output = ()> + Send + '_ {
        let command = Command::Request {
            id: self.id,
            request,
        };
        self.enqueue(command)
    }

    /// Hands a request to the hub now if its queue has room, as it almost
    /// always has; otherwise gives back the wait for room, which owns what it
    /// needs, so that the connection goes on writing (its own acks among the
    /// events) while the hub catches up, and stops reading meanwhile.
    pub fn request_or_wait(&self, request: Request) -> Option<QueueWait> {
        let command = Command::Request {
            id: self.id,
            request,
        };
        match self.commands.try_send(command) {
            Err(mpsc::error::TrySendError::Full(command)) => {
                let commands = self.commands.clone();
                Some(Box::pin(async move {
                    let _ = commands.send(command).await;
                }))
            }
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => None,
        }
    }

    /// Queues a command now if there is room, or returns the wait for it.
    /// A closed queue means the hub has stopped, which only happens at
    /// shutdown, when the connection is closing anyway.
    fn enqueue(&self, command: Command) -> impl Future<Output = ()> + Send + '_ {
        let waiting = match self.commands.try_send(command) {
            Err(mpsc::error::TrySendError::Full(command)) => {
                Some(Box::pin(self.commands.send(command)))
            }
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => None,
        };
        async move {
            if let Some(wait) = waiting {
                let _ = wait.await;
            }
        }
    }

    /// Tells the hub how far a reader that was behind has read; resolves to
    /// true when that is everything, and live room events flow to it again.
    /// The future owns what it needs, so that the connection goes on
    /// writing the events that still reach it (its acks) while it waits for
    /// room in the hub's queue and for the answer.
    pub fn catch_up(&self, positions: HashMap<String, u64>) -> CatchUpWait {
        let commands = self.commands.clone();
        let id = self.id;
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let asked = commands
                .send(Command::CatchUp {
                    id,
                    positions,
                    reply,
                })
                .await;
            asked.is_ok() && answer.await.unwrap_or(false)
        })
    }

    /// Leaves every room and frees the nickname. Once is enough: a second
    /// call does nothing.
    pub async fn disconnect(&mut self) {
        if self.disconnected {
            return;
        }
        self.disconnected = true;
        self.enqueue(Command::Disconnect { id: self.id }).await;
    }
}

/// A request waiting for room in the hub's queue: done once it is queued
/// (or the hub has stopped). It owns what it needs (a clone of the queue's
/// sender), so a connection keeps it beside its other work.
pub type QueueWait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A reader's question whether it has caught up: see [`Session::catch_up`].
pub type CatchUpWait = Pin<Box<dyn Future<Output = bool> + Send>>;

impl Drop for Session {
    fn drop(&mut self) {
        if !self.disconnected {
            // A connection task that ended without `disconnect` (it was
            // cancelled) still leaves. Should the queue be full, the hub
            // notices the closed outbox at the next event for this client.
            let _ = self.commands.try_send(Command::Disconnect { id: self.id });
        }
    }
}
