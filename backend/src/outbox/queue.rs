//! One connection's queue of events: many handles on the hub's side, one
//! reader on the connection's.
//!
//! Not tokio's `mpsc`, for two reasons measured on the fan-out benchmarks.
//! An idle connection's channel held about 1.2 KiB (the channel's
//! cache-padded state and its first blocks of slots), where this holds an
//! empty `VecDeque`, which allocates nothing. And a busy one paid for a
//! semaphore permit and a waker notification on every event, where this
//! takes one uncontended lock, and wakes the reader only when it is waiting:
//! after the first event, the reader's waker is gone until it waits again,
//! so a burst queued while the connection writes costs no wake-ups at all.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A queue's capacity left at most this large once drained. A burst grows
/// it; keeping what it grew to would cost every connection that was ever
/// busy that memory for as long as it stays connected.
const KEPT_CAPACITY: usize = 32;

struct Shared<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    items: VecDeque<T>,
    /// The reader, while it waits for an item.
    waiting: Option<Waker>,
    /// How many [`Sender`]s exist; with none left, the reader gets the rest
    /// and then learns that the queue has ended.
    senders: usize,
    /// The [`Receiver`] was dropped: nothing more is taken.
    receiver_gone: bool,
}

/// Why an item was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Full,
    Closed,
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    capacity: usize,
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A queue that holds at most `capacity` items.
pub fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            waiting: None,
            senders: 1,
            receiver_gone: false,
        }),
    });
    let receiver = Receiver {
        shared: Arc::clone(&shared),
    };
    (Sender { shared, capacity }, receiver)
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing can panic while the lock is held except an allocation
        // failure; the state is consistent at every step anyway.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T> Sender<T> {
    pub fn try_send(&self, item: T) -> Result<(), Refused> {
        self.try_send_below(item, self.capacity)
    }

    /// Queues `item` only while fewer than `limit` items are queued (and
    /// never beyond the capacity): room kept for what only `try_send` uses.
    pub fn try_send_below(&self, item: T, limit: usize) -> Result<(), Refused> {
        let waiting = {
            let mut state = self.shared.lock();
            if state.receiver_gone {
                return Err(Refused::Closed);
            }
            if state.items.len() >= limit.min(self.capacity) {
                return Err(Refused::Full);
            }
            state.items.push_back(item);
            state.waiting.take()
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.shared.lock().receiver_gone
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
            capacity: self.capacity,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waiting = {
            let mut state = self.shared.lock();
            state.senders -= 1;
            if state.senders == 0 {
                state.waiting.take()
            } else {
                None
            }
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Waits for at least one item, then moves up to `max` of those queued
    /// into `batch`. Returns how many it moved: 0 only once every sender is
    /// gone and the queue is empty. Cancel-safe: an item is either moved or
    /// still queued.
    pub async fn recv_many(&mut self, batch: &mut Vec<T>, max: usize) -> usize {
        std::future::poll_fn(|cx| self.poll_recv_many(cx, batch, max)).await
    }

    fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        batch: &mut Vec<T>,
        max: usize,
    ) -> Poll<usize> {
        let mut state = self.shared.lock();
        let moved = take(&mut state, batch, max);
        if moved > 0 || state.senders == 0 {
            return Poll::Ready(moved);
        }
        match &mut state.waiting {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waiting => *waiting = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Moves up to `max` of the items already queued into `batch`, without
    /// waiting. Returns how many.
    pub fn take_queued(&mut self, batch: &mut Vec<T>, max: usize) -> usize {
        take(&mut self.shared.lock(), batch, max)
    }

    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }
}

fn take<T>(state: &mut State<T>, batch: &mut Vec<T>, max: usize) -> usize {
    let moved = state.items.len().min(max);
    batch.extend(state.items.drain(..moved));
    if state.items.is_empty() && state.items.capacity() > KEPT_CAPACITY {
        state.items = VecDeque::new();
    }
    moved
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut state = self.shared.lock();
            state.receiver_gone = true;
            std::mem::take(&mut state.items)
        };
        // Dropped outside the lock: an item's drop may take time.
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// Counts how often it is woken.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll_once(receiver: &mut Receiver<u32>, batch: &mut Vec<u32>, waker: &Waker) -> Poll<usize> {
        let mut recv = pin!(receiver.recv_many(batch, 10));
        recv.as_mut().poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn items_arrive_in_order_up_to_the_capacity() {
        let (sender, mut receiver) = queue(3);
        for item in 0..3 {
            assert_eq!(sender.try_send(item), Ok(()));
        }
        assert_eq!(sender.try_send(3), Err(Refused::Full));
        assert_eq!(sender.try_send_below(3, 2), Err(Refused::Full));
        let mut batch = Vec::new();
        assert_eq!(receiver.take_queued(&mut batch, 2), 2);
        assert_eq!(batch, [0, 1]);
        assert_eq!(sender.try_send(3), Ok(()));
        assert_eq!(receiver.take_queued(&mut batch, 10), 2);
        assert_eq!(batch, [0, 1, 2, 3]);
        assert!(receiver.is_empty());
    }

    #[test]
    fn a_waiting_reader_is_woken_once_per_wait_not_once_per_item() {
        let (sender, mut receiver) = queue(10);
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut batch = Vec::new();
        assert_eq!(poll_once(&mut receiver, &mut batch, &waker), Poll::Pending);
        for item in 0..5 {
            sender.try_send(item).unwrap();
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll_once(&mut receiver, &mut batch, &waker), Poll::Ready(5));
        assert_eq!(batch, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_reader_gets_what_is_queued_and_then_the_end() {
        let (sender, mut receiver) = queue(10);
        let second = sender.clone();
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut batch = Vec::new();
        sender.try_send(7).unwrap();
        drop(sender);
        assert_eq!(poll_once(&mut receiver, &mut batch, &waker), Poll::Ready(1));
        assert_eq!(poll_once(&mut receiver, &mut batch, &waker), Poll::Pending);
        drop(second);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "the last sender wakes it"
        );
        assert_eq!(poll_once(&mut receiver, &mut batch, &waker), Poll::Ready(0));
    }

    #[test]
    fn a_gone_reader_refuses_items_and_frees_what_was_queued() {
        let (sender, receiver) = queue(10);
        let item = Arc::new(1);
        sender.try_send(Arc::clone(&item)).unwrap();
        assert!(!sender.is_closed());
        drop(receiver);
        assert!(sender.is_closed());
        assert_eq!(Arc::strong_count(&item), 1);
        assert_eq!(sender.try_send(item), Err(Refused::Closed));
    }

    #[test]
    fn a_drained_queue_gives_back_what_a_burst_grew() {
        let (sender, mut receiver) = queue(1_000);
        for item in 0..500 {
            sender.try_send(item).unwrap();
        }
        let mut batch = Vec::new();
        receiver.take_queued(&mut batch, 1_000);
        assert_eq!(receiver.shared.lock().items.capacity(), 0);
    }
}
