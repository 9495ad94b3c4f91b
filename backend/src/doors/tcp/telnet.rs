//! Telnet's commands, removed from what a terminal sends.
//!
//! `telnet` sends commands in-band, each starting with the byte IAC (255):
//! option negotiation (`IAC WILL|WONT|DO|DONT option`), subnegotiation
//! (`IAC SB … IAC SE`), and single commands such as `IAC IP` when the person
//! presses Ctrl-C. They are not text; left in, they would turn a line into
//! invalid UTF-8. The terminal door negotiates nothing, so it drops them all
//! (`IAC IAC`, a literal 255, stays). The state carries over between reads,
//! since a command can be split across two.

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
/// WILL, WONT, DO, DONT: each is followed by one option byte.
const NEGOTIATION: std::ops::RangeInclusive<u8> = 251..=254;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Text,
    /// After an IAC.
    Command,
    /// After WILL, WONT, DO or DONT: the option byte comes next.
    Option,
    /// Inside a subnegotiation, until IAC SE.
    Sub,
    /// An IAC inside a subnegotiation.
    SubCommand,
}

/// Removes telnet commands from a byte stream.
#[derive(Debug, Default)]
pub struct TelnetFilter {
    state: State,
}

impl TelnetFilter {
    /// Appends to `out` the bytes of `data` that are not telnet commands.
    pub fn filter(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &byte in data {
            self.state = match (self.state, byte) {
                (State::Text, IAC) => State::Command,
                (State::Text, _) => {
                    out.push(byte);
                    State::Text
                }
                (State::Command, IAC) => {
                    out.push(IAC);
                    State::Text
                }
                (State::Command, SB) => State::Sub,
                (State::Command, b) if NEGOTIATION.contains(&b) => State::Option,
                (State::Command | State::Option, _) => State::Text,
                (State::Sub, IAC) => State::SubCommand,
                (State::Sub, _) => State::Sub,
                (State::SubCommand, SE) => State::Text,
                // An escaped 255 inside the subnegotiation, or anything else.
                (State::SubCommand, _) => State::Sub,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(chunks: &[&[u8]]) -> Vec<u8> {
        let mut filter = TelnetFilter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            filter.filter(chunk, &mut out);
        }
        out
    }

    #[test]
    fn text_passes_untouched() {
        assert_eq!(filtered(&["héllo\r\n".as_bytes()]), "héllo\r\n".as_bytes());
    }

    #[test]
    fn negotiation_and_commands_are_removed_even_when_split() {
        // IAC DO ECHO, IAC WILL NAWS, then Ctrl-C (IAC IP) mid-line.
        let out = filtered(&[b"\xff\xfd\x01hi", b"\xff", b"\xfb\x1f there\xff\xf4\r\n"]);
        assert_eq!(out, b"hi there\r\n");
    }

    #[test]
    fn subnegotiation_is_removed_and_a_doubled_iac_is_a_byte() {
        // IAC SB NAWS 0 80 0 24 IAC SE, with an IAC IAC inside.
        let out = filtered(&[
            b"a\xff\xfa\x1f\x00\x50\xff\xff\x00\x18\xff",
            b"\xf0b\xff\xffc",
        ]);
        assert_eq!(out, b"ab\xffc");
    }
}
