//! End-to-end test support: the real Hubbub server running in the test's own
//! process on port 0 (`server`), chromedriver as a child process
//! (`chromedriver`), and headless Chromium sessions that use the page the
//! way a person does, through the page's `data-testid` hooks (`browser`).
//! This module holds what they all use: waiting, turns, where files go.
//!
//! Nothing here sleeps to synchronise: every wait polls for a condition with a
//! deadline ([`eventually`]), and a timeout names what it was waiting for.
//!
//! The tests need Chromium, chromedriver (`CHROMEDRIVER`, default
//! `/usr/bin/chromedriver`), a release build of the web client in
//! `frontend/dist`, and for the IRC client test irssi and tmux;
//! `cargo xtask test` provides them all.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

mod browser;
mod chromedriver;
mod notifications;
mod server;
mod temp_dir;

pub use browser::{Browser, DESKTOP, PHONE, Viewport};
pub use chromedriver::ChromeDriver;
pub use notifications::Shown;
pub use server::{Server, StoppedServer, frontend_dist};
pub use temp_dir::TempDir;

/// How long a test waits for anything a person would see "at once".
pub const UI_TIMEOUT: Duration = Duration::from_secs(15);

/// Browser tests take turns: each starts its own server and two Chromiums,
/// and on two cores several at once only make each other slow.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for this test's turn; the turn lasts as long as the guard.
pub async fn take_turn() -> tokio::sync::MutexGuard<'static, ()> {
    TURN.lock().await
}

/// The workspace root, found from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// `<workspace>/target/e2e-artifacts/`: screenshots and chromedriver logs for
/// people to look at after a run.
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = workspace_root().join("target").join("e2e-artifacts");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A CSS selector for a `data-testid` hook.
pub fn testid(id: &str) -> String {
    format!(r#"[data-testid="{id}"]"#)
}

/// Polls `check` until it returns `Ok(Some(value))` or `timeout` passes. The
/// delay between tries grows from 25 ms to 250 ms. An `Err` from `check` counts
/// as "not yet" and is reported if the time runs out.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(25);
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(err) => last_error = Some(err),
        }
        if Instant::now() >= deadline {
            let detail = last_error
                .map(|e| format!(" (last error: {e:#})"))
                .unwrap_or_default();
            bail!("timed out after {timeout:?} waiting for {what}{detail}");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::anyhow;

    #[test]
    fn selectors_name_the_hook() {
        assert_eq!(testid("message"), r#"[data-testid="message"]"#);
    }

    #[tokio::test]
    async fn eventually_returns_once_the_condition_holds() {
        let mut tries = 0;
        let value = eventually("three tries", Duration::from_secs(5), || {
            tries += 1;
            let done = tries >= 3;
            async move { Ok(done.then_some(42)) }
        })
        .await
        .unwrap();
        assert_eq!((value, tries), (42, 3));
    }

    #[tokio::test]
    async fn eventually_names_what_it_waited_for() {
        let err = eventually("the moon", Duration::from_millis(60), || async {
            Err::<Option<()>, _>(anyhow!("still dark"))
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("the moon") && err.contains("still dark"),
            "{err}"
        );
    }
}
