//! The `hubbub` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::chat::Chat;
use cli::run::{self, Door};
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
    #[command(flatten)]
    chat: ChatArgs,
}

#[derive(clap::Args, Debug)]
struct ChatArgs {
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
    /// Your nickname (default: your login name).
    #[arg(long, env = "HUBBUB_NICK")]
    nick: Option<String>,
    /// A room to join and write to once connected (besides the lobby).
    #[arg(long)]
    room: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Chat (the default): lines you type go to the current room; /help
    /// lists the commands.
    Chat,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match args.command.unwrap_or(Command::Chat) {
        Command::Chat => chat(args.chat).await,
    }
}

async fn chat(args: ChatArgs) -> ExitCode {
    let door = match args.ws {
        Some(url) => Door::WebSocket(url),
        None => Door::Udp(args.udp),
    };
    let nick = args
        .nick
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "guest".to_owned());
    let mut id_prefix = [0u8; 6];
    if getrandom::fill(&mut id_prefix).is_err() {
        eprintln!("hubbub: no randomness available for message ids");
        return ExitCode::FAILURE;
    }
    let prefix: String = id_prefix.iter().map(|b| format!("{b:02x}")).collect();
    let mut chat = Chat::new(&nick, args.room.as_deref(), &prefix);
    let input = BufReader::new(tokio::io::stdin());
    match run::chat(&door, &mut chat, input, tokio::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hubbub: {error:#}");
            ExitCode::FAILURE
        }
    }
}
