//! The Hubbub server as a library: [`run`] takes a configuration, listeners
//! that are already bound and a shutdown signal, so that tests can run the
//! real server on port 0 and stop it when they are done. `main.rs` is a thin
//! command line around it.

pub mod accounts;
pub mod config;
pub mod data_dir;
pub mod doors;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod http;
pub mod hub;
pub mod incident;
pub mod metrics;
pub mod outbox;
pub mod pace;
pub mod settings;
pub mod store;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;
pub use data_dir::DataDirLock;

/// The sockets the server listens on, bound by the caller. A door may listen
/// on several addresses (a host name that resolves to IPv4 and IPv6); the
/// terminal, IRC and datagram doors may have none (they are then off).
pub struct Listeners {
    pub http: Vec<TcpListener>,
    pub tcp: Vec<TcpListener>,
    pub irc: Vec<TcpListener>,
    pub udp: Vec<UdpSocket>,
}

/// Runs Hubbub until `shutdown` resolves, then closes every connection with a
/// reason and returns once they are gone (or the grace period is over).
/// Fails with a [`data_dir::LockError`] if another server holds the data
/// directory.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let lock = DataDirLock::take(&config.data_dir)?;
    run_holding(lock, config, listeners, shutdown).await
}

/// [`run`] on a data directory the caller has locked already: the command
/// line takes it before it binds a port, so that a second server says whose
/// directory it is rather than which port is taken. The lock is held until
/// this returns.
pub async fn run_holding(
    lock: DataDirLock,
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        lock.dir() == config.data_dir,
        "the lock held is on {}, not on the data directory {}",
        lock.dir().display(),
        config.data_dir.display()
    );
    anyhow::ensure!(
        !listeners.http.is_empty(),
        "the HTTP door has no address to listen on"
    );
    metrics::handle();

    let data_dir = config.data_dir.clone();
    let sqlite = tokio::task::spawn_blocking(move || store::SqliteStore::open(&data_dir))
        .await
        .context("opening the message store")??;
    let sqlite = Arc::new(sqlite);
    let store: Arc<dyn store::Store> = sqlite.clone();
    let directory: Arc<dyn store::Directory> = sqlite;
    let heads = store.heads().await?;
    let snapshot = directory.snapshot().await?;
    let policy = Arc::new(accounts::Policy::new(&config.accounts, &config.moderation));
    let accounts = Arc::new(accounts::Accounts::new(
        Arc::clone(&directory),
        Arc::clone(&policy),
        &config.accounts,
    ));
    let (data_dir, files_config) = (config.data_dir.clone(), config.files.clone());
    let files = tokio::task::spawn_blocking(move || files::Files::open(&data_dir, &files_config))
        .await
        .context("opening the file store")?
        .with_context(|| {
            format!(
                "cannot open the file store in {}",
                config.data_dir.join("files").display()
            )
        })?;
    let public_url: Arc<str> = public_url(&config, &listeners)?.into();

    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    tokio::spawn(metrics::keep_up(stop.clone()));
    let settings = hub::Settings {
        max_lag: config.heartbeat.max_lag,
        writes_per_second: config.guard.writes_per_second,
        edit_window: config.messages.edit_window,
    };
    let stores = hub::Stores {
        messages: Arc::clone(&store),
        heads,
        directory,
        snapshot,
        policy,
    };
    let (hub, hub_task) = hub::Hub::spawn(&stop, stores, settings, Box::new(hub::LocalFanout));
    let guards = Arc::new(guard::Guards::new(&config.guard));
    let heartbeat = Arc::new(config.heartbeat);
    let grace = config.shutdown_grace;
    let header_read_timeout = config.guard.header_read_timeout;
    let terminal = doors::tcp::Door {
        hub: hub.clone(),
        guards: Arc::clone(&guards),
        heartbeat: Arc::clone(&heartbeat),
        store: Arc::clone(&store),
        accounts: Arc::clone(&accounts),
        public_url: Arc::clone(&public_url),
        stop: stop.clone(),
        tracker: tracker.clone(),
    };
    let irc = doors::irc::Door {
        hub: hub.clone(),
        guards: Arc::clone(&guards),
        heartbeat: Arc::clone(&heartbeat),
        store: Arc::clone(&store),
        accounts: Arc::clone(&accounts),
        public_url,
        stop: stop.clone(),
        tracker: tracker.clone(),
    };
    let datagram = doors::udp::Door {
        hub: hub.clone(),
        guards: Arc::clone(&guards),
        heartbeat: Arc::clone(&heartbeat),
        store: Arc::clone(&store),
        accounts: Arc::clone(&accounts),
        stop: stop.clone(),
        tracker: tracker.clone(),
    };
    let state = http::AppState {
        hub,
        tracker: tracker.clone(),
        heartbeat,
        started: Instant::now(),
        guards: Arc::clone(&guards),
        store: Arc::clone(&store),
        accounts,
        config: Arc::new(config),
        files: Arc::new(files),
    };

    let stopping = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.cancel();
    });
    let server = http::server::Server {
        router: http::router(state),
        caps: Arc::clone(&guards.caps),
        header_read_timeout,
        stop: stop.clone(),
        tracker: tracker.clone(),
    };
    let terminal = tokio::spawn(terminal.serve(listeners.tcp));
    let irc = tokio::spawn(irc.serve(listeners.irc));
    // Its receive loops run on the tracker: after the stop they still carry
    // acknowledgements to sessions that are saying goodbye.
    datagram.start(listeners.udp);
    server.serve(listeners.http).await;
    let _ = terminal.await;
    let _ = irc.await;

    // The accept loops have stopped; HTTP connections are finishing their
    // requests and WebSockets are saying goodbye (1001). Wait for them,
    // within the grace period.
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            left = tracker.len(),
            "connections still open after the shutdown grace period; leaving them"
        );
        // Whatever reached the store is still committed before we go.
        store.close().await?;
        return Ok(());
    }
    // The hub ends once the last handle to it (held by the router and the
    // connections, all gone now) is dropped, after answering the messages
    // still on their way to the store. Then every write is committed.
    let _ = hub_task.await;
    store.close().await?;
    tracing::info!("stopped");
    Ok(())
}

/// The HTTP root people reach the server at, without a trailing slash:
/// `public_url` if set, else derived from the first HTTP listener (an
/// unspecified address shown as `localhost`).
fn public_url(config: &Config, listeners: &Listeners) -> anyhow::Result<String> {
    if !config.public_url.is_empty() {
        return Ok(config.public_url.trim_end_matches('/').to_owned());
    }
    let bound = listeners
        .http
        .first()
        .context("the HTTP door has no address to listen on")?
        .local_addr()
        .context("the HTTP listener has no address")?;
    let url = match settings::address::ListenAddress::parse(&config.http) {
        Ok(address) => settings::address::open_url(&address, bound),
        // `run` was given listeners for an address it cannot read: name
        // what is bound.
        Err(_) => format!("http://{bound}/"),
    };
    Ok(url.trim_end_matches('/').to_owned())
}
