//! The `backend` command line as an operator meets it: the real binary, in a
//! working directory of its own, configured by a file, `HUBBUB_*` variables
//! and flags. Mistakes must be one line and exit code 2; a good address must
//! start the server and log where it listens.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is a failed assertion"
)]

mod cli_support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};

use cli_support::{
    OTHER_DOORS_ON_FREE_PORTS, PATIENCE, Running, assert_no_panic, assert_usage_error,
    assert_usage_error_starting, backend, printed, run,
};

fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------- precedence

#[test]
fn flags_win_over_env_over_file_over_defaults() {
    let dir = workdir();
    // Found without --config: hubbub.toml in the working directory.
    std::fs::write(
        dir.path().join("hubbub.toml"),
        "log = \"debug\"\n\
         \n\
         [websocket]\n\
         ping_interval_secs = 11\n\
         message_burst = 3\n\
         allowed_origins = [\"https://file.example\"]\n\
         \n\
         [limits]\n\
         max_connections = 500\n",
    )
    .unwrap();
    let mut command = backend(dir.path());
    command
        .env("HUBBUB_WEBSOCKET_PING_INTERVAL_SECS", "12")
        .env("HUBBUB_WEBSOCKET_MESSAGE_BURST", "4")
        .env("HUBBUB_DATA_DIR", "/srv/hubbub-data")
        .args(["--print-config", "--websocket-ping-interval-secs", "13"])
        .args(["--http", "127.0.0.1:0"]);
    let out = run(command);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert_no_panic(&out);
    let config = out.stdout.as_str();
    let ws = Some("websocket");

    // file < env < flag
    assert_eq!(
        printed(config, ws, "ping_interval_secs"),
        ("13", "flag --websocket-ping-interval-secs")
    );
    // file < env
    assert_eq!(
        printed(config, ws, "message_burst"),
        ("4", "env HUBBUB_WEBSOCKET_MESSAGE_BURST")
    );
    // default < env
    assert_eq!(
        printed(config, None, "data_dir"),
        ("\"/srv/hubbub-data\"", "env HUBBUB_DATA_DIR")
    );
    // default < flag
    assert_eq!(
        printed(config, None, "http"),
        ("\"127.0.0.1:0\"", "flag --http")
    );
    // default < file
    assert_eq!(printed(config, None, "log"), ("\"debug\"", "hubbub.toml:1"));
    assert_eq!(
        printed(config, ws, "allowed_origins"),
        ("[\"https://file.example\"]", "hubbub.toml:6")
    );
    assert_eq!(
        printed(config, Some("limits"), "max_connections"),
        ("500", "hubbub.toml:9")
    );
    // default
    assert_eq!(printed(config, ws, "idle_timeout_secs"), ("60", "default"));
    assert!(
        config.contains("# Configuration file: hubbub.toml"),
        "{config}"
    );
}

#[test]
fn config_flag_and_variable_choose_the_file() {
    let dir = workdir();
    std::fs::write(dir.path().join("hubbub.toml"), "log = \"warn\"\n").unwrap();
    std::fs::write(dir.path().join("by-env.toml"), "log = \"debug\"\n").unwrap();
    std::fs::write(dir.path().join("by-flag.toml"), "\n\nlog = \"trace\"\n").unwrap();

    let mut command = backend(dir.path());
    command
        .env("HUBBUB_CONFIG", "by-env.toml")
        .args(["--print-config"]);
    let out = run(command);
    assert_eq!(
        printed(&out.stdout, None, "log"),
        ("\"debug\"", "by-env.toml:1")
    );

    let mut command = backend(dir.path());
    command.env("HUBBUB_CONFIG", "by-env.toml").args([
        "--config",
        "by-flag.toml",
        "--print-config",
    ]);
    let out = run(command);
    assert_eq!(
        printed(&out.stdout, None, "log"),
        ("\"trace\"", "by-flag.toml:3")
    );
}

/// The example file is a working configuration file whose values are the
/// defaults, and `--print-config` shows every key.
#[test]
fn the_example_file_loads_and_every_key_is_printed() {
    let dir = workdir();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../hubbub.example.toml");
    let mut command = backend(dir.path());
    command.args(["--config", example, "--print-config"]);
    let out = run(command);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let with_defaults = run({
        let mut command = backend(dir.path());
        command.arg("--print-config");
        command
    });
    let values = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split("  # ").next().unwrap().trim_end().to_owned())
            .collect()
    };
    assert_eq!(values(&out.stdout), values(&with_defaults.stdout));
    let assignments = out.stdout.lines().filter(|l| l.contains(" = ")).count();
    assert_eq!(
        assignments,
        backend::settings::keys::KEYS.len(),
        "one line per key:\n{}",
        out.stdout
    );
    for line in out.stdout.lines().filter(|l| l.contains(" = ")) {
        let source = line.split("  # ").nth(1).unwrap();
        if line.starts_with("web_dir") {
            assert_eq!(source, "default");
        } else {
            assert!(source.contains("hubbub.example.toml:"), "{line}");
        }
    }
}

#[test]
fn print_config_binds_nothing() {
    let dir = workdir();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut command = backend(dir.path());
    command.args(["--http", &addr, "--print-config"]);
    let out = run(command);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(!dir.path().join("data").exists(), "no data directory made");
}

#[test]
fn unknown_hubbub_variables_are_warned_about() {
    let dir = workdir();
    let mut command = backend(dir.path());
    command
        .env("HUBBUB_WEBSOCKET_PINGG", "3")
        .arg("--print-config");
    let out = run(command);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        out.stderr,
        "warning: unknown environment variable HUBBUB_WEBSOCKET_PINGG (ignored)\n"
    );
}

// ------------------------------------------------------------ bad settings

/// Each mistake in the file: exit 2, one line naming the file, the line and
/// the key.
#[test]
fn mistakes_in_the_file_name_the_key_and_the_file() {
    let cases = [
        (
            "[websocket]\nping_interval_secs = 20\npingg = 3\n",
            "hubbub.toml:3: unknown key \"websocket.pingg\"",
        ),
        (
            "max_connections = 5\n",
            "hubbub.toml:1: unknown key \"max_connections\" (did you mean \"limits.max_connections\"?)",
        ),
        (
            "[websocket]\nmessage_burst = \"lots\"\n",
            "hubbub.toml:2: websocket.message_burst: expected a whole number, got the string \"lots\"",
        ),
        (
            "http = 8080\n",
            "hubbub.toml:1: http: expected a string, got the whole number 8080",
        ),
        (
            "[websocket]\nmessages_per_second = 0\n",
            "hubbub.toml:2: websocket.messages_per_second: must be a number above 0 (and at most 1e9), got 0",
        ),
        (
            "[limits]\nmax_connections_per_ip = -1\n",
            "hubbub.toml:2: limits.max_connections_per_ip: must be at least 1, got -1",
        ),
        (
            "[websocket]\nallowed_origins = [\"\"]\n",
            "hubbub.toml:2: websocket.allowed_origins: an origin must not be empty",
        ),
        (
            "[websocket]\nallowed_origins = [\"https://chat.example.org/app\"]\n",
            "hubbub.toml:2: websocket.allowed_origins: \"https://chat.example.org/app\" is not an origin: an origin has no path (write \"https://chat.example.org\")",
        ),
        (
            "[websocket]\nidle_timeout_secs = 20\n",
            "websocket.idle_timeout_secs (hubbub.toml:2) = 20 must be longer than \
             websocket.ping_interval_secs (default) = 30: a client gets a ping to answer \
             before it can be thought idle",
        ),
    ];
    for (text, expected) in cases {
        let dir = workdir();
        std::fs::write(dir.path().join("hubbub.toml"), text).unwrap();
        let out = run(backend(dir.path()));
        assert_usage_error(&out, expected);
        assert!(!dir.path().join("data").exists());
    }

    let dir = workdir();
    std::fs::write(dir.path().join("hubbub.toml"), "[websocket\n").unwrap();
    assert_usage_error_starting(&run(backend(dir.path())), "hubbub.toml:1: not valid TOML: ");
}

#[test]
fn a_missing_config_file_is_an_error_when_named() {
    let dir = workdir();
    let mut command = backend(dir.path());
    command.args(["--config", "nope.toml"]);
    assert_usage_error(
        &run(command),
        "flag --config: cannot read the configuration file nope.toml: no such file",
    );
}

#[test]
fn bad_environment_values_name_the_variable() {
    let dir = workdir();
    let mut command = backend(dir.path());
    command.env("HUBBUB_WEBSOCKET_MESSAGE_BURST", "lots");
    assert_usage_error(
        &run(command),
        "env HUBBUB_WEBSOCKET_MESSAGE_BURST: expected a whole number, got \"lots\"",
    );

    // RUST_LOG overrides `log`, and is checked the same way.
    let mut command = backend(dir.path());
    command.env("RUST_LOG", "info,[[[");
    assert_usage_error_starting(
        &run(command),
        "env RUST_LOG: \"info,[[[\" is not a log filter: ",
    );

    let mut command = backend(dir.path());
    command.env("HUBBUB_WEBSOCKET_ALLOWED_ORIGINS", "https://a.example,evil");
    assert_usage_error(
        &run(command),
        "env HUBBUB_WEBSOCKET_ALLOWED_ORIGINS: \"evil\" is not an origin: it must start with http:// or https://",
    );
}

#[test]
fn bad_flag_values_name_the_flag() {
    let dir = workdir();
    let mut command = backend(dir.path());
    command.args(["--limits-max-connections", "0"]);
    assert_usage_error(
        &run(command),
        "flag --limits-max-connections: must be at least 1, got 0",
    );

    let mut command = backend(dir.path());
    command.args(["--log", "info,[[["]);
    assert_usage_error_starting(
        &run(command),
        "log (flag --log): \"info,[[[\" is not a log filter: ",
    );

    // Not a setting at all: clap's usage error, also exit code 2.
    let mut command = backend(dir.path());
    command.arg("--no-such-flag");
    let out = run(command);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
    assert_no_panic(&out);
}

#[test]
fn help_lists_every_form_and_exits_0() {
    let dir = workdir();
    let mut command = backend(dir.path());
    command.arg("--help");
    let out = run(command);
    assert_eq!(out.status.code(), Some(0));
    for needle in [
        "--config <FILE>",
        "--print-config",
        "--http <ADDR>",
        "[env: HUBBUB_HTTP]",
        "--websocket-ping-interval-secs <SECS>",
        "[file: websocket.ping_interval_secs]",
        "[env: HUBBUB_LIMITS_HEADER_READ_TIMEOUT_SECS]",
    ] {
        assert!(out.stdout.contains(needle), "{needle} in:\n{}", out.stdout);
    }
}

// ------------------------------------------------------------ bad addresses

fn http_error(flag_value: &str) -> cli_support::Finished {
    let dir = workdir();
    let mut command = backend(dir.path());
    command.args(["--http", flag_value]);
    run(command)
}

#[test]
fn a_port_out_of_range_is_named() {
    assert_usage_error(
        &http_error("127.0.0.1:99999"),
        "HTTP door: \"127.0.0.1:99999\" (flag --http): port 99999 is out of range (0-65535)",
    );
}

#[test]
fn a_port_that_is_not_a_number_is_named() {
    assert_usage_error(
        &http_error("127.0.0.1:abc"),
        "HTTP door: \"127.0.0.1:abc\" (flag --http): \"abc\" is not a port number",
    );
}

#[test]
fn a_missing_port_is_named() {
    assert_usage_error(
        &http_error("127.0.0.1"),
        "HTTP door: \"127.0.0.1\" (flag --http): missing port (write host:port, [v6]:port or :port)",
    );
    assert_usage_error(
        &http_error("[::1]"),
        "HTTP door: \"[::1]\" (flag --http): missing port (write host:port, [v6]:port or :port)",
    );
}

#[test]
fn an_unknown_host_is_named() {
    assert_usage_error_starting(
        &http_error("nohost.invalid:8080"),
        "HTTP door: \"nohost.invalid:8080\" (flag --http): cannot resolve host \"nohost.invalid\": ",
    );
}

#[test]
fn an_address_in_use_is_named() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    assert_usage_error(
        &http_error(&addr),
        &format!("HTTP door: \"{addr}\" (flag --http): {addr} is already in use"),
    );

    // The same, from the environment and from the file.
    let dir = workdir();
    let mut command = backend(dir.path());
    command.env("HUBBUB_HTTP", &addr);
    assert_usage_error(
        &run(command),
        &format!("HTTP door: \"{addr}\" (env HUBBUB_HTTP): {addr} is already in use"),
    );
    std::fs::write(
        dir.path().join("hubbub.toml"),
        format!("# the door\nhttp = \"{addr}\"\n"),
    )
    .unwrap();
    assert_usage_error(
        &run(backend(dir.path())),
        &format!("HTTP door: \"{addr}\" (hubbub.toml:2): {addr} is already in use"),
    );
}

// ------------------------------------------------------------ good addresses

/// Starts the server with `--http spec`, waits for the line that says where
/// the HTTP door listens, checks that it answers there, stops it with
/// SIGTERM and expects a clean exit.
fn starts_and_stops(spec: &str, expected_url_host: &str) {
    let dir = workdir();
    let mut command = backend(dir.path());
    command
        .args(["--http", spec])
        .args(OTHER_DOORS_ON_FREE_PORTS);
    let mut server = Running::start(command);
    let (bound, line) = server.http_door();
    assert_ne!(bound.port(), 0, "the log shows the port actually bound");
    assert!(
        line.contains(&format!(
            "open http://{expected_url_host}:{}/",
            bound.port()
        )),
        "{line}"
    );

    let reach = if bound.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], bound.port()))
    } else {
        bound
    };
    let mut stream = TcpStream::connect_timeout(&reach, PATIENCE).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    server.signal("TERM");
    let out = server.finish();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);
    assert_no_panic(&out);
    assert!(
        dir.path().join("data").is_dir(),
        "the data directory is made in the working directory"
    );
}

#[test]
fn port_0_on_every_interface_logs_the_bound_address() {
    starts_and_stops(":0", "localhost");
}

#[test]
fn port_0_on_loopback_logs_the_bound_address() {
    starts_and_stops("127.0.0.1:0", "localhost");
}

#[test]
fn an_ipv6_address_in_brackets() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine; skipping");
        return;
    }
    starts_and_stops("[::1]:0", "localhost");
}

#[test]
fn a_host_name_is_kept_in_the_url() {
    starts_and_stops("localhost:0", "localhost");
}

// ------------------------------------------------------------ shutdown

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_says_goodbye_exits_0_and_frees_the_port_at_once() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let dir = workdir();
    let mut command = backend(dir.path());
    command
        .args(["--http", "127.0.0.1:0"])
        .args(OTHER_DOORS_ON_FREE_PORTS);
    let mut server = Running::start(command);
    let (addr, _) = server.http_door();
    let url = format!("ws://{addr}/ws");

    // A client that reads, and one that stops reading after hello and so
    // never answers the server's close frame.
    let (mut reader, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut deaf, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    deaf.send(Message::text("hello")).await.unwrap();
    let greeting = reader.next().await.unwrap().unwrap();
    assert!(greeting.to_text().unwrap().starts_with("* you are guest-"));

    server.signal("TERM");
    let close = loop {
        match tokio::time::timeout(PATIENCE, reader.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(close)))) => break close,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1001);
    assert_eq!(close.reason.as_str(), "server shutting down");
    let out = tokio::task::block_in_place(|| server.finish());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);
    assert_no_panic(&out);
    drop(deaf);

    // The same port, at once.
    let mut command = backend(dir.path());
    command
        .args(["--http", &addr.to_string()])
        .args(OTHER_DOORS_ON_FREE_PORTS);
    let mut again = Running::start(command);
    assert_eq!(again.http_door().0, addr);
    again.signal("TERM");
    let out = again.finish();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);
}

// ------------------------------------------------------------ the data directory

#[test]
fn a_second_server_on_the_same_data_is_refused_until_the_first_is_gone() {
    let dir = workdir();
    let start = |http: &str| {
        let mut command = backend(dir.path());
        command
            .args(["--http", http])
            .args(OTHER_DOORS_ON_FREE_PORTS);
        command
    };
    let mut first = Running::start(start("127.0.0.1:0"));
    let (addr, _) = first.http_door();
    let data = std::fs::canonicalize(dir.path().join("data")).unwrap();
    let refusal = format!(
        "another Hubbub (pid {}) is using {}: stop it or choose another --data-dir",
        first.pid(),
        data.display()
    );
    assert_usage_error(&run(start("127.0.0.1:0")), &refusal);
    // On the first one's port too, the data is what is named.
    assert_usage_error(&run(start(&addr.to_string())), &refusal);

    // A kill leaves the file but not the lock: the next one starts.
    first.signal("KILL");
    let out = first.finish();
    assert!(!out.status.success());
    assert!(dir.path().join("data/LOCK").is_file());
    let mut next = Running::start(start("127.0.0.1:0"));
    next.http_door();
    next.signal("TERM");
    let out = next.finish();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);
    assert_no_panic(&out);
}

// ------------------------------------------------------------ secrets

/// Sends `request` on a new connection and returns the whole answer.
fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn post_json(addr: SocketAddr, path: &str, body: &str) -> String {
    exchange(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Reads from a terminal connection until `needle` arrives.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = String::new();
    let mut chunk = [0u8; 4096];
    while !seen.contains(needle) {
        let read = stream.read(&mut chunk).unwrap();
        assert_ne!(read, 0, "closed before {needle:?}; got {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..read]));
    }
    seen
}

#[test]
fn passwords_and_tokens_never_reach_the_log() {
    const PASSWORD: &str = "zebra-crossing-7781";
    const WRONG: &str = "okapi-guess-5512";
    let dir = workdir();
    let mut command = backend(dir.path());
    command
        .args(["--http", "127.0.0.1:0", "--log", "trace"])
        .args(OTHER_DOORS_ON_FREE_PORTS);
    let mut server = Running::start(command);
    let (http, _) = server.http_door();
    let line = server.wait_for_line("terminal door listening on ");
    let tcp: SocketAddr = line
        .split("terminal door listening on ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|addr| addr.parse().ok())
        .unwrap();

    let token_of = |response: &str| -> String {
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        value["token"].as_str().unwrap().to_owned()
    };
    let body = format!(r#"{{"nick":"ada","password":"{PASSWORD}"}}"#);
    let registered = post_json(http, "/api/register", &body);
    assert!(registered.starts_with("HTTP/1.1 201"), "{registered}");
    let wrong = post_json(
        http,
        "/api/login",
        &format!(r#"{{"nick":"ada","password":"{WRONG}"}}"#),
    );
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let signed_in = post_json(http, "/api/login", &body);
    assert!(signed_in.starts_with("HTTP/1.1 200"), "{signed_in}");
    let tokens = [token_of(&registered), token_of(&signed_in)];

    // The terminal door: a wrong password at the prompt, then /login, then
    // a guest's /register.
    let mut nc = TcpStream::connect_timeout(&tcp, PATIENCE).unwrap();
    nc.set_read_timeout(Some(PATIENCE)).unwrap();
    read_until(&mut nc, "nickname: ");
    nc.write_all(b"ada\r\n").unwrap();
    read_until(&mut nc, "password for ada: ");
    nc.write_all(format!("{WRONG}\r\n").as_bytes()).unwrap();
    read_until(&mut nc, "nickname: ");
    nc.write_all(format!("/login ada {PASSWORD}\r\n").as_bytes())
        .unwrap();
    read_until(&mut nc, "signed in");
    let mut guest = TcpStream::connect_timeout(&tcp, PATIENCE).unwrap();
    guest.set_read_timeout(Some(PATIENCE)).unwrap();
    read_until(&mut guest, "nickname: ");
    guest.write_all(b"bea\r\n").unwrap();
    read_until(&mut guest, "online");
    guest
        .write_all(format!("/register {PASSWORD}\r\n").as_bytes())
        .unwrap();
    read_until(&mut guest, "is registered to you now");
    // The WebSocket door: a password in a hello.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use futures_util::{SinkExt as _, StreamExt as _};
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let mut request = format!("ws://{http}/ws").into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            shared::SUBPROTOCOL.parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let hello =
            format!(r#"{{"type":"hello","nick":"ada","auth":{{"password":"{PASSWORD}"}}}}"#);
        ws.send(Message::text(hello)).await.unwrap();
        loop {
            let frame = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap();
            let Some(Ok(Message::Text(text))) = frame else {
                panic!("no welcome: {frame:?}")
            };
            if text.contains(r#""type":"welcome""#) {
                assert!(text.contains(r#""account":true"#), "{text}");
                break;
            }
        }
    });
    // A session ends: the log may say so, not with what.
    let logout = exchange(
        http,
        &format!(
            "POST /api/logout HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Authorization: Bearer {}\r\nContent-Length: 0\r\n\r\n",
            tokens[1]
        ),
    );
    assert!(logout.starts_with("HTTP/1.1 204"), "{logout}");
    drop((nc, guest));

    server.signal("TERM");
    let out = server.finish();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", out.stderr);
    let log = format!("{}\n{}", out.stdout, out.stderr);
    assert!(log.contains("account registered"), "the log is on: {log}");
    for secret in [PASSWORD, WRONG, &tokens[0], &tokens[1]] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}
