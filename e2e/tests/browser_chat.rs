//! People chat through the real server, each in headless Chromium: two pages
//! talk; a taken nickname is refused and asked again; the server restarts
//! and the pages recover by themselves, delivering what was typed offline
//! exactly once; rooms show unread counts, people see each other typing and
//! write directly; older history loads at the top; a page that was offline
//! gets every message it missed, once and in order. Screenshots at phone and desktop width, light and dark, go
//! to target/e2e-artifacts/ for people to look at.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use e2e::{Browser, ChromeDriver, DESKTOP, PHONE, Server, Viewport, take_turn};
use fantoccini::key::Key;

/// Long enough for a few reconnect attempts (backoff 0.5 s, 1 s, 2 s, …).
const RECOVERY: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn two_people_chat_in_their_browsers() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;

    for browser in [&alice, &bob] {
        browser.open(&server.url()).await?;
    }
    server.check_running()?;

    alice.join_as("alice").await.context("alice")?;
    alice.wait_connected().await.context("alice")?;
    alice.wait_for("message-input").await.context("alice")?;

    // Bob first asks for a name that is taken: the server's reason is shown
    // and the prompt asks again.
    bob.join_as("alice").await.context("bob")?;
    let refusal = bob.text_of("nick-error").await.context("bob's refusal")?;
    ensure!(refusal.contains("taken"), "bob was told {refusal:?}");
    let input = bob.wait_for("nick-input").await?;
    input.clear().await?;
    bob.join_as("bob").await.context("bob")?;
    bob.wait_connected().await.context("bob")?;
    alice
        .wait_online("bob")
        .await
        .context("alice's online list")?;
    bob.wait_online("alice")
        .await
        .context("bob's online list")?;

    alice.send_with_enter("hello from alice").await?;
    bob.wait_for_message("alice", "hello from alice")
        .await
        .context("bob's messages")?;

    bob.send_with_button("hi alice, bob here").await?;
    alice
        .wait_for_message("bob", "hi alice, bob here")
        .await
        .context("alice's messages")?;

    // Some of everything, for the screenshots: a group, a link, an action,
    // several lines, and markup that must stay text.
    alice
        .send_with_enter("the notes are at https://example.org/notes")
        .await?;
    alice.send_with_enter("/me waves").await?;
    bob.send_with_enter("<b>not bold</b> and two").await?;
    bob.send_with_enter("messages in a row").await?;
    alice
        .wait_for_message("bob", "messages in a row")
        .await
        .context("alice's messages")?;
    let link = alice
        .client()
        .find(fantoccini::Locator::Css(
            r#"a[href="https://example.org/notes"]"#,
        ))
        .await
        .context("the link")?;
    ensure!(link.attr("rel").await?.as_deref() == Some("noopener noreferrer"));
    ensure!(
        alice.count_messages("bob", "<b>not bold</b>").await? == 1,
        "markup did not show literally"
    );

    screenshots(&alice, DESKTOP, "chat-desktop").await?;
    screenshots(&bob, PHONE, "chat-phone").await?;

    // Commands: /help lists them; /join shows the new room in the room list
    // and switches to it; /leave comes back to the lobby.
    alice.send_with_enter("/help").await?;
    e2e::eventually("the /help notice", e2e::UI_TIMEOUT, || async {
        let notices = alice
            .client()
            .find_all(fantoccini::Locator::Css(&e2e::testid("notice")))
            .await?;
        let mut texts = Vec::new();
        for notice in notices {
            texts.push(notice.text().await?);
        }
        Ok(texts
            .iter()
            .any(|t| t.contains("/join ROOM") && t.contains("/nick NAME"))
            .then_some(()))
    })
    .await?;
    alice.send_with_enter("/join #Rust").await?;
    e2e::eventually("#rust in alice's room list", e2e::UI_TIMEOUT, || async {
        let list = alice.text_of("room-list").await?;
        let current = alice
            .client()
            .find(fantoccini::Locator::Css(
                r#"[data-testid="room-list"] [aria-current="true"]"#,
            ))
            .await?
            .text()
            .await?;
        Ok((list.contains("lobby") && current.contains("rust")).then_some(()))
    })
    .await?;
    alice.send_with_enter("/leave").await?;
    e2e::eventually("alice back in the lobby", e2e::UI_TIMEOUT, || async {
        let list = alice.text_of("room-list").await?;
        Ok((!list.contains("rust")).then_some(()))
    })
    .await?;
    alice.wait_for_message("bob", "messages in a row").await?;

    let (inner, scroll) = bob.widths().await?;
    ensure!(
        scroll <= inner,
        "at {inner} px the page is {scroll} px wide: it scrolls sideways on a phone"
    );

    alice.close().await?;
    bob.close().await?;
    drop(driver);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn pages_recover_from_a_server_restart_by_themselves() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let url = server.url();
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;
    for (browser, nick) in [(&alice, "alice"), (&bob, "bob")] {
        browser.open(&url).await?;
        browser.join_as(nick).await.context(nick)?;
        browser.wait_connected().await.context(nick)?;
    }
    alice.wait_online("bob").await?;
    alice.send_with_enter("before the restart").await?;
    bob.wait_for_message("alice", "before the restart").await?;

    // The server goes away: both pages say so and count down.
    let stopped = server.stop_for_restart().await?;
    for (browser, who) in [(&alice, "alice"), (&bob, "bob")] {
        browser
            .wait_state("reconnecting", Duration::from_secs(10))
            .await
            .with_context(|| format!("{who}'s page after the server stopped"))?;
    }

    // Alice writes while offline: the message waits on her page.
    let offline_text = "typed while the server was down";
    alice.send_with_enter(offline_text).await?;
    let pending = alice.text_of("message-pending").await?;
    ensure!(
        pending.contains(offline_text) && pending.contains("waiting for the connection"),
        "alice's queued message reads {pending:?}"
    );
    screenshots(&bob, PHONE, "reconnecting-phone").await?;

    // The server comes back on the same port; nobody clicks anything. Who
    // is back first does not matter: the server keeps history, and each
    // page resumes from the last message it saw.
    let server = stopped.start().await?;
    for (browser, who) in [(&alice, "alice"), (&bob, "bob")] {
        browser
            .wait_state("connected", RECOVERY)
            .await
            .with_context(|| format!("{who}'s page after the server came back"))?;
    }
    bob.wait_for_message("alice", offline_text)
        .await
        .context("the message typed offline, on bob's page")?;
    alice
        .wait_for_message("alice", offline_text)
        .await
        .context("the message typed offline, confirmed on alice's page")?;
    // Both are still present to each other.
    alice.wait_online("bob").await?;
    bob.wait_online("alice").await?;

    // Anything sent twice would have arrived before this.
    bob.send_with_enter("welcome back").await?;
    alice.wait_for_message("bob", "welcome back").await?;
    alice.send_with_enter("thanks").await?;
    bob.wait_for_message("alice", "thanks").await?;
    for (browser, who) in [(&alice, "alice"), (&bob, "bob")] {
        let count = browser.count_messages("alice", offline_text).await?;
        ensure!(
            count == 1,
            "{who}'s page shows the offline message {count} times"
        );
    }
    let pending = alice
        .client()
        .find_all(fantoccini::Locator::Css(&e2e::testid("message-pending")))
        .await?;
    ensure!(pending.is_empty(), "alice still has unconfirmed messages");

    alice.close().await?;
    bob.close().await?;
    drop(driver);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn rooms_unread_counts_typing_and_direct_messages() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;
    let carol = driver.session(DESKTOP).await?;
    for (browser, nick) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        browser.enter(&server.url(), nick).await.context(nick)?;
    }

    // Alice joins #rust with the '+' of the sidebar; bob with /join.
    alice.click(&e2e::testid("room-add")).await?;
    let field = alice.wait_for("room-add-input").await?;
    field.send_keys(&format!("Rust{}", Key::Enter)).await?;
    alice.wait_current_room("rust").await.context("alice")?;
    bob.send_with_enter("/join rust").await?;
    bob.wait_current_room("rust").await.context("bob")?;
    alice.wait_online("bob").await?;

    // Alice looks at the lobby; a message in #rust is unread there.
    alice.click(r#"[data-room="lobby"]"#).await?;
    alice.wait_current_room("lobby").await?;
    bob.send_with_enter("in rust while you look away").await?;
    e2e::eventually("an unread badge on #rust", e2e::UI_TIMEOUT, || async {
        Ok((alice.unread("rust").await? == 1).then_some(()))
    })
    .await?;
    ensure!(alice.unread("lobby").await? == 0);
    ensure!(
        alice
            .count_messages("bob", "in rust while you look away")
            .await?
            == 0,
        "the lobby shows a message of #rust"
    );
    screenshots(&alice, DESKTOP, "rooms-unread-desktop").await?;
    alice.click(r#"[data-room="rust"]"#).await?;
    alice
        .wait_for_message("bob", "in rust while you look away")
        .await?;
    ensure!(
        alice.unread("rust").await? == 0,
        "switching did not clear it"
    );

    // Bob types: alice sees it under the messages; his message ends it.
    // He keeps typing, as people do: his last notification (sent as he
    // wrote the message above) is under 3 s old, and until 3 s have passed
    // neither his page nor the server passes on another.
    let input = bob.wait_for("message-input").await?;
    input.send_keys("a long thought").await?;
    e2e::eventually(
        "bob is typing, on alice's page",
        e2e::UI_TIMEOUT,
        || async {
            if alice.text_of("typing").await?.contains("bob is typing") {
                return Ok(Some(()));
            }
            input.send_keys(".").await?;
            Ok(None)
        },
    )
    .await?;
    screenshots(&alice, DESKTOP, "typing-desktop").await?;
    input.send_keys(&Key::Enter.to_string()).await?;
    alice.wait_for_message("bob", "a long thought").await?;
    e2e::eventually("the typing line to clear", e2e::UI_TIMEOUT, || async {
        Ok(alice.text_of("typing").await?.is_empty().then_some(()))
    })
    .await?;

    // A direct message: bob gets a conversation named after alice; carol,
    // in the same lobby, sees nothing of it.
    alice
        .send_with_enter("/msg bob psst, just between us")
        .await?;
    alice
        .wait_current_room("@alice+bob")
        .await
        .context("alice")?;
    alice
        .wait_for_message("alice", "psst, just between us")
        .await?;
    e2e::eventually(
        "the conversation in bob's sidebar",
        e2e::UI_TIMEOUT,
        || async { Ok((bob.unread("@alice+bob").await.unwrap_or(0) == 1).then_some(())) },
    )
    .await?;
    bob.click(r#"[data-room="@alice+bob"]"#).await?;
    bob.wait_for_message("alice", "psst, just between us")
        .await?;
    bob.send_with_enter("got it").await?;
    alice.wait_for_message("bob", "got it").await?;
    let label = alice.text_of("dm-list").await?;
    ensure!(
        label.contains("bob"),
        "alice's conversation reads {label:?}"
    );
    screenshots(&alice, DESKTOP, "direct-desktop").await?;
    screenshots(&bob, PHONE, "direct-phone").await?;
    // Carol: alice's lobby message arrives, the conversation never does.
    alice.click(r#"[data-room="lobby"]"#).await?;
    alice.send_with_enter("back in the lobby").await?;
    carol.wait_for_message("alice", "back in the lobby").await?;
    ensure!(carol.count(r#"[data-room="@alice+bob"]"#).await? == 0);
    ensure!(carol.count(&e2e::testid("dm-list")).await? == 0);
    ensure!(carol.count_messages("alice", "psst").await? == 0);

    let (inner, scroll) = bob.widths().await?;
    ensure!(scroll <= inner, "bob's phone page is {scroll} px wide");

    for browser in [alice, bob, carol] {
        browser.close().await?;
    }
    drop(driver);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn older_history_loads_when_scrolling_to_the_top() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start_with(|config| {
        config.guard.messages_per_second = 1_000.0;
        config.guard.message_burst = 1_000;
    })
    .await?;
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    alice.open(&server.url()).await?;
    let old: Vec<String> = (1..=120).map(|n| format!("old message {n}")).collect();
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    alice.post_to("poster", "lobby", &old).await?;

    alice.join_as("alice").await?;
    alice.wait_connected().await?;
    alice.wait_for_message("poster", "old message 120").await?;
    let posted = |all: Vec<(String, String)>| -> Vec<String> {
        all.into_iter()
            .filter(|(author, _)| author == "poster")
            .map(|(_, text)| text)
            .collect()
    };
    let first_page = posted(alice.messages().await?);
    ensure!(
        first_page.len() == 50 && first_page[0].contains("old message 71"),
        "the first page: {first_page:?}"
    );

    // Scroll to the top: older messages load above, and what was at the
    // top stays in view rather than jumping away.
    let scroll_top = r#"
        const list = document.querySelector('[data-testid="message-list"]');
        list.scrollTop = 0;
        return list.scrollTop;
    "#;
    alice.client().execute(scroll_top, vec![]).await?;
    e2e::eventually("an older page", e2e::UI_TIMEOUT, || async {
        Ok((posted(alice.messages().await?).len() > 50).then_some(()))
    })
    .await?;
    let in_view = alice
        .client()
        .execute(
            r#"
            const list = document.querySelector('[data-testid="message-list"]');
            const box = list.getBoundingClientRect();
            const old = [...document.querySelectorAll('[data-testid="message"]')]
                .find((m) => m.querySelector('.msg__text')?.textContent === 'old message 71');
            const at = old.getBoundingClientRect();
            return [list.scrollTop, at.bottom > box.top && at.top < box.bottom];
            "#,
            vec![],
        )
        .await?;
    ensure!(
        in_view[1] == serde_json::json!(true) && in_view[0].as_f64().unwrap_or(0.0) > 100.0,
        "after loading, the message read before is out of view: {in_view}"
    );
    screenshots(&alice, DESKTOP, "history-desktop").await?;

    // Up to the beginning: every message once, in order.
    e2e::eventually("the first message", Duration::from_secs(30), || async {
        alice.client().execute(scroll_top, vec![]).await?;
        Ok(posted(alice.messages().await?)
            .iter()
            .any(|t| t.ends_with("old message 1"))
            .then_some(()))
    })
    .await?;
    let all = posted(alice.messages().await?);
    let expected: Vec<String> = (1..=120).map(|n| format!("old message {n}")).collect();
    let shown: Vec<String> = all
        .iter()
        .map(|t| {
            t.rsplit_once("old message")
                .map_or(t.clone(), |(_, n)| format!("old message{n}"))
        })
        .collect();
    ensure!(shown == expected, "the history reads {shown:?}");

    alice.close().await?;
    drop(driver);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn a_page_back_online_gets_what_it_missed_once_and_in_order() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;
    for (browser, nick) in [(&alice, "alice"), (&bob, "bob")] {
        browser.enter(&server.url(), nick).await.context(nick)?;
    }
    bob.send_with_enter("before the lid closed").await?;
    alice
        .wait_for_message("bob", "before the lid closed")
        .await?;

    // Alice's laptop goes off the network: her page drops its connection.
    alice.set_offline(true).await?;
    alice
        .wait_state("reconnecting", Duration::from_secs(10))
        .await
        .context("alice's page once offline")?;
    alice.send_with_enter("written in the tunnel").await?;
    for n in 1..=6 {
        bob.send_with_enter(&format!("missed {n}")).await?;
    }
    bob.wait_for_message("bob", "missed 6").await?;

    alice.set_offline(false).await?;
    alice
        .wait_state("connected", RECOVERY)
        .await
        .context("alice's page back online")?;
    alice.wait_for_message("bob", "missed 6").await?;
    bob.wait_for_message("alice", "written in the tunnel")
        .await?;
    alice
        .wait_for_message("alice", "written in the tunnel")
        .await?;
    bob.send_with_enter("after").await?;
    alice.wait_for_message("bob", "after").await?;

    let texts: Vec<String> = alice
        .messages()
        .await?
        .into_iter()
        .filter(|(author, _)| author == "bob")
        .map(|(_, text)| text)
        .collect();
    let ours: Vec<&str> = [
        "before the lid closed",
        "missed 1",
        "missed 2",
        "missed 3",
        "missed 4",
        "missed 5",
        "missed 6",
        "after",
    ]
    .to_vec();
    let seen: Vec<&str> = texts
        .iter()
        .filter_map(|t| ours.iter().find(|o| t.ends_with(**o)).copied())
        .collect();
    ensure!(seen == ours, "alice's page reads {texts:?}");
    for (browser, who) in [(&alice, "alice"), (&bob, "bob")] {
        let count = browser
            .count_messages("alice", "written in the tunnel")
            .await?;
        ensure!(
            count == 1,
            "{who}'s page shows alice's message {count} times"
        );
    }

    alice.close().await?;
    bob.close().await?;
    drop(driver);
    server.stop().await
}

/// Light and dark screenshots of `browser`'s page, and a check that the page
/// is the size asked for.
async fn screenshots(browser: &Browser, viewport: Viewport, name: &str) -> Result<()> {
    let size = browser
        .client()
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await?;
    ensure!(
        size == serde_json::json!([viewport.width, viewport.height]),
        "the page should be {}x{} px, it is {size}",
        viewport.width,
        viewport.height
    );
    let light = browser.screenshot(name).await?;
    browser.prefer_dark(true).await?;
    let dark = browser.screenshot(&format!("{name}-dark")).await?;
    browser.prefer_dark(false).await?;
    println!("screenshots: {} {}", light.display(), dark.display());
    Ok(())
}
