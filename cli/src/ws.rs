//! The WebSocket transport: `hubbub.v2` over `/ws`, as the web client speaks
//! it (`hubbub.v1`'s messages, several to a frame from the server).

use anyhow::Context as _;
use futures_util::{SinkExt, StreamExt};
use shared::{SUBPROTOCOL_BATCHED, frame_messages};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::link::{self, Incoming, Link};

/// Connects to `url` (`ws://host:8080/ws`).
pub async fn connect(url: &str) -> anyhow::Result<Link> {
    let mut request = url
        .into_client_request()
        .with_context(|| format!("{url} is not a WebSocket URL (ws://host:port/ws)"))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL_BATCHED),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let (link, mut ends) = link::channels();
    tokio::spawn(async move {
        let why = loop {
            tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let mut delivered = true;
                        for message in frame_messages(&text) {
                            if ends.incoming.send(Incoming::Message(message.to_owned())).await.is_err() {
                                delivered = false;
                                break;
                            }
                        }
                        if !delivered {
                            break "closed".to_owned();
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break frame.map_or_else(
                            || "the server closed the connection".to_owned(),
                            |frame| format!("the server closed the connection: {}", frame.reason),
                        );
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => break format!("connection lost: {error}"),
                    None => break "connection lost".to_owned(),
                },
                out = ends.outgoing.recv() => match out {
                    Some(text) => {
                        if let Err(error) = socket.send(Message::text(text)).await {
                            break format!("connection lost: {error}");
                        }
                    }
                    None => {
                        let _ = socket.close(None).await;
                        break "closed".to_owned();
                    }
                },
            }
        };
        let _ = ends.incoming.send(Incoming::Closed(why)).await;
    });
    Ok(link)
}
