//! How often a busy connection writes to its socket.
//!
//! A write costs the server about the same whatever it carries: on this
//! project's benchmark machine about 5 µs of kernel time for the system call,
//! TCP and (on loopback) the receiving side, against about 0.2 µs for each
//! event in it. A room of 100 under a flood commits a group of messages
//! every millisecond or so, and writing each group to every member as soon as
//! it is committed spends most of a core on the writes themselves.
//!
//! So the connections share a budget of writes a second. A connection that
//! wrote less than `busy writers / budget` ago waits for the rest of that
//! interval before it writes again, and what arrives meanwhile goes out in
//! the same write. A conversation of a few people never waits (a handful of
//! writers share a budget of tens of thousands a second); a flooded room of
//! 100 waits about 2 ms between writes, one of 1,000 about 20 ms, and the
//! total stays near the budget however many rooms are busy.
//!
//! Writers are counted per window of [`WINDOW`]: a connection counts itself
//! once in each window in which it writes, and the interval is taken from
//! the larger of the current window's count and the last one's, so that the
//! count does not drop to zero each time a window begins.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Writes a second that busy connections share, by default
/// (`limits.writes_per_second`). About a quarter of a core's worth of writes
/// on the benchmark machine: docs/benchmarks.md shows what other budgets
/// cost in CPU and latency.
pub const WRITES_PER_SECOND: u32 = 50_000;

/// The longest a connection ever waits between writes, however many are
/// busy: beyond this the wait would be felt, and batches are already large.
pub const MAX_INTERVAL: Duration = Duration::from_millis(25);

/// The interval between writes from which messages wait a little for company
/// before their commit (see [`WritePace::commit_patience`]): 500 busy
/// connections at the default budget.
pub const PATIENT_FROM: Duration = Duration::from_millis(10);

/// How long a connection's write keeps it counted as busy. Longer than
/// [`MAX_INTERVAL`], so that every busy connection writes in every window.
const WINDOW: Duration = Duration::from_millis(100);

/// Bits of the packed window state that hold the count.
const COUNT_BITS: u32 = 24;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// The shared budget, one per server.
#[derive(Debug)]
pub struct WritePace {
    started: Instant,
    budget: u32,
    /// The current window's number and how many connections wrote in it,
    /// packed so that both change in one atomic step.
    current: AtomicU64,
    /// How many connections wrote in the window before the current one.
    previous: AtomicU64,
}

/// One connection's place in the budget.
#[derive(Debug)]
pub struct Writer {
    last_write: Option<Instant>,
    /// The window in which this connection last counted itself.
    counted_in: Option<u64>,
}

impl WritePace {
    pub fn new(writes_per_second: u32) -> Self {
        Self {
            started: Instant::now(),
            budget: writes_per_second.max(1),
            current: AtomicU64::new(0),
            previous: AtomicU64::new(0),
        }
    }

    pub fn writer(&self) -> Writer {
        Writer {
            last_write: None,
            counted_in: None,
        }
    }

    /// When the connection may write next: now, unless it wrote less than
    /// the current interval ago.
    pub fn next_write(&self, writer: &Writer, now: Instant) -> Instant {
        let Some(last) = writer.last_write else {
            return now;
        };
        (last + self.interval(now)).max(now)
    }

    /// How long a busy connection waits between writes now.
    fn interval(&self, now: Instant) -> Duration {
        let busy = self.busy_writers(self.window_of(now));
        Duration::from_nanos(busy * 1_000_000_000 / u64::from(self.budget)).min(MAX_INTERVAL)
    }

    /// How long a message may wait for others to share its commit (see
    /// [`crate::store::NewMessage::patience`]): a quarter of the interval
    /// between writes, once that is [`PATIENT_FROM`] or more.
    ///
    /// A member sees a message at its next write after the commit, so a
    /// commit that waits `w` reaches a fraction `w / interval` of the members
    /// one write later, and the others no later at all. With a few hundred
    /// busy members or more, messages come slower than each member is
    /// written to, every message is a commit of its own, and that commit
    /// costs more than writing it to all of them; waiting a quarter interval
    /// groups several. Shorter intervals mean smaller rooms, where
    /// messages group by themselves and the wait would show in the latency.
    pub fn commit_patience(&self, now: Instant) -> Duration {
        let interval = self.interval(now);
        if interval >= PATIENT_FROM {
            interval / 4
        } else {
            Duration::ZERO
        }
    }

    /// The connection is writing now.
    pub fn wrote(&self, writer: &mut Writer, now: Instant) {
        writer.last_write = Some(now);
        let window = self.window_of(now);
        if writer.counted_in != Some(window) {
            writer.counted_in = Some(window);
            self.count_writer(window);
        }
    }

    /// How many connections count as busy in `window`.
    fn busy_writers(&self, window: u64) -> u64 {
        let (counted_window, count) = unpack(self.current.load(Ordering::Relaxed));
        if counted_window == window {
            count.max(self.previous.load(Ordering::Relaxed))
        } else if counted_window + 1 == window {
            count
        } else {
            0
        }
    }

    fn count_writer(&self, window: u64) {
        let mut seen = self.current.load(Ordering::Relaxed);
        loop {
            let (counted_window, count) = unpack(seen);
            let (next, previous) = if counted_window == window {
                (pack(window, count + 1), None)
            } else if counted_window + 1 == window {
                (pack(window, 1), Some(count))
            } else {
                (pack(window, 1), Some(0))
            };
            match self.current.compare_exchange_weak(
                seen,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if let Some(previous) = previous {
                        self.previous.store(previous, Ordering::Relaxed);
                    }
                    return;
                }
                Err(actual) => seen = actual,
            }
        }
    }

    fn window_of(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.started);
        // Windows are numbered from 1, so that 0 in `current` means "none".
        (elapsed.as_nanos() / WINDOW.as_nanos()) as u64 + 1
    }
}

fn pack(window: u64, count: u64) -> u64 {
    (window << COUNT_BITS) | count.min(COUNT_MASK)
}

fn unpack(packed: u64) -> (u64, u64) {
    (packed >> COUNT_BITS, packed & COUNT_MASK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// `count` connections that have each written once, at `at`.
    fn busy(pace: &WritePace, count: usize, at: Instant) -> Vec<Writer> {
        let mut writers: Vec<Writer> = (0..count).map(|_| pace.writer()).collect();
        for writer in &mut writers {
            pace.wrote(writer, at);
        }
        writers
    }

    #[test]
    fn a_lone_writer_never_waits_and_a_first_write_is_immediate() {
        let pace = WritePace::new(50_000);
        let mut writer = pace.writer();
        let now = Instant::now();
        assert_eq!(pace.next_write(&writer, now), now);
        pace.wrote(&mut writer, now);
        // One busy writer: 20 µs between writes.
        let soon = now + Duration::from_micros(5);
        assert_eq!(
            pace.next_write(&writer, soon),
            now + Duration::from_micros(20)
        );
        assert_eq!(pace.next_write(&writer, now + ms(1)), now + ms(1));
    }

    #[test]
    fn many_busy_writers_space_their_writes_out_to_share_the_budget() {
        let pace = WritePace::new(50_000);
        let now = Instant::now();
        let mut writers = busy(&pace, 100, now);
        // 100 writers sharing 50,000 writes a second: one write each per 2 ms.
        assert_eq!(pace.next_write(&writers[0], now), now + ms(2));
        // Writing again in the same window does not count twice.
        pace.wrote(&mut writers[0], now + ms(2));
        assert_eq!(pace.next_write(&writers[0], now + ms(2)), now + ms(4));
    }

    #[test]
    fn the_wait_is_capped() {
        let pace = WritePace::new(1_000);
        let now = Instant::now();
        let writers = busy(&pace, 1_000, now);
        assert_eq!(pace.next_write(&writers[0], now), now + MAX_INTERVAL);
    }

    #[test]
    fn the_count_carries_into_the_next_window_and_fades_after_it() {
        let pace = WritePace::new(50_000);
        let start = pace.started;
        let mut writers = busy(&pace, 100, start);
        // The next window begins with one writer, but the last one's 100 still
        // set the interval.
        let next = start + WINDOW;
        pace.wrote(&mut writers[0], next);
        assert_eq!(pace.next_write(&writers[0], next), next + ms(2));
        // Two windows without anyone but writer 0: it alone sets the pace.
        let later = start + WINDOW * 3;
        pace.wrote(&mut writers[0], later);
        assert_eq!(
            pace.next_write(&writers[0], later),
            later + Duration::from_micros(20)
        );
    }

    #[test]
    fn messages_wait_for_company_only_when_many_connections_are_busy() {
        let pace = WritePace::new(50_000);
        let now = Instant::now();
        assert_eq!(pace.commit_patience(now), Duration::ZERO, "nobody busy");
        let _room = busy(&pace, 100, now);
        assert_eq!(
            pace.commit_patience(now),
            Duration::ZERO,
            "2 ms between writes"
        );
        let _crowd = busy(&pace, 900, now);
        // 1,000 busy: 20 ms between writes, a quarter of it to wait.
        assert_eq!(pace.commit_patience(now), ms(5));
    }
}
