//! The [`Directory`] in the SQLite file: reads on the read pool, writes on
//! the writer thread, each write one transaction.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::FutureExt as _;
use futures_util::future::{self, BoxFuture};
use rusqlite::{Connection, OptionalExtension as _, params};
use shared::{ModLogEntry, Moderation};

use super::{SqliteStore, read_error, sql_limit};
use crate::store::directory::{
    AccountId, AccountRecord, Change, Directory, NewAccount, Record, Sanction, SanctionKind,
    SecretHash, SessionRecord, Snapshot, Subject,
};
use crate::store::{StoreError, schema};

fn write_error(e: rusqlite::Error) -> StoreError {
    StoreError::Write(e.to_string())
}

fn kind_to_sql(kind: SanctionKind) -> &'static str {
    match kind {
        SanctionKind::Ban => "ban",
        SanctionKind::Mute => "mute",
    }
}

fn kind_from_sql(value: &str) -> Option<SanctionKind> {
    match value {
        "ban" => Some(SanctionKind::Ban),
        "mute" => Some(SanctionKind::Mute),
        _ => None,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Directory for SqliteStore {
    fn snapshot(&self) -> BoxFuture<'static, Result<Snapshot, StoreError>> {
        self.read(|conn| read_snapshot(conn, now_ms()).map_err(read_error))
    }

    fn account(
        &self,
        nick_key: &str,
    ) -> BoxFuture<'static, Result<Option<AccountRecord>, StoreError>> {
        let nick_key = nick_key.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT id, nick, password FROM accounts WHERE nick_key = ?1")
                .and_then(|mut statement| {
                    statement
                        .query_row([&nick_key], |row| {
                            Ok(AccountRecord {
                                id: row.get(0)?,
                                nick: row.get(1)?,
                                password_hash: row.get(2)?,
                            })
                        })
                        .optional()
                })
                .map_err(read_error)
        })
    }

    fn register(&self, account: NewAccount) -> BoxFuture<'static, Result<AccountId, StoreError>> {
        self.exec(move |tx| {
            let now = now_ms();
            if let Some(code) = &account.invite {
                let invite: Option<(i64, Option<i64>)> = tx
                    .query_row(
                        "SELECT expires, used_by FROM invites WHERE code = ?1",
                        [code],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(write_error)?;
                match invite {
                    Some((expires, None)) if expires > now => {}
                    _ => return Err(StoreError::InviteInvalid),
                }
            }
            let inserted = tx.execute(
                "INSERT INTO accounts (nick, nick_key, password, created) VALUES (?1, ?2, ?3, ?4)",
                params![account.nick, account.nick_key, account.password_hash, now],
            );
            match inserted {
                Ok(_) => {}
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
                {
                    return Err(StoreError::Taken);
                }
                Err(e) => return Err(write_error(e)),
            }
            let id = tx.last_insert_rowid();
            if let Some(code) = &account.invite {
                tx.execute(
                    "UPDATE invites SET used_by = ?1 WHERE code = ?2",
                    params![id, code],
                )
                .map_err(write_error)?;
            }
            tx.execute(
                "INSERT INTO sessions (token, account, created, expires) VALUES (?1, ?2, ?3, ?4)",
                params![account.session, id, now, account.expires],
            )
            .map_err(write_error)?;
            Ok(id)
        })
    }

    fn open_session(
        &self,
        account: AccountId,
        token: SecretHash,
        expires: i64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.exec(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token, account, created, expires) VALUES (?1, ?2, ?3, ?4)",
                params![token, account, now_ms(), expires],
            )
            .map_err(write_error)?;
            // Expired sessions of the account go while we are here.
            tx.execute(
                "DELETE FROM sessions WHERE account = ?1 AND expires <= ?2",
                params![account, now_ms()],
            )
            .map_err(write_error)?;
            Ok(())
        })
    }

    fn session(
        &self,
        token: SecretHash,
        now: i64,
    ) -> BoxFuture<'static, Result<Option<SessionRecord>, StoreError>> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT s.account, a.nick, s.expires FROM sessions AS s
                 JOIN accounts AS a ON a.id = s.account
                 WHERE s.token = ?1 AND s.expires > ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![token, now], |row| {
                        Ok(SessionRecord {
                            account: row.get(0)?,
                            nick: row.get(1)?,
                            expires: row.get(2)?,
                        })
                    })
                    .optional()
            })
            .map_err(read_error)
        })
    }

    fn close_session(&self, token: SecretHash) -> BoxFuture<'static, Result<(), StoreError>> {
        self.exec(move |tx| {
            tx.execute("DELETE FROM sessions WHERE token = ?1", [token])
                .map_err(write_error)?;
            Ok(())
        })
    }

    fn close_sessions(&self, account: AccountId) -> BoxFuture<'static, Result<(), StoreError>> {
        self.exec(move |tx| {
            tx.execute("DELETE FROM sessions WHERE account = ?1", [account])
                .map_err(write_error)?;
            Ok(())
        })
    }

    fn create_invite(
        &self,
        code: SecretHash,
        by: AccountId,
        expires: i64,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.exec(move |tx| {
            tx.execute(
                "INSERT INTO invites (code, by, created, expires) VALUES (?1, ?2, ?3, ?4)",
                params![code, by, now_ms(), expires],
            )
            .map_err(write_error)?;
            Ok(())
        })
    }

    fn record(&self, record: Record) -> BoxFuture<'static, Result<(), StoreError>> {
        self.exec(move |tx| {
            apply(tx, &record.change).map_err(write_error)?;
            let action = serde_json::to_string(&record.action)
                .map_err(|e| StoreError::Write(e.to_string()))?;
            tx.execute(
                "INSERT INTO moderation_log (room, ts, by, action) VALUES (?1, ?2, ?3, ?4)",
                params![record.room, record.ts, record.by, action],
            )
            .map_err(write_error)?;
            Ok(())
        })
    }

    fn log(
        &self,
        room: &str,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<ModLogEntry>, StoreError>> {
        let limit = sql_limit(limit);
        if limit == 0 {
            return future::ready(Ok(Vec::new())).boxed();
        }
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let room = room.to_owned();
        self.read(move |conn| read_log(conn, &room, before, limit))
    }
}

/// Makes a moderation action's change.
fn apply(tx: &Connection, change: &Change) -> rusqlite::Result<()> {
    match change {
        Change::None => {}
        Change::Role {
            room,
            account,
            role,
        } if role.is_member() => {
            tx.execute(
                "DELETE FROM room_roles WHERE room = ?1 AND account = ?2",
                params![room, account],
            )?;
        }
        Change::Role {
            room,
            account,
            role,
        } => {
            tx.execute(
                "INSERT OR REPLACE INTO room_roles (room, account, role) VALUES (?1, ?2, ?3)",
                params![room, account, schema::role_to_sql(*role)],
            )?;
        }
        Change::Settings { room, topic, slow } => {
            tx.execute(
                "INSERT OR REPLACE INTO room_settings (room, topic, slow) VALUES (?1, ?2, ?3)",
                params![room, topic, slow],
            )?;
        }
        Change::Sanction(sanction) => {
            let (account, address) = match &sanction.subject {
                Subject::Account(id) => (Some(*id), None),
                Subject::Address(ip) => (None, Some(ip.to_string())),
            };
            tx.execute(
                "INSERT INTO sanctions (room, kind, account, address, nick_key, until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    sanction.room,
                    kind_to_sql(sanction.kind),
                    account,
                    address,
                    sanction.nick_key,
                    sanction.until
                ],
            )?;
        }
        Change::Lift {
            room,
            kind,
            nick_key,
            account,
        } => {
            tx.execute(
                "DELETE FROM sanctions WHERE room = ?1 AND kind = ?2
                 AND (nick_key = ?3 OR account IS ?4)",
                params![room, kind_to_sql(*kind), nick_key, account],
            )?;
        }
    }
    Ok(())
}

fn read_snapshot(conn: &Connection, now: i64) -> rusqlite::Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    let mut accounts = conn.prepare_cached("SELECT id, nick, nick_key FROM accounts")?;
    let mut rows = accounts.query([])?;
    while let Some(row) = rows.next()? {
        snapshot
            .accounts
            .push((row.get(0)?, row.get(1)?, row.get(2)?));
    }
    let mut roles = conn.prepare_cached("SELECT room, account, role FROM room_roles")?;
    let mut rows = roles.query([])?;
    while let Some(row) = rows.next()? {
        let role: String = row.get(2)?;
        if let Some(role) = schema::role_from_sql(&role) {
            snapshot.roles.push((row.get(0)?, row.get(1)?, role));
        }
    }
    let mut settings = conn.prepare_cached("SELECT room, topic, slow FROM room_settings")?;
    let mut rows = settings.query([])?;
    while let Some(row) = rows.next()? {
        snapshot
            .settings
            .push((row.get(0)?, row.get(1)?, row.get(2)?));
    }
    let mut sanctions = conn.prepare_cached(
        "SELECT room, kind, account, address, nick_key, until FROM sanctions
         WHERE until IS NULL OR until > ?1",
    )?;
    let mut rows = sanctions.query([now])?;
    while let Some(row) = rows.next()? {
        let kind: String = row.get(1)?;
        let account: Option<i64> = row.get(2)?;
        let address: Option<String> = row.get(3)?;
        let subject = match (account, address.and_then(|a| a.parse::<IpAddr>().ok())) {
            (Some(id), _) => Subject::Account(id),
            (None, Some(ip)) => Subject::Address(ip),
            (None, None) => continue,
        };
        let Some(kind) = kind_from_sql(&kind) else {
            continue;
        };
        snapshot.sanctions.push(Sanction {
            room: row.get(0)?,
            kind,
            subject,
            nick_key: row.get(4)?,
            until: row.get(5)?,
        });
    }
    Ok(snapshot)
}

fn read_log(
    conn: &Connection,
    room: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<ModLogEntry>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT id, ts, by, action FROM moderation_log
             WHERE room = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )
        .map_err(read_error)?;
    let mut rows = statement
        .query(params![room, before, limit])
        .map_err(read_error)?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next().map_err(read_error)? {
        let id: i64 = row.get(0).map_err(read_error)?;
        let action: String = row.get(3).map_err(read_error)?;
        let action: Moderation = serde_json::from_str(&action).map_err(|e| {
            StoreError::Corrupt(format!("moderation log entry {id} does not read: {e}"))
        })?;
        entries.push(ModLogEntry {
            id: u64::try_from(id).unwrap_or(0),
            ts: row.get(1).map_err(read_error)?,
            by: row.get(2).map_err(read_error)?,
            action,
        });
    }
    Ok(entries)
}
