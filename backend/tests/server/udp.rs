//! The datagram door, spoken to over real UDP sockets: raw datagrams for
//! the handshake's guarantees, and the `hubbub` client's own transport for
//! chatting with web users, through a lossy link too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic here is a failed test"
)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use cli::link::{Incoming, Link};
use shared::udp::wire::{HELLO_LEN, SESSION_HEADER_LEN};
use shared::udp::{Body, Config, Endpoint, Header, MAX_DATAGRAM, Packet, SessionId, VERSION};
use shared::{ClientMsg, DEFAULT_ROOM, MessageKind, ServerMsg};
use tokio::net::UdpSocket;

use crate::lossy::{Impairment, LossyLink};
use crate::support::{Client, PATIENCE, TestServer, http_get};

/// A bare UDP socket that counts what it sends and receives.
struct Probe {
    socket: UdpSocket,
    sent: usize,
    received: usize,
}

impl Probe {
    async fn new(server: SocketAddr) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(server).await.unwrap();
        Self {
            socket,
            sent: 0,
            received: 0,
        }
    }

    async fn send(&mut self, datagram: &[u8]) {
        self.sent += self.socket.send(datagram).await.unwrap();
    }

    async fn send_packet(&mut self, packet: Packet<'_>) {
        self.send(&encode(packet)).await;
    }

    async fn recv(&mut self) -> Vec<u8> {
        let mut buf = vec![0; 2048];
        let len = tokio::time::timeout(PATIENCE, self.socket.recv(&mut buf))
            .await
            .expect("no datagram from the server")
            .unwrap();
        self.received += len;
        buf.truncate(len);
        buf
    }

    /// A cookie, then a session opened with it.
    async fn open_session(&mut self) -> SessionId {
        let cookie = self.cookie().await;
        self.send_packet(Packet::Connect {
            version: VERSION,
            cookie: &cookie,
        })
        .await;
        match Packet::decode(&self.recv().await) {
            Ok(Packet::Accept(session)) => session,
            other => panic!("the cookie should open a session, got {other:?}"),
        }
    }

    async fn cookie(&mut self) -> [u8; 32] {
        self.send_packet(Packet::Hello { version: VERSION }).await;
        let reply = self.recv().await;
        match Packet::decode(&reply) {
            Ok(Packet::Cookie(cookie)) => *cookie,
            other => panic!("expected a cookie, got {other:?}"),
        }
    }
}

/// The first data datagram of a session, carrying one whole message.
fn first_message(session: SessionId, message: &[u8]) -> Vec<u8> {
    encode(Packet::Session {
        session,
        header: Header {
            seq: 1,
            ack: 0,
            sack: 0,
        },
        body: Body::Data {
            last: true,
            chunk: message,
        },
    })
}

fn encode(packet: Packet<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    packet.encode(&mut out);
    out
}

async fn clients(server: &TestServer) -> u64 {
    let health = http_get(server.addr, "/healthz", &[]).await;
    let json: serde_json::Value = serde_json::from_str(&health.text()).unwrap();
    json["connections"]["clients"].as_u64().unwrap()
}

#[tokio::test]
async fn before_a_client_proves_its_address_the_server_keeps_nothing_and_never_amplifies() {
    let server = TestServer::start().await;
    let mut probe = Probe::new(server.udp_addr).await;

    // Garbage, a hello too short to be answered, a forged cookie, an
    // oversized datagram: none of them gets an answer. The proof is the
    // order of replies: the first thing that comes back answers the valid
    // hello sent after them.
    probe.send(&[]).await;
    probe.send(b"GET / HTTP/1.1\r\n\r\n").await;
    probe.send(&[0x01, VERSION]).await;
    probe
        .send_packet(Packet::Connect {
            version: VERSION,
            cookie: &[7; 32],
        })
        .await;
    probe.send(&vec![0x01; MAX_DATAGRAM + 100]).await;
    let hello = encode(Packet::Hello { version: VERSION });
    assert_eq!(hello.len(), HELLO_LEN);
    probe.send(&hello).await;
    let reply = probe.recv().await;
    assert!(matches!(Packet::decode(&reply), Ok(Packet::Cookie(_))));
    assert!(
        reply.len() <= hello.len(),
        "a cookie of {} bytes answers a hello of {}",
        reply.len(),
        hello.len()
    );

    // Datagrams for sessions that do not exist are told so, in fewer bytes.
    for n in 0..50u8 {
        let session: SessionId = [n; 16];
        let datagram = first_message(session, b"{\"type\":\"rooms\"}");
        probe.send(&datagram).await;
        let reply = probe.recv().await;
        assert_eq!(Packet::decode(&reply), Ok(Packet::Unknown(session)));
        assert!(reply.len() < SESSION_HEADER_LEN);
    }

    assert!(
        probe.received <= probe.sent,
        "the server sent {} bytes to an unproven address that sent {}",
        probe.received,
        probe.sent
    );
    assert_eq!(clients(&server).await, 0, "no session was opened");
}

#[tokio::test]
async fn a_cookie_opens_a_session_only_from_the_address_it_was_given_to() {
    let server = TestServer::start().await;
    let mut alice = Probe::new(server.udp_addr).await;
    let cookie = alice.cookie().await;

    // Mallory saw Alice's cookie on the wire and tries it from her own
    // address: dropped. Her next hello is the first thing answered.
    let mut mallory = Probe::new(server.udp_addr).await;
    mallory
        .send_packet(Packet::Connect {
            version: VERSION,
            cookie: &cookie,
        })
        .await;
    let mallorys = mallory.cookie().await;
    assert_ne!(mallorys, cookie);
    assert_eq!(clients(&server).await, 0);

    // Alice's connect is accepted; sent again (as if the accept were lost)
    // it gets the same session, not a second one.
    let connect = Packet::Connect {
        version: VERSION,
        cookie: &cookie,
    };
    alice.send_packet(connect).await;
    let Ok(Packet::Accept(first)) = Packet::decode(&alice.recv().await) else {
        panic!("the cookie should open a session");
    };
    alice.send_packet(connect).await;
    let Ok(Packet::Accept(again)) = Packet::decode(&alice.recv().await) else {
        panic!("a repeated connect is accepted again");
    };
    assert_eq!(first, again);
    assert_eq!(clients(&server).await, 1);
}

/// A `hubbub` datagram client, through the client crate's transport.
struct UdpUser {
    link: Link,
    /// How long to wait for each message from the server.
    patience: Duration,
}

impl UdpUser {
    async fn hello(server: SocketAddr, nick: &str) -> Self {
        Self::hello_within(server, nick, PATIENCE).await
    }

    /// A user that waits up to `patience` for each message.
    async fn hello_within(server: SocketAddr, nick: &str, patience: Duration) -> Self {
        let link = tokio::time::timeout(patience, cli::udp::connect_to(server))
            .await
            .expect("the handshake took too long")
            .unwrap();
        let mut user = Self { link, patience };
        user.send(&ClientMsg::Hello {
            nick: nick.into(),
            resume: Default::default(),
            auth: None,
        })
        .await;
        user.recv_until(|m| matches!(m, ServerMsg::Welcome { .. }))
            .await;
        user.recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
            .await;
        user
    }

    async fn send(&mut self, msg: &ClientMsg) {
        self.link.outgoing.send(msg.to_json()).await.unwrap();
    }

    async fn recv(&mut self) -> ServerMsg {
        let incoming = tokio::time::timeout(self.patience, self.link.incoming.recv())
            .await
            .expect("nothing from the server in time");
        match incoming {
            Some(Incoming::Message(text)) => ServerMsg::from_json(&text).unwrap(),
            other => panic!("the session ended: {other:?}"),
        }
    }

    async fn recv_until(&mut self, mut wanted: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        loop {
            let msg = self.recv().await;
            if wanted(&msg) {
                return msg;
            }
        }
    }
}

fn say(id: &str, text: &str) -> ClientMsg {
    ClientMsg::Send {
        id: id.into(),
        room: DEFAULT_ROOM.into(),
        text: text.into(),
        kind: MessageKind::Text,
        reply_to: None,
    }
}

/// What one side saw of the lobby: each message's author and text, checked
/// on the way to arrive once and in order (sequence numbers only rise).
#[derive(Default)]
struct Seen {
    last_seq: u64,
    texts: Vec<(String, String)>,
    acked: BTreeSet<String>,
}

impl Seen {
    fn take(&mut self, msg: ServerMsg) {
        match msg {
            ServerMsg::Message(m) => {
                assert!(
                    m.seq > self.last_seq,
                    "message {} after {}: doubled or out of order",
                    m.seq,
                    self.last_seq
                );
                self.last_seq = m.seq;
                self.texts.push((m.nick, m.text));
            }
            // A reader that fell behind gets what it missed as history.
            ServerMsg::History { messages, .. } => {
                for m in messages {
                    self.take(ServerMsg::Message(m));
                }
            }
            ServerMsg::Ack { id, .. } => {
                assert!(self.acked.insert(id.clone()), "ack {id} twice");
            }
            ServerMsg::Error { message, .. } => panic!("refused: {message}"),
            _ => {}
        }
    }

    fn from(&self, nick: &str) -> Vec<&str> {
        self.texts
            .iter()
            .filter(|(author, _)| author == nick)
            .map(|(_, text)| text.as_str())
            .collect()
    }

    fn has(&self, nick: &str, text: &str) -> bool {
        self.texts.iter().any(|(a, t)| a == nick && t == text)
    }
}

#[tokio::test]
async fn web_and_udp_users_chat_through_a_lossy_link_and_nothing_is_lost_or_doubled() {
    const COUNT: usize = 100;
    let server = TestServer::start_with(|config| {
        config.guard.messages_per_second = 10_000.0;
        config.guard.message_burst = 10_000;
    })
    .await;
    let link = LossyLink::start(
        server.udp_addr,
        Impairment {
            loss: 0.2,
            duplicate: 0.05,
            max_delay: Duration::from_millis(20),
        },
        0x5EED_2026,
    )
    .await;
    // At 20 % loss each way a datagram and its acks fail a round trip a
    // third of the time, and each failure doubles the wait (0.2 s, 0.4 s,
    // …): six in a row are a 12 s gap in an otherwise healthy run. So the
    // run has one deadline, not one per message.
    let patience = Duration::from_secs(120);
    let mut web = Client::joined(&server, "webster").await;
    let mut udp = UdpUser::hello_within(link.addr, "datagram", patience).await;
    web.recv_until(|m| matches!(m, ServerMsg::UserJoined { nick, .. } if nick == "datagram"))
        .await;

    // The UDP user types on while reading, through its own handle on the
    // session; the web user's frames go straight to the socket.
    let typing = udp.link.outgoing.clone();
    let udp_typing = tokio::spawn(async move {
        for i in 0..COUNT {
            let msg = say(&format!("u{i}"), &format!("udp {i}"));
            typing.send(msg.to_json()).await.unwrap();
        }
        // A last message from each side closes the run: whatever the link
        // doubled or held back would show before it.
        typing
            .send(say("u-end", "udp end").to_json())
            .await
            .unwrap();
    });
    for i in 0..COUNT {
        web.send(&say(&format!("w{i}"), &format!("web {i}"))).await;
    }
    web.send(&say("w-end", "web end")).await;

    // Both read at once, as real clients do: a client that stops reading
    // stops acknowledging, and its sender waits for it.
    let web_reads = async {
        let mut seen = Seen::default();
        while !(seen.has("datagram", "udp end") && seen.has("webster", "web end")) {
            seen.take(web.recv_within(patience).await);
        }
        seen
    };
    let udp_reads = async {
        let mut seen = Seen::default();
        while !(seen.has("webster", "web end") && seen.has("datagram", "udp end")) {
            seen.take(udp.recv().await);
        }
        seen
    };
    let (at_web, at_udp) =
        tokio::time::timeout(patience, async { tokio::join!(web_reads, udp_reads) })
            .await
            .expect("the users did not see everything in time");
    udp_typing.await.unwrap();

    let expected = |side: &str| -> Vec<String> {
        (0..COUNT)
            .map(|i| format!("{side} {i}"))
            .chain([format!("{side} end")])
            .collect()
    };
    assert_eq!(at_web.from("datagram"), expected("udp"));
    assert_eq!(at_udp.from("webster"), expected("web"));
    assert_eq!(
        at_udp.from("datagram"),
        expected("udp"),
        "the UDP user sees its own messages once"
    );
    // Every UDP message was acknowledged once.
    let wanted: BTreeSet<String> = (0..COUNT)
        .map(|i| format!("u{i}"))
        .chain(["u-end".to_owned()])
        .collect();
    let acked: BTreeSet<String> = at_udp
        .acked
        .iter()
        .filter(|id| id.starts_with('u'))
        .cloned()
        .collect();
    assert_eq!(acked, wanted);

    let tally = link.tally();
    assert!(
        tally.dropped > 10 && tally.duplicated > 0,
        "the link was not lossy: {tally:?}"
    );
}

#[tokio::test]
async fn presence_follows_the_session() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "watcher").await;
    let udp = UdpUser::hello(server.udp_addr, "visitor").await;
    web.recv_until(|m| matches!(m, ServerMsg::UserJoined { nick, .. } if nick == "visitor"))
        .await;
    // The client closes its session: the server hears the `close` and the
    // visitor leaves the room at once.
    drop(udp);
    web.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "visitor"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_datagram_reader_catches_up_without_delaying_others() {
    let server = TestServer::start_with(crate::chat::unthrottled).await;
    let alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    // The sloth stops reading: its client stops acknowledging once its
    // queue is full, and the server's session stops sending.
    let mut sloth = UdpUser::hello(server.udp_addr, "sloth").await;

    let total = 3000; // 12 MB: far more than a session has in flight.
    crate::chat::flood_while_watching(alice, &mut bob, total).await;

    // It reads again: everything, once, in order, live or from the store.
    let mut got: Vec<u64> = Vec::new();
    tokio::time::timeout(PATIENCE * 6, async {
        while got.len() < total {
            match sloth.recv().await {
                ServerMsg::Message(m) => got.push(m.seq),
                ServerMsg::History { messages, .. } => got.extend(messages.iter().map(|m| m.seq)),
                _ => {}
            }
        }
    })
    .await
    .expect("the sloth did not catch up in time");
    assert_eq!(got, (1..=total as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_that_falls_silent_expires_and_leaves_the_room() {
    let server = TestServer::start_with(|config| {
        config.heartbeat.datagram_every = Duration::from_millis(200);
    })
    .await;
    let mut web = Client::joined(&server, "watcher").await;

    // A client opens a session and says hello, then vanishes without a
    // goodbye: it never acknowledges anything again.
    let mut probe = Probe::new(server.udp_addr).await;
    let session = probe.open_session().await;
    let hello = ClientMsg::Hello {
        nick: "ghost".into(),
        resume: Default::default(),
        auth: None,
    }
    .to_json();
    probe.send(&first_message(session, hello.as_bytes())).await;
    web.recv_until(|m| matches!(m, ServerMsg::UserJoined { nick, .. } if nick == "ghost"))
        .await;
    // Three heartbeats (0.6 s) of silence later the session has expired.
    let left = std::time::Instant::now();
    web.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "ghost"))
        .await;
    assert!(
        left.elapsed() >= Duration::from_millis(300),
        "left too soon: {:?}",
        left.elapsed()
    );
    assert_eq!(clients(&server).await, 1, "only the watcher is left");
}

#[tokio::test]
async fn a_datagram_user_replies_reacts_and_sees_a_web_users_reaction() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    let mut udp = UdpUser::hello(server.udp_addr, "dgram").await;
    web.say("w1", "over the datagram door?").await;
    let question = web.next_message().await;
    udp.recv_until(|m| matches!(m, ServerMsg::Message(msg) if msg.seq == question.seq))
        .await;
    udp.send(&ClientMsg::Send {
        id: "u1".into(),
        room: DEFAULT_ROOM.into(),
        text: "yes, reliably".into(),
        kind: MessageKind::Text,
        reply_to: Some(question.seq),
    })
    .await;
    let answer = web.next_message().await;
    assert_eq!(answer.quote.as_deref().map(|q| q.seq), Some(question.seq));
    udp.send(&ClientMsg::React {
        room: DEFAULT_ROOM.into(),
        seq: question.seq,
        emoji: "📡".into(),
        remove: false,
    })
    .await;
    let reaction = web.next_message().await;
    assert_eq!(
        (
            reaction.kind,
            reaction.text.as_str(),
            reaction.nick.as_str()
        ),
        (MessageKind::React, "📡", "dgram")
    );
    // And the web user's reaction reaches the datagram user as a message of
    // the room like any other.
    web.send(&ClientMsg::React {
        room: DEFAULT_ROOM.into(),
        seq: answer.seq,
        emoji: "👍".into(),
        remove: false,
    })
    .await;
    let ServerMsg::Message(theirs) = udp
        .recv_until(|m| matches!(m, ServerMsg::Message(msg) if msg.kind == MessageKind::React && msg.nick == "web"))
        .await
    else {
        unreachable!()
    };
    assert_eq!(theirs.target, Some(answer.seq));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_irc_user_and_a_datagram_user_share_the_lobby() {
    let server = TestServer::start().await;
    let mut udp = UdpUser::hello(server.udp_addr, "dgram").await;
    let mut irc = crate::tcp::Nc::connect_to(server.irc_addr).await;
    irc.line("NICK ircy").await;
    irc.line("USER ircy 0 * :Ircy").await;
    irc.expect(":hubbub 366 ircy #lobby :End of /NAMES list\r\n")
        .await;
    irc.line("PRIVMSG #lobby :over IRC").await;
    let heard = udp
        .recv_until(|m| matches!(m, ServerMsg::Message(msg) if msg.nick == "ircy"))
        .await;
    assert!(matches!(heard, ServerMsg::Message(msg) if msg.text == "over IRC"));
    udp.send(&say("u1", "over datagrams")).await;
    irc.expect(":dgram!dgram@hubbub PRIVMSG #lobby :over datagrams\r\n")
        .await;
}

/// Runs a client's state machine over `socket` until `done` holds: sends
/// what it says to, except the datagrams `lose` picks, and hands it what
/// arrives and its timeouts.
async fn drive(
    endpoint: &mut Endpoint,
    socket: &UdpSocket,
    mut lose: impl FnMut(&[u8]) -> bool,
    mut done: impl FnMut(&mut Endpoint) -> bool,
) {
    let mut out = Vec::new();
    let mut buf = vec![0; 2048];
    tokio::time::timeout(PATIENCE, async {
        loop {
            while endpoint.poll_transmit(std::time::Instant::now(), &mut out) {
                if !lose(&out) {
                    socket.send(&out).await.unwrap();
                }
            }
            if done(endpoint) {
                return;
            }
            let wake = endpoint.poll_timeout();
            tokio::select! {
                len = socket.recv(&mut buf) => {
                    endpoint.handle_datagram(std::time::Instant::now(), &buf[..len.unwrap()]);
                }
                () = async {
                    match wake {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                } => endpoint.handle_timeout(std::time::Instant::now()),
            }
        }
    })
    .await
    .expect("the session did not get there in time");
}

#[tokio::test]
async fn a_goodbye_lost_on_the_way_is_said_again_and_the_user_leaves_at_once() {
    // Heartbeats of 20 s: a session the server never hears close would
    // stay a minute, far beyond the patience of this test.
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "watcher").await;

    let mut probe = Probe::new(server.udp_addr).await;
    let session = probe.open_session().await;
    let mut endpoint = Endpoint::new(session, Config::default(), std::time::Instant::now(), 7);
    let hello = ClientMsg::Hello {
        nick: "leaver".into(),
        resume: Default::default(),
        auth: None,
    };
    endpoint.send(hello.to_json().as_bytes()).unwrap();
    let mut welcomed = false;
    drive(
        &mut endpoint,
        &probe.socket,
        |_| false,
        |endpoint| {
            while let Some(message) = endpoint.recv() {
                let text = String::from_utf8(message).unwrap();
                welcomed |= matches!(ServerMsg::from_json(&text), Ok(ServerMsg::Welcome { .. }));
            }
            welcomed && endpoint.is_idle()
        },
    )
    .await;
    web.recv_until(|m| matches!(m, ServerMsg::UserJoined { nick, .. } if nick == "leaver"))
        .await;

    // The client says goodbye, and the network loses that first `close`.
    endpoint.abort("bye");
    let mut closes_lost = 0;
    let mut closes_sent = 0;
    drive(
        &mut endpoint,
        &probe.socket,
        |datagram| {
            let is_close = matches!(
                Packet::decode(datagram),
                Ok(Packet::Session {
                    body: Body::Close(_),
                    ..
                })
            );
            closes_sent += usize::from(is_close);
            let lose = is_close && closes_lost == 0;
            closes_lost += usize::from(lose);
            lose
        },
        |endpoint| endpoint.is_finished(),
    )
    .await;
    assert_eq!(closes_lost, 1);
    // Said again after a timeout, and then the server's answer finished the
    // client's side: unanswered, it would have said it four times.
    assert_eq!(closes_sent, 2);
    web.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "leaver"))
        .await;
    assert_eq!(clients(&server).await, 1, "only the watcher is left");
}
