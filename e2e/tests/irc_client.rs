//! A real IRC client in the same room as a web user: Debian's irssi, in a
//! terminal that a tmux server of the test's own holds, connects to the IRC
//! door, is in #lobby, and it and a headless Chromium user each see the
//! other's message under the other's nickname. irssi's screens (#lobby and
//! its status window) go to target/e2e-artifacts/irc-client-irssi*.txt for
//! people to look at.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use e2e::{ChromeDriver, DESKTOP, Server, TempDir, artifacts_dir, eventually, take_turn};

/// `cargo xtask setup --browsers` installs both (Debian's `irssi` and `tmux`).
const IRSSI: &str = "/usr/bin/irssi";
const TMUX: &str = "/usr/bin/tmux";

/// How long irssi may take to show something: it connects, registers and
/// joins before its first line in #lobby.
const IRC_TIMEOUT: Duration = Duration::from_secs(20);

/// The terminal's size: wide enough that no message line wraps.
const COLUMNS: &str = "200";
const ROWS: &str = "50";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium, irssi, tmux and a built frontend: run `cargo xtask test`"]
async fn irssi_and_a_browser_user_talk_in_the_lobby() -> Result<()> {
    for program in [IRSSI, TMUX] {
        if !Path::new(program).exists() {
            bail!("{program} not found (run `cargo xtask setup --browsers`, which installs it)");
        }
    }
    let _turn = take_turn().await;
    let server = Server::start().await?;
    let driver = ChromeDriver::start().await?;
    let web = driver.session(DESKTOP).await?;
    web.enter(&server.url(), "webby").await?;
    server.check_running()?;

    let irssi = Irssi::start(server.irc_addr().port(), "irky")?;
    irssi
        .wait_for_screen("irssi to be registered", |screen| {
            screen
                .lines()
                .any(|line| line.contains("Welcome") && line.contains("irky"))
        })
        .await?;
    // The server joins every IRC client to #lobby once it is registered, in
    // a window irssi opens but does not show; `/join` of a channel irssi is
    // in (or, were it not, the join itself) makes #lobby the current window.
    irssi.type_line("/join #lobby")?;
    irssi
        .wait_for_screen("irssi showing #lobby, joined", |screen| {
            prompt(screen).is_some_and(|line| line.starts_with("[#lobby]"))
                && screen
                    .lines()
                    .any(|line| line.contains("irky") && line.contains("has joined #lobby"))
        })
        .await?;
    web.wait_online("irky")
        .await
        .context("webby's online list")?;

    irssi.type_line("hello from irssi")?;
    web.wait_for_message("irky", "hello from irssi")
        .await
        .context("webby's messages")?;

    // irssi shows a channel message as `< webby> text` (a mode mark, if
    // any, before the nickname).
    web.send_with_enter("hello back from the browser").await?;
    let screen = irssi
        .wait_for_screen("webby's message in irssi", |screen| {
            screen
                .lines()
                .any(|line| line.contains("webby> hello back from the browser"))
        })
        .await?;
    irssi.save_screen("irc-client-irssi", &screen)?;
    // The status window holds what the server said outside #lobby (its
    // welcome, answers to irssi's own queries): kept for people to read.
    irssi.type_line("/window 1")?;
    let status = irssi
        .wait_for_screen("irssi's status window", |screen| {
            prompt(screen).is_some_and(|line| line.starts_with("[(status)]"))
        })
        .await?;
    irssi.save_screen("irc-client-irssi-status", &status)?;

    // irssi says goodbye as a person would, and the web sees it go.
    irssi.type_line("/quit")?;
    eventually("irky to leave webby's online list", IRC_TIMEOUT, || async {
        Ok((!web.online().await?.iter().any(|n| n.contains("irky"))).then_some(()))
    })
    .await?;
    drop(irssi);
    web.close().await?;
    drop(driver);
    server.stop().await
}

/// The last non-blank line of irssi's screen: its prompt, `[#lobby] ` when
/// #lobby's window is the current one.
fn prompt(screen: &str) -> Option<&str> {
    screen.lines().rev().find(|line| !line.trim().is_empty())
}

/// irssi in a detached tmux session, on a tmux server of its own (its socket
/// in the temp dir, so no other tmux server is touched) and with its own
/// home, so that no one's irssi configuration is read. The tmux server, and
/// irssi with it, is killed when this is dropped, even after a failure.
struct Irssi {
    socket: String,
    /// Holds the socket, irssi's home and tmux's configuration.
    _dir: TempDir,
}

impl Irssi {
    fn start(port: u16, nick: &str) -> Result<Self> {
        let dir = TempDir::new("irssi")?;
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        // With the names set, irssi does not take them from the environment
        // and print them as settings it initialized.
        let config = format!(
            "settings = {{\n  core = {{\n    real_name = \"Hubbub test\";\n    \
             user_name = \"{nick}\";\n    nick = \"{nick}\";\n  }};\n}};\n"
        );
        std::fs::write(home.join("config"), config).context("writing irssi's config")?;
        // remain-on-exit: if irssi quits, its last words stay on the screen
        // for the error message. No status line: the screen is irssi's alone.
        let tmux_conf = dir.path().join("tmux.conf");
        std::fs::write(&tmux_conf, "set -g remain-on-exit on\nset -g status off\n")
            .context("writing tmux's config")?;
        let socket = dir.path().join("tmux.sock").to_string_lossy().into_owned();
        let irssi = Self { socket, _dir: dir };
        let home = home.to_string_lossy().into_owned();
        let tmux_conf = tmux_conf.to_string_lossy().into_owned();
        let port = port.to_string();
        irssi.tmux(&[
            "-f",
            &tmux_conf,
            "new-session",
            "-d",
            "-s",
            "irc",
            "-x",
            COLUMNS,
            "-y",
            ROWS,
            IRSSI,
            &format!("--home={home}"),
            "-c",
            "127.0.0.1",
            "-p",
            &port,
            "-n",
            nick,
        ])?;
        Ok(irssi)
    }

    /// Runs `tmux -S SOCKET args…` and returns its output; an error (with
    /// what tmux said) unless it succeeds.
    fn tmux(&self, args: &[&str]) -> Result<Output> {
        let output = Command::new(TMUX)
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running tmux {}", args.join(" ")))?;
        ensure!(
            output.status.success(),
            "tmux {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(output)
    }

    /// Types `text` into irssi (literally: tmux does not read key names in
    /// it) and presses Enter.
    fn type_line(&self, text: &str) -> Result<()> {
        self.tmux(&["send-keys", "-t", "irc", "-l", text])?;
        self.tmux(&["send-keys", "-t", "irc", "Enter"])?;
        Ok(())
    }

    /// What irssi's terminal shows now, wrapped lines joined.
    fn screen(&self) -> Result<String> {
        let output = self.tmux(&["capture-pane", "-p", "-J", "-t", "irc"])?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Polls the screen until `shows` holds for it and returns that screen;
    /// on a timeout the error quotes the screen as it was last.
    async fn wait_for_screen(&self, what: &str, shows: impl Fn(&str) -> bool) -> Result<String> {
        let result = eventually(what, IRC_TIMEOUT, || async {
            let screen = self.screen()?;
            Ok(shows(&screen).then_some(screen))
        })
        .await;
        if result.is_err() {
            let screen = self.screen().unwrap_or_default();
            return result.with_context(|| format!("irssi's screen:\n{}", screen.trim_end()));
        }
        result
    }

    /// Saves `screen` as `target/e2e-artifacts/<name>.txt`.
    fn save_screen(&self, name: &str, screen: &str) -> Result<()> {
        let path = artifacts_dir()?.join(format!("{name}.txt"));
        std::fs::write(&path, screen).with_context(|| format!("writing {}", path.display()))?;
        println!("irssi's screen: {}", path.display());
        Ok(())
    }
}

impl Drop for Irssi {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
