//! `cargo xtask fuzz [--seconds N] [TARGET…]`: the fuzz targets in `fuzz/`
//! (cargo-fuzz and libFuzzer, see docs/fuzzing.md), built once, then run
//! one after another, each from its committed corpus for a bounded time.
//! `cargo xtask test` runs every target for [`SMOKE_SECONDS`]: long enough
//! to replay the corpus (the inputs that once crashed included) and to try
//! some way past it, short enough for CI. A crash fails the step and leaves
//! its input in `fuzz/artifacts/<target>/`.
//!
//! No sanitizer: the code is safe Rust (the workspace forbids `unsafe`), so
//! AddressSanitizer would find nothing a panic does not, and an instrumented
//! build of every dependency with it is the slower build and the slower run.
//!
//! cargo-fuzz passes libFuzzer's instrumentation to rustc as `-Z` flags,
//! which stable Rust accepts under `RUSTC_BOOTSTRAP=1`; only cargo-fuzz's
//! own process sees it, so the workspace's builds are untouched.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long `cargo xtask test` runs each target: twelve of them are two
/// minutes of every CI run, beside their build.
pub const SMOKE_SECONDS: u64 = 10;

fn cargo_fuzz() -> Command {
    let mut fuzz = cmd::new("cargo");
    fuzz.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    fuzz
}

/// The targets fuzz/Cargo.toml declares, in its order.
fn targets() -> Result<Vec<String>> {
    let Some(list) = cmd::probe("cargo", &["fuzz", "list"]) else {
        bail!("`cargo fuzz list` failed: is cargo-fuzz installed? (`cargo xtask setup`)");
    };
    Ok(list.split_whitespace().map(str::to_owned).collect())
}

/// Builds every target, then runs `only` (every target when empty) for
/// `seconds` each.
pub fn run(seconds: u64, only: &[String]) -> Result<()> {
    let started = Instant::now();
    let all = targets()?;
    if let Some(unknown) = only.iter().find(|t| !all.contains(t)) {
        bail!("no fuzz target {unknown:?}; there are: {}", all.join(", "));
    }
    let chosen = if only.is_empty() { &all[..] } else { only };

    cmd::run(cargo_fuzz().args(["build", "--sanitizer", "none"]))?;
    let built = started.elapsed();

    let root = cmd::workspace_root();
    let mut ran = Vec::new();
    for target in chosen {
        // What a run finds goes to the first directory, out of git; the
        // committed corpus is only read.
        let scratch = root.join("fuzz/target/corpus").join(target);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let seeds = Path::new("fuzz/corpus").join(target);
        let t = Instant::now();
        let mut fuzz = cargo_fuzz();
        fuzz.args(["run", "--sanitizer", "none", target])
            .arg(&scratch)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            // One input that takes this long is a hang, not a slow input.
            .arg("-timeout=10")
            .arg("-print_final_stats=1");
        cmd::run(&mut fuzz).with_context(|| {
            format!("fuzz target {target} failed: its input is in fuzz/artifacts/{target}/")
        })?;
        ran.push((target.as_str(), t.elapsed()));
    }

    println!("\nfuzz: built in {}", secs(built));
    for (target, took) in &ran {
        println!("fuzz: {target:<14} {}", secs(*took));
    }
    println!(
        "fuzz: {} targets, {} in all",
        ran.len(),
        secs(started.elapsed())
    );
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
