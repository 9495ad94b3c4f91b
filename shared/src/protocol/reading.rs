//! What readers ask about a room's messages besides the messages: unread
//! counts, search results, and who a message mentions.

use serde::{Deserialize, Serialize};

/// What is unread in one room: messages by others after the account's
/// read marker (`read`, 0 for none), and those of them that mention it.
/// Both are counted up to [`UnreadCount::MAX`], over the messages up to
/// `head` (the room's latest when counted): a message live after it is
/// not in the counts, which a client adds to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadCount {
    pub room: String,
    pub read: u64,
    pub unread: u32,
    pub mentions: u32,
    #[serde(default)]
    pub head: u64,
}

impl UnreadCount {
    /// Counting stops here: "999+" says enough.
    pub const MAX: u32 = 1_000;
}

/// One message found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub room: String,
    pub seq: u64,
    pub ts: i64,
    pub nick: String,
    /// The part of the text around the match, as pieces that alternate
    /// between plain text and matched words, plain first (and possibly
    /// empty): `["see the ", "release", " notes"]`.
    pub snippet: Vec<String>,
}

/// The nicknames `text` mentions: each `@name`, where the name runs to the
/// next space and loses the punctuation around it (`(@ada,` mentions
/// `ada`). The
/// names are as written; the server compares them as it compares
/// nicknames. A mention inside a word (`mail@example.org`) is none.
pub fn mentions(text: &str) -> impl Iterator<Item = &str> {
    text.split(char::is_whitespace).filter_map(|word| {
        let name = word
            .trim_start_matches(['(', '[', '"', '\''])
            .strip_prefix('@')?;
        let name = name.trim_end_matches(|c: char| {
            matches!(
                c,
                '.' | ',' | ':' | ';' | '!' | '?' | ')' | ']' | '}' | '"' | '\'' | '…'
            )
        });
        (!name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_at_names_without_trailing_punctuation() {
        let found: Vec<_> =
            mentions("@ada, look (@bob) at this @carol! mail@example.org @ @").collect();
        assert_eq!(found, ["ada", "bob", "carol"]);
        let found: Vec<_> = mentions("hi @Zoë.\n@x").collect();
        assert_eq!(found, ["Zoë", "x"]);
    }
}
