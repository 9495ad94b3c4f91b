//! The fragments of the message a client is sending, counted under
//! tungstenite.
//!
//! tungstenite hands over whole messages and puts no bound on how many
//! frames one is made of: only the message's bytes are bounded, so 10,000
//! one-byte continuation frames (or any number of empty ones) are 10,000
//! frames parsed for one message. [`Fragments`] sits between the socket and
//! tungstenite and follows the frame headers in the bytes it passes on,
//! without buffering or copying them. The frame that takes a message past
//! [`MAX_FRAGMENTS`] is never handed over: the read ends there with
//! [`TooManyFragments`], after tungstenite has had every byte before it.
//!
//! Whether the frames are otherwise valid is tungstenite's business; this
//! only needs to know where each frame starts.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use shared::limits::MAX_FRAGMENTS;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The error a read ends with once a message has too many fragments.
#[derive(Debug, thiserror::Error)]
#[error("a message in more than {MAX_FRAGMENTS} fragments")]
pub(super) struct TooManyFragments;

impl TooManyFragments {
    /// Whether `error`, as tungstenite passes on a read's failure, is this.
    pub(super) fn is(error: &io::Error) -> bool {
        error.get_ref().is_some_and(|inner| inner.is::<Self>())
    }
}

/// A socket whose reads stop at a message's fragment past the limit.
pub(super) struct Fragments<S> {
    inner: S,
    scan: Scan,
}

impl<S> Fragments<S> {
    pub(super) fn new(inner: S) -> Self {
        Self {
            inner,
            scan: Scan::default(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Fragments<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.scan.exceeded {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TooManyFragments,
            )));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Some(at) = this.scan.follow(&buf.filled()[before..]) {
            if at == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    TooManyFragments,
                )));
            }
            // What came before the frame is read as usual; the next read
            // fails.
            buf.set_filled(before + at);
        }
        Poll::Ready(Ok(()))
    }
}

/// Writes pass straight through: the server's own frames are written past
/// tungstenite, vectored ([`super::frames`]).
impl<S: AsyncWrite + Unpin> AsyncWrite for Fragments<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Where reading the client's bytes, handed over in `pieces`, stops: the
/// offset of the first byte of the frame that takes a message past the
/// limit. For the fuzz target, which checks that it does not depend on how
/// the bytes are cut.
pub fn stop_in<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Option<usize> {
    let mut scan = Scan::default();
    let mut offset = 0;
    for piece in pieces {
        if let Some(at) = scan.follow(piece) {
            return Some(offset + at);
        }
        offset += piece.len();
    }
    None
}

/// Where the bytes read so far leave the client's frames (RFC 6455 §5.2).
#[derive(Debug, Default)]
struct Scan {
    /// The header being read: two bytes, an extended length of 0, 2 or 8,
    /// and a mask of 4 when the mask bit is set.
    header: [u8; 14],
    /// Bytes of `header` read; 0 at the start of a frame.
    have: usize,
    /// Bytes of the current frame's payload still to come.
    left: u64,
    /// Data frames of the message in progress, 0 between messages.
    fragments: usize,
    /// Set when a message went past the limit: every read from then on
    /// fails.
    exceeded: bool,
}

impl Scan {
    /// Follows `bytes`, the next ones from the client. Returns the offset
    /// of the first byte of a frame that takes its message past the limit.
    fn follow(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut at = 0;
        while at < bytes.len() {
            if self.left > 0 {
                let rest = bytes.len() - at;
                let skip = usize::try_from(self.left).map_or(rest, |left| left.min(rest));
                // `skip` is at most `left`, so it fits in a u64.
                self.left -= skip as u64;
                at += skip;
                continue;
            }
            let byte = bytes[at];
            if self.have == 0 && !self.admit(byte) {
                self.exceeded = true;
                return Some(at);
            }
            self.header[self.have] = byte;
            self.have += 1;
            at += 1;
            if let Some(payload) = self.payload_len() {
                self.left = payload;
                self.have = 0;
            }
        }
        None
    }

    /// Counts a frame by its first byte (FIN and opcode); false for one
    /// that takes its message past the limit.
    fn admit(&mut self, first: u8) -> bool {
        const FIN: u8 = 0x80;
        const CONTROL: u8 = 0x08;
        const CONTINUATION: u8 = 0x00;
        let fin = first & FIN != 0;
        let opcode = first & 0x0F;
        if opcode & CONTROL != 0 {
            // Control frames may come between fragments and are no part of
            // the message.
            return true;
        }
        if opcode == CONTINUATION {
            // A continuation without a start is tungstenite's to refuse.
            if self.fragments > 0 {
                self.fragments += 1;
                if self.fragments > MAX_FRAGMENTS {
                    return false;
                }
            }
        } else {
            self.fragments = 1;
        }
        if fin {
            self.fragments = 0;
        }
        true
    }

    /// The payload's length once the header is complete.
    fn payload_len(&self) -> Option<u64> {
        if self.have < 2 {
            return None;
        }
        let second = self.header[1];
        let extended = match second & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if second & 0x80 != 0 { 4 } else { 0 };
        if self.have < 2 + extended + mask {
            return None;
        }
        let ext = &self.header[2..2 + extended];
        Some(match *ext {
            [a, b] => u64::from(u16::from_be_bytes([a, b])),
            [a, b, c, d, e, f, g, h] => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => u64::from(second & 0x7F),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    /// A masked client frame (mask 0: the payload as it is).
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![first];
        match payload.len() {
            len @ 0..=125 => bytes.push(0x80 | len as u8),
            len @ 126..=0xFFFF => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(payload);
        bytes
    }

    const TEXT: u8 = 0x01;
    const CONT: u8 = 0x00;
    const PING: u8 = 0x09;
    const FIN: u8 = 0x80;

    /// A text message in `n` fragments of `payload` each.
    fn message(n: usize, payload: &[u8]) -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                let opcode = if i == 0 { TEXT } else { CONT };
                let fin = if i + 1 == n { FIN } else { 0 };
                frame(fin | opcode, payload)
            })
            .collect()
    }

    #[test]
    fn a_message_at_the_limit_passes_and_one_more_fragment_is_refused() {
        let mut scan = Scan::default();
        assert_eq!(scan.follow(&message(MAX_FRAGMENTS, b"x")), None);
        assert_eq!(scan.fragments, 0, "the message ended");

        let mut scan = Scan::default();
        let over = message(MAX_FRAGMENTS + 1, b"x");
        let last = frame(FIN | CONT, b"x").len();
        assert_eq!(scan.follow(&over), Some(over.len() - last));
        assert!(scan.exceeded);
    }

    #[test]
    fn the_count_starts_again_with_every_message() {
        let mut scan = Scan::default();
        for _ in 0..10 {
            assert_eq!(scan.follow(&message(MAX_FRAGMENTS, b"")), None);
        }
        // Unfragmented messages count nothing.
        let singles: Vec<u8> = (0..1_000).flat_map(|_| frame(FIN | TEXT, b"hi")).collect();
        assert_eq!(scan.follow(&singles), None);
    }

    #[test]
    fn control_frames_between_fragments_are_not_counted() {
        let mut bytes = frame(TEXT, b"a");
        for _ in 1..MAX_FRAGMENTS - 1 {
            bytes.extend(frame(PING, b"p"));
            bytes.extend(frame(CONT, b"b"));
        }
        bytes.extend(frame(PING, &[7; 125]));
        bytes.extend(frame(FIN | CONT, b"c"));
        assert_eq!(Scan::default().follow(&bytes), None);
    }

    #[test]
    fn headers_and_payloads_split_anywhere_are_followed() {
        // Every length encoding, fed a byte at a time and in uneven pieces.
        let mut bytes = Vec::new();
        for len in [0, 1, 125, 126, 300, 65_535, 65_536, 70_000] {
            bytes.extend(frame(TEXT, &vec![b'x'; len]));
            bytes.extend(frame(FIN | CONT, b"end"));
        }
        bytes.extend(message(MAX_FRAGMENTS + 1, b"y"));
        let over = bytes.len() - frame(FIN | CONT, b"y").len();
        for piece in [1, 2, 3, 7, 13, 256, 4096] {
            let mut scan = Scan::default();
            let mut found = None;
            for (i, chunk) in bytes.chunks(piece).enumerate() {
                if let Some(at) = scan.follow(chunk) {
                    found = Some(i * piece + at);
                    break;
                }
            }
            assert_eq!(found, Some(over), "in pieces of {piece}");
        }
    }

    #[test]
    fn an_unmasked_header_is_followed_too() {
        // tungstenite refuses it, but the scan must not lose its place
        // before it does.
        let mut bytes = vec![TEXT, 3, b'a', b'b', b'c'];
        bytes.extend(message(MAX_FRAGMENTS + 1, b""));
        let over = bytes.len() - frame(FIN | CONT, b"").len();
        assert_eq!(Scan::default().follow(&bytes), Some(over));
    }

    #[tokio::test]
    async fn reads_stop_before_the_frame_past_the_limit_and_then_fail() {
        let mut bytes = frame(FIN | TEXT, b"whole");
        bytes.extend(message(MAX_FRAGMENTS + 1, b"z"));
        let before = bytes.len() - frame(FIN | CONT, b"z").len();
        let mut socket = Fragments::new(&bytes[..]);
        let mut read = Vec::new();
        let mut chunk = [0; 100];
        let error = loop {
            match socket.read(&mut chunk).await {
                Ok(0) => panic!("the read ended without an error"),
                Ok(n) => read.extend_from_slice(&chunk[..n]),
                Err(error) => break error,
            }
        };
        assert!(TooManyFragments::is(&error), "{error}");
        assert_eq!(read[..], bytes[..before]);
        let again = socket.read(&mut chunk).await.unwrap_err();
        assert!(TooManyFragments::is(&again));
    }
}
