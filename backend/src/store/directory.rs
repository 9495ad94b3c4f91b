//! The directory: who has an account, their sessions, and what moderators
//! decided (roles, room settings, bans and mutes, and the log of every
//! action), behind the [`Directory`] trait like messages are behind
//! [`super::Store`].
//!
//! Passwords are kept as argon2id hashes (PHC strings) and tokens and invite
//! codes as SHA-256 hashes: the database never holds a secret that works.
//! The hub loads the moderation state and the registered nicknames once at
//! start ([`Directory::snapshot`]) and keeps them in memory; every change is
//! written through this trait before it takes effect.

use futures_util::future::BoxFuture;
use shared::{ModLogEntry, Moderation, Role};

use super::StoreError;

/// An account's number, which never changes (its nickname is its name).
pub type AccountId = i64;

/// A hash that names a secret (a session token, an invite code) without
/// being one: lowercase hex of its SHA-256.
pub type SecretHash = String;

/// An account as sign-in needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: AccountId,
    pub nick: String,
    /// The argon2id hash of the password, as a PHC string.
    pub password_hash: String,
}

/// A session as a token presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub account: AccountId,
    pub nick: String,
    /// Milliseconds since the Unix epoch.
    pub expires: i64,
}

/// A new account with its first session, written in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub nick: String,
    /// `validate::nick_key` of `nick`: unique among accounts.
    pub nick_key: String,
    pub password_hash: String,
    pub session: SecretHash,
    pub expires: i64,
    /// The invite code it registers with, where registration needs one: it
    /// must exist, be unused and unexpired, and is used up.
    pub invite: Option<SecretHash>,
}

/// Who a ban or a mute is about: an account, or a guest's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Account(AccountId),
    Address(std::net::IpAddr),
}

/// A ban or a mute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SanctionKind {
    Ban,
    Mute,
}

/// A ban or a mute in force (or until it runs out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanction {
    pub room: String,
    pub kind: SanctionKind,
    pub subject: Subject,
    /// The nickname's key as it was when given: how `unban NICK` finds it.
    pub nick_key: String,
    /// Milliseconds since the Unix epoch; `None`: until lifted.
    pub until: Option<i64>,
}

/// What a moderation action changes in the directory, written with its log
/// entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing but the log entry (a kick).
    None,
    Role {
        room: String,
        account: AccountId,
        role: Role,
    },
    Settings {
        room: String,
        topic: String,
        slow: u32,
    },
    Sanction(Sanction),
    /// Lifts every sanction of this kind in `room` given under `nick_key`
    /// (or to `account`).
    Lift {
        room: String,
        kind: SanctionKind,
        nick_key: String,
        account: Option<AccountId>,
    },
}

/// A moderation action to keep: the change, and the log entry that says
/// who did what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub room: String,
    pub by: String,
    pub ts: i64,
    pub action: Moderation,
    pub change: Change,
}

/// Everything the hub keeps in memory, as the directory has it at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every account: id, nickname, nickname key.
    pub accounts: Vec<(AccountId, String, String)>,
    /// Room, account, role (above member).
    pub roles: Vec<(String, AccountId, Role)>,
    /// Room, topic, slow mode.
    pub settings: Vec<(String, String, u32)>,
    /// Bans and mutes not run out yet.
    pub sanctions: Vec<Sanction>,
}

/// Keeps accounts, sessions and moderation. Like [`super::Store`], every
/// method returns at once with a future that owns what it needs.
pub trait Directory: Send + Sync + 'static {
    /// What the hub keeps in memory (loaded once at start).
    fn snapshot(&self) -> BoxFuture<'static, Result<Snapshot, StoreError>>;
    /// The account named by `nick_key`, if any.
    fn account(
        &self,
        nick_key: &str,
    ) -> BoxFuture<'static, Result<Option<AccountRecord>, StoreError>>;
    /// Creates an account and its first session. [`StoreError::Taken`] if
    /// the nickname is an account already; [`StoreError::InviteInvalid`]
    /// for an invite that does not register.
    fn register(&self, account: NewAccount) -> BoxFuture<'static, Result<AccountId, StoreError>>;
    /// A new session for `account` (a sign-in with its password).
    fn open_session(
        &self,
        account: AccountId,
        token: SecretHash,
        expires: i64,
    ) -> BoxFuture<'static, Result<(), StoreError>>;
    /// The session a token names, if it exists and has not expired at `now`.
    fn session(
        &self,
        token: SecretHash,
        now: i64,
    ) -> BoxFuture<'static, Result<Option<SessionRecord>, StoreError>>;
    /// Ends one session.
    fn close_session(&self, token: SecretHash) -> BoxFuture<'static, Result<(), StoreError>>;
    /// Ends every session of `account`.
    fn close_sessions(&self, account: AccountId) -> BoxFuture<'static, Result<(), StoreError>>;
    /// A registration invite, good once until `expires`.
    fn create_invite(
        &self,
        code: SecretHash,
        by: AccountId,
        expires: i64,
    ) -> BoxFuture<'static, Result<(), StoreError>>;
    /// Keeps a moderation action: its change and its log entry, in one
    /// transaction.
    fn record(&self, record: Record) -> BoxFuture<'static, Result<(), StoreError>>;
    /// `room`'s moderation log, newest first: at most `limit` entries with
    /// an id below `before` (or the newest).
    fn log(
        &self,
        room: &str,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ModLogEntry>, StoreError>>;
}
