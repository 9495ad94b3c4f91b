//! The datagram door: `hubbub.v1` over UDP sessions made reliable.
//!
//! Each bound socket has one receive loop (the demultiplexer below). It
//! answers the handshake itself, without keeping anything for a client until
//! the client has proven its address with a [`cookie`], and hands every
//! session datagram to that session's task: the connection driver over the
//! session's wire ([`session`]), which runs the reliability state machine of
//! `shared::udp` and reads messages as the WebSocket door does. docs/udp.md is the protocol.
//!
//! What an unproven source can make the server do is bounded: a `hello` of
//! at least 64 bytes gets a 33-byte cookie, a datagram for a session that
//! does not exist gets a 17-byte `unknown` (every session datagram is at
//! least 29 bytes), and everything else is dropped. No reply is ever larger
//! than the datagram that caused it, and nothing is remembered.

mod cookie;
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use shared::udp::{Cookie, MAX_DATAGRAM, Packet, SessionId, VERSION, wire};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::cookie::Cookies;
use crate::accounts::Accounts;
use crate::config::Heartbeat;
use crate::doors::driver;
use crate::guard::{CapRefusal, Guards};
use crate::hub::Hub;
use crate::store::Store;

/// The socket buffers the door asks for. One socket serves every session,
/// and a burst (a room of hundreds acknowledging one message at once) would
/// overflow the system's default (about 200 KiB, some 300 datagrams) and be
/// dropped before the receive loop sees it. The system caps the request at
/// its maximum (`net.core.rmem_max`).
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Datagrams waiting for a busy session task. Beyond this they are dropped,
/// as a full network queue would drop them: the sender retransmits.
const SESSION_QUEUE: usize = 128;

/// What the datagram door's receive loops share.
#[derive(Clone)]
pub struct Door {
    pub hub: Hub,
    pub guards: Arc<Guards>,
    pub heartbeat: Arc<Heartbeat>,
    pub store: Arc<dyn Store>,
    /// Sign-in and registration.
    pub accounts: Arc<Accounts>,
    pub stop: CancellationToken,
    pub tracker: TaskTracker,
}

impl Door {
    /// Serves every socket, on the tracker, until `stop` is cancelled and
    /// each socket's sessions have said goodbye.
    pub fn start(self, sockets: Vec<UdpSocket>) {
        if sockets.is_empty() {
            return;
        }
        let mut key = [0; 32];
        if let Err(error) = getrandom::fill(&mut key) {
            tracing::error!(%error, "no randomness for the datagram door's cookies; it stays closed");
            return;
        }
        let cookies = Arc::new(Cookies::new(key));
        for socket in sockets {
            let options = socket2::SockRef::from(&socket);
            if let Err(error) = options
                .set_recv_buffer_size(SOCKET_BUFFER)
                .and_then(|()| options.set_send_buffer_size(SOCKET_BUFFER))
            {
                tracing::warn!(door = "udp", %error, "cannot enlarge the socket buffers");
            }
            let demux = Demux {
                socket: Arc::new(socket),
                cookies: Arc::clone(&cookies),
                table: Arc::new(Mutex::new(Table::default())),
                sessions: TaskTracker::new(),
                door: self.clone(),
            };
            self.tracker.spawn(demux.run());
        }
    }
}

/// The sessions of one socket.
#[derive(Default)]
struct Table {
    by_id: HashMap<SessionId, Entry>,
    /// The session each redeemed cookie opened, so that a `connect` sent
    /// again (its `accept` was lost) gets the same session, not a second one.
    by_cookie: HashMap<Cookie, SessionId>,
}

struct Entry {
    peer: SocketAddr,
    cookie: Cookie,
    datagrams: mpsc::Sender<Vec<u8>>,
}

/// A session's place in the table, given up when its task ends.
pub(super) struct Leave {
    table: Arc<Mutex<Table>>,
    id: SessionId,
}

impl Leave {
    fn new(table: Arc<Mutex<Table>>, id: SessionId) -> Self {
        ::metrics::gauge!(crate::metrics::UDP_SESSIONS).increment(1.0);
        Self { table, id }
    }
}

impl Drop for Leave {
    fn drop(&mut self) {
        ::metrics::gauge!(crate::metrics::UDP_SESSIONS).decrement(1.0);
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = table.by_id.remove(&self.id) {
            table.by_cookie.remove(&entry.cookie);
        }
    }
}

struct Demux {
    socket: Arc<UdpSocket>,
    cookies: Arc<Cookies>,
    table: Arc<Mutex<Table>>,
    sessions: TaskTracker,
    door: Door,
}

impl Demux {
    async fn run(self) {
        // One byte more than the largest datagram, to tell an oversized one
        // (which the kernel would truncate to fit) from one that fits.
        let mut buf = vec![0; MAX_DATAGRAM + 1];
        let mut stopping = false;
        loop {
            let received = tokio::select! {
                () = self.door.stop.cancelled(), if !stopping => {
                    stopping = true;
                    self.sessions.close();
                    continue;
                }
                () = self.sessions.wait(), if stopping => break,
                received = self.socket.recv_from(&mut buf) => received,
            };
            match received {
                Ok((len, peer)) if len <= MAX_DATAGRAM => {
                    self.handle(&buf[..len], peer, stopping).await;
                }
                Ok(_) => drop_datagram("oversized"),
                // ICMP errors for earlier sends (a client gone away) surface
                // here on some systems; they concern no one else.
                Err(error) => tracing::debug!(door = "udp", %error, "receive failed"),
            }
        }
    }

    async fn handle(&self, datagram: &[u8], peer: SocketAddr, stopping: bool) {
        if let Some(id) = wire::session_of(datagram) {
            self.route(id, datagram, peer).await;
            return;
        }
        match Packet::decode(datagram) {
            Ok(Packet::Hello { version }) if !stopping => {
                let reply = if version == VERSION {
                    bytes(Packet::Cookie(&self.cookies.issue(peer, SystemTime::now())))
                } else {
                    bytes(Packet::Refuse("unsupported version; this server speaks 1"))
                };
                // The hello was at least HELLO_LEN bytes; both replies are
                // shorter, so this never amplifies.
                debug_assert!(reply.len() <= datagram.len());
                self.send(&reply, peer).await;
            }
            Ok(Packet::Connect { version, cookie }) if !stopping && version == VERSION => {
                if self.cookies.verify(peer, cookie, SystemTime::now()) {
                    self.connect(peer, cookie).await;
                } else {
                    drop_datagram("bad_cookie");
                }
            }
            Ok(_) => drop_datagram("unexpected"),
            Err(_) => drop_datagram("malformed"),
        }
    }

    /// Hands a session datagram to its session, or tells the sender there
    /// is no such session (the server restarted, or the session ended).
    async fn route(&self, id: SessionId, datagram: &[u8], peer: SocketAddr) {
        let queue = {
            let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
            table
                .by_id
                .get(&id)
                .filter(|entry| entry.peer == peer)
                .map(|entry| entry.datagrams.clone())
        };
        match queue {
            Some(queue) => {
                if queue.try_send(datagram.to_vec()).is_err() {
                    drop_datagram("session_busy");
                }
            }
            None => {
                // 17 bytes in answer to at least 29: no amplification. A
                // session is bound to the address that opened it, so a
                // datagram from elsewhere is treated as unknown too.
                self.send(&bytes(Packet::Unknown(id)), peer).await;
                drop_datagram("unknown_session");
            }
        }
    }

    /// Opens a session for a proven address, or answers again for a
    /// `connect` that was already accepted.
    async fn connect(&self, peer: SocketAddr, cookie: &Cookie) {
        let existing = {
            let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
            table.by_cookie.get(cookie).copied()
        };
        if let Some(id) = existing {
            self.send(&bytes(Packet::Accept(id)), peer).await;
            return;
        }
        if !self.door.guards.handshakes.allow(peer.ip()) {
            ::metrics::counter!(crate::metrics::REJECTED_HANDSHAKES, "reason" => "handshake_rate")
                .increment(1);
            tracing::info!(door = "udp", %peer, reason = "handshake_rate", "session refused");
            let reply = Packet::Refuse("too many new sessions from your address; wait a minute");
            self.send(&bytes(reply), peer).await;
            return;
        }
        let permit = match self.door.guards.caps.try_acquire(peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                let message = match refusal {
                    CapRefusal::PerIp(_) => "too many connections from your address",
                    CapRefusal::Total(_) => "the server is full; try again later",
                };
                let reason = refusal.reason();
                ::metrics::counter!(crate::metrics::REJECTED_CONNECTIONS, "reason" => reason)
                    .increment(1);
                tracing::info!(door = "udp", %peer, reason, "session refused");
                self.send(&bytes(Packet::Refuse(message)), peer).await;
                return;
            }
        };
        let mut id: SessionId = [0; 16];
        let mut seed = [0; 8];
        if getrandom::fill(&mut id).is_err() || getrandom::fill(&mut seed).is_err() {
            let reply = Packet::Refuse("the server cannot open sessions now");
            self.send(&bytes(reply), peer).await;
            return;
        }
        let (datagrams, queue) = mpsc::channel(SESSION_QUEUE);
        {
            let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
            table.by_id.insert(
                id,
                Entry {
                    peer,
                    cookie: *cookie,
                    datagrams,
                },
            );
            table.by_cookie.insert(*cookie, id);
        }
        let leave = Leave::new(Arc::clone(&self.table), id);
        let setup = session::Setup {
            id,
            seed: u64::from_be_bytes(seed),
            peer,
            permit,
            socket: Arc::clone(&self.socket),
            datagrams: queue,
            leave,
        };
        let heartbeat = &self.door.heartbeat;
        self.sessions.spawn(driver::serve(Box::new(driver::Start {
            wire: session::DatagramWire::new(setup, heartbeat),
            hub: self.door.hub.clone(),
            rate: self.door.guards.message_rate(),
            store: Arc::clone(&self.door.store),
            accounts: Arc::clone(&self.door.accounts),
            presented: None,
        })));
        self.send(&bytes(Packet::Accept(id)), peer).await;
    }

    async fn send(&self, datagram: &[u8], peer: SocketAddr) {
        if let Err(error) = self.socket.send_to(datagram, peer).await {
            tracing::debug!(door = "udp", %peer, %error, "send failed");
        }
    }
}

fn drop_datagram(reason: &'static str) {
    ::metrics::counter!(crate::metrics::UDP_DROPPED, "reason" => reason).increment(1);
}

fn bytes(packet: Packet<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_DATAGRAM);
    packet.encode(&mut out);
    out
}
