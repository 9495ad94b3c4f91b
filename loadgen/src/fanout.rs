//! Fan-out: clients in rooms, some of them senders at a paced total rate
//! (open loop: each message leaves when it is due, whether or not the
//! earlier ones have arrived, and carries the time it was due), every member
//! timing each message it receives. The `fanout`, `sweep`, `slow-reader`,
//! `churn` and `rooms` scenarios are all this run with different plans.

use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use shared::DEFAULT_ROOM;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, People, Wire, Ws};
use crate::payload::{self, now_us};
use crate::procfs::{CpuMeter, Proc};
use crate::server::{Server, ServerEnd, ServerSpec};
use crate::tally::{self, Percentiles, Tally};

/// The generator's read buffer for each busy connection.
const READ_BUFFER: usize = 64 * 1024;
/// Connections opened at once during setup.
const SETUP_CONCURRENCY: usize = 64;
/// How long the measured messages may take to arrive after the last was sent.
const DRAIN: Duration = Duration::from_secs(5);

/// Who is where.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Layout {
    pub rooms: usize,
    pub per_room: usize,
    /// The first members of each room send; everyone receives.
    pub senders_per_room: usize,
}

impl Layout {
    pub fn clients(&self) -> usize {
        self.rooms * self.per_room
    }

    pub fn senders(&self) -> usize {
        self.rooms * self.senders_per_room
    }

    /// One room is the lobby, the only room plain-text clients know.
    fn room(&self, room: usize) -> String {
        if self.rooms == 1 {
            DEFAULT_ROOM.to_owned()
        } else {
            format!("room{room}")
        }
    }
}

/// Clients that connect, enter, stay a little and leave, while the
/// measured run goes on.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Churn {
    /// New connections a second.
    pub rate: f64,
    /// How long each stays, reading what it is sent.
    pub hold_ms: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub layout: Layout,
    /// Messages a second, from all senders together.
    pub rate: f64,
    pub seconds: f64,
    pub wire: Wire,
    /// One more client in the first room that never reads after it is in.
    pub slow_reader: bool,
    pub churn: Option<Churn>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub wire: Wire,
    pub layout: Layout,
    /// Messages a second offered, and deliveries a second that implies.
    pub rate: f64,
    pub offered_deliveries_per_sec: f64,
    pub seconds: f64,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    /// Deliveries over the time from the first send to the last delivery.
    pub deliveries_per_sec: f64,
    pub latency: Percentiles,
    pub disconnects: u64,
    /// Acks the senders got (typed wires only) and refusals anyone got.
    pub acks: u64,
    pub refusals: u64,
    /// Server CPU time from the first send to the last delivery (or the
    /// end of the drain), over the deliveries.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// Busy share of one core while the senders sent.
    pub server_cpu_percent: Option<f64>,
    pub generator_cpu_percent: f64,
    /// How late the generator sent its most delayed message.
    pub generator_max_send_lag_ms: f64,
    pub setup_seconds: f64,
    pub server_rss_kib_start: Option<u64>,
    pub server_rss_kib_max: Option<u64>,
    /// Server RSS each second of the measured window (slow-reader runs).
    pub server_rss_kib_series: Vec<u64>,
    pub churn: Option<ChurnReport>,
    pub server: ServerEnd,
}

impl Report {
    /// Zero loss, zero disconnects, no refusals: the run counts.
    pub fn clean(&self) -> bool {
        self.lost == 0 && self.disconnects == 0 && self.refusals == 0 && self.sent > 0
    }

    pub fn line(&self) -> String {
        let cpu = self
            .server_cpu_us_per_delivery
            .map_or("n/a".to_owned(), |us| format!("{us:.2} µs"));
        format!(
            "{} clients in {} room(s), {} senders, {:.0} msg/s ({:.0} deliveries/s offered) for {:.0} s: \
             {:.0} deliveries/s, lost {} of {}, disconnects {}, refusals {}, latency {}, \
             server CPU per delivery {cpu} ({:.0}% of a core), generator {:.0}% of a core",
            self.layout.clients(),
            self.layout.rooms,
            self.layout.senders(),
            self.rate,
            self.offered_deliveries_per_sec,
            self.seconds,
            self.deliveries_per_sec,
            self.lost,
            self.expected,
            self.disconnects,
            self.refusals,
            self.latency,
            self.server_cpu_percent.unwrap_or(f64::NAN),
            self.generator_cpu_percent,
        )
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChurnReport {
    pub rate: f64,
    pub hold_ms: u64,
    pub connected: u64,
    pub failed: u64,
    /// Not started because too many were still open (the server stalls).
    pub skipped: u64,
    /// From the TCP connect to being in the room.
    pub enter: Percentiles,
    pub first_error: Option<String>,
}

/// Runs one fan-out measurement against a server started (or attached) for it.
pub async fn run(spec: &ServerSpec, plan: Plan, deadline: Instant) -> anyhow::Result<Report> {
    let layout = plan.layout;
    if layout.rooms == 0 || layout.per_room == 0 || layout.senders_per_room == 0 {
        bail!("a fan-out needs at least one room, one member and one sender");
    }
    if layout.senders_per_room > layout.per_room {
        bail!("senders are members: at most {} per room", layout.per_room);
    }
    if plan.wire == Wire::Plain && layout.rooms > 1 {
        bail!("plain-text clients are all in the lobby: one room only");
    }
    if !(plan.rate > 0.0 && plan.seconds > 0.0) {
        bail!("--rate and --seconds must be positive");
    }
    let churn_slots = plan.churn.map_or(0, |churn| {
        (churn.rate * churn.hold_ms as f64 / 1000.0 * 4.0) as usize + 100
    });
    let connections = u32::try_from(layout.clients() + churn_slots + 100)?;
    let server = Server::start(spec, connections).await?;
    let result = measure(&server, plan, spec.accounts, deadline).await;
    let end = server.stop().await?;
    let mut report = result?;
    report.server = end;
    Ok(report)
}

async fn measure(
    server: &Server,
    plan: Plan,
    signed_in: bool,
    deadline: Instant,
) -> anyhow::Result<Report> {
    let layout = plan.layout;
    let wire = plan.wire;
    // One account per member, registered before the clock of the setup
    // starts (each costs the server a password hash).
    let people = if signed_in {
        People::register(server.addr, layout.clients()).await?
    } else {
        People::Guests
    };
    let setup_started = Instant::now();
    let clients = connect_all(server, &plan, &people).await?;

    let senders = layout.senders();
    let rate_per_sender = plan.rate / senders as f64;
    let per_sender = (rate_per_sender * plan.seconds).ceil().max(1.0) as u64;
    if per_sender.saturating_mul(senders as u64) > 50_000_000 {
        bail!("more than 50 million messages: lower --rate or --seconds");
    }
    let tally = Rc::new(Tally::new(
        senders,
        per_sender,
        u32::try_from(layout.per_room)?,
    ));

    let mut readers = Vec::with_capacity(clients.len());
    let mut sinks = Vec::with_capacity(senders);
    for (index, ws) in clients.into_iter().enumerate() {
        let (room, member) = (index / layout.per_room, index % layout.per_room);
        if member < layout.senders_per_room {
            let (sink, stream) = ws.split();
            sinks.push((layout.room(room), sink));
            readers.push(tokio::task::spawn_local(read_split(
                stream,
                Rc::clone(&tally),
                wire,
            )));
        } else {
            readers.push(tokio::task::spawn_local(read_whole(
                ws,
                Rc::clone(&tally),
                wire,
            )));
        }
    }
    let slow = if plan.slow_reader {
        let mut ws = client::open(server.addr, Wire::Typed, READ_BUFFER).await?;
        client::enter(&mut ws, Wire::Typed, ("slow".into(), None), &layout.room(0)).await?;
        Some(ws)
    } else {
        None
    };

    // Every member must have seen every join before the clock starts: the
    // first sender of each room sends a warm-up message, which each member
    // receives after all the announcements before it.
    for (index, (name, sink)) in sinks.iter_mut().enumerate() {
        if index % layout.senders_per_room == 0 {
            let frame = client::send_frame(wire, "warm", name, payload::warm_up_text());
            sink.send(frame).await.context("cannot send the warm-up")?;
        }
    }
    let everyone = layout.clients() as u64;
    let warm_deadline = Instant::now() + Duration::from_secs(60);
    while tally.warmed.get() < everyone {
        if Instant::now() > warm_deadline.min(deadline) || tally.disconnects.get() > 0 {
            bail!(
                "setup did not finish: {} of {everyone} clients got the warm-up, {} disconnected",
                tally.warmed.get(),
                tally.disconnects.get()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    let server_cpu = server.proc().map(CpuMeter::start).transpose()?;
    let my_cpu = CpuMeter::start(Proc::Me)?;
    let rss_start = server.proc().map(Proc::rss_kib).transpose()?;
    let start_us = now_us();
    let stop_sending_us = start_us
        + u64::try_from(
            deadline
                .saturating_duration_since(Instant::now())
                .as_micros(),
        )?
        .saturating_sub(DRAIN.as_micros() as u64 + 3_000_000);
    let mut sending = Vec::with_capacity(senders);
    for (sender, (room, sink)) in sinks.into_iter().enumerate() {
        let schedule = Schedule {
            sender,
            rate: rate_per_sender,
            count: per_sender,
            // Senders take turns rather than all sending at once.
            first_us: start_us + (sender as f64 / plan.rate * 1e6) as u64,
            stop_us: stop_sending_us,
        };
        sending.push(tokio::task::spawn_local(send(
            sink,
            room,
            wire,
            schedule,
            Rc::clone(&tally),
        )));
    }
    let rss = server
        .proc()
        .map(|proc| tokio::task::spawn_local(sample_rss(proc)));
    let churn = plan
        .churn
        .map(|churn| tokio::task::spawn_local(run_churn(server.addr, churn, layout.room(0))));

    for sender in sending {
        sender.await?;
    }
    // Busy shares over the sending only: a run that lost messages waits out
    // the drain, idle.
    let server_busy = server_cpu.map(|meter| meter.read()).transpose()?;
    let my_busy = my_cpu.read()?;
    let drain_until = (Instant::now() + DRAIN).min(deadline);
    while tally.delivered.get() < tally.expected() && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let server_cpu = server_cpu.map(|meter| meter.read()).transpose()?;
    tally.stopping.set(true);

    let churn = match churn {
        Some(task) => {
            task.abort();
            let _ = task.await;
            Some(churn_report())
        }
        None => None,
    };
    let churn = churn.map(|mut report| {
        if let Some(plan) = plan.churn {
            report.rate = plan.rate;
            report.hold_ms = plan.hold_ms;
        }
        report
    });
    let series = match rss {
        Some(task) => {
            task.abort();
            let _ = task.await;
            SERIES.with_borrow_mut(std::mem::take)
        }
        None => Vec::new(),
    };
    drop(slow);
    for reader in &readers {
        reader.abort();
    }

    let loss = tally.loss();
    let delivered = tally.delivered.get();
    let window_us = tally.last_delivery_us.get().saturating_sub(start_us).max(1);
    let delivered_f = delivered as f64;
    Ok(Report {
        wire,
        layout,
        rate: plan.rate,
        offered_deliveries_per_sec: plan.rate * layout.per_room as f64,
        seconds: plan.seconds,
        sent: loss.sent,
        expected: loss.expected,
        delivered,
        lost: loss.lost,
        duplicates: tally.duplicates.get(),
        deliveries_per_sec: delivered_f / (window_us as f64 / 1e6),
        latency: Percentiles::of(&tally.latency.borrow()),
        disconnects: tally.disconnects.get(),
        acks: tally.acks.get(),
        refusals: tally.refusals.get(),
        server_cpu_us_per_delivery: server_cpu
            .filter(|_| delivered > 0)
            .map(|(cpu, _)| cpu.as_secs_f64() * 1e6 / delivered_f),
        server_cpu_percent: server_busy.map(|(cpu, wall)| percent(cpu, wall)),
        generator_cpu_percent: percent(my_busy.0, my_busy.1),
        generator_max_send_lag_ms: tally.max_send_lag_us.get() as f64 / 1000.0,
        setup_seconds,
        server_rss_kib_start: rss_start,
        server_rss_kib_max: series.iter().copied().chain(rss_start).max(),
        server_rss_kib_series: series,
        churn,
        server: ServerEnd::default(),
    })
}

fn percent(cpu: Duration, wall: Duration) -> f64 {
    cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9) * 100.0
}

/// Connects every client and puts it in its room, a few at a time.
async fn connect_all(server: &Server, plan: &Plan, people: &People) -> anyhow::Result<Vec<Ws>> {
    let layout = plan.layout;
    let addr = server.addr;
    let wire = plan.wire;
    let mut clients: Vec<(usize, Ws)> = futures_util::stream::iter(0..layout.clients())
        .map(|index| async move {
            let mut ws = client::open(addr, wire, READ_BUFFER).await?;
            let room = layout.room(index / layout.per_room);
            client::enter(&mut ws, wire, people.who(index, format!("u{index}")), &room).await?;
            Ok::<_, anyhow::Error>((index, ws))
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    clients.sort_by_key(|(index, _)| *index);
    Ok(clients.into_iter().map(|(_, ws)| ws).collect())
}

async fn read_whole(mut ws: Ws, tally: Rc<Tally>, wire: Wire) {
    read(&mut ws, &tally, wire).await;
}

async fn read_split(mut stream: SplitStream<Ws>, tally: Rc<Tally>, wire: Wire) {
    read(&mut stream, &tally, wire).await;
}

async fn read<S>(stream: &mut S, tally: &Tally, wire: Wire)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => tally.frame(wire, text.as_str()),
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                if !tally.stopping.get() {
                    tally.disconnects.set(tally.disconnects.get() + 1);
                }
                return;
            }
            Some(Ok(_)) => {}
        }
    }
}

/// When one sender's messages are due: `count` of them at `rate` a second
/// from `first_us`, but none after `stop_us`.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    sender: usize,
    rate: f64,
    count: u64,
    first_us: u64,
    stop_us: u64,
}

impl Schedule {
    fn due_us(&self, seq: u64) -> u64 {
        self.first_us + (seq as f64 / self.rate * 1e6) as u64
    }
}

async fn send(
    mut sink: SplitSink<Ws, Message>,
    room: String,
    wire: Wire,
    schedule: Schedule,
    tally: Rc<Tally>,
) {
    // Tokio's timer has a millisecond grain: each tick sends every message
    // due by then, each stamped with the time it was due.
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut seq = 0;
    while seq < schedule.count {
        tick.tick().await;
        let now = now_us();
        if now >= schedule.stop_us {
            break;
        }
        let mut lag = 0;
        while seq < schedule.count && schedule.due_us(seq) <= now {
            let due = schedule.due_us(seq);
            let id = tally.id(schedule.sender, seq);
            let text = payload::text(id, due);
            let frame = client::send_frame(wire, &id.to_string(), &room, text);
            if sink.feed(frame).await.is_err() {
                return;
            }
            seq += 1;
            lag = now_us().saturating_sub(due);
        }
        if sink.flush().await.is_err() {
            return;
        }
        tally.note_sent(schedule.sender, seq, lag);
    }
}

thread_local! {
    /// The server's RSS, once a second, while a run measures.
    static SERIES: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

async fn sample_rss(proc: Proc) {
    SERIES.with_borrow_mut(Vec::clear);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Ok(kib) = proc.rss_kib() {
            SERIES.with_borrow_mut(|series| series.push(kib));
        }
    }
}

thread_local! {
    static CHURN: std::cell::RefCell<ChurnState> = std::cell::RefCell::new(ChurnState::default());
}

#[derive(Default)]
struct ChurnState {
    report: ChurnReport,
    open: usize,
    enter: Option<hdrhistogram::Histogram<u64>>,
}

/// Starts `churn.rate` clients a second, each entering `room`, reading for
/// `hold_ms` and closing. Runs until aborted; [`churn_report`] says how it
/// went.
async fn run_churn(addr: std::net::SocketAddr, churn: Churn, room: String) {
    CHURN.with_borrow_mut(|state| {
        *state = ChurnState {
            enter: Some(tally::histogram()),
            ..ChurnState::default()
        };
    });
    let max_open = (churn.rate * churn.hold_ms as f64 / 1000.0 * 4.0) as usize + 50;
    let every = Duration::from_secs_f64(1.0 / churn.rate.max(0.001));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for n in 0u64.. {
        tick.tick().await;
        let over = CHURN.with_borrow_mut(|state| {
            if state.open >= max_open {
                state.report.skipped += 1;
                true
            } else {
                state.open += 1;
                false
            }
        });
        if over {
            continue;
        }
        let room = room.clone();
        // Each ends by itself within its hold (or its setup timeout).
        tokio::task::spawn_local(async move {
            let outcome = churn_once(addr, &room, n, churn.hold_ms).await;
            CHURN.with_borrow_mut(|state| {
                state.open -= 1;
                match outcome {
                    Ok(enter_us) => {
                        state.report.connected += 1;
                        if let Some(histogram) = &mut state.enter {
                            let _ = histogram.record(enter_us.max(1));
                        }
                    }
                    Err(error) => {
                        state.report.failed += 1;
                        state.report.first_error.get_or_insert(format!("{error:#}"));
                    }
                }
            });
        });
    }
}

async fn churn_once(
    addr: std::net::SocketAddr,
    room: &str,
    n: u64,
    hold_ms: u64,
) -> anyhow::Result<u64> {
    let started = now_us();
    let mut ws = client::open(addr, Wire::Typed, 4096).await?;
    client::enter(&mut ws, Wire::Typed, (format!("churn{n}"), None), room).await?;
    let entered = now_us() - started;
    let hold = tokio::time::sleep(Duration::from_millis(hold_ms));
    tokio::pin!(hold);
    loop {
        tokio::select! {
            () = &mut hold => break,
            frame = ws.next() => match frame {
                Some(Ok(_)) => {}
                _ => bail!("the server closed a churn connection"),
            },
        }
    }
    ws.close(None).await?;
    Ok(entered)
}

/// The churn report gathered so far.
pub fn churn_report() -> ChurnReport {
    CHURN.with_borrow(|state| {
        let mut report = state.report.clone();
        if let Some(histogram) = &state.enter {
            report.enter = Percentiles::of(histogram);
        }
        report
    })
}
