//! `backend`: the Hubbub server's command line. Loads the settings (file,
//! `HUBBUB_*` variables, flags: see `backend::settings`), binds the doors,
//! and runs until SIGINT/SIGTERM. Every mistake of the operator's is one
//! line on stderr and exit code 2.

use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use backend::Listeners;
use backend::settings::{self, Settings, address};

/// The exit code for a configuration or address mistake.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let settings = match settings::load(std::env::args_os(), std::env::vars_os()) {
        Ok(settings) => settings,
        Err(settings::Error::Cli(error)) => {
            // Help and version go to stdout with 0, mistakes to stderr with 2.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
        Err(error) => return fail(&error.to_string()),
    };
    if settings.print_config {
        for warning in &settings.warnings {
            say(&mut std::io::stderr(), &format!("warning: {warning}"));
        }
        let mut stdout = std::io::stdout().lock();
        return if stdout.write_all(settings.render().as_bytes()).is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }

    let filter = match std::env::var_os("RUST_LOG").filter(|v| !v.is_empty()) {
        Some(rust_log) => {
            let rust_log = rust_log.to_string_lossy();
            match tracing_subscriber::EnvFilter::try_new(&*rust_log) {
                Ok(filter) => filter,
                Err(error) => {
                    let problem = error.to_string().replace('\n', " ");
                    return fail(&format!(
                        "env RUST_LOG: {rust_log:?} is not a log filter: {problem}"
                    ));
                }
            }
        }
        // Checked when the settings were loaded.
        None => tracing_subscriber::EnvFilter::try_new(&settings.config.log)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    };
    // tungstenite logs every frame it reads at trace level, the passwords
    // in `hello` frames with them: never those, whatever the filter asks.
    let no_frames = tracing_subscriber::filter::filter_fn(|meta| {
        let frames = ["tungstenite", "tokio_tungstenite"]
            .iter()
            .any(|target| meta.target().starts_with(target));
        !(frames && *meta.level() == tracing::Level::TRACE)
    });
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stdout().is_terminal())
            .finish()
            .with(no_frames)
            .init();
    }
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            say(
                &mut std::io::stderr(),
                &format!("error: cannot start the async runtime: {error}"),
            );
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> ExitCode {
    // Listen for the signals before binding: once the address is logged, a
    // supervisor (or a test) may send SIGTERM at any moment.
    let shutdown = shutdown_signal();
    let config = settings.config.clone();
    // Before any port: a second server on the same data is the mistake to
    // name, even when it would also collide on the ports.
    let lock = match backend::DataDirLock::take(&config.data_dir) {
        Ok(lock) => lock,
        Err(error @ backend::data_dir::LockError::Held { .. }) => {
            return fail(&error.to_string());
        }
        Err(error) => {
            say(&mut std::io::stderr(), &format!("error: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let (http, address) =
        match address::bind_tcp("HTTP", &config.http, &settings.source("http")).await {
            Ok(bound) => bound,
            Err(error) => return fail(&error.to_string()),
        };
    let mut url = None;
    for listener in &http {
        match listener.local_addr() {
            Ok(addr) => {
                let open = address::open_url(&address, addr);
                tracing::info!(door = "http", "HTTP door listening on {addr}; open {open}");
                url.get_or_insert(open);
            }
            Err(error) => tracing::warn!(%error, "cannot read a bound address"),
        }
    }
    let (tcp, _) = match address::bind_tcp("terminal", &config.tcp, &settings.source("tcp")).await {
        Ok(bound) => bound,
        Err(error) => return fail(&error.to_string()),
    };
    for listener in &tcp {
        match listener.local_addr() {
            Ok(addr) => tracing::info!(
                door = "tcp",
                "terminal door listening on {addr}; try nc {} {}",
                host_to_try(addr),
                addr.port()
            ),
            Err(error) => tracing::warn!(%error, "cannot read a bound address"),
        }
    }
    let irc = if config.irc == "off" {
        Vec::new()
    } else {
        match address::bind_tcp("IRC", &config.irc, &settings.source("irc")).await {
            Ok((irc, _)) => irc,
            Err(error) => return fail(&error.to_string()),
        }
    };
    for listener in &irc {
        match listener.local_addr() {
            Ok(addr) => tracing::info!(
                door = "irc",
                "IRC door listening on {addr}; try irssi -c {} -p {}",
                host_to_try(addr),
                addr.port()
            ),
            Err(error) => tracing::warn!(%error, "cannot read a bound address"),
        }
    }
    let (udp, _) = match address::bind_udp("datagram", &config.udp, &settings.source("udp")).await {
        Ok(bound) => bound,
        Err(error) => return fail(&error.to_string()),
    };
    for socket in &udp {
        match socket.local_addr() {
            Ok(addr) => tracing::info!(
                door = "udp",
                "datagram door listening on {addr}; try hubbub --udp {}:{}",
                host_to_try(addr),
                addr.port()
            ),
            Err(error) => tracing::warn!(%error, "cannot read a bound address"),
        }
    }
    if let Some(path) = &settings.file {
        tracing::info!("configuration file: {}", path.display());
    }
    match backend::run_holding(
        lock,
        config,
        Listeners {
            http,
            tcp,
            irc,
            udp,
        },
        shutdown,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            say(&mut std::io::stderr(), &format!("error: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// One line on stderr and exit code 2.
fn fail(message: &str) -> ExitCode {
    say(&mut std::io::stderr(), &format!("error: {message}"));
    ExitCode::from(USAGE)
}

/// Writes a line, ignoring a closed stream (no panic on a broken pipe).
fn say(out: &mut impl std::io::Write, line: &str) {
    let _ = writeln!(out, "{line}");
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when
/// this is called, not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (interrupt, terminate) => {
                    let error = interrupt.err().or(terminate.err());
                    tracing::warn!(
                        ?error,
                        "cannot listen for SIGINT/SIGTERM; falling back to Ctrl-C only"
                    );
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

/// The host to suggest for reaching a bound address from this machine:
/// `localhost` for every interface or loopback, else the address (an IPv6
/// one in brackets, ready for a port).
fn host_to_try(addr: std::net::SocketAddr) -> String {
    match addr.ip() {
        ip if ip.is_unspecified() || ip.is_loopback() => "localhost".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip @ std::net::IpAddr::V4(_) => ip.to_string(),
    }
}
