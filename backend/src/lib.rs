//! The Hubbub server as a library: [`run`] takes a configuration, listeners
//! that are already bound and a shutdown signal, so that tests can run the
//! real server on port 0 and stop it when they are done. `main.rs` is a thin
//! command line around it.

pub mod config;
pub mod doors;
pub mod http;
pub mod hub;
pub mod outbox;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;

/// The sockets the server listens on, bound by the caller.
pub struct Listeners {
    pub http: TcpListener,
}

/// Runs Hubbub until `shutdown` resolves, then closes every connection with a
/// reason and returns once they are gone (or the grace period is over).
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;

    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (hub, hub_task) = hub::Hub::spawn(&stop);
    let http_addr = listeners.http.local_addr()?;
    let grace = config.shutdown_grace;
    let state = http::AppState {
        hub,
        tracker: tracker.clone(),
        heartbeat: config.heartbeat,
        started: Instant::now(),
        config: Arc::new(config),
    };
    tracing::info!(door = "http", addr = %http_addr, "listening; open {}", open_url(http_addr));

    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let stopping = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.cancel();
    });
    let stopping = stop.clone();
    axum::serve(listeners.http, app)
        .with_graceful_shutdown(async move { stopping.cancelled().await })
        .await
        .context("the HTTP server failed")?;

    // The HTTP server has stopped accepting; upgraded WebSockets saw the
    // same signal and are saying goodbye. Wait for them, within the grace.
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            left = tracker.len(),
            "connections still open after the shutdown grace period; leaving them"
        );
        return Ok(());
    }
    // The hub ends once the last handle to it (held by the router and the
    // connections, all gone now) is dropped.
    let _ = hub_task.await;
    tracing::info!("stopped");
    Ok(())
}

/// The URL a person opens for a listener: a wildcard address is reachable
/// locally as `localhost`.
fn open_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        format!("http://localhost:{}/", addr.port())
    } else {
        format!("http://{addr}/")
    }
}
