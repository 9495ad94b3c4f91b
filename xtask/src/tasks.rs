//! `cargo xtask run` and `cargo xtask test`.
//!
//! Every cargo invocation here (trunk's included: it asks `cargo metadata`)
//! uses the workspace's one target directory, so later steps reuse what
//! earlier ones compiled.

use crate::{bundle, cmd, setup, versions};
use anyhow::{Result, bail};
use std::process::Command;
use std::time::{Duration, Instant};

/// `trunk build --release` in frontend/. `--offline` stops trunk from trying to
/// download a wasm-bindgen or wasm-opt (it fails with a clear message instead,
/// which `cargo xtask setup` prevents); trunk passes it on to cargo too, so the
/// crates must have been fetched before.
fn cargo(args: &[&str]) -> Command {
    let mut cargo = cmd::new("cargo");
    cargo.args(args);
    cargo
}

/// `cargo xtask run [-- BACKEND ARGS]`: the whole product on one port.
pub fn run(backend_args: &[String]) -> Result<()> {
    // The server compiles while trunk and wasm-bindgen-cli do, if they are
    // being built; the web client's bundle needs them.
    let tools = setup::start(false)?;
    cmd::run(&mut cargo(&["fetch"]))?;
    cmd::run(&mut cargo(&["build", "--release", "--package", "backend"]))?;
    tools.finish()?;
    bundle::build()?;
    let url = versions::browse_url(backend_args, std::env::var("HUBBUB_HTTP").ok().as_deref());
    println!("\nHubbub is starting at {url} (Ctrl-C stops it)\n");
    cmd::run(
        cargo(&["run", "--quiet", "--release", "--package", "backend", "--"]).args(backend_args),
    )
}

struct Step {
    name: &'static str,
    cmd: Command,
}

/// The first step that waits for trunk's and wasm-bindgen-cli's builds:
/// the bundle needs them, and the tests before it measure time (timeouts,
/// heartbeats) and should not share two cores with a compiler. fmt and
/// clippy only compile, so they run beside the builds.
const AFTER_TOOL_BUILDS: &str = "tests (native)";

fn step(name: &'static str, cmd: Command) -> Step {
    Step { name, cmd }
}

fn steps() -> Vec<Step> {
    let chromedriver =
        std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| setup::CHROMEDRIVER.into());
    let mut wasm_tests = cargo(&["test", "-p", "frontend", "--target", setup::WASM_TARGET]);
    wasm_tests.env("CHROMEDRIVER", &chromedriver);
    let mut e2e = cargo(&["test", "-p", "e2e", "--", "--include-ignored"]);
    e2e.env("CHROMEDRIVER", &chromedriver);
    vec![
        step("fmt", cargo(&["fmt", "--all", "--check"])),
        step(
            "clippy (native)",
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        step(
            "clippy (wasm32 frontend)",
            cargo(&[
                "clippy",
                "-p",
                "frontend",
                "--target",
                setup::WASM_TARGET,
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        step("tests (native)", cargo(&["test", "--workspace"])),
        step("fuzzing (smoke)", cargo(&["xtask", "fuzz"])),
        step("frontend release build", cargo(&["xtask", "bundle"])),
        step("browser tests (wasm32 frontend)", wasm_tests),
        step("end-to-end tests", e2e),
    ]
}

enum Outcome {
    Passed,
    Failed,
}

/// `cargo xtask test`: what CI runs. Stops at the first failing step and
/// prints a table of the steps with their durations either way.
pub fn test() -> Result<()> {
    let started = Instant::now();
    let mut done: Vec<(&'static str, Duration, Outcome)> = Vec::new();

    println!("==> setup --browsers");
    let t = Instant::now();
    let setup_result = setup::start(true);
    let outcome = if setup_result.is_ok() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    done.push(("setup", t.elapsed(), outcome));
    let mut tools = match setup_result {
        Ok(tools) => Some(tools),
        Err(err) => {
            summary(&done, started.elapsed());
            return Err(err.context("step `setup` failed"));
        }
    };

    let mut steps = steps();
    let count = steps.len();
    for (i, Step { name, cmd }) in steps.iter_mut().enumerate() {
        if *name == AFTER_TOOL_BUILDS
            && let Some(tools) = tools.take()
        {
            println!("\n==> waiting for the tools' builds");
            let t = Instant::now();
            let built = tools.finish();
            let outcome = if built.is_ok() {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
            done.push(("tool builds (waited)", t.elapsed(), outcome));
            if let Err(err) = built {
                summary(&done, started.elapsed());
                return Err(err.context("building the tools failed"));
            }
        }
        let shown = cmd::display(cmd);
        println!("\n==> [{}/{count}] {name}: {shown}", i + 1);
        let t = Instant::now();
        let result = cmd::run(cmd);
        let elapsed = t.elapsed();
        match result {
            Ok(()) => done.push((name, elapsed, Outcome::Passed)),
            Err(err) => {
                done.push((name, elapsed, Outcome::Failed));
                summary(&done, started.elapsed());
                // Say where to run it when that is not the workspace root.
                let root = cmd::workspace_root();
                let dir = cmd
                    .get_current_dir()
                    .and_then(|d| d.strip_prefix(&root).ok())
                    .filter(|d| !d.as_os_str().is_empty())
                    .map(|d| format!(" (in {}/)", d.display()))
                    .unwrap_or_default();
                bail!(
                    "step `{name}` failed after {}: {err:#}\nrerun it alone with: {shown}{dir}",
                    human(elapsed)
                );
            }
        }
    }
    summary(&done, started.elapsed());
    println!("xtask test: all {} steps passed", done.len());
    Ok(())
}

fn summary(done: &[(&str, Duration, Outcome)], total: Duration) {
    let width = done
        .iter()
        .map(|(name, ..)| name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    println!("\n{:<width$}  {:>9}  result", "step", "time");
    for (name, elapsed, outcome) in done {
        let result = match outcome {
            Outcome::Passed => "ok",
            Outcome::Failed => "FAILED",
        };
        println!("{name:<width$}  {:>9}  {result}", human(*elapsed));
    }
    println!("{:<width$}  {:>9}", "total", human(total));
}

/// `4.2s`, `3m 07s`.
fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(human(Duration::from_secs(187)), "3m 07s");
    }

    #[test]
    fn steps_run_in_the_documented_order_with_chromedriver_set() {
        let steps = steps();
        let names: Vec<&str> = steps.iter().map(|s| s.name).collect();
        let waits = names.iter().position(|&name| name == AFTER_TOOL_BUILDS);
        let bundles = names
            .iter()
            .position(|&name| name == "frontend release build");
        assert!(
            waits.is_some() && waits < bundles,
            "the bundle needs the tools"
        );
        assert_eq!(
            names,
            [
                "fmt",
                "clippy (native)",
                "clippy (wasm32 frontend)",
                "tests (native)",
                "fuzzing (smoke)",
                "frontend release build",
                "browser tests (wasm32 frontend)",
                "end-to-end tests",
            ]
        );
        for s in &steps[6..] {
            assert!(
                s.cmd
                    .get_envs()
                    .any(|(k, v)| k == "CHROMEDRIVER" && v.is_some()),
                "{}",
                s.name
            );
        }
        assert_eq!(cmd::display(&steps[4].cmd), "cargo xtask fuzz");
        assert_eq!(cmd::display(&steps[5].cmd), "cargo xtask bundle");
    }
}
