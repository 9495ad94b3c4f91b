//! The `hubbub` binary, run as a person runs it, against the real server,
//! with a web user (a WebSocket client) in the same room.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic here is a failed test"
)]

use std::process::Stdio;
use std::time::Duration;

use backend::{Config, Listeners};
use futures_util::{SinkExt, StreamExt};
use shared::{ClientMsg, DEFAULT_ROOM, MessageKind, SUBPROTOCOL, ServerMsg};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const PATIENCE: Duration = Duration::from_secs(10);

struct Server {
    http: std::net::SocketAddr,
    udp: std::net::SocketAddr,
    _stop: oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

async fn server() -> Server {
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: data.path().join("data"),
        web_dir: data.path().join("no-web-client"),
        ..Config::default()
    };
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (http_addr, udp_addr) = (http.local_addr().unwrap(), udp.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(backend::run(
        config,
        Listeners {
            http: vec![http],
            tcp: Vec::new(),
            irc: Vec::new(),
            udp: vec![udp],
        },
        async {
            let _ = stopped.await;
        },
    ));
    Server {
        http: http_addr,
        udp: udp_addr,
        _stop: stop,
        _data: data,
    }
}

/// The password every account in these tests has.
const PASSWORD: &str = "correct horse battery";

/// Registers `nick` over the account API, as the web client does.
async fn register(server: &Server, nick: &str) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/register", server.http))
        .header("content-type", "application/json")
        .body(format!(r#"{{"nick":"{nick}","password":"{PASSWORD}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "registering {nick}");
}

/// The `hubbub` process, its input and its output lines.
struct Hubbub {
    child: Child,
    output: Lines<BufReader<ChildStdout>>,
}

impl Hubbub {
    fn start(args: &[&str]) -> Self {
        Self::start_with_password(args, None)
    }

    /// Starts `hubbub` with `password` in HUBBUB_PASSWORD, for `--login`.
    fn start_with_password(args: &[&str], password: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hubbub"));
        command
            .env_remove("HUBBUB_TOKEN")
            .env_remove("HUBBUB_PASSWORD");
        if let Some(password) = password {
            command.env("HUBBUB_PASSWORD", password);
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let output = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, output }
    }

    async fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// Reads lines until one contains `wanted`.
    async fn shows(&mut self, wanted: &str) -> String {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let line = self.output.next_line().await.unwrap();
                let line = line.unwrap_or_else(|| panic!("hubbub ended before showing {wanted:?}"));
                if line.contains(wanted) {
                    return line;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("hubbub did not show {wanted:?}"))
    }

    async fn exits_cleanly(mut self) {
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("hubbub did not exit")
            .unwrap();
        assert!(status.success(), "{status}");
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A web user: a `hubbub.v1` WebSocket client in the lobby.
async fn web_user(server: &Server, nick: &str) -> Socket {
    let mut request = format!("ws://{}/ws", server.http)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut ws,
        &ClientMsg::Hello {
            nick: nick.into(),
            resume: Default::default(),
            auth: None,
        },
    )
    .await;
    recv_until(&mut ws, |m| matches!(m, ServerMsg::Joined { .. })).await;
    ws
}

async fn send(ws: &mut Socket, msg: &ClientMsg) {
    ws.send(Message::text(msg.to_json())).await.unwrap();
}

async fn recv_until(ws: &mut Socket, mut wanted: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                continue;
            };
            let msg = ServerMsg::from_json(&text).unwrap();
            if wanted(&msg) {
                return msg;
            }
        }
    })
    .await
    .expect("the web user waited in vain")
}

/// A person chats from a terminal with `hubbub` and a web user answers.
async fn chats_with_a_web_user(door: impl Fn(&Server) -> Vec<String>) {
    let server = server().await;
    let mut web = web_user(&server, "bob").await;
    let mut args = door(&server);
    args.extend(["--nick".to_owned(), "carol".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut hubbub = Hubbub::start(&args);
    hubbub.shows("-- you joined [lobby]").await;
    recv_until(
        &mut web,
        |m| matches!(m, ServerMsg::UserJoined { nick, .. } if nick == "carol"),
    )
    .await;

    hubbub.type_line("hello from a terminal \u{1b}[2J").await;
    let ServerMsg::Message(heard) =
        recv_until(&mut web, |m| matches!(m, ServerMsg::Message(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        (heard.nick.as_str(), heard.text.as_str()),
        ("carol", "hello from a terminal \u{1b}[2J")
    );

    send(
        &mut web,
        &ClientMsg::Send {
            id: "b1".into(),
            room: DEFAULT_ROOM.into(),
            text: "hi carol \u{1b}[31mred".into(),
            kind: MessageKind::Text,
            reply_to: None,
        },
    )
    .await;
    // Shown as a terminal line, escape sequences stripped.
    let line = hubbub.shows("<bob>").await;
    assert!(line.ends_with("[lobby] <bob> hi carol red"), "{line:?}");

    hubbub.type_line("/quit").await;
    hubbub.shows("-- bye").await;
    hubbub.exits_cleanly().await;
    recv_until(
        &mut web,
        |m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "carol"),
    )
    .await;
}

#[tokio::test]
async fn chats_over_the_datagram_door() {
    chats_with_a_web_user(|server| vec!["--udp".into(), server.udp.to_string()]).await;
}

#[tokio::test]
async fn chats_over_websocket() {
    chats_with_a_web_user(|server| vec!["--ws".into(), format!("ws://{}/ws", server.http)]).await;
}

#[tokio::test]
async fn says_clearly_when_no_server_answers() {
    // A port with nothing behind it: the socket is bound, then closed.
    let free = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let output = Command::new(env!("CARGO_BIN_EXE_hubbub"))
        .args(["--udp", &addr, "--nick", "carol"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nothing answers at") || stderr.contains("no answer from"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sends_a_file_that_the_room_sees_and_anyone_can_download() {
    let server = server().await;
    let mut web = web_user(&server, "bob").await;
    register(&server, "carol").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes from the meeting.txt");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();

    let url = format!("http://{}", server.http);
    let output = Command::new(env!("CARGO_BIN_EXE_hubbub"))
        .args(["send-file", "lobby"])
        .arg(&path)
        .args(["--url", &url, "--nick", "carol", "--login"])
        .env("HUBBUB_PASSWORD", PASSWORD)
        .env_remove("HUBBUB_TOKEN")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("sent notes from the meeting.txt (2.9 MiB) to [lobby]"),
        "{stdout}"
    );

    let ServerMsg::Message(announced) = recv_until(
        &mut web,
        |m| matches!(m, ServerMsg::Message(m) if m.attachment.is_some()),
    )
    .await
    else {
        unreachable!()
    };
    let attachment = announced.attachment.unwrap();
    assert_eq!(announced.nick, "carol");
    assert_eq!(attachment.name, "notes from the meeting.txt");
    assert_eq!(attachment.size, content.len() as u64);
    assert!(
        stdout.contains(&format!("{url}{}", attachment.download_path())),
        "{stdout}"
    );

    let downloaded = reqwest::get(format!("{url}{}", attachment.download_path()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        downloaded.as_ref() == content.as_slice(),
        "the download differs from the file sent"
    );
}

#[tokio::test]
async fn a_refused_file_says_why() {
    let server = server().await;
    register(&server, "carol").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, b"hello").unwrap();
    let url = format!("http://{}", server.http);
    let send_file = |room: &str, login: &[&str], password: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hubbub"));
        command
            .args(["send-file", room])
            .arg(&path)
            .args(["--url", &url, "--nick", "carol"])
            .args(login)
            .env("HUBBUB_PASSWORD", password)
            .env_remove("HUBBUB_TOKEN");
        command
    };
    let refused = |output: std::process::Output| {
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let output = send_file("Not A Room!", &["--login"], PASSWORD)
        .output()
        .await
        .unwrap();
    let stderr = refused(output);
    assert!(stderr.contains("400"), "{stderr}");

    // No account, or the wrong password: said before a byte is sent.
    let output = send_file("lobby", &[], PASSWORD).output().await.unwrap();
    let stderr = refused(output);
    assert!(stderr.contains("needs an account"), "{stderr}");
    let output = send_file("lobby", &["--login"], "not the password")
        .output()
        .await
        .unwrap();
    let stderr = refused(output);
    assert!(stderr.contains("do not sign in"), "{stderr}");
    assert!(!stderr.contains("not the password"), "{stderr}");
}

/// A registered person signs in from `hubbub` and keeps the nickname: a
/// guest cannot take it (nor a case variant), a wrong password is refused
/// and said, the right one joins.
async fn keeps_a_registered_nickname(door: impl Fn(&Server) -> Vec<String>) {
    let server = server().await;
    register(&server, "carol").await;
    let mut web = web_user(&server, "bob").await;
    let door = door(&server);
    let with = |extra: &[&str]| {
        let mut args: Vec<String> = door.clone();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };

    let args = with(&["--nick", "Carol"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut guest = Hubbub::start(&args);
    guest.shows("registered").await;
    guest.shows("sign in with /login").await;
    guest.type_line("/quit").await;
    guest.exits_cleanly().await;

    let args = with(&["--nick", "carol", "--login"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut wrong = Hubbub::start_with_password(&args, Some("not the password"));
    wrong.shows("do not sign in").await;
    wrong.shows("try again with /login").await;
    // The second try, typed, is the right one.
    wrong.type_line(&format!("/login carol {PASSWORD}")).await;
    wrong.shows("-- you joined [lobby]").await;
    wrong.type_line("/quit").await;
    wrong.exits_cleanly().await;

    let mut signed_in = Hubbub::start_with_password(&args, Some(PASSWORD));
    signed_in.shows("-- you joined [lobby]").await;
    signed_in.type_line("still me").await;
    let ServerMsg::Message(heard) =
        recv_until(&mut web, |m| matches!(m, ServerMsg::Message(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        (heard.nick.as_str(), heard.text.as_str()),
        ("carol", "still me")
    );
    signed_in.type_line("/quit").await;
    signed_in.exits_cleanly().await;
}

#[tokio::test]
async fn keeps_a_registered_nickname_over_websocket() {
    keeps_a_registered_nickname(|server| vec!["--ws".into(), format!("ws://{}/ws", server.http)])
        .await;
}

#[tokio::test]
async fn keeps_a_registered_nickname_over_the_datagram_door() {
    keeps_a_registered_nickname(|server| vec!["--udp".into(), server.udp.to_string()]).await;
}

/// A signed-in person in `hubbub` sees every change to a message as a
/// line: a web user's reply and reaction to it, and their own edit and
/// deletion, typed as commands.
async fn shows_each_change_to_a_message(door: impl Fn(&Server) -> Vec<String>) {
    let server = server().await;
    register(&server, "carol").await;
    let mut web = web_user(&server, "bob").await;
    let mut args = door(&server);
    args.extend(["--nick", "carol", "--login"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut carol = Hubbub::start_with_password(&args, Some(PASSWORD));
    carol.shows("-- you joined [lobby]").await;
    carol.type_line("the plan is ready").await;
    let ServerMsg::Message(plan) = recv_until(
        &mut web,
        |m| matches!(m, ServerMsg::Message(m) if m.text == "the plan is ready"),
    )
    .await
    else {
        unreachable!()
    };
    let n = plan.seq;

    send(
        &mut web,
        &ClientMsg::Send {
            id: "b1".into(),
            room: DEFAULT_ROOM.into(),
            text: "looks good".into(),
            kind: MessageKind::Text,
            reply_to: Some(n),
        },
    )
    .await;
    carol
        .shows(&format!(
            "<bob> [↪ #{n} carol: the plan is ready] looks good"
        ))
        .await;
    let react = |remove| ClientMsg::React {
        room: DEFAULT_ROOM.into(),
        seq: n,
        emoji: "👍".into(),
        remove,
    };
    send(&mut web, &react(false)).await;
    carol
        .shows(&format!(
            "-- bob reacted 👍 to #{n} <carol> the plan is ready"
        ))
        .await;
    send(&mut web, &react(true)).await;
    carol.shows(&format!("-- bob took back 👍 on #{n}")).await;

    carol
        .type_line(&format!("/edit {n} the plan is final"))
        .await;
    carol
        .shows(&format!("-- carol edited #{n}: the plan is final"))
        .await;
    recv_until(
        &mut web,
        |m| matches!(m, ServerMsg::Message(m) if m.kind == MessageKind::Edit),
    )
    .await;
    carol.type_line(&format!("/delete {n}")).await;
    carol.shows(&format!("-- carol deleted message #{n}")).await;
    recv_until(
        &mut web,
        |m| matches!(m, ServerMsg::Message(m) if m.kind == MessageKind::Delete),
    )
    .await;
    carol.type_line("/quit").await;
    carol.exits_cleanly().await;
}

#[tokio::test]
async fn shows_each_change_to_a_message_over_websocket() {
    shows_each_change_to_a_message(|server| {
        vec!["--ws".into(), format!("ws://{}/ws", server.http)]
    })
    .await;
}

#[tokio::test]
async fn shows_each_change_to_a_message_over_the_datagram_door() {
    shows_each_change_to_a_message(|server| vec!["--udp".into(), server.udp.to_string()]).await;
}
