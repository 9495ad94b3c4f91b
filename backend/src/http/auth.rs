//! Accounts over HTTP: registering, signing in and out, and who a request
//! is.
//!
//! A session travels as the `hubbub_session` cookie (HttpOnly, SameSite
//! Strict, and Secure when the server is reached over https), which the
//! browser also sends with its WebSocket handshake, or as
//! `Authorization: Bearer <token>` for programs. A guest's token, from its
//! `welcome`, is a bearer token that lasts as long as its connection.
//!
//! - `POST /api/register` `{"nick", "password", "invite"?}` → `201`
//! - `POST /api/login` `{"nick", "password"}` → `200`
//! - `POST /api/logout` `{"everywhere"?}` → `204`
//! - `GET /api/me` → `200` or `401`

use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::Secret;

use super::AppState;
use super::error::ApiError;
use crate::accounts::{self, Accounts, RegisterError, SignInError, SignedIn};
use crate::hub::{Caller, RegisterRefusal};

/// The session cookie's name.
pub const COOKIE: &str = "hubbub_session";

/// A session's token as the request presents it: the bearer header first,
/// else the cookie.
pub fn presented_token(headers: &HeaderMap) -> Option<Secret> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(token) = bearer {
        return Some(Secret::new(token));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

/// The account a request's session signs in to, if it presents a live
/// one.
pub async fn signed_in(accounts: &Accounts, headers: &HeaderMap) -> Option<SignedIn> {
    let token = presented_token(headers)?;
    accounts.with_token(&token).await.ok()
}

/// Who a request is: a session's account, a guest's token (for the hub to
/// find), or nobody.
pub async fn caller(accounts: &Accounts, headers: &HeaderMap) -> Caller {
    let Some(token) = presented_token(headers) else {
        return Caller::Anonymous;
    };
    match accounts.with_token(&token).await {
        Ok(signed_in) => Caller::Account {
            account: signed_in.account,
            nick: signed_in.nick,
        },
        Err(_) => Caller::Guest(token),
    }
}

#[derive(Deserialize)]
pub(super) struct Credentials {
    nick: String,
    password: Secret,
    #[serde(default)]
    invite: Option<Secret>,
}

#[derive(Deserialize, Default)]
pub(super) struct SignOut {
    #[serde(default)]
    everywhere: bool,
}

/// What registering and signing in answer (the token is also the cookie).
#[derive(Serialize)]
pub(super) struct Session {
    nick: String,
    token: Secret,
    expires: i64,
}

#[derive(Serialize)]
pub(super) struct Me {
    nick: String,
    account: bool,
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(body)| body)
        .map_err(|rejection| ApiError::invalid(format!("send JSON: {}", rejection.body_text())))
}

/// `POST /api/register`.
pub(super) async fn register(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, ApiError> {
    same_origin(&app, &headers)?;
    let Credentials {
        nick,
        password,
        invite,
    } = json_body(body)?;
    let registration = app
        .accounts
        .prepare(Some(&nick), &password, invite.as_ref(), peer.ip())
        .await
        .map_err(register_error)?;
    let token = registration.session.token.clone();
    let expires = registration.session.expires;
    // A guest registering the nickname it holds sends its token: its
    // connection becomes the account's, with this one session.
    let guest = presented_token(&headers);
    let signed_in = app
        .hub
        .register(nick, registration, guest)
        .await
        .map_err(refusal_error)?;
    tracing::info!(%peer, "account registered");
    Ok(session_response(
        &app,
        StatusCode::CREATED,
        signed_in.nick,
        token,
        expires,
    ))
}

/// `POST /api/login`.
pub(super) async fn login(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Credentials>, JsonRejection>,
) -> Result<Response, ApiError> {
    same_origin(&app, &headers)?;
    let Credentials { nick, password, .. } = json_body(body)?;
    let (signed_in, session) = app
        .accounts
        .with_password(&nick, &password, peer.ip())
        .await
        .map_err(sign_in_error)?;
    Ok(session_response(
        &app,
        StatusCode::OK,
        signed_in.nick,
        session.token,
        session.expires,
    ))
}

/// `POST /api/logout`: ends the request's session (or every session of its
/// account) and the connections signed in with it.
pub(super) async fn logout(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<SignOut>, JsonRejection>,
) -> Result<Response, ApiError> {
    same_origin(&app, &headers)?;
    // No body (or not JSON) is this session only.
    let everywhere = body.is_ok_and(|Json(body)| body.everywhere);
    let signed_in = signed_in(&app.accounts, &headers)
        .await
        .ok_or_else(not_signed_in)?;
    let directory = app.accounts.directory();
    let ended = if everywhere {
        directory.close_sessions(signed_in.account).await
    } else {
        directory.close_session(signed_in.session.clone()).await
    };
    ended.map_err(|error| {
        ApiError::internal(
            StatusCode::SERVICE_UNAVAILABLE,
            "a session could not be ended",
            &error,
        )
    })?;
    let session = (!everywhere).then_some(signed_in.session);
    app.hub.signed_out(signed_in.account, session).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cookie(&app, "", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `GET /api/me`: the account the request's session signs in to.
pub(super) async fn me(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Me>, ApiError> {
    let signed_in = signed_in(&app.accounts, &headers)
        .await
        .ok_or_else(not_signed_in)?;
    Ok(Json(Me {
        nick: signed_in.nick,
        account: true,
    }))
}

fn not_signed_in() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "auth_failed",
        "not signed in: no live session came with the request",
    )
}

/// A page of another site may not sign its visitors in or out (the
/// WebSocket door's `Origin` rule).
fn same_origin(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if app
        .guards
        .origins
        .allows(headers.get(header::ORIGIN), headers.get(header::HOST))
    {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this page's origin may not sign in here",
        ))
    }
}

/// The answer to a new session, with its cookie.
fn session_response(
    app: &AppState,
    status: StatusCode,
    nick: String,
    token: Secret,
    expires: i64,
) -> Response {
    let max_age = (expires - accounts::now_ms()).max(0) / 1000;
    let cookie = HeaderValue::from_str(&cookie(app, token.expose(), max_age));
    let mut response = (
        status,
        Json(Session {
            nick,
            token,
            expires,
        }),
    )
        .into_response();
    if let Ok(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no
/// other site's page sends it), and Secure when people reach the server
/// over https.
fn cookie(app: &AppState, token: &str, max_age: i64) -> String {
    let secure = if app.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

fn sign_in_error(error: SignInError) -> ApiError {
    match error {
        SignInError::Failed => {
            ApiError::new(StatusCode::UNAUTHORIZED, "auth_failed", error.to_string())
        }
        SignInError::Throttled(_) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            error.to_string(),
        ),
        SignInError::Unavailable(incident) => incident.into(),
    }
}

fn register_error(error: RegisterError) -> ApiError {
    match error {
        RegisterError::Closed | RegisterError::InviteNeeded => ApiError::new(
            StatusCode::FORBIDDEN,
            "registration_closed",
            error.to_string(),
        ),
        RegisterError::Weak(_) => {
            ApiError::new(StatusCode::BAD_REQUEST, "password_weak", error.to_string())
        }
        RegisterError::Throttled => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            error.to_string(),
        ),
        RegisterError::Unavailable(incident) => incident.into(),
    }
}

fn refusal_error(refusal: RegisterRefusal) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        RegisterRefusal::NickInvalid(_) => ApiError::invalid(message),
        RegisterRefusal::Taken(_) => {
            ApiError::new(StatusCode::CONFLICT, "nick_registered", message)
        }
        RegisterRefusal::InUse(_) => ApiError::new(StatusCode::CONFLICT, "nick_taken", message),
        RegisterRefusal::InviteInvalid => {
            ApiError::new(StatusCode::FORBIDDEN, "registration_closed", message)
        }
        RegisterRefusal::Busy | RegisterRefusal::Stopped => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
        RegisterRefusal::Store(incident) => incident.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_from_the_bearer_header_or_the_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_token(&headers), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; hubbub_session=abc ; other=1"),
        );
        assert_eq!(presented_token(&headers), Some(Secret::new("abc")));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(presented_token(&headers), Some(Secret::new("xyz")));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(presented_token(&headers), Some(Secret::new("abc")));
    }
}
