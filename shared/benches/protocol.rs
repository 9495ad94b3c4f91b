//! Encoding and decoding the two messages every chat message becomes: the
//! sender's `send` and the `message` each member receives, with a 100-byte
//! text as in the fan-out benchmark.
//!
//! ```sh
//! cargo bench -p shared --bench protocol
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::{ChatMessage, ClientMsg, MessageKind, ServerMsg};

fn text() -> String {
    "x".repeat(100)
}

fn send() -> ClientMsg {
    ClientMsg::Send {
        id: "c12345".into(),
        room: "lobby".into(),
        text: text(),
        kind: MessageKind::Text,
        reply_to: None,
    }
}

fn message() -> ServerMsg {
    ServerMsg::Message(ChatMessage {
        room: "lobby".into(),
        seq: 123_456,
        ts: 1_764_000_000_000,
        nick: "alice".into(),
        text: text(),
        kind: MessageKind::Text,
        attachment: None,
        target: None,
        deleted: false,
        quote: None,
        edited: None,
        reactions: Vec::new(),
        rev: 0,
    })
}

fn protocol(c: &mut Criterion) {
    let send = send();
    let send_json = send.to_json();
    let message = message();
    let message_json = message.to_json();
    c.bench_function("encode ClientMsg::Send", |b| {
        b.iter(|| black_box(&send).to_json());
    });
    c.bench_function("decode ClientMsg::Send", |b| {
        b.iter(|| ClientMsg::from_json(black_box(&send_json)));
    });
    c.bench_function("encode ServerMsg::Message", |b| {
        b.iter(|| black_box(&message).to_json());
    });
    c.bench_function("decode ServerMsg::Message", |b| {
        b.iter(|| ServerMsg::from_json(black_box(&message_json)));
    });
    c.bench_function("render ServerMsg::Message as a plain line", |b| {
        b.iter(|| shared::plain::render(black_box(&message)));
    });
}

criterion_group!(benches, protocol);
criterion_main!(benches);
