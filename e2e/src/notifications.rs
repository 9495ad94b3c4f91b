//! Desktop notifications as a test sees them: the browser's permission
//! granted through chromedriver, the page's `Notification` watched (each
//! one the page shows is recorded with its title and text, and can be
//! clicked), and the tab sent to the background and back.
//!
//! Headless Chromium draws no notifications, and a background tab is one
//! the window does not show; so the page's `Notification` is the real one
//! wrapped by a subclass that also records, and "in the background" is
//! what the page reads of it (`document.hidden`, `visibilityState` and the
//! `visibilitychange` event), set by script.

use anyhow::{Context, Result, ensure};
use fantoccini::key::Key;
use serde_json::json;

use crate::browser::Browser;
use crate::{UI_TIMEOUT, eventually, testid};

/// One notification the page showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub title: String,
    pub body: String,
}

impl Browser {
    /// Grants this page's origin the notifications permission (the W3C
    /// "set permission" command, which chromedriver implements) and starts
    /// recording what the page shows.
    pub async fn allow_notifications(&self) -> Result<()> {
        let permission = json!({
            "descriptor": { "name": "notifications" },
            "state": "granted",
        });
        self.session_post("permissions", &permission)
            .await
            .context("the notifications permission")?;
        let script = r#"
            const Real = window.Notification;
            window.__shown = [];
            window.Notification = class extends Real {
                constructor(title, options) {
                    super(title, options);
                    window.__shown.push({ title, body: (options || {}).body || '', n: this });
                }
            };
            return Real.permission;
        "#;
        let permission = self.client.execute(script, vec![]).await?;
        ensure!(
            permission == json!("granted"),
            "the page's permission is {permission}"
        );
        Ok(())
    }

    /// Turns notifications on from the account menu, and closes the menu.
    pub async fn turn_on_notifications(&self) -> Result<()> {
        self.click(&testid("account-button")).await?;
        let toggle = self.wait_for("notify-toggle").await?;
        ensure!(
            toggle.attr("aria-pressed").await?.as_deref() == Some("false"),
            "notifications were on already"
        );
        toggle.click().await?;
        let on = format!(r#"{}[aria-pressed="true"]"#, testid("notify-toggle"));
        eventually("notifications on", UI_TIMEOUT, || async {
            Ok((self.count(&on).await? == 1).then_some(()))
        })
        .await?;
        self.close_menu().await
    }

    /// Closes the open account menu with Escape, as from the keyboard.
    pub async fn close_menu(&self) -> Result<()> {
        let focused = self.client.active_element().await?;
        focused.send_keys(&Key::Escape.to_string()).await?;
        eventually("the menu closed", UI_TIMEOUT, || async {
            Ok((self.count(&testid("account-menu")).await? == 0).then_some(()))
        })
        .await
    }

    /// Sends the tab to the background (`true`) or brings it back, as the
    /// page sees it.
    pub async fn set_hidden(&self, hidden: bool) -> Result<()> {
        let script = r#"
            const hidden = arguments[0];
            Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
            Object.defineProperty(document, 'visibilityState', {
                configurable: true,
                get: () => (hidden ? 'hidden' : 'visible'),
            });
            document.dispatchEvent(new Event('visibilitychange'));
        "#;
        self.client.execute(script, vec![json!(hidden)]).await?;
        Ok(())
    }

    /// The notifications shown since [`Browser::allow_notifications`].
    pub async fn notifications(&self) -> Result<Vec<Shown>> {
        let script = "return window.__shown.map(s => [s.title, s.body]);";
        let shown: Vec<(String, String)> =
            serde_json::from_value(self.client.execute(script, vec![]).await?)
                .context("the recorded notifications")?;
        Ok(shown
            .into_iter()
            .map(|(title, body)| Shown { title, body })
            .collect())
    }

    /// Waits for the `count`th notification (from 1) and returns it.
    pub async fn wait_notification(&self, count: usize) -> Result<Shown> {
        eventually(&format!("notification {count}"), UI_TIMEOUT, || async {
            Ok(self.notifications().await?.get(count - 1).cloned())
        })
        .await
    }

    /// Clicks notification `index` (from 0), as the person would in the
    /// system's list.
    pub async fn click_notification(&self, index: usize) -> Result<()> {
        let script = "window.__shown[arguments[0]].n.dispatchEvent(new Event('click'));";
        self.client.execute(script, vec![json!(index)]).await?;
        Ok(())
    }
}
