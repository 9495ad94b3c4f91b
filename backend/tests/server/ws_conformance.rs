//! RFC 6455 at the `/ws` door, spoken byte by byte over a plain TCP socket:
//! the handshake and every frame are written here, masked as a client must,
//! so that no client library smooths over a rule. Each test checks the
//! close code the server answers with, that it then closes the TCP
//! connection, and that a client who was there before is still served.
//! docs/conformance.md lists the rules and these tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use shared::ServerMsg;
use shared::limits::{MAX_FRAGMENTS, MAX_FRAME_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::support::{Client, PATIENCE, TestServer};

const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const RSV2: u8 = 0x20;
const RSV3: u8 = 0x10;
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// The masking key of RFC 6455 §5.7's examples: not zero, so a server that
/// forgot to unmask would read garbage.
const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// A client frame: `first` is FIN, RSV and the opcode; the payload is
/// masked and its length in the shortest encoding.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first];
    match payload.len() {
        len @ 0..=125 => bytes.push(0x80 | u8::try_from(len).unwrap()),
        len @ 126..=0xFFFF => {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        }
        len => {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&u64::try_from(len).unwrap().to_be_bytes());
        }
    }
    bytes.extend_from_slice(&MASK);
    bytes.extend(
        payload
            .iter()
            .zip(MASK.iter().cycle())
            .map(|(byte, key)| byte ^ key),
    );
    bytes
}

/// A close frame's payload: the code, then the reason.
fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    payload
}

/// A frame from the server: its first byte and its payload.
#[derive(Debug)]
struct ServerFrame {
    first: u8,
    payload: Vec<u8>,
}

impl ServerFrame {
    fn opcode(&self) -> u8 {
        self.first & 0x0F
    }
}

/// The server's close frame, parsed.
#[derive(Debug, PartialEq, Eq)]
struct Close {
    code: u16,
    reason: String,
}

/// A WebSocket opened and spoken byte by byte. It asks for no subprotocol:
/// the plain-text mode, whose text frames are chat messages to the lobby.
struct Raw {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
}

impl Raw {
    async fn open(server: &TestServer) -> Self {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            server.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // The response up to the blank line, a byte at a time so that no
        // frame after it is swallowed.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            tokio::time::timeout(PATIENCE, stream.read_exact(&mut byte))
                .await
                .expect("no handshake response in time")
                .unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        // RFC 6455 §1.3's key and its accept value.
        assert!(
            head.to_ascii_lowercase()
                .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
            "{head}"
        );
        let (reader, writer) = stream.into_split();
        Self { reader, writer }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// Sends `bytes` from a task of its own, for more than the server may
    /// read before it closes: the writes may fail once it has, and the
    /// reading goes on meanwhile.
    fn send_regardless(self, bytes: Vec<u8>) -> OwnedReadHalf {
        let mut writer = self.writer;
        tokio::spawn(async move {
            let _ = writer.write_all(&bytes).await;
            // Kept open: a half-closed socket is not what is tested.
            std::future::pending::<()>().await;
        });
        self.reader
    }

    async fn next_frame(&mut self) -> ServerFrame {
        next_frame(&mut self.reader).await
    }

    /// The next frame that is not one of the server's own texts or pings.
    async fn next_answer(&mut self) -> ServerFrame {
        loop {
            let frame = self.next_frame().await;
            if !matches!(frame.opcode(), TEXT | PING) {
                return frame;
            }
        }
    }

    /// Reads until the server's close frame and then the end of the TCP
    /// connection.
    async fn closed(self) -> Close {
        closed(self.reader).await
    }
}

/// Reads one server frame, which must come in time and be unmasked.
async fn next_frame(reader: &mut OwnedReadHalf) -> ServerFrame {
    tokio::time::timeout(PATIENCE, async {
        let mut header = [0u8; 2];
        reader
            .read_exact(&mut header)
            .await
            .expect("the connection ended before a close frame");
        assert_eq!(header[1] & 0x80, 0, "a server's frames are never masked");
        let len = match header[1] & 0x7F {
            126 => {
                let mut ext = [0u8; 2];
                reader.read_exact(&mut ext).await.unwrap();
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                reader.read_exact(&mut ext).await.unwrap();
                u64::from_be_bytes(ext)
            }
            len => u64::from(len),
        };
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        reader.read_exact(&mut payload).await.unwrap();
        ServerFrame {
            first: header[0],
            payload,
        }
    })
    .await
    .expect("no frame from the server in time")
}

async fn closed(mut reader: OwnedReadHalf) -> Close {
    let close = loop {
        let frame = next_frame(&mut reader).await;
        match frame.opcode() {
            CLOSE => break frame,
            TEXT | PING => continue,
            other => panic!("expected a close frame, got opcode {other:#x}: {frame:?}"),
        }
    };
    assert_eq!(close.first, FIN | CLOSE);
    assert!(close.payload.len() >= 2, "a close frame without a code");
    let code = u16::from_be_bytes([close.payload[0], close.payload[1]]);
    let reason = String::from_utf8(close.payload[2..].to_vec()).expect("a reason in UTF-8");
    // Then the server closes the TCP connection (RFC 6455 §7.1.1): the end
    // of the stream, or a reset for what it left unread.
    let mut rest = [0u8; 1024];
    let end = tokio::time::timeout(PATIENCE, reader.read(&mut rest))
        .await
        .expect("the server kept the TCP connection open");
    assert!(
        matches!(end, Ok(0) | Err(_)),
        "the server sent more after its close frame: {end:?}"
    );
    Close { code, reason }
}

/// A server with a typed client in the lobby, who must still be served
/// after whatever a raw connection does.
struct Scene {
    server: TestServer,
    bystander: Client,
}

impl Scene {
    async fn start() -> Self {
        let server = TestServer::start().await;
        let bystander = Client::joined(&server, "bystander").await;
        Self { server, bystander }
    }

    /// The server's answer to `bytes` sent on a new connection.
    async fn answer(&self, bytes: &[u8]) -> Close {
        let mut raw = Raw::open(&self.server).await;
        raw.send(bytes).await;
        raw.closed().await
    }

    /// Asserts that the server answers `bytes` with `code`, for `case`.
    async fn refuses(&self, case: &str, bytes: &[u8], code: u16) -> Close {
        let close = self.answer(bytes).await;
        assert_eq!(close.code, code, "{case}: {close:?}");
        close
    }

    /// The bystander still chats, and the server still opens connections.
    async fn still_serving(mut self) {
        self.bystander.say("b1", "still here").await;
        self.bystander
            .recv_until(|m| {
                matches!(m, ServerMsg::Message(message)
                    if message.nick == "bystander" && message.text == "still here")
            })
            .await;
        let mut raw = Raw::open(&self.server).await;
        raw.send(&frame(FIN | PING, b"alive?")).await;
        let pong = raw.next_answer().await;
        assert_eq!((pong.opcode(), &pong.payload[..]), (PONG, &b"alive?"[..]));
        self.server.stop().await.unwrap();
    }
}

// RFC 6455 §5.6 and §8.1: text is UTF-8, checked over the whole message.

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let scene = Scene::start().await;
    let cases: [(&str, &[u8]); 5] = [
        ("a lone continuation byte", b"\x80"),
        ("a truncated sequence", b"caf\xC3"),
        ("an overlong slash", b"\xC0\xAF"),
        ("a surrogate", b"\xED\xA0\x80"),
        ("past U+10FFFF", b"\xF4\x90\x80\x80"),
    ];
    for (case, text) in cases {
        let close = scene.refuses(case, &frame(FIN | TEXT, text), 1007).await;
        assert_eq!(close.reason, "invalid UTF-8 in a text frame");
    }
    scene.still_serving().await;
}

#[tokio::test]
async fn invalid_utf8_split_across_fragments_closes_with_1007() {
    let scene = Scene::start().await;
    // Each fragment is a valid start; only together are they wrong.
    let mut bytes = frame(TEXT, b"caf\xC3");
    bytes.extend(frame(FIN | CONTINUATION, b"\x28 au lait"));
    scene.refuses("a split character", &bytes, 1007).await;
    // A message that ends inside a character.
    let mut bytes = frame(TEXT, b"ok ");
    bytes.extend(frame(FIN | CONTINUATION, b"\xE2\x82"));
    scene.refuses("an unfinished character", &bytes, 1007).await;
    scene.still_serving().await;
}

#[tokio::test]
async fn invalid_utf8_in_a_close_reason_closes_with_1007() {
    let scene = Scene::start().await;
    let payload = close_payload(1000, b"bye \xFF");
    scene
        .refuses("a close reason", &frame(FIN | CLOSE, &payload), 1007)
        .await;
    scene.still_serving().await;
}

// RFC 6455 §5.1: a client masks every frame.

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    let scene = Scene::start().await;
    let close = scene
        .refuses("unmasked text", &[FIN | TEXT, 0x02, b'h', b'i'], 1002)
        .await;
    assert_eq!(close.reason, "protocol error");
    scene
        .refuses("unmasked ping", &[FIN | PING, 0x01, b'p'], 1002)
        .await;
    scene.still_serving().await;
}

// RFC 6455 §5.5: control frames are never fragmented and carry at most 125
// bytes.

#[tokio::test]
async fn a_fragmented_control_frame_closes_with_1002() {
    let scene = Scene::start().await;
    scene
        .refuses("ping without FIN", &frame(PING, b"ping"), 1002)
        .await;
    scene
        .refuses("pong without FIN", &frame(PONG, b"pong"), 1002)
        .await;
    let close = close_payload(1000, b"");
    scene
        .refuses("close without FIN", &frame(CLOSE, &close), 1002)
        .await;
    scene.still_serving().await;
}

#[tokio::test]
async fn a_control_frame_over_125_bytes_closes_with_1002() {
    let scene = Scene::start().await;
    scene
        .refuses("a 126-byte ping", &frame(FIN | PING, &[b'p'; 126]), 1002)
        .await;
    scene
        .refuses("a 126-byte pong", &frame(FIN | PONG, &[b'p'; 126]), 1002)
        .await;
    let close = close_payload(1000, &[b'r'; 124]);
    scene
        .refuses("a 126-byte close", &frame(FIN | CLOSE, &close), 1002)
        .await;
    scene.still_serving().await;
}

// RFC 6455 §5.2: reserved opcodes and bits mean nothing without an
// extension, and Hubbub negotiates none.

#[tokio::test]
async fn a_reserved_opcode_closes_with_1002() {
    let scene = Scene::start().await;
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        let case = format!("opcode {opcode:#x}");
        scene.refuses(&case, &frame(FIN | opcode, b"?"), 1002).await;
    }
    scene.still_serving().await;
}

#[tokio::test]
async fn a_reserved_bit_closes_with_1002() {
    let scene = Scene::start().await;
    for (case, rsv) in [("RSV1", RSV1), ("RSV2", RSV2), ("RSV3", RSV3)] {
        scene
            .refuses(case, &frame(FIN | rsv | TEXT, b"hi"), 1002)
            .await;
        let ping = format!("{case} on a ping");
        scene
            .refuses(&ping, &frame(FIN | rsv | PING, b""), 1002)
            .await;
    }
    scene.still_serving().await;
}

// RFC 6455 §5.4: a fragmented message is its first frame, continuations,
// and a final one, never interleaved with another message.

#[tokio::test]
async fn a_continuation_without_a_start_closes_with_1002() {
    let scene = Scene::start().await;
    scene
        .refuses(
            "a final continuation",
            &frame(FIN | CONTINUATION, b"x"),
            1002,
        )
        .await;
    scene
        .refuses("an open continuation", &frame(CONTINUATION, b"x"), 1002)
        .await;
    // A whole message does not leave one open.
    let mut bytes = frame(FIN | TEXT, b"whole");
    bytes.extend(frame(FIN | CONTINUATION, b"x"));
    scene.refuses("after a whole message", &bytes, 1002).await;
    scene.still_serving().await;
}

#[tokio::test]
async fn a_new_message_inside_a_fragmented_one_closes_with_1002() {
    let scene = Scene::start().await;
    for (case, opcode) in [("text", TEXT), ("binary", BINARY)] {
        let mut bytes = frame(TEXT, b"first half");
        bytes.extend(frame(FIN | opcode, b"another"));
        scene.refuses(case, &bytes, 1002).await;
    }
    scene.still_serving().await;
}

// RFC 6455 §7.4.1 (1009) and §10.4: the server bounds what it reads.

#[tokio::test]
async fn a_frame_over_the_limit_closes_with_1009() {
    let scene = Scene::start().await;
    let raw = Raw::open(&scene.server).await;
    let reader = raw.send_regardless(frame(FIN | TEXT, &vec![b'x'; MAX_FRAME_BYTES + 1]));
    let close = closed(reader).await;
    assert_eq!(
        close,
        Close {
            code: 1009,
            reason: "message too large".into()
        }
    );
    scene.still_serving().await;
}

#[tokio::test]
async fn a_message_over_the_limit_in_fragments_closes_with_1009() {
    let scene = Scene::start().await;
    // Each frame is well under the limit; the message is not.
    let half = MAX_FRAME_BYTES / 2 + 1;
    let mut bytes = frame(TEXT, &vec![b'x'; half]);
    bytes.extend(frame(FIN | CONTINUATION, &vec![b'y'; half]));
    let raw = Raw::open(&scene.server).await;
    let close = closed(raw.send_regardless(bytes)).await;
    assert_eq!(close.code, 1009, "{close:?}");
    scene.still_serving().await;
}

#[tokio::test]
async fn a_continuation_flood_closes_with_1009() {
    let scene = Scene::start().await;
    let mut bytes = frame(TEXT, b"x");
    for _ in 0..10_000 {
        bytes.extend(frame(CONTINUATION, b"x"));
    }
    let raw = Raw::open(&scene.server).await;
    let close = closed(raw.send_regardless(bytes)).await;
    assert_eq!(
        close,
        Close {
            code: 1009,
            reason: "message sent in too many fragments".into()
        }
    );
    // Empty fragments cost the server as much, for no bytes at all.
    let mut bytes = frame(TEXT, b"");
    for _ in 0..MAX_FRAGMENTS {
        bytes.extend(frame(CONTINUATION, b""));
    }
    scene.refuses("empty fragments", &bytes, 1009).await;
    scene.still_serving().await;
}

#[tokio::test]
async fn a_message_in_as_many_fragments_as_allowed_arrives_whole() {
    let mut scene = Scene::start().await;
    let mut raw = Raw::open(&scene.server).await;
    let mut bytes = frame(TEXT, b"0");
    for i in 1..MAX_FRAGMENTS {
        let first = if i + 1 == MAX_FRAGMENTS { FIN } else { 0 };
        bytes.extend(frame(
            first | CONTINUATION,
            format!("{}", i % 10).as_bytes(),
        ));
    }
    raw.send(&bytes).await;
    let expected: String = (0..MAX_FRAGMENTS).map(|i| format!("{}", i % 10)).collect();
    let message = scene.bystander.next_message().await;
    assert_eq!(message.text, expected);
    assert!(message.nick.starts_with("guest-"), "{}", message.nick);
    scene.still_serving().await;
}

// RFC 6455 §5.5.1 and §7: the closing handshake.

#[tokio::test]
async fn a_client_close_is_echoed_and_the_server_closes_the_connection() {
    let scene = Scene::start().await;
    let payload = close_payload(1000, b"good night");
    let close = scene.answer(&frame(FIN | CLOSE, &payload)).await;
    assert_eq!(
        close,
        Close {
            code: 1000,
            reason: "good night".into()
        }
    );
    // An application's own code (RFC 6455 §7.4.2) is echoed as it is.
    let payload = close_payload(4000, b"");
    assert_eq!(scene.answer(&frame(FIN | CLOSE, &payload)).await.code, 4000);
    scene.still_serving().await;
}

#[tokio::test]
async fn a_close_without_a_code_is_answered_with_one() {
    // RFC 6455 §7.1.5: an empty close is a close with no status, 1005 as
    // the server sees it; its answer must still be a well-formed frame.
    let scene = Scene::start().await;
    let mut raw = Raw::open(&scene.server).await;
    raw.send(&frame(FIN | CLOSE, b"")).await;
    let answer = raw.next_answer().await;
    assert_eq!(answer.opcode(), CLOSE);
    assert!(
        answer.payload.is_empty() || answer.payload.len() >= 2,
        "{answer:?}"
    );
    scene.still_serving().await;
}

#[tokio::test]
async fn a_close_with_a_code_no_endpoint_may_send_closes_with_1002() {
    // RFC 6455 §7.4.1: 1005, 1006 and 1015 are never sent; §7.4.2: below
    // 1000 and 1016–2999 are not to be used (1004 is reserved); 5000 and
    // above are not close codes at all.
    let scene = Scene::start().await;
    for code in [
        0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000, 65535,
    ] {
        let payload = close_payload(code, b"");
        let case = format!("close code {code}");
        scene
            .refuses(&case, &frame(FIN | CLOSE, &payload), 1002)
            .await;
    }
    scene.still_serving().await;
}

#[tokio::test]
async fn a_close_with_a_one_byte_payload_closes_with_1002() {
    let scene = Scene::start().await;
    scene
        .refuses("a 1-byte close", &frame(FIN | CLOSE, &[0x03]), 1002)
        .await;
    scene.still_serving().await;
}

// RFC 6455 §5.5.2, §5.5.3 and §5.4: a ping is answered with its payload,
// even between the fragments of a message.

#[tokio::test]
async fn a_ping_is_answered_with_a_pong_of_the_same_payload() {
    let scene = Scene::start().await;
    let mut raw = Raw::open(&scene.server).await;
    for payload in [&b""[..], b"hello", &[0xA5; 125]] {
        raw.send(&frame(FIN | PING, payload)).await;
        let pong = raw.next_answer().await;
        assert_eq!(pong.first, FIN | PONG);
        assert_eq!(pong.payload, payload);
    }
    // An unsolicited pong is allowed and needs no answer (§5.5.3): the
    // next ping's pong is the next answer.
    raw.send(&frame(FIN | PONG, b"unasked")).await;
    raw.send(&frame(FIN | PING, b"after")).await;
    assert_eq!(raw.next_answer().await.payload, b"after");
    scene.still_serving().await;
}

#[tokio::test]
async fn a_ping_between_fragments_is_answered_and_the_message_arrives_whole() {
    let mut scene = Scene::start().await;
    let mut raw = Raw::open(&scene.server).await;
    // "é" is split between the fragments, as a client that cuts by bytes
    // may split it.
    raw.send(&frame(TEXT, b"caf\xC3")).await;
    raw.send(&frame(FIN | PING, b"mid-message")).await;
    let pong = raw.next_answer().await;
    assert_eq!(
        (pong.opcode(), &pong.payload[..]),
        (PONG, &b"mid-message"[..])
    );
    raw.send(&frame(CONTINUATION, b"\xA9 au")).await;
    raw.send(&frame(FIN | PONG, b"")).await;
    raw.send(&frame(FIN | CONTINUATION, b" lait")).await;
    let message = scene.bystander.next_message().await;
    assert_eq!(message.text, "café au lait");
    assert!(message.nick.starts_with("guest-"), "{}", message.nick);
    scene.still_serving().await;
}
