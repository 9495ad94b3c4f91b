//! What the composer's text means: a chat line, an action (`/me`), or a
//! command (`/nick`). The composer uses this to refuse bad input before it
//! clears, and the socket hook uses it to build the message it sends, so both
//! agree on every rule (the rules themselves come from `shared::validate`).

use std::fmt;

use shared::MessageKind;
use shared::validate::{NickError, TextError, precheck_nick, validate_text};

/// A line the person typed, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Post `text` to the active room.
    Say { text: String, kind: MessageKind },
    /// Change nickname (already normalized).
    Nick(String),
}

/// Why a line cannot be sent. `Display` is a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    Text(TextError),
    Nick(NickError),
    UnknownCommand(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Text(err) => err.fmt(f),
            InputError::Nick(err) => err.fmt(f),
            InputError::UnknownCommand(cmd) => write!(
                f,
                "unknown command /{cmd} (try /me or /nick; start with // to send a slash)"
            ),
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
        other => Err(InputError::UnknownCommand(other.to_owned())),
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
