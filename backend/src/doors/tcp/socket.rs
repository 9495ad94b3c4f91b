//! Writing to a TCP client and closing it, for the doors that speak lines
//! over TCP (the terminal's and IRC's); turning a client away over a
//! connection cap, for those and the HTTP door.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use std::net::SocketAddr;

use crate::doors::driver::End;
use crate::guard::CapRefusal;
use crate::outbox::CloseReason;

/// Writes under the write deadline; how the connection ends if that failed.
pub(crate) async fn write(
    stream: &mut TcpStream,
    out: &[u8],
    deadline: Duration,
) -> Result<(), End> {
    if out.is_empty() {
        return Ok(());
    }
    match timeout(deadline, stream.write_all(out)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Lost("connection lost")),
        Err(_elapsed) => Err(End::Close(CloseReason::WriteTimeout)),
    }
}

/// Turns away a client over a connection cap with `message` (the door's
/// own words for `refusal`), counts it, and closes.
pub(crate) async fn refuse(
    mut stream: TcpStream,
    peer: SocketAddr,
    door: &'static str,
    refusal: CapRefusal,
    message: String,
) {
    let reason = refusal.reason();
    ::metrics::counter!(crate::metrics::REJECTED_CONNECTIONS, "reason" => reason).increment(1);
    tracing::info!(door, %peer, reason, "connection refused");
    let _ = timeout(Duration::from_secs(2), async {
        stream.write_all(message.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Says goodbye with `line`, closes the writing side, and reads what the
/// client still sends for a moment, so that unread input does not turn the
/// close into a reset that loses the goodbye.
pub(crate) async fn close_with(
    stream: &mut TcpStream,
    line: &str,
    deadline: Duration,
    close_grace: Duration,
) {
    if write(stream, line.as_bytes(), deadline).await.is_err() {
        return;
    }
    let _ = timeout(deadline, stream.shutdown()).await;
    let mut sink = [0u8; 1024];
    let _ = timeout(close_grace, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
