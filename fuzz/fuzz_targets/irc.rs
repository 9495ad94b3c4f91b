//! A line from an IRC client: a command (upper-cased, no spaces) and
//! parameters of which only the last may hold spaces or start with `:`; and
//! a tag value escaped as the server writes it, read back by the parser, is
//! the value itself.

#![no_main]

use backend::fuzzing::{irc_escape_tag, irc_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = irc_line(line) {
        assert!(!message.command.is_empty());
        assert!(!message.command.contains(' '), "{line:?}");
        assert_eq!(message.command, message.command.to_ascii_uppercase());
        if let Some((_, middle)) = message.params.split_last() {
            for param in middle {
                assert!(
                    !param.is_empty() && !param.contains(' ') && !param.starts_with(':'),
                    "{line:?}: {:?}",
                    message.params
                );
            }
        }
    }

    let tagged = format!("@+typing={} TAGMSG #lobby", irc_escape_tag(line));
    if let Ok(message) = irc_line(&tagged) {
        assert_eq!(message.tag("+typing").as_deref(), Some(line), "{tagged:?}");
        assert_eq!(message.command, "TAGMSG");
        assert_eq!(message.params, ["#lobby"]);
    }
});
