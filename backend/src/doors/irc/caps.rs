//! The IRCv3 capabilities Hubbub offers, and which of them a connection
//! took (`CAP LS`, `CAP REQ`; <https://ircv3.net/specs/extensions/capability-negotiation>).

/// What a connection negotiated. Each changes how events are written to it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Caps {
    /// `@time=` on every message, and on history replayed.
    pub server_time: bool,
    /// Tags at all: `msgid`, client tags such as `+typing` (and `TAGMSG`).
    pub message_tags: bool,
    /// The client's own messages come back to it, with their `msgid`.
    pub echo_message: bool,
    /// History in `BATCH` … `BATCH -`.
    pub batch: bool,
    /// `AUTHENTICATE PLAIN` before the welcome.
    pub sasl: bool,
    /// Hubbub has no away state that other doors share, so there is never
    /// another member's `AWAY` to tell; taken so that clients stop polling
    /// `WHO` for it.
    pub away_notify: bool,
    /// `NAMES` and `WHO` with every prefix: Hubbub has no channel prefixes,
    /// so it changes nothing, and clients ask for it anyway.
    pub multi_prefix: bool,
    /// `CHATHISTORY` is answered (and no history is replayed on join).
    pub chathistory: bool,
}

/// The capabilities as `CAP LS 302` lists them.
pub(super) const OFFERED: &str = "away-notify batch draft/chathistory echo-message \
                                  message-tags multi-prefix sasl=PLAIN server-time";

impl Caps {
    /// The flag of a capability, if Hubbub offers it.
    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "server-time" => &mut self.server_time,
            "message-tags" => &mut self.message_tags,
            "echo-message" => &mut self.echo_message,
            "batch" => &mut self.batch,
            "sasl" => &mut self.sasl,
            "away-notify" => &mut self.away_notify,
            "multi-prefix" => &mut self.multi_prefix,
            "draft/chathistory" => &mut self.chathistory,
            _ => return None,
        })
    }

    /// `CAP REQ :a -b c`: all of them or none, as the specification asks.
    /// False (nothing changed) when one is not offered.
    pub(super) fn request(&mut self, asked: &str) -> bool {
        let mut next = *self;
        for name in asked.split_whitespace() {
            let (name, on) = match name.strip_prefix('-') {
                Some(name) => (name, false),
                None => (name, true),
            };
            match next.flag(name) {
                Some(flag) => *flag = on,
                None => return false,
            }
        }
        *self = next;
        true
    }

    /// What `CAP LIST` says is enabled.
    pub(super) fn enabled(&self) -> String {
        let mut caps = *self;
        OFFERED
            .split(' ')
            .map(|cap| cap.split_once('=').map_or(cap, |(name, _)| name))
            .filter(|name| caps.flag(name).is_some_and(|on| *on))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_takes_all_or_nothing() {
        let mut caps = Caps::default();
        assert!(caps.request("server-time message-tags"));
        assert!(caps.server_time && caps.message_tags);
        assert!(!caps.request("echo-message account-tag"), "one unknown");
        assert!(!caps.echo_message, "nothing of a refused request is taken");
        assert!(caps.request("-server-time draft/chathistory"));
        assert!(!caps.server_time && caps.chathistory);
        assert_eq!(caps.enabled(), "draft/chathistory message-tags");
    }

    #[test]
    fn every_offered_capability_can_be_taken() {
        let mut caps = Caps::default();
        for cap in OFFERED.split(' ') {
            let name = cap.split_once('=').map_or(cap, |(name, _)| name);
            assert!(caps.request(name), "{name}");
        }
        assert_eq!(
            caps.enabled().split(' ').count(),
            OFFERED.split(' ').count()
        );
    }
}
