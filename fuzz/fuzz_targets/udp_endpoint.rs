//! The datagram door's reliable session, two ways.
//!
//! A link: two endpoints, a client and a server, send each other messages
//! over a link the input scripts (datagrams delivered late, out of order,
//! twice or never; the clock stepped by any amount). Each side must receive
//! a prefix of what the other sent, in order, each message once.
//!
//! A stranger: a third endpoint is fed arbitrary datagrams of its own
//! session. It must not panic, must keep its limits, and must not spin.
//!
//! Both ways, every datagram an endpoint asks to send is at most
//! `MAX_DATAGRAM` bytes and one the wire decodes.

#![no_main]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use shared::udp::MAX_DATAGRAM;
use shared::udp::endpoint::{Config, Endpoint};
use shared::udp::wire::{Packet, SessionId};

const SESSION: SessionId = [7; 16];
/// Most datagrams in flight each way before the link drops the oldest.
const LINK_CAPACITY: usize = 256;
/// More datagrams than this from one call site means an endpoint spins.
const SPIN: usize = 10_000;

#[derive(Arbitrary, Debug)]
enum Side {
    Client,
    Server,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A message of about `len` bytes from one side (several chunks when long).
    Send { from: Side, len: u16 },
    /// The `index`th datagram on its way to `to` arrives (and stays on the
    /// link when `again`, to arrive twice).
    Deliver { to: Side, index: u8, again: bool },
    /// The `index`th datagram on its way to `to` is lost.
    Lose { to: Side, index: u8 },
    /// Time passes: milliseconds, or whole minutes when `long`.
    Wait { amount: u16, long: bool },
    /// One side closes.
    Close { side: Side },
    /// A datagram for the stranger; a session datagram gets its session id.
    Stranger { datagram: Vec<u8> },
    /// The stranger sends.
    StrangerSends { len: u16 },
}

#[derive(Arbitrary, Debug)]
struct Script {
    seed: u64,
    ops: Vec<Op>,
}

/// One side of the link and what it has been sent and has received.
struct Peer {
    endpoint: Endpoint,
    /// What the other side sent, in order, for this one to receive.
    expected: Vec<Vec<u8>>,
    received: usize,
    /// Datagrams on their way to this side.
    link: VecDeque<Vec<u8>>,
}

/// A message that says which it is: its number, then filler.
fn message(number: usize, len: u16) -> Vec<u8> {
    let mut bytes = (number as u64).to_be_bytes().to_vec();
    bytes.resize(bytes.len().max(usize::from(len) * 4), number as u8);
    bytes
}

/// Everything `endpoint` has to send now, each datagram checked.
fn transmit(endpoint: &mut Endpoint, now: Instant) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    let mut out = Vec::new();
    while endpoint.poll_transmit(now, &mut out) {
        assert!(
            out.len() <= MAX_DATAGRAM,
            "a datagram of {} bytes",
            out.len()
        );
        assert!(
            Packet::decode(&out).is_ok(),
            "sent what does not decode: {out:?}"
        );
        sent.push(out.clone());
        assert!(sent.len() < SPIN, "endless transmission");
    }
    sent
}

/// Fires the endpoint's timers that are due at `now`. A timer that is due
/// stops being due once handled and what it asks for is sent.
fn run_timers(endpoint: &mut Endpoint, now: Instant) -> Vec<Vec<u8>> {
    let mut sent = transmit(endpoint, now);
    for _ in 0..SPIN {
        match endpoint.poll_timeout() {
            Some(at) if at <= now => {
                endpoint.handle_timeout(now);
                sent.extend(transmit(endpoint, now));
            }
            _ => return sent,
        }
    }
    panic!(
        "a timer stays due at {now:?}: {:?}",
        endpoint.poll_timeout()
    );
}

fn check_received(peer: &mut Peer) {
    while let Some(got) = peer.endpoint.recv() {
        let want = peer.expected.get(peer.received);
        assert_eq!(
            Some(&got),
            want,
            "message {} received out of order, twice or made up",
            peer.received
        );
        peer.received += 1;
    }
}

fn enqueue(link: &mut VecDeque<Vec<u8>>, datagrams: Vec<Vec<u8>>) {
    link.extend(datagrams);
    while link.len() > LINK_CAPACITY {
        link.pop_front();
    }
}

fuzz_target!(|script: Script| {
    let start = Instant::now();
    let mut now = start;
    let config = Config::default();
    // Sized like the real sides: the server accepts what a client may send.
    let mut client = Peer {
        endpoint: Endpoint::new(SESSION, config, now, script.seed),
        expected: Vec::new(),
        received: 0,
        link: VecDeque::new(),
    };
    let mut server = Peer {
        endpoint: Endpoint::new(SESSION, config, now, script.seed.rotate_left(17)),
        expected: Vec::new(),
        received: 0,
        link: VecDeque::new(),
    };
    let mut stranger = Endpoint::new(SESSION, config, now, script.seed ^ 1);
    let mut sent = 0usize;

    for op in script.ops {
        match op {
            Op::Send { from, len } => {
                let (sender, receiver) = match from {
                    Side::Client => (&mut client, &mut server),
                    Side::Server => (&mut server, &mut client),
                };
                let bytes = message(sent, len);
                if sender.endpoint.send(&bytes).is_ok() {
                    receiver.expected.push(bytes);
                    sent += 1;
                }
            }
            Op::Deliver { to, index, again } => {
                let peer = match to {
                    Side::Client => &mut client,
                    Side::Server => &mut server,
                };
                if !peer.link.is_empty() {
                    let index = usize::from(index) % peer.link.len();
                    let datagram = if again {
                        peer.link[index].clone()
                    } else {
                        peer.link.remove(index).unwrap_or_default()
                    };
                    peer.endpoint.handle_datagram(now, &datagram);
                }
            }
            Op::Lose { to, index } => {
                let link = match to {
                    Side::Client => &mut client.link,
                    Side::Server => &mut server.link,
                };
                if !link.is_empty() {
                    let index = usize::from(index) % link.len();
                    link.remove(index);
                }
            }
            Op::Wait { amount, long } => {
                let step = if long {
                    Duration::from_secs(60 * u64::from(amount))
                } else {
                    Duration::from_millis(u64::from(amount))
                };
                now = now.checked_add(step).unwrap_or(now);
            }
            Op::Close { side } => match side {
                Side::Client => client.endpoint.close(now, "bye"),
                Side::Server => server.endpoint.close(now, "bye"),
            },
            Op::Stranger { mut datagram } => {
                if matches!(datagram.first(), Some(0x10..=0x13)) && datagram.len() >= 17 {
                    datagram[1..17].copy_from_slice(&SESSION);
                }
                stranger.handle_datagram(now, &datagram);
            }
            Op::StrangerSends { len } => {
                let _ = stranger.send(&message(0, len));
            }
        }

        let to_server = run_timers(&mut client.endpoint, now);
        let to_client = run_timers(&mut server.endpoint, now);
        enqueue(&mut server.link, to_server);
        enqueue(&mut client.link, to_client);
        check_received(&mut client);
        check_received(&mut server);

        drop(run_timers(&mut stranger, now));
        while let Some(got) = stranger.recv() {
            assert!(
                got.len() <= config.max_message,
                "a message of {} bytes",
                got.len()
            );
        }
    }
});
