//! IRC lines as the client writes them, and the lengths IRC allows.
//!
//! A line is `[@tags ]` `[:prefix ]` `COMMAND` then parameters, the last of
//! which may start with `:` and hold spaces (RFC 1459 §2.3, IRCv3
//! message-tags). Of a client's tags Hubbub reads `+typing`; the rest are
//! ignored. This module also writes what goes in the server's tags: escaped
//! values and `server-time` stamps.

/// The longest line without its tags, CR LF included (RFC 1459).
pub(super) const MAX_LINE: usize = 512;
/// The longest tag section a client may send, `@` and the space after it
/// included (IRCv3 message-tags).
pub(super) const MAX_CLIENT_TAGS: usize = 4096;

/// One line from a client.
#[derive(Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The tags as written, without the `@`; empty when none.
    pub tags: &'a str,
    /// The command, upper-cased (`PRIVMSG`), or a numeric as written.
    pub command: String,
    pub params: Vec<&'a str>,
}

/// Why a line is not a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Nothing but spaces (or tags): IRC ignores it.
    Empty,
    /// Over [`MAX_LINE`] bytes without its tags, or its tags over
    /// [`MAX_CLIENT_TAGS`].
    TooLong,
}

/// Reads one line (without its CR LF).
pub fn parse(line: &str) -> Result<Message<'_>, Refused> {
    let mut rest = line;
    let mut tags = "";
    if let Some(tagged) = rest.strip_prefix('@') {
        let (written, after) = tagged.split_once(' ').unwrap_or((tagged, ""));
        if written.len() + 2 > MAX_CLIENT_TAGS {
            return Err(Refused::TooLong);
        }
        tags = written;
        rest = after;
    }
    rest = rest.trim_start_matches(' ');
    // CR LF is not in `line` but counts against the limit.
    if rest.len() + 2 > MAX_LINE {
        return Err(Refused::TooLong);
    }
    if let Some(prefixed) = rest.strip_prefix(':') {
        rest = prefixed.split_once(' ').map_or("", |(_, after)| after);
        rest = rest.trim_start_matches(' ');
    }
    let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if command.is_empty() {
        return Err(Refused::Empty);
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            params.push(trailing);
            break;
        }
        let (param, after) = rest.split_once(' ').unwrap_or((rest, ""));
        params.push(param);
        rest = after;
    }
    Ok(Message {
        tags,
        command: command.to_ascii_uppercase(),
        params,
    })
}

impl Message<'_> {
    /// A tag's value, unescaped (`Some("")` for a tag without one).
    pub fn tag(&self, key: &str) -> Option<String> {
        self.tags.split(';').find_map(|tag| {
            let (name, value) = tag.split_once('=').unwrap_or((tag, ""));
            (name == key).then(|| unescape_tag(value))
        })
    }
}

/// A tag value as IRCv3 writes it: `;`, space, `\`, CR and LF escaped.
pub fn escape_tag(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_tag(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            // A lone backslash at the end is dropped.
            None => {}
        }
    }
    out
}

/// A `server-time` stamp: UTC to the millisecond, `2026-12-05T13:48:23.123Z`.
pub(super) fn stamp(ts_millis: i64) -> String {
    let nanos = i128::from(ts_millis) * 1_000_000;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Reads a stamp a client sent (RFC 3339, as `server-time` writes them),
/// in milliseconds since the epoch.
pub(super) fn parse_stamp(text: &str) -> Option<i64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Splits `text` into pieces of at most `max` bytes, each ending on a
/// UTF-8 character boundary (a piece holds at least one character).
pub(super) fn split_at_boundaries(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut end = max;
        while end > 0 && !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // One character longer than `max`: it goes whole.
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (piece, after) = rest.split_at(end);
        pieces.push(piece);
        rest = after;
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_command_and_parameters() {
        let msg = parse("privmsg #lobby :hello there").unwrap();
        assert_eq!(msg.command, "PRIVMSG");
        assert_eq!(msg.params, ["#lobby", "hello there"]);
        let msg = parse("@+typing=active;label=x :ada!a@h TAGMSG  #lobby").unwrap();
        assert_eq!(msg.command, "TAGMSG");
        assert_eq!(msg.params, ["#lobby"]);
        let msg = parse("USER ada 0 * :Ada Lovelace").unwrap();
        assert_eq!(msg.params, ["ada", "0", "*", "Ada Lovelace"]);
        assert_eq!(parse("PRIVMSG #a :").unwrap().params, ["#a", ""]);
        assert_eq!(parse("   "), Err(Refused::Empty));
        assert_eq!(parse("@a=b"), Err(Refused::Empty));
    }

    #[test]
    fn lines_over_the_limit_are_refused() {
        let text = "x".repeat(MAX_LINE - 2 - "PRIVMSG #a :".len());
        assert!(parse(&format!("PRIVMSG #a :{text}")).is_ok());
        assert_eq!(
            parse(&format!("PRIVMSG #a :{text}y")),
            Err(Refused::TooLong)
        );
        // Tags do not count against the 512 bytes.
        let tags = format!("@+x={}", "t".repeat(1000));
        assert!(parse(&format!("{tags} PRIVMSG #a :{text}")).is_ok());
        let tags = format!("@+x={}", "t".repeat(MAX_CLIENT_TAGS));
        assert_eq!(parse(&format!("{tags} PING x")), Err(Refused::TooLong));
    }

    #[test]
    fn tags_are_read_and_written_escaped() {
        let msg = parse("@+typing=active;label=a\\sb\\:c;flag TAGMSG #a").unwrap();
        assert_eq!(msg.tag("+typing").as_deref(), Some("active"));
        assert_eq!(msg.tag("label").as_deref(), Some("a b;c"));
        assert_eq!(msg.tag("flag").as_deref(), Some(""));
        assert_eq!(msg.tag("msgid"), None);
        assert_eq!(escape_tag("a b;c\\"), "a\\sb\\:c\\\\");
        assert_eq!(unescape_tag(&escape_tag("x ;\\\r\n")), "x ;\\\r\n");
    }

    #[test]
    fn stamps_are_utc_to_the_millisecond() {
        assert_eq!(stamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(stamp(1_796_478_503_123), "2026-12-05T13:48:23.123Z");
        assert_eq!(
            parse_stamp("2026-12-05T13:48:23.123Z"),
            Some(1_796_478_503_123)
        );
        assert_eq!(parse_stamp(&stamp(1_234_567)), Some(1_234_567));
        assert_eq!(parse_stamp("yesterday"), None);
    }

    #[test]
    fn texts_split_on_character_boundaries() {
        assert_eq!(split_at_boundaries("abcdef", 4), ["abcd", "ef"]);
        // é is two bytes: never cut in half.
        assert_eq!(split_at_boundaries("aéé", 4), ["aé", "é"]);
        assert_eq!(split_at_boundaries("", 4), Vec::<&str>::new());
        for piece in split_at_boundaries(&"日本語".repeat(100), 100) {
            assert!(piece.len() <= 100);
        }
    }
}
