//! Who may do what to whom in a room, as the web client shows it: the role
//! badges of the online list, which members get a moderation menu and what
//! its choices send, and which messages get a "Delete" action. The server
//! decides in the end (a refusal is a `forbidden` error); these rules only
//! keep the page from offering what it would refuse.
//!
//! Plain Rust, tested natively.

use std::collections::BTreeMap;

use shared::protocol::Role;
use shared::{ChatMessage, ClientMsg, MessageKind};

use crate::lowercase::lowercase;

/// Someone's role in a room: the one `roles` names (a room's
/// [`shared::RoomSettings::roles`], which lists those above
/// [`Role::Member`]), the same nickname in another case counting too.
pub fn role_of(roles: &BTreeMap<String, Role>, nick: &str) -> Role {
    if let Some(role) = roles.get(nick) {
        return *role;
    }
    let key = lowercase(nick);
    roles
        .iter()
        .find(|(name, _)| lowercase(name) == key)
        .map_or(Role::Member, |(_, role)| *role)
}

/// The badge next to a name in the online list (none for members).
pub fn badge(role: Role) -> Option<&'static str> {
    match role {
        Role::Member => None,
        Role::Moderator => Some("mod"),
        Role::Owner => Some("owner"),
        Role::Operator => Some("operator"),
    }
}

/// Whether someone with the role `mine` gets a moderation menu for someone
/// with `theirs`: moderators act on those below them, never on their peers
/// or on those who appointed them.
pub fn can_moderate(mine: Role, theirs: Role) -> bool {
    mine.moderates() && theirs < mine
}

/// Whether `mine` may appoint and remove moderators.
pub fn can_appoint(mine: Role) -> bool {
    mine >= Role::Owner
}

/// How long a ban or a mute lasts, as the menu offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    Hour,
    Day,
    Forever,
}

impl Term {
    pub const ALL: [Term; 3] = [Term::Hour, Term::Day, Term::Forever];

    /// The wire's `minutes` (none: forever).
    pub fn minutes(self) -> Option<u32> {
        match self {
            Term::Hour => Some(60),
            Term::Day => Some(24 * 60),
            Term::Forever => None,
        }
    }
}

/// What the member menu can do to someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    Kick,
    Ban(Term),
    Mute(Term),
    Unmute,
    /// Make a member a moderator (owners).
    Promote,
    /// Make a moderator a member again (owners).
    Demote,
}

/// The menu's choices for someone with the role `theirs`, for someone with
/// `mine` (empty: no menu).
pub fn menu(mine: Role, theirs: Role) -> Vec<MemberAction> {
    if !can_moderate(mine, theirs) {
        return Vec::new();
    }
    let mut choices = vec![MemberAction::Kick];
    choices.extend(Term::ALL.map(MemberAction::Mute));
    choices.push(MemberAction::Unmute);
    choices.extend(Term::ALL.map(MemberAction::Ban));
    if can_appoint(mine) {
        match theirs {
            Role::Member => choices.push(MemberAction::Promote),
            Role::Moderator => choices.push(MemberAction::Demote),
            Role::Owner | Role::Operator => {}
        }
    }
    choices
}

impl Term {
    /// How a button names it (under "Mute for", "Ban for").
    pub fn label(self) -> &'static str {
        match self {
            Term::Hour => "1 hour",
            Term::Day => "1 day",
            Term::Forever => "forever",
        }
    }
}

impl MemberAction {
    /// The button's text (a term's, for a ban or a mute), and its
    /// `data-testid` (`mod-kick`, `mod-ban-day`, …).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            MemberAction::Kick => ("Kick", "mod-kick"),
            MemberAction::Mute(Term::Hour) => ("1 h", "mod-mute-hour"),
            MemberAction::Mute(Term::Day) => ("1 day", "mod-mute-day"),
            MemberAction::Mute(Term::Forever) => ("forever", "mod-mute-forever"),
            MemberAction::Unmute => ("Unmute", "mod-unmute"),
            MemberAction::Ban(Term::Hour) => ("1 h", "mod-ban-hour"),
            MemberAction::Ban(Term::Day) => ("1 day", "mod-ban-day"),
            MemberAction::Ban(Term::Forever) => ("forever", "mod-ban-forever"),
            MemberAction::Promote => ("Make moderator", "mod-promote"),
            MemberAction::Demote => ("Remove moderator", "mod-demote"),
        }
    }

    /// What the button says to a screen reader: `Ban bob for 1 day`.
    pub fn spoken(self, nick: &str) -> String {
        match self {
            MemberAction::Mute(term) => format!("Mute {nick} for {}", term.label()),
            MemberAction::Ban(term) => format!("Ban {nick} for {}", term.label()),
            other => format!("{} {nick}", other.label().0),
        }
    }
}

/// The message a menu choice sends about `nick` in `room`. A blank reason
/// is none.
pub fn member_command(action: MemberAction, room: &str, nick: &str, reason: &str) -> ClientMsg {
    let (room, nick) = (room.to_owned(), nick.to_owned());
    let reason = Some(reason.trim().to_owned()).filter(|r| !r.is_empty());
    match action {
        MemberAction::Kick => ClientMsg::Kick { room, nick, reason },
        MemberAction::Ban(term) => ClientMsg::Ban {
            room,
            nick,
            minutes: term.minutes(),
            reason,
        },
        MemberAction::Mute(term) => ClientMsg::Mute {
            room,
            nick,
            minutes: term.minutes(),
            reason,
        },
        MemberAction::Unmute => ClientMsg::Unmute { room, nick },
        MemberAction::Promote => ClientMsg::Op {
            room,
            nick,
            role: Role::Moderator,
        },
        MemberAction::Demote => ClientMsg::Op {
            room,
            nick,
            role: Role::Member,
        },
    }
}

/// Whether the person may delete `msg`: their own when signed in (guests'
/// messages have no owner the server could check later), anyone's as a
/// moderator of its room. Deleted messages and what is not a message
/// (a deletion itself) have nothing to delete.
pub fn may_delete(msg: &ChatMessage, me: Option<&str>, account: bool, mine: Role) -> bool {
    if msg.deleted || !matches!(msg.kind, MessageKind::Text | MessageKind::Action) {
        return false;
    }
    mine.moderates() || (account && me == Some(msg.nick.as_str()))
}

/// Whether the person may edit `msg`: their own text, signed in (the
/// server says whether it is still within the edit window). A file's
/// message keeps the file's name.
pub fn may_edit(msg: &ChatMessage, me: Option<&str>, account: bool) -> bool {
    account
        && me == Some(msg.nick.as_str())
        && !msg.deleted
        && msg.attachment.is_none()
        && matches!(msg.kind, MessageKind::Text | MessageKind::Action)
}

/// The online list in reading order: owners and moderators first, then
/// everyone else, each part case-insensitively (ties broken exactly, so that
/// the list does not jump).
pub fn member_order<'a>(members: &'a [String], roles: &BTreeMap<String, Role>) -> Vec<&'a str> {
    let mut list: Vec<(Role, String, &str)> = members
        .iter()
        .map(|m| (role_of(roles, m), lowercase(m), m.as_str()))
        .collect();
    // Ties are equal entries: an unstable sort gives the same list, with
    // less code than the stable one.
    list.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    list.into_iter().map(|(_, _, nick)| nick).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(list: &[(&str, Role)]) -> BTreeMap<String, Role> {
        list.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect()
    }

    #[test]
    fn roles_are_looked_up_by_nickname_in_any_case() {
        let roles = roles(&[("Ada", Role::Owner), ("bob", Role::Moderator)]);
        assert_eq!(role_of(&roles, "Ada"), Role::Owner);
        assert_eq!(role_of(&roles, "ada"), Role::Owner);
        assert_eq!(role_of(&roles, "BOB"), Role::Moderator);
        assert_eq!(role_of(&roles, "carol"), Role::Member);
        assert_eq!(badge(Role::Member), None);
        assert_eq!(badge(Role::Moderator), Some("mod"));
    }

    #[test]
    fn the_menu_is_for_moderators_and_only_about_those_below_them() {
        use MemberAction::{Ban, Kick, Mute, Unmute};
        use Role::*;
        assert!(menu(Member, Member).is_empty(), "members moderate nobody");
        assert!(menu(Moderator, Moderator).is_empty(), "nor do peers");
        assert!(menu(Moderator, Owner).is_empty());
        assert!(menu(Owner, Operator).is_empty());
        assert_eq!(
            menu(Moderator, Member),
            [
                Kick,
                Mute(Term::Hour),
                Mute(Term::Day),
                Mute(Term::Forever),
                Unmute,
                Ban(Term::Hour),
                Ban(Term::Day),
                Ban(Term::Forever)
            ]
        );
        // Owners also appoint and remove moderators.
        assert_eq!(menu(Owner, Member).last(), Some(&MemberAction::Promote));
        assert_eq!(menu(Owner, Moderator).last(), Some(&MemberAction::Demote));
        assert_eq!(menu(Operator, Owner).len(), 8, "owners are not demoted");
        assert!(can_appoint(Operator) && !can_appoint(Moderator));
    }

    #[test]
    fn menu_choices_send_the_matching_command() {
        assert_eq!(
            member_command(MemberAction::Kick, "mods", "bob", "  spam "),
            ClientMsg::Kick {
                room: "mods".into(),
                nick: "bob".into(),
                reason: Some("spam".into())
            }
        );
        assert_eq!(
            member_command(MemberAction::Ban(Term::Day), "mods", "bob", " "),
            ClientMsg::Ban {
                room: "mods".into(),
                nick: "bob".into(),
                minutes: Some(1440),
                reason: None
            }
        );
        assert_eq!(
            member_command(MemberAction::Mute(Term::Forever), "mods", "bob", ""),
            ClientMsg::Mute {
                room: "mods".into(),
                nick: "bob".into(),
                minutes: None,
                reason: None
            }
        );
        assert_eq!(
            member_command(MemberAction::Demote, "mods", "bob", "ignored"),
            ClientMsg::Op {
                room: "mods".into(),
                nick: "bob".into(),
                role: Role::Member
            }
        );
        assert_eq!(Term::Hour.minutes(), Some(60));
        assert_eq!(
            MemberAction::Ban(Term::Day).label(),
            ("1 day", "mod-ban-day")
        );
        assert_eq!(
            MemberAction::Ban(Term::Day).spoken("bob"),
            "Ban bob for 1 day"
        );
        assert_eq!(MemberAction::Kick.spoken("bob"), "Kick bob");
    }

    fn msg(nick: &str, kind: MessageKind, deleted: bool) -> ChatMessage {
        ChatMessage {
            room: "lobby".into(),
            seq: 4,
            ts: 0,
            nick: nick.into(),
            text: "x".into(),
            kind,
            attachment: None,
            target: None,
            deleted,
            quote: None,
            edited: None,
            reactions: Vec::new(),
            rev: 0,
        }
    }

    #[test]
    fn signed_in_authors_delete_their_own_and_moderators_anyones() {
        let mine = msg("ada", MessageKind::Text, false);
        let theirs = msg("bob", MessageKind::Action, false);
        assert!(may_delete(&mine, Some("ada"), true, Role::Member));
        assert!(
            !may_delete(&mine, Some("ada"), false, Role::Member),
            "a guest"
        );
        assert!(!may_delete(&theirs, Some("ada"), true, Role::Member));
        assert!(may_delete(&theirs, Some("ada"), false, Role::Moderator));
        let gone = msg("ada", MessageKind::Text, true);
        assert!(!may_delete(&gone, Some("ada"), true, Role::Owner));
        let deletion = msg("ada", MessageKind::Delete, false);
        assert!(!may_delete(&deletion, Some("ada"), true, Role::Owner));
    }

    #[test]
    fn only_signed_in_authors_edit_their_own_text() {
        let mine = msg("ada", MessageKind::Text, false);
        assert!(may_edit(&mine, Some("ada"), true));
        assert!(!may_edit(&mine, Some("ada"), false), "a guest");
        assert!(!may_edit(&mine, Some("bob"), true), "someone else's");
        assert!(!may_edit(
            &msg("ada", MessageKind::Text, true),
            Some("ada"),
            true
        ));
        assert!(!may_edit(
            &msg("ada", MessageKind::Edit, false),
            Some("ada"),
            true
        ));
        let file = ChatMessage {
            attachment: Some(shared::Attachment {
                id: "f1".into(),
                name: "cat.png".into(),
                size: 1,
                content_type: "image/png".into(),
            }),
            ..mine
        };
        assert!(!may_edit(&file, Some("ada"), true), "a file keeps its name");
    }

    #[test]
    fn owners_and_moderators_head_the_online_list() {
        let members = ["carol", "bob", "Ada", "dave", "alice"].map(String::from);
        let roles = roles(&[("dave", Role::Moderator), ("carol", Role::Owner)]);
        assert_eq!(
            member_order(&members, &roles),
            ["carol", "dave", "Ada", "alice", "bob"]
        );
    }
}
