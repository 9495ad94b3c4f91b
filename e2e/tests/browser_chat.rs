//! Two people chat through the real server, each in headless Chromium.

use anyhow::{Context, Result, ensure};
use e2e::{ChromeDriver, DESKTOP, PHONE, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn two_people_chat_in_their_browsers() -> Result<()> {
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let alice = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;

    for browser in [&alice, &bob] {
        browser.open(&server.url()).await?;
    }
    server.check_running()?;

    alice.join_as("alice").await.context("alice")?;
    bob.join_as("bob").await.context("bob")?;
    alice.wait_connected().await.context("alice")?;
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

    // For people to look at; the phone one shows the narrow layout.
    let desktop = alice.screenshot("chat-desktop").await?;
    let phone = bob.screenshot("chat-phone").await?;
    println!("screenshots: {} {}", desktop.display(), phone.display());

    for (browser, viewport) in [(&alice, DESKTOP), (&bob, PHONE)] {
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
    }
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
