//! Prometheus metrics, rendered at `GET /metrics`.
//!
//! The names, in one place so that dashboards have one list to read:
//!
//! | name | type | labels |
//! |---|---|---|
//! | `hubbub_connections` | gauge: open now | `door` |
//! | `hubbub_connections_total` | counter: ever opened | `door` |
//! | `hubbub_messages_in_total` | counter: chat messages accepted by the hub | |
//! | `hubbub_frames_in_total` | counter: frames received from clients | `door` |
//! | `hubbub_events_out_total` | counter: events written to clients | `door` |
//! | `hubbub_deliveries_total` | counter: chat messages handed to connections by the hub | |
//! | `hubbub_fanout_seconds` | histogram: from the hub accepting an event to its write to one client | |
//! | `hubbub_slow_disconnects_total` | counter: clients closed for falling behind | |
//! | `hubbub_rejected_handshakes_total` | counter | `reason` |
//! | `hubbub_rejected_connections_total` | counter | `reason` |
//! | `hubbub_rate_limited_total` | counter: messages refused by the rate limit | |
//! | `hubbub_udp_sessions` | gauge: datagram sessions open now | |
//! | `hubbub_udp_dropped_total` | counter: datagrams dropped before reaching a session | `reason` |
//! | `hubbub_udp_retransmissions_total` | counter: datagrams the server sent again | |
//! | `hubbub_store_commit_seconds` | histogram: one group commit of the message store, fsync included | |
//! | `hubbub_store_commit_messages` | histogram: messages in one group commit | |
//! | `hubbub_uploads_total` | counter: files uploaded and announced | |
//! | `hubbub_upload_bytes_total` | counter: bytes of those files | |
//! | `hubbub_upload_refusals_total` | counter: uploads refused | `reason` |
//!
//! The recorder is process-wide (the `metrics` facade has one), so several
//! servers in one process, as in the tests, share their counters.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const CONNECTIONS: &str = "hubbub_connections";
pub const CONNECTIONS_TOTAL: &str = "hubbub_connections_total";
pub const MESSAGES_IN: &str = "hubbub_messages_in_total";
pub const FRAMES_IN: &str = "hubbub_frames_in_total";
pub const EVENTS_OUT: &str = "hubbub_events_out_total";
pub const DELIVERIES: &str = "hubbub_deliveries_total";
pub const FANOUT_SECONDS: &str = "hubbub_fanout_seconds";
pub const SLOW_DISCONNECTS: &str = "hubbub_slow_disconnects_total";
pub const REJECTED_HANDSHAKES: &str = "hubbub_rejected_handshakes_total";
pub const REJECTED_CONNECTIONS: &str = "hubbub_rejected_connections_total";
pub const RATE_LIMITED: &str = "hubbub_rate_limited_total";
pub const UDP_SESSIONS: &str = "hubbub_udp_sessions";
pub const UDP_DROPPED: &str = "hubbub_udp_dropped_total";
pub const UDP_RETRANSMISSIONS: &str = "hubbub_udp_retransmissions_total";
pub const STORE_COMMIT_SECONDS: &str = "hubbub_store_commit_seconds";
pub const STORE_COMMIT_MESSAGES: &str = "hubbub_store_commit_messages";
pub const UPLOADS: &str = "hubbub_uploads_total";
pub const UPLOAD_BYTES: &str = "hubbub_upload_bytes_total";
pub const UPLOAD_REFUSALS: &str = "hubbub_upload_refusals_total";

/// The `reason` label's values of [`UPLOAD_REFUSALS`], the codes of the
/// refusals (`http::error::ApiError`): per-IP rate, over the size limit,
/// quota full, a bad request (nick, room, fields), not a member of the
/// conversation or another origin, a body cut off or malformed, the server
/// busy or stopping, a server fault.
pub const UPLOAD_REFUSAL_REASONS: &[&str] = &[
    "rate_limited",
    "too_large",
    "quota",
    "invalid",
    "forbidden",
    "cut_off",
    "unavailable",
    "internal",
];

/// The `door` label's values.
const DOORS: &[&str] = &["ws", "tcp", "udp"];

/// Why the datagram door drops a datagram before any session sees it.
pub const UDP_DROP_REASONS: &[&str] = &[
    "oversized",
    "malformed",
    "unexpected",
    "bad_cookie",
    "unknown_session",
    "session_busy",
];

/// Messages per group commit: 1 to the writer's largest group.
const COMMIT_SIZE_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

/// Latency buckets, in seconds: 50 µs to 5 s.
const FANOUT_BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
    5.0,
];

/// Installs the process-wide recorder on first use and returns the handle
/// that renders it.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(FANOUT_SECONDS.to_owned()),
                &FANOUT_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(STORE_COMMIT_SECONDS.to_owned()),
                    &FANOUT_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(STORE_COMMIT_MESSAGES.to_owned()),
                    &COMMIT_SIZE_BUCKETS,
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        describe();
        register_at_zero();
        handle
    })
}

/// Creates every series at zero, so that a scrape shows them all from the
/// start instead of each appearing at its first event.
fn register_at_zero() {
    for &door in DOORS {
        metrics::gauge!(CONNECTIONS, "door" => door).set(0.0);
        metrics::counter!(CONNECTIONS_TOTAL, "door" => door).absolute(0);
        metrics::counter!(FRAMES_IN, "door" => door).absolute(0);
        metrics::counter!(EVENTS_OUT, "door" => door).absolute(0);
    }
    for name in [
        MESSAGES_IN,
        DELIVERIES,
        SLOW_DISCONNECTS,
        RATE_LIMITED,
        UPLOADS,
        UPLOAD_BYTES,
    ] {
        metrics::counter!(name).absolute(0);
    }
    for reason in ["origin", "handshake_rate"] {
        metrics::counter!(REJECTED_HANDSHAKES, "reason" => reason).absolute(0);
    }
    for reason in ["per_ip", "total"] {
        metrics::counter!(REJECTED_CONNECTIONS, "reason" => reason).absolute(0);
    }
    metrics::gauge!(UDP_SESSIONS).set(0.0);
    metrics::counter!(UDP_RETRANSMISSIONS).absolute(0);
    for &reason in UDP_DROP_REASONS {
        metrics::counter!(UDP_DROPPED, "reason" => reason).absolute(0);
    }
    for &reason in UPLOAD_REFUSAL_REASONS {
        metrics::counter!(UPLOAD_REFUSALS, "reason" => reason).absolute(0);
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(CONNECTIONS, "Open connections, by door.");
    describe_counter!(CONNECTIONS_TOTAL, "Connections opened, by door.");
    describe_counter!(MESSAGES_IN, "Chat messages accepted by the hub.");
    describe_counter!(FRAMES_IN, "Frames received from clients, by door.");
    describe_counter!(EVENTS_OUT, "Events written to clients, by door.");
    describe_counter!(
        DELIVERIES,
        "Chat messages handed to connections by the hub."
    );
    describe_histogram!(
        FANOUT_SECONDS,
        Unit::Seconds,
        "Time from the hub accepting an event to its write to one client, for the oldest event of each write."
    );
    describe_counter!(
        SLOW_DISCONNECTS,
        "Clients closed for falling too far behind."
    );
    describe_counter!(
        REJECTED_HANDSHAKES,
        "WebSocket handshakes refused, by reason."
    );
    describe_counter!(
        REJECTED_CONNECTIONS,
        "Connections refused at accept (or UDP sessions at connect), by reason."
    );
    describe_counter!(
        RATE_LIMITED,
        "Messages refused by the per-connection rate limit."
    );
    describe_gauge!(UDP_SESSIONS, "Datagram sessions open now.");
    describe_counter!(
        UDP_DROPPED,
        "Datagrams dropped before reaching a session, by reason."
    );
    describe_counter!(
        UDP_RETRANSMISSIONS,
        "Datagrams the server sent again because they were not acknowledged."
    );
    describe_counter!(UPLOADS, "Files uploaded and announced in a room.");
    describe_counter!(UPLOAD_BYTES, Unit::Bytes, "Bytes of the files uploaded.");
    describe_counter!(UPLOAD_REFUSALS, "Uploads refused, by reason.");
}

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds histogram samples into their buckets every few seconds until `stop`.
/// The recorder keeps every sample recorded between two upkeeps, so without
/// this a server nobody scrapes would hold eight bytes per delivery forever.
pub async fn keep_up(stop: tokio_util::sync::CancellationToken) {
    let handle = handle();
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = every.tick() => handle.run_upkeep(),
        }
    }
}

/// The text exposition of every metric.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}
