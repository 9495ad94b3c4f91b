//! Who holds which nickname: unique by `validate::nick_key` (case-folded
//! confusable skeleton), so `Ada`, `ada` and `Αda` with a Greek alpha are
//! one name.

use std::collections::HashMap;

use shared::ErrorCode;
use shared::validate::{self, nick_key};

use super::ClientId;
use super::actor::Refusal;

#[derive(Default)]
pub(super) struct Nicks {
    /// Nickname key → holder.
    holders: HashMap<String, ClientId>,
    /// The last guest number handed out.
    last_guest: u64,
}

impl Nicks {
    /// Validates `wanted` and reserves it for `id`; returns it normalized.
    pub(super) fn claim(&mut self, id: ClientId, wanted: &str) -> Result<String, Refusal> {
        let nick = validate::normalize_nick(wanted)
            .map_err(|e| Refusal::new(ErrorCode::NickInvalid, e.to_string()))?;
        let key = nick_key(&nick);
        match self.holders.get(&key) {
            Some(&holder) if holder != id => Err(Refusal::new(
                ErrorCode::NickTaken,
                format!("the nickname {nick} is taken; choose another"),
            )),
            _ => {
                self.holders.insert(key, id);
                Ok(nick)
            }
        }
    }

    /// Reserves `wanted` for `id` in place of `old`, which is freed unless
    /// it is the same name (a change of case keeps it).
    pub(super) fn rename(
        &mut self,
        id: ClientId,
        old: &str,
        wanted: &str,
    ) -> Result<String, Refusal> {
        let new = self.claim(id, wanted)?;
        if nick_key(&new) != nick_key(old) {
            self.release(id, old);
        }
        Ok(new)
    }

    /// Frees `nick` if `id` holds it.
    pub(super) fn release(&mut self, id: ClientId, nick: &str) {
        let key = nick_key(nick);
        if self.holders.get(&key) == Some(&id) {
            self.holders.remove(&key);
        }
    }

    /// Who holds the nickname written as `nick`, if anyone.
    pub(super) fn holder(&self, nick: &str) -> Option<ClientId> {
        self.holders.get(&nick_key(nick.trim())).copied()
    }

    /// A guest nickname nobody holds (`guest-7`), not yet reserved.
    pub(super) fn free_guest(&mut self) -> String {
        loop {
            self.last_guest += 1;
            let nick = format!("guest-{}", self.last_guest);
            if !self.holders.contains_key(&nick_key(&nick)) {
                return nick;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nickname_is_held_once_whatever_its_case_or_look() {
        let mut nicks = Nicks::default();
        let (ada, bob) = (ClientId(1), ClientId(2));
        assert_eq!(nicks.claim(ada, " Ada ").ok().as_deref(), Some("Ada"));
        let taken = nicks.claim(bob, "ADA").err().map(|r| r.code);
        assert_eq!(taken, Some(ErrorCode::NickTaken));
        assert_eq!(nicks.holder("ada"), Some(ada));
        // Claiming one's own name again is no conflict.
        assert!(nicks.claim(ada, "ada").is_ok());
        assert_eq!(nicks.rename(ada, "Ada", "ADA").ok().as_deref(), Some("ADA"));
        assert_eq!(
            nicks.holder("ada"),
            Some(ada),
            "a change of case keeps the name"
        );
        nicks.release(bob, "Ada");
        assert_eq!(nicks.holder("ada"), Some(ada), "only the holder frees it");
        nicks.release(ada, "Ada");
        assert_eq!(nicks.holder("ada"), None);
        assert!(nicks.claim(bob, "ada").is_ok());
    }

    #[test]
    fn guests_get_numbers_nobody_holds() {
        let mut nicks = Nicks::default();
        assert!(nicks.claim(ClientId(1), "guest-1").is_ok());
        assert_eq!(nicks.free_guest(), "guest-2");
        assert_eq!(nicks.free_guest(), "guest-3");
    }
}
