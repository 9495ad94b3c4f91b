//! Plain HTTP: health, metrics, the web client's files and their headers.

use crate::support::{Client, TestServer, http_get};

#[tokio::test]
async fn healthz_answers_200_with_json() {
    let server = TestServer::start().await;
    let response = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!(response.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn without_a_built_client_the_page_says_how_to_build_it() {
    let server = TestServer::start().await;
    for path in ["/", "/index.html", "/rooms/lobby"] {
        let response = http_get(server.addr, path, &[]).await;
        assert_eq!(response.status, 503, "{path}");
        assert!(response.text().contains("trunk build --release"), "{path}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_built_client_is_served_with_the_right_types() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>Hubbub</title>",
    )
    .unwrap();
    let wasm = [0u8, b'a', b's', b'm', 1, 0, 0, 0];
    std::fs::write(web.path().join("frontend-abc_bg.wasm"), wasm).unwrap();
    std::fs::write(
        web.path().join("frontend-abc.js"),
        "export default 1;".repeat(100),
    )
    .unwrap();
    let web_dir = web.path().to_path_buf();
    let server = TestServer::start_with(|config| config.web_dir = web_dir).await;

    let page = http_get(server.addr, "/", &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(page.text().contains("<title>Hubbub</title>"));

    let module = http_get(server.addr, "/frontend-abc_bg.wasm", &[]).await;
    assert_eq!(module.status, 200);
    assert_eq!(module.header("content-type"), Some("application/wasm"));
    assert_eq!(module.body, wasm);

    let script = http_get(
        server.addr,
        "/frontend-abc.js",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(script.status, 200);
    assert_eq!(script.header("content-encoding"), Some("gzip"));

    // A file built with its own gzip beside it (`cargo xtask bundle`) is
    // sent as that, whole, to a browser that takes gzip, and as it is to
    // one that does not.
    let packed = b"\x1f\x8b precompressed by zopfli".to_vec();
    std::fs::write(web.path().join("frontend-abc_bg.wasm.gz"), &packed).unwrap();
    let module = http_get(
        server.addr,
        "/frontend-abc_bg.wasm",
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(module.status, 200);
    assert_eq!(module.header("content-encoding"), Some("gzip"));
    assert_eq!(module.header("content-type"), Some("application/wasm"));
    assert_eq!(module.body, packed, "sent as built, not compressed again");
    let plain = http_get(server.addr, "/frontend-abc_bg.wasm", &[]).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, wasm);

    // A client-side route reloads into the app rather than a 404.
    let deep = http_get(server.addr, "/rooms/lobby", &[]).await;
    assert_eq!(deep.status, 200);
    assert!(deep.text().contains("<title>Hubbub</title>"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_reflect_traffic() {
    let server = TestServer::start().await;
    let mut alice = Client::joined(&server, "alice").await;
    let _bob = Client::joined(&server, "bob").await;
    alice.say("m1", "counted").await;
    alice
        .recv_until(|m| matches!(m, shared::ServerMsg::Message(_)))
        .await;

    let response = http_get(server.addr, "/metrics", &[]).await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    // Counters are process-wide and other tests run alongside: at least.
    assert!(value("hubbub_messages_in_total") >= 1.0);
    assert!(value("hubbub_deliveries_total") >= 2.0);
    assert!(value("hubbub_connections{door=\"ws\"}") >= 2.0);
    assert!(value("hubbub_fanout_seconds_count") >= 2.0);
    assert!(
        text.contains("hubbub_fanout_seconds_bucket{le=\"0.001\"}"),
        "{text}"
    );
    // Every message is committed before it is acknowledged.
    assert!(value("hubbub_store_commit_seconds_count") >= 1.0);
    assert!(value("hubbub_store_commit_messages_sum") >= 1.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn healthz_counts_connections() {
    let server = TestServer::start().await;
    let _alice = Client::joined(&server, "alice").await;
    let response = http_get(server.addr, "/healthz", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["connections"]["clients"], 1);
    // The WebSocket and this request.
    assert_eq!(body["connections"]["http"], 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_page_carries_a_content_security_policy_for_its_loader() {
    let web = tempfile::tempdir().unwrap();
    let loader = r#"import init from"/frontend-abc.js";await init();"#;
    std::fs::write(
        web.path().join("index.html"),
        format!("<!doctype html><script type=module>{loader}</script>"),
    )
    .unwrap();
    let web_dir = web.path().to_path_buf();
    let server = TestServer::start_with(|config| config.web_dir = web_dir).await;
    let page = http_get(server.addr, "/", &[]).await;
    let policy = page.header("content-security-policy").unwrap();
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(loader));
    assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
    assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn every_api_refusal_is_json_with_a_code_and_a_sentence() {
    let server = TestServer::start().await;
    let cases = [
        (
            "/api/files/0123456789abcdef0123456789abcdef",
            404,
            "not_found",
        ),
        ("/api/files/not-an-id/inline", 404, "not_found"),
        ("/api/rooms/lobby/messages?limit=many", 400, "invalid"),
        ("/api/rooms/%20/messages", 404, "not_found"),
        ("/ws", 400, "handshake"),
    ];
    for (path, status, code) in cases {
        let response = http_get(server.addr, path, &[]).await;
        assert_eq!(response.status, status, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["code"], code, "{path}: {body}");
        let sentence = body["error"].as_str().unwrap_or_default();
        assert!(sentence.len() > 10, "{path}: {body}");
        assert!(body.get("reference").is_none(), "not internal: {body}");
    }
    server.stop().await.unwrap();
}
