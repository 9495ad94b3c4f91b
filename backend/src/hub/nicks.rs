//! Who holds which nickname, and which nicknames are accounts'.
//!
//! Nicknames are one by `validate::nick_key` (case-folded confusable
//! skeleton), so `Ada`, `ada` and `Αda` with a Greek alpha are one name. A
//! guest holds a nickname while connected; a registered nickname is its
//! account's, held by every connection signed in to it and by nobody else,
//! whether or not the account is online.

use std::collections::{HashMap, HashSet};

use shared::ErrorCode;
use shared::validate::{self, nick_key};

use super::ClientId;
use super::actor::Refusal;
use crate::store::AccountId;

/// Who holds a nickname now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holder {
    Guest(ClientId),
    Account(AccountId),
}

#[derive(Default)]
pub(super) struct Nicks {
    /// Nickname key → holder, for the nicknames in use.
    holders: HashMap<String, Holder>,
    /// Nickname key → account, for every registered nickname.
    accounts: HashMap<String, AccountId>,
    /// Account → its nickname as registered.
    names: HashMap<AccountId, String>,
    /// Nicknames whose registration is on its way to the store: nobody else
    /// may take them meanwhile.
    reserved: HashSet<String>,
    /// The last guest number handed out.
    last_guest: u64,
}

fn registered_refusal(nick: &str) -> Refusal {
    Refusal::new(
        ErrorCode::NickRegistered,
        format!("the nickname {nick} is registered; sign in with its password, or choose another"),
    )
}

impl Nicks {
    /// Every registered nickname (from the directory, at start).
    pub(super) fn load(accounts: &[(AccountId, String, String)]) -> Self {
        let mut nicks = Self::default();
        for (account, nick, key) in accounts {
            nicks.accounts.insert(key.clone(), *account);
            nicks.names.insert(*account, nick.clone());
        }
        nicks
    }

    /// Validates `wanted` and reserves it for the guest `id`; returns it
    /// normalized.
    pub(super) fn claim(&mut self, id: ClientId, wanted: &str) -> Result<String, Refusal> {
        let nick = validate::normalize_nick(wanted)
            .map_err(|e| Refusal::new(ErrorCode::NickInvalid, e.to_string()))?;
        let key = nick_key(&nick);
        if self.accounts.contains_key(&key) || self.reserved.contains(&key) {
            return Err(registered_refusal(&nick));
        }
        match self.holders.get(&key) {
            Some(&holder) if holder != Holder::Guest(id) => Err(Refusal::new(
                ErrorCode::NickTaken,
                format!("the nickname {nick} is taken; choose another"),
            )),
            _ => {
                self.holders.insert(key, Holder::Guest(id));
                Ok(nick)
            }
        }
    }

    /// Reserves `wanted` for the guest `id` in place of `old`, which is
    /// freed unless it is the same name (a change of case keeps it).
    pub(super) fn rename(
        &mut self,
        id: ClientId,
        old: &str,
        wanted: &str,
    ) -> Result<String, Refusal> {
        let new = self.claim(id, wanted)?;
        if nick_key(&new) != nick_key(old) {
            self.release(Holder::Guest(id), old);
        }
        Ok(new)
    }

    /// The account's nickname is held by its connections.
    pub(super) fn hold(&mut self, account: AccountId) -> Option<String> {
        let nick = self.names.get(&account)?.clone();
        self.holders
            .insert(nick_key(&nick), Holder::Account(account));
        Some(nick)
    }

    /// Frees `nick` if `holder` holds it.
    pub(super) fn release(&mut self, holder: Holder, nick: &str) {
        let key = nick_key(nick);
        if self.holders.get(&key) == Some(&holder) {
            self.holders.remove(&key);
        }
    }

    /// Who holds the nickname written as `nick`, if anyone.
    pub(super) fn holder(&self, nick: &str) -> Option<Holder> {
        self.holders.get(&nick_key(nick.trim())).copied()
    }

    /// The account registered as `nick`, online or not.
    pub(super) fn account(&self, nick: &str) -> Option<AccountId> {
        self.accounts.get(&nick_key(nick.trim())).copied()
    }

    /// An account's nickname.
    pub(super) fn name(&self, account: AccountId) -> Option<&String> {
        self.names.get(&account)
    }

    /// Holds a nickname back while its registration is written; false if it
    /// is registered, reserved, or held by anyone but `guest`.
    pub(super) fn reserve(&mut self, nick: &str, guest: Option<ClientId>) -> Result<(), Refusal> {
        let key = nick_key(nick);
        if self.accounts.contains_key(&key) || self.reserved.contains(&key) {
            return Err(registered_refusal(nick));
        }
        match self.holders.get(&key) {
            Some(Holder::Guest(holder)) if Some(*holder) == guest => {}
            None => {}
            Some(_) => {
                return Err(Refusal::new(
                    ErrorCode::NickTaken,
                    format!("the nickname {nick} is in use; choose another"),
                ));
            }
        }
        self.reserved.insert(key);
        Ok(())
    }

    /// The registration of `nick` failed: it is free again.
    pub(super) fn unreserve(&mut self, nick: &str) {
        self.reserved.remove(&nick_key(nick));
    }

    /// `nick` is `account`'s now; a guest that held it holds it as the
    /// account from now on.
    pub(super) fn register(&mut self, account: AccountId, nick: &str) {
        let key = nick_key(nick);
        self.reserved.remove(&key);
        self.accounts.insert(key.clone(), account);
        self.names.insert(account, nick.to_owned());
        if self.holders.contains_key(&key) {
            self.holders.insert(key, Holder::Account(account));
        }
    }

    /// A guest nickname nobody holds (`guest-7`), not yet reserved.
    pub(super) fn free_guest(&mut self) -> String {
        loop {
            self.last_guest += 1;
            let nick = format!("guest-{}", self.last_guest);
            let key = nick_key(&nick);
            if !self.holders.contains_key(&key) && !self.accounts.contains_key(&key) {
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
        assert_eq!(nicks.holder("ada"), Some(Holder::Guest(ada)));
        // Claiming one's own name again is no conflict.
        assert!(nicks.claim(ada, "ada").is_ok());
        assert_eq!(nicks.rename(ada, "Ada", "ADA").ok().as_deref(), Some("ADA"));
        assert_eq!(
            nicks.holder("ada"),
            Some(Holder::Guest(ada)),
            "a change of case keeps the name"
        );
        nicks.release(Holder::Guest(bob), "Ada");
        assert_eq!(
            nicks.holder("ada"),
            Some(Holder::Guest(ada)),
            "only the holder frees it"
        );
        nicks.release(Holder::Guest(ada), "Ada");
        assert_eq!(nicks.holder("ada"), None);
        assert!(nicks.claim(bob, "ada").is_ok());
    }

    #[test]
    fn a_registered_nickname_is_its_accounts_alone_in_every_spelling() {
        let mut nicks = Nicks::load(&[(7, "Ada".into(), nick_key("Ada"))]);
        let guest = ClientId(3);
        for spelling in ["Ada", "ADA", "ada", "Αda"] {
            let refused = nicks.claim(guest, spelling).err().map(|r| r.code);
            assert_eq!(refused, Some(ErrorCode::NickRegistered), "{spelling}");
        }
        assert_eq!(nicks.account("ADA"), Some(7));
        assert_eq!(nicks.hold(7).as_deref(), Some("Ada"));
        assert_eq!(nicks.holder("ada"), Some(Holder::Account(7)));
        // A guest's own nickname can become an account; others cannot take
        // it meanwhile.
        assert!(nicks.claim(guest, "bob").is_ok());
        assert!(nicks.reserve("bob", Some(guest)).is_ok());
        assert!(nicks.claim(ClientId(4), "bob").is_err());
        nicks.register(8, "bob");
        assert_eq!(nicks.holder("bob"), Some(Holder::Account(8)));
        assert_eq!(nicks.name(8).map(String::as_str), Some("bob"));
        assert!(nicks.reserve("carol", None).is_ok());
        nicks.unreserve("carol");
        assert!(nicks.claim(guest, "carol").is_ok());
    }

    #[test]
    fn guests_get_numbers_nobody_holds() {
        let mut nicks = Nicks::load(&[(1, "guest-2".into(), nick_key("guest-2"))]);
        assert!(nicks.claim(ClientId(1), "guest-1").is_ok());
        assert_eq!(nicks.free_guest(), "guest-3");
        assert_eq!(nicks.free_guest(), "guest-4");
    }
}
