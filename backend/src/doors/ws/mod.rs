//! The WebSocket door at `/ws`.
//!
//! A client that asks for the `hubbub.v1` subprotocol speaks the typed JSON
//! protocol of [`shared::protocol`]; one that offers `hubbub.v2` gets the
//! same messages with each batch of events in one frame, one per line. A
//! client that asks for none speaks the
//! plain-text protocol of the gorilla/websocket chat example
//! ([`shared::plain`]): its frames are messages to `lobby`, and it receives
//! events as lines of text. Both kinds meet in the same rooms.

mod connection;
pub(crate) mod fragments;
mod frames;
mod handshake;
mod liveness;
mod wire;

use std::net::SocketAddr;

use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::limits::MAX_FRAME_BYTES;
use shared::{SUBPROTOCOL, SUBPROTOCOL_BATCHED};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::doors::driver;
use crate::guard::Permit;
use crate::http::AppState;
use crate::http::error::ApiError;
use handshake::Handshake;
use wire::Mode;

/// Bytes read from the socket at a time. Small, because it is allocated for
/// every connection, idle or not (tungstenite's default is 128 KiB); frames
/// larger than this still arrive, over several reads. A client's frames are
/// chat messages, most a few hundred bytes (docs/benchmarks.md has what each
/// size cost).
const READ_BUFFER: usize = 256;
/// tungstenite's write buffer carries only its answers to the client's pings
/// and close (the connection writes its own frames past it, see [`frames`]):
/// each is written at once, and a client that sends pings without reading the
/// answers cannot make it grow past this.
const MAX_WRITE_BUFFER: usize = 64 * 1024;

/// The server prefers `hubbub.v2` when the client offers both.
const SUBPROTOCOLS: [&str; 2] = [SUBPROTOCOL_BATCHED, SUBPROTOCOL];

/// `GET /ws`: checks the handshake, upgrades to a WebSocket and serves the
/// connection until it ends.
pub async fn upgrade(
    handshake: Handshake,
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    permit: Option<Extension<Arc<Permit>>>,
    headers: HeaderMap,
) -> Response {
    let guards = &app.guards;
    if !guards
        .origins
        .allows(headers.get(header::ORIGIN), headers.get(header::HOST))
    {
        return refuse(
            peer,
            "origin",
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this page's origin may not open a chat connection here",
            ),
        );
    }
    if !guards.handshakes.allow(peer.ip()) {
        return refuse(
            peer,
            "handshake_rate",
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many connection attempts from your address; wait a minute",
            ),
        );
    }
    let protocol = handshake.select(&SUBPROTOCOLS);
    let mode = match protocol {
        Some(SUBPROTOCOL_BATCHED) => Mode::Batched,
        Some(_) => Mode::Typed,
        None => Mode::Plain,
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER);
    let rate = guards.message_rate();
    // A browser's session cookie comes with the handshake: checked here,
    // so that a `hello` without credentials signs in to it.
    let presented = crate::http::auth::signed_in(&app.accounts, &headers).await;
    let AppState {
        hub,
        tracker,
        heartbeat,
        store,
        accounts,
        ..
    } = app;
    // The socket keeps the connection's place under the caps once the HTTP
    // connection that carried the handshake is gone.
    let permit = permit.map(|Extension(permit)| permit);
    handshake.accept(protocol, config, move |socket| {
        let peer = connection::Peer { addr: peer, permit };
        let start = driver::Start {
            wire: connection::WsWire::new(socket, mode, peer, heartbeat),
            hub,
            rate,
            store,
            accounts,
            presented,
        };
        // A task of its own rather than the rest of the task that awaited
        // the upgrade (`Handshake::accept`), which would keep the upgrade's
        // state beside the connection's for as long as it lasts.
        tracker.spawn(driver::serve(Box::new(start)));
    })
}

/// Refuses a handshake, counted under `reason`.
fn refuse(peer: SocketAddr, reason: &'static str, refusal: ApiError) -> Response {
    ::metrics::counter!(crate::metrics::REJECTED_HANDSHAKES, "reason" => reason).increment(1);
    tracing::info!(door = "ws", %peer, reason, "handshake refused");
    refusal.into_response()
}
