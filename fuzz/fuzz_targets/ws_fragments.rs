//! The WebSocket door's count of a message's fragments, which follows the
//! client's frame headers under tungstenite: where it stops the reading
//! does not depend on how the bytes arrive, and it stops only at the first
//! byte of a continuation frame (the one past the limit).

#![no_main]

use backend::fuzzing::ws_fragments_stop;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, bytes)) = data.split_first() else {
        return;
    };
    let whole = ws_fragments_stop([bytes]);
    // The same bytes in pieces of 1 to 256 bytes, as reads return them.
    let size = usize::from(cuts) + 1;
    let pieces = ws_fragments_stop(bytes.chunks(size));
    assert_eq!(whole, pieces, "cut every {size} bytes");
    let single = ws_fragments_stop(bytes.chunks(1));
    assert_eq!(whole, single, "cut every byte");
    if let Some(at) = whole {
        assert!(at < bytes.len());
        assert_eq!(
            bytes[at] & 0x0F,
            0,
            "stopped at a frame that is not a continuation"
        );
    }
});
