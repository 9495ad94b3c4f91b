//! `backend`: the Hubbub server's command line. Parses flags (each with an
//! environment variable), binds the listeners, and runs until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use backend::{Config, Listeners};
use clap::Parser;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    name = "backend",
    version,
    about = "Hubbub: a self-hosted real-time chat hub"
)]
struct Cli {
    /// Address for HTTP and WebSocket (`host:port`).
    #[arg(long, env = "HUBBUB_HTTP", default_value = "0.0.0.0:8080")]
    http: String,
    /// Directory for Hubbub's data.
    #[arg(long, env = "HUBBUB_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Directory of the built web client [default: frontend/dist of this checkout].
    #[arg(long, env = "HUBBUB_WEB_DIR")]
    web_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(cli))
}

async fn serve(cli: Cli) -> ExitCode {
    let http = match TcpListener::bind(&cli.http).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: HTTP door: cannot listen on {}: {error}", cli.http);
            return ExitCode::from(2);
        }
    };
    let mut config = Config {
        http: cli.http,
        data_dir: cli.data_dir,
        ..Config::default()
    };
    if let Some(web_dir) = cli.web_dir {
        config.web_dir = web_dir;
    }
    match backend::run(config, Listeners { http: vec![http] }, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
