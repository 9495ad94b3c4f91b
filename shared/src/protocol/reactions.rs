//! Replies and reactions on the wire: the quote of the message they point
//! at, and a message's reactions as every client shows them.

use serde::{Deserialize, Serialize};

use crate::limits::QUOTE_CHARS;

/// The reactions a client offers with one click; any other single emoji is
/// accepted too.
pub const QUICK_REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "🎉", "😮", "👀"];

/// The message a reply answers, or a reaction is given to, as it is now:
/// who wrote it and how it starts. A deleted message is quoted with no
/// text and `deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub seq: u64,
    pub nick: String,
    /// Its first line, at most [`QUOTE_CHARS`] characters (then `…`).
    pub text: String,
    #[serde(default, skip_serializing_if = "super::is_false")]
    pub deleted: bool,
}

impl Quote {
    /// The quote of message `seq` by `nick` whose text is `text`.
    pub fn of(seq: u64, nick: &str, text: &str, deleted: bool) -> Self {
        Quote {
            seq,
            nick: nick.to_owned(),
            text: if deleted {
                String::new()
            } else {
                quote_text(text)
            },
            deleted,
        }
    }
}

/// The start of `text` as a quote shows it: its first line, cut at
/// [`QUOTE_CHARS`] characters.
pub fn quote_text(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim_end();
    match line.char_indices().nth(QUOTE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None if line.len() < text.trim_end().len() => format!("{line}…"),
        None => line.to_owned(),
    }
}

/// One reaction to a message: the emoji and who gave it, first first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub nicks: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_the_first_line_cut_short() {
        assert_eq!(quote_text("hello"), "hello");
        assert_eq!(quote_text("first\nsecond"), "first…");
        assert_eq!(quote_text("trailing \n"), "trailing");
        let long = "é".repeat(QUOTE_CHARS + 5);
        let quoted = quote_text(&long);
        assert_eq!(quoted.chars().count(), QUOTE_CHARS + 1);
        assert!(quoted.ends_with('…'));
        assert_eq!(
            quote_text(&"x".repeat(QUOTE_CHARS)),
            "x".repeat(QUOTE_CHARS)
        );
    }

    #[test]
    fn a_deleted_message_is_quoted_without_its_text() {
        let quote = Quote::of(3, "ada", "secret", true);
        assert_eq!(quote.text, "");
        assert!(quote.deleted);
    }
}
