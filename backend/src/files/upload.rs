//! `POST /api/rooms/{room}/files`: one upload, from the request body to a
//! message in the room.
//!
//! A request from a page of another origin is refused, as the WebSocket
//! handshake is. The uploader is who the request's credentials say (a
//! session's cookie or bearer token, or a connected guest's token), and the
//! body is `multipart/form-data` with the field `file`. Checks that need no
//! bytes come first (the rate per IP address, the declared length, the
//! quota, who may post where), so a refused upload is refused before it is
//! read. The file
//! field is streamed chunk by chunk into a [`TempBlob`](super::blobs::TempBlob),
//! counting against the limit as it goes: memory stays flat whatever the
//! size, and one byte over the limit ends the upload with 413. Only a
//! complete file is kept ([`Blobs::keep`](super::Blobs::keep)); the upload is
//! answered with 201 once its announcement is committed in the room.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{ConnectInfo, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shared::Attachment;

use super::blobs::{KeepError, TempBlob};
use super::{names, new_id};
use crate::http::AppState;
use crate::http::auth;
use crate::http::error::ApiError;
use crate::hub::{Share, ShareRefusal};
use crate::metrics;
use crate::store::FileRecord;

/// What a successful upload answers (201).
#[derive(Serialize)]
struct Uploaded {
    id: String,
    name: String,
    size: u64,
    #[serde(rename = "type")]
    content_type: String,
    room: String,
    /// The announcing message's sequence number in the room.
    seq: u64,
    /// Where the file is downloaded, relative to the server.
    url: String,
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "the file is too large: at most {} ({limit} bytes) may be uploaded",
            shared::line::size_label(limit)
        ),
    )
}

fn quota() -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        "quota",
        "the server has no room for more files",
    )
}

/// The upload failed inside the server (the disk, the randomness).
fn failed(detail: &dyn std::fmt::Display) -> ApiError {
    ApiError::internal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "an upload could not be stored",
        detail,
    )
}

impl From<ShareRefusal> for ApiError {
    fn from(refusal: ShareRefusal) -> Self {
        match refusal {
            ShareRefusal::Unauthorized => {
                ApiError::new(StatusCode::UNAUTHORIZED, "auth_failed", refusal.to_string())
            }
            ShareRefusal::NotAllowed(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", refusal.to_string())
            }
            ShareRefusal::NickInvalid(_) | ShareRefusal::RoomInvalid(_) => {
                ApiError::invalid(refusal.to_string())
            }
            ShareRefusal::NotMember { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", refusal.to_string())
            }
            ShareRefusal::Busy | ShareRefusal::Stopped => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                refusal.to_string(),
            ),
            ShareRefusal::Store(incident) => incident.into(),
        }
    }
}

/// `POST /api/rooms/{room}/files`.
pub async fn upload(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(room): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    match receive(&app, peer, &room, &headers, multipart).await {
        Ok(uploaded) => {
            ::metrics::counter!(metrics::UPLOADS).increment(1);
            ::metrics::counter!(metrics::UPLOAD_BYTES).increment(uploaded.size);
            tracing::info!(
                %peer,
                room = %uploaded.room,
                id = %uploaded.id,
                size = uploaded.size,
                "file shared"
            );
            let location = uploaded.url.clone();
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(uploaded),
            )
                .into_response()
        }
        Err(refusal) => {
            let reason = refusal.code();
            ::metrics::counter!(metrics::UPLOAD_REFUSALS, "reason" => reason).increment(1);
            tracing::info!(%peer, reason, "upload refused");
            refusal.into_response()
        }
    }
}

async fn receive(
    app: &AppState,
    peer: SocketAddr,
    room: &str,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Uploaded, ApiError> {
    let files = &app.files;
    let limit = files.max_upload_bytes;
    // A page on another site must not post into the chat from its
    // visitors' browsers (which may reach a server the site cannot): the
    // WebSocket door's Origin rule holds here too. curl sends no Origin.
    if !app
        .guards
        .origins
        .allows(headers.get(header::ORIGIN), headers.get(header::HOST))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this page's origin may not upload files here",
        ));
    }
    if !files.uploads.allow(peer.ip()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many uploads from your address; wait a minute",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit.saturating_add(super::ENVELOPE_BYTES)) {
        return Err(too_large(limit));
    }
    if files.blobs.full().await {
        return Err(quota());
    }
    // The uploader is who the request's credentials say, never a field of
    // the form: refused before a byte of the file is read if that is nobody,
    // or someone the room does not admit.
    let uploader = auth::caller(&app.accounts, headers).await;
    app.hub
        .may_share(uploader.clone(), peer.ip(), room.to_owned())
        .await?;
    let mut multipart = multipart
        .map_err(|_| ApiError::invalid("send the file as multipart/form-data in the field file"))?;

    let fields = read_fields(app, &mut multipart, limit).await;
    let (name, temp) = match fields {
        Ok(fields) => fields,
        Err(refusal) => {
            // The client may still be sending: read what is left (within the
            // route's body limit), so that it gets this answer rather than a
            // reset connection. A temporary file is gone already.
            drain(&mut multipart).await;
            return Err(refusal);
        }
    };

    let kept = match files.blobs.keep(temp).await {
        Ok(kept) => kept,
        Err(KeepError::QuotaFull) => return Err(quota()),
        Err(KeepError::Io(error)) => return Err(failed(&error)),
    };
    let id = new_id().map_err(|error| failed(&format_args!("no random id: {error}")))?;
    let attachment = Attachment {
        id,
        name,
        size: kept.size,
        content_type: kept.media_type.to_owned(),
    };
    let message = app
        .hub
        .share(Share {
            uploader,
            ip: peer.ip(),
            room: room.to_owned(),
            file: FileRecord {
                attachment: attachment.clone(),
                sha256: kept.sha256,
            },
        })
        .await?;
    Ok(Uploaded {
        url: attachment.download_path(),
        id: attachment.id,
        name: attachment.name,
        size: attachment.size,
        content_type: attachment.content_type,
        room: message.room,
        seq: message.seq,
    })
}

/// Reads the fields: the file's cleaned name, and the file written to a
/// temporary file. (A `nick` field, which older clients send, is skipped
/// like any other: the uploader is who the credentials say.)
async fn read_fields(
    app: &AppState,
    multipart: &mut Multipart,
    limit: u64,
) -> Result<(String, TempBlob), ApiError> {
    let invalid = |message: &'static str| ApiError::invalid(message);
    let mut received: Option<(String, TempBlob)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Err(broken(&error, limit)),
        };
        // Other fields are skipped by the next `next_field`.
        if field.name() == Some("file") {
            if received.is_some() {
                return Err(invalid("send one file per upload"));
            }
            let name = names::clean(field.file_name().unwrap_or_default());
            received = Some((name, stream_to_disk(app, field, limit).await?));
        }
    }
    received.ok_or_else(|| invalid("the file field is missing"))
}

/// Writes the file field to a temporary file, refusing it as soon as it
/// passes `limit`.
async fn stream_to_disk(
    app: &AppState,
    mut field: Field<'_>,
    limit: u64,
) -> Result<TempBlob, ApiError> {
    let mut temp = app
        .files
        .blobs
        .temp()
        .await
        .map_err(|error| failed(&format_args!("no temporary file: {error}")))?;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Ok(temp),
            Err(error) => return Err(broken(&error, limit)),
        };
        if temp.size().saturating_add(chunk.len() as u64) > limit {
            return Err(too_large(limit));
        }
        temp.write(&chunk).await.map_err(|error| failed(&error))?;
    }
}

/// Reads and drops the rest of the body, within the route's body limit.
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// A body that ended early, passed the route's limit, or is not multipart.
fn broken(error: &MultipartError, limit: u64) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(limit);
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "cut_off",
        "the upload was cut off or is not valid multipart/form-data",
    )
}
