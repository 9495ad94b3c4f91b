//! Durable ingest: messages a second acknowledged after commit. Each sender
//! is alone in its own room and sends its next message only once the last
//! one is acknowledged, so the figure is the store's commit rate seen
//! through the WebSocket door, not fan-out.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Wire, Ws};
use crate::payload::{self, now_us};
use crate::procfs::{CpuMeter, Proc};
use crate::server::{Server, ServerEnd, ServerSpec};
use crate::tally::{self, Percentiles};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub senders: usize,
    pub seconds: f64,
    pub acked: u64,
    pub acked_per_sec: f64,
    /// From sending a message to its ack.
    pub ack_latency: Percentiles,
    pub refusals: u64,
    pub disconnects: u64,
    pub server_cpu_us_per_ack: Option<f64>,
    pub generator_cpu_percent: f64,
    pub server: ServerEnd,
}

impl Report {
    pub fn line(&self) -> String {
        format!(
            "{} senders for {:.0} s: {:.0} messages/s acknowledged after commit ({} in all), \
             ack latency {}, refusals {}, disconnects {}",
            self.senders,
            self.seconds,
            self.acked_per_sec,
            self.acked,
            self.ack_latency,
            self.refusals,
            self.disconnects
        )
    }
}

#[derive(Default)]
struct Counts {
    acked: Cell<u64>,
    refusals: Cell<u64>,
    disconnects: Cell<u64>,
    latency: RefCell<Option<hdrhistogram::Histogram<u64>>>,
}

pub async fn run(
    spec: &ServerSpec,
    senders: usize,
    seconds: f64,
    deadline: Instant,
) -> anyhow::Result<Report> {
    if senders == 0 || seconds <= 0.0 {
        bail!("ingest needs at least one sender and a positive --seconds");
    }
    let server = Server::start(spec, u32::try_from(senders + 100)?).await?;
    let result = measure(&server, senders, seconds, deadline).await;
    let end = server.stop().await?;
    let mut report = result?;
    report.server = end;
    Ok(report)
}

async fn measure(
    server: &Server,
    senders: usize,
    seconds: f64,
    deadline: Instant,
) -> anyhow::Result<Report> {
    let addr = server.addr;
    let clients = futures_util::stream::iter(0..senders)
        .map(|index| async move {
            let mut ws = client::open(addr, Wire::Typed, 16 * 1024).await?;
            client::enter(
                &mut ws,
                Wire::Typed,
                (format!("w{index}"), None),
                &format!("ingest{index}"),
            )
            .await?;
            Ok::<_, anyhow::Error>((index, ws))
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    let counts = Rc::new(Counts {
        latency: RefCell::new(Some(tally::histogram())),
        ..Counts::default()
    });
    let seconds = seconds.min(
        deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            - 5.0,
    );
    if seconds <= 0.0 {
        bail!("no time left to measure within --max-seconds");
    }
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let server_cpu = server.proc().map(CpuMeter::start).transpose()?;
    let my_cpu = CpuMeter::start(Proc::Me)?;
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(index, ws)| {
            tokio::task::spawn_local(send_acked(ws, index, until, Rc::clone(&counts)))
        })
        .collect();
    for task in tasks {
        task.await.context("a sender failed")?;
    }
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = server_cpu.map(|meter| meter.read()).transpose()?;
    let (my_cpu, my_wall) = my_cpu.read()?;
    let acked = counts.acked.get();
    let latency = counts
        .latency
        .borrow()
        .as_ref()
        .map(Percentiles::of)
        .unwrap_or_default();
    Ok(Report {
        senders,
        seconds: wall,
        acked,
        acked_per_sec: acked as f64 / wall,
        ack_latency: latency,
        refusals: counts.refusals.get(),
        disconnects: counts.disconnects.get(),
        server_cpu_us_per_ack: server_cpu
            .filter(|_| acked > 0)
            .map(|(cpu, _)| cpu.as_secs_f64() * 1e6 / acked as f64),
        generator_cpu_percent: my_cpu.as_secs_f64() / my_wall.as_secs_f64() * 100.0,
        server: ServerEnd::default(),
    })
}

/// Sends a message, waits for its ack, and again, until `until`.
async fn send_acked(mut ws: Ws, index: usize, until: Instant, counts: Rc<Counts>) {
    let room = format!("ingest{index}");
    let mut seq = 0u64;
    while Instant::now() < until {
        let sent = now_us();
        let frame = client::send_frame(
            Wire::Typed,
            &seq.to_string(),
            &room,
            payload::text(seq, sent),
        );
        if ws.send(frame).await.is_err() {
            counts.disconnects.set(counts.disconnects.get() + 1);
            return;
        }
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let text = text.as_str();
                    if text.starts_with(r#"{"type":"ack""#) {
                        counts.acked.set(counts.acked.get() + 1);
                        if let Some(histogram) = counts.latency.borrow_mut().as_mut() {
                            let _ = histogram.record(now_us().saturating_sub(sent).max(1));
                        }
                        break;
                    }
                    if text.starts_with(r#"{"type":"error""#) {
                        counts.refusals.set(counts.refusals.get() + 1);
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    counts.disconnects.set(counts.disconnects.get() + 1);
                    return;
                }
            }
        }
        seq += 1;
    }
}
