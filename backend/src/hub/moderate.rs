//! What moderators, account holders and operators ask of the hub: the
//! moderation actions, deleting messages, the moderation log, registering,
//! signing out and invite codes.
//!
//! Each is checked here (who may do what to whom), written through the
//! commit pipeline, and only once kept made in memory and announced
//! ([`State::moderated`], [`State::enrolled`]).

use futures_util::FutureExt as _;
use shared::validate::nick_key;
use shared::{ErrorCode, MessageKind, Moderation as Action, Role, Secret, ServerMsg};
use tokio::sync::oneshot;

use super::actor::{Refusal, State, room_key};
use super::commit::{ChangeDraft, Outcome, Pending, Registrant};
use super::nicks::Holder;
use super::{ClientId, Moderate, RegisterRefusal};
use crate::accounts::{self, INVITE_DAYS, Registration, SignedIn, now_ms};
use crate::incident::Incident;
use crate::outbox::Outgoing;
use crate::store::{
    AccountId, Change, NewAccount, Record, Sanction, SanctionKind, SecretHash, StoreError, Subject,
};

/// The longest a guest is banned or muted: an address changes hands.
const GUEST_SANCTION_MS: i64 = 24 * 3_600_000;
/// The longest topic, in characters.
pub(super) const MAX_TOPIC_CHARS: usize = 300;
/// The slowest slow mode: one message an hour.
const MAX_SLOW_SECS: u32 = 3_600;
/// The most entries a moderation log page holds.
const MAX_LOG_PAGE: usize = 100;

/// Who a moderation action is aimed at.
struct Aim {
    nick: String,
    /// An account (online or not), or a guest present now.
    holder: Holder,
    /// Their connections in the room.
    here: Vec<ClientId>,
}

impl State {
    /// A moderator's action in `room`: checked, then written, then made.
    pub(super) fn moderate(
        &mut self,
        id: ClientId,
        room_name: &str,
        action: Moderate,
    ) -> Result<(), Refusal> {
        let by = self.registered(id, None)?;
        let room = room_key(room_name).map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e))?;
        if shared::direct_members(&room).is_some() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "a conversation of two has no moderators",
            ));
        }
        if !self.is_in(id, &room) {
            return Err(Refusal::new(
                ErrorCode::NotInRoom,
                format!("join {room} to moderate it"),
            ));
        }
        let role = self.role_of(id, &room);
        if matches!(action, Moderate::Op { .. }) && role < Role::Owner {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                format!("only the owners of {room} name its moderators"),
            ));
        }
        if !role.moderates() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                format!("only the moderators of {room} may do that"),
            ));
        }
        let now = now_ms();
        let until = |minutes: Option<u32>| minutes.map(|m| now + i64::from(m) * 60_000);
        let (action, change, remove) = match action {
            Moderate::Kick { nick, reason } => {
                let aim = self.aim_present(&room, &nick)?;
                self.outranks(role, &aim, &room)?;
                let action = Action::Kick {
                    target: aim.nick,
                    reason: clean(reason),
                };
                (action, Change::None, aim.here)
            }
            Moderate::Ban {
                nick,
                minutes,
                reason,
            } => {
                let aim = self.aim(&room, &nick)?;
                self.outranks(role, &aim, &room)?;
                let (subject, until) = self.subject(&aim, until(minutes), now)?;
                let change = Change::Sanction(Sanction {
                    room: room.clone(),
                    kind: SanctionKind::Ban,
                    subject,
                    nick_key: nick_key(&aim.nick),
                    until,
                });
                let action = Action::Ban {
                    target: aim.nick,
                    until,
                    reason: clean(reason),
                };
                (action, change, aim.here)
            }
            Moderate::Mute {
                nick,
                minutes,
                reason,
            } => {
                let aim = self.aim(&room, &nick)?;
                self.outranks(role, &aim, &room)?;
                let (subject, until) = self.subject(&aim, until(minutes), now)?;
                let change = Change::Sanction(Sanction {
                    room: room.clone(),
                    kind: SanctionKind::Mute,
                    subject,
                    nick_key: nick_key(&aim.nick),
                    until,
                });
                let action = Action::Mute {
                    target: aim.nick,
                    until,
                    reason: clean(reason),
                };
                (action, change, Vec::new())
            }
            Moderate::Unban { nick } => {
                let change = self.lift(&room, SanctionKind::Ban, &nick);
                (Action::Unban { target: nick }, change, Vec::new())
            }
            Moderate::Unmute { nick } => {
                let change = self.lift(&room, SanctionKind::Mute, &nick);
                (Action::Unmute { target: nick }, change, Vec::new())
            }
            Moderate::Slow { seconds } => {
                if seconds > MAX_SLOW_SECS {
                    return Err(Refusal::new(
                        ErrorCode::Malformed,
                        format!("slow mode is at most one message every {MAX_SLOW_SECS} s"),
                    ));
                }
                let (topic, _) = self.moderation.topic_and_slow(&room);
                let change = Change::Settings {
                    room: room.clone(),
                    topic,
                    slow: seconds,
                };
                (Action::Slow { seconds }, change, Vec::new())
            }
            Moderate::Topic { topic } => {
                let topic = shared::line::strip_controls(&topic).trim().to_owned();
                if topic.chars().count() > MAX_TOPIC_CHARS {
                    return Err(Refusal::new(
                        ErrorCode::TextTooLong,
                        format!("a topic has at most {MAX_TOPIC_CHARS} characters"),
                    ));
                }
                let (_, slow) = self.moderation.topic_and_slow(&room);
                let change = Change::Settings {
                    room: room.clone(),
                    topic: topic.clone(),
                    slow,
                };
                (Action::Topic { topic }, change, Vec::new())
            }
            Moderate::Op { nick, role: given } => {
                if given == Role::Operator {
                    return Err(Refusal::new(
                        ErrorCode::Forbidden,
                        "server operators are named in the server's configuration",
                    ));
                }
                let aim = self.aim(&room, &nick)?;
                let Holder::Account(account) = aim.holder else {
                    return Err(Refusal::new(
                        ErrorCode::Forbidden,
                        format!("{} is a guest: only accounts have roles", aim.nick),
                    ));
                };
                let theirs = self.account_role(account, &room);
                // Owners name moderators and owners; only an operator
                // changes an owner, and nobody an operator.
                if theirs == Role::Operator || (theirs == Role::Owner && role != Role::Operator) {
                    return Err(Refusal::new(
                        ErrorCode::Forbidden,
                        format!("{}'s role is not yours to change", aim.nick),
                    ));
                }
                let change = Change::Role {
                    room: room.clone(),
                    account,
                    role: given,
                };
                let action = Action::Role {
                    target: aim.nick,
                    role: given,
                };
                (action, change, Vec::new())
            }
        };
        let record = Record {
            room,
            by,
            ts: now,
            action,
            change,
        };
        self.keep(id, record, remove)
    }

    /// Writes a moderation action through the commit pipeline.
    fn keep(
        &mut self,
        actor: ClientId,
        record: Record,
        remove: Vec<ClientId>,
    ) -> Result<(), Refusal> {
        if self.commits.is_full() {
            return Err(Refusal::new(
                ErrorCode::StoreFailed,
                "the server is busy; try again in a moment",
            ));
        }
        let write = self.commits.directory.record(record.clone());
        self.commits.push(
            write.map(Outcome::Directory).boxed(),
            Pending::Moderation {
                actor,
                record,
                remove,
            },
        );
        Ok(())
    }

    /// A moderation action was kept: make it, announce it, and take whom it
    /// put out out of the room.
    pub(super) fn moderated(
        &mut self,
        actor: ClientId,
        record: Record,
        remove: Vec<ClientId>,
        result: Result<(), StoreError>,
    ) {
        if let Err(error) = result {
            self.report(actor, "a moderation action could not be kept", &error);
            return;
        }
        self.moderation.apply(&record.change, now_ms());
        let Record {
            room, by, action, ..
        } = record;
        let settings_changed = matches!(
            action,
            Action::Slow { .. } | Action::Topic { .. } | Action::Role { .. }
        );
        // A new room's first owner is not news.
        let claimed = matches!(&action, Action::Role { target, .. } if *target == by);
        if !claimed {
            let event = Outgoing::new(ServerMsg::Moderated {
                room: room.clone(),
                by,
                action,
            });
            self.rooms.broadcast(&room, &event, None);
        }
        for id in remove {
            self.take_out(id, &room);
        }
        if settings_changed {
            self.broadcast_room_state(&room);
        }
    }

    /// Makes `account` the owner of the new room `room`, at once (so that
    /// the next to enter does not claim it too) and in the directory.
    pub(super) fn own(&mut self, id: ClientId, account: AccountId, nick: &str, room: &str) {
        let change = Change::Role {
            room: room.to_owned(),
            account,
            role: Role::Owner,
        };
        self.moderation.apply(&change, now_ms());
        let record = Record {
            room: room.to_owned(),
            by: nick.to_owned(),
            ts: now_ms(),
            action: Action::Role {
                target: nick.to_owned(),
                role: Role::Owner,
            },
            change,
        };
        if self.keep(id, record, Vec::new()).is_err() {
            tracing::warn!(
                room,
                "the owner of a new room could not be kept: the server is busy"
            );
        }
    }

    /// The user `nick` in the room now.
    fn aim_present(&self, room: &str, nick: &str) -> Result<Aim, Refusal> {
        let (holder, here) = self.present_in(room, nick).ok_or_else(|| {
            Refusal::new(
                ErrorCode::NoSuchUser,
                format!("nobody called {nick} is in {room}"),
            )
        })?;
        let nick = here
            .first()
            .and_then(|id| self.nick_of(*id).cloned())
            .unwrap_or_else(|| nick.to_owned());
        Ok(Aim { nick, holder, here })
    }

    /// The user `nick`: anyone in the room, or someone who is not (an
    /// account, online or not, or a guest connected now, elsewhere).
    fn aim(&self, room: &str, nick: &str) -> Result<Aim, Refusal> {
        if let Ok(aim) = self.aim_present(room, nick) {
            return Ok(aim);
        }
        let holder = self
            .nicks
            .holder(nick)
            .or_else(|| self.nicks.account(nick).map(Holder::Account));
        let holder = holder.ok_or_else(|| {
            Refusal::new(
                ErrorCode::NoSuchUser,
                format!("nobody called {nick} is in {room}, and no account has that name"),
            )
        })?;
        let nick = match holder {
            Holder::Account(account) => self.nicks.name(account).cloned(),
            Holder::Guest(id) => self.nick_of(id).cloned(),
        }
        .unwrap_or_else(|| nick.to_owned());
        Ok(Aim {
            nick,
            holder,
            here: Vec::new(),
        })
    }

    /// Refuses an action against someone of the actor's rank or above.
    fn outranks(&self, role: Role, aim: &Aim, room: &str) -> Result<(), Refusal> {
        let theirs = match aim.holder {
            Holder::Account(account) => self.account_role(account, room),
            Holder::Guest(_) => Role::Member,
        };
        if theirs >= role {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                format!("{} moderates {room} too: that is not yours to do", aim.nick),
            ));
        }
        Ok(())
    }

    /// Whom a ban or a mute names, and until when: an account as asked; a
    /// guest by address, for a day at most.
    fn subject(
        &self,
        aim: &Aim,
        until: Option<i64>,
        now: i64,
    ) -> Result<(Subject, Option<i64>), Refusal> {
        match aim.holder {
            Holder::Account(account) => Ok((Subject::Account(account), until)),
            Holder::Guest(id) => {
                let most = now + GUEST_SANCTION_MS;
                let until = until.map_or(most, |u| u.min(most));
                Ok((Subject::Address(self.who(id).ip), Some(until)))
            }
        }
    }

    /// Lifting the bans (or mutes) given to `nick` in `room`.
    fn lift(&self, room: &str, kind: SanctionKind, nick: &str) -> Change {
        Change::Lift {
            room: room.to_owned(),
            kind,
            nick_key: nick_key(nick),
            account: self.nicks.account(nick),
        }
    }

    /// Deletes message `seq` of `room`: the author's own (signed in), or
    /// anyone's for a moderator. The store checks whose it is.
    pub(super) fn delete(
        &mut self,
        id: ClientId,
        room_name: &str,
        seq: u64,
    ) -> Result<(), Refusal> {
        let target = self.member_of(id, None, room_name, "to delete its messages")?;
        let moderator = shared::direct_members(&target.room).is_none()
            && self.role_of(id, &target.room).moderates();
        if !moderator && self.account_of(id).is_none() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "sign in to delete your own messages",
            ));
        }
        let change = ChangeDraft {
            msg_id: None,
            kind: MessageKind::Delete,
            seq,
            text: String::new(),
            moderator,
            edit_window: None,
        };
        self.submit_change(id, target, change)
    }

    /// A page of `room`'s moderation log, read from the directory on a task
    /// of its own and sent to the client when it is there.
    pub(super) fn mod_log(
        &mut self,
        id: ClientId,
        room_name: &str,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<(), Refusal> {
        self.registered(id, None)?;
        let room = room_key(room_name).map_err(|e| Refusal::new(ErrorCode::RoomInvalid, e))?;
        if !self.role_of(id, &room).moderates() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                format!("only the moderators of {room} read its log"),
            ));
        }
        let Some(outbox) = self.outbox_of(id) else {
            return Ok(());
        };
        let limit = limit.map_or(MAX_LOG_PAGE, |l| {
            usize::try_from(l)
                .unwrap_or(MAX_LOG_PAGE)
                .clamp(1, MAX_LOG_PAGE)
        });
        let read = self.commits.directory.log(&room, before, limit);
        tokio::spawn(async move {
            let msg = match read.await {
                Ok(entries) => ServerMsg::ModLog {
                    has_older: entries.len() == limit,
                    room,
                    entries,
                },
                Err(error) => {
                    let incident = Incident::log("a moderation log could not be read", &error);
                    ServerMsg::error(ErrorCode::StoreFailed, incident.to_string())
                }
            };
            let _ = outbox.try_push(Outgoing::new(msg));
        });
        Ok(())
    }

    /// An invite code, for a server operator.
    pub(super) fn invite(&mut self, id: ClientId) -> Result<(), Refusal> {
        self.registered(id, None)?;
        let (Some(account), true) = (self.account_of(id), self.is_operator(id)) else {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only server operators make invite codes",
            ));
        };
        let code = accounts::new_invite().map_err(|error| {
            let incident = Incident::log("no randomness for an invite code", &error);
            Refusal::new(ErrorCode::StoreFailed, incident.to_string())
        })?;
        let expires = now_ms() + INVITE_DAYS * 86_400_000;
        let write =
            self.commits
                .directory
                .create_invite(accounts::hash(code.expose()), account, expires);
        self.commits.push(
            write.map(Outcome::Directory).boxed(),
            Pending::Invite {
                client: id,
                code,
                expires,
            },
        );
        Ok(())
    }

    /// Ends this connection's session (or every session of its account),
    /// then closes the connections that used it.
    pub(super) fn sign_out(&mut self, id: ClientId, everywhere: bool) -> Result<(), Refusal> {
        let (Some(account), Some(session)) = (self.account_of(id), self.credential_of(id)) else {
            return Err(Refusal::new(
                ErrorCode::NotRegistered,
                "you are not signed in",
            ));
        };
        let directory = &self.commits.directory;
        let (write, session) = if everywhere {
            (directory.close_sessions(account), None)
        } else {
            (directory.close_session(session.clone()), Some(session))
        };
        self.commits.push(
            write.map(Outcome::Directory).boxed(),
            Pending::SignOut { account, session },
        );
        Ok(())
    }

    /// Makes the guest nickname of connection `id` an account.
    pub(super) fn register_connection(
        &mut self,
        id: ClientId,
        registration: Registration,
    ) -> Result<(), Refusal> {
        let nick = self.registered(id, None)?;
        if self.account_of(id).is_some() {
            return Err(Refusal::new(
                ErrorCode::AlreadyRegistered,
                "you are signed in to an account already",
            ));
        }
        self.nicks.reserve(&nick, Some(id))?;
        self.set_registering(id, true);
        self.enroll(Registrant::Connection(id), nick, registration);
        Ok(())
    }

    /// Registers `nick` for the HTTP API, unless someone else uses it now:
    /// the guest whose token came with the request may register its own.
    pub(super) fn register_for_http(
        &mut self,
        nick: String,
        registration: Registration,
        guest: Option<&Secret>,
        reply: oneshot::Sender<Result<SignedIn, RegisterRefusal>>,
    ) {
        let nick = match shared::validate::normalize_nick(&nick) {
            Ok(nick) => nick,
            Err(e) => return Self::refuse_http(reply, RegisterRefusal::NickInvalid(e.to_string())),
        };
        let own = guest.and_then(|token| self.guest_of(token)).filter(|id| {
            self.nick_of(*id)
                .is_some_and(|held| nick_key(held) == nick_key(&nick))
        });
        if let Some(id) = own {
            // The nickname as the room knows it, whatever its case here.
            let nick = self.nick_of(id).cloned().unwrap_or(nick);
            if let Err(refusal) = self.nicks.reserve(&nick, Some(id)) {
                let _ = reply.send(Err(RegisterRefusal::Taken(nick)));
                tracing::debug!(code = ?refusal.code, "a guest's own nickname could not be reserved");
                return;
            }
            self.set_registering(id, true);
            return self.enroll(Registrant::GuestOverHttp { id, reply }, nick, registration);
        }
        if let Err(refusal) = self.nicks.reserve(&nick, None) {
            let refusal = match refusal.code {
                ErrorCode::NickRegistered => RegisterRefusal::Taken(nick),
                _ => RegisterRefusal::InUse(nick),
            };
            return Self::refuse_http(reply, refusal);
        }
        self.enroll(Registrant::Http(reply), nick, registration);
    }

    /// Writes a new account (its nickname reserved) through the pipeline.
    fn enroll(&mut self, registrant: Registrant, nick: String, registration: Registration) {
        let Registration {
            password_hash,
            session,
            invite,
        } = registration;
        let session_hash = accounts::hash(session.token.expose());
        let write = self.commits.directory.register(NewAccount {
            nick_key: nick_key(&nick),
            nick: nick.clone(),
            password_hash,
            session: session_hash.clone(),
            expires: session.expires,
            invite,
        });
        self.commits.push(
            write.map(Outcome::Account).boxed(),
            Pending::Register {
                registrant,
                nick,
                session,
                session_hash,
            },
        );
    }

    /// A registration was answered: the account exists now (and its
    /// registrant is signed in to it), or why not.
    pub(super) fn enrolled(
        &mut self,
        registrant: Registrant,
        nick: &str,
        session: accounts::NewSession,
        session_hash: SecretHash,
        result: Result<AccountId, StoreError>,
    ) {
        let account = match result {
            Ok(account) => account,
            Err(error) => {
                self.nicks.unreserve(nick);
                let refusal = match error {
                    StoreError::Taken => RegisterRefusal::Taken(nick.to_owned()),
                    StoreError::InviteInvalid => RegisterRefusal::InviteInvalid,
                    StoreError::Overloaded => RegisterRefusal::Busy,
                    StoreError::Closed => RegisterRefusal::Stopped,
                    error => RegisterRefusal::Store(Incident::log(
                        "an account could not be stored",
                        &error,
                    )),
                };
                match registrant {
                    Registrant::Http(reply) => Self::refuse_http(reply, refusal),
                    Registrant::GuestOverHttp { id, reply } => {
                        self.set_registering(id, false);
                        Self::refuse_http(reply, refusal);
                    }
                    Registrant::Connection(id) => {
                        self.set_registering(id, false);
                        let code = match refusal {
                            RegisterRefusal::Taken(_) => ErrorCode::NickRegistered,
                            RegisterRefusal::InviteInvalid => ErrorCode::RegistrationClosed,
                            _ => ErrorCode::StoreFailed,
                        };
                        self.tell(id, ServerMsg::error(code, refusal.to_string()));
                    }
                }
                return;
            }
        };
        self.nicks.register(account, nick);
        match registrant {
            Registrant::Http(reply) => {
                let _ = reply.send(Ok(SignedIn {
                    account,
                    nick: nick.to_owned(),
                    session: session_hash,
                }));
            }
            Registrant::Connection(id) => {
                self.became_account(id, account, session_hash);
                self.tell(
                    id,
                    ServerMsg::Registered {
                        nick: nick.to_owned(),
                        token: session.token,
                        expires: session.expires,
                    },
                );
            }
            Registrant::GuestOverHttp { id, reply } => {
                self.became_account(id, account, session_hash.clone());
                // The page gets the session as its cookie; the connection
                // hears it is signed in (with the same session).
                self.tell(
                    id,
                    ServerMsg::Registered {
                        nick: nick.to_owned(),
                        token: session.token,
                        expires: session.expires,
                    },
                );
                let _ = reply.send(Ok(SignedIn {
                    account,
                    nick: nick.to_owned(),
                    session: session_hash,
                }));
            }
        }
    }
}

/// A reason as given, without surrounding space or an empty one.
fn clean(reason: Option<String>) -> Option<String> {
    reason
        .map(|r| shared::line::strip_controls(r.trim()).into_owned())
        .filter(|r| !r.is_empty())
}
