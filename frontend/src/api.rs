//! The server's HTTP API for accounts, one async fn per endpoint
//! (`register`, `login`, `logout`, `me`), and fetching a file with a guest's
//! bearer token (`object_url`). With `upload`, the only code that makes HTTP
//! requests; `fetch` here, since none of these needs upload progress.
//!
//! A sign-in or a registration answers with a session token and sets the
//! `hubbub_session` cookie (HttpOnly). The client keeps neither: the browser
//! sends the cookie with the WebSocket handshake and with every same-origin
//! request, and that is what signs it in. Every refusal is
//! `{"error": "<sentence>", "code": "<code>"}`, and the sentence is what the
//! person is shown.
//!
//! The requests' bodies and the reading of the answers are plain Rust,
//! tested natively.

use serde::{Deserialize, Serialize};
use shared::protocol::Secret;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Headers, Request, RequestCredentials, RequestInit, Response, Url};

use crate::upload::server_sentence;

/// `POST /api/register`'s body.
#[derive(Serialize)]
struct Registration<'a> {
    nick: &'a str,
    password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    invite: Option<&'a str>,
}

/// `POST /api/login`'s body.
#[derive(Serialize)]
struct Login<'a> {
    nick: &'a str,
    password: &'a str,
}

/// `POST /api/logout`'s body.
#[derive(Serialize)]
struct Logout {
    everywhere: bool,
}

/// What a sign-in or a registration answers (its `token` and `expires` are
/// the cookie's business), and `GET /api/me`.
#[derive(Deserialize)]
struct Account {
    nick: String,
}

/// The body of a registration; an empty invite code is none.
pub fn registration_body(nick: &str, password: &str, invite: &str) -> String {
    let invite = Some(invite.trim()).filter(|i| !i.is_empty());
    to_json(&Registration {
        nick,
        password,
        invite,
    })
}

pub fn login_body(nick: &str, password: &str) -> String {
    to_json(&Login { nick, password })
}

pub fn logout_body(everywhere: bool) -> String {
    to_json(&Logout { everywhere })
}

fn to_json(body: &impl Serialize) -> String {
    // Strings and booleans always serialize.
    serde_json::to_string(body).unwrap_or_default()
}

/// `Authorization: Bearer <token>`.
pub fn bearer_header(token: &Secret) -> String {
    format!("Bearer {}", token.expose())
}

/// The account nickname of a successful sign-in or registration, or why it
/// failed (0: no answer at all).
pub fn signed_in(status: u16, body: &str) -> Result<String, String> {
    if (200..300).contains(&status)
        && let Ok(account) = serde_json::from_str::<Account>(body)
    {
        return Ok(account.nick);
    }
    Err(refusal(status, body))
}

/// Why a request of this API failed, for a person: the server's sentence
/// when it sent one, else one for the status (0: no answer at all).
pub fn refusal(status: u16, body: &str) -> String {
    if let Some(said) = server_sentence(body) {
        return said;
    }
    match status {
        0 => "Could not reach the server; try again.".to_owned(),
        200..=299 => "The server's answer could not be read.".to_owned(),
        401 => "The nickname or the password is wrong.".to_owned(),
        403 => "The server does not allow this.".to_owned(),
        409 => "This nickname is taken.".to_owned(),
        429 => "Too many attempts; try again in a moment.".to_owned(),
        _ => format!("The server could not do this (HTTP {status})."),
    }
}

/// Registers `nick` with `password` (and an invite code, if any). Answers
/// the account's nickname: the browser is signed in to it. A guest
/// registering the nickname it holds sends its `guest` token, and its
/// connection is signed in to the account too (with the same session).
pub async fn register(
    nick: &str,
    password: &str,
    invite: &str,
    guest: Option<&Secret>,
) -> Result<String, String> {
    let body = registration_body(nick, password, invite);
    let (status, body) = match fetch("POST", "/api/register", Some(&body), guest).await {
        Ok(response) => (response.status(), text(&response).await),
        Err(_) => (0, String::new()),
    };
    signed_in(status, &body)
}

/// Signs in; answers the account's nickname as the server writes it.
pub async fn login(nick: &str, password: &str) -> Result<String, String> {
    let (status, body) = call("/api/login", &login_body(nick, password)).await;
    signed_in(status, &body)
}

/// Ends this browser's session (`everywhere`: every session of the
/// account). The server clears the cookie and closes the sockets the
/// sessions held.
pub async fn logout(everywhere: bool) -> Result<(), String> {
    let (status, body) = call("/api/logout", &logout_body(everywhere)).await;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(refusal(status, &body))
    }
}

/// The account this browser is signed in to, if any.
pub async fn me() -> Option<String> {
    let response = fetch("GET", "/api/me", None, None).await.ok()?;
    if !response.ok() {
        return None;
    }
    let body = text(&response).await;
    serde_json::from_str::<Account>(&body).ok().map(|a| a.nick)
}

/// Fetches the file at `path` with `bearer` (a guest's token, which an
/// `<img>` or a link cannot send) and makes it an object URL for the page:
/// revoke it with [`revoke`] when done.
pub async fn object_url(path: &str, bearer: Option<&Secret>) -> Result<String, String> {
    let response = fetch("GET", path, None, bearer).await?;
    if !response.ok() {
        let status = response.status();
        return Err(match status {
            404 => "The file is not available.".to_owned(),
            _ => refusal(status, &text(&response).await),
        });
    }
    let blob = response
        .blob()
        .map_err(|_| "The file could not be read.".to_owned())?;
    let blob: Blob = JsFuture::from(blob)
        .await
        .ok()
        .and_then(|b| b.dyn_into().ok())
        .ok_or_else(|| "The file could not be read.".to_owned())?;
    Url::create_object_url_with_blob(&blob).map_err(|_| "The file could not be shown.".to_owned())
}

/// Lets go of an object URL from [`object_url`].
pub fn revoke(url: &str) {
    let _ = Url::revoke_object_url(url);
}

/// A JSON `POST` (the cookie, if any, signs it): the status (0 when there
/// was no answer) and the body.
async fn call(path: &str, body: &str) -> (u16, String) {
    match fetch("POST", path, Some(body), None).await {
        Ok(response) => (response.status(), text(&response).await),
        Err(_) => (0, String::new()),
    }
}

async fn fetch(
    method: &str,
    path: &str,
    body: Option<&str>,
    bearer: Option<&Secret>,
) -> Result<Response, String> {
    let unreachable = |_| refusal(0, "");
    let window = web_sys::window().ok_or_else(|| refusal(0, ""))?;
    let headers = Headers::new().map_err(unreachable)?;
    headers
        .set("Accept", "application/json")
        .map_err(unreachable)?;
    if let Some(token) = bearer {
        headers
            .set("Authorization", &bearer_header(token))
            .map_err(unreachable)?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    // The session cookie goes with every request to the page's own server,
    // and the cookie a sign-in sets is kept.
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(unreachable)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init).map_err(unreachable)?;
    JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(unreachable)?
        .dyn_into::<Response>()
        .map_err(unreachable)
}

async fn text(response: &Response) -> String {
    let Ok(promise) = response.text() else {
        return String::new();
    };
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_apis_json() {
        assert_eq!(
            registration_body("ada", "correct horse", " "),
            r#"{"nick":"ada","password":"correct horse"}"#
        );
        assert_eq!(
            registration_body("ada", "pw", " inv1 "),
            r#"{"nick":"ada","password":"pw","invite":"inv1"}"#
        );
        assert_eq!(
            login_body("ada", "p\"w"),
            r#"{"nick":"ada","password":"p\"w"}"#
        );
        assert_eq!(logout_body(true), r#"{"everywhere":true}"#);
        assert_eq!(bearer_header(&Secret::new("t0k")), "Bearer t0k");
    }

    #[test]
    fn a_sign_in_answers_the_accounts_nickname() {
        assert_eq!(
            signed_in(200, r#"{"nick":"Ada","token":"t","expires":1766620800000}"#),
            Ok("Ada".into())
        );
        assert_eq!(signed_in(201, r#"{"nick":"ada"}"#), Ok("ada".into()));
    }

    #[test]
    fn refusals_show_the_servers_sentence() {
        let wrong = r#"{"error":"the nickname or password is wrong","code":"auth_failed"}"#;
        assert_eq!(
            signed_in(401, wrong),
            Err("The nickname or password is wrong".into())
        );
        let closed = r#"{"error":"registration is by invitation","code":"registration_closed"}"#;
        assert_eq!(
            signed_in(403, closed),
            Err("Registration is by invitation".into())
        );
        // Without one, a sentence for the status.
        assert_eq!(
            signed_in(429, "<html>"),
            Err("Too many attempts; try again in a moment.".into())
        );
        assert_eq!(
            signed_in(0, ""),
            Err("Could not reach the server; try again.".into())
        );
        assert_eq!(
            signed_in(200, "{}"),
            Err("The server's answer could not be read.".into())
        );
        assert_eq!(refusal(502, ""), "The server could not do this (HTTP 502).");
    }
}
