//! The JSON API: what the store knows, for scripts and other clients.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::ChatMessage;
use shared::limits::MAX_HISTORY_PAGE;
use shared::validate::normalize_room;

use super::{AppState, problem};

#[derive(Deserialize)]
pub(super) struct Page {
    before: Option<u64>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct Messages {
    room: String,
    /// Oldest first.
    messages: Vec<ChatMessage>,
    /// Whether older messages exist: ask again with `before` set to the
    /// first message's `seq`.
    has_older: bool,
}

/// `GET /api/rooms/{room}/messages?before=SEQ&limit=N`: the newest `limit`
/// (at most 100, default 50) messages before `before`, oldest first. Direct
/// conversations are not rooms here: they are visible only to their two
/// users, over their own connections.
pub(super) async fn room_messages(
    State(state): State<AppState>,
    Path(room): Path<String>,
    Query(page): Query<Page>,
) -> Response {
    let room = match normalize_room(&room) {
        Ok(room) => room,
        Err(error) => return problem(StatusCode::NOT_FOUND, error.to_string()),
    };
    let limit = page
        .limit
        .unwrap_or(shared::limits::JOIN_HISTORY)
        .clamp(1, MAX_HISTORY_PAGE);
    match state.store.history(&room, page.before, limit).await {
        Ok(messages) => {
            let has_older = messages.first().is_some_and(|m| m.seq > 1);
            Json(Messages {
                room,
                messages,
                has_older,
            })
            .into_response()
        }
        Err(error) => {
            tracing::warn!(%error, "history request failed");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "history is unavailable right now",
            )
        }
    }
}
