//! The terminal door: plain TCP, one line per message, for `nc` and
//! `telnet`. The line protocol itself (commands, how events look, what is
//! stripped) is [`shared::line`]; this module accepts connections under the
//! connection caps and runs each in its own task ([`connection`]).

mod connection;
pub(crate) mod lines;
pub(crate) mod socket;
pub(crate) mod telnet;
mod term;

pub use connection::TerminalLines;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accounts::Accounts;
use crate::config::Heartbeat;
use crate::doors::driver;
use crate::guard::{CapRefusal, Guards};
use crate::hub::Hub;
use crate::store::Store;

/// The longest line a terminal may send, line ending not counted. Chat texts
/// are at most this long too (`shared::limits::MAX_TEXT_BYTES`).
pub const MAX_LINE_BYTES: usize = 4 * 1024;

/// What the terminal door's accept loops share.
#[derive(Clone)]
pub struct Door {
    pub hub: Hub,
    pub guards: Arc<Guards>,
    pub heartbeat: Arc<Heartbeat>,
    pub store: Arc<dyn Store>,
    /// Sign-in and registration.
    pub accounts: Arc<Accounts>,
    /// The server's public HTTP root, for the links to shared files.
    pub public_url: Arc<str>,
    pub stop: CancellationToken,
    pub tracker: TaskTracker,
}

impl Door {
    /// Accepts on every listener until `stop` is cancelled, then returns
    /// (the caller waits for the connections on the tracker).
    pub async fn serve(self, listeners: Vec<TcpListener>) {
        let stop = self.stop.clone();
        crate::doors::accept_all(listeners, stop, "tcp", move |stream, peer| {
            self.admit(stream, peer);
        })
        .await;
    }

    /// Serves a new terminal under the caps, or refuses it.
    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        match self.guards.caps.try_acquire(peer.ip()) {
            Ok(permit) => {
                let peer = connection::Peer { addr: peer, permit };
                let wire = connection::TermWire::new(
                    stream,
                    peer,
                    Arc::clone(&self.heartbeat),
                    Arc::clone(&self.public_url),
                );
                self.tracker.spawn(driver::serve(Box::new(driver::Start {
                    wire,
                    hub: self.hub.clone(),
                    rate: self.guards.message_rate(),
                    store: Arc::clone(&self.store),
                    accounts: Arc::clone(&self.accounts),
                    presented: None,
                })));
            }
            Err(refusal) => {
                self.tracker.spawn(refuse(stream, peer, refusal));
            }
        }
    }
}

/// Tells a terminal over a cap why it is turned away, then closes.
async fn refuse(stream: TcpStream, peer: SocketAddr, refusal: CapRefusal) {
    let message = match refusal {
        CapRefusal::PerIp(limit) => format!(
            "! too many connections from {}: at most {limit} at a time\r\n",
            peer.ip()
        ),
        CapRefusal::Total(limit) => {
            format!("! the server is full: at most {limit} connections; try again later\r\n")
        }
    };
    socket::refuse(stream, peer, "tcp", refusal, message).await;
}
