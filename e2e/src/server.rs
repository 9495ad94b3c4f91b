//! The real server in the test's own process: `backend::run` on listeners
//! bound to 127.0.0.1 port 0 (HTTP and the IRC door), serving the built web
//! client, with its data in a temp dir, and stopped (or stopped to be started
//! again on the same ports and data) through its shutdown future.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{TempDir, eventually, workspace_root};

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

/// The real server, started through the backend's library API on
/// 127.0.0.1 with a port the OS picks, serving the built web client and
/// keeping its data in a temp dir. It runs on the test's tokio runtime.
pub struct Server {
    addr: SocketAddr,
    irc_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
    data: Option<TempDir>,
}

/// A server that was stopped to be started again on the same port (and with
/// the same data), as after an operator's restart.
pub struct StoppedServer {
    addr: SocketAddr,
    irc_addr: SocketAddr,
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
        let irc = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the IRC door's port")?;
        Self::run(http, irc, TempDir::new("e2e-data")?, tune)
    }

    fn run(
        http: tokio::net::TcpListener,
        irc: tokio::net::TcpListener,
        data: TempDir,
        tune: impl FnOnce(&mut backend::Config),
    ) -> Result<Self> {
        let web_dir = frontend_dist()?;
        let addr = http.local_addr()?;
        let irc_addr = irc.local_addr()?;
        let mut config = backend::Config {
            http: addr.to_string(),
            irc: irc_addr.to_string(),
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
                irc: vec![irc],
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
            irc_addr,
            shutdown: Some(tx),
            task: Some(task),
            data: Some(data),
        })
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The IRC door's address, for an IRC client to connect to.
    pub fn irc_addr(&self) -> SocketAddr {
        self.irc_addr
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
            irc_addr: self.irc_addr,
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
    /// Starts the server again on the same addresses. tokio sets
    /// SO_REUSEADDR on Unix, so connections of the old server in TIME_WAIT
    /// do not block the ports; a port still busy for another reason is
    /// retried for 10 s.
    pub async fn start(self) -> Result<Server> {
        let http = rebind(self.addr).await?;
        let irc = rebind(self.irc_addr).await?;
        Server::run(http, irc, self.data, |_| {})
    }
}

async fn rebind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    eventually(
        &format!("{addr} to be free again"),
        Duration::from_secs(10),
        || async { Ok(tokio::net::TcpListener::bind(addr).await.ok()) },
    )
    .await
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
