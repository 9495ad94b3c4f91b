//! Nicknames and room names as people type them: a name the server accepts
//! normalizes to itself, the client's quick check accepts it too (it may
//! accept more, never less); a room name normalizes to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::validate::{nick_key, normalize_nick, normalize_room, precheck_nick};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(nick) = normalize_nick(input) {
        assert_eq!(normalize_nick(&nick).as_ref(), Ok(&nick), "{input:?}");
        assert_eq!(precheck_nick(&nick).as_ref(), Ok(&nick), "{input:?}");
        // The identity every uniqueness check compares; it must not fail.
        drop(nick_key(&nick));
    }
    if let Ok(room) = normalize_room(input) {
        assert_eq!(normalize_room(&room).as_ref(), Ok(&room), "{input:?}");
    }
});
