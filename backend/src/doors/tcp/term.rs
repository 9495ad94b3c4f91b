//! What a terminal connection knows about its user and the hub does not
//! tell it on request: whether it has a nickname yet, the current room (the
//! last one joined, where plain lines go) and each room's online list, for
//! `/who`. It follows the events written to the terminal.

use std::collections::BTreeMap;

use shared::line::EOL;
use shared::{DEFAULT_ROOM, ErrorCode, ServerMsg};

use super::connection::PROMPT;

/// What the connection knows about its user.
#[derive(Default)]
pub(super) struct Term {
    pub(super) registered: bool,
    /// Where plain lines go: the last room joined.
    current: Option<String>,
    /// The rooms the user is in, with their online lists.
    pub(super) rooms: BTreeMap<String, Vec<String>>,
    /// The rooms' topics, for `/topic`.
    pub(super) topics: BTreeMap<String, String>,
}

impl Term {
    /// Follows an event about to be written; returns lines of its own to
    /// write after it.
    pub(super) fn observe(&mut self, msg: &ServerMsg) -> Option<String> {
        match msg {
            ServerMsg::Welcome { .. } => self.registered = true,
            ServerMsg::Joined { room, members, .. } => {
                self.rooms.insert(room.clone(), members.clone());
                // A direct conversation someone opens does not take over
                // the current room; /msg is how to talk there.
                if !room.starts_with('@') {
                    self.current = Some(room.clone());
                }
            }
            ServerMsg::RoomState { room, settings } => {
                if settings.topic.is_empty() {
                    self.topics.remove(room);
                } else {
                    self.topics.insert(room.clone(), settings.topic.clone());
                }
            }
            ServerMsg::Left { room } => {
                self.rooms.remove(room);
                self.topics.remove(room);
                if self.current.as_deref() == Some(room) {
                    self.current = self
                        .rooms
                        .keys()
                        .find(|r| r.as_str() == DEFAULT_ROOM)
                        .or_else(|| self.rooms.keys().find(|r| !r.starts_with('@')))
                        .cloned();
                    return Some(match &self.current {
                        Some(room) => format!("-- now talking in [{room}]{EOL}"),
                        None => format!("-- you are in no room; /join ROOM{EOL}"),
                    });
                }
            }
            ServerMsg::UserJoined { room, nick } => {
                if let Some(members) = self.rooms.get_mut(room)
                    && !members.contains(nick)
                {
                    members.push(nick.clone());
                }
            }
            ServerMsg::UserLeft { room, nick } => {
                if let Some(members) = self.rooms.get_mut(room) {
                    members.retain(|m| m != nick);
                }
            }
            ServerMsg::Members { room, members } => {
                if let Some(known) = self.rooms.get_mut(room) {
                    known.clone_from(members);
                }
            }
            ServerMsg::NickChanged { old, new, .. } => {
                for members in self.rooms.values_mut() {
                    for member in members.iter_mut().filter(|m| *m == old) {
                        member.clone_from(new);
                    }
                }
            }
            ServerMsg::Error {
                code:
                    ErrorCode::NickTaken
                    | ErrorCode::NickInvalid
                    | ErrorCode::AuthFailed
                    | ErrorCode::GuestsNotAllowed
                    | ErrorCode::RateLimited,
                ..
            } if !self.registered => return Some(PROMPT.to_owned()),
            _ => {}
        }
        None
    }

    /// The room plain lines go to, or the error to show.
    pub(super) fn room(&self) -> Result<String, String> {
        self.current
            .clone()
            .ok_or_else(|| "you are in no room; /join ROOM".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_room_follows_joins_and_leaves() {
        let mut term = Term::default();
        let joined = |room: &str| ServerMsg::Joined {
            room: room.into(),
            members: vec!["me".into()],
            head: 0,
        };
        term.observe(&joined("lobby"));
        term.observe(&joined("rust"));
        assert_eq!(term.room().unwrap(), "rust");
        term.observe(&joined("@a+me"));
        assert_eq!(term.room().unwrap(), "rust", "a conversation is not a room");
        term.observe(&ServerMsg::UserJoined {
            room: "rust".into(),
            nick: "bob".into(),
        });
        assert_eq!(term.rooms["rust"], ["me", "bob"]);
        let note = term.observe(&ServerMsg::Left {
            room: "rust".into(),
        });
        assert_eq!(note.unwrap(), "-- now talking in [lobby]\r\n");
        assert_eq!(term.room().unwrap(), "lobby");
    }
}
