//! The WebSocket opening handshake (RFC 6455 §4.2).
//!
//! Done here rather than by axum's `WebSocketUpgrade` so that the connection
//! owns the upgraded socket itself: it reads through tungstenite but writes
//! its own frames straight to the socket ([`super::frames`]), which axum's
//! wrapper does not allow. The checks and the answer are the ones axum makes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::fragments::Fragments;
use crate::http::error::ApiError;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// An open WebSocket: tungstenite over the upgraded HTTP connection, whose
/// reads count each message's fragments.
pub(super) type Socket = WebSocketStream<Fragments<TokioIo<Upgraded>>>;

/// A request to open a WebSocket that passed the protocol's checks.
pub struct Handshake {
    key: HeaderValue,
    /// The subprotocols the client offers, in its order.
    offered: Vec<HeaderValue>,
    on_upgrade: OnUpgrade,
}

/// Why a request cannot become a WebSocket: a `handshake` error.
fn refusal(status: StatusCode, message: &'static str) -> ApiError {
    ApiError::new(status, "handshake", message)
}

impl<S: Send + Sync> FromRequestParts<S> for Handshake {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        if parts.method != Method::GET {
            return Err(refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                "a WebSocket is opened with GET",
            ));
        }
        if !lists_token(headers, header::CONNECTION, "upgrade") {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "Connection header did not include 'upgrade'",
            ));
        }
        if !equals(headers, header::UPGRADE, "websocket") {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "`Upgrade` header did not include 'websocket'",
            ));
        }
        if !equals(headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Version` header did not include '13'",
            ));
        }
        let key = headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| {
                refusal(
                    StatusCode::BAD_REQUEST,
                    "`Sec-WebSocket-Key` header missing",
                )
            })?;
        let offered = headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .filter_map(|name| HeaderValue::from_bytes(name.trim_ascii()).ok())
            .collect();
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| {
            refusal(
                StatusCode::UPGRADE_REQUIRED,
                "WebSocket request couldn't be upgraded since no upgrade state was present",
            )
        })?;
        Ok(Self {
            key,
            offered,
            on_upgrade,
        })
    }
}

impl Handshake {
    /// The first of `ours` that the client offers: the server's preference
    /// decides, among what the client can speak.
    pub(super) fn select(&self, ours: &[&'static str]) -> Option<&'static str> {
        ours.iter()
            .copied()
            .find(|name| self.offered.iter().any(|offered| offered == name))
    }

    /// Answers `101 Switching Protocols`, and once the connection has
    /// switched, hands the socket to `serve` (on the task that awaited the
    /// switch; `serve` spawns the connection's own).
    pub(super) fn accept<F>(
        self,
        protocol: Option<&'static str>,
        config: WebSocketConfig,
        serve: F,
    ) -> Response
    where
        F: FnOnce(Socket) + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            // A failed switch is the client's connection going away: nobody
            // is left to tell.
            if let Ok(upgraded) = on_upgrade.await {
                let socket = WebSocketStream::from_raw_socket(
                    Fragments::new(TokioIo::new(upgraded)),
                    Role::Server,
                    Some(config),
                )
                .await;
                serve(socket);
            }
        });
        let mut response = (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
            ],
        )
            .into_response();
        let headers = response.headers_mut();
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if let Some(protocol) = protocol {
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(protocol),
            );
        }
        response
    }
}

fn equals(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|found| found.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

/// Whether a comma-separated header lists `token` (`Connection: keep-alive,
/// Upgrade`), ignoring case.
fn lists_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn connection_lists_upgrade_among_other_tokens_in_any_case() {
        let h = headers(&[(header::CONNECTION, "keep-alive, Upgrade")]);
        assert!(lists_token(&h, header::CONNECTION, "upgrade"));
        let h = headers(&[(header::CONNECTION, "keep-alive, upgraded")]);
        assert!(!lists_token(&h, header::CONNECTION, "upgrade"));
        assert!(!lists_token(
            &HeaderMap::new(),
            header::CONNECTION,
            "upgrade"
        ));
    }

    #[test]
    fn the_accept_key_is_the_one_in_the_rfc() {
        // RFC 6455 §1.3.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
