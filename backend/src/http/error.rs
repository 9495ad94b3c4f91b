//! The HTTP API's errors: one type for every refusal a handler gives.
//!
//! An [`ApiError`] is a status, a code for programs and a sentence for a
//! person, answered as JSON:
//!
//! ```json
//! {"error":"there is no file with this id","code":"not_found"}
//! ```
//!
//! A failure inside the server (the store, the disk) is logged with its
//! detail and answered with the code `internal` and a reference to that log
//! line ([`ApiError::internal`]); its detail never reaches the client.

use std::borrow::Cow;
use std::fmt;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::incident::Incident;

/// A refused request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    /// What few refusals carry, boxed: refusals travel in `Result`s.
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Default)]
struct Extra {
    /// For an internal failure: the log line's reference.
    reference: Option<String>,
    /// A header the refusal carries (`Content-Range` on a 416).
    header: Option<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    /// `400`: the request itself is wrong.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// `404`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// An internal failure: `what` failed because of `detail`, which is
    /// logged under a reference; the client gets the reference only.
    /// `status` is 500, or 503 for what may work again soon (a store that
    /// cannot be read right now).
    pub fn internal(status: StatusCode, what: &str, detail: &dyn fmt::Display) -> Self {
        Self {
            status,
            ..Self::from(Incident::log(what, detail))
        }
    }

    /// The same refusal, carrying a header.
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.extra.get_or_insert_default().header = Some((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The code, which is also the reason refusal metrics count it under.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<Incident> for ApiError {
    /// An internal failure already logged (by the hub, say).
    fn from(incident: Incident) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: Cow::Owned(incident.to_string()),
            extra: Some(Box::new(Extra {
                reference: Some(incident.reference().to_owned()),
                header: None,
            })),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let extra = self.extra.unwrap_or_default();
        let body = Body {
            error: &self.message,
            code: self.code,
            reference: extra.reference.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some((name, value)) = extra.header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_refusal_is_a_status_a_code_and_a_sentence() {
        let (status, body) = body_of(ApiError::not_found("there is no file with this id")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            serde_json::json!({"error": "there is no file with this id", "code": "not_found"})
        );
    }

    #[tokio::test]
    async fn an_internal_failure_shows_a_reference_and_not_its_detail() {
        let detail = "database disk image is malformed";
        let error = ApiError::internal(StatusCode::SERVICE_UNAVAILABLE, "history read", &detail);
        let (status, body) = body_of(error).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["code"], "internal");
        let reference = body["reference"].as_str().unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(reference), "{message}");
        assert!(!message.contains("malformed"), "{message}");
    }
}
