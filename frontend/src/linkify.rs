//! Finding links and mentions in chat text. Only `http://`, `https://` and
//! `mailto:` ever become links (shared/HARDENING.md); everything else,
//! `javascript:` and `data:` included, stays text. A mention is `@name` as
//! `shared::protocol::mentions` reads it. [`render`] shows a message's text:
//! a [`Segment::Link`] as an `<a>` whose `href` is exactly the link's text, a
//! [`Segment::Mention`] as a `<span class="mention">` (`mention--me` when it
//! names the person), the rest as text nodes.

use yew::{Html, html};

use crate::lowercase::lowercase;

/// A piece of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Link(&'a str),
    /// `@name`, with its `@`.
    Mention(&'a str),
}

/// [`segments`], with the mentions in the text between links split out.
/// Text without an `@` costs one scan more than [`segments`].
pub fn pieces(text: &str) -> Vec<Segment<'_>> {
    let parts = segments(text);
    if !text.contains('@') {
        return parts;
    }
    let mut out = Vec::with_capacity(parts.len() + 2);
    for part in parts {
        match part {
            Segment::Text(plain) => split_mentions(plain, &mut out),
            other => out.push(other),
        }
    }
    out
}

/// Pushes `plain` as text and mentions, in order.
fn split_mentions<'a>(plain: &'a str, out: &mut Vec<Segment<'a>>) {
    let mut from = 0;
    let mut word_at = 0;
    // Words as `shared::protocol::mentions` splits them: at whitespace.
    for (at, c) in plain.char_indices().chain([(plain.len(), ' ')]) {
        if !c.is_whitespace() {
            continue;
        }
        if let Some((start, end)) = mention_in(&plain[word_at..at]) {
            let (start, end) = (word_at + start, word_at + end);
            if from < start {
                out.push(Segment::Text(&plain[from..start]));
            }
            out.push(Segment::Mention(&plain[start..end]));
            from = end;
        }
        word_at = at + c.len_utf8();
    }
    if from < plain.len() {
        out.push(Segment::Text(&plain[from..]));
    }
}

/// Where the `@name` of a word is (from its `@` to the end of the name),
/// if the word is a mention.
fn mention_in(word: &str) -> Option<(usize, usize)> {
    let start = word.len() - word.trim_start_matches(['(', '[', '"', '\'']).len();
    let mention = shared::protocol::mentions(&word[start..]).next()?;
    Some((start, start + 1 + mention.len()))
}

/// Whether the mention `name` (without its `@`) names `me`: nicknames
/// compare without case, ASCII in wasm and the rest by the browser
/// (`lowercase`).
pub fn names_me(name: &str, me: &str) -> bool {
    name.eq_ignore_ascii_case(me)
        || (!(name.is_ascii() && me.is_ascii()) && lowercase(name) == lowercase(me))
}

/// Whether `text` mentions `me`.
pub fn mentions_me(text: &str, me: &str) -> bool {
    text.contains('@') && shared::protocol::mentions(text).any(|name| names_me(name, me))
}

/// A message's text as the view shows it: text nodes, links and mentions,
/// never markup.
pub fn render(text: &str, me: Option<&str>) -> Html {
    pieces(text)
        .into_iter()
        .map(|piece| match piece {
            Segment::Text(text) => html! { { text } },
            Segment::Link(href) => html! {
                <a href={href.to_owned()} target="_blank" rel="noopener noreferrer">{ href }</a>
            },
            Segment::Mention(at) => {
                let mine = me.is_some_and(|me| names_me(&at[1..], me));
                let class = if mine {
                    "mention mention--me"
                } else {
                    "mention"
                };
                html! { <span {class}>{ at }</span> }
            }
        })
        .collect()
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
    use Segment::{Link, Mention, Text};

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
                    Text(t) | Link(t) | Mention(t) => *t,
                })
                .collect();
            assert_eq!(joined, text);
        }
    }

    #[test]
    fn mentions_are_split_out_as_the_server_reads_them() {
        assert_eq!(
            pieces("@ada, look (@bob) at https://x.y/@c mail@example.org"),
            [
                Mention("@ada"),
                Text(", look ("),
                Mention("@bob"),
                Text(") at "),
                Link("https://x.y/@c"),
                Text(" mail@example.org"),
            ]
        );
        assert_eq!(
            pieces("hi @Zoë.\n@x @"),
            [
                Text("hi "),
                Mention("@Zoë"),
                Text(".\n"),
                Mention("@x"),
                Text(" @"),
            ]
        );
        assert_eq!(pieces("no at sign"), [Text("no at sign")]);
        // Every mention the server counts is one the view shows.
        for text in ["@a @b, (@c) \"@d\" x@y @e!?", "@ada: @ada"] {
            let shown: Vec<&str> = pieces(text)
                .iter()
                .filter_map(|p| match p {
                    Mention(m) => Some(&m[1..]),
                    _ => None,
                })
                .collect();
            let counted: Vec<&str> = shared::protocol::mentions(text).collect();
            assert_eq!(shown, counted, "{text}");
        }
    }

    #[test]
    fn a_mention_names_me_whatever_the_case() {
        assert!(names_me("ADA", "ada"));
        assert!(names_me("Zoë", "zoë"));
        assert!(names_me("ÉMILE", "émile"));
        assert!(!names_me("adam", "ada"));
        assert!(mentions_me("ping @Ada!", "ada"));
        assert!(!mentions_me("ada@example.org", "ada"));
        assert!(!mentions_me("@adam", "ada"));
    }
}
