//! Each wire's bytes for one event, computed once and shared by every
//! recipient on that wire.
//!
//! A wire names its encoding with a type that implements [`Encoding`]; the
//! event keeps the encodings asked for so far in a short list keyed by that
//! type. An event is written to one, two or three wires (the web client's
//! JSON, the plain-text mode, terminals), so the list is walked in a step or
//! two, and a new door brings its own encoding without touching this module
//! or the hub.

use std::any::TypeId;
use std::sync::OnceLock;

use bytes::Bytes;
use shared::ServerMsg;

/// One wire's way of writing events.
pub trait Encoding: 'static {
    /// What the encoding needs besides the event: the same for every
    /// recipient of a server (the terminal door's public URL), so the first
    /// recipient's encoding serves them all.
    type Context: ?Sized;

    /// The event's bytes on this wire, or `None` when it means nothing there
    /// (a terminal shows no acks).
    fn encode(msg: &ServerMsg, context: &Self::Context) -> Option<Bytes>;
}

/// The encodings of one event, in the order they were first asked for.
/// Each place is a `OnceLock`: whoever asks first encodes, anyone asking
/// meanwhile waits for those bytes rather than encoding again, and a read
/// of an encoding that exists is an atomic load and a type comparison.
#[derive(Default)]
pub(super) struct Encodings {
    first: OnceLock<Encoded>,
}

struct Encoded {
    wire: TypeId,
    bytes: Option<Bytes>,
    next: OnceLock<Box<Encoded>>,
}

impl Encodings {
    pub(super) fn get<E: Encoding>(&self, msg: &ServerMsg, context: &E::Context) -> Option<&Bytes> {
        let wire = TypeId::of::<E>();
        let make = || Encoded {
            wire,
            bytes: E::encode(msg, context),
            next: OnceLock::new(),
        };
        let mut place = self.first.get_or_init(make);
        loop {
            if place.wire == wire {
                return place.bytes.as_ref();
            }
            // Taken by another wire: that place's encoding is not ours, so
            // look further (`get_or_init` runs `make` only on an empty place).
            place = place.next.get_or_init(|| Box::new(make()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// The event's JSON in capitals.
    struct Upper;

    impl Encoding for Upper {
        type Context = ();

        fn encode(msg: &ServerMsg, (): &()) -> Option<Bytes> {
            Some(Bytes::from(msg.to_json().to_uppercase()))
        }
    }

    /// How often [`Counted`] computed an encoding; only one test uses it.
    static COUNTED_CALLS: AtomicUsize = AtomicUsize::new(0);

    struct Counted;

    impl Encoding for Counted {
        type Context = ();

        fn encode(msg: &ServerMsg, (): &()) -> Option<Bytes> {
            COUNTED_CALLS.fetch_add(1, Ordering::Relaxed);
            Some(Bytes::from(msg.to_json()))
        }
    }

    /// Shows only user arrivals, after a prefix every recipient shares.
    struct Arrivals;

    impl Encoding for Arrivals {
        type Context = str;

        fn encode(msg: &ServerMsg, prefix: &str) -> Option<Bytes> {
            match msg {
                ServerMsg::UserJoined { nick, .. } => Some(Bytes::from(format!("{prefix}{nick}"))),
                _ => None,
            }
        }
    }

    fn joined() -> ServerMsg {
        ServerMsg::UserJoined {
            room: "lobby".into(),
            nick: "bob".into(),
        }
    }

    #[test]
    fn each_wire_encodes_once_and_every_recipient_shares_the_bytes() {
        let msg = joined();
        let encodings = Encodings::default();
        let first = encodings.get::<Counted>(&msg, &()).unwrap().as_ptr();
        let arrival = encodings.get::<Arrivals>(&msg, "+ ").unwrap();
        assert_eq!(arrival.as_ref(), b"+ bob");
        for _ in 0..3 {
            assert_eq!(
                encodings.get::<Counted>(&msg, &()).unwrap().as_ptr(),
                first,
                "same bytes for every recipient"
            );
        }
        assert_eq!(COUNTED_CALLS.load(Ordering::Relaxed), 1);
        // The first recipient's context is the one encoded with.
        assert_eq!(
            encodings.get::<Arrivals>(&msg, "other ").unwrap().as_ref(),
            b"+ bob"
        );
    }

    #[test]
    fn an_event_that_means_nothing_on_a_wire_has_no_bytes_there() {
        let ack = ServerMsg::Ack {
            id: "1".into(),
            room: "lobby".into(),
            seq: 1,
            ts: 0,
        };
        let encodings = Encodings::default();
        assert_eq!(encodings.get::<Arrivals>(&ack, ""), None);
        assert!(encodings.get::<Upper>(&ack, &()).is_some());
        assert_eq!(encodings.get::<Arrivals>(&ack, ""), None);
    }

    #[test]
    fn recipients_on_several_threads_see_one_encoding() {
        let msg = joined();
        let encodings = Encodings::default();
        let pointers: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let (msg, encodings) = (&msg, &encodings);
                    scope.spawn(move || {
                        if i % 2 == 0 {
                            encodings.get::<Arrivals>(msg, "+ ");
                        }
                        encodings.get::<Upper>(msg, &()).unwrap().as_ptr() as usize
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(pointers.windows(2).all(|w| w[0] == w[1]), "{pointers:?}");
    }
}
