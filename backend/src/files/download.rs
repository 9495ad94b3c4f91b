//! `GET /api/files/{id}` and `GET /api/files/{id}/inline`: a stored file,
//! streamed from disk, never read whole.
//!
//! Every answer carries `X-Content-Type-Options: nosniff` and
//! `Content-Security-Policy: sandbox`, so that even a file a browser is
//! talked into rendering runs nothing with the site's rights. The download
//! route always says `Content-Disposition: attachment`. The inline route
//! serves inline only files stored as one of the preview image types, which
//! the upload set only when the magic bytes matched; for anything else it
//! answers exactly like the download route. The `ETag` is the content's
//! hash, so `If-None-Match` answers 304, and single `Range`s resume
//! downloads.

use std::io::SeekFrom;

use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::protocol::PREVIEW_TYPES;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::is_id;
use super::range::{self, Part};
use crate::http::AppState;
use crate::http::auth;
use crate::http::error::ApiError;
use crate::store::FileRecord;

/// Bytes read from disk at a time while streaming.
const READ_CHUNK: usize = 64 * 1024;
/// The policy for the file's own document, should a browser render one.
const SANDBOX: &str = "sandbox; default-src 'none'";
/// A file id's bytes never change.
const CACHE: &str = "private, max-age=31536000, immutable";

/// `GET /api/files/{id}`: the file as a download.
pub async fn download(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&app, peer, &id, &headers, false).await
}

/// `GET /api/files/{id}/inline`: a verified image for showing in a page;
/// anything else as a download.
pub async fn inline(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&app, peer, &id, &headers, true).await
}

async fn serve(
    app: &AppState,
    peer: SocketAddr,
    id: &str,
    headers: &HeaderMap,
    inline: bool,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("there is no file with this id");
    if !is_id(id) {
        return Err(not_found());
    }
    let (record, room) = match app.store.file(id).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(not_found()),
        Err(error) => {
            return Err(ApiError::internal(
                StatusCode::SERVICE_UNAVAILABLE,
                "a file lookup failed",
                &error,
            ));
        }
    };
    // A file of a conversation is its two users' alone, a room's is for
    // whoever the room admits. Anyone else hears the file does not exist.
    let caller = auth::caller(&app.accounts, headers).await;
    if !app.hub.may_read(caller, peer.ip(), room).await {
        return Err(not_found());
    }
    let inline = inline && PREVIEW_TYPES.contains(&record.attachment.content_type.as_str());
    let etag = format!("\"{}\"", record.sha256);
    let mut response = if matches(headers.get(header::IF_NONE_MATCH), &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body(app, &record, headers, &etag).await?
    };
    let out = response.headers_mut();
    let set = |out: &mut HeaderMap, name, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    };
    set(out, header::ETAG, &etag);
    set(out, header::CACHE_CONTROL, CACHE);
    set(out, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(out, header::CONTENT_SECURITY_POLICY, SANDBOX);
    // Other sites may not embed the file (an <img> elsewhere).
    set(
        out,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        out,
        header::CONTENT_DISPOSITION,
        &disposition(inline, &record.attachment.name),
    );
    Ok(response)
}

/// The 200, 206 or 416 answer with its body.
async fn body(
    app: &AppState,
    record: &FileRecord,
    headers: &HeaderMap,
    etag: &str,
) -> Result<Response, ApiError> {
    let id = &record.attachment.id;
    let missing = |detail: &dyn std::fmt::Display| {
        ApiError::internal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "a stored file cannot be read",
            &format_args!("file {id}: {detail}"),
        )
    };
    let Some(path) = app.files.blobs.path(&record.sha256) else {
        return Err(missing(&"its record has a malformed hash"));
    };
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|error| missing(&format_args!("{}: {error}", path.display())))?;
    let size = file
        .metadata()
        .await
        .map_err(|error| missing(&error))?
        .len();
    // A range of another version is no use: `If-Range` with an old tag
    // asks for the whole file.
    let wanted = match headers.get(header::IF_RANGE) {
        Some(tag) if tag.as_bytes() != etag.as_bytes() => None,
        _ => headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
    };
    let (status, start, length) = match range::part(wanted, size) {
        Part::Whole => (StatusCode::OK, 0, size),
        Part::Range { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Part::Unsatisfiable => {
            let refusal = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range",
                format!("the range asked for is outside the file's {size} bytes"),
            );
            return Err(match HeaderValue::from_str(&format!("bytes */{size}")) {
                Ok(value) => refusal.with_header(header::CONTENT_RANGE, value),
                Err(_) => refusal,
            });
        }
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(|error| missing(&error))?;
    }
    let stream = ReaderStream::with_capacity(file.take(length), READ_CHUNK);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    let out = response.headers_mut();
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let content_type = HeaderValue::from_str(&record.attachment.content_type)
        .unwrap_or(HeaderValue::from_static(super::sniff::OCTET_STREAM));
    out.insert(header::CONTENT_TYPE, content_type);
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) =
            HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + length - 1))
    {
        out.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

/// Whether an `If-None-Match` header names `etag` (or `*`).
fn matches(header: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(value) = header.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag))
}

/// `attachment` (or `inline`) with the name twice: an ASCII fallback, and
/// the real name as RFC 8187 `filename*`, which every current browser reads.
fn disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' ' => ' ',
            '"' | '\\' | '%' => '_',
            c if c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_given_twice_and_safely() {
        assert_eq!(
            disposition(false, "cat.png"),
            "attachment; filename=\"cat.png\"; filename*=UTF-8''cat.png"
        );
        assert_eq!(
            disposition(true, "café \"☕\".png"),
            "inline; filename=\"caf_ ___.png\"; filename*=UTF-8''caf%C3%A9%20%22%E2%98%95%22.png"
        );
        assert_eq!(
            disposition(false, "100%; x=y"),
            "attachment; filename=\"100_; x=y\"; filename*=UTF-8''100%25%3B%20x%3Dy"
        );
    }

    #[test]
    fn etags_match_strongly_weakly_or_by_star() {
        let tag = "\"abc\"";
        let header = |v: &'static str| HeaderValue::from_static(v);
        assert!(matches(Some(&header("\"abc\"")), tag));
        assert!(matches(Some(&header("\"x\", W/\"abc\"")), tag));
        assert!(matches(Some(&header("*")), tag));
        assert!(!matches(Some(&header("\"abd\"")), tag));
        assert!(!matches(None, tag));
    }
}
