//! A frame from a plain-text WebSocket client (`/nick`, `/me`, `//`): what
//! it asks for is always a piece of the frame itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::plain::{PlainInput, parse_input};

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = std::str::from_utf8(data) else {
        return;
    };
    let unended = frame.strip_suffix('\n').unwrap_or(frame);
    let unended = unended.strip_suffix('\r').unwrap_or(unended);
    match parse_input(frame) {
        PlainInput::Say(text) => {
            // Said as typed, one slash of a `//` dropped.
            let expected = unended.strip_prefix('/').unwrap_or(unended);
            assert_eq!(text, expected);
            assert!(!unended.starts_with('/') || unended.starts_with("//"));
        }
        PlainInput::Action(text) => {
            assert_eq!(
                unended
                    .strip_prefix("/me")
                    .map(|r| r.strip_prefix(' ').unwrap_or(r)),
                Some(text)
            );
        }
        PlainInput::Nick(nick) => {
            assert_eq!(nick, nick.trim());
            assert!(unended.starts_with("/nick") && unended.contains(nick));
        }
        PlainInput::UnknownCommand(name) => {
            assert!(!name.contains(' '));
            assert!(
                unended
                    .strip_prefix('/')
                    .is_some_and(|r| r.starts_with(name))
            );
        }
    }
});
