//! Keeping other people's text from driving a terminal.

use std::borrow::Cow;

use super::LINE_BREAK;

/// Removes what could drive a terminal: ANSI escape sequences (CSI
/// `ESC [ … final`, OSC `ESC ] … BEL|ESC \`, other `ESC x`, a lone ESC), the
/// C1 controls (U+0080–U+009F, CSI and OSC included) and the C0 controls and
/// DEL. A tab becomes a space and a line break (LF, CR LF or CR) becomes
/// [`LINE_BREAK`]. Text without any of those is borrowed as it is.
pub fn strip_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push(LINE_BREAK),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push(LINE_BREAK);
                }
            }
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                // `ESC x`: a two-character sequence; the x goes too, unless
                // it is text of its own (a control starts a new sequence).
                Some(&next) if !is_control(next) => {
                    chars.next();
                }
                _ => {}
            },
            // C1 CSI and OSC/DCS/…: sequences of their own.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c.is_control()
}

/// Skips a CSI sequence's parameters and intermediates (0x20–0x3F) and its
/// final byte (0x40–0x7E). Anything else ends it early, unconsumed unless it
/// is a control.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            return;
        }
    }
}

/// Skips an OSC (or DCS, APC…) string up to its terminator: BEL, ST (`ESC \`
/// or U+009C), or the end of the text.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_escapes_are_stripped() {
        assert!(matches!(strip_controls("plain text é"), Cow::Borrowed(_)));
        assert_eq!(strip_controls("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(strip_controls("bell\u{7}!"), "bell!");
        assert_eq!(strip_controls("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(strip_controls("a\u{1b}]0;title\u{1b}\\b"), "ab");
        assert_eq!(strip_controls("a\u{1b}[2J\u{1b}[Hb"), "ab");
        assert_eq!(strip_controls("a\u{1b}"), "a");
        assert_eq!(strip_controls("a\u{1b}cb"), "ab");
        assert_eq!(strip_controls("a\u{9b}31mb"), "ab");
        assert_eq!(strip_controls("a\u{85}b\u{0}c\u{7f}"), "abc");
        assert_eq!(strip_controls("a\tb"), "a b");
        assert_eq!(
            strip_controls("one\ntwo\r\nthree\rfour"),
            "one⏎two⏎three⏎four"
        );
        // An unterminated OSC swallows the rest, never the terminal.
        assert_eq!(strip_controls("a\u{1b}]52;c;AAAA"), "a");
    }
}
