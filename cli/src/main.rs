//! The `hubbub` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::chat::Chat;
use cli::run::{self, Door};
use shared::Secret;
use tokio::io::BufReader;

#[derive(Parser, Debug)]
#[command(
    name = "hubbub",
    version,
    about = "Chat in Hubbub's rooms from a terminal"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Your nickname (default: your login name).
    #[arg(long, env = "HUBBUB_NICK", global = true)]
    nick: Option<String>,
    /// The server's web address, for files (default: from --ws, or the
    /// --udp host on port 8080).
    #[arg(long, env = "HUBBUB_URL", global = true)]
    url: Option<String>,
    /// The server's datagram door (UDP), host:port.
    #[arg(
        long,
        env = "HUBBUB_UDP",
        default_value = "localhost:8001",
        conflicts_with = "ws"
    )]
    udp: String,
    /// Chat over WebSocket instead, at this URL (ws://localhost:8080/ws).
    #[arg(long, env = "HUBBUB_WS")]
    ws: Option<String>,
    /// A room to join and write to once connected (besides the lobby).
    #[arg(long)]
    room: Option<String>,
    /// Sign in to the nickname's account. The password comes from
    /// HUBBUB_PASSWORD, or is asked for (not shown as you type).
    #[arg(long, global = true)]
    login: bool,
    /// Sign in with a session token from an earlier sign-in instead.
    #[arg(long, env = "HUBBUB_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Chat (the default): lines you type go to the current room; /help
    /// lists the commands.
    Chat,
    /// Shares a file in a room, with a progress bar.
    SendFile {
        /// The room (`lobby`, or `@you+them` for a conversation).
        room: String,
        /// The file to send.
        path: PathBuf,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let nick = args
        .nick
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "guest".to_owned());
    let url = args.url.clone().unwrap_or_else(|| web_address(&args));
    let result = match &args.command {
        None | Some(Command::Chat) => chat(&args, &nick, &url).await,
        Some(Command::SendFile { room, path }) => send_file(&args, &nick, &url, room, path).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hubbub: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The server's web address when none is given: the WebSocket URL's host,
/// or the datagram door's host on the default HTTP port.
fn web_address(args: &Args) -> String {
    if let Some(ws) = &args.ws {
        let root = ws.strip_suffix("/ws").unwrap_or(ws);
        return root
            .replacen("wss://", "https://", 1)
            .replacen("ws://", "http://", 1);
    }
    let host = args
        .udp
        .rsplit_once(':')
        .map_or(args.udp.as_str(), |(host, _port)| host);
    format!("http://{host}:8080")
}

/// The account's password: HUBBUB_PASSWORD, or asked on the terminal with
/// echo off. Never printed, never kept beyond this run.
fn password(nick: &str) -> anyhow::Result<Secret> {
    if let Ok(password) = std::env::var("HUBBUB_PASSWORD") {
        return Ok(Secret::new(password));
    }
    let password = rpassword::prompt_password(format!("password for {nick}: "))
        .map_err(|error| anyhow::anyhow!("cannot read the password: {error}"))?;
    Ok(Secret::new(password))
}

async fn send_file(
    args: &Args,
    nick: &str,
    url: &str,
    room: &str,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let token = match (&args.token, args.login) {
        (Some(token), _) => Secret::new(token.clone()),
        (None, true) => cli::files::login(url, nick, &password(nick)?).await?,
        (None, false) => anyhow::bail!(
            "sharing a file needs an account: add --login (the password from HUBBUB_PASSWORD or a prompt), or --token"
        ),
    };
    cli::files::send_file_with_progress(url, room, path, &token).await
}

async fn chat(args: &Args, nick: &str, url: &str) -> anyhow::Result<()> {
    let door = match &args.ws {
        Some(ws) => Door::WebSocket(ws.clone()),
        None => Door::Udp(args.udp.clone()),
    };
    let mut id_prefix = [0u8; 6];
    getrandom::fill(&mut id_prefix)
        .map_err(|error| anyhow::anyhow!("no randomness for message ids: {error}"))?;
    let prefix: String = id_prefix.iter().map(|b| format!("{b:02x}")).collect();
    let mut chat = Chat::new(nick, args.room.as_deref(), &prefix, url);
    if args.login || args.token.is_some() {
        let password = match &args.token {
            Some(_) => None,
            None => Some(password(nick)?),
        };
        chat.sign_in(password, args.token.clone().map(Secret::new));
    }
    let input = BufReader::new(tokio::io::stdin());
    run::chat(&door, &mut chat, input, tokio::io::stdout()).await
}
