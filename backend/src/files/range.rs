//! One HTTP `Range` header against a file of known size (RFC 9110 §14), so
//! that an interrupted download resumes. Only single ranges are served; a
//! request for several, or a header that does not parse, gets the whole file,
//! as the RFC allows.

/// What part of the file to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// All of it (200).
    Whole,
    /// Bytes `start..=end` (206).
    Range { start: u64, end: u64 },
    /// Nothing the file has (416).
    Unsatisfiable,
}

/// The part `header` asks for in a file of `size` bytes.
pub fn part(header: Option<&str>, size: u64) -> Part {
    let Some(header) = header else {
        return Part::Whole;
    };
    let Some((unit, spec)) = header.trim().split_once('=') else {
        return Part::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Part::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Part::Whole;
    };
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // `-N`: the last N bytes.
        (true, false) => match number(last) {
            Some(0) => Part::Unsatisfiable,
            Some(_) if size == 0 => Part::Unsatisfiable,
            Some(n) => Part::Range {
                start: size.saturating_sub(n),
                end: size - 1,
            },
            None => Part::Whole,
        },
        // `N-` or `N-M`.
        (false, open) => {
            let Some(start) = number(first) else {
                return Part::Whole;
            };
            let end = if open {
                u64::MAX
            } else {
                match number(last) {
                    Some(end) if end >= start => end,
                    _ => return Part::Whole,
                }
            };
            if start >= size {
                Part::Unsatisfiable
            } else {
                Part::Range {
                    start,
                    end: end.min(size - 1),
                }
            }
        }
        (true, true) => Part::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_are_served() {
        let range = |start, end| Part::Range { start, end };
        assert_eq!(part(Some("bytes=0-99"), 1000), range(0, 99));
        assert_eq!(part(Some("bytes=500-"), 1000), range(500, 999));
        assert_eq!(part(Some("bytes=-100"), 1000), range(900, 999));
        assert_eq!(part(Some("bytes=-5000"), 1000), range(0, 999));
        assert_eq!(part(Some("bytes=990-5000"), 1000), range(990, 999));
        assert_eq!(part(Some("Bytes = 1-1"), 1000), range(1, 1));
    }

    #[test]
    fn what_the_file_lacks_is_unsatisfiable() {
        assert_eq!(part(Some("bytes=1000-"), 1000), Part::Unsatisfiable);
        assert_eq!(part(Some("bytes=1000-2000"), 1000), Part::Unsatisfiable);
        assert_eq!(part(Some("bytes=-0"), 1000), Part::Unsatisfiable);
        assert_eq!(part(Some("bytes=0-"), 0), Part::Unsatisfiable);
        assert_eq!(part(Some("bytes=-1"), 0), Part::Unsatisfiable);
    }

    #[test]
    fn anything_else_gets_the_whole_file() {
        for header in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=+1-2",
            "bytes 0-1",
            "",
        ] {
            assert_eq!(part(Some(header), 1000), Part::Whole, "{header}");
        }
        assert_eq!(part(None, 1000), Part::Whole);
    }
}
