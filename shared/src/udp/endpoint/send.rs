//! The sending half: messages waiting to go out, and the datagrams sent and
//! not yet acknowledged.
//!
//! Loss is detected as RACK does it (RFC 8985), by the order of
//! transmissions rather than of sequence numbers: a datagram is lost once
//! three datagrams put on the wire after it, each sent only once (so that
//! their acks are not ambiguous), have been acknowledged. That finds a lost
//! retransmission as quickly as a lost first transmission. After the
//! retransmission timer fires, the first ack of anything new shows the path
//! delivers again, and every datagram outstanding since before the timeout
//! goes again at once, as TCP does after a timeout (RFC 6675 §5.1), instead
//! of one hole per timeout.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::udp::wire::{Body, MAX_CHUNK};

/// Three datagrams sent later and acknowledged mean a datagram was lost, not
/// delayed (the duplicate-ack threshold of TCP, RFC 5681 §3.2, and RACK's
/// packet threshold).
const FAST_RETRANSMIT_THRESHOLD: usize = 3;

/// What one sequence number carries.
#[derive(Debug)]
enum Payload {
    Data { last: bool, chunk: Vec<u8> },
    Ping,
}

/// A sequence number sent and not yet acknowledged cumulatively.
#[derive(Debug)]
struct Sent {
    payload: Payload,
    /// When it was last put on the wire.
    sent_at: Instant,
    /// Its place among all transmissions, retransmissions included: what
    /// "sent after" means for loss detection.
    order: u64,
    /// 1 while it has been sent once: only then may its ack be timed.
    transmissions: u32,
    /// Acknowledged selectively; kept until the cumulative ack passes it.
    sacked: bool,
    /// Due to be sent again.
    retransmit: bool,
}

/// What [`Sender::on_ack`] learned.
#[derive(Debug, Default)]
pub(super) struct AckOutcome {
    /// The cumulative ack moved: the retransmission timer restarts.
    pub(super) advanced: bool,
    /// A round trip measured from a datagram sent once.
    pub(super) sample: Option<Duration>,
    /// The ack covered something not acknowledged before.
    pub(super) newly_acked: bool,
    /// Datagrams marked lost because three sent after them were acknowledged.
    pub(super) overtaken: u64,
}

/// Keeps `latest` the highest orders seen, highest first. Each order is
/// given once, and a datagram is noted only when first acknowledged, so no
/// order comes twice.
fn remember_latest(latest: &mut [u64; FAST_RETRANSMIT_THRESHOLD], order: u64) {
    if order <= latest[FAST_RETRANSMIT_THRESHOLD - 1] {
        return;
    }
    latest[FAST_RETRANSMIT_THRESHOLD - 1] = order;
    latest.sort_unstable_by(|a, b| b.cmp(a));
}

/// The next sequenced datagram to put on the wire.
#[derive(Debug)]
pub(super) struct Transmission<'a> {
    pub(super) seq: u32,
    pub(super) body: Body<'a>,
    pub(super) retransmission: bool,
}

/// Sequence numbers run out after `u32::MAX`; the session cannot go on.
#[derive(Debug)]
pub(super) struct Exhausted;

#[derive(Debug)]
pub(super) struct Sender {
    /// The next sequence number to assign; a u64 so that running past
    /// `u32::MAX` is seen, not wrapped.
    next_seq: u64,
    /// Messages not yet fully sent; the front one from `unsent_offset`.
    unsent: VecDeque<Vec<u8>>,
    unsent_offset: usize,
    /// Sequence numbers `first_unacked ..`, one entry each, in order.
    in_flight: VecDeque<Sent>,
    /// Bytes in `unsent` (from the offset) and in `in_flight`.
    queued_bytes: usize,
    /// The order the next transmission takes.
    next_order: u64,
    /// The orders of the latest datagrams sent once and acknowledged, newest
    /// first (0: none yet).
    latest_acked: [u64; FAST_RETRANSMIT_THRESHOLD],
    /// Set when the retransmission timer fires: every datagram with a lower
    /// order was outstanding then, and is resent on the next new ack.
    timed_out_before: Option<u64>,
}

/// What a chunk counts for in the queue: its length, but at least one byte,
/// so that empty messages cannot queue without bound.
fn cost(len: usize) -> usize {
    len.max(1)
}

impl Sender {
    pub(super) fn new() -> Self {
        Sender {
            next_seq: 1,
            unsent: VecDeque::new(),
            unsent_offset: 0,
            in_flight: VecDeque::new(),
            queued_bytes: 0,
            next_order: 1,
            latest_acked: [0; FAST_RETRANSMIT_THRESHOLD],
            timed_out_before: None,
        }
    }

    pub(super) fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// The bytes `message` would add to [`Sender::queued_bytes`].
    pub(super) fn cost_of(message: &[u8]) -> usize {
        cost(message.len())
    }

    pub(super) fn push(&mut self, message: Vec<u8>) {
        self.queued_bytes += cost(message.len());
        self.unsent.push_back(message);
    }

    /// Nothing waits and nothing is unacknowledged.
    pub(super) fn is_drained(&self) -> bool {
        self.unsent.is_empty() && self.in_flight.is_empty()
    }

    pub(super) fn has_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Sequence numbers sent and not acknowledged, cumulatively or selectively.
    pub(super) fn unacked(&self) -> u32 {
        let unacked = self.in_flight.iter().filter(|sent| !sent.sacked).count();
        u32::try_from(unacked).unwrap_or(u32::MAX)
    }

    /// Drops everything: the session is over.
    pub(super) fn clear(&mut self) {
        self.unsent.clear();
        self.unsent_offset = 0;
        self.in_flight.clear();
        self.queued_bytes = 0;
        self.timed_out_before = None;
    }

    /// An ack field the peer can truthfully send: nothing beyond what was sent.
    pub(super) fn is_plausible_ack(&self, ack: u32) -> bool {
        u64::from(ack) < self.next_seq
    }

    fn first_unacked(&self) -> u64 {
        self.next_seq - self.in_flight.len() as u64
    }

    fn entry_mut(&mut self, seq: u64) -> Option<&mut Sent> {
        let index = seq.checked_sub(self.first_unacked())?;
        self.in_flight.get_mut(usize::try_from(index).ok()?)
    }

    /// Applies the peer's ack and selective-ack fields, and marks for
    /// retransmission what they show lost.
    pub(super) fn on_ack(&mut self, ack: u32, sack: u32, now: Instant) -> AckOutcome {
        let mut outcome = AckOutcome::default();
        // Of the datagrams acknowledged by this datagram for the first time,
        // the one sent last is the likeliest to have made the peer send it:
        // it gives the round trip, unless it went more than once and the
        // ack may answer either transmission (Karn's rule). An older
        // datagram would measure a lost ack's wait too.
        let mut newest: Option<(u64, Option<Instant>)> = None;
        let mut latest_acked = self.latest_acked;
        let mut note = |sent: &Sent| {
            if sent.sacked {
                return;
            }
            let sent_once = sent.transmissions == 1;
            if newest.is_none_or(|(order, _)| sent.order > order) {
                newest = Some((sent.order, sent_once.then_some(sent.sent_at)));
            }
            if sent_once {
                remember_latest(&mut latest_acked, sent.order);
            }
        };
        for bit in 0..32u32 {
            if sack & (1 << bit) != 0 {
                let seq = u64::from(ack) + 2 + u64::from(bit);
                if let Some(sent) = self.entry_mut(seq) {
                    note(sent);
                    sent.sacked = true;
                    sent.retransmit = false;
                }
            }
        }
        while self.first_unacked() <= u64::from(ack) {
            let Some(sent) = self.in_flight.pop_front() else {
                break;
            };
            note(&sent);
            self.queued_bytes -= match &sent.payload {
                Payload::Data { chunk, .. } => cost(chunk.len()),
                Payload::Ping => 0,
            };
            outcome.advanced = true;
        }
        outcome.sample = newest
            .and_then(|(_, sent_at)| sent_at)
            .map(|sent_at| now.saturating_duration_since(sent_at));
        self.latest_acked = latest_acked;
        outcome.newly_acked = newest.is_some();
        if outcome.newly_acked
            && let Some(order) = self.timed_out_before.take()
        {
            self.mark_sent_before(order);
        }
        outcome.overtaken = self.mark_sent_before(self.latest_acked[FAST_RETRANSMIT_THRESHOLD - 1]);
        outcome
    }

    /// Marks for retransmission every datagram not acknowledged whose last
    /// transmission came before `order`. Returns how many were marked.
    fn mark_sent_before(&mut self, order: u64) -> u64 {
        let mut marked = 0;
        for sent in &mut self.in_flight {
            if !sent.sacked && !sent.retransmit && sent.order < order {
                sent.retransmit = true;
                marked += 1;
            }
        }
        marked
    }

    /// The order of a transmission about to go out.
    fn take_order(&mut self) -> u64 {
        let order = self.next_order;
        self.next_order += 1;
        order
    }

    /// The retransmission timer expired: the earliest datagram not
    /// acknowledged goes again (RFC 6298 §5.4), and the rest outstanding go
    /// once the peer acknowledges anything new.
    pub(super) fn on_timeout(&mut self) {
        if let Some(sent) = self.in_flight.iter_mut().find(|sent| !sent.sacked) {
            sent.retransmit = true;
        }
        self.timed_out_before = Some(self.next_order);
    }

    /// The next sequenced datagram: a retransmission that is due, else a new
    /// chunk, else a ping if `ping` asks for one, within `max_in_flight`
    /// sequence numbers outstanding.
    pub(super) fn next_transmission(
        &mut self,
        now: Instant,
        max_in_flight: u32,
        ping: bool,
    ) -> Result<Option<Transmission<'_>>, Exhausted> {
        let first = self.first_unacked();
        if let Some(index) = self.in_flight.iter().position(|sent| sent.retransmit) {
            let order = self.take_order();
            let sent = &mut self.in_flight[index];
            sent.retransmit = false;
            sent.transmissions = sent.transmissions.saturating_add(1);
            sent.sent_at = now;
            sent.order = order;
            return Ok(Some(Self::transmission(first + index as u64, sent, true)));
        }
        let window_open = (self.in_flight.len() as u64) < u64::from(max_in_flight);
        let payload = match self.unsent.front() {
            _ if !window_open => return Ok(None),
            Some(message) => {
                let end = message.len().min(self.unsent_offset + MAX_CHUNK);
                let chunk = message[self.unsent_offset..end].to_vec();
                let last = end == message.len();
                Payload::Data { last, chunk }
            }
            None if ping => Payload::Ping,
            None => return Ok(None),
        };
        let seq = u32::try_from(self.next_seq).map_err(|_| Exhausted)?;
        if let Payload::Data { last, chunk } = &payload {
            if *last {
                self.unsent.pop_front();
                self.unsent_offset = 0;
            } else {
                self.unsent_offset += chunk.len();
            }
        }
        self.next_seq += 1;
        let order = self.take_order();
        self.in_flight.push_back(Sent {
            payload,
            sent_at: now,
            order,
            transmissions: 1,
            sacked: false,
            retransmit: false,
        });
        Ok(self
            .in_flight
            .back()
            .map(|sent| Self::transmission(u64::from(seq), sent, false)))
    }

    fn transmission(seq: u64, sent: &Sent, retransmission: bool) -> Transmission<'_> {
        let body = match &sent.payload {
            Payload::Data { last, chunk } => Body::Data { last: *last, chunk },
            Payload::Ping => Body::Ping,
        };
        Transmission {
            // Only sequence numbers that fit were ever assigned.
            seq: u32::try_from(seq).unwrap_or(u32::MAX),
            body,
            retransmission,
        }
    }

    #[cfg(test)]
    pub(super) fn set_next_seq(&mut self, next_seq: u64) {
        assert!(self.in_flight.is_empty());
        self.next_seq = next_seq;
    }
}
