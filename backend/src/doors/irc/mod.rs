//! The IRC door: weechat, irssi and every IRC client in the same rooms as
//! the web, terminal and datagram users. Rooms are channels (`#lobby`).
//! This module accepts connections under the connection caps and runs each
//! on the connection driver with an IRC wire ([`connection`]): what a
//! line is and how long it may be is [`message`], what it asks for
//! [`commands`], how events look [`render`], the welcome [`registration`]
//! and the IRCv3 capabilities [`caps`].

mod caps;
mod commands;
mod connection;
pub(crate) mod message;
mod registration;
mod render;

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

/// What the IRC door's accept loops share.
#[derive(Clone)]
pub struct Door {
    pub hub: Hub,
    pub guards: Arc<Guards>,
    pub heartbeat: Arc<Heartbeat>,
    pub store: Arc<dyn Store>,
    pub accounts: Arc<Accounts>,
    /// The server's public HTTP root, for the links to shared files.
    pub public_url: Arc<str>,
    pub stop: CancellationToken,
    pub tracker: TaskTracker,
}

impl Door {
    /// Accepts on every listener until `stop` is cancelled.
    pub async fn serve(self, listeners: Vec<TcpListener>) {
        let stop = self.stop.clone();
        crate::doors::accept_all(listeners, stop, "irc", move |stream, peer| {
            self.admit(stream, peer);
        })
        .await;
    }

    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        match self.guards.caps.try_acquire(peer.ip()) {
            Ok(permit) => {
                let peer = connection::Peer { addr: peer, permit };
                let wire = connection::IrcWire::new(
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

/// Tells a client over a cap why it is turned away, as IRC's `ERROR`.
async fn refuse(stream: TcpStream, peer: SocketAddr, refusal: CapRefusal) {
    let message = match refusal {
        CapRefusal::PerIp(limit) => {
            format!("ERROR :Too many connections from your address: at most {limit}\r\n")
        }
        CapRefusal::Total(limit) => {
            format!("ERROR :The server is full: at most {limit} connections; try again later\r\n")
        }
    };
    crate::doors::tcp::socket::refuse(stream, peer, "irc", refusal, message).await;
}
