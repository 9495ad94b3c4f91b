//! Nicknames in lowercase, as the server compares them and names
//! conversations (`str::to_lowercase`), without std's Unicode case tables:
//! they were 7.8 KB of the gzipped bundle, and the browser has the same
//! mapping built in. `String.prototype.toLowerCase` applies Unicode's full
//! lowercase mapping with the final-sigma rule, as `str::to_lowercase`
//! does; they could differ only for characters whose case one Unicode
//! version knows and the other does not. ASCII, most nicknames, never
//! leaves wasm.

/// `nick.to_lowercase()`, by the browser's tables in the browser.
pub fn lowercase(nick: &str) -> String {
    if nick.is_ascii() {
        return nick.to_ascii_lowercase();
    }
    unicode(nick)
}

#[cfg(target_arch = "wasm32")]
fn unicode(nick: &str) -> String {
    js_sys::JsString::from(nick).to_lower_case().into()
}

// Natively (the reducer's tests) there is no browser: std's tables, which
// the browser tests check the browser against.
#[cfg(not(target_arch = "wasm32"))]
fn unicode(nick: &str) -> String {
    nick.to_lowercase()
}

/// The conversation's room name, as `shared::direct_room` gives it.
pub fn direct_room(a: &str, b: &str) -> String {
    shared::direct_room_of_lowercase(lowercase(a), lowercase(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_are_named_as_the_server_names_them() {
        for (a, b) in [("Alice", "bob"), ("ÉMILE", "Zoë"), ("ΟΔΟΣ", "İris")] {
            assert_eq!(direct_room(a, b), shared::direct_room(a, b));
            assert_eq!(lowercase(a), a.to_lowercase());
        }
    }
}
