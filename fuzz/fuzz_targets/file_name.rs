//! An uploaded file's name as the uploader gives it, cleaned to be stored
//! and shown: never empty, at most 255 bytes, no separator, NUL, control or
//! invisible formatting character, no leading dot (a hidden file) and no
//! trailing dot or space, and cleaning it again changes nothing.

#![no_main]

use backend::files::names::{MAX_NAME_BYTES, clean};
use libfuzzer_sys::fuzz_target;

fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

fuzz_target!(|data: &[u8]| {
    // Names reach `clean` as strings (a multipart field's file name).
    let raw = String::from_utf8_lossy(data);
    let name = clean(&raw);
    assert!(!name.is_empty());
    assert!(name.len() <= MAX_NAME_BYTES, "{} bytes", name.len());
    assert!(
        !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '\0') || c.is_control() || is_invisible_format(c)),
        "{name:?}"
    );
    assert!(!name.starts_with('.'), "{raw:?} cleaned to {name:?}");
    assert!(!name.ends_with(['.', ' ']), "{raw:?} cleaned to {name:?}");
    assert!(name.trim() == name, "{raw:?} cleaned to {name:?}");
    assert_eq!(clean(&name), name, "cleaning {raw:?} again changed it");
});
