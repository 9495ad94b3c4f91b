//! The doors: each one translates its own wire to hub requests and the hub's
//! events back to its wire. No door knows about another.
//!
//! What every door does alike for a connection (the hub session, history
//! from the store, the rate limit, metrics, the end and its goodbye) is the
//! connection driver's ([`driver`]); a door's connection module is its wire.

pub(crate) mod driver;
pub mod irc;
mod meter;
mod recall;
pub mod tcp;
pub mod typed;
pub mod udp;
pub mod ws;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Accepts connections on every listener until `stop` is cancelled, handing
/// each to `admit`, and returns once every accept loop has stopped (not the
/// connections: those are the caller's to wait for). Both the HTTP door and
/// the terminal door accept this way.
pub(crate) async fn accept_all<F>(
    listeners: Vec<TcpListener>,
    stop: CancellationToken,
    door: &'static str,
    admit: F,
) where
    F: Fn(TcpStream, SocketAddr) + Clone + Send + 'static,
{
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let (stop, admit) = (stop.clone(), admit.clone());
            tokio::spawn(async move {
                loop {
                    let accepted = tokio::select! {
                        () = stop.cancelled() => return,
                        accepted = listener.accept() => accepted,
                    };
                    match accepted {
                        Ok((stream, peer)) => admit(stream, peer),
                        Err(error) => {
                            // Out of file descriptors and the like: pause
                            // instead of spinning, as hyper and axum do.
                            tracing::warn!(door, %error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            })
        })
        .collect();
    for accept_loop in loops {
        let _ = accept_loop.await;
    }
}
