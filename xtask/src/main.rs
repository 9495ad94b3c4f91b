//! `cargo xtask` — Hubbub's project automation (the alias is in
//! `.cargo/config.toml`). Plain Rust instead of shell scripts, so the logic is
//! tested and runs the same everywhere.
//!
//! - `cargo xtask setup [--browsers]` installs missing tools (see `setup.rs`).
//! - `cargo xtask run [-- BACKEND ARGS]` builds the web client and runs the server.
//! - `cargo xtask bundle` builds the web client and precompresses it (see `bundle.rs`).
//! - `cargo xtask fuzz [--seconds N] [TARGET…]` builds and runs the fuzz targets (see `fuzz.rs`).
//! - `cargo xtask test` runs every check CI runs (`.ci/run` calls it).

mod bundle;
mod cmd;
mod fuzz;
mod setup;
mod tasks;
mod versions;

use anyhow::{Result, bail};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  setup [--browsers]     install what is missing: the wasm32 target, trunk,
                         wasm-bindgen-cli, wasm-opt (and Chromium + chromedriver,
                         irssi + tmux)
  run [-- BACKEND ARGS]  setup, build the web client (release), run the server
                         at http://localhost:8080 (terminals: nc localhost 8001)
  bundle                 build the web client (release) into frontend/dist, each
                         file beside its zopfli gzip (what the server sends)
  fuzz [--seconds N] [TARGET…]
                         build the fuzz targets in fuzz/ and run each (or the
                         ones named) for N seconds (10) from its corpus
  test                   setup --browsers, then fmt, clippy, tests, fuzzing,
                         browser tests and end-to-end tests, stopping at the
                         first failure";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => {
            println!("{USAGE}");
            return Ok(());
        }
    };
    match task {
        "setup" => match rest {
            [] => setup::setup(false),
            [flag] if flag == "--browsers" => setup::setup(true),
            _ => bail!("unexpected arguments to setup: {rest:?}\n\n{USAGE}"),
        },
        "run" => {
            // `cargo xtask run -- --http 0.0.0.0:9000` and `cargo xtask run --http …` both work.
            let backend_args = rest.strip_prefix(&["--".to_owned()]).unwrap_or(rest);
            tasks::run(backend_args)
        }
        "bundle" => match rest {
            [] => bundle::build(),
            _ => bail!("unexpected arguments to bundle: {rest:?}\n\n{USAGE}"),
        },
        "fuzz" => {
            let (seconds, targets) = match rest {
                [flag, n, targets @ ..] if flag == "--seconds" => match n.parse() {
                    Ok(seconds) => (seconds, targets),
                    Err(_) => bail!("--seconds takes a whole number, not {n:?}\n\n{USAGE}"),
                },
                targets => (fuzz::SMOKE_SECONDS, targets),
            };
            fuzz::run(seconds, targets)
        }
        "test" => match rest {
            [] => tasks::test(),
            _ => bail!("unexpected arguments to test: {rest:?}\n\n{USAGE}"),
        },
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task {other:?}\n\n{USAGE}"),
    }
}
