//! The JSON API: what the store knows, for scripts and other clients.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use shared::limits::{MAX_HISTORY_PAGE, MAX_QUERY_BYTES, SEARCH_PAGE};
use shared::protocol::SearchHit;
use shared::validate::normalize_room;
use shared::{ChatMessage, direct_members};

use super::error::ApiError;
use super::{AppState, auth};

#[derive(Deserialize)]
pub(super) struct Page {
    before: Option<u64>,
    limit: Option<usize>,
}

#[derive(Serialize)]
pub(super) struct Messages {
    room: String,
    /// Oldest first.
    messages: Vec<ChatMessage>,
    /// Whether older messages exist: ask again with `before` set to the
    /// first message's `seq`.
    has_older: bool,
}

/// `GET /api/rooms/{room}/messages?before=SEQ&limit=N`: the newest `limit`
/// (at most 100, default 50) messages before `before`, oldest first. A
/// direct conversation (`@a+b`) is readable by its two users only, with
/// their credentials; a room by whoever it admits.
pub(super) async fn room_messages(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(room): Path<String>,
    headers: HeaderMap,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<Messages>, ApiError> {
    let room = readable_room(&state, peer, &headers, room).await?;
    let Query(page) = page.map_err(|rejection| {
        ApiError::invalid(format!(
            "before and limit are whole numbers: {}",
            rejection.body_text()
        ))
    })?;
    let limit = page
        .limit
        .unwrap_or(shared::limits::JOIN_HISTORY)
        .clamp(1, MAX_HISTORY_PAGE);
    let messages = state
        .store
        .history(&room, page.before, limit)
        .await
        .map_err(|error| {
            ApiError::internal(
                StatusCode::SERVICE_UNAVAILABLE,
                "a history request failed",
                &error,
            )
        })?;
    let has_older = messages.first().is_some_and(|m| m.seq > 1);
    Ok(Json(Messages {
        room,
        messages,
        has_older,
    }))
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    q: Option<String>,
    room: Option<String>,
    before: Option<u64>,
}

#[derive(Serialize)]
pub(super) struct SearchPage {
    q: String,
    /// Newest first.
    results: Vec<SearchHit>,
    /// When there may be more: the `before` of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u64>,
}

/// `room` as the caller may read it (normalized, unless a conversation):
/// a conversation is its two users' alone, a room is for whoever it
/// admits. Anyone else hears that there is no such room.
async fn readable_room(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    room: String,
) -> Result<String, ApiError> {
    let room = match direct_members(&room) {
        Some(_) => room,
        None => normalize_room(&room).map_err(|error| ApiError::not_found(error.to_string()))?,
    };
    let caller = auth::caller(&state.accounts, headers).await;
    if !state.hub.may_read(caller, peer.ip(), room.clone()).await {
        return Err(ApiError::not_found(format!(
            "there is no room {room} you may read"
        )));
    }
    Ok(room)
}

/// `GET /api/search?q=WORDS&room=ROOM&before=NEXT`: the messages of `room`
/// with all of `q`'s words (the last also as a word's start), newest first,
/// [`SEARCH_PAGE`] at a time, each with a snippet whose pieces alternate
/// between plain and matched text. Readable as the room's history is.
pub(super) async fn search(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<SearchPage>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::invalid(format!(
            "q and room are text, before a whole number: {}",
            rejection.body_text()
        ))
    })?;
    let q = query.q.unwrap_or_default().trim().to_owned();
    if q.is_empty() {
        return Err(ApiError::invalid("say what to search for: ?q=WORDS"));
    }
    if q.len() > MAX_QUERY_BYTES {
        return Err(ApiError::invalid(format!(
            "a search has at most {MAX_QUERY_BYTES} bytes"
        )));
    }
    let Some(room) = query.room else {
        return Err(ApiError::invalid("say which room to search: &room=ROOM"));
    };
    let room = readable_room(&state, peer, &headers, room).await?;
    let (results, next) = state
        .store
        .search(vec![room], q.clone(), query.before, SEARCH_PAGE)
        .await
        .map_err(|error| {
            ApiError::internal(StatusCode::SERVICE_UNAVAILABLE, "a search failed", &error)
        })?;
    Ok(Json(SearchPage { q, results, next }))
}
