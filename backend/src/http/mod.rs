//! The HTTP side: the router, `/healthz`, and the web client's files.

mod api;
mod assets;
pub mod auth;
pub mod error;
pub mod server;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio_util::task::TaskTracker;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::accounts::Accounts;
use crate::config::{Config, Heartbeat};
use crate::doors;
use crate::files::{self, Files};
use crate::guard::Guards;
use crate::hub::Hub;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub hub: Hub,
    /// Upgraded WebSockets outlive the HTTP request that created them, so
    /// axum's graceful shutdown does not wait for them; shutdown waits here.
    pub tracker: TaskTracker,
    /// The connections' timings, one copy for all of them.
    pub heartbeat: Arc<Heartbeat>,
    pub started: Instant,
    pub guards: Arc<Guards>,
    pub store: Arc<dyn Store>,
    /// Sign-in and registration.
    pub accounts: Arc<Accounts>,
    pub config: Arc<Config>,
    pub files: Arc<Files>,
}

/// The whole HTTP surface. A function of its state, so tests can call it
/// without a socket.
pub fn router(state: AppState) -> Router {
    let web_dir = state.config.web_dir.clone();
    // Only the upload route takes large bodies.
    let upload_limit = DefaultBodyLimit::max(state.files.body_limit());
    Router::new()
        .route("/ws", get(doors::ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/rooms/{room}/messages", get(api::room_messages))
        .route("/api/search", get(api::search))
        .route("/api/register", post(auth::register))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route(
            "/api/rooms/{room}/files",
            post(files::upload).layer(upload_limit),
        )
        .route("/api/files/{id}", get(files::download))
        .route("/api/files/{id}/inline", get(files::inline))
        .fallback_service(assets::service(web_dir))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
    connections: Connections,
}

#[derive(Serialize)]
struct Connections {
    /// Open TCP connections to the HTTP door, WebSockets included.
    http: u32,
    /// Clients known to the hub, from every door.
    clients: usize,
}

async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs(),
        connections: Connections {
            http: state.guards.caps.open(),
            clients: state.hub.clients(),
        },
    })
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        crate::metrics::render(),
    )
}
