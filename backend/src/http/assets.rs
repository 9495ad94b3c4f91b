//! The built web client, served from trunk's `dist` folder.
//!
//! Files are served as they are (with their content types: `.wasm` as
//! `application/wasm`), compressed with gzip when the browser accepts it:
//! a file's own `.gz` beside it when the build made one (`cargo xtask
//! bundle` does, with zopfli), else compressed as it is sent. Any
//! other path gets `index.html`, so that the client's own routes survive a
//! reload. Without a build, every page explains how to make one instead of
//! answering 404.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use tower::Layer;
use tower_http::compression::{Compression, CompressionLayer};
use tower_http::services::ServeDir;

pub(super) fn service(web_dir: PathBuf) -> Compression<ServeDir<MethodRouter>> {
    let index = web_dir.join("index.html");
    let fallback: MethodRouter = get(move || index_or_help(index.clone()));
    let files = ServeDir::new(web_dir)
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .fallback(fallback);
    CompressionLayer::new().layer(files)
}

async fn index_or_help(index: PathBuf) -> Response {
    match tokio::fs::read(&index).await {
        Ok(page) => {
            let policy = content_security_policy(&page);
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    // The page names the hashed bundle of the current build:
                    // always revalidate it, or a browser keeps an old client.
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                ],
                [(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_str(&policy)
                        .unwrap_or_else(|_| HeaderValue::from_static(STRICT_POLICY)),
                )],
                page,
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(STRICT_POLICY),
            )],
            Html(NOT_BUILT),
        )
            .into_response(),
    }
}

/// For pages that run no script.
const STRICT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// The page's Content-Security-Policy: its own files, WebAssembly, and the
/// inline loader trunk writes into `index.html`, allowed by its hash, since
/// it changes with every build. Nothing else runs, nothing frames the page.
fn content_security_policy(page: &[u8]) -> String {
    let scripts: String = inline_scripts(&String::from_utf8_lossy(page))
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(" 'sha256-{}'", BASE64.encode(digest))
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{scripts}; \
         style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// The bodies of the `<script>` elements that have no `src`.
fn inline_scripts(page: &str) -> impl Iterator<Item = &str> {
    page.split("<script").skip(1).filter_map(|rest| {
        let (tag, after) = rest.split_once('>')?;
        let (body, _) = after.split_once("</script>")?;
        let has_src = tag
            .split(|c: char| c.is_whitespace())
            .any(|attribute| attribute.starts_with("src="));
        (!has_src).then_some(body)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_each_inline_script_by_hash_and_nothing_else() {
        let page = br#"<html><script type=module>import init from"/a.js";</script><script src="/b.js"></script></html>"#;
        let policy = content_security_policy(page);
        let digest = BASE64.encode(Sha256::digest(br#"import init from"/a.js";"#));
        assert!(
            policy.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{digest}';"
            )),
            "{policy}"
        );
        assert_eq!(policy.matches("'sha256-").count(), 1, "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
