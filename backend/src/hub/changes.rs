//! Changes people make to messages already sent: editing one's own, and
//! reacting to anyone's. Each is checked here for what the hub knows (who
//! asks, in which room, whether muted) and by the store, as it writes it,
//! for what only the message knows (whose it is, how old, its reactions);
//! see `store::writer::effect`.

use shared::limits::{MAX_EMOJI_BYTES, MAX_ID_BYTES};
use shared::{ClientMsgId, ErrorCode, MessageKind, direct_members, validate};

use super::ClientId;
use super::actor::{Refusal, State};
use super::commit::{ChangeDraft, Target};

impl State {
    /// Replaces the text of the client's message `seq` of `room`.
    pub(super) fn edit(
        &mut self,
        id: ClientId,
        msg_id: Option<ClientMsgId>,
        room: &str,
        seq: u64,
        text: String,
    ) -> Result<(), Refusal> {
        let refuse =
            |code, message: &str| Refusal::about(msg_id.as_ref(), code, message.to_owned());
        let target = self.room_to_change(id, msg_id.as_ref(), room)?;
        if self.account_of(id).is_none() {
            return Err(refuse(
                ErrorCode::Forbidden,
                "sign in to edit your messages: a guest's are nobody's once it leaves",
            ));
        }
        if self.edit_window.is_zero() {
            return Err(refuse(
                ErrorCode::Forbidden,
                "messages cannot be edited on this server",
            ));
        }
        if let Some(msg_id) = &msg_id
            && !validate::validate_id(msg_id)
        {
            return Err(Refusal::about(
                Some(msg_id),
                ErrorCode::IdInvalid,
                format!("a message id has 1 to {MAX_ID_BYTES} bytes"),
            ));
        }
        validate::validate_text(&text).map_err(|e| {
            let code = match e {
                validate::TextError::Empty => ErrorCode::TextEmpty,
                validate::TextError::TooLong(_) => ErrorCode::TextTooLong,
            };
            Refusal::about(msg_id.as_ref(), code, e.to_string())
        })?;
        let change = ChangeDraft {
            msg_id,
            kind: MessageKind::Edit,
            seq,
            text,
            moderator: false,
            edit_window: Some(self.edit_window),
        };
        self.submit_change(id, target, change)
    }

    /// Gives (or takes back) the client's reaction `emoji` to message `seq`
    /// of `room`.
    pub(super) fn react(
        &mut self,
        id: ClientId,
        room: &str,
        seq: u64,
        emoji: &str,
        remove: bool,
    ) -> Result<(), Refusal> {
        let target = self.room_to_change(id, None, room)?;
        let emoji = one_emoji(emoji).ok_or_else(|| {
            Refusal::new(
                ErrorCode::ReactionInvalid,
                "a reaction is one emoji, such as 👍",
            )
        })?;
        let change = ChangeDraft {
            msg_id: None,
            kind: if remove {
                MessageKind::Unreact
            } else {
                MessageKind::React
            },
            seq,
            text: emoji.to_owned(),
            moderator: false,
            edit_window: None,
        };
        self.submit_change(id, target, change)
    }

    /// Where a change to a message of `room` is made, and under which name:
    /// the client is in the room, and (in a named room) not muted. Slow mode
    /// slows posts only.
    fn room_to_change(
        &mut self,
        id: ClientId,
        msg_id: Option<&ClientMsgId>,
        room_name: &str,
    ) -> Result<Target, Refusal> {
        let target = self.member_of(id, msg_id, room_name, "to change its messages")?;
        if direct_members(&target.room).is_none() {
            self.not_muted(id, &target.room)
                .map_err(|e| Refusal::about(msg_id, e.code, e.message))?;
        }
        Ok(target)
    }
}

/// `text` as the one emoji it is, in its fully qualified form (so that ❤
/// and ❤️ are one reaction), if it is exactly one.
fn one_emoji(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_EMOJI_BYTES {
        return None;
    }
    emojis::get(text).map(emojis::Emoji::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaction_is_exactly_one_emoji_in_its_qualified_form() {
        assert_eq!(one_emoji("👍"), Some("👍"));
        assert_eq!(one_emoji(" 🎉 "), Some("🎉"));
        assert_eq!(one_emoji("❤"), one_emoji("❤️"));
        assert_eq!(one_emoji("👍🏽"), Some("👍🏽"));
        assert_eq!(one_emoji("👩‍💻"), Some("👩‍💻"));
        for not_one in ["", "a", "👍👍", "👍 ok", ":+1:", "<b>"] {
            assert_eq!(one_emoji(not_one), None, "{not_one:?}");
        }
    }
}
