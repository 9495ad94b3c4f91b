//! The rooms one client is in, kept for every connection.

/// A small set of room names in order: a sorted `Vec`. A client is in a
/// handful of rooms, and joins and leaves are rare next to lookups, while a
/// `BTreeSet` allocates a node of eleven slots (about 300 bytes) for the
/// first room and a `HashSet` a table, both kept for as long as the client
/// stays connected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoomSet {
    names: Vec<String>,
}

impl RoomSet {
    /// Adds `room`; false if it was there already.
    pub fn insert(&mut self, room: String) -> bool {
        match self.names.binary_search(&room) {
            Ok(_) => false,
            Err(at) => {
                // Exactly as many places as rooms: a `Vec` would make room
                // for four names at the first, kept for the whole connection.
                self.names.reserve_exact(1);
                self.names.insert(at, room);
                true
            }
        }
    }

    /// Removes `room`; false if it was not there.
    pub fn remove(&mut self, room: &str) -> bool {
        match self.names.binary_search_by(|name| name.as_str().cmp(room)) {
            Ok(at) => {
                self.names.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&self, room: &str) -> bool {
        self.names
            .binary_search_by(|name| name.as_str().cmp(room))
            .is_ok()
    }

    /// The rooms in order.
    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.names.iter()
    }
}

impl<'a> IntoIterator for &'a RoomSet {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.names.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_kept_once_and_in_order() {
        let mut rooms = RoomSet::default();
        assert!(rooms.insert("rust".into()));
        assert!(rooms.insert("lobby".into()));
        assert!(!rooms.insert("rust".into()));
        assert!(rooms.contains("lobby"));
        assert!(!rooms.contains("go"));
        assert_eq!(rooms.iter().collect::<Vec<_>>(), ["lobby", "rust"]);
        assert!(rooms.remove("lobby"));
        assert!(!rooms.remove("lobby"));
        assert_eq!(rooms.iter().collect::<Vec<_>>(), ["rust"]);
    }
}
