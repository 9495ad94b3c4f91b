//! The WebSocket door at `/ws`.
//!
//! A client that asks for the `hubbub.v1` subprotocol speaks the typed JSON
//! protocol of [`shared::protocol`]. A client that asks for none speaks the
//! plain-text protocol of the gorilla/websocket chat example
//! ([`shared::plain`]): its frames are messages to `lobby`, and it receives
//! events as lines of text. Both kinds meet in the same rooms.

mod connection;
mod wire;

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use shared::SUBPROTOCOL;
use shared::limits::MAX_FRAME_BYTES;

use crate::http::AppState;
use wire::Mode;

/// Bytes read from the socket at a time. Small, because it is allocated for
/// every connection, idle or not (tungstenite's default is 128 KiB); frames
/// larger than this still arrive, over several reads.
const READ_BUFFER: usize = 4 * 1024;
/// Writes collect up to this many bytes before going to the socket, so that a
/// batch of queued events leaves in one write.
const WRITE_BUFFER: usize = 16 * 1024;
/// The write buffer never grows past this: a batch of events plus one
/// largest frame. Beyond it a write fails instead of eating memory.
const MAX_WRITE_BUFFER: usize = WRITE_BUFFER + 2 * MAX_FRAME_BYTES;

/// `GET /ws`: upgrades to a WebSocket and serves the connection until it ends.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let ws = ws
        .protocols([SUBPROTOCOL])
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER);
    let mode = if ws.selected_protocol().is_some() {
        Mode::Typed
    } else {
        Mode::Plain
    };
    let AppState {
        hub,
        tracker,
        heartbeat,
        ..
    } = app;
    ws.on_upgrade(move |socket| {
        tracker.track_future(connection::serve(socket, mode, hub, peer, heartbeat))
    })
}
