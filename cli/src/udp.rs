//! The datagram transport: a UDP session with a Hubbub server, made reliable
//! by `shared::udp`'s state machine (docs/udp.md is the protocol).
//!
//! Opening a session takes two round trips: `hello` (padded, so the server
//! can answer without amplifying) gets a cookie, and `connect` with the
//! cookie gets the session id. Each step is retried with a doubling timeout,
//! since either datagram may be lost.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use shared::udp::{
    Closed, Config, Cookie, Endpoint, MAX_DATAGRAM, Packet, SendError, SessionId, VERSION,
};
use tokio::net::UdpSocket;
use tokio::time::timeout;

use crate::link::{self, Incoming, Link, TaskEnds};

/// Tries for each handshake step; the waits double from the first.
const HANDSHAKE_TRIES: u32 = 6;
const FIRST_WAIT: Duration = Duration::from_millis(250);

/// Largest message the client reassembles: a page of history from the
/// server can be larger than any message a client may send.
const MAX_RECEIVED_MESSAGE: usize = 1024 * 1024;

/// How long closing waits for the server to acknowledge what was sent.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Opens a session with the datagram door at `server` (`host:port`).
pub async fn connect(server: &str) -> anyhow::Result<Link> {
    let addr = tokio::net::lookup_host(server)
        .await
        .with_context(|| format!("cannot resolve {server}"))?
        .next()
        .with_context(|| format!("{server} resolves to no address"))?;
    connect_to(addr).await
}

/// [`connect`] to an address already resolved.
pub async fn connect_to(addr: SocketAddr) -> anyhow::Result<Link> {
    let local: SocketAddr = if addr.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)
        .await
        .context("cannot open a UDP socket")?;
    // Room for a burst from the server (a busy room's history, a flood of
    // arrivals) beyond the system's small default; a datagram the buffer
    // cannot hold is lost and must be sent again. Best effort.
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(1024 * 1024);
    socket
        .connect(addr)
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    let session = handshake(&socket, addr).await?;
    let mut seed = [0; 8];
    getrandom::fill(&mut seed).context("no randomness for the heartbeat jitter")?;
    let config = Config {
        max_message: MAX_RECEIVED_MESSAGE,
        ..Config::default()
    };
    let endpoint = Endpoint::new(session, config, Instant::now(), u64::from_be_bytes(seed));
    let (link, ends) = link::channels();
    tokio::spawn(pump(socket, endpoint, ends));
    Ok(link)
}

async fn handshake(socket: &UdpSocket, addr: SocketAddr) -> anyhow::Result<SessionId> {
    let hello = encode(Packet::Hello { version: VERSION });
    let cookie: Cookie = exchange(socket, addr, &hello, |packet| match packet {
        Packet::Cookie(cookie) => Some(Ok(*cookie)),
        Packet::Refuse(why) => Some(Err(why.to_owned())),
        _ => None,
    })
    .await?;
    let connect = encode(Packet::Connect {
        version: VERSION,
        cookie: &cookie,
    });
    exchange(socket, addr, &connect, |packet| match packet {
        Packet::Accept(session) => Some(Ok(session)),
        Packet::Refuse(why) => Some(Err(why.to_owned())),
        _ => None,
    })
    .await
}

/// Sends `request` until `answer` picks a reply out of what comes back.
async fn exchange<T>(
    socket: &UdpSocket,
    addr: SocketAddr,
    request: &[u8],
    answer: impl Fn(Packet<'_>) -> Option<Result<T, String>>,
) -> anyhow::Result<T> {
    let mut buf = vec![0; MAX_DATAGRAM + 1];
    let mut wait = FIRST_WAIT;
    for _ in 0..HANDSHAKE_TRIES {
        socket
            .send(request)
            .await
            .with_context(|| format!("cannot send to {addr}"))?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let received = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_elapsed) => break,
                Ok(received) => received,
            };
            let len = match received {
                Ok(len) => len,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    bail!(
                        "nothing answers at {addr}: is the Hubbub server running with its datagram door?"
                    )
                }
                Err(error) => return Err(error).context("receiving from the server"),
            };
            let Ok(packet) = Packet::decode(&buf[..len]) else {
                continue;
            };
            match answer(packet) {
                Some(Ok(value)) => return Ok(value),
                Some(Err(why)) => bail!("the server refused the session: {why}"),
                None => {}
            }
        }
        wait *= 2;
    }
    bail!("no answer from {addr} (is it a Hubbub server with its datagram door open?)")
}

/// Runs the session: messages from the link into the state machine, whole
/// messages out of it to the link, datagrams both ways, timers.
async fn pump(socket: UdpSocket, mut endpoint: Endpoint, mut ends: TaskEnds) {
    let mut buf = vec![0; MAX_DATAGRAM + 1];
    let mut out = Vec::with_capacity(MAX_DATAGRAM);
    let mut pending: VecDeque<String> = VecDeque::new();
    let mut closing: Option<Instant> = None;
    let mut close_called = false;
    let why = loop {
        while let Some(message) = pending.front() {
            match endpoint.send(message.as_bytes()) {
                Ok(()) => {}
                Err(SendError::Full) => break,
                Err(SendError::TooLarge { len, max }) => {
                    let notice = format!("not sent: the message is {len} bytes, the most is {max}");
                    let _ = ends.incoming.send(Incoming::Notice(notice)).await;
                }
                Err(SendError::Closed) => pending.clear(),
            }
            pending.pop_front();
        }
        let now = Instant::now();
        while endpoint.poll_transmit(now, &mut out) {
            // A datagram the network refuses is lost like any other; the
            // state machine sends it again.
            let _ = socket.send(&out).await;
        }
        while let Some(message) = endpoint.recv() {
            let text = String::from_utf8_lossy(&message).into_owned();
            if ends.incoming.send(Incoming::Message(text)).await.is_err() {
                endpoint.abort("closed");
            }
        }
        if let Some(closed) = endpoint.closed() {
            break describe(closed);
        }
        let wake = endpoint.poll_timeout();
        tokio::select! {
            received = socket.recv(&mut buf) => match received {
                Ok(len) if len <= MAX_DATAGRAM => {
                    if take_in(&socket, &mut buf, len, &mut endpoint) {
                        break "the server no longer knows this session (it restarted?)".to_owned();
                    }
                }
                // Oversized, or an ICMP error for an earlier datagram: the
                // retransmission timers decide whether the server is gone.
                Ok(_) | Err(_) => {}
            },
            message = ends.outgoing.recv(), if pending.len() < link::QUEUE && closing.is_none() => {
                match message {
                    Some(message) => pending.push_back(message),
                    None => {
                        // The client is done: send what is queued, then close.
                        closing = Some(Instant::now() + CLOSE_WAIT);
                    }
                }
            }
            () = sleep_until(wake), if wake.is_some() => endpoint.handle_timeout(Instant::now()),
            () = sleep_until(closing), if closing.is_some() => {
                endpoint.abort("bye");
            }
        }
        if closing.is_some() && !close_called && pending.is_empty() {
            close_called = true;
            endpoint.close(Instant::now(), "bye");
        }
    };
    // A goodbye of this side's own waits for the server's answer (a round
    // trip, bounded by the state machine), since the program may exit as
    // soon as it is told; the server's goodbye is told at once and answered
    // meanwhile.
    let ours = matches!(endpoint.closed(), Some(Closed::Local));
    if ours {
        linger(&socket, &mut endpoint, &mut buf, &mut out).await;
    }
    let told = ends.incoming.send(Incoming::Closed(why));
    let _ = timeout(Duration::from_secs(1), told).await;
    if !ours {
        linger(&socket, &mut endpoint, &mut buf, &mut out).await;
    }
}

/// Sends the state machine's `close` until it is finished: it repeats the
/// `close` until the server answers, within a few retransmission timeouts,
/// so that the server does not hold a session nobody uses until it expires.
async fn linger(socket: &UdpSocket, endpoint: &mut Endpoint, buf: &mut [u8], out: &mut Vec<u8>) {
    loop {
        let now = Instant::now();
        while endpoint.poll_transmit(now, out) {
            let _ = socket.send(out).await;
        }
        if endpoint.is_finished() {
            return;
        }
        let Some(wake) = endpoint.poll_timeout() else {
            return;
        };
        tokio::select! {
            received = socket.recv(buf) => match received {
                Ok(len) if len <= MAX_DATAGRAM => {
                    if take_in(socket, buf, len, endpoint) {
                        return;
                    }
                }
                Ok(_) | Err(_) => {}
            },
            () = tokio::time::sleep_until(wake.into()) => endpoint.handle_timeout(Instant::now()),
        }
    }
}

/// Hands the state machine the datagram in `buf` and every other one
/// already waiting, before anything is sent back: one acknowledgement then
/// covers a burst. True when the server says it has no such session.
fn take_in(socket: &UdpSocket, buf: &mut [u8], first: usize, endpoint: &mut Endpoint) -> bool {
    let now = Instant::now();
    let mut len = first;
    loop {
        if len <= MAX_DATAGRAM {
            if let Ok(Packet::Unknown(id)) = Packet::decode(&buf[..len])
                && id == endpoint.session()
            {
                return true;
            }
            endpoint.handle_datagram(now, &buf[..len]);
        }
        match socket.try_recv(buf) {
            Ok(next) => len = next,
            Err(_) => return false,
        }
    }
}

fn describe(closed: &Closed) -> String {
    match closed {
        Closed::Local => "closed".to_owned(),
        Closed::ByPeer(reason) => format!("the server closed the session: {reason}"),
        Closed::PeerGone => "the server stopped answering".to_owned(),
        Closed::Expired => "nothing heard from the server for too long".to_owned(),
        Closed::Protocol(why) => format!("protocol error: {why}"),
    }
}

fn encode(packet: Packet<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_DATAGRAM);
    packet.encode(&mut out);
    out
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(wake) => tokio::time::sleep_until(tokio::time::Instant::from_std(wake)).await,
        None => std::future::pending().await,
    }
}
