//! The receiving half: datagrams held until the gap before them fills, and
//! messages put back together.

use std::collections::VecDeque;

/// How far ahead of the cumulative ack a sequence number may be and still be
/// kept: 64, twice the default in-flight limit. A peer never has more than
/// its `max_in_flight` sequence numbers outstanding, all of them after what
/// we acknowledged last, so with any limit up to 64 nothing it sends
/// honestly falls outside; what does is dropped, which bounds what a peer
/// can make us hold to 64 chunks.
pub const RECV_WINDOW: u32 = 64;

/// What a sequenced datagram carries, as held.
#[derive(Debug)]
pub(super) enum Held {
    Data { last: bool, chunk: Vec<u8> },
    Ping,
}

/// Where a sequence number stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arrival {
    /// Not seen before and within the window.
    Fresh,
    /// Already delivered, or already held.
    Duplicate,
    /// More than [`RECV_WINDOW`] ahead.
    OutOfWindow,
}

/// A message being reassembled grew past `max_message`.
#[derive(Debug)]
pub(super) struct TooLong;

#[derive(Debug)]
pub(super) struct Receiver {
    /// Every sequence number up to this one has been taken in.
    ack: u32,
    /// `held[i]` is sequence number `ack + 1 + i`, if it arrived.
    held: VecDeque<Option<Held>>,
    /// The pieces of the message being put together.
    assembling: Vec<u8>,
    max_message: usize,
    /// Whole messages waiting for `recv`.
    delivered: VecDeque<Vec<u8>>,
}

impl Receiver {
    pub(super) fn new(max_message: usize) -> Self {
        Receiver {
            ack: 0,
            held: VecDeque::new(),
            assembling: Vec::new(),
            max_message,
            delivered: VecDeque::new(),
        }
    }

    pub(super) fn ack(&self) -> u32 {
        self.ack
    }

    /// Bit `i`: sequence number `ack + 2 + i` is held.
    pub(super) fn sack(&self) -> u32 {
        self.held
            .iter()
            .skip(1)
            .take(32)
            .enumerate()
            .filter(|(_, held)| held.is_some())
            .fold(0, |sack, (bit, _)| sack | 1 << bit)
    }

    pub(super) fn classify(&self, seq: u32) -> Arrival {
        let Some(ahead) = seq.checked_sub(self.ack) else {
            return Arrival::Duplicate;
        };
        match ahead {
            0 => Arrival::Duplicate,
            _ if ahead > RECV_WINDOW => Arrival::OutOfWindow,
            _ => match self.held.get(ahead as usize - 1) {
                Some(Some(_)) => Arrival::Duplicate,
                _ => Arrival::Fresh,
            },
        }
    }

    /// Takes in a [`Arrival::Fresh`] sequence number and delivers every
    /// message it completes.
    pub(super) fn accept(&mut self, seq: u32, held: Held) -> Result<(), TooLong> {
        if self.classify(seq) != Arrival::Fresh {
            return Ok(());
        }
        let index = (seq - self.ack - 1) as usize;
        if self.held.len() <= index {
            self.held.resize_with(index + 1, || None);
        }
        self.held[index] = Some(held);
        while let Some(Some(_)) = self.held.front() {
            let Some(Some(held)) = self.held.pop_front() else {
                break;
            };
            // `seq` fitted in a u32, so every number up to it does.
            self.ack += 1;
            if let Held::Data { last, chunk } = held {
                if self.assembling.len() + chunk.len() > self.max_message {
                    return Err(TooLong);
                }
                if self.assembling.is_empty() {
                    self.assembling = chunk;
                } else {
                    self.assembling.extend_from_slice(&chunk);
                }
                if last {
                    self.delivered
                        .push_back(std::mem::take(&mut self.assembling));
                }
            }
        }
        Ok(())
    }

    pub(super) fn recv(&mut self) -> Option<Vec<u8>> {
        self.delivered.pop_front()
    }

    #[cfg(test)]
    pub(super) fn set_ack(&mut self, ack: u32) {
        assert!(self.held.is_empty());
        self.ack = ack;
    }
}
