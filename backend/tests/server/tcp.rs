//! The terminal door: a raw TCP client, as `nc` is, chatting with web
//! clients; commands; bad input; escape stripping; idle and shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use std::time::Duration;

use crate::support::{Client, PATIENCE, TestServer};
use shared::{ClientMsg, ServerMsg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An `nc`-style client: bytes in, text out.
pub(crate) struct Nc {
    stream: TcpStream,
    /// What arrived and no expectation has consumed yet.
    unread: String,
}

impl Nc {
    pub(crate) async fn connect(server: &TestServer) -> Self {
        Self::connect_to(server.tcp_addr).await
    }

    /// Connects to any of the server's TCP doors.
    pub(crate) async fn connect_to(addr: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        Self {
            stream,
            unread: String::new(),
        }
    }

    /// Connects and picks `nick`, up to the lobby's online list.
    pub(crate) async fn login(server: &TestServer, nick: &str) -> Self {
        let mut nc = Self::connect(server).await;
        nc.expect("nickname: ").await;
        nc.line(nick).await;
        nc.expect(&format!("-- you are {nick}")).await;
        nc.expect("-- [lobby] online").await;
        nc.expect("\r\n").await;
        nc
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Sends a line, ended as telnet ends it.
    pub(crate) async fn line(&mut self, text: &str) {
        self.send(format!("{text}\r\n").as_bytes()).await;
    }

    /// Reads until `needle` arrives; returns everything up to and with it.
    pub(crate) async fn expect(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        // Only what came since the last look (and a needle's length before
        // it) is searched again: a backlog of megabytes stays linear.
        let mut searched = 0;
        loop {
            if let Some(at) = self.unread[searched..].find(needle) {
                let rest = self.unread.split_off(searched + at + needle.len());
                return std::mem::replace(&mut self.unread, rest);
            }
            searched = self.unread.len().saturating_sub(needle.len());
            while !self.unread.is_char_boundary(searched) {
                searched -= 1;
            }
            let mut chunk = [0u8; 4096];
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} in time; got {:?}", self.unread))
                .unwrap();
            assert_ne!(read, 0, "closed before {needle:?}; got {:?}", self.unread);
            self.unread
                .push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
    }

    /// Reads until the server closes; returns what came before.
    pub(crate) async fn expect_closed(&mut self) -> String {
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, self.stream.read_to_end(&mut rest))
            .await
            .expect("the server did not close the connection")
            .unwrap();
        let mut all = std::mem::take(&mut self.unread);
        all.push_str(&String::from_utf8_lossy(&rest));
        all
    }
}

/// `HH:MM [room] <nick> text`, without looking at the time.
fn assert_chat_line(line: &str, rest: &str) {
    let line = line.lines().last().unwrap();
    let (time, tail) = line.split_at(5);
    let digits: Vec<char> = time.chars().collect();
    assert!(
        digits[0..2]
            .iter()
            .chain(&digits[3..5])
            .all(char::is_ascii_digit)
            && digits[2] == ':',
        "{line:?}"
    );
    assert_eq!(tail, format!(" {rest}"), "{line:?}");
}

#[tokio::test]
async fn a_terminal_and_a_web_client_see_each_others_messages() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Nc::login(&server, "bob").await;
    alice
        .recv_until(|m| matches!(m, ServerMsg::UserJoined { nick, .. } if nick == "bob"))
        .await;

    bob.line("hello from nc").await;
    let ServerMsg::Message(msg) = alice
        .recv_until(|m| matches!(m, ServerMsg::Message(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(
        (msg.room.as_str(), msg.nick.as_str(), msg.text.as_str()),
        ("lobby", "bob", "hello from nc")
    );
    // The terminal sees its own message come back, like everyone.
    let own = bob.expect("hello from nc").await;
    assert_chat_line(&own, "[lobby] <bob> hello from nc");

    alice.say("a1", "hi terminal").await;
    let line = bob.expect("hi terminal\r\n").await;
    assert_chat_line(line.trim_end(), "[lobby] <alice> hi terminal");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_banner_asks_for_a_nickname_and_a_taken_one_asks_again() {
    let server = TestServer::start().await;
    let _alice = Client::joined(&server, "alice").await;
    let mut nc = Nc::connect(&server).await;
    let banner = nc.expect("nickname: ").await;
    assert!(banner.contains("Times are UTC"), "{banner:?}");
    nc.line("ALICE").await;
    let refusal = nc.expect("nickname: ").await;
    assert!(refusal.starts_with("! "), "{refusal:?}");
    nc.line("bad nick!").await;
    let refusal = nc.expect("nickname: ").await;
    assert!(refusal.starts_with("! "), "{refusal:?}");
    nc.line("bob").await;
    nc.expect("-- you are bob").await;
    let online = nc.expect("\r\n-- [lobby] online (2): ").await;
    assert!(online.contains("-- you joined [lobby]"), "{online:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn commands_join_leave_who_rooms_msg_me_history_help_quit() {
    let server = TestServer::start().await;
    let mut bob = Nc::login(&server, "bob").await;
    bob.line("/help").await;
    bob.expect("/history [N]").await;
    bob.line("/join rust").await;
    bob.expect("-- you joined [rust]\r\n-- [rust] online (1): bob\r\n")
        .await;
    bob.line("in rust").await;
    bob.expect("[rust] <bob> in rust\r\n").await;

    let mut alice = Client::joined(&server, "alice").await;
    alice
        .send(&ClientMsg::Join {
            room: "rust".into(),
        })
        .await;
    bob.expect("-- alice joined [rust]\r\n").await;
    bob.line("/who").await;
    bob.expect("-- [rust] online (2): bob, alice\r\n").await;
    bob.line("/rooms").await;
    let rooms = bob.expect("\r\n").await;
    assert!(rooms.starts_with("-- rooms: "), "{rooms:?}");
    assert!(
        rooms.contains("lobby (2)") && rooms.contains("rust (2)"),
        "{rooms:?}"
    );

    bob.line("/me waves").await;
    bob.expect("[rust] * bob waves\r\n").await;
    bob.line("//etc is a path").await;
    bob.expect("[rust] <bob> /etc is a path\r\n").await;

    bob.line("/msg alice psst").await;
    bob.expect("[@alice+bob] <bob> psst\r\n").await;
    let ServerMsg::Message(direct) = alice
        .recv_until(|m| matches!(m, ServerMsg::Message(m) if m.text == "psst"))
        .await
    else {
        unreachable!()
    };
    assert_eq!(direct.room, "@alice+bob");
    // A conversation does not become the current room.
    bob.line("still in rust").await;
    bob.expect("[rust] <bob> still in rust\r\n").await;

    bob.line("/history 2").await;
    let history = bob.expect("still in rust\r\n").await;
    assert!(history.contains("<bob> /etc is a path\r\n"), "{history:?}");
    assert!(!history.contains("waves"), "only the last 2: {history:?}");

    bob.line("/leave").await;
    bob.expect("-- you left [rust]\r\n-- now talking in [lobby]\r\n")
        .await;
    bob.line("/frob").await;
    bob.expect("! unknown command /frob").await;
    bob.line("/msg alice").await;
    bob.expect("! usage: /msg NICK TEXT").await;
    bob.line("/quit").await;
    let last = bob.expect_closed().await;
    assert!(last.ends_with("-- bye\r\n"), "{last:?}");
    alice
        .recv_until(|m| matches!(m, ServerMsg::UserLeft { nick, .. } if nick == "bob"))
        .await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_script_can_send_its_nickname_and_messages_in_one_go() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut taken = Nc::connect(&server).await;
    // `printf 'alice\nbob\nhello from a script\n/me waves\n' | nc`: the
    // first nickname is taken, so the next line is the next one tried,
    // and the rest is chat once bob is in the lobby.
    taken
        .send(b"alice\r\nbob\r\nhello from a script\r\n/me waves\r\n")
        .await;
    taken.expect("nickname: ").await;
    taken.expect("-- you are bob").await;
    taken.expect("<bob> hello from a script\r\n").await;
    taken.expect("* bob waves\r\n").await;
    let said = alice
        .recv_until(|m| matches!(m, ServerMsg::Message(m) if m.text == "hello from a script"))
        .await;
    let ServerMsg::Message(said) = said else {
        unreachable!()
    };
    assert_eq!(said.nick, "bob");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn lines_sent_in_one_go_are_all_answered_before_a_quit_among_them() {
    let server = TestServer::start().await;
    let mut ada = Nc::login(&server, "ada").await;
    ada.send(b"/who\r\n/frob\r\n/quit\r\n/who\r\n").await;
    let last = ada.expect_closed().await;
    let who = last.find("-- [lobby] online (1): ada\r\n");
    let unknown = last.find("! unknown command /frob");
    let bye = last.find("-- bye\r\n");
    assert!(who.is_some() && who < unknown && unknown < bye, "{last:?}");
    assert_eq!(
        last.matches("online (1)").count(),
        1,
        "nothing after the quit: {last:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_long_line_or_invalid_utf8_is_an_error_line_and_the_connection_stays() {
    let server = TestServer::start().await;
    let mut bob = Nc::login(&server, "bob").await;
    let mut long = vec![b'x'; 5000];
    long.push(b'\n');
    bob.send(&long).await;
    bob.expect("! line too long: at most 4096 bytes").await;
    bob.send(b"caf\xe9 \xff\xfe\r\n").await;
    bob.expect("! invalid UTF-8").await;
    bob.line("still here").await;
    bob.expect("<bob> still here\r\n").await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn escapes_and_controls_from_the_web_never_reach_a_terminal() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let mut bob = Nc::login(&server, "bob").await;
    alice
        .say(
            "a1",
            "\u{1b}[31mred\u{1b}[0m and a bell\u{7}\u{1b}]0;pwned\u{7}\nnext line",
        )
        .await;
    let line = bob.expect("next line\r\n").await;
    assert!(
        line.ends_with("<alice> red and a bell⏎next line\r\n"),
        "{line:?}"
    );
    assert!(
        !line.contains('\u{1b}') && !line.contains('\u{7}'),
        "{line:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_quiet_terminal_is_warned_then_closed() {
    let server = TestServer::start_with(|config| {
        config.heartbeat.idle_after = Duration::from_secs(2);
    })
    .await;
    let mut bob = Nc::login(&server, "bob").await;
    bob.expect("! idle: closing in 1 s").await;
    let last = bob.expect_closed().await;
    assert!(last.contains("! closing: idle"), "{last:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_says_goodbye_to_terminals() {
    let server = TestServer::start().await;
    let mut bob = Nc::login(&server, "bob").await;
    let stopping = tokio::spawn(server.stop());
    let last = bob.expect_closed().await;
    assert!(
        last.ends_with("* server shutting down; bye\r\n"),
        "{last:?}"
    );
    stopping.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_terminal_catches_up_without_delaying_others() {
    let server = TestServer::start_with(crate::chat::unthrottled).await;
    let alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    // The sloth logs in and then stops reading: the kernel's buffers fill,
    // then its queue in the server.
    let mut sloth = Nc::login(&server, "sloth").await;

    let total = 3000; // 12 MB of lines: far more than loopback buffers hold.
    crate::chat::flood_while_watching(alice, &mut bob, total).await;
    bob.say("b1", "still there?").await;

    // The sloth reads again: every line once, then what came after.
    let backlog = sloth.expect("<bob> still there?").await;
    assert_eq!(backlog.matches("<alice> ").count(), total);
}
