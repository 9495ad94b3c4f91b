//! How the hub's events look on IRC, as seen by this connection's
//! nickname: JOIN, PRIVMSG, TOPIC, numerics; with the IRCv3 tags the client
//! took (`msgid`, `time`, `batch`), and history in batches.

use shared::line::{size_label, strip_controls};
use shared::{
    ChatMessage, ErrorCode, MessageKind, Moderation, ServerMsg, direct_members, direct_room,
};

use super::connection::{HOST, IrcWire, Out, SERVER};
use super::message::{self, MAX_LINE, escape_tag, stamp};

/// How a message reaches the client.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery<'a> {
    /// As it happens.
    Live,
    /// Replayed or asked for: inside this batch, if the client takes them.
    History(Option<&'a str>),
}

impl IrcWire {
    pub(super) fn prefix(nick: &str) -> String {
        let nick = irc_nick(nick);
        format!("{nick}!{nick}@{HOST}")
    }

    pub(super) fn names_lines(&self, room: &str) -> Vec<Out> {
        let mut lines = Vec::new();
        if let Some(channel) = self.channels.get(room) {
            let mut names = String::new();
            for member in &channel.members {
                // Several lines for a crowded room, each within 512 bytes.
                if names.len() + member.len() > 400 {
                    lines.push(Out::to("353", format!("= #{room} :{}", names.trim_end())));
                    names.clear();
                }
                names.push_str(&irc_nick(member));
                names.push(' ');
            }
            lines.push(Out::to("353", format!("= #{room} :{}", names.trim_end())));
        }
        lines.push(Out::to("366", format!("#{room} :End of /NAMES list")));
        lines
    }

    pub(super) fn topic_lines(&self, room: &str, asked: bool) -> Vec<Out> {
        match self.channels.get(room) {
            Some(channel) if !channel.topic.is_empty() => {
                vec![Out::to(
                    "332",
                    format!("#{room} :{}", one_line(&channel.topic)),
                )]
            }
            Some(_) if asked => vec![Out::to("331", format!("#{room} :No topic is set"))],
            Some(_) => Vec::new(),
            None => vec![Out::to(
                "442",
                format!("#{room} :You're not on that channel"),
            )],
        }
    }

    pub(super) fn who_lines(&self, mask: &str) -> Vec<Out> {
        let room = mask.strip_prefix('#');
        let mut lines = Vec::new();
        let line = |channel: &str, nick: &str| {
            let nick = irc_nick(nick);
            Out::to(
                "352",
                format!("{channel} {nick} {HOST} {SERVER} {nick} H :0 {nick}"),
            )
        };
        match room {
            Some(room) => {
                if let Some(channel) = self.channels.get(room) {
                    for member in &channel.members {
                        lines.push(line(mask, member));
                    }
                }
            }
            None => {
                let known = self
                    .channels
                    .iter()
                    .find(|(_, channel)| channel.members.iter().any(|m| irc_nick(m) == mask));
                if let Some((room, _)) = known {
                    lines.push(line(&format!("#{room}"), mask));
                }
            }
        }
        lines.push(Out::to("315", format!("{mask} :End of /WHO list")));
        lines
    }

    pub(super) fn whois_lines(&self, nick: &str) -> Vec<Out> {
        let rooms: Vec<String> = self
            .channels
            .iter()
            .filter(|(_, channel)| channel.members.iter().any(|m| irc_nick(m) == nick))
            .map(|(room, _)| format!("#{room}"))
            .collect();
        let mut lines = Vec::new();
        if rooms.is_empty() && nick != self.nick {
            lines.push(Out::to(
                "401",
                format!("{nick} :No such nick in your channels"),
            ));
        } else {
            lines.push(Out::to("311", format!("{nick} {nick} {HOST} * :{nick}")));
            if !rooms.is_empty() {
                lines.push(Out::to("319", format!("{nick} :{}", rooms.join(" "))));
            }
            lines.push(Out::to("312", format!("{nick} {SERVER} :Hubbub")));
        }
        lines.push(Out::to("318", format!("{nick} :End of /WHOIS list")));
        lines
    }

    /// The lines that show an event to this connection, and what it learns
    /// from it.
    pub(super) fn show(&mut self, msg: &ServerMsg) {
        // History right after a `joined` is the join's; any other is a
        // reader that fell behind catching up, and goes out as live.
        let joined = match msg {
            ServerMsg::History { room, .. } | ServerMsg::Gap { room, .. } => {
                self.joined.as_deref() == Some(room.as_str())
            }
            _ => {
                self.joined = None;
                false
            }
        };
        match msg {
            ServerMsg::Welcome { nick, account, .. } => self.welcomed(nick, *account),
            ServerMsg::Joined { room, members, .. } => {
                let channel = self.channels.entry(room.clone()).or_default();
                channel.members = members.iter().cloned().collect();
                let join = format!(":{} JOIN #{room}", Self::prefix(&self.nick));
                self.line(&join);
                for line in self.names_lines(room) {
                    self.local_line(line);
                }
                self.joined = Some(room.clone());
            }
            ServerMsg::RoomState { room, settings } => {
                let changed = self.channels.get_mut(room).is_some_and(|channel| {
                    channel.topic != settings.topic && {
                        channel.topic.clone_from(&settings.topic);
                        true
                    }
                });
                if changed {
                    for line in self.topic_lines(room, false) {
                        self.local_line(line);
                    }
                }
            }
            ServerMsg::Left { room } => {
                self.channels.remove(room);
                let part = format!(":{} PART #{room}", Self::prefix(&self.nick));
                self.line(&part);
            }
            ServerMsg::UserJoined { room, nick } => {
                if let Some(channel) = self.channels.get_mut(room) {
                    channel.members.insert(nick.clone());
                }
                self.line(&format!(":{} JOIN #{room}", Self::prefix(nick)));
            }
            ServerMsg::UserLeft { room, nick } => {
                if let Some(channel) = self.channels.get_mut(room) {
                    channel.members.remove(nick);
                }
                self.line(&format!(":{} PART #{room}", Self::prefix(nick)));
            }
            ServerMsg::Members { room, members } => {
                if let Some(channel) = self.channels.get_mut(room) {
                    channel.members = members.iter().cloned().collect();
                }
            }
            ServerMsg::NickChanged { old, new, .. } => {
                for channel in self.channels.values_mut() {
                    if channel.members.remove(old) {
                        channel.members.insert(new.clone());
                    }
                }
                self.line(&format!(":{} NICK :{}", Self::prefix(old), irc_nick(new)));
                if irc_nick(old) == self.nick {
                    self.nick = irc_nick(new);
                }
            }
            ServerMsg::Message(message) => self.chat(message, Delivery::Live),
            // History that follows a join: what a signed-in client missed, or
            // the latest messages, for a client that does not ask itself.
            ServerMsg::History { room, messages, .. } if joined && self.replays() => {
                self.batch(room, messages);
            }
            ServerMsg::History { messages, .. } if !joined => {
                for message in messages {
                    self.chat(message, Delivery::Live);
                }
            }
            ServerMsg::Gap { room, from, to } if joined && self.replays() => {
                let text = format!(
                    ":#{room}: {} older messages you missed are not replayed here (#{from} to #{to}); the web client has them",
                    to.saturating_sub(*from) + 1
                );
                self.local_line(Out::to("NOTICE", text));
            }
            ServerMsg::Typing { room, nick }
                if self.caps.message_tags && irc_nick(nick) != self.nick =>
            {
                let line = format!("@+typing=active :{} TAGMSG #{room}", Self::prefix(nick));
                self.line(&line);
            }
            ServerMsg::Ack { room, seq, .. } => self.acked(room, *seq),
            ServerMsg::Moderated { room, by, action } => self.moderated(room, by, action),
            ServerMsg::Rooms { rooms } => {
                let mut lines = vec![Out::to("321", "Channel :Users  Name")];
                for info in rooms {
                    if direct_members(&info.room).is_none() {
                        lines.push(Out::to("322", format!("#{} {} :", info.room, info.members)));
                    }
                }
                lines.push(Out::to("323", ":End of /LIST"));
                for line in lines {
                    self.local_line(line);
                }
            }
            ServerMsg::Error { code, message, .. } => {
                if self.refused_hello(*code, message) {
                    return;
                }
                let text = one_line(message);
                let line = match code {
                    ErrorCode::NickTaken | ErrorCode::NickRegistered => {
                        Out::to("433", format!("* :{text}"))
                    }
                    ErrorCode::NickInvalid => Out::to("432", format!("* :{text}")),
                    ErrorCode::NotInRoom => Out::to("442", format!("* :{text}")),
                    ErrorCode::RoomInvalid => Out::to("403", format!("* :{text}")),
                    ErrorCode::TextTooLong => Out::to("417", format!(":{text}")),
                    _ => Out::to("NOTICE", format!(":{text}")),
                };
                self.local_line(line);
            }
            ServerMsg::Registered { .. } => {
                self.local_line(Out::to(
                    "NOTICE",
                    ":Your nickname is registered; sign in with PASS next time",
                ));
            }
            // History, typing, acks and read markers have no plain IRC form.
            _ => {}
        }
    }

    /// A line queued by a command, whose nickname is filled in now.
    pub(super) fn local_line(&mut self, line: Out) {
        let (code, rest) = match line {
            Out::Raw(line) => return self.line(&line),
            Out::Numeric(code, rest) => (code, rest),
        };
        let line = if code == "NOTICE" {
            format!(":{SERVER} NOTICE {} {rest}", self.nick)
        } else {
            self.numeric(code, &rest)
        };
        self.line(&line);
    }

    /// A message, as the client sees it. Its own come back only with
    /// `echo-message`; those it sent from another door come as its own.
    fn chat(&mut self, message: &ChatMessage, delivery: Delivery<'_>) {
        if delivery == Delivery::Live
            && self.is_own(&message.room, message.seq)
            && !self.caps.echo_message
        {
            self.shown(message);
            return;
        }
        let from_me = irc_nick(&message.nick) == self.nick;
        let target = match direct_members(&message.room) {
            // A conversation: to me, or, for what I said, to the other one.
            Some(_) if !from_me => self.nick.clone(),
            _ => self.target_of_room(&message.room),
        };
        let tags = self.tags(message, delivery);
        self.shown(message);
        let prefix = Self::prefix(&message.nick);
        let (command, text, action) = if let Some(file) = &message.attachment {
            (
                "PRIVMSG",
                format!(
                    "shared {} ({}) {}{}",
                    file.name,
                    size_label(file.size),
                    self.public_url,
                    file.download_path()
                ),
                false,
            )
        } else {
            match message.kind {
                MessageKind::Text | MessageKind::Unknown => {
                    ("PRIVMSG", message.text.clone(), false)
                }
                MessageKind::Action => ("PRIVMSG", message.text.clone(), true),
                MessageKind::Edit => (
                    "NOTICE",
                    format!("edited #{}: {}", message.target.unwrap_or(0), message.text),
                    false,
                ),
                MessageKind::Delete => (
                    "NOTICE",
                    format!("deleted message #{}", message.target.unwrap_or(0)),
                    false,
                ),
                MessageKind::React => (
                    "NOTICE",
                    format!(
                        "reacted {} to #{}",
                        message.text,
                        message.target.unwrap_or(0)
                    ),
                    false,
                ),
                MessageKind::Unreact => (
                    "NOTICE",
                    format!(
                        "took back {} on #{}",
                        message.text,
                        message.target.unwrap_or(0)
                    ),
                    false,
                ),
            }
        };
        let head = format!(":{prefix} {command} {target} :");
        let untimed = delivery != Delivery::Live && !self.caps.server_time;
        let (open, close) = if action {
            ("\u{1}ACTION ", "\u{1}")
        } else {
            ("", "")
        };
        // History without `server-time` says when in the text.
        let when = if untimed {
            format!("[{}] ", &stamp(message.ts)[..16].replace('T', " "))
        } else {
            String::new()
        };
        let room = MAX_LINE
            .saturating_sub(2 + head.len() + open.len() + close.len() + when.len())
            .max(4);
        // Each line of a Hubbub message is a line on IRC, and each too long
        // for IRC is cut at character boundaries.
        for part in text_lines(&text) {
            for piece in message::split_at_boundaries(&part, room) {
                self.line(&format!("{tags}{head}{open}{when}{piece}{close}"));
            }
        }
    }

    /// The tags of a message's lines, with the space after them: its id
    /// and time, and the batch it is in, as far as the client took them.
    fn tags(&self, message: &ChatMessage, delivery: Delivery<'_>) -> String {
        let mut tags = Vec::new();
        if let Delivery::History(Some(batch)) = delivery {
            tags.push(format!("batch={batch}"));
        }
        if self.caps.message_tags {
            tags.push(format!(
                "msgid={}",
                escape_tag(&format!("{}/{}", message.room, message.seq))
            ));
        }
        if self.caps.server_time {
            tags.push(format!("time={}", stamp(message.ts)));
        }
        if tags.is_empty() {
            String::new()
        } else {
            format!("@{} ", tags.join(";"))
        }
    }

    /// Notes how far a channel was shown, for the read marker.
    fn shown(&mut self, message: &ChatMessage) {
        if !self.signed_in {
            return;
        }
        let at = self.marks.shown.entry(message.room.clone()).or_insert(0);
        if message.seq > *at {
            *at = message.seq;
            self.marks.dirty = true;
        }
    }

    /// Whether history that follows a join is shown: to a signed-in client
    /// that does not ask for history itself.
    fn replays(&self) -> bool {
        self.signed_in && !self.caps.chathistory
    }

    /// Messages of `room` from the store, in a `chathistory` batch when the
    /// client takes batches.
    fn batch(&mut self, room: &str, messages: &[ChatMessage]) {
        let target = self.target_of_room(room);
        let id = self.caps.batch.then(|| {
            self.batches += 1;
            format!("h{}", self.batches)
        });
        if let Some(id) = &id {
            self.line(&format!(":{SERVER} BATCH +{id} chathistory {target}"));
        }
        for message in messages {
            self.chat(message, Delivery::History(id.as_deref()));
        }
        if let Some(id) = &id {
            self.line(&format!(":{SERVER} BATCH -{id}"));
        }
    }

    /// An answer to `CHATHISTORY TARGETS`: a batch with nothing in it.
    pub(super) fn empty_batch(&mut self, kind: &str) -> Vec<Out> {
        self.batches += 1;
        let id = format!("h{}", self.batches);
        vec![
            Out::Raw(format!(":{SERVER} BATCH +{id} {kind}")),
            Out::Raw(format!(":{SERVER} BATCH -{id}")),
        ]
    }

    /// What the client calls a room: `#room`, or the other one's nickname
    /// for a conversation.
    fn target_of_room(&self, room: &str) -> String {
        match direct_members(room) {
            Some((a, b)) => {
                let me = self.nick.to_lowercase();
                irc_nick(if a == me { b } else { a })
            }
            None => format!("#{room}"),
        }
    }

    /// The room a client's target names: `#room`, or the conversation with
    /// a nickname.
    pub(super) fn room_of_target(&self, target: &str) -> String {
        match target.strip_prefix('#') {
            Some(room) => room.to_owned(),
            None => direct_room(&self.nick, target),
        }
    }

    /// An answer the wire was given (not an event): a page asked for with
    /// `CHATHISTORY` goes in a batch.
    pub(super) fn show_reply(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::History { room, messages, .. } => self.batch(room, messages),
            msg => self.show(msg),
        }
    }

    fn moderated(&mut self, room: &str, by: &str, action: &Moderation) {
        let prefix = Self::prefix(by);
        match action {
            Moderation::Kick { target, reason } => {
                if let Some(channel) = self.channels.get_mut(room) {
                    channel.members.remove(target);
                }
                let reason = reason.as_deref().map(one_line).unwrap_or_default();
                self.line(&format!(
                    ":{prefix} KICK #{room} {} :{reason}",
                    irc_nick(target)
                ));
            }
            Moderation::Topic { topic } => {
                if let Some(channel) = self.channels.get_mut(room) {
                    channel.topic.clone_from(topic);
                }
                self.line(&format!(":{prefix} TOPIC #{room} :{}", one_line(topic)));
            }
            other => {
                let text = one_line(&other.describe(by));
                self.line(&format!(":{SERVER} NOTICE #{room} :{text}"));
            }
        }
    }
}

/// The text's lines, each stripped of what could drive a terminal.
fn text_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| strip_controls(line).into_owned())
        .filter(|line| !line.trim().is_empty())
        .collect()
}

/// One IRC parameter's worth of someone's text: no line breaks, no
/// controls.
pub(super) fn one_line(text: &str) -> String {
    strip_controls(&text.replace(['\r', '\n'], " ")).into_owned()
}

/// A nickname as IRC can carry it: the characters that end a prefix's nick
/// (`!`, `@`) or split a target list (`,`), or a leading `:`, become `_`.
pub(super) fn irc_nick(nick: &str) -> String {
    let mut out: String = nick
        .chars()
        .map(|c| if matches!(c, '!' | '@' | ',') { '_' } else { c })
        .collect();
    if out.starts_with(':') {
        out.replace_range(..1, "_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_made_safe_for_prefixes() {
        assert_eq!(irc_nick("ada"), "ada");
        assert_eq!(irc_nick(":a!b@c,d"), "_a_b_c_d");
    }
}
