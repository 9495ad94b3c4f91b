//! Splits a terminal's byte stream into lines, with a bounded buffer.
//!
//! Telnet's commands are removed first ([`super::telnet`]).
//!
//! A line ends at LF (a CR before it is dropped, so CR LF works too). A line
//! longer than the limit is reported once as [`Line::TooLong`] and the rest of
//! it is discarded up to the next LF: the buffer never holds more than the
//! limit. A line that is not UTF-8 is reported as [`Line::InvalidUtf8`]. In
//! both cases the next line is read as usual.
//!
//! Not `tokio_util`'s `LinesCodec`: it decodes UTF-8 itself, and any decoder
//! error ends a `FramedRead` stream, where both mistakes must be one error
//! line and the connection must go on.

use super::telnet::TelnetFilter;

/// One line from a terminal.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(String),
    TooLong,
    InvalidUtf8,
}

pub struct LineReader {
    telnet: TelnetFilter,
    /// What one read holds once telnet's commands are removed.
    text: Vec<u8>,
    buf: Vec<u8>,
    /// The current line was too long: skip to its end.
    discarding: bool,
    max: usize,
}

impl LineReader {
    /// A reader of lines of at most `max` bytes (line ending not counted).
    pub fn new(max: usize) -> Self {
        Self {
            telnet: TelnetFilter::default(),
            text: Vec::new(),
            buf: Vec::new(),
            discarding: false,
            max,
        }
    }

    /// Takes bytes read from the socket; appends the lines they complete.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Line>) {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        self.telnet.filter(data, &mut text);
        self.split(&text, out);
        self.text = text;
    }

    fn split(&mut self, mut data: &[u8], out: &mut Vec<Line>) {
        while !data.is_empty() {
            let Some(end) = data.iter().position(|&b| b == b'\n') else {
                if !self.discarding {
                    // One more byte than the limit: a CR that a LF may follow.
                    if self.buf.len() + data.len() > self.max + 1 {
                        self.too_long(out);
                    } else {
                        self.buf.extend_from_slice(data);
                    }
                }
                return;
            };
            let head = &data[..end];
            data = &data[end + 1..];
            if self.discarding {
                self.discarding = false;
                continue;
            }
            // At most the limit and one read: the buffer is bounded.
            let mut bytes = std::mem::take(&mut self.buf);
            bytes.extend_from_slice(head);
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            if bytes.len() > self.max {
                out.push(Line::TooLong);
                continue;
            }
            out.push(match String::from_utf8(bytes) {
                Ok(text) => Line::Text(text),
                Err(_) => Line::InvalidUtf8,
            });
        }
    }

    fn too_long(&mut self, out: &mut Vec<Line>) {
        self.buf = Vec::new();
        self.discarding = true;
        out.push(Line::TooLong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(reader: &mut LineReader, chunks: &[&[u8]]) -> Vec<Line> {
        let mut out = Vec::new();
        for chunk in chunks {
            reader.feed(chunk, &mut out);
        }
        out
    }

    fn text(s: &str) -> Line {
        Line::Text(s.to_owned())
    }

    #[test]
    fn lf_and_crlf_end_lines_across_reads() {
        let mut reader = LineReader::new(10);
        assert_eq!(
            read(&mut reader, &[b"one\ntw", b"o\r", b"\nthree\r\n", b"\n"]),
            [text("one"), text("two"), text("three"), text("")]
        );
        assert_eq!(read(&mut reader, &[b"part"]), []);
        assert_eq!(read(&mut reader, &[b"ial\n"]), [text("partial")]);
    }

    #[test]
    fn long_lines_are_one_error_and_the_next_line_is_read() {
        let mut reader = LineReader::new(10);
        assert_eq!(
            read(&mut reader, &[b"0123456789\r\n", b"0123456789x\nok\n"]),
            [text("0123456789"), Line::TooLong, text("ok")]
        );
        // Arriving in pieces, the buffer never holds more than the limit.
        let out = read(&mut reader, &[b"01234567", b"89abcdef", b"more", b"\nok\n"]);
        assert_eq!(out, [Line::TooLong, text("ok")]);
        assert!(reader.buf.capacity() <= 64);
    }

    #[test]
    fn invalid_utf8_is_an_error_line() {
        let mut reader = LineReader::new(10);
        assert_eq!(
            read(&mut reader, &[b"a\xe9b\n", b"\xc3\n", "é\n".as_bytes()]),
            [Line::InvalidUtf8, Line::InvalidUtf8, text("é")]
        );
    }

    #[test]
    fn telnet_commands_are_not_text() {
        let mut reader = LineReader::new(10);
        // What `telnet` may send: negotiation, then a line with Ctrl-C in it.
        assert_eq!(
            read(
                &mut reader,
                &[b"\xff\xfb\x18\xff\xfd\x03hel", b"lo\xff\xf4\r\n"]
            ),
            [text("hello")]
        );
    }
}
