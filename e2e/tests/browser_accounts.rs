//! Accounts and moderation through the real server, each person in headless
//! Chromium: someone registers, signs out, signs in again and finds their
//! messages in the history, while a guest asking for the same nickname is
//! sent to sign in and then registers its own nickname from the top bar;
//! and a room's owner deletes a message, sets the topic,
//! kicks, mutes, slows down and bans another member, who sees each of it
//! happen. Screenshots at desktop and phone width, light and dark, go to
//! target/e2e-artifacts/.
//!
//! The owner is the first signed-in user to join a new room (`#mods`): no
//! operator needs configuring.

use anyhow::{Context, Result, ensure};
use e2e::{Browser, ChromeDriver, DESKTOP, PHONE, Server, UI_TIMEOUT, take_turn, testid};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::json;

const ADA_PASSWORD: &str = "correct horse battery staple";
const BOB_PASSWORD: &str = "tr0ub4dor & 3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn an_account_signs_out_and_back_in_and_finds_its_history() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let ada = driver.session(DESKTOP).await?;
    let guest = driver.session(PHONE).await?;

    // Registering from the form: the page is connected, and signed in.
    ada.open(&server.url()).await?;
    server.check_running()?;
    ada.prompt_mode("register").await?;
    ada.fill("nick-input", "ada").await?;
    ada.screenshots(DESKTOP, "accounts-register-desktop")
        .await?;
    ada.submit_account("register", "ada", ADA_PASSWORD).await?;
    ada.wait_signed_in().await.context("ada, registered")?;
    let mark = ada.text_of("account-state").await?;
    ensure!(mark.contains("signed in"), "the top bar says {mark:?}");
    ada.send_with_enter("remember this, ada").await?;
    ada.send_with_enter("and this too").await?;
    ada.wait_for_message("ada", "and this too").await?;

    // Ada signs out: the form again, ready to sign in as ada, and nothing
    // of her chat left on screen.
    ada.sign_out(false).await?;
    let note = ada.text_of("prompt-note").await?;
    ensure!(note.contains("signed out"), "the form says {note:?}");
    let nick = ada
        .wait_for("nick-input")
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    ensure!(nick == "ada", "the form offers {nick:?}");
    ensure!(
        ada.count(&testid("message")).await? == 0,
        "the chat was left on screen after signing out"
    );
    ada.screenshots(DESKTOP, "accounts-signed-out-desktop")
        .await?;

    // Someone else asks for the nickname as a guest: it is registered, and
    // the form asks for its password instead.
    guest.open(&server.url()).await?;
    guest.join_as("ada").await?;
    let refusal = guest.text_of("nick-error").await.context("the refusal")?;
    ensure!(
        refusal.contains("registered"),
        "the guest was told {refusal:?}"
    );
    guest.wait_for("password-input").await?;
    let mode = guest
        .wait_for("nick-prompt")
        .await?
        .attr("data-mode")
        .await?;
    ensure!(
        mode.as_deref() == Some("sign-in"),
        "the form is in {mode:?}"
    );
    guest
        .screenshots(PHONE, "accounts-registered-nick-phone")
        .await?;
    // A wrong password is refused with the server's sentence.
    guest
        .submit_account("sign-in", "ada", "not the password")
        .await?;
    e2e::eventually("the refused sign-in", UI_TIMEOUT, || async {
        let said = guest
            .client()
            .find_all(Locator::Css(&testid("nick-error")))
            .await?;
        let Some(error) = said.first() else {
            return Ok(None);
        };
        let text = error.text().await?;
        Ok((!text.is_empty() && text != refusal).then_some(()))
    })
    .await?;
    ensure!(
        guest.count(&testid("message-input")).await? == 0,
        "a wrong password let the guest in"
    );

    // Ada signs in again: her messages are in the history.
    ada.sign_in("ada", ADA_PASSWORD).await?;
    ada.wait_for_message("ada", "remember this, ada")
        .await
        .context("ada's history after signing in again")?;
    ada.wait_for_message("ada", "and this too").await?;

    // The guest takes another nickname and meets ada there.
    guest.prompt_mode("guest").await?;
    guest.fill("nick-input", "").await?;
    guest.join_as("visitor").await?;
    guest.wait_connected().await.context("the guest")?;
    guest.wait_online("ada").await?;
    let mark = guest.text_of("account-state").await?;
    ensure!(mark.contains("guest"), "the guest's top bar says {mark:?}");
    guest.wait_for_message("ada", "and this too").await?;
    guest.click(&testid("account-button")).await?;
    guest.wait_for("register-password").await?;
    guest.screenshots(PHONE, "accounts-guest-phone").await?;

    // The guest keeps the nickname: registered from the top bar, over its
    // own connection, and still signed in after a reload (the cookie).
    guest
        .wait_for("register-password")
        .await?
        .send_keys(&format!("a good long password{}", Key::Enter))
        .await?;
    guest
        .wait_signed_in()
        .await
        .context("the guest, registered")?;
    guest.wait_for_notice("visitor is registered").await?;
    // The page signs in over HTTP too, for the cookie: the browser now
    // has a session of its own.
    e2e::eventually(
        "a session cookie for the new account",
        UI_TIMEOUT,
        || async {
            let status = guest
                .client()
                .execute_async(
                    "const [done] = arguments;
                 fetch('/api/me').then((r) => done(r.status), () => done(0));",
                    vec![],
                )
                .await?;
            Ok((status == json!(200)).then_some(()))
        },
    )
    .await?;
    guest.open(&server.url()).await?;
    guest
        .wait_signed_in()
        .await
        .context("the new account after a reload")?;
    let mark = guest.text_of("account-state").await?;
    ensure!(mark.contains("signed in"), "after a reload: {mark:?}");
    ada.screenshots(DESKTOP, "accounts-signed-in-desktop")
        .await?;

    ada.close().await?;
    guest.close().await?;
    drop(driver);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and a built frontend: run `cargo xtask test`"]
async fn an_owner_deletes_kicks_mutes_slows_down_and_bans() -> Result<()> {
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let ada = driver.session(DESKTOP).await?;
    let bob = driver.session(PHONE).await?;
    ada.register(&server.url(), "ada", ADA_PASSWORD).await?;
    bob.register(&server.url(), "bob", BOB_PASSWORD).await?;

    // Ada opens #mods first: she owns it.
    ada.send_with_enter("/join mods").await?;
    ada.wait_current_room("mods").await?;
    wait_role(&ada, "ada", "owner")
        .await
        .context("ada's role")?;
    bob.send_with_enter("/join mods").await?;
    bob.wait_current_room("mods").await?;
    ada.wait_online("bob").await?;
    wait_role(&bob, "ada", "owner")
        .await
        .context("on bob's page")?;

    // Only the owner gets a moderation menu, and not for herself.
    let menus = testid("member-button");
    e2e::eventually("a menu for bob on ada's page", UI_TIMEOUT, || async {
        Ok((ada.count(&menus).await? == 1).then_some(()))
    })
    .await?;
    ensure!(bob.count(&menus).await? == 0, "bob, a member, got a menu");

    // The topic, under the room's name on both pages.
    ada.send_with_enter("/topic Moderation drill: be kind")
        .await?;
    for (browser, who) in [(&ada, "ada"), (&bob, "bob")] {
        e2e::eventually(
            &format!("the topic on {who}'s page"),
            UI_TIMEOUT,
            || async {
                Ok(browser
                    .text_of("room-topic")
                    .await?
                    .contains("Moderation drill")
                    .then_some(()))
            },
        )
        .await?;
    }

    // Bob posts something regrettable; the owner deletes it.
    bob.send_with_enter("buy cheap watches").await?;
    ada.wait_for_message("bob", "buy cheap watches").await?;
    ada.delete_message("buy cheap watches").await?;
    for (browser, who) in [(&ada, "ada"), (&bob, "bob")] {
        e2e::eventually(
            &format!("the deleted message on {who}'s page"),
            UI_TIMEOUT,
            || async {
                let gone = browser.count_messages("bob", "buy cheap watches").await? == 0;
                let marked = browser.count(&testid("message-deleted")).await? == 1;
                Ok((gone && marked).then_some(()))
            },
        )
        .await?;
    }
    ada.screenshots(DESKTOP, "moderation-owner-desktop").await?;

    // Kick: bob is told why, and may come back.
    ada.moderate("bob", "mod-kick", Some("testing the kick"))
        .await?;
    bob.wait_for_notice("ada kicked bob: testing the kick")
        .await?;
    bob.wait_for("room-closed").await?;
    bob.screenshots(PHONE, "moderation-kicked-phone").await?;
    ada.wait_for_notice("ada kicked bob").await?;
    bob.click(&testid("rejoin-room")).await?;
    bob.wait_for("message-input")
        .await
        .context("back in #mods")?;
    ada.wait_online("bob").await?;

    // Mute for an hour: bob's message is not sent, with the server's reason.
    ada.moderate("bob", "mod-mute-hour", None).await?;
    bob.wait_for_notice("ada muted bob").await?;
    bob.wait_for("muted-note").await?;
    bob.send_with_enter("am I muted?").await?;
    wait_failed(&bob, "am I muted?").await?;
    bob.screenshots(PHONE, "moderation-muted-phone").await?;
    ada.moderate("bob", "mod-unmute", None).await?;
    bob.wait_for_notice("ada unmuted bob").await?;
    bob.click(&testid("dismiss-message")).await?;

    // Slow mode: both see it; bob, a member, is held to it.
    ada.send_with_enter("/slow 30").await?;
    for browser in [&ada, &bob] {
        let badge = browser.text_of("slow-badge").await?;
        ensure!(badge.contains("30"), "the slow-mode badge reads {badge:?}");
    }
    let note = bob.text_of("slow-note").await?;
    ensure!(note.contains("Slow mode"), "bob's composer says {note:?}");
    bob.send_with_enter("one").await?;
    bob.send_with_enter("two").await?;
    wait_failed(&bob, "two").await.context("slow mode")?;
    let note = bob.text_of("slow-note").await?;
    ensure!(
        note.contains("post again"),
        "bob's composer does not count down: {note:?}"
    );
    bob.screenshots(PHONE, "moderation-slow-phone").await?;
    let mine = ada.text_of("slow-note").await?;
    ensure!(
        !mine.contains("post again"),
        "the owner is not slowed, but her composer says {mine:?}"
    );
    bob.click(&testid("dismiss-message")).await?;

    // Ban for a day: bob is out, and joining again is refused.
    ada.moderate("bob", "mod-ban-day", Some("enough")).await?;
    bob.wait_for_notice("ada banned bob").await?;
    bob.wait_for("room-closed").await?;
    let before = bob.notices().await?.len();
    bob.click(&testid("rejoin-room")).await?;
    e2e::eventually("the refusal of bob's join", UI_TIMEOUT, || async {
        Ok((bob.notices().await?.len() > before).then_some(()))
    })
    .await?;
    ensure!(
        bob.count(&testid("room-closed")).await? == 1,
        "a banned member got back in"
    );
    bob.screenshots(PHONE, "moderation-banned-phone").await?;

    // The owner's log has it all.
    ada.click(&testid("modlog-button")).await?;
    ada.wait_for_notice("Moderation log of #mods").await?;
    ada.wait_for_notice("banned bob").await?;
    ada.screenshots(DESKTOP, "moderation-log-desktop").await?;

    let (inner, scroll) = bob.widths().await?;
    ensure!(scroll <= inner, "bob's phone page is {scroll} px wide");

    ada.close().await?;
    bob.close().await?;
    drop(driver);
    server.stop().await
}

/// Waits until `nick` is shown with `role` in `browser`'s online list.
async fn wait_role(browser: &Browser, nick: &str, role: &str) -> Result<()> {
    let selector = format!(r#"[data-nick="{nick}"][data-role="{role}"]"#);
    e2e::eventually(&format!("{nick} as {role}"), UI_TIMEOUT, || async {
        Ok((browser.count(&selector).await? == 1).then_some(()))
    })
    .await
}

/// Waits until the person's own message `text` is marked as not sent.
async fn wait_failed(browser: &Browser, text: &str) -> Result<()> {
    e2e::eventually(&format!("{text:?} not sent"), UI_TIMEOUT, || async {
        for pending in browser
            .client()
            .find_all(Locator::Css(&testid("message-pending")))
            .await?
        {
            let shown = pending.text().await?;
            if shown.contains(text) && shown.contains("Not sent") {
                return Ok(Some(()));
            }
        }
        Ok(None)
    })
    .await
}
