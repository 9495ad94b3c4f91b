//! The endpoint's rules one by one, with the test deciding which datagram
//! arrives when.

use std::time::{Duration, Instant};

use super::*;
use crate::udp::wire::{MAX_CHUNK, MAX_REASON};

const SESSION: SessionId = [7; 16];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn endpoint(config: Config, now: Instant) -> Endpoint {
    Endpoint::new(SESSION, config, now, 42)
}

/// Every datagram the endpoint has to send now.
fn transmit(endpoint: &mut Endpoint, now: Instant) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();
    let mut buf = Vec::new();
    while endpoint.poll_transmit(now, &mut buf) {
        datagrams.push(buf.clone());
        assert!(datagrams.len() < 10_000, "endless transmission");
    }
    datagrams
}

fn deliver(endpoint: &mut Endpoint, now: Instant, datagrams: &[Vec<u8>]) {
    for datagram in datagrams {
        endpoint.handle_datagram(now, datagram);
    }
}

fn received(endpoint: &mut Endpoint) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| endpoint.recv()).collect()
}

/// Header and body of a session datagram.
fn parse(datagram: &[u8]) -> (Header, Body<'_>) {
    match Packet::decode(datagram) {
        Ok(Packet::Session { header, body, .. }) => (header, body),
        other => panic!("not a session datagram: {other:?}"),
    }
}

fn seqs(datagrams: &[Vec<u8>]) -> Vec<u32> {
    datagrams.iter().map(|d| parse(d).0.seq).collect()
}

fn is_data(datagram: &[u8]) -> bool {
    matches!(parse(datagram).1, Body::Data { .. })
}

/// A session datagram built by hand, as a peer could send it.
fn datagram(seq: u32, ack: u32, sack: u32, body: Body<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    Packet::Session {
        session: SESSION,
        header: Header { seq, ack, sack },
        body,
    }
    .encode(&mut out);
    out
}

fn data(seq: u32, last: bool, chunk: &[u8]) -> Vec<u8> {
    datagram(seq, 0, 0, Body::Data { last, chunk })
}

/// Fires every timer due up to `until` and returns what was sent meanwhile.
fn run_timers(endpoint: &mut Endpoint, until: Instant) -> Vec<(Instant, Vec<u8>)> {
    let mut sent = Vec::new();
    while let Some(at) = endpoint.poll_timeout().filter(|&at| at <= until) {
        endpoint.handle_timeout(at);
        sent.extend(transmit(endpoint, at).into_iter().map(|d| (at, d)));
    }
    sent
}

#[test]
fn a_message_crosses_and_is_acknowledged() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    a.send(b"hello").unwrap();
    let out = transmit(&mut a, t0);
    assert_eq!(seqs(&out), [1]);
    assert_eq!(a.stats().in_flight, 1);
    assert!(!a.is_idle());

    deliver(&mut b, t0 + ms(50), &out);
    assert_eq!(received(&mut b), [b"hello".to_vec()]);
    let acks = transmit(&mut b, t0 + ms(50));
    assert_eq!(acks.len(), 1);
    let (header, body) = parse(&acks[0]);
    assert_eq!(body, Body::Ack);
    assert_eq!(
        header,
        Header {
            seq: 0,
            ack: 1,
            sack: 0
        }
    );

    deliver(&mut a, t0 + ms(100), &acks);
    let stats = a.stats();
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.srtt, Some(ms(100)));
    assert_eq!(stats.rto, ms(300)); // 100 + 4 × 50
    assert_eq!(stats.rtt_samples, 1);
    assert!(a.is_idle());
    assert!(
        transmit(&mut a, t0 + ms(100)).is_empty(),
        "an ack is not acked"
    );
}

#[test]
fn acks_ride_on_data() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    a.send(b"ping?").unwrap();
    deliver(&mut b, t0, &transmit(&mut a, t0));
    b.send(b"pong").unwrap();
    let out = transmit(&mut b, t0);
    assert_eq!(out.len(), 1, "the reply carries the ack: {out:?}");
    assert_eq!(
        parse(&out[0]).0,
        Header {
            seq: 1,
            ack: 1,
            sack: 0
        }
    );
}

#[test]
fn retransmission_timer_backs_off_and_clamps() {
    let t0 = Instant::now();
    let config = Config {
        max_rto: secs(5),
        max_retries: 100,
        heartbeat: secs(3600),
        ..Config::default()
    };
    let mut a = endpoint(config, t0);
    a.send(b"x").unwrap();
    transmit(&mut a, t0);
    let mut at = t0;
    let mut gaps = Vec::new();
    for _ in 0..6 {
        let next = a.poll_timeout().unwrap();
        gaps.push(next - at);
        at = next;
        a.handle_timeout(at);
        let again = transmit(&mut a, at);
        assert_eq!(seqs(&again), [1], "the same datagram again");
    }
    assert_eq!(gaps, [secs(1), secs(2), secs(4), secs(5), secs(5), secs(5)]);
    assert_eq!(a.stats().retransmissions, 6);
    assert_eq!(a.stats().rto, secs(5));
}

#[test]
fn karns_rule_no_sample_from_a_retransmitted_datagram() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    a.send(b"x").unwrap();
    transmit(&mut a, t0); // lost
    a.handle_timeout(t0 + secs(1));
    let again = transmit(&mut a, t0 + secs(1));
    deliver(&mut b, t0 + secs(1), &again);
    deliver(
        &mut a,
        t0 + secs(1) + ms(10),
        &transmit(&mut b, t0 + secs(1)),
    );

    let stats = a.stats();
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.rtt_samples, 0);
    assert_eq!(stats.srtt, None);
    assert_eq!(
        stats.rto,
        secs(1),
        "the ack shows the path delivers: the backoff ends, back to the initial timeout"
    );

    // The next datagram, sent once, gives the first sample and ends the backoff.
    let t1 = t0 + secs(2);
    a.send(b"y").unwrap();
    deliver(&mut b, t1, &transmit(&mut a, t1));
    deliver(&mut a, t1 + ms(40), &transmit(&mut b, t1));
    assert_eq!(a.stats().srtt, Some(ms(40)));
    assert_eq!(
        a.stats().rto,
        ms(200),
        "40 + 4 × 20 = 120, raised to the floor"
    );
}

#[test]
fn the_timer_restarts_when_the_cumulative_ack_moves_and_stops_when_all_are_acked() {
    let t0 = Instant::now();
    let config = Config {
        heartbeat: secs(3600),
        ..Config::default()
    };
    let mut a = endpoint(config, t0);
    a.send(b"one").unwrap();
    transmit(&mut a, t0);
    a.send(b"two").unwrap();
    transmit(&mut a, t0 + ms(500));
    assert_eq!(a.poll_timeout(), Some(t0 + secs(1)), "started by the first");
    a.handle_datagram(t0 + ms(600), &datagram(0, 1, 0, Body::Ack));
    // Sample 600 ms: RTO = 600 + 4 × 300 = 1.8 s, from the ack.
    assert_eq!(a.poll_timeout(), Some(t0 + ms(600) + ms(1800)));
    a.handle_datagram(t0 + ms(700), &datagram(0, 2, 0, Body::Ack));
    let next = a.poll_timeout().unwrap();
    let heartbeat = t0 + ms(500) + secs(3600);
    assert!(
        next >= heartbeat - secs(5) && next <= heartbeat + secs(5),
        "only the heartbeat is left: {:?}",
        next - t0
    );
}

#[test]
fn at_most_32_in_flight_the_33rd_waits_for_an_ack() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    let message = vec![9; 33 * MAX_CHUNK];
    a.send(&message).unwrap();
    let first = transmit(&mut a, t0);
    assert_eq!(seqs(&first), (1..=32).collect::<Vec<_>>());
    assert_eq!(a.stats().in_flight, 32);
    assert!(transmit(&mut a, t0 + ms(10)).is_empty());

    // Only the first arrives: its ack opens one place.
    deliver(&mut b, t0 + ms(10), &first[..1]);
    deliver(&mut a, t0 + ms(20), &transmit(&mut b, t0 + ms(10)));
    assert_eq!(seqs(&transmit(&mut a, t0 + ms(20))), [33]);

    // A selective ack of the others does not open more: the oldest one
    // unacknowledged still counts the window from itself.
    let mut c = endpoint(Config::default(), t0);
    c.send(&message).unwrap();
    let first = transmit(&mut c, t0);
    c.handle_datagram(t0 + ms(10), &datagram(0, 0, u32::MAX, Body::Ack));
    assert_eq!(c.stats().in_flight, 1, "only seq 1 is unacknowledged");
    let next = transmit(&mut c, t0 + ms(10));
    assert!(
        next.iter().all(|d| !is_data(d) || parse(d).0.seq == 1),
        "{:?}",
        seqs(&next)
    );
    assert_eq!(first.len(), 32);
}

#[test]
fn fast_retransmit_after_three_later_datagrams_are_acknowledged() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    for text in [&b"one"[..], b"two", b"three", b"four", b"five"] {
        a.send(text).unwrap();
    }
    let out = transmit(&mut a, t0);
    assert_eq!(out.len(), 5);
    // 1 is lost; 2, 3 and 4 arrive, each acknowledged on its own.
    let mut acks = Vec::new();
    for datagram in &out[1..4] {
        b.handle_datagram(t0 + ms(10), datagram);
        acks.extend(transmit(&mut b, t0 + ms(10)));
    }
    assert_eq!(
        acks.iter().map(|d| parse(d).0.sack).collect::<Vec<_>>(),
        [0b1, 0b11, 0b111]
    );
    a.handle_datagram(t0 + ms(20), &acks[0]);
    a.handle_datagram(t0 + ms(20), &acks[1]);
    assert!(
        transmit(&mut a, t0 + ms(20)).is_empty(),
        "two are not enough"
    );
    a.handle_datagram(t0 + ms(20), &acks[2]);
    let again = transmit(&mut a, t0 + ms(20));
    assert_eq!(seqs(&again), [1], "before the timer, which is at 1 s");
    assert_eq!(a.stats().fast_retransmits, 1);
    assert_eq!(a.stats().retransmissions, 1);
    // Once only: more acks of later datagrams do not send it again.
    b.handle_datagram(t0 + ms(30), &out[4]);
    deliver(&mut a, t0 + ms(40), &transmit(&mut b, t0 + ms(30)));
    assert!(transmit(&mut a, t0 + ms(40)).is_empty());

    deliver(&mut b, t0 + ms(50), &again);
    assert_eq!(received(&mut b).len(), 5);
}

#[test]
fn a_lost_retransmission_is_found_by_three_datagrams_sent_after_it() {
    let t0 = Instant::now();
    let mut a = endpoint(Config::default(), t0);
    for n in 1..=8u8 {
        a.send(&[n]).unwrap();
    }
    assert_eq!(seqs(&transmit(&mut a, t0)), (1..=8).collect::<Vec<_>>());
    // 1 is lost; 2, 3 and 4 arrive: 1 goes again.
    a.handle_datagram(t0 + ms(20), &datagram(0, 0, 0b111, Body::Ack));
    for n in 9..=11u8 {
        a.send(&[n]).unwrap();
    }
    let out = transmit(&mut a, t0 + ms(20));
    assert_eq!(seqs(&out), [1, 9, 10, 11], "the retransmission first");

    // The retransmission is lost too. Acks of 5 to 8, sent before it, say
    // nothing about it.
    a.handle_datagram(t0 + ms(30), &datagram(0, 0, 0b111_1111, Body::Ack));
    assert!(transmit(&mut a, t0 + ms(30)).is_empty());
    // 9, 10 and 11 went after it and arrived: it is lost, well before the
    // timer (1 s).
    a.handle_datagram(t0 + ms(40), &datagram(0, 0, 0b11_1111_1111, Body::Ack));
    assert_eq!(seqs(&transmit(&mut a, t0 + ms(40))), [1]);
    assert_eq!(a.stats().fast_retransmits, 2);
    assert_eq!(a.stats().timeouts, 0);
}

#[test]
fn after_a_timeout_the_first_new_ack_resends_everything_outstanding_since() {
    let t0 = Instant::now();
    let config = Config {
        heartbeat: secs(3600),
        ..Config::default()
    };
    let mut a = endpoint(config, t0);
    for n in 1..=5u8 {
        a.send(&[n]).unwrap();
    }
    assert_eq!(transmit(&mut a, t0).len(), 5, "all lost");
    // The timer sends the earliest alone: a peer that is gone gets one
    // datagram per timeout, not the whole window.
    let t1 = a.poll_timeout().unwrap();
    assert_eq!(t1, t0 + secs(1));
    a.handle_timeout(t1);
    assert_eq!(seqs(&transmit(&mut a, t1)), [1]);
    assert_eq!(a.stats().rto, secs(2));

    // It arrives and its ack comes back: the path delivers again, so the
    // rest, outstanding since before the timeout, go at once rather than
    // one per timeout, and the backoff ends.
    a.handle_datagram(t1 + ms(20), &datagram(0, 1, 0, Body::Ack));
    assert_eq!(seqs(&transmit(&mut a, t1 + ms(20))), [2, 3, 4, 5]);
    assert_eq!(a.stats().rto, secs(1));
    assert_eq!(a.stats().timeouts, 1);
}

#[test]
fn the_round_trip_is_taken_from_the_newest_datagram_acknowledged() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    a.send(b"one").unwrap();
    a.send(b"two").unwrap();
    let out = transmit(&mut a, t0);
    // 1 is lost; 2 arrives but its ack is lost.
    deliver(&mut b, t0 + ms(10), &out[1..]);
    transmit(&mut b, t0 + ms(10));
    // The timer resends 1; its arrival makes b acknowledge both. 2 was
    // sent once, but at t0: timing it would count the lost ack's wait as
    // a round trip. The newest datagram acknowledged is the retransmission,
    // which is ambiguous: no sample.
    let t1 = t0 + secs(1);
    a.handle_timeout(t1);
    deliver(&mut b, t1 + ms(10), &transmit(&mut a, t1));
    deliver(&mut a, t1 + ms(20), &transmit(&mut b, t1 + ms(10)));
    assert_eq!(a.stats().in_flight, 0);
    assert_eq!(a.stats().rtt_samples, 0);
    assert_eq!(received(&mut b), [b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn a_duplicate_is_acknowledged_again_and_not_delivered_twice() {
    let t0 = Instant::now();
    let mut b = endpoint(Config::default(), t0);
    let first = data(1, true, b"once");
    b.handle_datagram(t0, &first);
    assert_eq!(received(&mut b), [b"once".to_vec()]);
    assert_eq!(transmit(&mut b, t0).len(), 1);

    b.handle_datagram(t0 + ms(10), &first);
    assert_eq!(received(&mut b), Vec::<Vec<u8>>::new());
    let reack = transmit(&mut b, t0 + ms(10));
    assert_eq!(reack.len(), 1);
    assert_eq!(
        parse(&reack[0]),
        (
            Header {
                seq: 0,
                ack: 1,
                sack: 0
            },
            Body::Ack
        )
    );
    assert_eq!(b.stats().duplicates, 1);

    // A duplicate of one held out of order is not taken twice either.
    let third = data(3, true, b"three");
    b.handle_datagram(t0, &third);
    b.handle_datagram(t0, &third);
    b.handle_datagram(t0, &data(2, true, b"two"));
    assert_eq!(received(&mut b), [b"two".to_vec(), b"three".to_vec()]);
    assert_eq!(b.stats().duplicates, 2);
}

#[test]
fn datagrams_beyond_the_receive_window_are_dropped() {
    let t0 = Instant::now();
    let mut b = endpoint(Config::default(), t0);
    b.handle_datagram(t0, &data(RECV_WINDOW + 1, true, b"far"));
    assert_eq!(b.stats().dropped, 1);
    assert_eq!(b.stats().datagrams_received, 0);
    assert!(transmit(&mut b, t0).is_empty(), "not even acknowledged");

    b.handle_datagram(t0, &data(RECV_WINDOW, true, b"edge"));
    assert_eq!(b.stats().dropped, 1);
    let ack = transmit(&mut b, t0);
    assert_eq!(
        parse(&ack[0]).0,
        Header {
            seq: 0,
            ack: 0,
            sack: 0
        },
        "held beyond the bitmap"
    );

    b.handle_datagram(t0, &data(33, true, b"last bit"));
    let ack = transmit(&mut b, t0);
    assert_eq!(parse(&ack[0]).0.sack, 1 << 31);
}

#[test]
fn datagrams_of_another_session_handshakes_and_garbage_are_dropped() {
    let t0 = Instant::now();
    let mut b = endpoint(Config::default(), t0);
    let mut other = data(1, true, b"not yours");
    other[1] ^= 1;
    let mut accept = Vec::new();
    Packet::Accept(SESSION).encode(&mut accept);
    // An ack of a sequence number never sent.
    let lie = datagram(0, 5, 0, Body::Ack);
    for junk in [other, accept, vec![], vec![0x10; 20], vec![0xff; 100], lie] {
        b.handle_datagram(t0, &junk);
    }
    assert_eq!(b.stats().dropped, 6);
    assert_eq!(b.stats().datagrams_received, 0);
    assert!(transmit(&mut b, t0).is_empty());
    assert_eq!(b.recv(), None);
}

/// Gets an RTT sample of 10 ms, so that the RTO is at its 200 ms floor.
fn warmed_up(config: Config, t0: Instant) -> (Endpoint, Endpoint, Instant) {
    let (mut a, mut b) = (endpoint(config, t0), endpoint(config, t0));
    a.send(b"warm").unwrap();
    deliver(&mut b, t0, &transmit(&mut a, t0));
    deliver(&mut a, t0 + ms(10), &transmit(&mut b, t0));
    assert_eq!(a.stats().rto, ms(200));
    received(&mut b);
    (a, b, t0 + ms(10))
}

#[test]
fn the_peer_is_gone_after_exactly_max_retries_unanswered_timeouts() {
    let t0 = Instant::now();
    let (mut a, _b, now) = warmed_up(Config::default(), t0);
    a.send(b"into the void").unwrap();
    transmit(&mut a, now);
    let mut timeouts = 0;
    while a.closed().is_none() {
        let at = a.poll_timeout().unwrap();
        a.handle_timeout(at);
        timeouts += 1;
        transmit(&mut a, at);
        assert!(timeouts <= 8, "still open after {timeouts} timeouts");
        if a.closed().is_none() {
            assert!(timeouts < 8, "open after the 8th timeout");
        }
    }
    assert_eq!(a.closed(), Some(&Closed::PeerGone));
    assert_eq!(timeouts, 8);
    assert_eq!(a.stats().timeouts, 8);
    assert_eq!(a.stats().retransmissions, 7);
    assert_eq!(a.poll_timeout(), None);
    // 0.2 + 0.4 + … + 25.6 s: under the 60 s expiry.
    assert!(a.stats().rto == ms(25_600));
}

#[test]
fn hearing_from_the_peer_starts_the_retry_count_again() {
    let t0 = Instant::now();
    let config = Config {
        heartbeat: secs(3600),
        ..Config::default()
    };
    let (mut a, _b, now) = warmed_up(config, t0);
    a.send(b"into the void").unwrap();
    transmit(&mut a, now);
    let mut at = now;
    for _ in 0..7 {
        at = a.poll_timeout().unwrap();
        a.handle_timeout(at);
        transmit(&mut a, at);
    }
    // The peer speaks (an ack of nothing new), so the count starts again.
    a.handle_datagram(at, &datagram(0, 1, 0, Body::Ack));
    for _ in 0..7 {
        let at = a.poll_timeout().unwrap();
        a.handle_timeout(at);
        transmit(&mut a, at);
    }
    assert_eq!(a.closed(), None);
    let at = a.poll_timeout().unwrap();
    a.handle_timeout(at);
    assert_eq!(a.closed(), Some(&Closed::PeerGone));
    assert_eq!(a.stats().timeouts, 15);
}

#[test]
fn the_session_expires_after_three_missed_heartbeats() {
    let t0 = Instant::now();
    let mut a = endpoint(Config::default(), t0);
    let sent = run_timers(&mut a, t0 + secs(60) - Duration::from_nanos(1));
    assert_eq!(a.closed(), None);
    // It pinged, and retransmitted the unanswered ping.
    assert!(sent.iter().all(|(_, d)| parse(d).1 == Body::Ping));
    assert!(sent.len() >= 2, "{} datagrams", sent.len());
    assert_eq!(a.poll_timeout(), Some(t0 + secs(60)));
    a.handle_timeout(t0 + secs(60));
    assert_eq!(a.closed(), Some(&Closed::Expired));
    assert_eq!(a.poll_timeout(), None);

    // Hearing anything from the peer moves the expiry.
    let mut a = endpoint(Config::default(), t0);
    a.handle_datagram(t0 + secs(30), &datagram(0, 0, 0, Body::Ack));
    run_timers(&mut a, t0 + secs(89));
    assert_eq!(a.closed(), None);
    run_timers(&mut a, t0 + secs(90));
    assert_eq!(a.closed(), Some(&Closed::Expired));
}

#[test]
fn a_ping_goes_out_after_a_heartbeat_of_silence_with_jitter() {
    let t0 = Instant::now();
    let mut intervals = Vec::new();
    for seed in 0..20 {
        let mut a = Endpoint::new(SESSION, Config::default(), t0, seed);
        let at = a.poll_timeout().unwrap();
        assert!(at >= t0 + secs(15) && at <= t0 + secs(25), "{:?}", at - t0);
        assert!(
            transmit(&mut a, at).is_empty(),
            "nothing before the timer runs"
        );
        a.handle_timeout(at);
        let out = transmit(&mut a, at);
        assert_eq!(out.len(), 1);
        assert_eq!(
            parse(&out[0]),
            (
                Header {
                    seq: 1,
                    ack: 0,
                    sack: 0
                },
                Body::Ping
            )
        );
        assert_eq!(a.stats().pings_sent, 1);
        intervals.push(at - t0);
    }
    intervals.sort();
    intervals.dedup();
    assert!(
        intervals.len() > 10,
        "the jitter spreads heartbeats: {intervals:?}"
    );

    // Sending anything puts the heartbeat off; a ping is acked, not delivered.
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    let first = a.poll_timeout().unwrap();
    a.send(b"news").unwrap();
    deliver(&mut b, t0 + secs(10), &transmit(&mut a, t0 + secs(10)));
    deliver(&mut a, t0 + secs(10), &transmit(&mut b, t0 + secs(10)));
    assert_eq!(a.poll_timeout(), Some(first + secs(10)));
    received(&mut b);
    let at = first + secs(10);
    a.handle_timeout(at);
    deliver(&mut b, at, &transmit(&mut a, at));
    assert_eq!(b.recv(), None);
    deliver(&mut a, at, &transmit(&mut b, at));
    assert!(a.is_idle());
    assert_eq!(a.stats().rtt_samples, 2);
}

/// Carries everything between `a` and `b` without loss until both are quiet.
fn exchange(a: &mut Endpoint, b: &mut Endpoint, now: Instant) -> usize {
    let mut datagrams = 0;
    loop {
        let ab = transmit(a, now);
        let ba = transmit(b, now);
        if ab.is_empty() && ba.is_empty() {
            return datagrams;
        }
        datagrams += ab.iter().filter(|d| is_data(d)).count();
        deliver(b, now, &ab);
        deliver(a, now, &ba);
    }
}

#[test]
fn messages_are_split_at_chunk_boundaries_and_put_back_together() {
    let t0 = Instant::now();
    for (len, chunks) in [
        (0, 1),
        (1, 1),
        (MAX_CHUNK - 1, 1),
        (MAX_CHUNK, 1),
        (MAX_CHUNK + 1, 2),
        (2 * MAX_CHUNK, 2),
        (64 * 1024, (64 * 1024usize).div_ceil(MAX_CHUNK)),
    ] {
        let (mut a, mut b) = (
            endpoint(Config::default(), t0),
            endpoint(Config::default(), t0),
        );
        let message: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        a.send(&message).unwrap();
        assert_eq!(a.queued_bytes(), len.max(1));
        assert_eq!(exchange(&mut a, &mut b, t0), chunks, "{len} bytes");
        assert_eq!(received(&mut b), [message], "{len} bytes");
        assert_eq!(a.queued_bytes(), 0);
    }
}

#[test]
fn the_last_flag_marks_the_final_piece() {
    let t0 = Instant::now();
    let mut a = endpoint(Config::default(), t0);
    a.send(&[1; MAX_CHUNK + 1]).unwrap();
    a.send(&[]).unwrap();
    let out = transmit(&mut a, t0);
    let pieces: Vec<(bool, usize)> = out
        .iter()
        .map(|d| match parse(d).1 {
            Body::Data { last, chunk } => (last, chunk.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(pieces, [(false, MAX_CHUNK), (true, 1), (true, 0)]);
}

#[test]
fn a_message_longer_than_max_message_ends_the_session() {
    let t0 = Instant::now();
    let small = Config {
        max_message: 2000,
        ..Config::default()
    };
    let mut b = endpoint(small, t0);
    b.handle_datagram(t0, &data(1, false, &[0; MAX_CHUNK]));
    assert_eq!(b.closed(), None);
    b.handle_datagram(t0, &data(2, false, &[0; MAX_CHUNK]));
    let reason = "message longer than 2000 bytes";
    assert_eq!(b.closed(), Some(&Closed::Protocol(reason.to_owned())));
    let out = transmit(&mut b, t0);
    assert_eq!(out.len(), 1);
    assert_eq!(parse(&out[0]).1, Body::Close(reason));
    // The peer goes on: it has not heard the close, which goes out again.
    b.handle_datagram(t0, &data(3, true, b""));
    let again = transmit(&mut b, t0);
    assert_eq!(again.len(), 1);
    assert_eq!(parse(&again[0]).1, Body::Close(reason));
    assert_eq!(b.recv(), None);
}

#[test]
fn send_refuses_too_large_full_and_closed() {
    let t0 = Instant::now();
    let config = Config {
        max_queued_bytes: 10_000,
        ..Config::default()
    };
    let (mut a, mut b) = (endpoint(config, t0), endpoint(config, t0));
    let max = config.max_sent_message;
    assert_eq!(
        a.send(&vec![0; max + 1]),
        Err(SendError::TooLarge { len: max + 1, max })
    );
    a.send(&[1; 6000]).unwrap();
    a.send(&[2; 4000]).unwrap();
    assert_eq!(a.queued_bytes(), 10_000);
    assert_eq!(a.send(&[3]), Err(SendError::Full));
    assert_eq!(a.send(&[]), Err(SendError::Full));
    // Sent is not yet acknowledged: still full.
    let out = transmit(&mut a, t0);
    assert_eq!(a.send(&[3]), Err(SendError::Full));
    deliver(&mut b, t0, &out);
    deliver(&mut a, t0, &transmit(&mut b, t0));
    assert_eq!(a.queued_bytes(), 0);
    a.send(&[3]).unwrap();

    a.close(t0, "bye");
    assert_eq!(a.send(&[4]), Err(SendError::Closed));
}

#[test]
fn close_drains_what_was_queued_then_says_close() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    a.send(&[5; 3000]).unwrap();
    a.close(t0, "good night");
    let out = transmit(&mut a, t0);
    assert_eq!(out.len(), 3);
    assert!(
        out.iter().all(|d| is_data(d)),
        "no close before the data is acknowledged"
    );
    assert_eq!(a.closed(), None);
    assert!(a.poll_timeout().is_some());

    deliver(&mut b, t0, &out[..2]);
    deliver(&mut a, t0, &transmit(&mut b, t0));
    assert!(
        transmit(&mut a, t0).is_empty(),
        "one piece is still unacknowledged"
    );
    deliver(&mut b, t0, &out[2..]);
    deliver(&mut a, t0, &transmit(&mut b, t0));
    let close = transmit(&mut a, t0);
    assert_eq!(close.len(), 1);
    assert_eq!(parse(&close[0]).1, Body::Close("good night"));
    assert_eq!(a.closed(), Some(&Closed::Local));
    assert!(!a.is_finished(), "until the peer answers");
    assert!(transmit(&mut a, t0).is_empty(), "one close at a time");

    deliver(&mut b, t0, &close);
    assert_eq!(b.closed(), Some(&Closed::ByPeer("good night".to_owned())));
    assert_eq!(
        received(&mut b),
        [vec![5; 3000]],
        "what was complete is still delivered"
    );
    let answer = transmit(&mut b, t0);
    assert_eq!(answer.len(), 1);
    assert!(matches!(parse(&answer[0]).1, Body::Close(_)));
    deliver(&mut a, t0, &answer);
    assert!(a.is_finished());
    assert_eq!(a.poll_timeout(), None);
    assert!(transmit(&mut a, t0).is_empty());
}

#[test]
fn close_gives_up_draining_after_the_expiry_time() {
    let t0 = Instant::now();
    let config = Config {
        max_retries: 1000,
        ..Config::default()
    };
    let (mut a, mut b, now) = warmed_up(config, t0);
    a.send(b"unheard").unwrap();
    a.close(now, "leaving");
    transmit(&mut a, now);
    // The peer keeps talking, so the session does not expire, but never acks.
    let mut at = now;
    while a.closed().is_none() {
        at = a.poll_timeout().unwrap();
        a.handle_timeout(at);
        b.handle_timeout(at);
        deliver(&mut a, at, &transmit(&mut b, at));
        let out = transmit(&mut a, at);
        if a.closed().is_some() {
            assert_eq!(parse(out.last().unwrap()).1, Body::Close("leaving"));
        }
    }
    assert_eq!(a.closed(), Some(&Closed::Local));
    assert_eq!(at, now + secs(60));
}

#[test]
fn abort_sends_one_close_and_ends_at_once() {
    let t0 = Instant::now();
    let mut a = endpoint(Config::default(), t0);
    a.send(b"never mind").unwrap();
    a.abort(&"x".repeat(MAX_REASON + 10));
    assert_eq!(a.closed(), Some(&Closed::Local));
    assert_eq!(a.poll_timeout(), None);
    assert_eq!(a.send(b"more"), Err(SendError::Closed));
    let out = transmit(&mut a, t0);
    assert_eq!(out.len(), 1);
    assert_eq!(parse(&out[0]).1, Body::Close(&"x".repeat(MAX_REASON)));
    a.abort("again");
    assert!(transmit(&mut a, t0).is_empty());
}

#[test]
fn a_close_from_the_peer_delivers_what_was_complete_first() {
    let t0 = Instant::now();
    let mut b = endpoint(Config::default(), t0);
    b.handle_datagram(t0, &data(1, true, b"whole"));
    b.handle_datagram(t0, &data(2, false, b"half"));
    b.handle_datagram(t0, &datagram(0, 0, 0, Body::Close("bye")));
    assert_eq!(b.closed(), Some(&Closed::ByPeer("bye".to_owned())));
    assert_eq!(received(&mut b), [b"whole".to_vec()]);
    let answer = transmit(&mut b, t0);
    assert_eq!(answer.len(), 1, "the close is answered, nothing else");
    assert!(matches!(parse(&answer[0]).1, Body::Close(_)));
}

#[test]
fn a_lost_close_is_sent_again_until_the_peer_answers() {
    let t0 = Instant::now();
    let (mut a, mut b, now) = warmed_up(Config::default(), t0);
    let rto = a.stats().rto;
    a.abort("bye");
    let lost = transmit(&mut a, now);
    assert_eq!(lost.len(), 1);
    assert_eq!(a.poll_timeout(), Some(now + rto));
    assert!(transmit(&mut a, now + rto - ms(1)).is_empty());

    a.handle_timeout(now + rto);
    let again = transmit(&mut a, now + rto);
    assert_eq!(again.len(), 1);
    assert_eq!(parse(&again[0]).1, Body::Close("bye"));
    deliver(&mut b, now + rto, &again);
    assert_eq!(b.closed(), Some(&Closed::ByPeer("bye".to_owned())));
    deliver(&mut a, now + rto, &transmit(&mut b, now + rto));
    assert!(a.is_finished());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn an_unanswered_close_goes_out_four_times_then_the_endpoint_is_finished() {
    let t0 = Instant::now();
    let (mut a, _b, now) = warmed_up(Config::default(), t0);
    let rto = a.stats().rto;
    a.abort("bye");
    let mut sent_at = Vec::new();
    let mut at = now;
    loop {
        if !transmit(&mut a, at).is_empty() {
            sent_at.push(at - now);
        }
        let Some(next) = a.poll_timeout() else { break };
        at = next;
        a.handle_timeout(at);
    }
    assert_eq!(sent_at, [Duration::ZERO, rto, rto * 3, rto * 7]);
    assert_eq!(at - now, rto * 8);
    assert!(a.is_finished());
}

#[test]
fn the_answering_side_answers_every_repeat_for_a_bounded_time() {
    let t0 = Instant::now();
    let (_a, mut b, now) = warmed_up(Config::default(), t0);
    let close = datagram(0, 0, 0, Body::Close("bye"));
    b.handle_datagram(now, &close);
    assert_eq!(transmit(&mut b, now).len(), 1);
    // The answer was lost: the peer says close again, and again.
    b.handle_datagram(now + ms(300), &close);
    assert_eq!(transmit(&mut b, now + ms(300)).len(), 1);
    b.handle_datagram(now + ms(900), &close);
    assert_eq!(transmit(&mut b, now + ms(900)).len(), 1);
    let until = b.poll_timeout().unwrap();
    b.handle_timeout(until);
    assert!(b.is_finished());
    b.handle_datagram(until, &close);
    assert!(transmit(&mut b, until).is_empty());
}

#[test]
fn running_out_of_sequence_numbers_ends_the_session() {
    let t0 = Instant::now();
    let (mut a, mut b) = (
        endpoint(Config::default(), t0),
        endpoint(Config::default(), t0),
    );
    a.sender.set_next_seq(u64::from(u32::MAX));
    b.receiver.set_ack(u32::MAX - 1);
    a.send(b"the last").unwrap();
    a.send(b"one too many").unwrap();
    let out = transmit(&mut a, t0);
    assert_eq!(seqs(&out), [u32::MAX, 0]);
    assert_eq!(parse(&out[1]).1, Body::Close("sequence numbers exhausted"));
    assert_eq!(
        a.closed(),
        Some(&Closed::Protocol("sequence numbers exhausted".to_owned()))
    );

    deliver(&mut b, t0, &out[..1]);
    assert_eq!(received(&mut b), [b"the last".to_vec()]);
    let ack = transmit(&mut b, t0);
    assert_eq!(parse(&ack[0]).0.ack, u32::MAX);
    // Nothing can follow the last number: whatever comes is a duplicate.
    b.handle_datagram(t0, &data(1, true, b"wrapped"));
    assert_eq!(b.stats().duplicates, 1);
    assert_eq!(b.recv(), None);
}
