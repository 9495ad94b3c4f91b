//! The page object: [`Browser`] is one headless Chromium session used the
//! way a person uses the page (joining, registering, signing in and out,
//! typing, reading messages and notices, replying, editing and reacting,
//! moderating from the online list, unread and mention badges, searching,
//! the connection's state), through the page's `data-testid` hooks, plus
//! the Chrome DevTools commands a test needs (going offline, a dark scheme).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, Locator, key::Key};
use serde_json::json;

use crate::chromedriver::{Sessions, forget, http_request};
use crate::{UI_TIMEOUT, artifacts_dir, eventually, testid};

/// A browser window size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

pub const DESKTOP: Viewport = Viewport {
    width: 1280,
    height: 800,
};
pub const PHONE: Viewport = Viewport {
    width: 375,
    height: 812,
};

/// One headless Chromium session (a person at a browser).
pub struct Browser {
    pub(crate) client: Client,
    /// The session's id, by which chromedriver and its list of open
    /// sessions know it.
    pub(crate) id: String,
    pub(crate) sessions: Sessions,
    /// chromedriver's port, for Chrome DevTools commands.
    pub(crate) driver_port: u16,
}

impl Browser {
    /// Sizes the window so that the page itself (not the window around it)
    /// is `viewport`: headless Chromium keeps some of the window's height for
    /// browser UI it does not draw.
    pub(crate) async fn fit_viewport(&self, viewport: Viewport) -> Result<()> {
        let (width, height) = (viewport.width, viewport.height);
        self.client
            .set_window_size(width, height)
            .await
            .context("sizing the window")?;
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        let size = |i: usize| {
            inner
                .get(i)
                .and_then(serde_json::Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        let (Some(inner_width), Some(inner_height)) = (size(0), size(1)) else {
            bail!("unexpected window size from the page: {inner}");
        };
        if (inner_width, inner_height) != (width, height) {
            self.client
                .set_window_size(
                    (2 * width).saturating_sub(inner_width),
                    (2 * height).saturating_sub(inner_height),
                )
                .await
                .context("sizing the window")?;
        }
        Ok(())
    }

    /// The fantoccini client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn open(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Waits for the element with this `data-testid` to be in the page.
    pub async fn wait_for(&self, id: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(UI_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(&testid(id)))
            .await
            .with_context(|| format!("waiting for [data-testid={id}]"))
    }

    /// Opens `url`, joins as `nick` and waits until connected: a person
    /// arriving in the chat.
    pub async fn enter(&self, url: &str, nick: &str) -> Result<()> {
        self.open(url).await?;
        self.join_as(nick).await?;
        self.wait_connected().await.context(nick.to_owned())
    }

    /// Types a nickname into `nick-input` and presses Enter.
    pub async fn join_as(&self, nick: &str) -> Result<()> {
        let input = self.wait_for("nick-input").await?;
        input.send_keys(&format!("{nick}{}", Key::Enter)).await?;
        Ok(())
    }

    /// Types `text` into the field with this `data-testid`, replacing what
    /// it held.
    pub async fn fill(&self, id: &str, text: &str) -> Result<()> {
        let field = self.wait_for(id).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// On the nickname form: switches it to `mode` (`guest`, `sign-in` or
    /// `register`, as its `data-mode` says) unless it is there already.
    pub async fn prompt_mode(&self, mode: &str) -> Result<()> {
        let form = self.wait_for("nick-prompt").await?;
        if form.attr("data-mode").await?.as_deref() != Some(mode) {
            let tab = match mode {
                "sign-in" => "auth-sign-in",
                "register" => "auth-register",
                _ => "auth-guest",
            };
            self.click(&testid(tab)).await?;
        }
        let selector = format!(r#"{}[data-mode="{mode}"]"#, testid("nick-prompt"));
        eventually(&format!("the form in {mode} mode"), UI_TIMEOUT, || async {
            Ok((self.count(&selector).await? == 1).then_some(()))
        })
        .await
    }

    /// On the nickname form: `nick` and `password` in `mode` (`sign-in` or
    /// `register`), then Enter in the password field.
    pub async fn submit_account(&self, mode: &str, nick: &str, password: &str) -> Result<()> {
        self.prompt_mode(mode).await?;
        self.fill("nick-input", nick).await?;
        let field = self.wait_for("password-input").await?;
        field.clear().await?;
        field
            .send_keys(&format!("{password}{}", Key::Enter))
            .await?;
        Ok(())
    }

    /// Opens `url` and registers `nick` with `password` from the form, then
    /// waits until the page is connected and signed in.
    pub async fn register(&self, url: &str, nick: &str, password: &str) -> Result<()> {
        self.open(url).await?;
        self.submit_account("register", nick, password).await?;
        self.wait_signed_in().await.context(nick.to_owned())
    }

    /// Signs in from the form, and waits until connected and signed in.
    pub async fn sign_in(&self, nick: &str, password: &str) -> Result<()> {
        self.submit_account("sign-in", nick, password).await?;
        self.wait_signed_in().await.context(nick.to_owned())
    }

    /// Waits until the page is connected and its top bar says signed in.
    pub async fn wait_signed_in(&self) -> Result<()> {
        self.wait_connected().await?;
        let selector = format!(r#"{}[data-account="true"]"#, testid("account-button"));
        eventually("the signed-in mark", UI_TIMEOUT, || async {
            Ok((self.count(&selector).await? == 1).then_some(()))
        })
        .await
    }

    /// Signs out from the account menu (`everywhere`: every session) and
    /// waits for the form.
    pub async fn sign_out(&self, everywhere: bool) -> Result<()> {
        self.click(&testid("account-button")).await?;
        let item = if everywhere {
            "sign-out-everywhere"
        } else {
            "sign-out"
        };
        self.click(&testid(item)).await?;
        self.wait_for("nick-prompt").await?;
        Ok(())
    }

    /// The texts of every `notice` in the page (joins, moderation, errors).
    pub async fn notices(&self) -> Result<Vec<String>> {
        let mut texts = Vec::new();
        for notice in self
            .client
            .find_all(Locator::Css(&testid("notice")))
            .await?
        {
            texts.push(notice.text().await?);
        }
        Ok(texts)
    }

    /// Waits for a `notice` that contains `text`.
    pub async fn wait_for_notice(&self, text: &str) -> Result<()> {
        let result = eventually(&format!("a notice saying {text:?}"), UI_TIMEOUT, || async {
            Ok(self
                .notices()
                .await?
                .iter()
                .any(|n| n.contains(text))
                .then_some(()))
        })
        .await;
        if result.is_err() {
            let seen = self.notices().await.unwrap_or_default();
            return result.with_context(|| format!("notices on the page: {seen:?}"));
        }
        result
    }

    /// As a moderator: opens `nick`'s menu in the online list, gives
    /// `reason` (if any) and presses the choice with this `data-testid`
    /// (`mod-kick`, `mod-mute-hour`, `mod-ban-day`, `mod-unmute`, …).
    pub async fn moderate(&self, nick: &str, choice: &str, reason: Option<&str>) -> Result<()> {
        self.click(&format!(
            r#"[data-nick="{nick}"] {}"#,
            testid("member-button")
        ))
        .await?;
        if let Some(reason) = reason {
            self.fill("mod-reason", reason).await?;
        }
        self.click(&format!("{} {}", testid("member-menu"), testid(choice)))
            .await
    }

    /// Deletes the first confirmed message that shows `text`, answering
    /// the page's "Delete this message?" with yes. (The Delete action shows
    /// on hover; it is pressed from a script, as the pointer cannot
    /// hover in a headless browser.)
    pub async fn delete_message(&self, text: &str) -> Result<()> {
        let script = r#"
            const [text] = arguments;
            window.confirm = () => true;
            const message = [...document.querySelectorAll('[data-testid="message"]')]
                .find((m) => m.textContent.includes(text));
            const button = message && message.querySelector('[data-testid="delete-message"]');
            if (!button) return false;
            button.click();
            return true;
        "#;
        let clicked = self.client.execute(script, vec![json!(text)]).await?;
        ensure!(
            clicked == json!(true),
            "no message saying {text:?} with a Delete action"
        );
        Ok(())
    }

    /// Clicks the element matching `selector` inside the first confirmed
    /// message that shows `text`. (A message's actions show on hover; they
    /// are pressed from a script, as the pointer cannot hover in a headless
    /// browser.)
    pub async fn click_in_message(&self, text: &str, selector: &str) -> Result<()> {
        let script = r#"
            const [text, selector] = arguments;
            const message = [...document.querySelectorAll('[data-testid="message"]')]
                .find((m) => m.textContent.includes(text));
            const target = message && message.querySelector(selector);
            if (!target) return false;
            target.click();
            return true;
        "#;
        let clicked = self
            .client
            .execute(script, vec![json!(text), json!(selector)])
            .await?;
        ensure!(
            clicked == json!(true),
            "no message saying {text:?} with {selector}"
        );
        Ok(())
    }

    /// Chooses Reply on the message that shows `text` and waits for the
    /// composer to say so.
    pub async fn reply_to(&self, text: &str) -> Result<()> {
        self.click_in_message(text, &testid("reply-message"))
            .await?;
        self.wait_for("replying").await?;
        Ok(())
    }

    /// Edits the person's own message that shows `text` to `new`: Edit, the
    /// text replaced in the inline editor, Enter.
    pub async fn edit_message(&self, text: &str, new: &str) -> Result<()> {
        self.click_in_message(text, &testid("edit-message")).await?;
        let editor = self.wait_for("edit-input").await?;
        editor.clear().await?;
        editor.send_keys(&format!("{new}{}", Key::Enter)).await?;
        Ok(())
    }

    /// Reacts to the message that shows `text` with `emoji` from its
    /// picker.
    pub async fn react(&self, text: &str, emoji: &str) -> Result<()> {
        self.click_in_message(text, &testid("add-reaction")).await?;
        self.click_in_message(
            text,
            &format!(r#"{} [data-emoji="{emoji}"]"#, testid("reaction-picker")),
        )
        .await
    }

    /// The reaction chips under the first confirmed message from `author`
    /// that shows `text`, as they read (`👍 1`); `None` without such a
    /// message.
    pub async fn reactions(&self, author: &str, text: &str) -> Result<Option<Vec<String>>> {
        let script = r#"
            const [author, text] = arguments;
            const message = [...document.querySelectorAll('[data-testid="message"]')]
                .find((m) => m.dataset.author === author && m.textContent.includes(text));
            if (!message) return null;
            return [...message.querySelectorAll('[data-testid="reaction"]')]
                .map((chip) => chip.textContent);
        "#;
        let chips = self
            .client
            .execute(script, vec![json!(author), json!(text)])
            .await?;
        Ok(serde_json::from_value(chips)?)
    }

    /// Waits until the message from `author` that shows `text` has exactly
    /// these reaction chips.
    pub async fn wait_for_reactions(&self, author: &str, text: &str, chips: &[&str]) -> Result<()> {
        let what = format!("the reactions {chips:?} under {author}'s {text:?}");
        let result = eventually(&what, UI_TIMEOUT, || async {
            let shown = self.reactions(author, text).await?;
            Ok((shown.as_deref().is_some_and(|s| s == chips)).then_some(()))
        })
        .await;
        if result.is_err() {
            let shown = self.reactions(author, text).await.unwrap_or_default();
            return result.with_context(|| format!("they are {shown:?}"));
        }
        result
    }

    /// The text of the quote in the first confirmed message from `author`
    /// that shows `text`, if it has one.
    pub async fn quote_in(&self, author: &str, text: &str) -> Result<Option<String>> {
        let script = r#"
            const [author, text] = arguments;
            const message = [...document.querySelectorAll('[data-testid="message"]')]
                .find((m) => m.dataset.author === author && m.textContent.includes(text));
            const quote = message && message.querySelector('[data-testid="quote"]');
            return quote ? quote.textContent : null;
        "#;
        let quote = self
            .client
            .execute(script, vec![json!(author), json!(text)])
            .await?;
        Ok(quote.as_str().map(str::to_owned))
    }

    /// The `data-state` of `connection-status`, if the page shows one.
    pub async fn connection_state(&self) -> Result<Option<String>> {
        let found = self
            .client
            .find_all(Locator::Css(&testid("connection-status")))
            .await?;
        match found.first() {
            Some(status) => Ok(status.attr("data-state").await?),
            None => Ok(None),
        }
    }

    /// Waits until `connection-status` has `data-state="connected"`.
    pub async fn wait_connected(&self) -> Result<()> {
        self.wait_state("connected", UI_TIMEOUT).await
    }

    /// Waits until `connection-status` has `data-state` = `state`.
    pub async fn wait_state(&self, state: &str, timeout: Duration) -> Result<()> {
        let what = format!("connection-status to be {state}");
        let result = eventually(&what, timeout, || async {
            let shown = self.connection_state().await?;
            Ok((shown.as_deref() == Some(state)).then_some(()))
        })
        .await;
        if result.is_err() {
            let state = self.connection_state().await.ok().flatten();
            return result.with_context(|| format!("data-state is {state:?}"));
        }
        result
    }

    /// The texts of the `<li>`s in `online-list`.
    pub async fn online(&self) -> Result<Vec<String>> {
        let selector = format!("{} li", testid("online-list"));
        let mut names = Vec::new();
        for li in self.client.find_all(Locator::Css(&selector)).await? {
            names.push(li.text().await?);
        }
        Ok(names)
    }

    /// Waits until someone whose entry mentions `nick` is in `online-list`.
    pub async fn wait_online(&self, nick: &str) -> Result<()> {
        eventually(&format!("{nick} in online-list"), UI_TIMEOUT, || async {
            Ok(self
                .online()
                .await?
                .iter()
                .any(|entry| entry.contains(nick))
                .then_some(()))
        })
        .await
    }

    /// Types `text` into `message-input` and presses Enter.
    pub async fn send_with_enter(&self, text: &str) -> Result<()> {
        let input = self.wait_for("message-input").await?;
        input.send_keys(&format!("{text}{}", Key::Enter)).await?;
        Ok(())
    }

    /// Types `text` into `message-input` and clicks `send-button`.
    pub async fn send_with_button(&self, text: &str) -> Result<()> {
        let input = self.wait_for("message-input").await?;
        input.send_keys(text).await?;
        self.wait_for("send-button").await?.click().await?;
        Ok(())
    }

    /// Every confirmed `message` in the page as (author, text shown). The
    /// author comes from `data-author`: a message that continues a group
    /// does not show its author's name.
    pub async fn messages(&self) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        for message in self
            .client
            .find_all(Locator::Css(&testid("message")))
            .await?
        {
            let author = message.attr("data-author").await?.unwrap_or_default();
            found.push((author, message.text().await?));
        }
        Ok(found)
    }

    /// How many confirmed messages from `author` show `text`.
    pub async fn count_messages(&self, author: &str, text: &str) -> Result<usize> {
        Ok(self
            .messages()
            .await?
            .iter()
            .filter(|(a, t)| a == author && t.contains(text))
            .count())
    }

    /// Waits for a `message` from `author` that shows `text`.
    pub async fn wait_for_message(&self, author: &str, text: &str) -> Result<()> {
        self.wait_for_message_within(author, text, UI_TIMEOUT).await
    }

    /// [`Browser::wait_for_message`] with its own deadline.
    pub async fn wait_for_message_within(
        &self,
        author: &str,
        text: &str,
        timeout: Duration,
    ) -> Result<()> {
        let what = format!("a message from {author} saying {text:?}");
        let result = eventually(&what, timeout, || async {
            Ok((self.count_messages(author, text).await? > 0).then_some(()))
        })
        .await;
        if result.is_err() {
            let seen = self.messages().await.unwrap_or_default();
            return result.with_context(|| format!("messages on the page: {seen:?}"));
        }
        result
    }

    /// `[window.innerWidth, document.documentElement.scrollWidth]`: the second
    /// is larger when the page overflows sideways.
    pub async fn widths(&self) -> Result<(u64, u64)> {
        let value = self
            .client
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth];",
                vec![],
            )
            .await?;
        let width = |i: usize| value.get(i).and_then(serde_json::Value::as_u64);
        match (width(0), width(1)) {
            (Some(inner), Some(scroll)) => Ok((inner, scroll)),
            _ => bail!("unexpected widths from the page: {value}"),
        }
    }

    /// Clicks the first element matching the CSS `selector`.
    pub async fn click(&self, selector: &str) -> Result<()> {
        self.client
            .wait()
            .at_most(UI_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(selector))
            .await
            .with_context(|| format!("waiting for {selector}"))?
            .click()
            .await
            .with_context(|| format!("clicking {selector}"))
    }

    /// How many elements match the CSS `selector` now.
    pub async fn count(&self, selector: &str) -> Result<usize> {
        Ok(self.client.find_all(Locator::Css(selector)).await?.len())
    }

    /// The unread badge of room `room` in the sidebar (0 without one).
    pub async fn unread(&self, room: &str) -> Result<u32> {
        let selector = format!(r#"[data-room="{room}"]"#);
        let entry = self.client.find(Locator::Css(&selector)).await?;
        Ok(entry
            .attr("data-unread")
            .await?
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    /// The mention badge of room `room` in the sidebar (0 without one).
    pub async fn mentions(&self, room: &str) -> Result<u32> {
        let selector = format!(r#"[data-room="{room}"]"#);
        let entry = self.client.find(Locator::Css(&selector)).await?;
        Ok(entry
            .attr("data-mentions")
            .await?
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    /// Waits until room `room`'s badges say `unread` messages, `mentions`
    /// of them mentioning the person.
    pub async fn wait_counts(&self, room: &str, unread: u32, mentions: u32) -> Result<()> {
        let what = format!("{unread} unread and {mentions} mentions in {room}");
        eventually(&what, UI_TIMEOUT, || async {
            let now = (self.unread(room).await?, self.mentions(room).await?);
            if now == (unread, mentions) {
                return Ok(Some(()));
            }
            bail!("the badges say {now:?}")
        })
        .await
    }

    /// Searches for `q` from the top bar (`all`: in every room) and waits
    /// for at least one result.
    pub async fn search(&self, q: &str, all: bool) -> Result<()> {
        let toggle = self.wait_for("search-all").await?;
        if toggle.is_selected().await? != all {
            toggle.click().await?;
        }
        let field = self.wait_for("search-input").await?;
        field.clear().await?;
        field.send_keys(&format!("{q}{}", Key::Enter)).await?;
        self.wait_for("search-hit").await?;
        Ok(())
    }

    /// Waits for the message `text` to be shown as found (highlighted by a
    /// jump to it).
    pub async fn wait_found(&self, text: &str) -> Result<()> {
        let selector = format!("{}[data-found]", testid("message"));
        eventually(&format!("{text:?} found"), UI_TIMEOUT, || async {
            for found in self.client.find_all(Locator::Css(&selector)).await? {
                if found.text().await?.contains(text) {
                    return Ok(Some(()));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Posts `texts` to `room` as the guest `nick`, through a WebSocket of
    /// the page's own (not the app's), and waits for every ack. `@nick`
    /// writes to nick directly.
    pub async fn post_to(&self, nick: &str, room: &str, texts: &[&str]) -> Result<()> {
        let script = r#"
            const [nick, room, texts, done] = arguments;
            const url = location.origin.replace(/^http/, 'ws') + '/ws';
            const ws = new WebSocket(url, 'hubbub.v1');
            let acked = 0;
            // Ids of this call's own: the server answers a known id (per
            // room and nickname) with the message it already has.
            const id = (i) => 'r' + Date.now().toString(36) + '-' + i;
            // Once: the lobby, joined by the hello, may say `joined` twice.
            let posted = false;
            const post = () => posted || (posted = true) && texts.forEach((text, i) =>
                ws.send(JSON.stringify({ type: 'send', id: id(i), room, text })));
            const to = room.startsWith('@') ? room.slice(1) : null;
            ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', nick }));
            ws.onmessage = (e) => {
                const m = JSON.parse(e.data);
                if (m.type === 'welcome' && to) {
                    texts.forEach((text, i) => ws.send(JSON.stringify({
                        type: 'direct', id: id(i), to, text,
                    })));
                } else if (m.type === 'welcome') {
                    ws.send(JSON.stringify({ type: 'join', room }));
                } else if (m.type === 'joined' && m.room === room) {
                    post();
                } else if (m.type === 'ack' && ++acked === texts.length) {
                    ws.close();
                    done('ok');
                } else if (m.type === 'error') {
                    done('error: ' + e.data);
                }
            };
            ws.onerror = () => done('socket error');
        "#;
        let result = self
            .client
            .execute_async(script, vec![json!(nick), json!(room), json!(texts)])
            .await
            .context("posting through a WebSocket")?;
        ensure!(result == json!("ok"), "posting failed: {result}");
        Ok(())
    }

    /// Joins `room` with the sidebar's '+' (the room is then on screen).
    pub async fn join_room(&self, room: &str) -> Result<()> {
        self.click(&testid("room-add")).await?;
        let field = self.wait_for("room-add-input").await?;
        field.send_keys(&format!("{room}{}", Key::Enter)).await?;
        self.wait_current_room(room).await
    }

    /// Shows room `room` (it must be in the sidebar).
    pub async fn open_room(&self, room: &str) -> Result<()> {
        self.click(&format!(r#"[data-room="{room}"]"#)).await?;
        self.wait_current_room(room).await
    }

    /// Waits until the room on screen (the sidebar entry marked current)
    /// is `room`.
    pub async fn wait_current_room(&self, room: &str) -> Result<()> {
        let selector = format!(r#"[data-room="{room}"][aria-current="true"]"#);
        eventually(&format!("{room} on screen"), UI_TIMEOUT, || async {
            Ok((self.count(&selector).await? == 1).then_some(()))
        })
        .await
    }

    /// The text of the first element with this `data-testid`.
    pub async fn text_of(&self, id: &str) -> Result<String> {
        Ok(self.wait_for(id).await?.text().await?)
    }

    /// Runs a Chrome DevTools command through chromedriver's endpoint for it.
    pub async fn devtools(&self, cmd: &str, params: serde_json::Value) -> Result<()> {
        let body = json!({ "cmd": cmd, "params": params });
        self.session_post("goog/cdp/execute", &body)
            .await
            .with_context(|| format!("the DevTools command {cmd}"))
    }

    /// POSTs `body` to this session's chromedriver endpoint `endpoint`
    /// (one fantoccini has no call for), and fails unless it is answered
    /// 200.
    pub(crate) async fn session_post(
        &self,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> Result<()> {
        let (port, path, body) = (
            self.driver_port,
            format!("/session/{}/{endpoint}", self.id),
            body.to_string(),
        );
        let response =
            tokio::task::spawn_blocking(move || http_request(port, "POST", &path, Some(&body)))
                .await??;
        ensure!(
            response.starts_with("HTTP/1.1 200"),
            "chromedriver refused {endpoint}: {response}"
        );
        Ok(())
    }

    /// Makes the page see `prefers-color-scheme: dark` (or light).
    pub async fn prefer_dark(&self, dark: bool) -> Result<()> {
        let scheme = if dark { "dark" } else { "light" };
        self.devtools(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await?;
        let matched = self
            .client
            .execute(
                &format!("return matchMedia('(prefers-color-scheme: {scheme})').matches;"),
                vec![],
            )
            .await?;
        ensure!(
            matched == json!(true),
            "the page does not see prefers-color-scheme: {scheme}"
        );
        Ok(())
    }

    /// Takes the browser off the network (`true`) or puts it back, as when
    /// a laptop loses and regains its Wi-Fi: the page gets `offline` and
    /// `online` events, and no connection can be made meanwhile.
    pub async fn set_offline(&self, offline: bool) -> Result<()> {
        self.devtools("Network.enable", json!({})).await?;
        self.devtools(
            "Network.emulateNetworkConditions",
            json!({
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": -1
            }),
        )
        .await
    }

    /// Light and dark screenshots (`<name>.png`, `<name>-dark.png`), after
    /// checking that the page is the size asked for.
    pub async fn screenshots(&self, viewport: Viewport, name: &str) -> Result<()> {
        let size = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        ensure!(
            size == json!([viewport.width, viewport.height]),
            "the page should be {}x{} px, it is {size}",
            viewport.width,
            viewport.height
        );
        let light = self.screenshot(name).await?;
        self.prefer_dark(true).await?;
        let dark = self.screenshot(&format!("{name}-dark")).await?;
        self.prefer_dark(false).await?;
        println!("screenshots: {} {}", light.display(), dark.display());
        Ok(())
    }

    /// Saves a PNG screenshot as `target/e2e-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let path = artifacts_dir()?.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Ends the session and closes its browser.
    pub async fn close(self) -> Result<()> {
        let result = self.client.close().await.context("closing the browser");
        forget(&self.sessions, &self.id);
        result
    }
}
