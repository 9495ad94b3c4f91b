//! Messages that live, through the real server, each person in headless
//! Chromium: in the lobby a signed-in member posts, a guest replies (the
//! author sees the quote, and going to it marks the message), the author
//! edits the message (the guest sees the new text and "(edited)"), the
//! guest reacts and takes the reaction back, and the author deletes the
//! message (the guest's reply then quotes a deleted message). Screenshots
//! of the timeline with a reply, an edit and a reaction, and after the
//! deletion, light and dark, go to target/e2e-artifacts/.

use anyhow::{Context, Result, ensure};
use e2e::{ChromeDriver, DESKTOP, PHONE, Server, UI_TIMEOUT, eventually, take_turn, testid};

const ADA_PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn a_reply_an_edit_and_a_reaction_reach_the_other_person() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let ada = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;
    ada.register(&server.url(), "ada", ADA_PASSWORD).await?;
    bob.enter(&server.url(), "bob").await?;
    ada.wait_online("bob").await?;

    let first = "shall we ship it today?";
    ada.send_with_enter(first).await?;
    bob.wait_for_message("ada", first).await?;

    // Bob replies: his composer says to whom, and Ada sees the quote.
    bob.reply_to(first).await?;
    let replying = bob.text_of("replying").await?;
    ensure!(
        replying.contains("Replying to ada") && replying.contains(first),
        "the composer says {replying:?}"
    );
    bob.send_with_enter("yes, after lunch").await?;
    ada.wait_for_message("bob", "yes, after lunch").await?;
    let quote = eventually("the quote in bob's reply", UI_TIMEOUT, || async {
        ada.quote_in("bob", "yes, after lunch").await
    })
    .await?;
    ensure!(
        quote.contains("ada") && quote.contains(first),
        "the quote reads {quote:?}"
    );
    ensure!(
        bob.count(&testid("replying")).await? == 0,
        "the reply is done with once sent"
    );
    // Going to the quoted message marks it.
    ada.click_in_message("yes, after lunch", &testid("quote"))
        .await?;
    eventually("the quoted message marked", UI_TIMEOUT, || async {
        Ok((ada.count(r#"[data-found][data-author="ada"]"#).await? == 1).then_some(()))
    })
    .await?;

    // Ada edits her message: Bob sees the new text, marked edited.
    let edited = "shall we ship it after lunch?";
    ada.edit_message(first, edited).await?;
    bob.wait_for_message("ada", edited)
        .await
        .context("the edit, on bob's page")?;
    eventually("(edited) on bob's page", UI_TIMEOUT, || async {
        Ok(bob
            .messages()
            .await?
            .iter()
            .any(|(author, text)| {
                author == "ada" && text.contains(edited) && text.contains("(edited)")
            })
            .then_some(()))
    })
    .await?;
    ensure!(
        bob.count_messages("ada", first).await? == 0,
        "the old text is gone from bob's page"
    );

    // Bob reacts: Ada sees 👍 1; Bob's own chip is marked as his.
    bob.react(edited, "👍").await?;
    ada.wait_for_reactions("ada", edited, &["👍 1"]).await?;
    bob.wait_for_reactions("ada", edited, &["👍 1"]).await?;
    ensure!(
        bob.count(r#".reaction--mine[aria-pressed="true"]"#).await? == 1,
        "bob's reaction is marked as his"
    );
    ada.react("yes, after lunch", "🎉").await?;
    bob.wait_for_reactions("bob", "yes, after lunch", &["🎉 1"])
        .await?;
    ada.send_with_enter("great, see you then").await?;
    bob.wait_for_message("ada", "great, see you then").await?;
    ada.screenshots(DESKTOP, "messages-desktop").await?;
    bob.screenshots(PHONE, "messages-phone").await?;

    // Bob takes his reaction back.
    bob.click_in_message(edited, r#"[data-testid="reaction"][data-emoji="👍"]"#)
        .await?;
    ada.wait_for_reactions("ada", edited, &[]).await?;
    bob.wait_for_reactions("ada", edited, &[]).await?;

    // Ada deletes her message: Bob sees it deleted, and his reply's quote
    // says so; the text is gone from his page.
    ada.delete_message(edited).await?;
    let deleted = format!(r#"[data-author="ada"] {}"#, testid("message-deleted"));
    eventually("the deletion on bob's page", UI_TIMEOUT, || async {
        Ok((bob.count(&deleted).await? == 1).then_some(()))
    })
    .await?;
    ensure!(
        bob.count_messages("ada", edited).await? == 0,
        "the deleted text is still on bob's page"
    );
    let quote = bob.quote_in("bob", "yes, after lunch").await?;
    ensure!(
        quote
            .as_deref()
            .is_some_and(|q| q.contains("deleted message")),
        "bob's reply quotes {quote:?}"
    );
    bob.screenshots(PHONE, "messages-deleted-phone").await?;

    server.check_running()?;
    ada.close().await?;
    bob.close().await?;
    Ok(())
}
