//! Sending a file to a room over HTTP, with progress: the only code that
//! touches `XMLHttpRequest`. (`fetch` reports no upload progress, so the
//! progress bar needs the older API's `upload` events.)
//!
//! `POST /api/rooms/{room}/files` with the one multipart field `file`; the
//! uploader is whoever the request signs: the session cookie of a signed-in
//! browser, or a guest's `Authorization: Bearer` token (from its welcome).
//! The server answers 201 with the stored file and announces it in the room
//! over the WebSocket, or with `{"error": "<sentence>"}`. The uploader's page
//! shows the file when that announcement arrives, like everyone else's.
//!
//! The rest of the module is plain Rust (the address, reading the answer,
//! naming pasted images), tested natively.

use std::rc::Rc;

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{Blob, File, FileList, FormData, ProgressEvent, XmlHttpRequest};

use shared::protocol::Secret;

use crate::api::bearer_header;
use crate::clock::iso_utc;

/// A file the person chose, dropped or pasted, and the name it is shared
/// under.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub file: File,
    pub name: String,
}

impl Chosen {
    /// A file under its own name.
    pub fn new(file: File) -> Self {
        let name = file.name();
        Chosen { file, name }
    }

    /// A file from the clipboard, under a better name if its own was made up
    /// by the browser; `now` is the time of pasting (ms since the epoch).
    pub fn pasted(file: File, now: i64) -> Self {
        let name = pasted_name(&file.name(), &file.type_(), now);
        Chosen { file, name }
    }
}

/// The files of a file picker, a drop or a paste.
pub fn files_in(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// What happens to a transfer, in order: any number of `Progress`, then one
/// of the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `loaded` of `total` bytes of the request body (the file and the
    /// multipart framing around it) are sent.
    Progress { loaded: u64, total: u64 },
    /// The server stored the file (and announces it in the room).
    Done,
    /// Not stored, and why, for a person.
    Failed(String),
    /// Cancelled on this page.
    Cancelled,
}

/// One upload on its way. Dropping it cancels it if it is still running.
pub struct Transfer {
    xhr: XmlHttpRequest,
    _listeners: [EventListener; 4],
}

impl Transfer {
    /// Starts sending `file` as `name` to `room`, signed by the session
    /// cookie or by `bearer` (a guest's token); `on_event` hears how it goes.
    /// Fails only if the browser refuses to start it.
    pub fn start(
        room: &str,
        bearer: Option<&Secret>,
        file: &Blob,
        name: &str,
        on_event: impl Fn(Event) + 'static,
    ) -> Result<Transfer, String> {
        let failed = |_| "The browser could not start the upload.".to_owned();
        let xhr = XmlHttpRequest::new().map_err(failed)?;
        let upload = xhr.upload().map_err(failed)?;
        let form = FormData::new().map_err(failed)?;
        form.append_with_blob_and_filename("file", file, name)
            .map_err(failed)?;

        let on_event: Rc<dyn Fn(Event)> = Rc::new(on_event);
        let progress = {
            let on_event = Rc::clone(&on_event);
            EventListener::new(&upload, "progress", move |event| {
                if let Some(p) = event.dyn_ref::<ProgressEvent>()
                    && p.length_computable()
                {
                    on_event(Event::Progress {
                        loaded: p.loaded() as u64,
                        total: p.total() as u64,
                    });
                }
            })
        };
        let load = {
            let on_event = Rc::clone(&on_event);
            let xhr = xhr.clone();
            EventListener::new(&xhr.clone(), "load", move |_| {
                let status = xhr.status().unwrap_or(0);
                on_event(if (200..300).contains(&status) {
                    Event::Done
                } else {
                    let body = xhr.response_text().ok().flatten().unwrap_or_default();
                    Event::Failed(failure_reason(status, &body))
                });
            })
        };
        let error = {
            let on_event = Rc::clone(&on_event);
            EventListener::new(&xhr, "error", move |_| {
                on_event(Event::Failed(failure_reason(0, "")));
            })
        };
        let abort = EventListener::new(&xhr, "abort", move |_| on_event(Event::Cancelled));

        xhr.open("POST", &upload_url(room)).map_err(failed)?;
        xhr.set_request_header("Accept", "application/json")
            .map_err(failed)?;
        if let Some(token) = bearer {
            xhr.set_request_header("Authorization", &bearer_header(token))
                .map_err(failed)?;
        }
        xhr.send_with_opt_form_data(Some(&form)).map_err(failed)?;
        Ok(Transfer {
            xhr,
            _listeners: [progress, load, error, abort],
        })
    }

    /// Stops sending. The `Cancelled` event follows at once; a transfer that
    /// has already ended is left as it is.
    pub fn cancel(&self) {
        let _ = self.xhr.abort();
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// `/api/rooms/{room}/files`, the room name percent-encoded (a conversation
/// is `@alice+bob`, and nicknames may be any script).
pub fn upload_url(room: &str) -> String {
    let mut url = String::from("/api/rooms/");
    for byte in room.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("/files");
    url
}

/// The server's answer to a refused upload. A struct rather than
/// `serde_json::Value`, whose parser would add several KB to the bundle.
#[derive(serde::Deserialize)]
struct Refusal {
    error: String,
}

/// Longest reason from the server shown as it is.
const MAX_REASON_CHARS: usize = 300;

/// The sentence of a refusal from the HTTP API (`{"error": "…"}`), with a
/// capital (the server's sentences begin in lower case; alone in a row or
/// under a field they read better with one), cut to a length a row can
/// hold. `None` when the body is not one (a proxy's page, nothing).
pub fn server_sentence(body: &str) -> Option<String> {
    let said = serde_json::from_str::<Refusal>(body).ok()?;
    let said = said.error.trim();
    let mut chars = said.chars().take(MAX_REASON_CHARS);
    let first = chars.next()?;
    Some(
        std::iter::once(first.to_ascii_uppercase())
            .chain(chars)
            .collect(),
    )
}

/// Why an upload failed, for a person: the server's own sentence when it
/// sent one (`{"error": "…"}`), else a sentence for the status (0: no answer
/// at all).
pub fn failure_reason(status: u16, body: &str) -> String {
    if let Some(said) = server_sentence(body) {
        return said;
    }
    match status {
        0 => "The connection to the server was lost.".to_owned(),
        400 => "The server refused the upload.".to_owned(),
        403 => "You may not share files here.".to_owned(),
        413 => "The file is too large.".to_owned(),
        429 => "Too many uploads at once; try again in a moment.".to_owned(),
        507 => "The server has no room for more files.".to_owned(),
        _ => format!("The upload failed (HTTP {status})."),
    }
}

/// The name an image pasted from the clipboard is shared under: its own,
/// unless browsers made that up (`image.png` for a screenshot), in which case
/// `pasted-image-2025-11-25-120000.png` from the time `now` (ms, UTC).
pub fn pasted_name(name: &str, content_type: &str, now: i64) -> String {
    let made_up = name.is_empty()
        || name
            .strip_prefix("image.")
            .is_some_and(|ext| !ext.contains('.'));
    if !made_up {
        return name.to_owned();
    }
    let ext = match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => name.rsplit_once('.').map_or("bin", |(_, ext)| ext),
    };
    let stamp: String = iso_utc(now)
        .chars()
        .filter_map(|c| match c {
            'T' => Some('-'),
            ':' | 'Z' => None,
            c => Some(c),
        })
        .collect();
    format!("pasted-image-{stamp}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_is_one_encoded_path_segment() {
        assert_eq!(upload_url("lobby"), "/api/rooms/lobby/files");
        assert_eq!(upload_url("dev-ops_2"), "/api/rooms/dev-ops_2/files");
        assert_eq!(upload_url("@alice+bob"), "/api/rooms/%40alice%2Bbob/files");
        assert_eq!(
            upload_url("@zoë+a/b"),
            "/api/rooms/%40zo%C3%AB%2Ba%2Fb/files"
        );
    }

    #[test]
    fn the_servers_sentence_is_the_reason() {
        let body = r#"{"error": "The file is larger than 25 MiB."}"#;
        assert_eq!(failure_reason(413, body), "The file is larger than 25 MiB.");
        assert_eq!(
            failure_reason(403, r#"{"error":"only alice and bob share files here"}"#),
            "Only alice and bob share files here"
        );
        // No sentence (a proxy's page, an empty body): one for the status.
        assert_eq!(failure_reason(413, "<html>"), "The file is too large.");
        assert_eq!(
            failure_reason(429, r#"{"error": ""}"#),
            "Too many uploads at once; try again in a moment."
        );
        assert_eq!(
            failure_reason(507, ""),
            "The server has no room for more files."
        );
        assert_eq!(
            failure_reason(0, ""),
            "The connection to the server was lost."
        );
        assert_eq!(failure_reason(502, ""), "The upload failed (HTTP 502).");
        let long = format!(r#"{{"error":"{}"}}"#, "x".repeat(1000));
        assert_eq!(failure_reason(400, &long).len(), MAX_REASON_CHARS);
    }

    #[test]
    fn pasted_images_get_a_name_when_theirs_is_made_up() {
        let noon = 1_764_072_000_000;
        assert_eq!(
            pasted_name("image.png", "image/png", noon),
            "pasted-image-2025-11-25-120000.png"
        );
        assert_eq!(
            pasted_name("", "image/jpeg", noon),
            "pasted-image-2025-11-25-120000.jpg"
        );
        assert_eq!(pasted_name("diagram.png", "image/png", noon), "diagram.png");
        assert_eq!(pasted_name("image.tar.gz", "", noon), "image.tar.gz");
    }
}
