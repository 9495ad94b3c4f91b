//! Accounts through every door: registering, signing in with a password, a
//! session token or the session cookie, keeping a registered nickname from
//! guests, the operator's policy (guests, registration, guest rooms), the
//! back-off after failed sign-ins, and signing out everywhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic here is a failed test"
)]

use backend::config::Registration;
use serde_json::Value;
use shared::{ClientMsg, Credentials, ErrorCode, Secret, ServerMsg};

use crate::support::{Client, PASSWORD, TestServer, http_get, http_post};
use crate::tcp::Nc;

fn json(response: &crate::support::HttpResponse) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", response.text()))
}

fn credentials(nick: &str, password: &str) -> String {
    serde_json::json!({ "nick": nick, "password": password }).to_string()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Says hello as `nick` with `auth`, on a new typed connection.
async fn hello(server: &TestServer, nick: &str, auth: Option<Credentials>) -> Client {
    let mut client = Client::typed(server).await;
    client
        .send(&ClientMsg::Hello {
            nick: nick.into(),
            resume: Default::default(),
            auth,
        })
        .await;
    client
}

fn password(text: &str) -> Option<Credentials> {
    Some(Credentials::Password(Secret::new(text)))
}

#[tokio::test]
async fn registering_over_http_sets_an_http_only_strict_cookie_and_signs_in() {
    let server = TestServer::start().await;
    let response = http_post(
        server.addr,
        "/api/register",
        &credentials("Ada", PASSWORD),
        &[],
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let body = json(&response);
    assert_eq!(body["nick"], "Ada");
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 40, "a token long enough not to guess");
    let cookie = response.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with(&format!("hubbub_session={token};")),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert_eq!(response.header("cache-control"), Some("no-store"));

    // Both ways of presenting the session say who it is.
    for header in [
        ("Authorization", bearer(&token)),
        ("Cookie", format!("hubbub_session={token}")),
    ] {
        let me = http_get(server.addr, "/api/me", &[(header.0, &header.1)]).await;
        assert_eq!(me.status, 200, "{}", me.text());
        assert_eq!(json(&me)["nick"], "Ada");
    }
    let nobody = http_get(server.addr, "/api/me", &[]).await;
    assert_eq!(nobody.status, 401);

    // The nickname is taken, whatever its case or look-alike spelling.
    for spelling in ["ada", "ADA", "\u{410}da"] {
        let again = http_post(
            server.addr,
            "/api/register",
            &credentials(spelling, PASSWORD),
            &[],
        )
        .await;
        assert_eq!(again.status, 409, "{spelling}: {}", again.text());
        assert_eq!(json(&again)["code"], "nick_registered");
    }
    // A short password is refused with the rule.
    let weak = http_post(
        server.addr,
        "/api/register",
        &credentials("bob", "short"),
        &[],
    )
    .await;
    assert_eq!(weak.status, 400);
    assert!(weak.text().contains("at least 8"), "{}", weak.text());
    assert_eq!(json(&weak)["code"], "password_weak");
    // Another site's page may not sign its visitors up.
    let elsewhere = http_post(
        server.addr,
        "/api/register",
        &credentials("eve", PASSWORD),
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert_eq!(elsewhere.status, 403);
}

#[tokio::test]
async fn a_tls_public_url_makes_the_cookie_secure() {
    let server =
        TestServer::start_with(|c| c.public_url = "https://chat.example.org/".to_owned()).await;
    let response = http_post(
        server.addr,
        "/api/register",
        &credentials("ada", PASSWORD),
        &[],
    )
    .await;
    let cookie = response.header("set-cookie").unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_websocket_signs_in_with_a_password_a_token_or_the_cookie() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;

    // A password: a new session comes with the welcome.
    let by_password = Client::signed_in(&server, "ADA", PASSWORD).await;
    let fresh = by_password.token.clone().expect("a new session's token");
    assert_ne!(fresh, token);
    let me = http_get(
        server.addr,
        "/api/me",
        &[("Authorization", &bearer(&fresh))],
    )
    .await;
    assert_eq!(json(&me)["nick"], "ada");

    // A token: no new session.
    let mut by_token = hello(
        &server,
        "ada",
        Some(Credentials::Token(Secret::new(token.clone()))),
    )
    .await;
    match by_token.recv().await {
        ServerMsg::Welcome {
            nick,
            account: true,
            token: None,
            ..
        } => assert_eq!(nick, "ada"),
        other => panic!("expected a welcome without a token, got {other:?}"),
    }

    // The cookie the browser sends with its handshake.
    let cookie = format!("hubbub_session={token}");
    let mut browser = Client::try_typed(&server, &[("Cookie", &cookie)])
        .await
        .unwrap();
    browser
        .send(&ClientMsg::Hello {
            nick: "ada".into(),
            resume: Default::default(),
            auth: None,
        })
        .await;
    match browser.recv().await {
        ServerMsg::Welcome {
            nick,
            account: true,
            ..
        } => assert_eq!(nick, "ada"),
        other => panic!("expected the cookie to sign in, got {other:?}"),
    }

    // The same account on three connections is one member of the lobby.
    let mut counter = Client::joined(&server, "counter").await;
    counter.send(&ClientMsg::Rooms).await;
    let ServerMsg::Rooms { rooms } = counter
        .recv_until(|m| matches!(m, ServerMsg::Rooms { .. }))
        .await
    else {
        unreachable!()
    };
    let lobby = rooms.iter().find(|r| r.room == "lobby").unwrap();
    assert_eq!(lobby.members, 2, "ada once, and counter: {rooms:?}");
    drop((by_password, by_token, browser));
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_a_code_and_the_connection_stays() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut client = hello(&server, "ada", password("not the password")).await;
    let refusal = client.refused(ErrorCode::AuthFailed).await;
    assert!(refusal.contains("do not sign in"), "{refusal}");
    assert!(!refusal.contains("not the password"), "{refusal}");
    // A token that is no session.
    client
        .send(&ClientMsg::Hello {
            nick: "ada".into(),
            resume: Default::default(),
            auth: Some(Credentials::Token(Secret::new("made-up"))),
        })
        .await;
    client.refused(ErrorCode::AuthFailed).await;
    // A password for a nickname nobody registered is as wrong as any.
    client
        .send(&ClientMsg::Hello {
            nick: "nobody".into(),
            resume: Default::default(),
            auth: password(PASSWORD),
        })
        .await;
    client.refused(ErrorCode::AuthFailed).await;
    // The same connection goes on as a guest.
    client
        .send(&ClientMsg::Hello {
            nick: "visitor".into(),
            resume: Default::default(),
            auth: None,
        })
        .await;
    let ServerMsg::Welcome { account: false, .. } = client.recv().await else {
        panic!("the connection survives its refusals")
    };
}

#[tokio::test]
async fn guests_cannot_take_a_registered_nickname_on_any_door() {
    let server = TestServer::start().await;
    server.register("Ada").await;

    // The web: at hello, and by renaming.
    for spelling in ["Ada", "ada", "\u{410}da", "ADA"] {
        let mut guest = hello(&server, spelling, None).await;
        let refusal = guest.refused(ErrorCode::NickRegistered).await;
        assert!(refusal.contains("registered"), "{refusal}");
    }
    let mut renaming = Client::joined(&server, "bob").await;
    renaming.send(&ClientMsg::Nick { nick: "aDa".into() }).await;
    renaming.refused(ErrorCode::NickRegistered).await;

    // The terminal: asked for the password, which it may get wrong.
    let mut nc = Nc::connect(&server).await;
    nc.expect("nickname: ").await;
    nc.line("ada").await;
    let refusal = nc.expect("password for ada: ").await;
    assert!(
        refusal.contains("! the nickname ada is registered"),
        "{refusal:?}"
    );
    nc.line("guess").await;
    let wrong = nc.expect("nickname: ").await;
    assert!(wrong.contains("do not sign in"), "{wrong:?}");
    assert!(!wrong.contains("guess"), "{wrong:?}");
    // A blank answer is a new nickname instead.
    nc.line("ada").await;
    nc.expect("password for ada: ").await;
    nc.line("").await;
    nc.expect("nickname: ").await;
    nc.line("carol").await;
    nc.expect("-- you are carol;").await;
    nc.expect("-- [lobby] online").await;
    nc.line("/nick ADA").await;
    nc.expect("! the nickname ADA is registered").await;
}

#[tokio::test]
async fn a_terminal_signs_in_at_the_password_prompt_or_with_login() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut web = Client::joined(&server, "bob").await;

    let mut nc = Nc::connect(&server).await;
    nc.expect("nickname: ").await;
    nc.line("Ada").await;
    nc.expect("password for Ada: ").await;
    nc.line(PASSWORD).await;
    nc.expect("-- you are ada, signed in;").await;
    nc.expect("-- you joined [lobby]").await;
    web.recv_until(|m| matches!(m, ServerMsg::UserJoined { nick, .. } if nick == "ada"))
        .await;
    nc.line("/quit").await;

    let mut nc = Nc::connect(&server).await;
    nc.expect("nickname: ").await;
    nc.line(&format!("/login ada {PASSWORD}")).await;
    nc.expect("-- you are ada, signed in;").await;
    nc.expect("-- you joined [lobby]").await;
    nc.line("signed in from a terminal").await;
    let message = web.next_message().await;
    assert_eq!(
        (message.nick.as_str(), message.text.as_str()),
        ("ada", "signed in from a terminal")
    );
    // Signed in already: /login says how to switch.
    nc.line(&format!("/login ada {PASSWORD}")).await;
    nc.expect("you have a nickname already").await;
}

#[tokio::test]
async fn a_guest_registers_its_nickname_from_a_terminal_or_the_web_and_keeps_it() {
    let server = TestServer::start().await;
    let mut nc = Nc::login(&server, "dave").await;
    nc.line("/register short").await;
    nc.expect("at least 8").await;
    nc.line(&format!("/register {PASSWORD}")).await;
    nc.expect("-- dave is registered to you now, and you are signed in")
        .await;
    nc.line("/quit").await;

    let mut web = Client::joined(&server, "erin").await;
    web.send(&ClientMsg::Register {
        password: Secret::new(PASSWORD),
        invite: None,
    })
    .await;
    let ServerMsg::Registered { nick, token, .. } = web
        .recv_until(|m| matches!(m, ServerMsg::Registered { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(nick, "erin");
    let me = http_get(
        server.addr,
        "/api/me",
        &[("Authorization", &bearer(token.expose()))],
    )
    .await;
    assert_eq!(json(&me)["nick"], "erin");
    // Registered already.
    web.send(&ClientMsg::Register {
        password: Secret::new(PASSWORD),
        invite: None,
    })
    .await;
    web.refused(ErrorCode::AlreadyRegistered).await;
    drop(web);

    // Both are accounts now: guests are kept out, the passwords let in.
    let mut guest = hello(&server, "dave", None).await;
    guest.refused(ErrorCode::NickRegistered).await;
    let mut guest = hello(&server, "erin", None).await;
    guest.refused(ErrorCode::NickRegistered).await;
    Client::signed_in(&server, "dave", PASSWORD).await;
    Client::signed_in(&server, "erin", PASSWORD).await;
}

#[tokio::test]
async fn a_server_without_guests_lets_in_accounts_only() {
    let server = TestServer::start_with(|c| c.accounts.guests = false).await;
    let token = server.register("ada").await;
    let mut guest = hello(&server, "walt", None).await;
    let refusal = guest.refused(ErrorCode::GuestsNotAllowed).await;
    assert!(refusal.contains("sign in"), "{refusal}");
    let mut nc = Nc::connect(&server).await;
    nc.expect("nickname: ").await;
    nc.line("walt").await;
    nc.expect("! ").await;
    nc.expect("nickname: ").await;
    // History is for those the room admits.
    let anonymous = http_get(server.addr, "/api/rooms/lobby/messages", &[]).await;
    assert_eq!(anonymous.status, 404);
    let signed = http_get(
        server.addr,
        "/api/rooms/lobby/messages",
        &[("Authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.text());
    Client::member(&server, "ada").await;
}

#[tokio::test]
async fn guests_enter_only_the_guest_rooms() {
    let server = TestServer::start_with(|c| c.accounts.guest_rooms = vec!["lobby".into()]).await;
    let token = server.register("ada").await;
    let mut guest = Client::joined(&server, "walt").await;
    guest
        .send(&ClientMsg::Join {
            room: "staff".into(),
        })
        .await;
    let refusal = guest.refused(ErrorCode::GuestsNotAllowed).await;
    assert!(
        refusal.contains("staff admits signed-in users only"),
        "{refusal}"
    );
    let mut ada = Client::member(&server, "ada").await;
    ada.send(&ClientMsg::Join {
        room: "staff".into(),
    })
    .await;
    ada.recv_until(|m| matches!(m, ServerMsg::Joined { room, .. } if room == "staff"))
        .await;
    ada.say_in("staff", "s1", "for accounts").await;
    ada.next_message().await;
    let anonymous = http_get(server.addr, "/api/rooms/staff/messages", &[]).await;
    assert_eq!(anonymous.status, 404);
    let guest_token = guest.token.clone().unwrap();
    let as_guest = http_get(
        server.addr,
        "/api/rooms/staff/messages",
        &[("Authorization", &bearer(&guest_token))],
    )
    .await;
    assert_eq!(as_guest.status, 404);
    let signed = http_get(
        server.addr,
        "/api/rooms/staff/messages",
        &[("Authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(json(&signed)["messages"][0]["text"], "for accounts");
}

#[tokio::test]
async fn closed_registration_refuses_everyone_but_the_named_operators() {
    let server = TestServer::start_with(|c| {
        c.accounts.registration = Registration::Closed;
        c.moderation.operators = vec!["root".into()];
    })
    .await;
    let refused = http_post(
        server.addr,
        "/api/register",
        &credentials("ada", PASSWORD),
        &[],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(json(&refused)["code"], "registration_closed");
    let mut nc = Nc::login(&server, "dave").await;
    nc.line(&format!("/register {PASSWORD}")).await;
    nc.expect("takes no new accounts").await;
    // The operator the configuration names is how the first account comes.
    let root = http_post(
        server.addr,
        "/api/register",
        &credentials("root", PASSWORD),
        &[],
    )
    .await;
    assert_eq!(root.status, 201, "{}", root.text());
}

#[tokio::test]
async fn invite_only_registration_takes_an_operators_code_once() {
    let server = TestServer::start_with(|c| {
        c.accounts.registration = Registration::Invite;
        c.moderation.operators = vec!["root".into()];
    })
    .await;
    server.register("root").await;
    let without = http_post(
        server.addr,
        "/api/register",
        &credentials("ada", PASSWORD),
        &[],
    )
    .await;
    assert_eq!(without.status, 403);
    assert!(without.text().contains("invite"), "{}", without.text());

    // Only an operator makes codes.
    let mut member = Client::joined(&server, "walt").await;
    member.send(&ClientMsg::Invite).await;
    member.refused(ErrorCode::Forbidden).await;
    let mut root = Client::member(&server, "root").await;
    root.send(&ClientMsg::Invite).await;
    let ServerMsg::Invite { code, expires } = root
        .recv_until(|m| matches!(m, ServerMsg::Invite { .. }))
        .await
    else {
        unreachable!()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        i128::from(expires) > now as i128,
        "an invite that has not run out"
    );
    let with_code = serde_json::json!({
        "nick": "ada", "password": PASSWORD, "invite": code.expose()
    })
    .to_string();
    let ada = http_post(server.addr, "/api/register", &with_code, &[]).await;
    assert_eq!(ada.status, 201, "{}", ada.text());
    let again = serde_json::json!({
        "nick": "bea", "password": PASSWORD, "invite": code.expose()
    })
    .to_string();
    let used = http_post(server.addr, "/api/register", &again, &[]).await;
    assert_eq!(used.status, 403, "{}", used.text());
    assert!(used.text().contains("invite"), "{}", used.text());
}

#[tokio::test]
async fn failed_sign_ins_back_off_for_the_account_and_the_address() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let mut refused = 0;
    let mut throttled = None;
    for _ in 0..10 {
        let response = http_post(
            server.addr,
            "/api/login",
            &credentials("ada", "not the password"),
            &[],
        )
        .await;
        match response.status {
            401 => refused += 1,
            429 => {
                throttled = Some(response);
                break;
            }
            other => panic!("unexpected {other}: {}", response.text()),
        }
    }
    assert_eq!(refused, 5, "five free tries");
    let throttled = throttled.expect("the sixth failure waits");
    assert!(
        throttled.text().contains("too many failed sign-ins"),
        "{}",
        throttled.text()
    );
    // While it waits, even the right password is refused, on every door.
    let right = http_post(
        server.addr,
        "/api/login",
        &credentials("ada", PASSWORD),
        &[],
    )
    .await;
    assert_eq!(right.status, 429);
    let mut web = hello(&server, "ada", password(PASSWORD)).await;
    let refusal = web.refused(ErrorCode::RateLimited).await;
    assert!(refusal.contains("try again in"), "{refusal}");
    let mut nc = Nc::connect(&server).await;
    nc.expect("nickname: ").await;
    nc.line(&format!("/login ada {PASSWORD}")).await;
    nc.expect("too many failed sign-ins").await;
    // A guest from the same address still chats.
    Client::joined(&server, "walt").await;
}

#[tokio::test]
async fn registrations_are_limited_per_address_per_hour() {
    let server = TestServer::start_with(|c| c.accounts.registrations_per_hour_per_ip = 2).await;
    server.register("one").await;
    server.register("two").await;
    let third = http_post(
        server.addr,
        "/api/register",
        &credentials("three", PASSWORD),
        &[],
    )
    .await;
    assert_eq!(third.status, 429, "{}", third.text());
    assert!(third.text().contains("wait an hour"), "{}", third.text());
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_and_closes_its_connections() {
    let server = TestServer::start().await;
    let http_token = server.register("ada").await;
    let mut first = Client::member(&server, "ada").await;
    let mut second = Client::member(&server, "ada").await;
    let mut nc = Nc::connect(&server).await;
    nc.expect("nickname: ").await;
    nc.line(&format!("/login ada {PASSWORD}")).await;
    nc.expect("-- you joined [lobby]").await;
    let second_token = second.token.clone().unwrap();

    // One session: its connection closes, the others stay.
    second.send(&ClientMsg::SignOut { everywhere: false }).await;
    let frame = second.expect_close().await;
    assert_eq!(u16::from(frame.code), 1000);
    assert!(frame.reason.contains("signed out"), "{}", frame.reason);
    let me = http_get(
        server.addr,
        "/api/me",
        &[("Authorization", &bearer(&second_token))],
    )
    .await;
    assert_eq!(me.status, 401);
    let me = http_get(
        server.addr,
        "/api/me",
        &[("Authorization", &bearer(&http_token))],
    )
    .await;
    assert_eq!(me.status, 200);

    // Everywhere: over HTTP, every session ends and every connection closes.
    let out = http_post(
        server.addr,
        "/api/logout",
        r#"{"everywhere":true}"#,
        &[("Authorization", &bearer(&http_token))],
    )
    .await;
    assert_eq!(out.status, 204, "{}", out.text());
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let frame = first.expect_close().await;
    assert_eq!(u16::from(frame.code), 1000);
    let goodbye = nc.expect_closed().await;
    assert!(goodbye.contains("signed out"), "{goodbye:?}");
    let first_token = first.token.clone().unwrap();
    for token in [&http_token, &first_token] {
        let me = http_get(server.addr, "/api/me", &[("Authorization", &bearer(token))]).await;
        assert_eq!(me.status, 401);
    }
    // A session that ended does not sign a connection in.
    let mut late = hello(
        &server,
        "ada",
        Some(Credentials::Token(Secret::new(first_token))),
    )
    .await;
    late.refused(ErrorCode::AuthFailed).await;
    // The password still does.
    Client::signed_in(&server, "ada", PASSWORD).await;
}

#[tokio::test]
async fn a_guest_registers_its_own_nickname_over_http_in_one_session_with_its_connection() {
    let server = TestServer::start().await;
    let mut erin = Client::joined(&server, "erin").await;
    let guest_token = erin.token.clone().unwrap();
    let someone = Client::joined(&server, "walt").await;

    // Without the guest's token the nickname is someone else's now; with
    // another guest's token, too.
    let plain = http_post(
        server.addr,
        "/api/register",
        &credentials("erin", PASSWORD),
        &[],
    )
    .await;
    assert_eq!(plain.status, 409, "{}", plain.text());
    assert_eq!(json(&plain)["code"], "nick_taken");
    let walts = someone.token.clone().unwrap();
    let other = http_post(
        server.addr,
        "/api/register",
        &credentials("erin", PASSWORD),
        &[("Authorization", &bearer(&walts))],
    )
    .await;
    assert_eq!(other.status, 409);

    let own = http_post(
        server.addr,
        "/api/register",
        &credentials("Erin", PASSWORD),
        &[("Authorization", &bearer(&guest_token))],
    )
    .await;
    assert_eq!(own.status, 201, "{}", own.text());
    let session = json(&own)["token"].as_str().unwrap().to_owned();
    assert!(own.header("set-cookie").unwrap().contains(&session));
    let ServerMsg::Registered { nick, token, .. } = erin
        .recv_until(|m| matches!(m, ServerMsg::Registered { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(nick, "erin");
    assert_eq!(
        token.expose(),
        session,
        "one session for the page and its socket"
    );
    // The guest token is done; the session is the account's.
    let me = http_get(
        server.addr,
        "/api/me",
        &[("Authorization", &bearer(&session))],
    )
    .await;
    assert_eq!(json(&me)["nick"], "erin");
    let history = http_get(
        server.addr,
        "/api/rooms/@erin+walt/messages",
        &[("Authorization", &bearer(&guest_token))],
    )
    .await;
    assert_eq!(history.status, 404);

    // Signing that one session out closes the connection too.
    let out = http_post(
        server.addr,
        "/api/logout",
        "",
        &[("Authorization", &bearer(&session))],
    )
    .await;
    assert_eq!(out.status, 204);
    let frame = erin.expect_close().await;
    assert_eq!(frame.reason.as_str(), "signed out");
}
