//! Two endpoints over a simulated link that loses, duplicates and reorders
//! datagrams, on a simulated clock: whatever the link does, each side
//! receives exactly what the other sent, in order, once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::jitter::SplitMix64;
use super::*;

const SESSION: SessionId = [3; 16];

/// How the link treats datagrams, each direction on its own.
#[derive(Debug, Clone)]
struct Link {
    /// Per mille of datagrams lost, from side 0 to 1 and from 1 to 0.
    loss: [u64; 2],
    /// Per mille of datagrams that arrive twice.
    duplication: u64,
    /// Every datagram takes this long…
    latency: Duration,
    /// …plus up to this much more, drawn for each one, which reorders them.
    jitter: Duration,
    seed: u64,
}

/// A datagram on its way: when it arrives, a tie-breaker, to which side.
type InTransit = Reverse<(Instant, u64, usize, Vec<u8>)>;

struct Simulation {
    link: Link,
    rng: SplitMix64,
    in_transit: BinaryHeap<InTransit>,
    order: u64,
    endpoints: [Endpoint; 2],
    outbox: [Vec<Vec<u8>>; 2],
    next_to_send: [usize; 2],
    inbox: [Vec<Vec<u8>>; 2],
    now: Instant,
}

impl Simulation {
    fn new(config: Config, link: Link, outbox: [Vec<Vec<u8>>; 2]) -> Self {
        let now = Instant::now();
        let seed = link.seed;
        Simulation {
            rng: SplitMix64::new(seed),
            link,
            in_transit: BinaryHeap::new(),
            order: 0,
            endpoints: [
                Endpoint::new(SESSION, config, now, seed ^ 1),
                Endpoint::new(SESSION, config, now, seed ^ 2),
            ],
            outbox,
            next_to_send: [0, 0],
            inbox: [Vec::new(), Vec::new()],
            now,
        }
    }

    fn carry(&mut self, from: usize, datagram: &[u8]) {
        if self.rng.up_to(999) < self.link.loss[from] {
            return;
        }
        let copies = if self.rng.up_to(999) < self.link.duplication {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter_ns = u64::try_from(self.link.jitter.as_nanos()).unwrap();
            let delay = self.link.latency + Duration::from_nanos(self.rng.up_to(jitter_ns));
            self.order += 1;
            self.in_transit.push(Reverse((
                self.now + delay,
                self.order,
                1 - from,
                datagram.to_vec(),
            )));
        }
    }

    fn done(&self) -> bool {
        self.inbox[0].len() == self.outbox[1].len()
            && self.inbox[1].len() == self.outbox[0].len()
            && self.endpoints.iter().all(Endpoint::is_idle)
    }

    /// Runs until everything is delivered and acknowledged, a side closes,
    /// or the simulated clock passes `limit`.
    fn run(&mut self, limit: Duration) {
        let start = self.now;
        let mut buf = Vec::new();
        loop {
            for side in 0..2 {
                let endpoint = &mut self.endpoints[side];
                while let Some(message) = self.outbox[side].get(self.next_to_send[side]) {
                    match endpoint.send(message) {
                        Ok(()) => self.next_to_send[side] += 1,
                        Err(SendError::Full) => break,
                        Err(error) => panic!("side {side}: {error:?}"),
                    }
                }
                self.inbox[side].extend(std::iter::from_fn(|| endpoint.recv()));
                while self.endpoints[side].poll_transmit(self.now, &mut buf) {
                    let datagram = std::mem::take(&mut buf);
                    self.carry(side, &datagram);
                    buf = datagram;
                }
            }
            if self.done() || self.endpoints.iter().any(|e| e.closed().is_some()) {
                return;
            }
            let next = [
                self.in_transit.peek().map(|Reverse((at, ..))| *at),
                self.endpoints[0].poll_timeout(),
                self.endpoints[1].poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min()
            .expect("an open endpoint always has a timer");
            if next - start > limit {
                return;
            }
            self.now = self.now.max(next);
            while let Some(Reverse((at, ..))) = self.in_transit.peek()
                && *at <= self.now
            {
                let Some(Reverse((_, _, to, datagram))) = self.in_transit.pop() else {
                    break;
                };
                self.endpoints[to].handle_datagram(self.now, &datagram);
            }
            for endpoint in &mut self.endpoints {
                if endpoint.poll_timeout().is_some_and(|at| at <= self.now) {
                    endpoint.handle_timeout(self.now);
                }
            }
        }
    }
}

/// Messages of the given sizes, each with its own bytes.
fn messages(sizes: &[usize], rng: &mut SplitMix64) -> Vec<Vec<u8>> {
    sizes
        .iter()
        .map(|&len| (0..len).map(|_| rng.next_u64() as u8).collect())
        .collect()
}

fn link() -> impl Strategy<Value = Link> {
    (
        0u64..=300,
        0u64..=300,
        0u64..=100,
        1u64..=50,
        0u64..=200,
        any::<u64>(),
    )
        .prop_map(
            |(loss_ab, loss_ba, duplication, latency, jitter, seed)| Link {
                loss: [loss_ab, loss_ba],
                duplication,
                latency: Duration::from_millis(latency),
                jitter: Duration::from_millis(jitter),
                seed,
            },
        )
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..5000, 0..40)
}

proptest! {
    // About a millisecond each in a debug build.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn every_message_arrives_once_in_order_despite_the_link(
        link in link(),
        sizes_a in sizes(),
        sizes_b in sizes(),
    ) {
        // The give-up rules are properties of their own (below, and in the
        // unit tests). Here they would only add noise: at 30 % loss each way
        // a round trip fails 51 % of the time, so over thousands of datagrams
        // nine failures in a row, or a minute of backoff without a datagram
        // getting through, do happen on a link that is still delivering.
        let config = Config {
            max_retries: 64,
            missed_heartbeats: 64,
            max_queued_bytes: 16 * 1024,
            ..Config::default()
        };
        let mut rng = SplitMix64::new(link.seed.rotate_left(17));
        let outbox = [messages(&sizes_a, &mut rng), messages(&sizes_b, &mut rng)];
        let mut sim = Simulation::new(config, link, outbox);
        sim.run(Duration::from_secs(3600));

        for side in 0..2 {
            prop_assert_eq!(sim.endpoints[side].closed(), None, "side {} closed", side);
        }
        prop_assert!(sim.inbox[1] == sim.outbox[0], "0 → 1 differs");
        prop_assert!(sim.inbox[0] == sim.outbox[1], "1 → 0 differs");
        prop_assert!(sim.done(), "not everything acknowledged");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn with_everything_lost_the_peer_is_gone_after_exactly_max_retries_timeouts(
        max_retries in 1u32..=12,
        min_rto_ms in 1u64..=1000,
        sizes_a in proptest::collection::vec(0usize..5000, 1..4),
        seed in any::<u64>(),
    ) {
        // The heartbeat is long so that the expiry (3 heartbeats) cannot come
        // first: 12 timeouts take at most 1 + 2 + … + 32 + 6 × 60 s.
        let config = Config {
            max_retries,
            min_rto: Duration::from_millis(min_rto_ms),
            heartbeat: Duration::from_secs(3600),
            ..Config::default()
        };
        let link = Link {
            loss: [1000, 1000],
            duplication: 0,
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            seed,
        };
        let mut rng = SplitMix64::new(seed);
        let outbox = [messages(&sizes_a, &mut rng), Vec::new()];
        let mut sim = Simulation::new(config, link, outbox);
        sim.run(Duration::from_secs(3600));

        let sender = &sim.endpoints[0];
        prop_assert_eq!(sender.closed(), Some(&Closed::PeerGone));
        prop_assert_eq!(sender.stats().timeouts, u64::from(max_retries));
        prop_assert_eq!(sender.stats().retransmissions, u64::from(max_retries - 1));
        prop_assert_eq!(sim.endpoints[1].closed(), None);
    }
}

/// A burst each way over a link as bad as the end-to-end test's (20 % loss
/// each way, 5 % doubled, up to 20 ms of reordering), for many seeds: every
/// session finishes, and within a minute of simulated time. Each lost
/// retransmission used to wait for the timer, whose backoff outlived the
/// hole it was for; bursts took up to six minutes, and a session could
/// expire while both sides were still trying.
#[test]
fn a_burst_over_a_bad_link_finishes_without_long_stalls() {
    let mut took = Vec::new();
    for seed in 0..256 {
        let link = Link {
            loss: [200, 200],
            duplication: 50,
            latency: Duration::from_millis(1),
            jitter: Duration::from_millis(20),
            seed,
        };
        let mut rng = SplitMix64::new(seed);
        let burst = vec![100; 200];
        let outbox = [messages(&burst, &mut rng), messages(&burst, &mut rng)];
        let mut sim = Simulation::new(Config::default(), link, outbox);
        let start = sim.now;
        sim.run(Duration::from_secs(3600));
        for side in 0..2 {
            assert_eq!(
                sim.endpoints[side].closed(),
                None,
                "seed {seed}: side {side}"
            );
        }
        assert!(sim.done(), "seed {seed}: not everything acknowledged");
        took.push(sim.now - start);
    }
    took.sort();
    let at = |share: f64| took[((took.len() - 1) as f64 * share) as usize];
    println!(
        "200 messages each way: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    assert!(at(1.0) < Duration::from_secs(60), "max {:?}", at(1.0));
}
