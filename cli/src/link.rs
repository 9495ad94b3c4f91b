//! A connection to a Hubbub server, whatever carries it: messages go out
//! and come in as `hubbub.v1` JSON text through channels, and a background
//! task owns the socket.

use tokio::sync::mpsc;

/// What comes from the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// One `hubbub.v1` message from the server.
    Message(String),
    /// Something the person should know that the server did not say (a
    /// message too long to send, say).
    Notice(String),
    /// The connection ended, and why. Nothing follows.
    Closed(String),
}

/// Both ends of a connection's channels, as the client holds them. Dropping
/// `outgoing` ends the connection gracefully: what was queued is still sent.
#[derive(Debug)]
pub struct Link {
    pub outgoing: mpsc::Sender<String>,
    pub incoming: mpsc::Receiver<Incoming>,
}

/// Messages queued for the connection task before `send` waits.
pub const QUEUE: usize = 64;

/// The task's ends of a new link's channels.
pub(crate) struct TaskEnds {
    pub outgoing: mpsc::Receiver<String>,
    pub incoming: mpsc::Sender<Incoming>,
}

pub(crate) fn channels() -> (Link, TaskEnds) {
    let (out_tx, out_rx) = mpsc::channel(QUEUE);
    let (in_tx, in_rx) = mpsc::channel(QUEUE);
    (
        Link {
            outgoing: out_tx,
            incoming: in_rx,
        },
        TaskEnds {
            outgoing: out_rx,
            incoming: in_tx,
        },
    )
}
