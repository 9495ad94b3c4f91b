//! Registration: what a client says before it is welcomed (`CAP`,
//! `AUTHENTICATE`, `PASS`, `NICK`, `USER`), and the welcome.
//!
//! It ends in one hub `hello`: a guest under the nickname, or a sign-in
//! when `PASS` or SASL `PLAIN` gave a password. SASL signs in before
//! registration ends (the client waits for 903 before `CAP END`), so the
//! hub's welcome can come first; what the hub sends after it (the join to
//! `#lobby`) is held until the client has registered.

use std::collections::BTreeMap;

use base64::Engine as _;
use shared::line::strip_controls;
use shared::{Credentials, ErrorCode, Secret, limits};

use super::caps::OFFERED;
use super::connection::{HOST, IrcAsk, IrcWire, Local, Out, SERVER};
use super::message::MAX_LINE;
use super::render::irc_nick;
use crate::doors::driver::Ask;
use crate::hub::{Auth, Request};

/// The most history `CHATHISTORY` gives at once (ISUPPORT `CHATHISTORY`).
pub(super) const CHATHISTORY_PAGE: usize = shared::limits::MAX_HISTORY_PAGE;
/// An `AUTHENTICATE` payload comes in pieces of this many bytes; a shorter
/// one (or `+`) ends it.
const SASL_PIECE: usize = 400;
/// The longest SASL payload taken, base64: a nickname and a password.
const MAX_SASL: usize = 2 * 1024;

/// Where the client is with registration.
#[derive(Default)]
pub(super) struct Registration {
    pub nick: Option<String>,
    pub user: bool,
    pub password: Option<String>,
    /// Between `CAP LS`/`CAP REQ` and `CAP END` registration waits.
    pub negotiating: bool,
    /// The hello went to the hub; its answer is awaited.
    pub sent: bool,
    /// `AUTHENTICATE PLAIN` was asked: the payload so far.
    pub sasl: Option<String>,
    /// The hello was a SASL sign-in.
    pub by_sasl: bool,
    /// The hub welcomed the SASL sign-in under this nickname; the client
    /// has not finished registering.
    pub welcomed: Option<String>,
}

impl IrcWire {
    /// `CAP LS`, `LIST`, `REQ`, `END`.
    pub(super) fn cap(&mut self, sub: Option<&str>, arg: Option<&str>) -> Option<IrcAsk> {
        let sub = sub.map(str::to_ascii_uppercase);
        let nick = self.nick.clone();
        let line = match sub.as_deref() {
            Some("LS") => {
                self.negotiating(true);
                format!(":{SERVER} CAP {nick} LS :{OFFERED}")
            }
            Some("LIST") => format!(":{SERVER} CAP {nick} LIST :{}", self.caps.enabled()),
            Some("REQ") => {
                self.negotiating(true);
                let asked = arg.unwrap_or("");
                if self.caps.request(asked) {
                    format!(":{SERVER} CAP {nick} ACK :{asked}")
                } else {
                    format!(":{SERVER} CAP {nick} NAK :{asked}")
                }
            }
            Some("END") => {
                self.negotiating(false);
                return self.try_register();
            }
            _ => format!(
                ":{SERVER} 410 {nick} {} :Invalid CAP command",
                sub.as_deref().unwrap_or("*")
            ),
        };
        Some(Ask::Local(Local::Lines(vec![Out::Raw(line)])))
    }

    fn negotiating(&mut self, on: bool) {
        if let Some(registration) = self.registration.as_deref_mut() {
            registration.negotiating = on;
        }
    }

    /// `AUTHENTICATE`: SASL `PLAIN` (RFC 4616), the password of a Hubbub
    /// account under its nickname.
    pub(super) fn authenticate(&mut self, arg: Option<&str>) -> Option<IrcAsk> {
        let fail = |code: &'static str, text: &str| {
            Some(Ask::Local(Local::Lines(vec![Out::Raw(format!(
                ":{SERVER} {code} * :{text}"
            ))])))
        };
        let Some(registration) = self.registration.as_deref_mut() else {
            return fail("907", "You have already authenticated");
        };
        let arg = arg.unwrap_or("");
        if arg == "*" {
            registration.sasl = None;
            return fail("906", "SASL authentication aborted");
        }
        let Some(payload) = registration.sasl.as_mut() else {
            if arg.eq_ignore_ascii_case("PLAIN") {
                if registration.sent {
                    return fail("904", "SASL authentication is already under way");
                }
                registration.sasl = Some(String::new());
                return Some(Ask::Local(Local::Lines(vec![Out::Raw(
                    "AUTHENTICATE +".to_owned(),
                )])));
            }
            return Some(Ask::Local(Local::Lines(vec![
                Out::Raw(format!(
                    ":{SERVER} 908 * PLAIN :are available SASL mechanisms"
                )),
                Out::Raw(format!(":{SERVER} 904 * :SASL authentication failed")),
            ])));
        };
        if arg != "+" {
            payload.push_str(arg);
        }
        if payload.len() > MAX_SASL {
            registration.sasl = None;
            return fail("905", "SASL message too long");
        }
        if arg.len() == SASL_PIECE {
            // More pieces follow.
            return None;
        }
        let payload = registration.sasl.take().unwrap_or_default();
        let Some((account, password)) = plain(&payload) else {
            return fail("904", "SASL authentication failed: that is not PLAIN");
        };
        registration.sent = true;
        registration.by_sasl = true;
        Some(Ask::Hub(Request::Hello {
            nick: account,
            resume: BTreeMap::new(),
            auth: Auth::Unchecked(Credentials::Password(Secret::new(password))),
        }))
    }

    /// The hello, once the client has said who it is; or, after a SASL
    /// sign-in, the welcome the hub already gave.
    pub(super) fn try_register(&mut self) -> Option<IrcAsk> {
        let registration = self.registration.as_deref_mut()?;
        if registration.negotiating || !registration.user {
            return None;
        }
        if let Some(nick) = registration.welcomed.take() {
            self.welcome(&nick);
            let held = std::mem::take(&mut self.deferred);
            for event in held {
                self.show(event.msg());
            }
            return None;
        }
        if registration.sent {
            return None;
        }
        let nick = registration.nick.clone()?;
        registration.sent = true;
        let auth = match registration.password.take() {
            Some(password) => Auth::Unchecked(Credentials::Password(Secret::new(password))),
            None => Auth::Guest,
        };
        Some(Ask::Hub(Request::Hello {
            nick,
            resume: BTreeMap::new(),
            auth,
        }))
    }

    /// Whether events wait for the client to finish registering (it signed
    /// in by SASL and has not sent `CAP END`).
    pub(super) fn holding(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|registration| registration.welcomed.is_some())
    }

    /// The hub welcomed the client: under SASL, before it registered.
    pub(super) fn welcomed(&mut self, nick: &str, account: bool) {
        self.signed_in = account;
        let Some(registration) = self.registration.as_deref_mut() else {
            return;
        };
        if !registration.by_sasl {
            self.welcome(nick);
            return;
        }
        registration.welcomed = Some(nick.to_owned());
        let me = irc_nick(nick);
        self.line(&format!(
            ":{SERVER} 900 {me} {me}!{me}@{HOST} {me} :You are now logged in as {me}"
        ));
        self.line(&format!(
            ":{SERVER} 903 {me} :SASL authentication successful"
        ));
        // A client that ended negotiation already (or never began it)
        // registers now.
        let _ = self.try_register();
    }

    /// The hub refused the hello: the client may try another nickname, or
    /// another password.
    pub(super) fn refused_hello(&mut self, code: ErrorCode, message: &str) -> bool {
        let Some(registration) = self.registration.as_deref_mut() else {
            return false;
        };
        if !registration.sent {
            return false;
        }
        registration.sent = false;
        let text = strip_controls(message);
        if std::mem::take(&mut registration.by_sasl) {
            let line = format!(":{SERVER} 904 * :SASL authentication failed: {text}");
            self.line(&line);
            return true;
        }
        let tried = registration.nick.take().unwrap_or_default();
        let line = match code {
            ErrorCode::NickTaken | ErrorCode::NickRegistered => {
                format!(":{SERVER} 433 * {tried} :{text}")
            }
            ErrorCode::NickInvalid => format!(":{SERVER} 432 * {tried} :{text}"),
            ErrorCode::AuthFailed => format!(":{SERVER} 464 * :{text}"),
            _ => format!(":{SERVER} NOTICE * :{text}"),
        };
        self.line(&line);
        true
    }

    fn welcome(&mut self, nick: &str) {
        self.registration = None;
        self.nick = irc_nick(nick);
        let version = env!("CARGO_PKG_VERSION");
        let me = self.nick.clone();
        let lines = [
            format!(":{SERVER} 001 {me} :Welcome to Hubbub, {me}"),
            format!(":{SERVER} 002 {me} :Your host is {SERVER}, running Hubbub {version}"),
            format!(":{SERVER} 003 {me} :This server keeps the history of every room"),
            format!(":{SERVER} 004 {me} {SERVER} hubbub-{version} i t"),
            format!(
                ":{SERVER} 005 {me} NETWORK=Hubbub CASEMAPPING=ascii CHANTYPES=# \
                 NICKLEN={} CHANNELLEN={} TOPICLEN={} LINELEN={MAX_LINE} PREFIX=() \
                 CHANMODES=,,, UTF8ONLY :are supported by this server",
                limits::MAX_NICK_CHARS,
                limits::MAX_ROOM_CHARS + 1,
                limits::MAX_TEXT_BYTES,
            ),
            format!(
                ":{SERVER} 005 {me} CHATHISTORY={CHATHISTORY_PAGE} MSGREFTYPES=msgid,timestamp \
                 :are supported by this server"
            ),
            format!(
                ":{SERVER} 422 {me} :No MOTD; rooms are channels, #lobby is where everyone starts"
            ),
        ];
        for line in lines {
            self.line(&line);
        }
    }
}

/// The account and password of a SASL `PLAIN` payload (base64 of
/// `authzid NUL authcid NUL password`); an authorization identity other
/// than the account itself is not supported.
fn plain(payload: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (authzid, account, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || account.is_empty() || password.is_empty() {
        return None;
    }
    if !authzid.is_empty() && authzid != account {
        return None;
    }
    Some((account.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn plain_payloads_name_the_account_and_its_password() {
        assert_eq!(
            plain(&encode("\0ada\0hunter22")),
            Some(("ada".into(), "hunter22".into()))
        );
        assert_eq!(
            plain(&encode("ada\0ada\0pw")),
            Some(("ada".into(), "pw".into()))
        );
        assert_eq!(plain(&encode("bob\0ada\0pw")), None, "acting as another");
        assert_eq!(plain(&encode("\0ada\0")), None);
        assert_eq!(plain("not base64!"), None);
    }
}
