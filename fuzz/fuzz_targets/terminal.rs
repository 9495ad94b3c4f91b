//! What a terminal sends the terminal door, before it is a line: telnet's
//! commands filtered out, then the stream split into lines of at most a
//! limit. A stream read in any pieces gives the same bytes and lines as read
//! whole, no line is longer than the limit or holds a line feed, and text
//! without telnet's IAC byte passes untouched.

#![no_main]

use backend::fuzzing::{Line, LineReader, TelnetFilter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [limit, cut, stream @ ..] = data else {
        return;
    };
    // Small limits, so that long lines are common.
    let max = usize::from(*limit);
    let cut = usize::from(*cut).max(1);

    let mut whole = Vec::new();
    TelnetFilter::default().filter(stream, &mut whole);
    let mut filter = TelnetFilter::default();
    let mut pieces = Vec::new();
    for chunk in stream.chunks(cut) {
        filter.filter(chunk, &mut pieces);
    }
    assert_eq!(pieces, whole);
    assert!(whole.len() <= stream.len());
    if !stream.contains(&0xff) {
        assert_eq!(whole, stream);
    }

    let mut at_once = Vec::new();
    LineReader::new(max).feed(stream, &mut at_once);
    let mut reader = LineReader::new(max);
    let mut in_pieces = Vec::new();
    for chunk in stream.chunks(cut) {
        reader.feed(chunk, &mut in_pieces);
    }
    assert_eq!(in_pieces, at_once);
    for line in &at_once {
        if let Line::Text(text) = line {
            assert!(
                text.len() <= max,
                "{} bytes over a limit of {max}",
                text.len()
            );
            assert!(!text.contains('\n'));
        }
    }
    // One line per line feed that survives the filter, and a line too long
    // is told before its end comes: at most one more.
    let feeds = whole.iter().filter(|&&b| b == b'\n').count();
    assert!(at_once.len() <= feeds + 1);
});
