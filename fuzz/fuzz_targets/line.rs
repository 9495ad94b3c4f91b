//! A line from a terminal (the terminal door and `hubbub`): parsed into a
//! command, which becomes a `ClientMsg` that must survive its own JSON; and
//! other people's text as terminals are shown it, which must hold no
//! control character once stripped, and strip to itself again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::ClientMsg;
use shared::line::{self, Input};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let input = line::parse(text);
    if let Input::Say(said) = input {
        assert!(!said.trim().is_empty());
    }
    if let Some(msg) = line::room_command(&input, "lobby") {
        let json = msg.to_json();
        assert_eq!(ClientMsg::from_json(&json).ok(), Some(msg), "{json}");
    }

    let stripped = line::strip_controls(text);
    assert!(
        !stripped.chars().any(char::is_control),
        "{text:?} stripped to {stripped:?}"
    );
    assert_eq!(line::strip_controls(&stripped), stripped);
});
