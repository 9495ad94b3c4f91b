//! chromedriver as a child process of the test, and the Chromium sessions
//! it starts: each with its own empty profile and the flags this closed
//! network needs. Every browser it started is closed when the driver is
//! dropped, even after a failed test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::{Browser, TempDir, Viewport, artifacts_dir};

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

pub(crate) struct OpenSession {
    id: String,
    /// Removed after the session (and its browser) is gone.
    _profile: TempDir,
}

/// The sessions still open, shared by the driver and its browsers: a
/// browser closed by its test leaves the list, and the driver closes the rest.
pub(crate) type Sessions = Arc<Mutex<Vec<OpenSession>>>;

fn lock(sessions: &Sessions) -> std::sync::MutexGuard<'_, Vec<OpenSession>> {
    sessions.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes a session its test closed off the list the driver closes on drop.
pub(crate) fn forget(sessions: &Sessions, id: &str) {
    lock(sessions).retain(|s| s.id != id);
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
pub(crate) fn http_request(
    port: u16,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> Result<String> {
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
}
