//! The interactive client: lines from the person in, lines for the person
//! out, over a connection that is opened again, resuming where it left off,
//! when it is lost.

use std::collections::VecDeque;
use std::time::Duration;

use shared::{ClientMsg, ServerMsg};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::chat::{Chat, Step};
use crate::link::{Incoming, Link};

/// Which door to use.
#[derive(Debug, Clone)]
pub enum Door {
    /// The datagram door at `host:port`.
    Udp(String),
    /// The WebSocket at a `ws://` URL.
    WebSocket(String),
}

impl Door {
    pub async fn connect(&self) -> anyhow::Result<Link> {
        match self {
            Door::Udp(server) => crate::udp::connect(server).await,
            Door::WebSocket(url) => crate::ws::connect(url).await,
        }
    }
}

/// Waits between attempts to reconnect, doubling up to the last.
const RECONNECT_WAITS: [u64; 6] = [0, 1, 2, 4, 8, 15];

/// Chats until the person types `/quit` or their input ends, or the server
/// cannot be reached again. Returns the last reason the connection gave.
pub async fn chat<I, O>(door: &Door, chat: &mut Chat, input: I, mut output: O) -> anyhow::Result<()>
where
    I: AsyncBufRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let mut lines = input.lines();
    let mut link = door.connect().await?;
    let mut failures = 0;
    let mut held = VecDeque::new();
    send(&link, &chat.hello()).await;
    loop {
        tokio::select! {
            typed = lines.next_line() => {
                // End of input (Ctrl-D, or a pipe that ran dry) is /quit.
                let Ok(Some(typed)) = typed else {
                    return finish(link, chat, &mut output).await;
                };
                if !chat.is_ready() && !Chat::is_early(&typed) {
                    // Typed before the server welcomed us: kept for then.
                    held.push_back(typed);
                    continue;
                }
                if typed_line(chat, &link, &typed, &mut output).await? {
                    return finish(link, chat, &mut output).await;
                }
            }
            incoming = link.incoming.recv() => {
                let why = match incoming {
                    Some(Incoming::Message(text)) => {
                        if let Some(Step::Quit) = shown(chat, &link, &text, &mut output, &mut failures).await? {
                            return finish(link, chat, &mut output).await;
                        }
                        while chat.is_ready() && let Some(typed) = held.pop_front() {
                            if typed_line(chat, &link, &typed, &mut output).await? {
                                return finish(link, chat, &mut output).await;
                            }
                        }
                        continue;
                    }
                    Some(Incoming::Notice(text)) => {
                        show(&mut output, &format!("! {text}")).await?;
                        continue;
                    }
                    Some(Incoming::Closed(why)) => why,
                    None => "connection lost".to_owned(),
                };
                link = reconnect(door, &why, &mut failures, &mut output).await?;
                send(&link, &chat.hello()).await;
            }
        }
    }
}

/// Acts on one line the person typed; true when it asks to quit.
async fn typed_line<O: AsyncWrite + Unpin>(
    chat: &mut Chat,
    link: &Link,
    typed: &str,
    output: &mut O,
) -> anyhow::Result<bool> {
    for step in chat.input(typed) {
        match step {
            Step::Send(msg) => send(link, &msg).await,
            Step::Show(text) => show(output, &text).await?,
            Step::Quit => return Ok(true),
        }
    }
    Ok(false)
}

/// Handles one message from the server: shows it, and sends what it calls
/// for (after a welcome, what was not acknowledged before).
async fn shown<O: AsyncWrite + Unpin>(
    chat: &mut Chat,
    link: &Link,
    text: &str,
    output: &mut O,
    failures: &mut usize,
) -> anyhow::Result<Option<Step>> {
    let Ok(msg) = ServerMsg::from_json(text) else {
        // A newer server's message this client does not know.
        return Ok(None);
    };
    if matches!(msg, ServerMsg::Welcome { .. }) {
        *failures = 0;
    }
    for step in chat.event(&msg) {
        match step {
            Step::Send(msg) => send(link, &msg).await,
            Step::Show(text) => show(output, &text).await?,
            Step::Quit => return Ok(Some(Step::Quit)),
        }
    }
    Ok(None)
}

/// Opens the connection again after it was lost, waiting longer after each
/// failed attempt; gives up after the last wait.
async fn reconnect<O: AsyncWrite + Unpin>(
    door: &Door,
    why: &str,
    failures: &mut usize,
    output: &mut O,
) -> anyhow::Result<Link> {
    show(output, &format!("! disconnected: {why}")).await?;
    loop {
        let Some(&wait) = RECONNECT_WAITS.get(*failures) else {
            anyhow::bail!("could not reconnect: {why}");
        };
        *failures += 1;
        if wait > 0 {
            show(output, &format!("-- reconnecting in {wait} s")).await?;
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
        match door.connect().await {
            Ok(link) => {
                show(output, "-- reconnected").await?;
                return Ok(link);
            }
            Err(error) => show(output, &format!("! {error:#}")).await?,
        }
    }
}

async fn send(link: &Link, msg: &ClientMsg) {
    // A send on a link that is closing is lost with it; the reconnect sends
    // the unacknowledged messages again.
    let _ = link.outgoing.send(msg.to_json()).await;
}

async fn show<O: AsyncWrite + Unpin>(output: &mut O, text: &str) -> anyhow::Result<()> {
    output.write_all(text.as_bytes()).await?;
    output.write_all(b"\n").await?;
    output.flush().await?;
    Ok(())
}

/// Closes the connection gracefully: what was sent is delivered first, and
/// what still arrives meanwhile (our last messages) is shown.
async fn finish<O: AsyncWrite + Unpin>(
    link: Link,
    chat: &mut Chat,
    output: &mut O,
) -> anyhow::Result<()> {
    let Link {
        outgoing,
        mut incoming,
    } = link;
    drop(outgoing);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Incoming::Message(text)) = incoming.recv().await {
            let Ok(msg) = ServerMsg::from_json(&text) else {
                continue;
            };
            for step in chat.event(&msg) {
                if let Step::Show(text) = step {
                    show(output, &text).await?;
                }
            }
        }
        anyhow::Ok(())
    })
    .await;
    show(output, "-- bye").await
}
