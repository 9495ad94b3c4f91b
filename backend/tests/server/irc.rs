//! The IRC door: a raw IRC client, as irssi and weechat speak, chatting
//! with web and terminal users; registration with and without CAP; direct
//! messages; bad input; flooding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use crate::support::{Client, PASSWORD, TestServer};
use crate::tcp::Nc;
use base64::Engine as _;
use shared::{ClientMsg, MessageKind, ServerMsg};

/// Connects and registers as `nick` the way most clients do (CAP LS 302
/// first), up to the end of the lobby's names.
async fn irc(server: &TestServer, nick: &str) -> Nc {
    register(server, nick, None).await
}

/// Like [`irc`], with `PASS` first when there is a password.
async fn register(server: &TestServer, nick: &str, password: Option<&str>) -> Nc {
    let mut irc = Nc::connect_to(server.irc_addr).await;
    irc.line("CAP LS 302").await;
    if let Some(password) = password {
        irc.line(&format!("PASS :{password}")).await;
    }
    irc.line(&format!("NICK {nick}")).await;
    irc.line(&format!("USER {nick} 0 * :{nick} of the tests"))
        .await;
    irc.expect(" CAP * LS :").await;
    irc.line("CAP END").await;
    irc.expect(&format!(":hubbub 001 {nick} :Welcome to Hubbub"))
        .await;
    irc.expect(&format!(":{nick}!{nick}@hubbub JOIN #lobby\r\n"))
        .await;
    irc.expect(&format!(
        ":hubbub 366 {nick} #lobby :End of /NAMES list\r\n"
    ))
    .await;
    irc
}

#[tokio::test]
async fn registration_welcomes_with_the_limits_and_joins_the_lobby() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    // Without CAP: NICK and USER are all a client needs.
    let mut ada = Nc::connect_to(server.irc_addr).await;
    ada.line("NICK ada").await;
    ada.line("USER ada 0 * :Ada").await;
    let burst = ada
        .expect(":hubbub 366 ada #lobby :End of /NAMES list\r\n")
        .await;
    for numeric in ["001", "002", "003", "004", "005", "422"] {
        assert!(
            burst.contains(&format!(":hubbub {numeric} ada ")),
            "{burst}"
        );
    }
    for limit in ["NICKLEN=32", "CHANNELLEN=33", "LINELEN=512", "CHANTYPES=#"] {
        assert!(burst.contains(limit), "{limit} missing: {burst}");
    }
    let names = burst
        .lines()
        .find(|line| line.contains(" 353 "))
        .expect("names");
    assert!(
        names.ends_with(":ada web") || names.ends_with(":web ada"),
        "{names}"
    );
    // The others see an arrival.
    assert!(matches!(
        web.recv_until(|m| matches!(m, ServerMsg::UserJoined { .. })).await,
        ServerMsg::UserJoined { nick, .. } if nick == "ada"
    ));
    // Pings both ways.
    ada.line("PING :token-1").await;
    ada.expect(":hubbub PONG hubbub :token-1\r\n").await;
    // With CAP: registration waits for CAP END.
    let mut bob = Nc::connect_to(server.irc_addr).await;
    bob.line("CAP LS 302").await;
    bob.line("NICK bob").await;
    bob.line("USER bob 0 * :Bob").await;
    let offered = bob.expect("\r\n").await;
    for cap in [
        "server-time",
        "message-tags",
        "echo-message",
        "batch",
        "sasl=PLAIN",
        "draft/chathistory",
    ] {
        assert!(offered.contains(cap), "{cap} not offered: {offered}");
    }
    // All or nothing: one cap Hubbub lacks refuses the request.
    bob.line("CAP REQ :server-time account-tag").await;
    bob.expect(":hubbub CAP * NAK :server-time account-tag\r\n")
        .await;
    bob.line("CAP REQ :server-time").await;
    bob.expect(":hubbub CAP * ACK :server-time\r\n").await;
    bob.line("CAP LIST").await;
    bob.expect(":hubbub CAP * LIST :server-time\r\n").await;
    bob.line("CAP END").await;
    bob.expect(":hubbub 001 bob ").await;
    ada.expect(":bob!bob@hubbub JOIN #lobby\r\n").await;
}

#[tokio::test]
async fn a_taken_nickname_can_be_replaced_during_registration() {
    let server = TestServer::start().await;
    let _web = Client::joined(&server, "ada").await;
    let mut irc = Nc::connect_to(server.irc_addr).await;
    irc.line("NICK ada").await;
    irc.line("USER ada 0 * :Ada").await;
    irc.expect(":hubbub 433 * ada :").await;
    irc.line("NICK ada2").await;
    irc.expect(":hubbub 001 ada2 ").await;
}

#[tokio::test]
async fn channel_chat_reaches_web_and_terminal_users_and_back() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    let mut nc = Nc::login(&server, "term").await;
    let mut irc = irc(&server, "ada").await;

    irc.line("PRIVMSG #lobby :hello from irssi").await;
    let message = web.next_message().await;
    assert_eq!(
        (
            message.nick.as_str(),
            message.text.as_str(),
            message.room.as_str()
        ),
        ("ada", "hello from irssi", "lobby")
    );
    nc.expect("<ada> hello from irssi\r\n").await;
    // An action, and formatting codes that other doors would show as noise.
    irc.line("PRIVMSG #lobby :\u{1}ACTION waves\u{1}").await;
    let action = web.next_message().await;
    assert_eq!(
        (action.kind, action.text.as_str()),
        (MessageKind::Action, "waves")
    );
    irc.line("PRIVMSG #lobby :\u{2}bold\u{2} and \u{3}4red")
        .await;
    assert_eq!(web.next_message().await.text, "bold and red");

    web.say("w1", "hi ada").await;
    irc.expect(":web!web@hubbub PRIVMSG #lobby :hi ada\r\n")
        .await;
    nc.line("from the terminal").await;
    irc.expect(":term!term@hubbub PRIVMSG #lobby :from the terminal\r\n")
        .await;
    // A message of several lines is several IRC lines.
    web.say("w2", "one\ntwo").await;
    irc.expect(":web!web@hubbub PRIVMSG #lobby :one\r\n:web!web@hubbub PRIVMSG #lobby :two\r\n")
        .await;
    // A message longer than an IRC line is split, at character boundaries.
    let long = "é".repeat(1000);
    web.say("w3", &long).await;
    let mut got = String::new();
    while got.chars().count() < 1000 {
        let line = irc.expect("\r\n").await;
        assert!(line.len() <= 512, "{} bytes", line.len());
        let text = line
            .strip_prefix(":web!web@hubbub PRIVMSG #lobby :")
            .expect("a piece of the long message")
            .trim_end();
        got.push_str(text);
    }
    assert_eq!(got, long);
}

#[tokio::test]
async fn rooms_are_channels_to_join_part_and_list() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    // Signed in (PASS): the first to enter a new room owns it, and may set
    // its topic.
    server.register("ada").await;
    let mut irc = register(&server, "ada", Some(PASSWORD)).await;
    irc.line("JOIN #rust,#go").await;
    irc.expect(":ada!ada@hubbub JOIN #rust\r\n").await;
    irc.expect(":hubbub 366 ada #rust :End of /NAMES list\r\n")
        .await;
    irc.expect(":ada!ada@hubbub JOIN #go\r\n").await;
    irc.line("TOPIC #rust :Ferris and friends").await;
    irc.expect(":ada!ada@hubbub TOPIC #rust :Ferris and friends\r\n")
        .await;
    irc.line("TOPIC #rust").await;
    irc.expect(":hubbub 332 ada #rust :Ferris and friends\r\n")
        .await;
    web.send(&ClientMsg::Join {
        room: "rust".into(),
    })
    .await;
    irc.expect(":web!web@hubbub JOIN #rust\r\n").await;
    irc.line("NAMES #rust").await;
    irc.expect(":hubbub 353 ada = #rust :ada web\r\n").await;
    irc.line("WHO #rust").await;
    irc.expect(":hubbub 352 ada #rust web hubbub hubbub web H :0 web\r\n")
        .await;
    irc.expect(":hubbub 315 ada #rust :End of /WHO list\r\n")
        .await;
    irc.line("LIST").await;
    let list = irc.expect(":hubbub 323 ada :End of /LIST\r\n").await;
    assert!(list.contains(":hubbub 322 ada #rust 2 :"), "{list}");
    assert!(list.contains(":hubbub 322 ada #lobby 2 :"), "{list}");
    irc.line("PART #go").await;
    irc.expect(":ada!ada@hubbub PART #go\r\n").await;
    irc.line("PRIVMSG #go :still here?").await;
    irc.expect(":hubbub 442 ada * :").await;
    irc.line("AWAY :lunch").await;
    irc.expect(":hubbub 306 ada :").await;
    irc.line("QUIT :bye").await;
    assert!(
        irc.expect_closed()
            .await
            .contains("ERROR :Closing link: Quit")
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_registration_goes_on() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut irc = Nc::connect_to(server.irc_addr).await;
    irc.line("PASS :not the password").await;
    irc.line("NICK ada").await;
    irc.line("USER ada 0 * :Ada").await;
    irc.expect(":hubbub 464 * :").await;
    // A registered nickname without its password is refused too.
    irc.line("NICK ada").await;
    irc.expect(":hubbub 433 * ada :").await;
    irc.line("NICK guest7").await;
    irc.expect(":hubbub 001 guest7 ").await;
}

#[tokio::test]
async fn direct_messages_go_both_ways() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    let mut irc = irc(&server, "ada").await;
    irc.line("PRIVMSG web :psst").await;
    let message = web.next_message().await;
    assert_eq!(
        (message.nick.as_str(), message.text.as_str()),
        ("ada", "psst")
    );
    assert_eq!(message.room, shared::direct_room("ada", "web"));
    web.send(&ClientMsg::Direct {
        id: "d1".into(),
        to: "ada".into(),
        text: "back at you".into(),
        kind: MessageKind::Text,
        reply_to: None,
    })
    .await;
    irc.expect(":web!web@hubbub PRIVMSG ada :back at you\r\n")
        .await;
    // A nickname change is seen by everyone in the rooms.
    irc.line("NICK lovelace").await;
    irc.expect(":ada!ada@hubbub NICK :lovelace\r\n").await;
    assert!(matches!(
        web.recv_until(|m| matches!(m, ServerMsg::NickChanged { .. })).await,
        ServerMsg::NickChanged { old, new, .. } if old == "ada" && new == "lovelace"
    ));
}

#[tokio::test]
async fn bad_lines_get_errors_and_the_connection_goes_on() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    let mut irc = irc(&server, "ada").await;
    let long = format!("PRIVMSG #lobby :{}", "x".repeat(600));
    irc.line(&long).await;
    irc.expect(":hubbub 417 ada :Input line was too long").await;
    irc.line("FROBNICATE now").await;
    irc.expect(":hubbub 421 ada FROBNICATE :Unknown command\r\n")
        .await;
    irc.line("PRIVMSG #lobby").await;
    irc.expect(":hubbub 412 ada :No text to send\r\n").await;
    // Nothing of the long line was sent; the next message is.
    irc.line("PRIVMSG #lobby :still fine").await;
    assert_eq!(web.next_message().await.text, "still fine");
}

#[tokio::test]
async fn a_flooding_client_is_slowed_then_closed() {
    let server = TestServer::start().await;
    let mut irc = irc(&server, "ada").await;
    let flood: String = (0..200)
        .map(|i| format!("PRIVMSG #lobby :flood {i}\r\n"))
        .collect();
    irc.line(flood.trim_end()).await;
    let all = irc.expect_closed().await;
    assert!(all.contains("slow down"), "{all}");
    assert!(all.contains("ERROR :Closing link: "), "{all}");
}

/// Connects with `caps` taken, signing in by SASL `PLAIN` when there is a
/// password, up to the end of the lobby's names.
async fn with_caps(server: &TestServer, nick: &str, caps: &str, password: Option<&str>) -> Nc {
    let mut irc = Nc::connect_to(server.irc_addr).await;
    irc.line("CAP LS 302").await;
    irc.line(&format!("NICK {nick}")).await;
    irc.line(&format!("USER {nick} 0 * :{nick}")).await;
    irc.expect(" CAP * LS :").await;
    irc.line(&format!("CAP REQ :{caps}")).await;
    irc.expect(&format!(" CAP * ACK :{caps}\r\n")).await;
    if let Some(password) = password {
        sasl_plain(&mut irc, nick, password).await;
        irc.expect(&format!(":hubbub 900 {nick} {nick}!{nick}@hubbub {nick} :"))
            .await;
        irc.expect(&format!(":hubbub 903 {nick} :")).await;
    }
    irc.line("CAP END").await;
    irc.expect(&format!(":hubbub 001 {nick} ")).await;
    irc.expect(&format!(":{nick}!{nick}@hubbub JOIN #lobby\r\n"))
        .await;
    irc.expect(&format!(
        ":hubbub 366 {nick} #lobby :End of /NAMES list\r\n"
    ))
    .await;
    irc
}

/// Offers `account`'s password by SASL `PLAIN`, as clients do: the
/// mechanism, the server's go-ahead, then the payload.
async fn sasl_plain(irc: &mut Nc, account: &str, password: &str) {
    irc.line("AUTHENTICATE PLAIN").await;
    irc.expect("AUTHENTICATE +\r\n").await;
    let payload =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{account}\0{password}"));
    irc.line(&format!("AUTHENTICATE {payload}")).await;
}

/// The value of `tag` in a tagged line.
fn tag<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    let tags = line.strip_prefix('@')?.split_once(' ')?.0;
    tags.split(';')
        .find_map(|t| t.strip_prefix(tag)?.strip_prefix('='))
}

/// The lines of a `chathistory` batch the client asked for: its texts.
async fn history_batch(irc: &mut Nc, ask: &str) -> Vec<String> {
    irc.line(ask).await;
    let got = irc.expect(" BATCH -").await;
    let got = got + &irc.expect("\r\n").await;
    let open = got
        .lines()
        .find(|line| line.contains(" BATCH +"))
        .unwrap_or_else(|| panic!("no batch in {got}"));
    let id = open
        .split(" BATCH +")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(open.ends_with(" chathistory #lobby"), "{open}");
    got.lines()
        .filter(|line| line.contains(" PRIVMSG "))
        .map(|line| {
            assert_eq!(tag(line, "batch"), Some(id), "{line}");
            assert!(tag(line, "time").is_some(), "{line}");
            line.rsplit_once(" :").unwrap().1.to_owned()
        })
        .collect()
}

#[tokio::test]
async fn capabilities_tag_messages_echo_them_and_carry_typing() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    let mut irc = with_caps(
        &server,
        "ada",
        "server-time message-tags echo-message",
        None,
    )
    .await;

    web.say("w1", "tagged hello").await;
    let line = irc.expect(" :tagged hello\r\n").await;
    let line = line.lines().last().unwrap();
    let seq = web.next_message().await.seq;
    assert_eq!(
        tag(line, "msgid"),
        Some(format!("lobby/{seq}").as_str()),
        "{line}"
    );
    let time = tag(line, "time").expect("server-time");
    assert!(time.ends_with('Z') && time.len() == 24, "{time}");
    assert!(line.contains(" :web!web@hubbub PRIVMSG #lobby :"), "{line}");

    // echo-message: the client's own message comes back, with its id.
    irc.line("PRIVMSG #lobby :my own words").await;
    let echo = irc.expect(" :my own words\r\n").await;
    let echo = echo.lines().last().unwrap();
    let mine = web.next_message().await;
    assert_eq!(mine.text, "my own words");
    assert!(echo.contains(" :ada!ada@hubbub PRIVMSG #lobby :"), "{echo}");
    assert_eq!(
        tag(echo, "msgid"),
        Some(format!("lobby/{}", mine.seq).as_str())
    );

    // Typing, both ways.
    web.send(&ClientMsg::Typing {
        room: "lobby".into(),
    })
    .await;
    irc.expect("@+typing=active :web!web@hubbub TAGMSG #lobby\r\n")
        .await;
    irc.line("@+typing=active TAGMSG #lobby").await;
    assert!(matches!(
        web.recv_until(|m| matches!(m, ServerMsg::Typing { .. })).await,
        ServerMsg::Typing { nick, .. } if nick == "ada"
    ));
}

#[tokio::test]
async fn chathistory_pages_through_a_channel() {
    let server = TestServer::start().await;
    let mut web = Client::joined(&server, "web").await;
    let mut stamps = Vec::new();
    for n in 1..=5 {
        web.say(&format!("h{n}"), &format!("history {n}")).await;
        stamps.push(web.next_message().await.ts);
    }
    let mut irc = with_caps(
        &server,
        "ada",
        "draft/chathistory batch server-time message-tags",
        None,
    )
    .await;
    let texts = |range: std::ops::RangeInclusive<u32>| {
        range.map(|n| format!("history {n}")).collect::<Vec<_>>()
    };
    assert_eq!(
        history_batch(&mut irc, "CHATHISTORY LATEST #lobby * 3").await,
        texts(3..=5)
    );
    assert_eq!(
        history_batch(&mut irc, "CHATHISTORY BEFORE #lobby msgid=lobby/3 10").await,
        texts(1..=2)
    );
    assert_eq!(
        history_batch(&mut irc, "CHATHISTORY AFTER #lobby msgid=lobby/2 2").await,
        texts(3..=4)
    );
    assert_eq!(
        history_batch(
            &mut irc,
            "CHATHISTORY BETWEEN #lobby msgid=lobby/5 msgid=lobby/1 10"
        )
        .await,
        texts(2..=4)
    );
    assert_eq!(
        history_batch(&mut irc, "CHATHISTORY AROUND #lobby msgid=lobby/3 3").await,
        texts(2..=4)
    );
    // By time: from the moment the fourth message was stamped (a message
    // committed in the same millisecond comes with it).
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(stamps[3]) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(
        history_batch(
            &mut irc,
            &format!("CHATHISTORY AFTER #lobby timestamp={at} 10")
        )
        .await,
        (1..=5)
            .filter(|n| stamps[n - 1] >= stamps[3])
            .map(|n| format!("history {n}"))
            .collect::<Vec<_>>()
    );
    // Mistakes get FAIL or an error numeric, and the connection goes on.
    irc.line("CHATHISTORY SIDEWAYS #lobby * 10").await;
    irc.expect(":hubbub FAIL CHATHISTORY INVALID_PARAMS SIDEWAYS :")
        .await;
    irc.line("CHATHISTORY LATEST #lobby * many").await;
    irc.expect(":hubbub FAIL CHATHISTORY INVALID_PARAMS LATEST :")
        .await;
    irc.line("CHATHISTORY LATEST #elsewhere * 10").await;
    irc.expect(":hubbub 442 ada * :join elsewhere").await;
    irc.line("PING :still").await;
    irc.expect(":hubbub PONG hubbub :still\r\n").await;
}

#[tokio::test]
async fn sasl_signs_in_and_what_was_missed_is_replayed() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut web = Client::joined(&server, "web").await;

    // A wrong password fails SASL, and the client may try again.
    let mut irc = Nc::connect_to(server.irc_addr).await;
    irc.line("CAP REQ :sasl").await;
    irc.line("NICK ada").await;
    irc.line("USER ada 0 * :Ada").await;
    sasl_plain(&mut irc, "ada", "not it").await;
    irc.expect(":hubbub 904 * :SASL authentication failed")
        .await;
    irc.line("AUTHENTICATE SCRAM-SHA-256").await;
    irc.expect(":hubbub 908 * PLAIN :").await;
    drop(irc);

    let mut ada = with_caps(&server, "ada", "sasl server-time", Some(PASSWORD)).await;
    web.say("seen", "ada sees this one").await;
    ada.expect(" :ada sees this one\r\n").await;
    ada.line("QUIT :later").await;
    ada.expect_closed().await;
    web.recv_until(|m| matches!(m, ServerMsg::UserLeft { .. }))
        .await;
    web.say("m1", "while you were out").await;
    web.say("m2", "and this too").await;

    // Back, without chathistory: what was missed is replayed with its time,
    // and nothing before it.
    let mut ada = Nc::connect_to(server.irc_addr).await;
    ada.line("CAP REQ :sasl server-time").await;
    ada.line("NICK ada").await;
    ada.line("USER ada 0 * :Ada").await;
    sasl_plain(&mut ada, "ada", PASSWORD).await;
    ada.expect(":hubbub 903 ada :").await;
    ada.line("CAP END").await;
    let replay = ada.expect(" :and this too\r\n").await;
    assert!(!replay.contains("ada sees this one"), "{replay}");
    let missed: Vec<&str> = replay
        .lines()
        .filter(|l| l.contains(" PRIVMSG #lobby "))
        .collect();
    assert_eq!(missed.len(), 2, "{replay}");
    assert!(missed[0].ends_with(":while you were out"), "{replay}");
    for line in missed {
        assert!(tag(line, "time").is_some(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_irc_client_catches_up_without_delaying_others() {
    let server = TestServer::start_with(|config| {
        crate::chat::unthrottled(config);
        // Not reading, the sloth cannot answer pings either: what is
        // tested here is the catch-up, not the heartbeat.
        config.heartbeat.ping_every = std::time::Duration::from_secs(600);
        config.heartbeat.idle_after = std::time::Duration::from_secs(1200);
    })
    .await;
    let alice = Client::joined(&server, "alice").await;
    let mut bob = Client::joined(&server, "bob").await;
    // The sloth registers and then stops reading: the kernel's buffers
    // fill, then its queue in the server, and it reads the rest from the
    // store when it reads again.
    let mut sloth = irc(&server, "sloth").await;

    let total = 3000;
    crate::chat::flood_while_watching(alice, &mut bob, total).await;
    bob.say("b1", "still there?").await;

    let backlog = sloth
        .expect(":bob!bob@hubbub PRIVMSG #lobby :still there?\r\n")
        .await;
    // Each 4000-byte message is several IRC lines: count its bytes.
    assert_eq!(backlog.matches('z').count(), total * 4000);
}

#[tokio::test]
async fn shutdown_says_goodbye_the_irc_way() {
    let server = TestServer::start().await;
    let mut irc = irc(&server, "ada").await;
    let stopping = tokio::spawn(server.stop());
    let last = irc.expect_closed().await;
    assert!(
        last.ends_with("ERROR :Closing link: Server shutting down\r\n"),
        "{last:?}"
    );
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_closed() {
    let server = TestServer::start_with(|config| {
        config.heartbeat.ping_every = std::time::Duration::from_millis(300);
        config.heartbeat.idle_after = std::time::Duration::from_millis(600);
    })
    .await;
    let mut answers = irc(&server, "ada").await;
    let mut silent = irc(&server, "bob").await;
    answers.expect("PING :hubbub\r\n").await;
    answers.line("PONG :hubbub").await;
    silent.expect("PING :hubbub\r\n").await;
    let last = silent.expect_closed().await;
    assert!(last.contains("ERROR :Closing link: "), "{last:?}");
    // The one that answered is still there.
    answers.line("PING :alive").await;
    answers.expect(":hubbub PONG hubbub :alive\r\n").await;
}
