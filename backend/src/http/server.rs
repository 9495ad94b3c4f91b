//! The HTTP door's accept loop, in place of `axum::serve`, which sets no
//! header read timeout (a slowloris client could hold a connection forever)
//! and cannot refuse a connection before it is served.
//!
//! Each accepted connection first takes a place under the connection caps; a
//! connection over a cap is answered with a one-line refusal and closed. Then
//! hyper serves it with a header read timeout, and with upgrades, so that
//! `/ws` can take the socket over. On shutdown the accept loops stop and idle
//! HTTP connections are closed gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::guard::{CapRefusal, ConnectionCaps, Permit};

/// What the accept loops share.
#[derive(Clone)]
pub struct Server {
    pub router: Router,
    pub caps: Arc<ConnectionCaps>,
    pub header_read_timeout: Duration,
    pub stop: CancellationToken,
    pub tracker: TaskTracker,
}

impl Server {
    /// Accepts on every listener until `stop` is cancelled, then returns
    /// (the caller waits for the connections on the tracker).
    pub async fn serve(self, listeners: Vec<TcpListener>) {
        let stop = self.stop.clone();
        crate::doors::accept_all(listeners, stop, "http", move |stream, peer| {
            self.admit(stream, peer);
        })
        .await;
    }

    /// Serves a new connection under the caps, or refuses it.
    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        match self.caps.try_acquire(peer.ip()) {
            Ok(permit) => {
                self.tracker
                    .spawn(self.clone().connection(stream, peer, Arc::new(permit)));
            }
            Err(refusal) => {
                self.tracker.spawn(refuse(stream, peer, refusal));
            }
        }
    }

    async fn connection(self, stream: TcpStream, peer: SocketAddr, permit: Arc<Permit>) {
        // Writes are already whole batches (a WebSocket connection flushes
        // once per batch of events), so Nagle's algorithm could only hold the
        // last piece of a batch back until the client's delayed ACK, up to
        // 40 ms on Linux.
        let _ = stream.set_nodelay(true);
        let router = self.router;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(Arc::clone(&permit));
            router.clone().oneshot(request)
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = self.stop.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = result {
            // Mostly clients that went away or sent no headers in time.
            tracing::debug!(%peer, %error, "HTTP connection ended with an error");
        }
    }
}

/// Tells a client over a cap why it is turned away, in HTTP, since that is
/// what it is about to speak, then closes.
async fn refuse(stream: TcpStream, peer: SocketAddr, refusal: CapRefusal) {
    let (status, message) = match refusal {
        CapRefusal::PerIp(limit) => (
            "429 Too Many Requests",
            format!(
                "too many connections from {}: at most {limit} at a time\n",
                peer.ip()
            ),
        ),
        CapRefusal::Total(limit) => (
            "503 Service Unavailable",
            format!("the server is full: at most {limit} connections; try again later\n"),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nRetry-After: 10\r\n\r\n{message}",
        message.len()
    );
    crate::doors::tcp::socket::refuse(stream, peer, "http", refusal, response).await;
}
