//! People chat through the real server, each in headless Chromium: two pages
//! talk; a taken nickname is refused and asked again; the server restarts
//! and the pages recover by themselves, delivering what was typed offline
//! exactly once. Screenshots at phone and desktop width, light and dark, go
//! to target/e2e-artifacts/ for people to look at.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use e2e::{Browser, ChromeDriver, DESKTOP, PHONE, Server, Viewport, take_turn};

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

    // The server keeps no history yet, so bob sees alice's message only if
    // he is back first. Alice's laptop is off the network meanwhile, which
    // also checks that the browser's `online` event brings her back at once.
    alice.set_offline(true).await?;

    // The server comes back on the same port; nobody clicks anything.
    let server = stopped.start().await?;
    bob.wait_state("connected", RECOVERY)
        .await
        .context("bob's page after the server came back")?;
    bob.wait_online("bob").await?;
    ensure!(
        alice.connection_state().await?.as_deref() == Some("reconnecting"),
        "alice's page reconnected while her browser was offline"
    );
    alice.set_offline(false).await?;
    alice
        .wait_state("connected", Duration::from_secs(10))
        .await
        .context("alice's page once her browser is online again")?;
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
