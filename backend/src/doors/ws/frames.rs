//! The server's own frames, written straight to the socket.
//!
//! tungstenite reads the client's frames and answers its pings and its close.
//! What the connection says itself (events, pings, replies) bypasses
//! tungstenite's write buffer: each frame's header goes beside its payload in
//! one vectored write. The payloads are the events' shared bytes, so nothing
//! is copied on the way to the kernel, and a quiet connection keeps no write
//! buffer (tungstenite's keeps the capacity of the largest write it made,
//! about 1 KiB per idle connection in rooms of 100).
//!
//! The two writers never interleave: the connection flushes tungstenite
//! before writing here (a pong it queued may be half written), and nothing
//! reads, so nothing answers, while a write here is under way.

use std::io::{self, IoSlice};

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// A frame the server sends on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Frame {
    /// A text frame's payload: UTF-8, as every event's encoding is.
    Text(Bytes),
    Ping,
}

impl Frame {
    fn len(&self) -> usize {
        self.payload().len()
    }

    fn payload(&self) -> &[u8] {
        match self {
            Frame::Text(text) => text,
            Frame::Ping => &[],
        }
    }

    fn header(&self) -> Header {
        let opcode = match self {
            Frame::Text(_) => OPCODE_TEXT,
            Frame::Ping => OPCODE_PING,
        };
        Header::new(opcode, self.len())
    }
}

const FIN: u8 = 0x80;
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_PING: u8 = 0x9;

/// The header of a final, unmasked frame (RFC 6455 §5.2): a server's frames
/// are never masked, and Hubbub never fragments them.
struct Header {
    bytes: [u8; 10],
    len: usize,
}

impl Header {
    fn new(opcode: u8, payload: usize) -> Self {
        let mut bytes = [0; 10];
        bytes[0] = FIN | opcode;
        let len = if payload < 126 {
            // Fits in the seven bits of the length field.
            bytes[1] = payload as u8;
            2
        } else if let Ok(short) = u16::try_from(payload) {
            bytes[1] = 126;
            bytes[2..4].copy_from_slice(&short.to_be_bytes());
            4
        } else {
            bytes[1] = 127;
            bytes[2..10].copy_from_slice(&(payload as u64).to_be_bytes());
            10
        };
        Self { bytes, len }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Writes the frames in order, with as few system calls as the socket
/// allows, then flushes.
pub(super) async fn write_frames<W>(io: &mut W, frames: &[Frame]) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let headers: Vec<Header> = frames.iter().map(Frame::header).collect();
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(frames.len() * 2);
    for (header, frame) in headers.iter().zip(frames) {
        slices.push(IoSlice::new(header.as_slice()));
        if frame.len() > 0 {
            slices.push(IoSlice::new(frame.payload()));
        }
    }
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let written = io.write_vectored(rest).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, written);
    }
    io.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt as _;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// What a WebSocket client (tungstenite, as a client) reads from the
    /// bytes `write_frames` produced: one message per frame.
    async fn read_back(frames: &[Frame]) -> Vec<Message> {
        let (mut server, client) = tokio::io::duplex(1 << 20);
        write_frames(&mut server, frames).await.unwrap();
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        // The server's end stays open: the client answers the ping.
        let read = client.take(frames.len()).collect::<Vec<_>>().await;
        drop(server);
        read.into_iter().map(Result::unwrap).collect()
    }

    #[tokio::test]
    async fn a_client_reads_frames_of_every_length_encoding() {
        // 7-bit, 16-bit and 64-bit lengths, at and around their edges.
        let texts: Vec<String> = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]
            .into_iter()
            .map(|len| "é".repeat(len / 2) + &"x".repeat(len % 2))
            .collect();
        let mut frames: Vec<Frame> = texts
            .iter()
            .map(|text| Frame::Text(Bytes::from(text.clone())))
            .collect();
        frames.insert(2, Frame::Ping);
        let read = read_back(&frames).await;
        let mut expected: Vec<Message> = texts
            .into_iter()
            .map(|text| Message::Text(text.into()))
            .collect();
        expected.insert(2, Message::Ping(Default::default()));
        assert_eq!(read, expected);
    }

    /// A writer that takes at most a few bytes per call, as a full socket
    /// does: every partial write must resume where it stopped.
    struct Trickle {
        written: Vec<u8>,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let take = buf.len().min(3);
            self.written.extend_from_slice(&buf[..take]);
            std::task::Poll::Ready(Ok(take))
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn partial_writes_resume_where_they_stopped() {
        let frames = [
            Frame::Text("hello".into()),
            Frame::Ping,
            Frame::Text("x".repeat(300).into()),
        ];
        let mut whole = Vec::new();
        write_frames(&mut whole, &frames).await.unwrap();
        let mut trickle = Trickle {
            written: Vec::new(),
        };
        write_frames(&mut trickle, &frames).await.unwrap();
        assert_eq!(trickle.written, whole);
        assert_eq!(&whole[..7], b"\x81\x05hello");
        assert_eq!(&whole[7..9], b"\x89\x00");
        assert_eq!(&whole[9..13], b"\x81\x7e\x01\x2c", "300 in 16 bits");
    }
}
