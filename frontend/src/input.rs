//! What the composer's text means: a chat line, an action (`/me`), or a
//! command (`/nick`, `/join`, `/leave`, `/msg`, `/help`, and the moderators'
//! commands about the room on screen). The composer uses this to refuse bad
//! input before it clears, and `outgoing` uses it to build the message it
//! sends, so both agree on every rule (the rules themselves come from
//! `shared::validate`, and the room commands are read by `shared::line`, as
//! the terminal reads them).

use std::fmt;

use shared::MessageKind;
use shared::validate::{
    NickError, RoomError, TextError, normalize_room, precheck_nick, validate_text,
};

/// The commands the composer understands, as `/help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("/me ACTION", "post an action: /me waves"),
    ("/nick NAME", "change your nickname"),
    ("/join ROOM", "join a room, or show it if you are in it"),
    ("/leave [ROOM]", "leave this room, or ROOM"),
    (
        "/msg NICK TEXT",
        "write to NICK directly, in your conversation",
    ),
    (
        "/topic [TEXT]",
        "show this room's topic, or set it (- clears it)",
    ),
    (
        "/delete N",
        "delete message N (your own; anyone's as a moderator)",
    ),
    (
        "/kick NICK [REASON]",
        "take NICK out of this room (moderators)",
    ),
    (
        "/ban NICK [MINUTES] [REASON]",
        "keep NICK out of this room, for good without MINUTES",
    ),
    ("/unban NICK", "lift NICK's ban"),
    (
        "/mute NICK [MINUTES] [REASON]",
        "keep NICK from posting here, for good without MINUTES",
    ),
    ("/unmute NICK", "let NICK post again"),
    (
        "/slow SECONDS",
        "one message per person every SECONDS (0: off)",
    ),
    (
        "/op NICK [owner|moderator|member]",
        "give NICK a role here (owners)",
    ),
    ("/deop NICK", "take NICK's role away (owners)"),
    ("/modlog", "show this room's moderation log"),
    ("/help", "list these commands"),
    ("//text", "send text that starts with a slash"),
];

/// The commands about the room on screen, read by `shared::line` as the
/// terminal reads them.
const ROOM_COMMANDS: &[&str] = &[
    "kick", "ban", "unban", "mute", "unmute", "slow", "topic", "op", "deop", "modlog", "delete",
    "del", "invite",
];

/// The text of `/help`, one command a line.
pub fn help_text() -> String {
    let mut text = String::from("Commands:");
    for (usage, what) in COMMANDS {
        text.push_str(&format!("\n{usage} — {what}"));
    }
    text
}

/// A line the person typed, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Post `text` to the active room.
    Say { text: String, kind: MessageKind },
    /// Change nickname (already normalized).
    Nick(String),
    /// Join a room (normalized: `#Rust` is `rust`).
    Join(String),
    /// Leave a room, or the one on screen.
    Leave(Option<String>),
    /// A direct message to `to` (prechecked nickname).
    Direct { to: String, text: String },
    /// A command about the room on screen (moderation, the topic, a
    /// deletion, the log) or an invite code, as typed: `outgoing` has
    /// `shared::line` make it a message for the room.
    Room(String),
    /// List the commands.
    Help,
}

/// Why a line cannot be sent. `Display` is a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    Text(TextError),
    Nick(NickError),
    Room(RoomError),
    UnknownCommand(String),
    /// A command used wrongly: how it is used.
    Usage(&'static str),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Text(err) => err.fmt(f),
            InputError::Nick(err) => err.fmt(f),
            InputError::Room(err) => err.fmt(f),
            InputError::UnknownCommand(cmd) => write!(
                f,
                "unknown command /{cmd} (/help lists them; start with // to send a slash)"
            ),
            InputError::Usage(usage) => write!(f, "usage: {usage}"),
        }
    }
}

/// Understands one composer line. Trailing whitespace is dropped (the line
/// ends where the person pressed Enter); everything else is kept as typed.
pub fn parse(raw: &str) -> Result<Input, InputError> {
    let line = raw.trim_end();
    // `//text` sends `/text`, as in IRC clients.
    if line.starts_with("//") {
        return say(&line[1..], MessageKind::Text);
    }
    let Some(command) = line.strip_prefix('/') else {
        return say(line, MessageKind::Text);
    };
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .unwrap_or((command, ""));
    match name {
        "me" => say(rest.trim_start(), MessageKind::Action),
        "nick" => precheck_nick(rest)
            .map(Input::Nick)
            .map_err(InputError::Nick),
        "join" => normalize_room(rest)
            .map(Input::Join)
            .map_err(InputError::Room),
        "leave" | "part" if rest.trim().is_empty() => Ok(Input::Leave(None)),
        "leave" | "part" => normalize_room(rest)
            .map(|room| Input::Leave(Some(room)))
            .map_err(InputError::Room),
        "help" | "?" => Ok(Input::Help),
        "msg" | "query" | "dm" => {
            let rest = rest.trim_start();
            let (to, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let to = precheck_nick(to).map_err(InputError::Nick)?;
            let text = text.trim_start();
            validate_text(text).map_err(InputError::Text)?;
            Ok(Input::Direct {
                to,
                text: text.to_owned(),
            })
        }
        name if ROOM_COMMANDS.contains(&name) => match shared::line::parse(line) {
            shared::line::Input::Usage(usage) => Err(InputError::Usage(usage)),
            _ => Ok(Input::Room(line.to_owned())),
        },
        other => Err(InputError::UnknownCommand(other.to_owned())),
    }
}

/// The composer's memory of sent lines: Up recalls the last one (and
/// further Ups older ones), Down goes back towards the newest and then to an
/// empty box. Browsing only starts from an empty box and continues while the
/// box still shows what was recalled, so Up never eats a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    entries: Vec<String>,
    /// The entry on show, while browsing.
    cursor: Option<usize>,
}

/// Lines the composer remembers.
const HISTORY_LEN: usize = 50;

impl History {
    /// Remembers a sent line (a repeat of the last one is kept once).
    pub fn push(&mut self, line: &str) {
        self.cursor = None;
        if self.entries.last().map(String::as_str) != Some(line) {
            self.entries.push(line.to_owned());
        }
        if self.entries.len() > HISTORY_LEN {
            self.entries.remove(0);
        }
    }

    fn browsing(&self, current: &str) -> Option<usize> {
        self.cursor
            .filter(|&at| self.entries.get(at).map(String::as_str) == Some(current))
    }

    /// What Up puts in the box showing `current`, if it recalls anything.
    pub fn up(&mut self, current: &str) -> Option<String> {
        let at = match self.browsing(current) {
            Some(at) => at.checked_sub(1)?,
            None if current.is_empty() => self.entries.len().checked_sub(1)?,
            None => return None,
        };
        self.cursor = Some(at);
        self.entries.get(at).cloned()
    }

    /// What Down puts in the box showing `current`, if it changes it.
    pub fn down(&mut self, current: &str) -> Option<String> {
        let at = self.browsing(current)?;
        if at + 1 < self.entries.len() {
            self.cursor = Some(at + 1);
            self.entries.get(at + 1).cloned()
        } else {
            self.cursor = None;
            Some(String::new())
        }
    }
}

fn say(text: &str, kind: MessageKind) -> Result<Input, InputError> {
    validate_text(text).map_err(InputError::Text)?;
    Ok(Input::Say {
        text: text.to_owned(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use shared::limits::MAX_TEXT_BYTES;

    use super::*;

    fn said(text: &str) -> Result<Input, InputError> {
        Ok(Input::Say {
            text: text.into(),
            kind: MessageKind::Text,
        })
    }

    #[test]
    fn plain_text_is_said_as_typed() {
        assert_eq!(parse("hello"), said("hello"));
        assert_eq!(
            parse("  indented\nsecond line\n\n"),
            said("  indented\nsecond line")
        );
        assert_eq!(parse("<b>not html</b>"), said("<b>not html</b>"));
    }

    #[test]
    fn me_is_an_action() {
        assert_eq!(
            parse("/me waves"),
            Ok(Input::Say {
                text: "waves".into(),
                kind: MessageKind::Action
            })
        );
        assert_eq!(parse("/me"), Err(InputError::Text(TextError::Empty)));
        assert_eq!(parse("/me   "), Err(InputError::Text(TextError::Empty)));
    }

    #[test]
    fn nick_is_prechecked_and_trimmed() {
        // The server normalizes (NFKC); the client only trims and checks.
        assert_eq!(parse("/nick  alice "), Ok(Input::Nick("alice".into())));
        assert_eq!(parse("/nick"), Err(InputError::Nick(NickError::Empty)));
        assert_eq!(
            parse("/nick server"),
            Err(InputError::Nick(NickError::Reserved))
        );
    }

    #[test]
    fn join_and_leave_take_room_names_as_the_server_does() {
        assert_eq!(parse("/join #Rust"), Ok(Input::Join("rust".into())));
        assert_eq!(parse("/join"), Err(InputError::Room(RoomError::Empty)));
        assert!(matches!(parse("/join no spaces"), Err(InputError::Room(_))));
        assert_eq!(parse("/leave"), Ok(Input::Leave(None)));
        assert_eq!(parse("/leave #rust"), Ok(Input::Leave(Some("rust".into()))));
    }

    #[test]
    fn help_lists_every_command_that_works() {
        assert_eq!(parse("/help"), Ok(Input::Help));
        let help = help_text();
        for command in [
            "/me", "/nick", "/join", "/leave", "/help", "/kick", "/ban", "/unban", "/mute",
            "/unmute", "/slow", "/topic", "/op", "/deop", "/modlog",
        ] {
            assert!(help.contains(command), "{command} missing from {help}");
        }
        assert!(help.contains("/msg NICK TEXT"));
    }

    #[test]
    fn msg_takes_a_nickname_and_the_rest_as_text() {
        assert_eq!(
            parse("/msg  bob hi there\n  two"),
            Ok(Input::Direct {
                to: "bob".into(),
                text: "hi there\n  two".into()
            })
        );
        assert_eq!(parse("/msg"), Err(InputError::Nick(NickError::Empty)));
        assert_eq!(parse("/msg bob"), Err(InputError::Text(TextError::Empty)));
        assert_eq!(
            parse("/msg server hi"),
            Err(InputError::Nick(NickError::Reserved))
        );
    }

    #[test]
    fn up_recalls_sent_lines_and_down_comes_back() {
        let mut history = History::default();
        assert_eq!(history.up(""), None);
        history.push("one");
        history.push("two");
        history.push("two");
        assert_eq!(history.up("a draft"), None, "a draft is never replaced");
        assert_eq!(history.up("").as_deref(), Some("two"));
        assert_eq!(history.up("two").as_deref(), Some("one"));
        assert_eq!(history.up("one"), None, "the oldest stays");
        assert_eq!(history.down("one").as_deref(), Some("two"));
        assert_eq!(history.down("two").as_deref(), Some(""));
        assert_eq!(history.down(""), None);
        // Editing a recalled line ends browsing.
        assert_eq!(history.up("").as_deref(), Some("two"));
        assert_eq!(history.up("two, edited"), None);
        for n in 0..100 {
            history.push(&n.to_string());
        }
        assert_eq!(history.entries.len(), HISTORY_LEN);
    }

    #[test]
    fn room_commands_are_checked_and_kept_as_typed() {
        for line in [
            "/kick bob spam",
            "/ban bob 60 flooding",
            "/unban bob",
            "/mute bob",
            "/unmute bob",
            "/slow 30",
            "/topic be kind",
            "/topic",
            "/op bob owner",
            "/deop bob",
            "/modlog",
            "/delete 42",
            "/invite",
        ] {
            assert_eq!(parse(line), Ok(Input::Room(line.into())), "{line}");
        }
        assert_eq!(parse("/slow 5\n"), Ok(Input::Room("/slow 5".into())));
        assert_eq!(
            parse("/kick"),
            Err(InputError::Usage("/kick NICK [REASON]"))
        );
        assert!(matches!(parse("/slow fast"), Err(InputError::Usage(_))));
        assert!(matches!(parse("/op bob king"), Err(InputError::Usage(_))));
        assert_eq!(
            parse("/unban").unwrap_err().to_string(),
            "usage: /unban NICK"
        );
        // The terminal's account commands are not the web client's: its
        // header signs in and out.
        assert_eq!(
            parse("/login ada pw"),
            Err(InputError::UnknownCommand("login".into()))
        );
    }

    #[test]
    fn double_slash_escapes_a_command() {
        assert_eq!(parse("//me is not a command"), said("/me is not a command"));
        assert_eq!(parse("//"), said("/"));
    }

    #[test]
    fn unknown_commands_and_bad_text_are_refused() {
        let err = parse("/frob x").unwrap_err();
        assert_eq!(err, InputError::UnknownCommand("frob".into()));
        assert!(err.to_string().contains("/frob"));
        assert_eq!(parse(" \n "), Err(InputError::Text(TextError::Empty)));
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            parse(&long),
            Err(InputError::Text(TextError::TooLong(MAX_TEXT_BYTES + 1)))
        );
    }
}
