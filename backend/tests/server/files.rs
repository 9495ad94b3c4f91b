//! File sharing: uploads over raw HTTP as curl and browsers send them,
//! downloads with their headers and ranges, the announcement in the room for
//! WebSocket and terminal users, and every refusal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use shared::ServerMsg;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    Client, HttpResponse, PATIENCE, TestServer, http_get, http_post, parse_response,
};
use crate::tcp::Nc;

const BOUNDARY: &str = "hubbub-test-boundary-7MA4YWxkTrZu0gW";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

/// One upload as a client sends it.
struct Upload<'a> {
    room: &'a str,
    /// The bearer token it signs in with.
    token: Option<&'a str>,
    /// A `nick` field, which older clients sent: ignored now.
    nick: Option<&'a str>,
    name: &'a str,
    /// The part's own `Content-Type`, which the server must not trust.
    part_type: &'a str,
    /// The `Origin` a browser would send.
    origin: Option<&'a str>,
}

impl<'a> Upload<'a> {
    /// An upload signed in with `token` (an account's session or a
    /// connected guest's).
    fn new(token: &'a str, name: &'a str) -> Self {
        Self {
            room: "lobby",
            token: Some(token),
            nick: None,
            name,
            part_type: "application/octet-stream",
            origin: None,
        }
    }

    /// The multipart body around the file's bytes.
    fn envelope(&self) -> (Vec<u8>, Vec<u8>) {
        let mut prefix = String::new();
        if let Some(nick) = self.nick {
            prefix.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"nick\"\r\n\r\n{nick}\r\n"
            ));
        }
        prefix.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            self.name, self.part_type
        ));
        (
            prefix.into_bytes(),
            format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
        )
    }

    /// Opens a connection and sends the request head and the body's
    /// prefix; the file's bytes and the suffix are the caller's.
    async fn start(&self, server: &TestServer, size: u64) -> (TcpStream, Vec<u8>) {
        let (prefix, suffix) = self.envelope();
        let length = prefix.len() as u64 + size + suffix.len() as u64;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let origin = self
            .origin
            .map(|origin| format!("Origin: {origin}\r\n"))
            .unwrap_or_default();
        let auth = self
            .token
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST /api/rooms/{}/files HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{origin}{auth}\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n",
            self.room, server.addr
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&prefix).await.unwrap();
        (stream, suffix)
    }

    async fn send(&self, server: &TestServer, content: &[u8]) -> HttpResponse {
        self.send_chunks(
            server,
            content.len() as u64,
            std::iter::once(content.to_vec()),
        )
        .await
    }

    async fn send_chunks(
        &self,
        server: &TestServer,
        size: u64,
        chunks: impl Iterator<Item = Vec<u8>>,
    ) -> HttpResponse {
        let (mut stream, suffix) = self.start(server, size).await;
        for chunk in chunks {
            // A server that refused early stops reading; its answer is
            // what counts.
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(&suffix).await;
        read_response(stream).await
    }
}

/// The response, even if the server reset the connection after sending it.
async fn read_response(mut stream: TcpStream) -> HttpResponse {
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("no HTTP response in time");
    assert!(!raw.is_empty(), "no HTTP response at all");
    parse_response(&raw)
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.text()))
}

/// An error answer: the status, and a sentence under `error`.
fn assert_problem(response: &HttpResponse, status: u16, words: &str) {
    assert_eq!(response.status, status, "{}", response.text());
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let error = json(response)["error"].as_str().unwrap().to_owned();
    assert!(error.contains(words), "{error:?} lacks {words:?}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `size` bytes that do not repeat, in chunks of 64 KiB, the same for the
/// same seed.
fn noise(seed: u64, size: u64) -> impl Iterator<Item = Vec<u8>> {
    let mut state = seed | 1;
    let mut left = size;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(64 * 1024);
        left -= n;
        Some(
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect(),
        )
    })
}

/// Every blob in the store (not the temporary directory).
fn blobs(data_dir: &Path) -> Vec<PathBuf> {
    let root = data_dir.join("files");
    let mut found = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap();
        if dir.file_name() == "tmp" {
            continue;
        }
        for blob in std::fs::read_dir(dir.path()).unwrap() {
            found.push(blob.unwrap().path());
        }
    }
    found
}

/// Unfinished uploads (none before the server has made its directories).
fn temporaries(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("files").join("tmp")).map_or(0, Iterator::count)
}

/// Waits until `done` holds, checking every few milliseconds: for what the
/// server does after a client has gone, which no answer announces.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn uploaded(server: &TestServer, token: &str, name: &str, content: &[u8]) -> Value {
    let response = Upload::new(token, name).send(server, content).await;
    assert_eq!(response.status, 201, "{}", response.text());
    json(&response)
}

#[tokio::test]
async fn a_small_file_comes_back_byte_for_byte_with_safe_headers() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let content = b"hello, files\n";
    let response = Upload::new(&bob, "hello.txt").send(&server, content).await;
    assert_eq!(response.status, 201, "{}", response.text());
    let body = json(&response);
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(body["name"], "hello.txt");
    assert_eq!(body["size"], content.len());
    assert_eq!(body["type"], "application/octet-stream");
    assert_eq!(body["room"], "lobby");
    assert_eq!(body["seq"], 1);
    assert_eq!(body["url"], format!("/api/files/{id}"));
    assert_eq!(
        response.header("location"),
        Some(format!("/api/files/{id}").as_str())
    );

    let download = http_get(server.addr, &format!("/api/files/{id}"), &[]).await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body, content);
    let etag = format!("\"{}\"", sha256_hex(content));
    assert_eq!(download.header("etag"), Some(etag.as_str()));
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt")
    );
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    assert!(
        download
            .header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(download.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        download.header("content-type"),
        Some("application/octet-stream")
    );

    let cached = http_get(
        server.addr,
        &format!("/api/files/{id}"),
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());

    let unknown = http_get(server.addr, &format!("/api/files/{}", "0".repeat(32)), &[]).await;
    assert_eq!(unknown.status, 404);
    assert!(json(&unknown)["error"].is_string());
    let garbage = http_get(server.addr, "/api/files/..%2F..%2Fhubbub.db", &[]).await;
    assert_eq!(garbage.status, 404);
}

#[tokio::test]
async fn several_mebibytes_stream_through_with_the_same_hash() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let size = 6 << 20;
    let mut hasher = Sha256::new();
    for chunk in noise(7, size) {
        hasher.update(&chunk);
    }
    let expected: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let response = Upload::new(&bob, "big.bin")
        .send_chunks(&server, size, noise(7, size))
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let id = json(&response)["id"].as_str().unwrap().to_owned();
    let download = http_get(server.addr, &format!("/api/files/{id}"), &[]).await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body.len() as u64, size);
    assert_eq!(sha256_hex(&download.body), expected);
    let blobs = blobs(&server.data_dir());
    assert_eq!(blobs.len(), 1);
    assert!(blobs[0].ends_with(format!("{}/{}", &expected[..2], &expected[2..])));
}

#[tokio::test]
async fn one_byte_over_the_limit_is_413_and_leaves_nothing() {
    let limit = 64 * 1024;
    let server = TestServer::start_with(|c| c.files.max_upload_bytes = limit).await;
    let bob = server.register("bob").await;
    let over = vec![b'x'; limit as usize + 1];
    let response = Upload::new(&bob, "over.bin").send(&server, &over).await;
    assert_problem(&response, 413, "too large");
    assert!(
        json(&response)["error"]
            .as_str()
            .unwrap()
            .contains("65536 bytes")
    );
    assert_eq!(temporaries(&server.data_dir()), 0);
    assert!(blobs(&server.data_dir()).is_empty());

    // Exactly the limit is fine, and the refused one was never announced.
    let response = Upload::new(&bob, "exact.bin")
        .send(&server, &over[..limit as usize])
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(json(&response)["seq"], 1);

    // A declared length far over the limit is refused before it is read.
    let (stream, _) = Upload::new(&bob, "huge.bin").start(&server, 1 << 30).await;
    assert_problem(&read_response(stream).await, 413, "too large");
}

#[tokio::test]
async fn a_path_for_a_name_stays_a_name() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let body = uploaded(&server, &bob, "../../etc/passwd", b"root:x:0:0").await;
    assert_eq!(body["name"], "passwd");
    let id = body["id"].as_str().unwrap();
    let download = http_get(server.addr, &format!("/api/files/{id}"), &[]).await;
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"passwd\"; filename*=UTF-8''passwd")
    );
    // Stored under its hash, and nowhere else.
    let data = server.data_dir();
    assert_eq!(blobs(&data).len(), 1);
    assert!(!data.join("etc").exists() && !data.parent().unwrap().join("etc").exists());

    let windows = uploaded(&server, &bob, "C:\\\\temp\\\\a\u{202e}gpj.exe", b"MZ").await;
    assert_eq!(windows["name"], "agpj.exe");
}

#[tokio::test]
async fn svg_and_html_are_downloads_and_only_verified_images_are_inline() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let svg = Upload {
        part_type: "image/svg+xml",
        ..Upload::new(&bob, "cat.svg")
    };
    let svg = svg
        .send(
            &server,
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        )
        .await;
    let html = Upload {
        part_type: "text/html",
        ..Upload::new(&bob, "page.html")
    };
    let html = html
        .send(&server, b"<!DOCTYPE html><script>alert(1)</script>")
        .await;
    for (response, name) in [(svg, "cat.svg"), (html, "page.html")] {
        assert_eq!(response.status, 201, "{}", response.text());
        let body = json(&response);
        assert_eq!(body["type"], "application/octet-stream", "{name}");
        let id = body["id"].as_str().unwrap();
        for path in [
            format!("/api/files/{id}"),
            format!("/api/files/{id}/inline"),
        ] {
            let download = http_get(server.addr, &path, &[]).await;
            assert_eq!(download.status, 200);
            assert_eq!(
                download.header("content-disposition"),
                Some(format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}").as_str()),
                "{path}"
            );
            assert_eq!(
                download.header("content-type"),
                Some("application/octet-stream")
            );
            assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
            assert!(
                download
                    .header("content-security-policy")
                    .unwrap()
                    .starts_with("sandbox")
            );
        }
    }

    // A PNG (told by its bytes, whatever the part claimed) is shown inline.
    let png = Upload {
        part_type: "text/plain",
        ..Upload::new(&bob, "dot.png")
    };
    let png = json(&png.send(&server, PNG).await);
    assert_eq!(png["type"], "image/png");
    let id = png["id"].as_str().unwrap();
    let inline = http_get(server.addr, &format!("/api/files/{id}/inline"), &[]).await;
    assert_eq!(inline.header("content-type"), Some("image/png"));
    assert!(
        inline
            .header("content-disposition")
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(inline.body, PNG);
    let download = http_get(server.addr, &format!("/api/files/{id}"), &[]).await;
    assert!(
        download
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
}

#[tokio::test]
async fn ranges_return_the_right_bytes() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let content: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let id = uploaded(&server, &bob, "r.bin", &content).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/files/{id}");
    let get = |range: &'static str| {
        let path = path.clone();
        let addr = server.addr;
        async move { http_get(addr, &path, &[("Range", range)]).await }
    };

    let middle = get("bytes=100-199").await;
    assert_eq!(middle.status, 206);
    assert_eq!(middle.header("content-range"), Some("bytes 100-199/1000"));
    assert_eq!(middle.header("content-length"), Some("100"));
    assert_eq!(middle.body, &content[100..200]);

    let resume = get("bytes=990-").await;
    assert_eq!(resume.status, 206);
    assert_eq!(resume.body, &content[990..]);

    let tail = get("bytes=-10").await;
    assert_eq!(tail.header("content-range"), Some("bytes 990-999/1000"));
    assert_eq!(tail.body, &content[990..]);

    let outside = get("bytes=1000-").await;
    assert_eq!(outside.status, 416);
    assert_eq!(outside.header("content-range"), Some("bytes */1000"));

    let stale = http_get(
        server.addr,
        &path,
        &[("Range", "bytes=0-9"), ("If-Range", "\"another\"")],
    )
    .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, content);
}

#[tokio::test]
async fn the_same_bytes_uploaded_twice_are_stored_once() {
    let server = TestServer::start().await;
    let ann = server.register("ann").await;
    let bob = server.register("bob").await;
    let first = uploaded(&server, &bob, "a.txt", b"same bytes").await;
    let second = uploaded(&server, &ann, "b.txt", b"same bytes").await;
    assert_ne!(first["id"], second["id"], "each upload has its own id");
    assert_eq!(blobs(&server.data_dir()).len(), 1);
    for (body, name) in [(first, "a.txt"), (second, "b.txt")] {
        let id = body["id"].as_str().unwrap();
        let download = http_get(server.addr, &format!("/api/files/{id}"), &[]).await;
        assert_eq!(download.body, b"same bytes");
        assert!(
            download
                .header("content-disposition")
                .unwrap()
                .contains(name)
        );
    }
}

#[tokio::test]
async fn the_room_hears_of_it_on_the_web_and_in_terminals() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let mut web = Client::joined(&server, "alice").await;
    let mut terminal = Nc::login(&server, "carol").await;

    // The form's `nick` field names nobody: the sender is who signed the
    // request.
    let claimed = Upload {
        nick: Some("alice"),
        ..Upload::new(&bob, "photo.png")
    };
    let response = claimed.send(&server, PNG).await;
    assert_eq!(response.status, 201, "{}", response.text());
    let body = json(&response);
    let id = body["id"].as_str().unwrap();

    let message = web.recv_until(|m| matches!(m, ServerMsg::Message(_))).await;
    let ServerMsg::Message(message) = message else {
        unreachable!()
    };
    assert_eq!(message.nick, "bob");
    assert_eq!(message.text, "photo.png");
    assert_eq!(message.seq, body["seq"].as_u64().unwrap());
    let attachment = message.attachment.expect("an attachment");
    assert_eq!(attachment.id, id);
    assert_eq!(attachment.name, "photo.png");
    assert_eq!(attachment.size, PNG.len() as u64);
    assert_eq!(attachment.content_type, "image/png");
    assert!(attachment.is_previewable());

    terminal
        .expect(&format!(
            "[lobby] <bob> shared photo.png ({} B) http://localhost:{}/api/files/{id}\r\n",
            PNG.len(),
            server.addr.port()
        ))
        .await;

    // Later readers find it in history: over HTTP, and on joining.
    let history = http_get(server.addr, "/api/rooms/lobby/messages", &[]).await;
    let history = json(&history);
    let stored = &history["messages"][0];
    assert_eq!(stored["attachment"]["id"], id);
    assert_eq!(stored["attachment"]["name"], "photo.png");
    assert_eq!(stored["attachment"]["type"], "image/png");
    let mut late = Client::hello(&server, "dave").await;
    let history = late
        .recv_until(|m| matches!(m, ServerMsg::History { .. }))
        .await;
    let ServerMsg::History { messages, .. } = history else {
        unreachable!()
    };
    assert_eq!(messages[0].attachment.as_ref().unwrap().id, id);
}

#[tokio::test]
async fn a_public_url_is_what_terminals_are_shown() {
    let server =
        TestServer::start_with(|c| c.public_url = "https://chat.example.org/".to_owned()).await;
    let bob = server.register("bob").await;
    let mut terminal = Nc::login(&server, "carol").await;
    let id = uploaded(&server, &bob, "a.txt", b"x").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    terminal
        .expect(&format!(
            "<bob> shared a.txt (1 B) https://chat.example.org/api/files/{id}\r\n"
        ))
        .await;
}

#[tokio::test]
async fn a_cut_off_upload_leaves_no_file_and_no_message() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let data = server.data_dir();
    let size = 4 << 20;
    let upload = Upload::new(&bob, "cut.bin");
    let (mut stream, _) = upload.start(&server, size).await;
    for chunk in noise(3, size / 2) {
        stream.write_all(&chunk).await.unwrap();
    }
    // The server is writing it down; then the client is gone.
    eventually("the upload is being written", || temporaries(&data) == 1).await;
    drop(stream);
    eventually("the unfinished upload is removed", || {
        temporaries(&data) == 0
    })
    .await;
    assert!(blobs(&data).is_empty());
    let history = http_get(server.addr, "/api/rooms/lobby/messages", &[]).await;
    assert_eq!(json(&history)["messages"], Value::Array(Vec::new()));
}

#[tokio::test]
async fn uploads_are_rate_limited_per_address() {
    let server = TestServer::start_with(|c| c.files.uploads_per_minute_per_ip = 2).await;
    let bob = server.register("bob").await;
    for i in 0..2 {
        uploaded(&server, &bob, "a.txt", format!("{i}").as_bytes()).await;
    }
    let refused = Upload::new(&bob, "a.txt").send(&server, b"2").await;
    assert_problem(&refused, 429, "too many uploads");
    assert_eq!(blobs(&server.data_dir()).len(), 2);
}

#[tokio::test]
async fn a_full_quota_refuses_new_bytes_with_507() {
    let server = TestServer::start_with(|c| c.files.quota_bytes = 100).await;
    let ann = server.register("ann").await;
    let bob = server.register("bob").await;
    uploaded(&server, &bob, "a.bin", &[1; 80]).await;
    let refused = Upload::new(&bob, "b.bin").send(&server, &[2; 30]).await;
    assert_problem(&refused, 507, "no room");
    assert_eq!(blobs(&server.data_dir()).len(), 1);
    assert_eq!(temporaries(&server.data_dir()), 0);
    // Bytes stored already take no more room.
    uploaded(&server, &ann, "again.bin", &[1; 80]).await;
}

#[tokio::test]
async fn an_upload_without_a_known_sender_is_401_and_read_no_further() {
    let server = TestServer::start().await;
    let nobody = Upload {
        token: None,
        ..Upload::new("", "a.txt")
    };
    let refused = nobody.send(&server, b"who am I").await;
    assert_problem(&refused, 401, "sign in, or connect as a guest");
    assert_eq!(json(&refused)["code"], "auth_failed");
    // A token that is no session (or a session signed out) is nobody too,
    // and the form's nick field does not make it somebody.
    let forged = Upload {
        nick: Some("bob"),
        ..Upload::new("not-a-real-token", "a.txt")
    };
    assert_problem(&forged.send(&server, b"x").await, 401, "sign in");
    let bob = server.register("bob").await;
    let signed_out = http_post(
        server.addr,
        "/api/logout",
        "{}",
        &[("Authorization", &format!("Bearer {bob}"))],
    )
    .await;
    assert_eq!(signed_out.status, 204, "{}", signed_out.text());
    let stale = Upload::new(&bob, "a.txt").send(&server, b"x").await;
    assert_problem(&stale, 401, "sign in");
    assert!(blobs(&server.data_dir()).is_empty());
    let history = http_get(server.addr, "/api/rooms/lobby/messages", &[]).await;
    assert_eq!(json(&history)["messages"], Value::Array(Vec::new()));
}

#[tokio::test]
async fn a_connected_guest_shares_with_the_token_its_welcome_gave() {
    let server = TestServer::start().await;
    let mut guest = Client::typed(&server).await;
    guest
        .send(&shared::ClientMsg::Hello {
            nick: "walt".into(),
            resume: Default::default(),
            auth: None,
        })
        .await;
    let ServerMsg::Welcome {
        account: false,
        token: Some(token),
        ..
    } = guest.recv().await
    else {
        panic!("a guest is welcomed with a connection-bound token")
    };
    let mut room = Client::joined(&server, "ann").await;
    uploaded(&server, token.expose(), "notes.txt", b"guest notes").await;
    let ServerMsg::Message(message) = room
        .recv_until(|m| matches!(m, ServerMsg::Message(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(message.nick, "walt");
    // Once the guest is gone (the room has seen it leave), its token
    // shares nothing more.
    let token = token.expose().to_owned();
    drop(guest);
    room.recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "walt"))
        .await;
    let late = Upload::new(&token, "late.txt").send(&server, b"late").await;
    assert_problem(&late, 401, "sign in");
}

#[tokio::test]
async fn bad_requests_are_400_with_a_reason() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let cases = [(
        Upload {
            room: "no%20spaces",
            ..Upload::new(&bob, "a.txt")
        },
        "room",
    )];
    for (upload, words) in cases {
        let response = upload.send(&server, b"content").await;
        assert_problem(&response, 400, words);
    }
    // Not multipart at all.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "POST /api/rooms/lobby/files HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Authorization: Bearer {bob}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    assert_problem(&read_response(stream).await, 400, "multipart/form-data");
    assert!(blobs(&server.data_dir()).is_empty());
    assert_eq!(temporaries(&server.data_dir()), 0);
}

#[tokio::test]
async fn only_the_two_of_a_conversation_and_same_origin_pages_share_files() {
    let server = TestServer::start().await;
    let alice = server.register("Alice").await;
    let bob = server.register("bob").await;
    let outsider = Upload {
        room: "@alice+carol",
        ..Upload::new(&bob, "a.txt")
    };
    let refused = outsider.send(&server, b"secret").await;
    assert_problem(&refused, 403, "conversation of other people");
    assert!(blobs(&server.data_dir()).is_empty());

    let member = Upload {
        room: "@alice+carol",
        ..Upload::new(&alice, "a.txt")
    };
    let elsewhere = Upload {
        origin: Some("https://evil.example"),
        ..Upload::new(&alice, "a.txt")
    };
    let refused = elsewhere.send(&server, b"from another site").await;
    assert_problem(&refused, 403, "origin");
    let same_site = format!("http://{}", server.addr);
    let own_page = Upload {
        origin: Some(&same_site),
        ..Upload::new(&alice, "own.txt")
    };
    assert_eq!(own_page.send(&server, b"ok").await.status, 201);
    let response = member.send(&server, b"for carol").await;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(json(&response)["room"], "@alice+carol");
    let id = json(&response)["id"].as_str().unwrap().to_owned();

    // The file and the conversation are the two's alone: anyone else,
    // signed in or not, hears there is no such thing.
    let carol = server.register("carol").await;
    let file = format!("/api/files/{id}");
    let history = "/api/rooms/@alice+carol/messages";
    for (who, token, readable) in [
        ("alice", Some(&alice), true),
        ("carol", Some(&carol), true),
        ("bob", Some(&bob), false),
        ("nobody", None, false),
    ] {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| vec![("Authorization", b)])
            .unwrap_or_default();
        let download = http_get(server.addr, &file, &headers).await;
        let listed = http_get(server.addr, history, &headers).await;
        if readable {
            assert_eq!(download.status, 200, "{who} downloads");
            assert_eq!(download.body, b"for carol");
            assert_eq!(listed.status, 200, "{who} reads: {}", listed.text());
            assert_eq!(json(&listed)["messages"][0]["attachment"]["id"], id);
        } else {
            assert_problem(&download, 404, "no file");
            assert_problem(&listed, 404, "no room");
            assert!(!listed.text().contains("for carol"));
        }
    }
}
