//! `hubbub-load` against a real server at small scale: every message reaches
//! every client, and the report says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failure should stop the test with its message"
)]

use std::process::Command;

use backend::{Config, Listeners};
use tokio::net::{TcpListener, UdpSocket};

/// Starts the real server in this process on loopback ports of its own, with
/// the limits raised as docs/benchmarks.md says, and returns its address and
/// a handle that stops it.
async fn server(
    data: &tempfile::TempDir,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let mut config = Config {
        data_dir: data.path().join("data"),
        web_dir: data.path().join("no-web-client"),
        ..Config::default()
    };
    config.guard.messages_per_second = 1e6;
    config.guard.message_burst = 1_000_000;
    config.guard.handshakes_per_minute_per_ip = 1_000_000;
    config.guard.max_connections_per_ip = 1_000;
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let listeners = Listeners {
        http: vec![http],
        tcp: vec![TcpListener::bind("127.0.0.1:0").await.unwrap()],
        irc: Vec::new(),
        udp: vec![UdpSocket::bind("127.0.0.1:0").await.unwrap()],
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(backend::run(config, listeners, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Runs the generator against `addr` and returns its JSON result.
async fn load(addr: std::net::SocketAddr, args: &[&str]) -> serde_json::Value {
    let addr = addr.to_string();
    let pid = std::process::id().to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hubbub-load"));
    command
        .args([
            "--attach",
            &addr,
            "--server-pid",
            &pid,
            "--no-pin",
            "--json",
        ])
        .args(["--max-seconds", "30"])
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "hubbub-load failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = stdout.lines().last().expect("a JSON line");
    serde_json::from_str::<serde_json::Value>(json).unwrap()["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_reaches_every_client() {
    let data = tempfile::tempdir().unwrap();
    let (addr, stop) = server(&data).await;
    for wire in [&[][..], &["--plain"][..]] {
        let mut args = vec!["fanout", "--clients", "10", "--senders", "2"];
        args.extend(["--rate", "200", "--seconds", "2"]);
        args.extend(wire);
        let result = load(addr, &args).await;
        let sent = result["sent"].as_u64().unwrap();
        assert!(sent >= 390, "{result}");
        assert_eq!(result["expected"].as_u64().unwrap(), sent * 10, "{result}");
        assert_eq!(result["delivered"].as_u64().unwrap(), sent * 10, "{result}");
        assert_eq!(result["lost"], 0, "{result}");
        assert_eq!(result["disconnects"], 0, "{result}");
        assert_eq!(result["refusals"], 0, "{result}");
        assert_eq!(result["latency"]["samples"].as_u64().unwrap(), sent * 10);
        assert!(result["server_cpu_us_per_delivery"].as_f64().unwrap() > 0.0);
        if wire.is_empty() {
            assert_eq!(result["acks"].as_u64().unwrap(), sent, "{result}");
        }
    }
    let _ = stop.send(());
}

#[test]
fn refuses_addresses_off_this_machine() {
    let output = Command::new(env!("CARGO_BIN_EXE_hubbub-load"))
        .args(["--attach", "192.0.2.1:8080", "fanout", "--seconds", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not a loopback address"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
