//! What moderators decided, as the hub keeps it in memory: each room's
//! roles, topic and slow mode, and the bans and mutes in force. Loaded from
//! the directory at start; every change is written there (through the
//! commit pipeline) before it is made here.

use std::collections::HashMap;
use std::net::IpAddr;

use shared::{Role, RoomSettings};

use crate::store::{AccountId, Change, Sanction, SanctionKind, Snapshot, Subject};

#[derive(Default)]
pub(super) struct Moderation {
    /// Room → account → role (above member).
    roles: HashMap<String, HashMap<AccountId, Role>>,
    /// Room → (topic, slow mode seconds).
    settings: HashMap<String, (String, u32)>,
    /// Room → bans and mutes (some may have run out; they are ignored and
    /// swept when the room's list changes).
    sanctions: HashMap<String, Vec<Sanction>>,
}

/// Who a check is about: their account if signed in, and their address.
#[derive(Debug, Clone, Copy)]
pub(super) struct Who {
    pub account: Option<AccountId>,
    pub ip: IpAddr,
}

impl Moderation {
    pub(super) fn load(snapshot: &Snapshot) -> Self {
        let mut moderation = Self::default();
        for (room, account, role) in &snapshot.roles {
            moderation
                .roles
                .entry(room.clone())
                .or_default()
                .insert(*account, *role);
        }
        for (room, topic, slow) in &snapshot.settings {
            moderation
                .settings
                .insert(room.clone(), (topic.clone(), *slow));
        }
        for sanction in &snapshot.sanctions {
            moderation
                .sanctions
                .entry(sanction.room.clone())
                .or_default()
                .push(sanction.clone());
        }
        moderation
    }

    /// An account's role in a room, from the room's table (operators are
    /// the caller's business: they are in the configuration).
    pub(super) fn role(&self, room: &str, account: AccountId) -> Role {
        self.roles
            .get(room)
            .and_then(|roles| roles.get(&account))
            .copied()
            .unwrap_or(Role::Member)
    }

    /// The room's roles above member.
    pub(super) fn roles(&self, room: &str) -> impl Iterator<Item = (AccountId, Role)> + '_ {
        self.roles
            .get(room)
            .into_iter()
            .flat_map(|roles| roles.iter().map(|(account, role)| (*account, *role)))
    }

    /// Whether anyone has a role in the room.
    pub(super) fn has_roles(&self, room: &str) -> bool {
        self.roles.get(room).is_some_and(|roles| !roles.is_empty())
    }

    pub(super) fn topic_and_slow(&self, room: &str) -> (String, u32) {
        self.settings.get(room).cloned().unwrap_or_default()
    }

    pub(super) fn slow(&self, room: &str) -> u32 {
        self.settings.get(room).map_or(0, |(_, slow)| *slow)
    }

    /// The room's settings as clients see them, with the roles by nickname
    /// (`nick_of` names an account; operators present are added by the
    /// caller).
    pub(super) fn settings(
        &self,
        room: &str,
        nick_of: impl Fn(AccountId) -> Option<String>,
    ) -> RoomSettings {
        let (topic, slow) = self.topic_and_slow(room);
        let roles = self
            .roles(room)
            .filter_map(|(account, role)| Some((nick_of(account)?, role)))
            .collect();
        RoomSettings { topic, slow, roles }
    }

    /// Until when `who` is under a sanction of `kind` in `room` (`Some(None)`:
    /// with no end), if they are at `now`.
    pub(super) fn under(
        &self,
        room: &str,
        kind: SanctionKind,
        who: Who,
        now: i64,
    ) -> Option<Option<i64>> {
        let sanctions = self.sanctions.get(room)?;
        sanctions
            .iter()
            .filter(|s| s.kind == kind && s.until.is_none_or(|until| until > now))
            .filter(|s| match s.subject {
                Subject::Account(account) => who.account == Some(account),
                // An address ban keeps out the guests of that address; a
                // signed-in user answers for their account only.
                Subject::Address(ip) => who.account.is_none() && who.ip == ip,
            })
            .map(|s| s.until)
            .max_by_key(|until| until.unwrap_or(i64::MAX))
    }

    /// Makes a change the directory has kept.
    pub(super) fn apply(&mut self, change: &Change, now: i64) {
        match change {
            Change::None => {}
            Change::Role {
                room,
                account,
                role,
            } => {
                let roles = self.roles.entry(room.clone()).or_default();
                if role.is_member() {
                    roles.remove(account);
                } else {
                    roles.insert(*account, *role);
                }
                if roles.is_empty() {
                    self.roles.remove(room);
                }
            }
            Change::Settings { room, topic, slow } => {
                if topic.is_empty() && *slow == 0 {
                    self.settings.remove(room);
                } else {
                    self.settings.insert(room.clone(), (topic.clone(), *slow));
                }
            }
            Change::Sanction(sanction) => {
                let list = self.sanctions.entry(sanction.room.clone()).or_default();
                list.retain(|s| s.until.is_none_or(|until| until > now));
                list.push(sanction.clone());
            }
            Change::Lift {
                room,
                kind,
                nick_key,
                account,
            } => {
                if let Some(list) = self.sanctions.get_mut(room) {
                    list.retain(|s| {
                        let lifted = s.kind == *kind
                            && (s.nick_key == *nick_key
                                || matches!(s.subject, Subject::Account(a) if Some(a) == *account));
                        !lifted && s.until.is_none_or(|until| until > now)
                    });
                    if list.is_empty() {
                        self.sanctions.remove(room);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(subject: Subject, until: Option<i64>) -> Change {
        Change::Sanction(Sanction {
            room: "lobby".into(),
            kind: SanctionKind::Ban,
            subject,
            nick_key: "bob".into(),
            until,
        })
    }

    #[test]
    fn bans_keep_out_their_subject_until_they_run_out_or_are_lifted() {
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let mut moderation = Moderation::default();
        moderation.apply(&ban(Subject::Address(ip), Some(1_000)), 0);
        moderation.apply(&ban(Subject::Account(7), None), 0);
        let guest = Who { account: None, ip };
        let account = Who {
            account: Some(7),
            ip: "198.51.100.1".parse().unwrap(),
        };
        let signed_in_same_address = Who {
            account: Some(8),
            ip,
        };
        assert_eq!(
            moderation.under("lobby", SanctionKind::Ban, guest, 500),
            Some(Some(1_000))
        );
        assert_eq!(
            moderation.under("lobby", SanctionKind::Ban, guest, 1_000),
            None,
            "ran out"
        );
        assert_eq!(
            moderation.under("lobby", SanctionKind::Ban, account, 5),
            Some(None)
        );
        assert_eq!(
            moderation.under("lobby", SanctionKind::Ban, signed_in_same_address, 5),
            None
        );
        assert_eq!(
            moderation.under("lobby", SanctionKind::Mute, account, 5),
            None
        );
        assert_eq!(
            moderation.under("rust", SanctionKind::Ban, account, 5),
            None
        );
        moderation.apply(
            &Change::Lift {
                room: "lobby".into(),
                kind: SanctionKind::Ban,
                nick_key: "bob".into(),
                account: Some(7),
            },
            5,
        );
        assert_eq!(
            moderation.under("lobby", SanctionKind::Ban, account, 5),
            None
        );
        assert_eq!(moderation.under("lobby", SanctionKind::Ban, guest, 5), None);
    }

    #[test]
    fn roles_and_settings_follow_their_changes() {
        let mut moderation = Moderation::default();
        moderation.apply(
            &Change::Role {
                room: "rust".into(),
                account: 1,
                role: Role::Owner,
            },
            0,
        );
        assert_eq!(moderation.role("rust", 1), Role::Owner);
        assert_eq!(moderation.role("lobby", 1), Role::Member);
        moderation.apply(
            &Change::Settings {
                room: "rust".into(),
                topic: "be kind".into(),
                slow: 5,
            },
            0,
        );
        let settings = moderation.settings("rust", |account| Some(format!("n{account}")));
        assert_eq!(settings.topic, "be kind");
        assert_eq!(settings.slow, 5);
        assert_eq!(settings.roles.get("n1"), Some(&Role::Owner));
        moderation.apply(
            &Change::Role {
                room: "rust".into(),
                account: 1,
                role: Role::Member,
            },
            0,
        );
        assert!(!moderation.has_roles("rust"));
    }
}
