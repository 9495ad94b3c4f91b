//! The typed protocol both ways: a message from a client as the WebSocket
//! and datagram doors read it (and what it asks of the hub), and a frame
//! from the server as every client reads it, line by line. Whatever decodes
//! is written again and must decode to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::protocol::frame_messages;
use shared::{ClientMsg, ServerMsg};

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8: tungstenite refuses the rest before the door.
    let Ok(frame) = std::str::from_utf8(data) else {
        return;
    };
    backend::fuzzing::typed_message(frame);

    if let Ok(msg) = ClientMsg::from_json(frame) {
        let json = msg.to_json();
        match ClientMsg::from_json(&json) {
            Ok(again) => assert_eq!(again, msg, "{json}"),
            Err(error) => panic!("{msg:?} wrote {json}, which does not decode: {error}"),
        }
    }

    for line in frame_messages(frame) {
        if let Ok(msg) = ServerMsg::from_json(line) {
            let json = msg.to_json();
            match ServerMsg::from_json(&json) {
                Ok(again) => assert_eq!(again, msg, "{json}"),
                Err(error) => panic!("{msg:?} wrote {json}, which does not decode: {error}"),
            }
        }
    }
});
