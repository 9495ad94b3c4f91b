//! The rules for what people type: nicknames, room names, chat text and
//! message ids. The server applies them to everything it receives; the web
//! client applies the same functions before sending.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

use crate::limits::{MAX_ID_BYTES, MAX_NICK_CHARS, MAX_ROOM_CHARS, MAX_TEXT_BYTES};

/// Names nobody may take, because people would read them as the server speaking.
const RESERVED_NICKS: [&str; 3] = ["server", "system", "admin"];

/// Why a nickname was refused. `Display` is a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NickError {
    Empty,
    TooLong,
    /// Whitespace, control, bidirectional or invisible characters.
    BadCharacter(char),
    /// Starts with a character that slash commands and mentions use.
    BadStart(char),
    Reserved,
}

impl fmt::Display for NickError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NickError::Empty => write!(f, "a nickname cannot be empty"),
            NickError::TooLong => {
                write!(f, "a nickname has at most {MAX_NICK_CHARS} characters")
            }
            NickError::BadCharacter(c) => write!(
                f,
                "a nickname cannot contain spaces or invisible characters (found U+{:04X})",
                u32::from(*c)
            ),
            NickError::BadStart(c) => write!(f, "a nickname cannot start with '{c}'"),
            NickError::Reserved => write!(f, "that nickname is reserved"),
        }
    }
}

/// Checks a nickname and returns the form the server uses: surrounding
/// whitespace trimmed, then Unicode NFKC (so a fullwidth `ａ` becomes `a`).
/// This is the server's rule; clients check [`precheck_nick`] before sending.
pub fn normalize_nick(input: &str) -> Result<String, NickError> {
    let nick: String = input.trim().nfkc().collect();
    check_nick_syntax(&nick)?;
    let key = nick_key(&nick);
    if RESERVED_NICKS
        .iter()
        .any(|reserved| nick_key(reserved) == key)
    {
        return Err(NickError::Reserved);
    }
    Ok(nick)
}

/// Every nickname rule that needs no Unicode tables, applied to the trimmed
/// input: what a client checks before sending, so that a person hears about
/// a space or a missing name at once. It accepts a few names the server then
/// refuses (NFKC can lengthen a name; `аdmin` with a Cyrillic `а` is reserved
/// by look), so the server's answer still counts. Keeping the tables out of
/// the web client keeps its bundle small.
pub fn precheck_nick(input: &str) -> Result<String, NickError> {
    let nick = input.trim();
    check_nick_syntax(nick)?;
    if RESERVED_NICKS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(nick))
    {
        return Err(NickError::Reserved);
    }
    Ok(nick.to_owned())
}

fn check_nick_syntax(nick: &str) -> Result<(), NickError> {
    let Some(first) = nick.chars().next() else {
        return Err(NickError::Empty);
    };
    if nick.chars().count() > MAX_NICK_CHARS {
        return Err(NickError::TooLong);
    }
    if let Some(bad) = nick.chars().find(|&c| !is_visible_name_char(c)) {
        return Err(NickError::BadCharacter(bad));
    }
    if matches!(first, '/' | '#' | '@' | '*' | '!') {
        return Err(NickError::BadStart(first));
    }
    Ok(())
}

/// The identity of a nickname for uniqueness: two nicknames with the same key
/// cannot be present at once. Case-insensitive, and confusables (UTS #39
/// skeleton: Cyrillic `а` and Latin `a`, `l` and `I`) collapse to one key.
pub fn nick_key(nick: &str) -> String {
    let folded: String = nick.to_lowercase();
    skeleton(&folded).collect::<String>().to_lowercase()
}

fn is_visible_name_char(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || is_format_char(c))
}

/// Bidirectional controls and zero-width characters: invisible, and able to
/// make one name look like another or reorder the text around it.
fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Why a room name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomError {
    Empty,
    TooLong,
    BadCharacter(char),
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomError::Empty => write!(f, "a room name cannot be empty"),
            RoomError::TooLong => write!(f, "a room name has at most {MAX_ROOM_CHARS} characters"),
            RoomError::BadCharacter(c) => write!(
                f,
                "a room name uses letters a-z, digits, '-' and '_', and starts with a letter or digit (found {c:?})"
            ),
        }
    }
}

/// Checks a room name and returns its canonical form: an optional leading `#`
/// dropped, ASCII lowercased. Room names appear in URLs and terminal lines, so
/// they are plain ASCII: `[a-z0-9][a-z0-9_-]*`, at most 32 characters.
pub fn normalize_room(input: &str) -> Result<String, RoomError> {
    let trimmed = input.trim();
    let name = trimmed.strip_prefix('#').unwrap_or(trimmed);
    let room = name.to_ascii_lowercase();
    let Some(first) = room.chars().next() else {
        return Err(RoomError::Empty);
    };
    if room.chars().count() > MAX_ROOM_CHARS {
        return Err(RoomError::TooLong);
    }
    if !first.is_ascii_alphanumeric() {
        return Err(RoomError::BadCharacter(first));
    }
    if let Some(bad) = room
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(RoomError::BadCharacter(bad));
    }
    Ok(room)
}

/// Why a chat text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    Empty,
    /// The text's length in bytes.
    TooLong(usize),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Empty => write!(f, "a message cannot be empty"),
            TextError::TooLong(len) => write!(
                f,
                "a message has at most {MAX_TEXT_BYTES} bytes; this one has {len}"
            ),
        }
    }
}

/// Checks a chat text: not blank, at most [`MAX_TEXT_BYTES`] bytes of UTF-8.
/// The text is kept as written (line breaks included); display is the
/// receiving side's business.
pub fn validate_text(text: &str) -> Result<(), TextError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(TextError::TooLong(text.len()));
    }
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    Ok(())
}

/// How many more bytes `text` may grow before it hits the limit (negative
/// when it is already over). The web client shows this near the limit.
pub fn text_bytes_left(text: &str) -> isize {
    MAX_TEXT_BYTES as isize - text.len() as isize
}

/// Checks a client-chosen message id: 1 to [`MAX_ID_BYTES`] bytes.
pub fn validate_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_trimmed_and_normalized() {
        assert_eq!(normalize_nick("  alice ").unwrap(), "alice");
        assert_eq!(normalize_nick("ａｌｉｃｅ").unwrap(), "alice");
        assert_eq!(normalize_nick("Zoë").unwrap(), "Zoë");
        assert_eq!(normalize_nick("李小龙").unwrap(), "李小龙");
        assert_eq!(normalize_nick(&"x".repeat(32)).unwrap().len(), 32);
    }

    #[test]
    fn bad_nicknames_are_refused_with_a_reason() {
        assert_eq!(normalize_nick("   "), Err(NickError::Empty));
        assert_eq!(normalize_nick(&"x".repeat(33)), Err(NickError::TooLong));
        assert_eq!(normalize_nick("al ice"), Err(NickError::BadCharacter(' ')));
        assert_eq!(
            normalize_nick("al\u{200B}ice"),
            Err(NickError::BadCharacter('\u{200B}'))
        );
        assert_eq!(
            normalize_nick("evil\u{202E}txt"),
            Err(NickError::BadCharacter('\u{202E}'))
        );
        assert_eq!(
            normalize_nick("a\u{7}"),
            Err(NickError::BadCharacter('\u{7}'))
        );
        assert_eq!(normalize_nick("/nick"), Err(NickError::BadStart('/')));
        assert_eq!(normalize_nick("Server"), Err(NickError::Reserved));
        assert_eq!(normalize_nick("ADMIN"), Err(NickError::Reserved));
        // Every error reads as a sentence.
        assert!(NickError::TooLong.to_string().contains("32"));
    }

    #[test]
    fn the_client_precheck_agrees_with_the_server_on_plain_names() {
        for name in [
            "alice",
            " bob ",
            "Zoë",
            "李小龙",
            "a b",
            "",
            "/x",
            "Admin",
            &"x".repeat(33),
        ] {
            assert_eq!(precheck_nick(name), normalize_nick(name), "{name:?}");
        }
        // The server alone knows look-alikes and compatibility forms.
        assert!(precheck_nick("\u{0430}dmin").is_ok());
        assert_eq!(normalize_nick("\u{0430}dmin"), Err(NickError::Reserved));
    }

    #[test]
    fn nick_keys_fold_case_and_confusables() {
        assert_eq!(nick_key("Alice"), nick_key("alice"));
        assert_eq!(nick_key("ALICE"), nick_key("alice"));
        // Cyrillic 'а' (U+0430) looks like Latin 'a'.
        assert_eq!(nick_key("\u{0430}lice"), nick_key("alice"));
        assert_ne!(nick_key("alice"), nick_key("bob"));
        assert_ne!(nick_key("alice"), nick_key("alice2"));
    }

    #[test]
    fn room_names_are_canonical_ascii() {
        assert_eq!(normalize_room("lobby").unwrap(), "lobby");
        assert_eq!(normalize_room("#Rust").unwrap(), "rust");
        assert_eq!(normalize_room(" dev-ops_2 ").unwrap(), "dev-ops_2");
        assert_eq!(normalize_room(""), Err(RoomError::Empty));
        assert_eq!(normalize_room("#"), Err(RoomError::Empty));
        assert_eq!(normalize_room(&"r".repeat(33)), Err(RoomError::TooLong));
        assert_eq!(normalize_room("-x"), Err(RoomError::BadCharacter('-')));
        assert_eq!(normalize_room("a b"), Err(RoomError::BadCharacter(' ')));
        assert_eq!(normalize_room("../etc"), Err(RoomError::BadCharacter('.')));
        assert_eq!(normalize_room("café"), Err(RoomError::BadCharacter('é')));
    }

    #[test]
    fn text_limit_is_in_bytes() {
        assert!(validate_text("hi").is_ok());
        assert!(validate_text("line one\nline two").is_ok());
        assert!(validate_text(&"x".repeat(MAX_TEXT_BYTES)).is_ok());
        assert_eq!(
            validate_text(&"x".repeat(MAX_TEXT_BYTES + 1)),
            Err(TextError::TooLong(MAX_TEXT_BYTES + 1))
        );
        // 1,366 three-byte characters are 4,098 bytes.
        assert!(validate_text(&"€".repeat(1366)).is_err());
        assert_eq!(validate_text(" \n\t"), Err(TextError::Empty));
        assert_eq!(text_bytes_left("€"), MAX_TEXT_BYTES as isize - 3);
    }

    #[test]
    fn ids_are_short_and_present() {
        assert!(validate_id("c1"));
        assert!(!validate_id(""));
        assert!(!validate_id(&"i".repeat(MAX_ID_BYTES + 1)));
    }
}
