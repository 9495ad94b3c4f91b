//! Reading through the real server in headless Chromium: a signed-in
//! person's unread and mention counts per room, which survive a reload
//! (the server keeps the read marker) and clear on every page of the
//! account once one of them shows the room; and search, whose result opens
//! the message highlighted in its room; and desktop notifications of a
//! mention and a direct message while the tab is in the background, whose
//! click opens the message. Screenshots of the badges and of the search
//! results, light and dark, of the message found, of the notifications'
//! switch and of the message a notification opened go to
//! target/e2e-artifacts/.

use anyhow::{Context, Result, ensure};
use e2e::{ChromeDriver, DESKTOP, Server, Shown, take_turn, testid};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn unread_and_mention_counts_survive_a_reload_clear_everywhere_and_search_finds() -> Result<()>
{
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let ada = driver.session(DESKTOP).await?;
    let other = driver.session(DESKTOP).await?;
    // Bob posts from a page that is not signed in (the socket of a signed-in
    // page would carry ada's cookie).
    let bob = driver.session(DESKTOP).await?;

    // Ada registers, joins #work, and looks at the lobby; on another
    // browser she signs in and joins #work too.
    ada.register(&server.url(), "ada", PASSWORD).await?;
    ada.join_room("work").await?;
    ada.open_room("lobby").await?;
    other.open(&server.url()).await?;
    other
        .sign_in("ada", PASSWORD)
        .await
        .context("ada's other browser")?;
    other.join_room("work").await?;
    other.open_room("lobby").await?;

    // Bob writes in #work, once to ada.
    bob.open(&server.url()).await?;
    bob.post_to(
        "bob",
        "work",
        &[
            "the release notes are out",
            "@ada could you read them before noon?",
            "thanks, all",
        ],
    )
    .await?;
    ada.wait_counts("work", 3, 1).await.context("ada")?;
    other
        .wait_counts("work", 3, 1)
        .await
        .context("the other browser")?;
    ensure!(ada.unread("lobby").await? == 0);
    let title = ada.client().title().await?;
    ensure!(title == "(3) Hubbub", "the title is {title:?}");
    ada.screenshots(DESKTOP, "reading-badges-desktop").await?;

    // After a reload the counts come from the server again.
    ada.client().refresh().await?;
    ada.wait_signed_in().await.context("ada, reloaded")?;
    ada.wait_counts("work", 3, 1)
        .await
        .context("the counts after a reload")?;

    // Ada opens #work: the counts clear here and on her other browser.
    ada.open_room("work").await?;
    ada.wait_for_message("bob", "thanks, all").await?;
    ada.wait_counts("work", 0, 0).await?;
    other
        .wait_counts("work", 0, 0)
        .await
        .context("the read marker on the other browser")?;
    let mention = format!("{}.msg--mention", testid("message"));
    ensure!(
        ada.count(&mention).await? == 1,
        "the message to ada is not marked as mentioning her"
    );

    // From the lobby, a search of every room finds the message; its
    // result opens #work with the message highlighted.
    ada.open_room("lobby").await?;
    ada.search("release", true).await?;
    let hit = ada.text_of("search-hit").await?;
    ensure!(hit.contains("release notes"), "the result says {hit:?}");
    ensure!(
        ada.count(&format!("{} mark", testid("search-hit"))).await? == 1,
        "the matched word is not marked"
    );
    ada.screenshots(DESKTOP, "reading-search-desktop").await?;
    ada.click(&testid("search-hit")).await?;
    ada.wait_current_room("work").await?;
    ada.wait_found("the release notes are out").await?;
    ada.screenshot("reading-found-desktop").await?;
    ensure!(
        ada.count(&testid("search-panel")).await? == 0,
        "the results stay open over the message"
    );

    // (Her other browser, looking at the lobby, would read it for her.)
    other.close().await?;

    // Ada turns desktop notifications on and goes to another tab. Bob
    // mentions her in the lobby, then writes to her directly: one
    // notification each, saying who and where.
    ada.allow_notifications().await?;
    ada.click(&testid("account-button")).await?;
    ada.wait_for("notify-toggle").await?;
    ada.screenshot("notifications-menu-desktop").await?;
    ada.close_menu().await?;
    ada.turn_on_notifications().await?;
    ada.set_hidden(true).await?;
    bob.post_to("bob", "lobby", &["@ada the demo starts in 5 minutes"])
        .await?;
    let shown = ada.wait_notification(1).await.context("the mention")?;
    ensure!(
        shown
            == Shown {
                title: "bob in #lobby".into(),
                body: "@ada the demo starts in 5 minutes".into(),
            },
        "the mention's notification is {shown:?}"
    );
    bob.post_to("bob", "@ada", &["psst: bring the slides"])
        .await?;
    let shown = ada
        .wait_notification(2)
        .await
        .context("the direct message")?;
    ensure!(
        (shown.title.as_str(), shown.body.as_str()) == ("bob", "psst: bring the slides"),
        "the direct message's notification is {shown:?}"
    );
    // Not a mention, not direct: no notification.
    bob.post_to("bob", "lobby", &["coffee is ready"]).await?;
    ada.wait_counts("lobby", 2, 1).await?;
    let all = ada.notifications().await?;
    ensure!(all.len() == 2, "notified of {all:?}");
    // Clicking the mention's brings the lobby up at the message.
    ada.set_hidden(false).await?;
    ada.click_notification(0).await?;
    ada.wait_current_room("lobby").await?;
    ada.wait_found("the demo starts in 5 minutes").await?;
    ada.screenshot("notification-clicked-desktop").await?;

    ada.close().await?;
    bob.close().await?;
    drop(driver);
    server.stop().await
}
