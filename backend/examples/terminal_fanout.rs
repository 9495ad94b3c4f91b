//! Many terminal and datagram users in one room: how long a message takes to
//! reach all of them, and whether one that stops reading slows the others.
//!
//! ```sh
//! cargo run --release -p backend --example terminal_fanout -- [--terminals N] [--datagram M]
//! ```
//!
//! Starts the real server in this process on loopback ports chosen by the
//! system, logs in `N` terminal users (TCP, as `nc` does) and `M` datagram
//! users (UDP sessions, as `hubbub` does), one of the terminals stopping
//! reading after its login, then sends `--messages` messages from a web user
//! (WebSocket) at `--rate` per second. Each carries its send time; every
//! reader notes when it arrives. Reports the delivery latency (p50, p99, max)
//! for each door, the deliveries per second, and any lost line. Bounded: it
//! stops after `--max-seconds` whatever happens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use backend::{Config, Listeners};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use shared::{ClientMsg, MessageKind, SUBPROTOCOL, ServerMsg};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[derive(Parser)]
#[command(about = "Fan-out to many terminal and datagram users")]
struct Args {
    /// Terminal users (TCP).
    #[arg(long, default_value_t = 2_000)]
    terminals: usize,
    /// Datagram users (UDP sessions).
    #[arg(long, default_value_t = 500)]
    datagram: usize,
    /// Messages sent by the web user.
    #[arg(long, default_value_t = 50)]
    messages: usize,
    /// Messages per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Stop after this long even if not everything arrived.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

/// Latencies of one door's deliveries, in microseconds.
type Samples = Arc<Mutex<Vec<u64>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = tempfile::tempdir()?;
    let mut config = Config {
        data_dir: data.path().join("data"),
        web_dir: data.path().join("no-web-client"),
        ..Config::default()
    };
    let clients = u32::try_from(args.terminals + args.datagram + 10)?;
    config.guard.max_connections_per_ip = clients;
    config.guard.max_connections = clients;
    config.guard.handshakes_per_minute_per_ip = clients;
    // The sender is one web user sending faster than a person would.
    config.guard.messages_per_second = 1e6;
    config.guard.message_burst = 1_000_000;
    let http = TcpListener::bind("127.0.0.1:0").await?;
    let tcp = TcpListener::bind("127.0.0.1:0").await?;
    let udp = UdpSocket::bind("127.0.0.1:0").await?;
    let (http_addr, tcp_addr, udp_addr) =
        (http.local_addr()?, tcp.local_addr()?, udp.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(backend::run(
        config,
        Listeners {
            http: vec![http],
            tcp: vec![tcp],
            irc: Vec::new(),
            udp: vec![udp],
        },
        async {
            let _ = stopped.await;
        },
    ));
    let origin = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.max_seconds);

    // Log everyone in, a few hundred at a time.
    let tcp_samples: Samples = Arc::default();
    let udp_samples: Samples = Arc::default();
    let login_started = Instant::now();
    let mut readers = Vec::new();
    for batch in (0..args.terminals).collect::<Vec<_>>().chunks(200) {
        let logins = batch.iter().map(|&i| terminal(tcp_addr, i));
        for (i, stream) in batch
            .iter()
            .zip(futures_util::future::join_all(logins).await)
        {
            let stream = stream?;
            if *i == 0 {
                // The sloth: logged in, never reads again.
                readers.push(tokio::spawn(async move {
                    let _keep = stream;
                    std::future::pending::<()>().await;
                }));
                continue;
            }
            readers.push(tokio::spawn(read_terminal(
                stream,
                origin,
                Arc::clone(&tcp_samples),
            )));
        }
    }
    for batch in (0..args.datagram).collect::<Vec<_>>().chunks(100) {
        let logins = batch.iter().map(|&i| datagram(udp_addr, i));
        for link in futures_util::future::join_all(logins).await {
            readers.push(tokio::spawn(read_datagram(
                link?,
                origin,
                Arc::clone(&udp_samples),
            )));
        }
    }
    println!(
        "{} terminals ({} reading) and {} datagram users logged in in {:.1} s",
        args.terminals,
        args.terminals.saturating_sub(1),
        args.datagram,
        login_started.elapsed().as_secs_f64()
    );

    // The web user sends, paced.
    let mut request = format!("ws://{http_addr}/ws").into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let (mut web, _) = tokio_tungstenite::connect_async(request).await?;
    let hello = ClientMsg::Hello {
        nick: "sender".into(),
        resume: Default::default(),
        auth: None,
    };
    web.send(Message::text(hello.to_json())).await?;
    let gap = Duration::from_secs_f64(1.0 / args.rate);
    let (mut sink, mut stream) = web.split();
    tokio::spawn(async move { while stream.next().await.is_some() {} });
    // A first message, not measured, that everyone must have before the run:
    // the arrivals of everyone (each announced to all) are over by then.
    let warm_up = ClientMsg::Send {
        id: "warm-up".into(),
        room: "lobby".into(),
        text: "t=0".into(),
        kind: MessageKind::Text,
        reply_to: None,
    };
    sink.send(Message::text(warm_up.to_json())).await?;
    let everyone = args.terminals.saturating_sub(1) + args.datagram;
    loop {
        let (tcp, udp) = (
            tcp_samples.lock().await.len(),
            udp_samples.lock().await.len(),
        );
        if tcp + udp >= everyone {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            print_metrics();
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the warm-up message reached {tcp} terminals and {udp} datagram users of {everyone}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tcp_samples.lock().await.clear();
    udp_samples.lock().await.clear();
    println!(
        "warm-up delivered after {:.1} s",
        login_started.elapsed().as_secs_f64()
    );
    let sending = Instant::now();
    for n in 0..args.messages {
        let sent_at = origin.elapsed().as_micros();
        let msg = ClientMsg::Send {
            id: format!("m{n}"),
            room: "lobby".into(),
            text: format!("t={sent_at}"),
            kind: MessageKind::Text,
            reply_to: None,
        };
        sink.send(Message::text(msg.to_json())).await?;
        tokio::time::sleep(gap).await;
    }

    let expected_tcp = args.messages * args.terminals.saturating_sub(1);
    let expected_udp = args.messages * args.datagram;
    loop {
        let (t, u) = (
            tcp_samples.lock().await.len(),
            udp_samples.lock().await.len(),
        );
        if (t >= expected_tcp && u >= expected_udp) || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = sending.elapsed().as_secs_f64();
    report("terminal (TCP)", &tcp_samples, expected_tcp, elapsed).await;
    report("datagram (UDP)", &udp_samples, expected_udp, elapsed).await;

    print_metrics();

    for reader in readers {
        reader.abort();
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
    Ok(())
}

async fn terminal(addr: std::net::SocketAddr, i: usize) -> anyhow::Result<BufReader<TcpStream>> {
    let mut stream = BufReader::new(TcpStream::connect(addr).await?);
    stream
        .get_mut()
        .write_all(format!("t{i}\r\n").as_bytes())
        .await?;
    let mut line = String::new();
    loop {
        line.clear();
        anyhow::ensure!(
            stream.read_line(&mut line).await? > 0,
            "terminal t{i} was closed"
        );
        if line.contains("online") {
            return Ok(stream);
        }
    }
}

async fn read_terminal(mut stream: BufReader<TcpStream>, origin: Instant, samples: Samples) {
    let mut line = String::new();
    while matches!(stream.read_line(&mut line).await, Ok(n) if n > 0) {
        if let Some(sent) = line
            .split("<sender> t=")
            .nth(1)
            .and_then(|t| t.trim().parse::<u64>().ok())
        {
            note(origin, sent, &samples).await;
        }
        line.clear();
    }
}

/// A datagram user in the lobby: its session open, its hello answered and
/// the lobby joined (so that every message of the run reaches it live).
async fn datagram(addr: std::net::SocketAddr, i: usize) -> anyhow::Result<cli::link::Link> {
    let mut link = cli::udp::connect_to(addr)
        .await
        .context("datagram handshake")?;
    let hello = ClientMsg::Hello {
        nick: format!("u{i}"),
        resume: Default::default(),
        auth: None,
    };
    link.outgoing.send(hello.to_json()).await?;
    loop {
        match link.incoming.recv().await {
            Some(cli::link::Incoming::Message(text)) => {
                if let Ok(ServerMsg::Joined { .. }) = ServerMsg::from_json(&text) {
                    return Ok(link);
                }
            }
            Some(cli::link::Incoming::Notice(_)) => {}
            other => anyhow::bail!("datagram user u{i} was not welcomed: {other:?}"),
        }
    }
}

async fn read_datagram(mut link: cli::link::Link, origin: Instant, samples: Samples) {
    loop {
        match link.incoming.recv().await {
            Some(cli::link::Incoming::Message(text)) => {
                if let Ok(ServerMsg::Message(m)) = ServerMsg::from_json(&text)
                    && let Some(sent) = m
                        .text
                        .strip_prefix("t=")
                        .and_then(|t| t.parse::<u64>().ok())
                {
                    note(origin, sent, &samples).await;
                }
            }
            Some(cli::link::Incoming::Closed(why)) => {
                eprintln!("a datagram session ended: {why}");
                return;
            }
            Some(cli::link::Incoming::Notice(_)) => {}
            None => return,
        }
    }
}

async fn note(origin: Instant, sent_micros: u64, samples: &Samples) {
    let now = u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX);
    samples.lock().await.push(now.saturating_sub(sent_micros));
}

async fn report(door: &str, samples: &Samples, expected: usize, elapsed: f64) {
    let mut latencies = samples.lock().await.clone();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    println!(
        "{door}: {} of {expected} deliveries ({} lost), {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        expected.saturating_sub(latencies.len()),
        latencies.len() as f64 / elapsed,
        at(0.50),
        at(0.99),
        latencies.last().map_or(0.0, |&us| us as f64 / 1000.0),
    );
}

/// What the server counted: slow disconnects, and for the datagram door the
/// drops before a session and the retransmissions.
fn print_metrics() {
    for line in backend::metrics::render().lines() {
        let wanted = line.starts_with("hubbub_udp_") || line.starts_with("hubbub_slow_disconnects");
        if wanted && !line.ends_with(" 0") {
            println!("  {line}");
        }
    }
}
