//! Read markers on the client: how often a signed-in page tells the server
//! what the person has read ([`ReadPace`]: at most once every
//! [`READ_EVERY_MS`] per room, the latest marker last, since every message
//! counts against the server's rate limit), and where a guest, who has no
//! markers on the server, keeps its own (localStorage, `room seq` lines).

/// At most one `read` per room this often.
pub const READ_EVERY_MS: f64 = 2_000.0;

/// localStorage key of a guest's read markers.
const KEY: &str = "hubbub.read";

/// What to do with a marker the person just reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Send it now.
    Now,
    /// Send what is due for the room ([`ReadPace::due`]) after this many
    /// ms.
    Later(f64),
    /// Nothing: it is sent already, or a later send will carry it.
    Skip,
}

#[derive(Debug, Default)]
struct Paced {
    sent_at: f64,
    sent: u64,
    waiting: Option<u64>,
}

/// The `read`s sent per room, and the one waiting for its turn. (A list:
/// a person is in a few rooms, and a map's code costs the bundle more.)
#[derive(Debug, Default)]
pub struct ReadPace {
    rooms: Vec<(String, Paced)>,
}

impl ReadPace {
    /// The person has read `room` up to `seq` at `now` (ms).
    pub fn read(&mut self, room: &str, seq: u64, now: f64) -> Pace {
        let Some(paced) = self.paced(room) else {
            let paced = Paced {
                sent_at: now,
                sent: seq,
                waiting: None,
            };
            self.rooms.push((room.to_owned(), paced));
            return Pace::Now;
        };
        if seq <= paced.sent || paced.waiting.is_some_and(|w| w >= seq) {
            return Pace::Skip;
        }
        if now - paced.sent_at >= READ_EVERY_MS && paced.waiting.is_none() {
            paced.sent_at = now;
            paced.sent = seq;
            return Pace::Now;
        }
        let first = paced.waiting.is_none();
        paced.waiting = Some(seq);
        if first {
            Pace::Later(READ_EVERY_MS - (now - paced.sent_at))
        } else {
            Pace::Skip
        }
    }

    /// The marker whose turn came (after a [`Pace::Later`]), to send now.
    pub fn due(&mut self, room: &str, now: f64) -> Option<u64> {
        let paced = self.paced(room)?;
        let seq = paced.waiting.take()?;
        paced.sent_at = now;
        paced.sent = seq;
        Some(seq)
    }

    fn paced(&mut self, room: &str) -> Option<&mut Paced> {
        self.rooms
            .iter_mut()
            .find(|(name, _)| name == room)
            .map(|(_, paced)| paced)
    }
}

/// A guest's markers as stored: one `room seq` line each (room names and
/// nicknames have no spaces).
pub fn encode(markers: &[(String, u64)]) -> String {
    let mut out = String::new();
    for (room, seq) in markers {
        out.push_str(room);
        out.push(' ');
        out.push_str(&seq.to_string());
        out.push('\n');
    }
    out
}

/// The markers in what [`encode`] wrote; lines that do not read are
/// skipped.
pub fn decode(stored: &str) -> Vec<(String, u64)> {
    let mut markers = Vec::new();
    for line in stored.lines() {
        if let Some((room, seq)) = line.rsplit_once(' ')
            && let Ok(seq) = seq.parse()
        {
            markers.push((room.to_owned(), seq));
        }
    }
    markers
}

/// The marker of `room` in a guest's markers.
pub fn marker(markers: &[(String, u64)], room: &str) -> Option<u64> {
    markers.iter().find(|(r, _)| r == room).map(|(_, seq)| *seq)
}

/// A guest's markers from localStorage (none if it is refused).
pub fn load() -> Vec<(String, u64)> {
    local_storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .map(|stored| decode(&stored))
        .unwrap_or_default()
}

/// Keeps a guest's markers in localStorage.
pub fn save(markers: &[(String, u64)]) {
    if let Some(storage) = local_storage() {
        // A full or read-only storage only means they are not kept.
        let _ = storage.set_item(KEY, &encode(markers));
    }
}

/// localStorage, unless the browser refuses it (as Chromium does with
/// cookies blocked).
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_goes_at_once_then_at_most_every_two_seconds_with_the_latest() {
        let mut pace = ReadPace::default();
        assert_eq!(pace.read("lobby", 5, 1_000.0), Pace::Now);
        assert_eq!(pace.read("lobby", 5, 1_100.0), Pace::Skip, "sent already");
        assert_eq!(pace.read("lobby", 6, 1_500.0), Pace::Later(1_500.0));
        assert_eq!(pace.read("lobby", 8, 2_000.0), Pace::Skip, "the timer runs");
        assert_eq!(pace.read("rust", 3, 2_000.0), Pace::Now, "per room");
        assert_eq!(pace.due("lobby", 3_000.0), Some(8), "the latest goes");
        assert_eq!(pace.due("lobby", 3_000.0), None);
        assert_eq!(pace.read("lobby", 9, 4_000.0), Pace::Later(1_000.0));
        assert_eq!(pace.due("lobby", 5_000.0), Some(9));
        assert_eq!(pace.read("lobby", 10, 7_500.0), Pace::Now, "a quiet room");
        assert_eq!(pace.read("lobby", 3, 9_000.0), Pace::Skip, "never back");
    }

    #[test]
    fn guests_markers_survive_a_round_trip() {
        let markers = vec![("lobby".to_owned(), 42), ("@ada+bob".to_owned(), 7)];
        let stored = encode(&markers);
        let read = decode(&stored);
        assert_eq!(read, markers);
        assert_eq!(marker(&read, "@ada+bob"), Some(7));
        assert_eq!(marker(&read, "rust"), None);
        assert_eq!(decode("junk\nrust x\nrust 3\n").len(), 1);
    }
}
