//! The built web client, served from trunk's `dist` folder.
//!
//! Files are served as they are (with their content types: `.wasm` as
//! `application/wasm`), compressed with gzip when the browser accepts it. Any
//! other path gets `index.html`, so that the client's own routes survive a
//! reload. Without a build, every page explains how to make one instead of
//! answering 404.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use tower::Layer;
use tower_http::compression::{Compression, CompressionLayer};
use tower_http::services::ServeDir;

pub(super) fn service(web_dir: PathBuf) -> Compression<ServeDir<MethodRouter>> {
    let index = web_dir.join("index.html");
    let fallback: MethodRouter = get(move || index_or_help(index.clone()));
    let files = ServeDir::new(web_dir)
        .append_index_html_on_directories(false)
        .fallback(fallback);
    CompressionLayer::new().layer(files)
}

async fn index_or_help(index: PathBuf) -> Response {
    match tokio::fs::read(&index).await {
        Ok(page) => (
            // The page names the hashed bundle of the current build: always
            // revalidate it, or a browser keeps loading an old client.
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            page,
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Html(NOT_BUILT)).into_response(),
    }
}

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Hubbub: web client not built</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Hubbub is running, but its web client has not been built</h1>
<p>Build it, then reload this page:</p>
<pre>cargo xtask run</pre>
<p>or, to build the client only:</p>
<pre>cd frontend &amp;&amp; trunk build --release</pre>
<p>The chat already works without it: plain-text WebSocket clients can connect to <code>/ws</code>.</p>
</body>
</html>
"#;
