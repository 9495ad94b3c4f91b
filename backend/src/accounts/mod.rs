//! Accounts: registering a nickname with a password, signing in with it or
//! with a session token, and the limits that keep both from being abused.
//!
//! Every door signs in the same way, here: the connection driver checks the
//! credentials of a `hello` (or the session cookie a browser's handshake
//! carried) and hands the hub an identity already proven ([`SignedIn`]);
//! the HTTP API does the same for its requests. The hub never sees a
//! password or a token, only their hashes. Registration is prepared here
//! (the password hashed, the first session's token made) and completed by
//! the hub, which owns nicknames and so decides, in order with every guest
//! that claims one, whether the nickname is free.
//!
//! No password, token or invite code is written to a log, an error text or a
//! metric: they travel as [`Secret`]s, whose `Debug` shows nothing.

mod passwords;
mod secrets;
mod throttle;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shared::validate::{self, nick_key};
use shared::{ErrorCode, Secret, ServerMsg};

pub use passwords::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Passwords, Weak};
pub use secrets::{hash, new_invite, new_token};
pub use throttle::SignInThrottle;

use crate::config;
use crate::guard::IpRate;
use crate::incident::Incident;
use crate::store::{AccountId, Directory, SecretHash};

/// How long an invite code is good for.
pub const INVITE_DAYS: i64 = 7;

/// An identity proven by a password or a session: the account, its
/// nickname, and the session it is signed in with (a sign-out ends that
/// one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub account: AccountId,
    pub nick: String,
    pub session: SecretHash,
}

/// A session just opened: the token for its client (shown once, never
/// kept) and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token: Secret,
    pub expires: i64,
}

/// A registration ready for the hub to complete: everything but the
/// decision that the nickname is free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub password_hash: String,
    pub session: NewSession,
    /// The invite code's hash, where registration is by invitation.
    pub invite: Option<SecretHash>,
}

/// What the server allows, from the configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    pub guests: bool,
    pub registration: config::Registration,
    /// Rooms guests may enter; `None`: every room.
    pub guest_rooms: Option<HashSet<String>>,
    pub session: Duration,
    /// The nickname keys of the server operators.
    pub operators: HashSet<String>,
}

impl Policy {
    pub fn new(accounts: &config::Accounts, moderation: &config::Moderation) -> Self {
        Self {
            guests: accounts.guests,
            registration: accounts.registration,
            guest_rooms: (!accounts.guest_rooms.is_empty())
                .then(|| accounts.guest_rooms.iter().cloned().collect()),
            session: Duration::from_secs(u64::from(accounts.session_days) * 86_400),
            operators: moderation.operators.iter().map(|n| nick_key(n)).collect(),
        }
    }

    /// Whether a guest may enter `room` (conversations are their two users'
    /// business, not the policy's).
    pub fn admits_guest(&self, room: &str) -> bool {
        self.guests
            && (shared::direct_members(room).is_some()
                || self
                    .guest_rooms
                    .as_ref()
                    .is_none_or(|rooms| rooms.contains(room)))
    }
}

/// Why a sign-in did not sign in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown nickname, wrong password, or an expired or revoked token:
    /// one answer for all, so that it tells nothing.
    #[error("that nickname and password (or that session) do not sign in")]
    Failed,
    #[error("too many failed sign-ins; try again in {} s", .0.as_secs().max(1))]
    Throttled(Duration),
    #[error("signing in is unavailable right now: {0}")]
    Unavailable(Incident),
}

impl SignInError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SignInError::Failed => ErrorCode::AuthFailed,
            SignInError::Throttled(_) => ErrorCode::RateLimited,
            SignInError::Unavailable(_) => ErrorCode::StoreFailed,
        }
    }

    pub fn to_msg(&self) -> ServerMsg {
        ServerMsg::error(self.code(), self.to_string())
    }
}

/// Why a registration could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("this server takes no new accounts")]
    Closed,
    #[error("this server registers with an invite code only; ask an operator for one")]
    InviteNeeded,
    #[error("{0}")]
    Weak(Weak),
    #[error("too many accounts registered from your address; wait an hour")]
    Throttled,
    #[error("registering is unavailable right now: {0}")]
    Unavailable(Incident),
}

impl RegisterError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RegisterError::Closed | RegisterError::InviteNeeded => ErrorCode::RegistrationClosed,
            RegisterError::Weak(_) => ErrorCode::PasswordWeak,
            RegisterError::Throttled => ErrorCode::RateLimited,
            RegisterError::Unavailable(_) => ErrorCode::StoreFailed,
        }
    }

    pub fn to_msg(&self) -> ServerMsg {
        ServerMsg::error(self.code(), self.to_string())
    }
}

/// Signing in and preparing registrations, for every door.
pub struct Accounts {
    directory: Arc<dyn Directory>,
    policy: Arc<Policy>,
    passwords: Passwords,
    throttle: SignInThrottle,
    registrations: IpRate,
}

impl Accounts {
    pub fn new(
        directory: Arc<dyn Directory>,
        policy: Arc<Policy>,
        config: &config::Accounts,
    ) -> Self {
        Self {
            directory,
            policy,
            passwords: Passwords::default(),
            throttle: SignInThrottle::default(),
            registrations: IpRate::per_hour(config.registrations_per_hour_per_ip),
        }
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// Signs in to the account of `nick` with its password, from `address`,
    /// and opens a session.
    pub async fn with_password(
        &self,
        nick: &str,
        password: &Secret,
        address: IpAddr,
    ) -> Result<(SignedIn, NewSession), SignInError> {
        let key = nick_key(
            validate::normalize_nick(nick)
                .as_deref()
                .unwrap_or(nick.trim()),
        );
        if let Some(wait) = self.throttle.wait(&key, address, Instant::now()) {
            return Err(SignInError::Throttled(wait));
        }
        let account = self.directory.account(&key).await.map_err(|error| {
            SignInError::Unavailable(Incident::log("an account could not be read", &error))
        })?;
        let known = account.as_ref().map(|a| a.password_hash.clone());
        if !self.passwords.verify(password.expose(), known).await {
            self.throttle.failed(&key, address, Instant::now());
            return Err(SignInError::Failed);
        }
        let Some(account) = account else {
            return Err(SignInError::Failed);
        };
        self.throttle.succeeded(&key);
        let session = self.new_session().map_err(SignInError::Unavailable)?;
        let session_hash = hash(session.token.expose());
        self.directory
            .open_session(account.id, session_hash.clone(), session.expires)
            .await
            .map_err(|error| {
                SignInError::Unavailable(Incident::log("a session could not be opened", &error))
            })?;
        let signed_in = SignedIn {
            account: account.id,
            nick: account.nick,
            session: session_hash,
        };
        Ok((signed_in, session))
    }

    /// The account a session token signs in to, if it is a live session.
    pub async fn with_token(&self, token: &Secret) -> Result<SignedIn, SignInError> {
        let session = hash(token.expose());
        let record = self
            .directory
            .session(session.clone(), now_ms())
            .await
            .map_err(|error| {
                SignInError::Unavailable(Incident::log("a session could not be read", &error))
            })?;
        match record {
            Some(record) => Ok(SignedIn {
                account: record.account,
                nick: record.nick,
                session,
            }),
            None => Err(SignInError::Failed),
        }
    }

    /// Checks that a registration may happen (the policy, the address's
    /// rate, the password) and prepares it: the password hashed, the first
    /// session's token made. `nick`, when the request names it, lets a
    /// server operator named in the configuration register without an
    /// invite on a server that takes none: how the first operator account
    /// comes to be.
    pub async fn prepare(
        &self,
        nick: Option<&str>,
        password: &Secret,
        invite: Option<&Secret>,
        address: IpAddr,
    ) -> Result<Registration, RegisterError> {
        let operator = nick.is_some_and(|nick| self.policy.operators.contains(&nick_key(nick)));
        let registration = if operator {
            config::Registration::Open
        } else {
            self.policy.registration
        };
        let invite = match (registration, invite) {
            (config::Registration::Closed, _) => return Err(RegisterError::Closed),
            (config::Registration::Invite, None) => return Err(RegisterError::InviteNeeded),
            (config::Registration::Invite, Some(code)) => Some(hash(code.expose())),
            (config::Registration::Open, _) => None,
        };
        Passwords::check(password.expose()).map_err(RegisterError::Weak)?;
        if !self.registrations.allow(address) {
            return Err(RegisterError::Throttled);
        }
        let password_hash = self
            .passwords
            .hash(password.expose())
            .await
            .map_err(|error| {
                RegisterError::Unavailable(Incident::log("a password could not be hashed", &error))
            })?;
        let session = self.new_session().map_err(RegisterError::Unavailable)?;
        Ok(Registration {
            password_hash,
            session,
            invite,
        })
    }

    fn new_session(&self) -> Result<NewSession, Incident> {
        let token = new_token()
            .map_err(|error| Incident::log("no randomness for a session token", &error))?;
        let lasts = i64::try_from(self.policy.session.as_millis()).unwrap_or(i64::MAX);
        Ok(NewSession {
            token,
            expires: now_ms().saturating_add(lasts),
        })
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
