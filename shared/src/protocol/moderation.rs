//! Moderation on the wire: roles, the actions moderators take, and what a
//! room's moderation log holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What someone may do in a room. Ordered: each role may do what the ones
/// below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Anyone the room admits.
    Member,
    /// Kicks, bans, mutes, sets slow mode and the topic, deletes messages.
    Moderator,
    /// A moderator who also names the room's moderators and owners.
    Owner,
    /// A server operator (named in the server's configuration): an owner of
    /// every room. Not given with `op`.
    Operator,
}

impl Role {
    pub fn is_member(&self) -> bool {
        *self == Role::Member
    }

    /// Moderator or more.
    pub fn moderates(self) -> bool {
        self >= Role::Moderator
    }
}

/// One moderation action, as it is announced in the room and kept in its
/// log. Tagged by `action`; `target` is the nickname acted on. Times are
/// milliseconds since the Unix epoch (UTC), like a message's `ts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Moderation {
    /// `target` was taken out of the room; they may come back.
    Kick {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// `target` may not enter the room until `until` (forever without it).
    Ban {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Unban {
        target: String,
    },
    /// `target` may read the room but not post until `until` (forever
    /// without it).
    Mute {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Unmute {
        target: String,
    },
    /// Each member may post once every `seconds` (0: slow mode off).
    /// Moderators are not slowed.
    Slow {
        seconds: u32,
    },
    /// The room's topic (empty: none).
    Topic {
        topic: String,
    },
    /// `target`'s role in the room is now `role`.
    Role {
        target: String,
        role: Role,
    },
    /// A moderator deleted `target`'s message `seq` (kept in the log only:
    /// the room sees the deletion as a message).
    Delete {
        target: String,
        seq: u64,
    },
}

/// One entry of a room's moderation log: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModLogEntry {
    /// Increasing over the whole server; a page before one asks `before`.
    pub id: u64,
    pub ts: i64,
    pub by: String,
    #[serde(flatten)]
    pub action: Moderation,
}

/// A room's settings and who has a role in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// Slow mode: a member's posts at least this many seconds apart (0: off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slow: u32,
    /// Nickname → role, for those above [`Role::Member`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Role>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Moderation {
    /// The action as a sentence, with `by` as its subject: `alice kicked bob:
    /// spam`. Times are UTC. The nicknames, reason and topic are the users'
    /// own text: a terminal still strips it.
    pub fn describe(&self, by: &str) -> String {
        let until = |until: &Option<i64>| match until {
            Some(ts) => format!(" until {}", utc(*ts)),
            None => String::new(),
        };
        let because = |reason: &Option<String>| match reason {
            Some(reason) if !reason.trim().is_empty() => format!(": {reason}"),
            _ => String::new(),
        };
        match self {
            Moderation::Kick { target, reason } => {
                format!("{by} kicked {target}{}", because(reason))
            }
            Moderation::Ban {
                target,
                until: end,
                reason,
            } => format!("{by} banned {target}{}{}", until(end), because(reason)),
            Moderation::Unban { target } => format!("{by} lifted {target}'s ban"),
            Moderation::Mute {
                target,
                until: end,
                reason,
            } => format!("{by} muted {target}{}{}", until(end), because(reason)),
            Moderation::Unmute { target } => format!("{by} unmuted {target}"),
            Moderation::Slow { seconds: 0 } => format!("{by} turned slow mode off"),
            Moderation::Slow { seconds } => {
                format!("{by} set slow mode: one message every {seconds} s")
            }
            Moderation::Topic { topic } if topic.is_empty() => format!("{by} cleared the topic"),
            Moderation::Topic { topic } => format!("{by} set the topic: {topic}"),
            Moderation::Role { target, role } => {
                let role = match role {
                    Role::Member => "a member",
                    Role::Moderator => "a moderator",
                    Role::Owner => "an owner",
                    Role::Operator => "an operator",
                };
                format!("{by} made {target} {role}")
            }
            Moderation::Delete { target, seq } => format!("{by} deleted {target}'s message #{seq}"),
        }
    }
}

/// `2026-12-03 14:05 UTC` for a time in milliseconds since the Unix epoch.
pub fn utc(ts_millis: i64) -> String {
    let minutes = ts_millis.div_euclid(60_000);
    let days = minutes.div_euclid(24 * 60);
    let of_day = minutes.rem_euclid(24 * 60);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_and_exact_at_the_edges() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 23:59:59 UTC, a leap day.
        assert_eq!(utc(1_709_251_199_000), "2024-02-29 23:59 UTC");
        assert_eq!(utc(1_709_251_200_000), "2024-03-01 00:00 UTC");
        assert_eq!(utc(-60_000), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn actions_read_as_sentences() {
        let kick = Moderation::Kick {
            target: "bob".into(),
            reason: Some("spam".into()),
        };
        assert_eq!(kick.describe("alice"), "alice kicked bob: spam");
        let ban = Moderation::Ban {
            target: "bob".into(),
            until: Some(1_709_251_200_000),
            reason: None,
        };
        assert_eq!(
            ban.describe("alice"),
            "alice banned bob until 2024-03-01 00:00 UTC"
        );
        let role = Moderation::Role {
            target: "bob".into(),
            role: Role::Moderator,
        };
        assert_eq!(role.describe("alice"), "alice made bob a moderator");
        assert_eq!(
            Moderation::Slow { seconds: 0 }.describe("alice"),
            "alice turned slow mode off"
        );
        assert!(Role::Owner.moderates() && !Role::Member.moderates());
    }
}
