//! Every datagram of the datagram door: what decodes encodes to the same
//! bytes (a hello to its padded length) and decodes again to the same
//! packet, is never over the datagram limit, and is routed by `session_of`
//! to the session it names.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::udp::MAX_DATAGRAM;
use shared::udp::wire::{HELLO_LEN, Packet, session_of};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::decode(data) else {
        // What does not decode is routed nowhere it could be read.
        return;
    };
    assert!(data.len() <= MAX_DATAGRAM);
    let mut out = Vec::new();
    packet.encode(&mut out);
    assert_eq!(Packet::decode(&out), Ok(packet));
    match packet {
        // A hello's padding is not read back: any is fine.
        Packet::Hello { .. } => assert_eq!(out.len(), HELLO_LEN),
        _ => assert_eq!(out, data),
    }
    match packet {
        Packet::Session { session, .. } => assert_eq!(session_of(data), Some(session)),
        _ => assert_eq!(session_of(data), None),
    }
});
