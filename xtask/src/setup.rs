//! `cargo xtask setup [--browsers]`: every tool is checked first and installed
//! only if it is missing or at the wrong version, so a second run takes about
//! a second. One line per tool: `trunk 0.22.1 ok` or `installing …`.
//!
//! The tools `cargo install` compiles (trunk, wasm-bindgen-cli) are most of
//! a first run's time, so they are built lean and out of the way: without
//! the features Hubbub never uses (the test runner's TLS stack: it only
//! talks to chromedriver on localhost; trunk's update check), without the
//! link-time optimization their manifests ask for (a single-threaded final
//! step of minutes, for a tool that runs for seconds), at once, and in the
//! background ([`start`]) while `run` and `test` compile the workspace.
//!
//! Everything comes from package registries (crates.io, npm, Debian): nothing
//! here downloads a prebuilt binary from anywhere else.

use crate::cmd;
use crate::versions::{self, Version};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// Pinned tool versions: the one place to change them. They were checked
// together on this project's machines (see shared/SETUP.md):
// - trunk 0.22.1 builds on Rust 1.95 with `--ignore-rust-version` although its
//   manifest asks for a newer rustc.
// - wasm-bindgen-cli is not pinned here: it must equal the `wasm-bindgen` in
//   Cargo.lock (itself pinned `=X.Y.Z` in [workspace.dependencies]), because
//   trunk only uses a wasm-bindgen on PATH whose version matches and would
//   otherwise try to download one.
// - wasm-opt comes from npm's `binaryen` (132 reads the wasm today's Rust
//   emits; Debian's binaryen 108 does not). Newer wasm-opt is accepted.
pub const TRUNK_VERSION: &str = "0.22.1";
pub const BINARYEN_NPM_VERSION: &str = "132.0.0";
pub const WASM_OPT_MIN_VERSION: &str = "132";
/// cargo-fuzz builds and runs the fuzz targets in fuzz/ (`cargo xtask fuzz`).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's packages `chromium` and `chromium-driver` install these.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's `fonts-noto-color-emoji`: without a color emoji font, reactions
/// in the browser tests' screenshots are empty boxes.
pub const EMOJI_FONT: &str = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
/// Debian's `irssi` and `tmux`: the end-to-end tests drive a real IRC client
/// in a terminal that tmux holds for them.
pub const IRSSI: &str = "/usr/bin/irssi";
pub const TMUX: &str = "/usr/bin/tmux";

/// Installs everything and waits for it.
pub fn setup(browsers: bool) -> Result<()> {
    start(browsers)?.finish()
}

/// Installs what is quick at once and starts the `cargo install` builds;
/// [`Builds::finish`] waits for them.
pub fn start(browsers: bool) -> Result<Builds> {
    rust_components()?;
    wasm_target()?;
    let mut builds = Builds::default();
    if let Some(tool) = trunk()? {
        builds.spawn(tool)?;
    }
    if let Some(tool) = wasm_bindgen_cli()? {
        builds.spawn(tool)?;
    }
    wasm_opt()?;
    if browsers {
        if let Some(tool) = cargo_fuzz()? {
            builds.spawn(tool)?;
        }
        chromium()?;
        irc_client()?;
    }
    Ok(builds)
}

/// A tool that `cargo install` is to build.
struct CargoTool {
    krate: &'static str,
    version: String,
    extra: &'static [&'static str],
    /// Programs it installs, each checked at `version` afterwards.
    programs: &'static [&'static str],
}

impl CargoTool {
    fn command(&self, locked: bool) -> Command {
        let mut install = cmd::new("cargo");
        install
            .args(["install", self.krate, "--version", &self.version])
            .args(locked.then_some("--locked"))
            .args(self.extra)
            // Config overrides a manifest's profile: no fat LTO in one
            // codegen unit, no debug info.
            .env("CARGO_PROFILE_RELEASE_LTO", "off")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
        install
    }

    fn verify(&self) -> Result<()> {
        let wanted = pinned(&self.version)?;
        self.programs
            .iter()
            .try_for_each(|program| verify_exact(program, &wanted))
    }
}

struct Build {
    tool: CargoTool,
    /// The build, on its own thread: `cargo install --locked`, then, if
    /// that fails, a fresh resolve, both in the background. Whether the
    /// first worked, and how long the build took (not how long it was
    /// waited for: the builds are waited for one after another).
    thread: std::thread::JoinHandle<Result<(bool, Duration)>>,
    log: PathBuf,
}

/// `cargo install` builds under way.
#[derive(Default)]
pub struct Builds {
    running: Vec<Build>,
}

impl Builds {
    fn spawn(&mut self, tool: CargoTool) -> Result<()> {
        let dir = cmd::target_dir().join("tool-installs");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let log = dir.join(format!("{}.log", tool.krate));
        println!(
            "installing {} {} in the background: {} (log: {})",
            tool.krate,
            tool.version,
            cmd::display(&tool.command(true)),
            log.display()
        );
        let (locked, unlocked) = (tool.command(true), tool.command(false));
        let to = log.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            if logged(locked, &to, false)? {
                return Ok((true, started.elapsed()));
            }
            // Some releases' own lock files name a dependency version that
            // is no longer in the registry (wasm-bindgen-cli 0.2.130 does):
            // a fresh resolve then works.
            logged(unlocked, &to, true)?;
            Ok((false, started.elapsed()))
        });
        self.running.push(Build { tool, thread, log });
        Ok(())
    }

    /// Waits for every build and checks what it installed.
    pub fn finish(self) -> Result<()> {
        for Build { tool, thread, log } in self.running {
            let outcome = thread
                .join()
                .map_err(|_| anyhow::anyhow!("the thread building {} panicked", tool.krate))?;
            match outcome {
                Ok((true, took)) => println!(
                    "{} {} built in {} s",
                    tool.krate,
                    tool.version,
                    took.as_secs()
                ),
                Ok((false, took)) => println!(
                    "{} {} built in {} s, without --locked (its lock file names a \
                     version the registry no longer has)",
                    tool.krate,
                    tool.version,
                    took.as_secs()
                ),
                Err(err) => {
                    show_tail(&log);
                    return Err(err.context(format!(
                        "cargo install {} failed (log: {})",
                        tool.krate,
                        log.display()
                    )));
                }
            }
            tool.verify()?;
        }
        Ok(())
    }
}

/// Runs `install` with its output in `log` (appended to, if `append`):
/// whether it succeeded; a failure is an error when it was the last try.
fn logged(mut install: Command, log: &Path, append: bool) -> Result<bool> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = out.try_clone().context("duplicating the log file")?;
    let shown = cmd::display(&install);
    let status = install
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if status.success() {
        Ok(true)
    } else if append {
        bail!("`{shown}` failed ({status})")
    } else {
        Ok(false)
    }
}

fn show_tail(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[lines.len().saturating_sub(30)..] {
        println!("    {line}");
    }
}

fn pinned(version: &str) -> Result<Version> {
    Version::parse(version).with_context(|| format!("bad pinned version {version:?}"))
}

/// The version `program --version` reports, if it runs.
fn installed(program: &str) -> Option<Version> {
    cmd::probe(program, &["--version"]).and_then(|out| Version::find_in(&out))
}

fn found_note(found: Option<&Version>) -> String {
    match found {
        Some(v) => format!(" (found {v})"),
        None => String::new(),
    }
}

/// rustfmt and clippy ship with rustup's default profile, but not the minimal one.
fn rust_components() -> Result<()> {
    let fmt = cmd::probe("cargo", &["fmt", "--version"]);
    let clippy = cmd::probe("cargo", &["clippy", "--version"]);
    if fmt.is_some() && clippy.is_some() {
        println!("rustfmt and clippy ok");
        return Ok(());
    }
    println!("installing rustfmt and clippy");
    cmd::run(cmd::new("rustup").args(["component", "add", "rustfmt", "clippy"]))
}

fn wasm_target() -> Result<()> {
    let installed = match cmd::probe("rustup", &["target", "list", "--installed"]) {
        Some(list) => list.lines().any(|line| line.trim() == WASM_TARGET),
        None => {
            // A toolchain not managed by rustup: look in its sysroot.
            let sysroot = cmd::probe("rustc", &["--print", "sysroot"]).unwrap_or_default();
            let dir = Path::new(sysroot.trim())
                .join("lib/rustlib")
                .join(WASM_TARGET);
            if !dir.is_dir() {
                bail!(
                    "the {WASM_TARGET} target is missing and rustup is not here to add it: \
                     install the target for your Rust toolchain"
                );
            }
            true
        }
    };
    if installed {
        println!("{WASM_TARGET} target ok");
        return Ok(());
    }
    println!("installing the {WASM_TARGET} target");
    cmd::run(cmd::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// trunk, if it is to be built.
fn trunk() -> Result<Option<CargoTool>> {
    let wanted = pinned(TRUNK_VERSION)?;
    let found = installed("trunk");
    if let Some(v) = found.as_ref().filter(|v| v.is_exactly(&wanted)) {
        println!("trunk {v} ok");
        return Ok(None);
    }
    println!(
        "trunk {wanted} is to be built{}",
        found_note(found.as_ref())
    );
    Ok(Some(CargoTool {
        krate: "trunk",
        version: TRUNK_VERSION.to_owned(),
        // trunk 0.22.1 refuses to build without one TLS stack; rustls is the
        // one that needs no system library. Its update check is left out.
        // It asks for a newer rustc than it needs (shared/SETUP.md).
        extra: &[
            "--no-default-features",
            "--features",
            "rustls",
            "--ignore-rust-version",
        ],
        programs: &["trunk"],
    }))
}

/// wasm-bindgen-cli at Cargo.lock's `wasm-bindgen`, if it is to be built.
fn wasm_bindgen_cli() -> Result<Option<CargoTool>> {
    let lock_path = cmd::workspace_root().join("Cargo.lock");
    if !lock_path.exists() {
        println!("creating Cargo.lock");
        cmd::run(cmd::new("cargo").arg("generate-lockfile"))?;
    }
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    let wanted = versions::wasm_bindgen_version(&lock)?;
    check_trunk_pin(&wanted)?;
    // The crate installs both; the browser tests need the runner.
    let found = installed("wasm-bindgen");
    let runner = installed("wasm-bindgen-test-runner");
    if let Some(v) = found.as_ref().filter(|v| v.is_exactly(&wanted))
        && runner.as_ref().is_some_and(|r| r.is_exactly(&wanted))
    {
        println!("wasm-bindgen-cli {v} ok");
        return Ok(None);
    }
    println!(
        "wasm-bindgen-cli {wanted} is to be built{}",
        found_note(found.as_ref())
    );
    Ok(Some(CargoTool {
        krate: "wasm-bindgen-cli",
        version: wanted.to_string(),
        extra: &["--no-default-features"],
        programs: &["wasm-bindgen", "wasm-bindgen-test-runner"],
    }))
}

/// `cargo fuzz` builds the fuzz targets with libFuzzer. It is pinned like
/// trunk: a newer one may pass other flags to rustc.
fn cargo_fuzz() -> Result<Option<CargoTool>> {
    let wanted = pinned(CARGO_FUZZ_VERSION)?;
    // `cargo fuzz --version` says `cargo-fuzz 0.13.2`.
    let found = cmd::probe("cargo", &["fuzz", "--version"]).and_then(|out| Version::find_in(&out));
    if let Some(v) = found.as_ref().filter(|v| v.is_exactly(&wanted)) {
        println!("cargo-fuzz {v} ok");
        return Ok(None);
    }
    println!(
        "cargo-fuzz {wanted} is to be built{}",
        found_note(found.as_ref())
    );
    Ok(Some(CargoTool {
        krate: "cargo-fuzz",
        version: CARGO_FUZZ_VERSION.to_owned(),
        extra: &[],
        programs: &["cargo-fuzz"],
    }))
}

/// trunk takes the wasm-bindgen version from `[tools]` in frontend/Trunk.toml
/// when it is there, so that pin must agree with Cargo.lock.
fn check_trunk_pin(lock_version: &Version) -> Result<()> {
    let path = cmd::workspace_root().join("frontend/Trunk.toml");
    let Ok(toml) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    if let Some(pinned) = versions::trunk_tool_version(&toml, "wasm_bindgen") {
        let agrees = Version::parse(pinned).is_some_and(|v| v.is_exactly(lock_version));
        if !agrees {
            bail!(
                "frontend/Trunk.toml pins wasm_bindgen = {pinned:?} but Cargo.lock has \
                 wasm-bindgen {lock_version}: make them equal"
            );
        }
    }
    Ok(())
}

fn verify_exact(program: &str, wanted: &Version) -> Result<()> {
    match installed(program) {
        Some(v) if v.is_exactly(wanted) => {
            println!("{program} {v} ok");
            Ok(())
        }
        other => bail!(
            "installed {program} {wanted}, but `{program} --version` now reports {}: \
             is another {program} earlier on PATH?",
            other.map_or_else(|| "nothing".to_owned(), |v| v.to_string())
        ),
    }
}

fn wasm_opt() -> Result<()> {
    let minimum = pinned(WASM_OPT_MIN_VERSION)?;
    let found = installed("wasm-opt");
    if let Some(v) = found.as_ref().filter(|v| v.is_at_least(&minimum)) {
        println!("wasm-opt {v} ok");
        return Ok(());
    }
    if cmd::probe("npm", &["--version"]).is_none() {
        bail!(
            "wasm-opt {minimum} or newer is missing{} and npm is not installed to fetch it: \
             install Node.js and npm, then run this again",
            found_note(found.as_ref())
        );
    }
    let package = format!("binaryen@{BINARYEN_NPM_VERSION}");
    println!(
        "installing wasm-opt from npm {package}{}",
        found_note(found.as_ref())
    );
    cmd::run(cmd::new("npm").args(["install", "--global", &package])).context(
        "npm could not install binaryen (if Debian's binaryen owns /usr/bin/wasm-opt, \
         remove it: `apt-get remove binaryen`; if the global npm folder is not writable, \
         set `npm config set prefix ~/.local` and put ~/.local/bin on PATH)",
    )?;
    match installed("wasm-opt") {
        Some(v) if v.is_at_least(&minimum) => {
            println!("wasm-opt {v} ok");
            Ok(())
        }
        Some(v) => bail!(
            "installed {package}, but the wasm-opt first on PATH is still version {v}: \
             remove the old one (Debian's: `apt-get remove binaryen`)"
        ),
        None => bail!(
            "installed {package}, but `wasm-opt` is not on PATH: add the bin folder of \
             `npm prefix --global` to PATH"
        ),
    }
}

fn chromium() -> Result<()> {
    let paths = [CHROMIUM, CHROMEDRIVER, EMOJI_FONT];
    if paths.iter().all(|path| Path::new(path).exists()) {
        for path in [CHROMIUM, CHROMEDRIVER] {
            let version =
                installed(path).map_or_else(|| "(version unknown)".into(), |v| v.to_string());
            println!("{path} {version} ok");
        }
        return Ok(());
    }
    apt_install(
        &paths,
        &["chromium", "chromium-driver", "fonts-noto-color-emoji"],
    )
}

fn irc_client() -> Result<()> {
    let paths = [IRSSI, TMUX];
    if paths.iter().all(|path| Path::new(path).exists()) {
        // They say `irssi 1.4.3 (20221031 1403)` and `tmux 3.3a`: the
        // version is only shown, never compared.
        for (path, flag) in [(IRSSI, "--version"), (TMUX, "-V")] {
            let version = cmd::probe(path, &[flag])
                .and_then(|out| out.split_whitespace().nth(1).map(str::to_owned))
                .unwrap_or_else(|| "(version unknown)".to_owned());
            println!("{path} {version} ok");
        }
        return Ok(());
    }
    apt_install(&paths, &["irssi", "tmux"])
}

/// Installs Debian's `packages` with apt-get, which must leave every one of
/// `paths` in place. apt-get only adds what is not installed yet.
fn apt_install(paths: &[&str], packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if !cmd::is_root() {
        bail!(
            "{} missing: install Debian's packages as root: \
             `sudo apt-get install --no-install-recommends {}`",
            missing.join(" and "),
            packages.join(" ")
        );
    }
    println!("installing {} with apt-get", packages.join(" and "));
    cmd::run(
        cmd::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    cmd::run(
        cmd::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    for path in paths {
        if !Path::new(path).exists() {
            bail!(
                "apt-get installed {}, but {path} is still missing",
                packages.join(" ")
            );
        }
        println!("{path} ok");
    }
    Ok(())
}
