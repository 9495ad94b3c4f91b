//! A lossy link on loopback: a UDP proxy between one client and the server
//! that drops, duplicates and delays datagrams at random, from a seed, so
//! that a failing run can be repeated. `tc netem` is not available on these
//! machines; this plays its part.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic here is a failed test"
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// How the link mistreats datagrams, in each direction.
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    /// Share of datagrams dropped.
    pub loss: f64,
    /// Share of datagrams delivered twice.
    pub duplicate: f64,
    /// Each datagram is delayed by a random time up to this, so that
    /// datagrams overtake each other.
    pub max_delay: Duration,
}

/// What went through the proxy.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub forwarded: u64,
    pub dropped: u64,
    pub duplicated: u64,
}

pub struct LossyLink {
    /// Where the client sends its datagrams.
    pub addr: SocketAddr,
    tally: Arc<Mutex<Tally>>,
    task: JoinHandle<()>,
}

impl LossyLink {
    /// A proxy in front of `server`, for the first client that sends to it.
    pub async fn start(server: SocketAddr, impairment: Impairment, seed: u64) -> Self {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        back.connect(server).await.unwrap();
        let addr = front.local_addr().unwrap();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let fates = Arc::new(Mutex::new(Fates::new(seed, impairment)));
        let task = tokio::spawn({
            let tally = Arc::clone(&tally);
            async move {
                let mut client = None;
                let mut up = vec![0; 2048];
                let mut down = vec![0; 2048];
                loop {
                    tokio::select! {
                        received = front.recv_from(&mut up) => {
                            let Ok((len, from)) = received else { continue };
                            client = Some(from);
                            let datagram = up[..len].to_vec();
                            let fate = fates.lock().unwrap().next();
                            forward(&back, None, datagram, fate, &tally);
                        }
                        received = back.recv(&mut down) => {
                            let (Ok(len), Some(client)) = (received, client) else { continue };
                            let datagram = down[..len].to_vec();
                            let fate = fates.lock().unwrap().next();
                            forward(&front, Some(client), datagram, fate, &tally);
                        }
                    }
                }
            }
        });
        Self { addr, tally, task }
    }

    pub fn tally(&self) -> Tally {
        *self.tally.lock().unwrap()
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What happens to one datagram: each copy's delay, none when dropped.
type Fate = Vec<Duration>;

fn forward(
    socket: &Arc<UdpSocket>,
    to: Option<SocketAddr>,
    datagram: Vec<u8>,
    fate: Fate,
    tally: &Arc<Mutex<Tally>>,
) {
    {
        let mut tally = tally.lock().unwrap();
        match fate.len() {
            0 => tally.dropped += 1,
            1 => tally.forwarded += 1,
            _ => {
                tally.forwarded += 1;
                tally.duplicated += 1;
            }
        }
    }
    for delay in fate {
        let (socket, datagram) = (Arc::clone(socket), datagram.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = match to {
                Some(to) => socket.send_to(&datagram, to).await,
                None => socket.send(&datagram).await,
            };
        });
    }
}

/// The seeded dice.
struct Fates {
    state: u64,
    impairment: Impairment,
}

impl Fates {
    fn new(seed: u64, impairment: Impairment) -> Self {
        Self {
            state: seed,
            impairment,
        }
    }

    /// splitmix64: small, fast and good enough for dice.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn delay(&mut self) -> Duration {
        self.impairment.max_delay.mul_f64(self.unit())
    }

    fn next(&mut self) -> Fate {
        if self.unit() < self.impairment.loss {
            return Vec::new();
        }
        let mut copies = vec![self.delay()];
        if self.unit() < self.impairment.duplicate {
            copies.push(self.delay());
        }
        copies
    }
}
