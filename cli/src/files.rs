//! `hubbub send-file`: shares a file in a room through the server's upload
//! route (`POST /api/rooms/{room}/files`, docs/protocol.md), streamed from
//! disk so that a large file never sits in memory, with a progress bar.

use std::path::Path;

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use shared::Secret;
use tokio_util::io::ReaderStream;

/// What the server says about a stored file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Uploaded {
    pub id: String,
    pub name: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub content_type: String,
    pub room: String,
    pub seq: u64,
    /// Where it is downloaded, relative to the server's root.
    pub url: String,
}

/// Why the server refused an upload, in its words.
#[derive(Debug, Deserialize)]
struct Refusal {
    error: String,
}

/// A session: what `POST /api/login` answers.
#[derive(Debug, Deserialize)]
struct Session {
    token: Secret,
}

/// Signs in to `nick`'s account on the server at `base_url`; returns the
/// session's token.
pub async fn login(base_url: &str, nick: &str, password: &Secret) -> anyhow::Result<Secret> {
    let url = format!("{}/api/login", base_url.trim_end_matches('/'));
    let body = serde_json::json!({ "nick": nick, "password": password.expose() });
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .context("the server's answer was cut off")?;
    if status.is_success() {
        let session: Session = serde_json::from_str(&text)
            .with_context(|| format!("the server's answer is not what Hubbub sends: {text}"))?;
        return Ok(session.token);
    }
    refused(status, &text)
}

/// Sends `path` into `room` on the server at `base_url`, signed in with
/// the session `token`, calling `progress(sent, total)` as the bytes go
/// out.
pub async fn send_file(
    base_url: &str,
    room: &str,
    path: &Path,
    token: &Secret,
    progress: impl Fn(u64, u64) + Send + Sync + 'static,
) -> anyhow::Result<Uploaded> {
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    let total = file
        .metadata()
        .await
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let name = path.file_name().map_or_else(
        || "file".to_owned(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut sent = 0;
    let body = ReaderStream::new(file).map(move |chunk| {
        if let Ok(bytes) = &chunk {
            sent += bytes.len() as u64;
            progress(sent, total);
        }
        chunk
    });
    let part = Part::stream_with_length(reqwest::Body::wrap_stream(body), total).file_name(name);
    let form = Form::new().part("file", part);
    let url = format!("{}/api/rooms/{room}/files", base_url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .header("authorization", format!("Bearer {}", token.expose()))
        .multipart(form)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .context("the server's answer was cut off")?;
    if status.is_success() {
        return serde_json::from_str(&text)
            .with_context(|| format!("the server's answer is not what Hubbub sends: {text}"));
    }
    refused(status, &text)
}

/// The server's refusal, in its words.
fn refused<T>(status: reqwest::StatusCode, text: &str) -> anyhow::Result<T> {
    match serde_json::from_str::<Refusal>(text) {
        Ok(refusal) => bail!("{} ({status})", refusal.error),
        Err(_) => bail!("the server answered {status}: {}", text.trim()),
    }
}

/// [`send_file`] with a progress bar on the terminal, and a line saying
/// where the file can be downloaded.
pub async fn send_file_with_progress(
    base_url: &str,
    room: &str,
    path: &Path,
    token: &Secret,
) -> anyhow::Result<()> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(
        path.file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
    );
    let shown = bar.clone();
    let uploaded = send_file(base_url, room, path, token, move |sent, total| {
        shown.set_length(total);
        shown.set_position(sent);
    })
    .await;
    match uploaded {
        Ok(file) => {
            bar.finish();
            println!(
                "sent {} ({}) to [{}]: {}{}",
                file.name,
                shared::line::size_label(file.size),
                file.room,
                base_url.trim_end_matches('/'),
                file.url
            );
            Ok(())
        }
        Err(error) => {
            bar.abandon();
            Err(error)
        }
    }
}
