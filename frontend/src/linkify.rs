//! Finding links in chat text. Only `http://`, `https://` and `mailto:` ever
//! become links (shared/HARDENING.md); everything else, `javascript:` and
//! `data:` included, stays text. The view renders [`Segment::Link`] as an
//! `<a>` whose `href` is exactly the link's text, and the rest as text nodes.

/// A piece of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Link(&'a str),
}

const SCHEMES: [&str; 3] = ["https://", "http://", "mailto:"];

/// Splits `text` into text and links, in order; joined, the segments give
/// back `text` exactly.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut plain_from = 0;
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        if let Some(len) = link_at(text, at) {
            if plain_from < at {
                out.push(Segment::Text(&text[plain_from..at]));
            }
            out.push(Segment::Link(&text[at..at + len]));
            at += len;
            plain_from = at;
            continue;
        }
        at += rest.chars().next().map_or(1, char::len_utf8);
    }
    if plain_from < text.len() {
        out.push(Segment::Text(&text[plain_from..]));
    }
    out
}

/// The length of the link starting at byte `at`, if one does.
fn link_at(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    let scheme = SCHEMES.iter().find(|s| {
        rest.get(..s.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(s))
    })?;
    // A scheme glued to a word (`xhttp://`, `a/https://`) is not a link.
    if let Some(prev) = text[..at].chars().next_back()
        && (word_char(prev) || "/@.-_+=:%&?#~".contains(prev))
    {
        return None;
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || c.is_control() || "<>\"`".contains(c))
        .unwrap_or(rest.len());
    let link = trim_trailing(&rest[..end]);
    let body = link.get(scheme.len()..)?;
    let valid = if scheme.starts_with("mailto") {
        body.split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty())
    } else {
        body.chars()
            .next()
            .is_some_and(|c| word_char(c) || c == '[')
    };
    valid.then_some(link.len())
}

/// A letter or digit, or any character outside ASCII but a space: close
/// enough here, and it keeps Unicode's tables out of the bundle.
fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || !(c.is_ascii() || c.is_whitespace())
}

/// Drops what usually ends the sentence rather than the link: `.`, `,`, `!`
/// and the like, quotes, and closing brackets that open nowhere in the link
/// (`(see https://x.org/a_(b))` keeps the `)` of `a_(b)`).
fn trim_trailing(link: &str) -> &str {
    let mut link = link;
    loop {
        let Some(last) = link.chars().next_back() else {
            return link;
        };
        let unbalanced =
            |open: char, close: char| link.matches(close).count() > link.matches(open).count();
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' => true,
            ')' => unbalanced('(', ')'),
            ']' => unbalanced('[', ']'),
            '}' => unbalanced('{', '}'),
            _ => false,
        };
        if !drop {
            return link;
        }
        link = &link[..link.len() - last.len_utf8()];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::{Link, Text};

    #[test]
    fn finds_http_https_and_mailto_links() {
        assert_eq!(
            segments("see https://example.org/a?b=1#c now"),
            [
                Text("see "),
                Link("https://example.org/a?b=1#c"),
                Text(" now")
            ]
        );
        assert_eq!(segments("http://x.y"), [Link("http://x.y")]);
        assert_eq!(
            segments("mail mailto:bob@example.org."),
            [Text("mail "), Link("mailto:bob@example.org"), Text(".")]
        );
        assert_eq!(
            segments("HTTPS://EXAMPLE.ORG"),
            [Link("HTTPS://EXAMPLE.ORG")]
        );
        assert_eq!(
            segments("two: http://a.b\nhttps://c.d"),
            [
                Text("two: "),
                Link("http://a.b"),
                Text("\n"),
                Link("https://c.d")
            ]
        );
    }

    #[test]
    fn other_schemes_stay_text() {
        for text in [
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "ftp://example.org",
            "file:///etc/passwd",
            "vbscript:msgbox",
            "JaVaScRiPt:alert(1)",
        ] {
            assert_eq!(segments(text), [Text(text)], "{text}");
        }
    }

    #[test]
    fn half_links_and_glued_schemes_stay_text() {
        for text in [
            "https://",
            "http:// x",
            "mailto:",
            "mailto:@x",
            "mailto:bob@",
            "xhttps://a.b",
            "https:///etc",
            "http://.evil",
        ] {
            assert_eq!(segments(text), [Text(text)], "{text}");
        }
        // A link ends at a quote or angle bracket: it cannot carry markup.
        assert_eq!(
            segments("<https://a.b/\"onclick=x>"),
            [Text("<"), Link("https://a.b/"), Text("\"onclick=x>")]
        );
    }

    #[test]
    fn sentence_punctuation_is_not_part_of_the_link() {
        assert_eq!(
            segments("(see https://en.wikipedia.org/wiki/Rust_(language)), ok?"),
            [
                Text("(see "),
                Link("https://en.wikipedia.org/wiki/Rust_(language)"),
                Text("), ok?")
            ]
        );
        assert_eq!(
            segments("go to https://a.b/c!"),
            [Text("go to "), Link("https://a.b/c"), Text("!")]
        );
        assert_eq!(
            segments("'https://a.b'"),
            [Text("'"), Link("https://a.b"), Text("'")]
        );
    }

    #[test]
    fn segments_join_back_to_the_text() {
        for text in [
            "",
            "plain",
            "ünïcödé https://ex.org/ä and mailto:a@b.c!",
            "https://a.b https://c.d",
            "<b>bold</b> https://x.y/<script>",
        ] {
            let joined: String = segments(text)
                .iter()
                .map(|s| match s {
                    Text(t) | Link(t) => *t,
                })
                .collect();
            assert_eq!(joined, text);
        }
    }
}
