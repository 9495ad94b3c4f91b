//! End-to-end test support: the real Hubbub server running in the test's own
//! process on port 0, chromedriver as a child process, and headless Chromium
//! sessions that use the page the way a person does, through the page's
//! `data-testid` hooks.
//!
//! Nothing here sleeps to synchronise: every wait polls for a condition with a
//! deadline ([`eventually`]), and a timeout names what it was waiting for.
//!
//! The tests need Chromium, chromedriver (`CHROMEDRIVER`, default
//! `/usr/bin/chromedriver`) and a release build of the web client in
//! `frontend/dist`; `cargo xtask test` provides all three.

use anyhow::{Context, Result, anyhow, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator, key::Key};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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

/// The built web client. Missing is an error, never a silent skip.
pub fn frontend_dist() -> Result<PathBuf> {
    let dist = workspace_root().join("frontend").join("dist");
    if !dist.join("index.html").is_file() {
        bail!(
            "{} is missing: build the web client first with `trunk build --release` in \
             frontend/ (or run everything with `cargo xtask test`)",
            dist.join("index.html").display()
        );
    }
    Ok(dist)
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

/// A fresh directory under the system's temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "hubbub-{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real server, started through the backend's library API on
/// 127.0.0.1 with a port the OS picks, serving the built web client and
/// keeping its data in a temp dir. It runs on the test's tokio runtime.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
    data: Option<TempDir>,
}

/// A server that was stopped to be started again on the same port (and with
/// the same data), as after an operator's restart.
pub struct StoppedServer {
    addr: SocketAddr,
    data: TempDir,
}

impl Server {
    pub async fn start() -> Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// [`Server::start`] with the configuration adjusted by `tune` (say, a
    /// higher message rate for a test that fills a room).
    pub async fn start_with(tune: impl FnOnce(&mut backend::Config)) -> Result<Self> {
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the server's port")?;
        Self::run(http, TempDir::new("e2e-data")?, tune)
    }

    fn run(
        http: tokio::net::TcpListener,
        data: TempDir,
        tune: impl FnOnce(&mut backend::Config),
    ) -> Result<Self> {
        let web_dir = frontend_dist()?;
        let addr = http.local_addr()?;
        let mut config = backend::Config {
            http: addr.to_string(),
            data_dir: data.path().to_path_buf(),
            web_dir,
            ..Default::default()
        };
        tune(&mut config);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(backend::run(
            config,
            backend::Listeners {
                http: vec![http],
                tcp: Vec::new(),
                udp: Vec::new(),
            },
            async move {
                let _ = rx.await;
            },
        ));
        // The listener is bound before `run` starts, so connections made from
        // now on wait in its backlog: there is nothing to wait for here.
        Ok(Self {
            addr,
            shutdown: Some(tx),
            task: Some(task),
            data: Some(data),
        })
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Signals shutdown and waits for the server to finish; an error if it
    /// failed, or did not stop within 20 s.
    pub async fn stop(mut self) -> Result<()> {
        self.shut_down().await
    }

    /// Stops the server (as [`Server::stop`]) but keeps its port number and
    /// data for [`StoppedServer::start`].
    pub async fn stop_for_restart(mut self) -> Result<StoppedServer> {
        self.shut_down().await?;
        let data = self
            .data
            .take()
            .ok_or_else(|| anyhow!("the server has no data directory"))?;
        Ok(StoppedServer {
            addr: self.addr,
            data,
        })
    }

    async fn shut_down(&mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(20), task).await {
            Ok(joined) => joined.context("the server task panicked")?,
            Err(_) => bail!("the server did not stop within 20 s of its shutdown signal"),
        }
    }

    /// An error if the server has already stopped (for example it failed to start).
    pub fn check_running(&self) -> Result<()> {
        match &self.task {
            Some(task) if task.is_finished() => bail!("the server stopped unexpectedly"),
            _ => Ok(()),
        }
    }
}

impl StoppedServer {
    /// Starts the server again on the same address. tokio sets SO_REUSEADDR
    /// on Unix, so connections of the old server in TIME_WAIT do not block
    /// the port; a port still busy for another reason is retried for 10 s.
    pub async fn start(self) -> Result<Server> {
        let addr = self.addr;
        let http = eventually(
            &format!("{addr} to be free again"),
            Duration::from_secs(10),
            || async { Ok(tokio::net::TcpListener::bind(addr).await.ok()) },
        )
        .await?;
        Server::run(http, self.data, |_| {})
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

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

/// Chromium flags for a quiet, sandbox-free headless browser on a machine
/// whose network reaches nothing but localhost (shared/SETUP.md).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

struct OpenSession {
    id: String,
    /// Removed after the session (and its browser) is gone.
    _profile: TempDir,
}

type Sessions = Arc<Mutex<Vec<OpenSession>>>;

fn lock(sessions: &Sessions) -> std::sync::MutexGuard<'_, Vec<OpenSession>> {
    sessions.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A chromedriver process on a free port, started by this test and stopped
/// (by its PID, after closing the browsers it started) when dropped.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    sessions: Sessions,
    /// chromedriver's output; quoted in errors, removed on drop.
    log_path: PathBuf,
}

impl ChromeDriver {
    pub async fn start() -> Result<Self> {
        let program = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
        if !program.exists() {
            bail!(
                "chromedriver not found at {} (set CHROMEDRIVER, or run `cargo xtask setup \
                 --browsers`)",
                program.display()
            );
        }
        let port = free_port()?;
        let log_path = artifacts_dir()?.join(format!("chromedriver-{port}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let mut driver = Self {
            child,
            port,
            sessions: Arc::default(),
            log_path,
        };
        driver.wait_ready().await?;
        Ok(driver)
    }

    /// Waits until chromedriver's `/status` says it is ready.
    async fn wait_ready(&mut self) -> Result<()> {
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut delay = Duration::from_millis(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver exited at start ({status}):\n{}", self.log());
            }
            let ready =
                tokio::task::spawn_blocking(move || http_request(port, "GET", "/status", None))
                    .await?
                    .map(|body| body.contains(r#""ready":true"#))
                    .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "chromedriver on port {port} was not ready within 20 s:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }

    /// What chromedriver has printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// A new headless Chromium with its own empty profile, sized `viewport`.
    pub async fn session(&self, viewport: Viewport) -> Result<Browser> {
        let profile = TempDir::new("chromium-profile")?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!(
            "--window-size={},{}",
            viewport.width, viewport.height
        ));
        let mut chrome_options = json!({ "args": args });
        let chromium = std::env::var_os("CHROME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        if chromium.exists() {
            chrome_options["binary"] = json!(chromium);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), chrome_options);

        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .with_context(|| {
                format!(
                    "starting a Chromium session through chromedriver; its log:\n{}",
                    self.log()
                )
            })?;
        let id = client
            .session_id()
            .await?
            .ok_or_else(|| anyhow!("chromedriver returned no session id"))?;
        lock(&self.sessions).push(OpenSession {
            id: id.clone(),
            _profile: profile,
        });
        let browser = Browser {
            client,
            id,
            sessions: Arc::clone(&self.sessions),
            driver_port: self.port,
        };
        browser.fit_viewport(viewport).await?;
        Ok(browser)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // Browsers of sessions still open (a test that failed half-way) are
        // closed through chromedriver first: killing chromedriver alone would
        // leave them running.
        let open: Vec<OpenSession> = lock(&self.sessions).drain(..).collect();
        for session in &open {
            let _ = http_request(
                self.port,
                "DELETE",
                &format!("/session/{}", session.id),
                None,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(open);
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// A port that was free a moment ago.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A minimal blocking HTTP/1.1 request to chromedriver on localhost, with an
/// optional JSON body; returns the whole response. Used where fantoccini is
/// not at hand: before a session exists, in `Drop`, which cannot await, and
/// for chromedriver's own Chrome DevTools endpoint.
fn http_request(port: u16, method: &str, path: &str, json: Option<&str>) -> Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let body = json.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // chromedriver may keep the connection open despite `Connection: close`,
    // so read until the body announced by Content-Length is complete.
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
        if response_complete(&response) {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Whether `response` holds the headers and the whole Content-Length body.
fn response_complete(response: &[u8]) -> bool {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let headers = String::from_utf8_lossy(&response[..end]);
    let length = headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    length.is_some_and(|length| response.len() >= end + 4 + length)
}

/// One headless Chromium session (a person at a browser).
pub struct Browser {
    client: Client,
    id: String,
    sessions: Sessions,
    /// chromedriver's port, for Chrome DevTools commands.
    driver_port: u16,
}

impl Browser {
    /// Sizes the window so that the page itself (not the window around it)
    /// is `viewport`: headless Chromium keeps some of the window's height for
    /// browser UI it does not draw.
    async fn fit_viewport(&self, viewport: Viewport) -> Result<()> {
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

    /// Waits until the room on screen (the sidebar entry marked current)
    /// is `room`.
    pub async fn wait_current_room(&self, room: &str) -> Result<()> {
        let selector = format!(r#"[data-room="{room}"][aria-current="true"]"#);
        eventually(&format!("{room} on screen"), UI_TIMEOUT, || async {
            Ok((self.count(&selector).await? == 1).then_some(()))
        })
        .await
    }

    /// Posts `count` messages `{prefix} 1` … to the lobby as `nick`, through
    /// a WebSocket of the page's own (not the app's), and waits for every
    /// ack. The server's rate limit must allow it.
    pub async fn post_through_socket(&self, nick: &str, prefix: &str, count: u32) -> Result<()> {
        let script = r#"
            const [nick, prefix, count, done] = arguments;
            const url = location.origin.replace(/^http/, 'ws') + '/ws';
            const ws = new WebSocket(url, 'hubbub.v1');
            let acked = 0;
            ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', nick }));
            ws.onmessage = (e) => {
                const m = JSON.parse(e.data);
                if (m.type === 'welcome') {
                    for (let i = 1; i <= count; i++) {
                        ws.send(JSON.stringify({
                            type: 'send', id: 'p' + i, room: 'lobby', text: prefix + ' ' + i,
                        }));
                    }
                } else if (m.type === 'ack' && ++acked === count) {
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
            .execute_async(script, vec![json!(nick), json!(prefix), json!(count)])
            .await
            .context("posting through a WebSocket")?;
        ensure!(result == json!("ok"), "posting failed: {result}");
        Ok(())
    }

    /// The text of the first element with this `data-testid`.
    pub async fn text_of(&self, id: &str) -> Result<String> {
        Ok(self.wait_for(id).await?.text().await?)
    }

    /// Runs a Chrome DevTools command through chromedriver's endpoint for it.
    pub async fn devtools(&self, cmd: &str, params: serde_json::Value) -> Result<()> {
        let body = json!({ "cmd": cmd, "params": params }).to_string();
        let (port, path) = (
            self.driver_port,
            format!("/session/{}/goog/cdp/execute", self.id),
        );
        let response =
            tokio::task::spawn_blocking(move || http_request(port, "POST", &path, Some(&body)))
                .await??;
        ensure!(
            response.starts_with("HTTP/1.1 200"),
            "chromedriver refused the DevTools command {cmd}: {response}"
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
        lock(&self.sessions).retain(|s| s.id != self.id);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_complete_with_its_whole_body() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 4\r\n\r\n";
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\n"));
        assert!(!response_complete(format!("{head}ab").as_bytes()));
        assert!(response_complete(format!("{head}abcd").as_bytes()));
    }

    #[test]
    fn selectors_name_the_hook() {
        assert_eq!(testid("message"), r#"[data-testid="message"]"#);
    }

    #[test]
    fn temp_dirs_are_distinct_and_removed_on_drop() {
        let a = TempDir::new("t").unwrap();
        let b = TempDir::new("t").unwrap();
        assert_ne!(a.path(), b.path());
        let path = a.path().to_path_buf();
        std::fs::write(path.join("f"), "x").unwrap();
        drop(a);
        assert!(!path.exists());
        assert!(b.path().is_dir());
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
