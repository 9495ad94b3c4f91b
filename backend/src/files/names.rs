//! File names as uploaders give them, made safe to store and to show.
//!
//! A name never becomes a path: blobs are named by their hash. It is still
//! shown to people (in chat, in `Content-Disposition`, in terminals), so it
//! is cleaned of what could mislead or break those: path separators, NUL and
//! every control character, and leading and trailing dots and spaces. It is
//! at most [`MAX_NAME_BYTES`] bytes, cut on a character boundary, and never
//! empty.

/// The longest name kept, in bytes (what most file systems allow, so a
/// downloaded file can keep its name).
pub const MAX_NAME_BYTES: usize = 255;
/// The name of a file whose own name cleans away to nothing.
pub const FALLBACK: &str = "file";

/// The name to store for `raw`. Only the last path component counts
/// (browsers on Windows once sent `C:\Users\…\photo.png`); what is left of
/// separators and controls inside it goes.
pub fn clean(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let kept: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .collect();
    let trimmed = trim_ends(&kept);
    let mut name = String::with_capacity(trimmed.len().min(MAX_NAME_BYTES));
    for c in trimmed.chars() {
        if name.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        name.push(c);
    }
    // The cut can end the name on a space or a dot.
    name.truncate(trim_ends(&name).len());
    if name.is_empty() {
        FALLBACK.to_owned()
    } else {
        name
    }
}

/// Without dots and whitespace at either end, in one pass: leading dots
/// would make a hidden file (or `..`) of a download, trailing dots and
/// spaces are dropped by Windows anyway, and trimming one kind after the
/// other left ` . .x` as `.x`. What is left starts where the text did, once
/// leading whitespace and dots are gone.
fn trim_ends(text: &str) -> &str {
    let is_trimmed = |c: char| c.is_whitespace() || c == '.';
    text.trim_end_matches(is_trimmed)
        .trim_start_matches(is_trimmed)
}

/// Bidirectional overrides and isolates: they make `gpj.exe` show as
/// `exe.jpg` (the "RLO" trick). Zero-width characters go too.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_keeps_only_its_last_part() {
        assert_eq!(clean("../../etc/passwd"), "passwd");
        assert_eq!(clean("C:\\Users\\ann\\photo.png"), "photo.png");
        assert_eq!(clean("/"), FALLBACK);
        assert_eq!(clean(".."), FALLBACK);
        assert_eq!(clean("dir/"), FALLBACK);
    }

    #[test]
    fn controls_and_tricks_are_removed() {
        assert_eq!(clean("a\0b\nc\u{1b}[31m.txt"), "abc[31m.txt");
        assert_eq!(clean("\u{202e}gpj.exe"), "gpj.exe");
        assert_eq!(clean("  .hidden  "), "hidden");
        assert_eq!(clean("report.pdf. . "), "report.pdf");
        assert_eq!(clean(""), FALLBACK);
        assert_eq!(clean("\u{7}\u{0}"), FALLBACK);
        assert_eq!(clean("café ☕.png"), "café ☕.png");
    }

    #[test]
    fn no_dot_or_space_is_left_at_either_end() {
        // Found by the `file_name` fuzz target: dots and spaces taken off
        // one kind at a time left a hidden file's name.
        assert_eq!(clean(" . .x"), "x");
        assert_eq!(clean(". \u{3000}.bashrc"), "bashrc");
        assert_eq!(clean("x. \u{a0}."), "x");
        // A cut at the limit that ends on a space or a dot.
        let name = clean(&format!("{} b", "a".repeat(MAX_NAME_BYTES - 1)));
        assert_eq!(name, "a".repeat(MAX_NAME_BYTES - 1));
        let name = clean(&format!("{}.txt", "a".repeat(MAX_NAME_BYTES - 1)));
        assert_eq!(name, "a".repeat(MAX_NAME_BYTES - 1));
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let name = clean(&"é".repeat(200));
        assert_eq!(name.len(), 254);
        assert!(name.chars().all(|c| c == 'é'));
        assert_eq!(clean(&"a".repeat(300)).len(), MAX_NAME_BYTES);
    }
}
