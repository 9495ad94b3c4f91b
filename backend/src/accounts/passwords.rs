//! Passwords: argon2id with the crate's recommended parameters (19 MiB, two
//! passes: OWASP's minimum for argon2id), hashed and checked on blocking
//! threads, a few at a time, so that sign-ins cannot take every core.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

/// The shortest password an account may have, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest, in bytes: enough for any passphrase, and a bound on the
/// work one sign-in can ask for.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hashing and checking at most this many passwords at once.
const AT_ONCE: usize = 2;

/// A hash of a password nobody has, checked when a sign-in names no
/// account: the answer then takes as long as a wrong password's, so the
/// time does not tell which nicknames are registered.
const NOBODY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Vi0FpXmcg9ArDo81gULx5lKBN2JGDy1SaoLbIOkfXg0";

#[derive(Clone)]
pub struct Passwords {
    turns: Arc<Semaphore>,
}

/// Why a password was not accepted for a new account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weak {
    #[error("a password has at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("a password has at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
}

impl Default for Passwords {
    fn default() -> Self {
        Self {
            turns: Arc::new(Semaphore::new(AT_ONCE)),
        }
    }
}

impl Passwords {
    /// Whether `password` may be an account's.
    pub fn check(password: &str) -> Result<(), Weak> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Weak::TooLong);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(Weak::TooShort);
        }
        Ok(())
    }

    /// The PHC string of a new hash of `password` (with a new salt).
    pub async fn hash(&self, password: &str) -> Result<String, String> {
        let password = password.as_bytes().to_vec();
        self.blocking(move || {
            Argon2::default()
                .hash_password(&password)
                .map(|hash| hash.to_string())
                .map_err(|e| e.to_string())
        })
        .await?
    }

    /// Whether `password` is the one `hash` was made from (`None`: there is
    /// no account; the check still takes its time).
    pub async fn verify(&self, password: &str, hash: Option<String>) -> bool {
        if password.len() > MAX_PASSWORD_BYTES {
            return false;
        }
        let password = password.as_bytes().to_vec();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| NOBODY.to_owned());
        let matched = self
            .blocking(move || {
                Argon2::default()
                    .verify_password(&password, hash.as_str())
                    .is_ok()
            })
            .await;
        known && matched.unwrap_or(false)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let _turn = self
            .turns
            .acquire()
            .await
            .map_err(|_| "the password checker is closed".to_owned())?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| format!("the password task failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_checks_against_its_own_hash_only() {
        let passwords = Passwords::default();
        let hash = passwords.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(passwords.verify("correct horse", Some(hash.clone())).await);
        assert!(!passwords.verify("correct horsf", Some(hash.clone())).await);
        assert!(!passwords.verify("correct horse", None).await, "no account");
        assert!(
            !passwords
                .verify("anything", Some("not a hash".into()))
                .await
        );
        assert_ne!(
            passwords.hash("correct horse").await.unwrap(),
            hash,
            "salted"
        );
    }

    #[test]
    fn the_stand_in_hash_is_checked_like_a_real_one() {
        // A stand-in that did not parse would answer at once, and the time
        // would tell that no account has the nickname.
        let refused = Argon2::default().verify_password(b"guess", NOBODY);
        assert_eq!(refused, Err(argon2::password_hash::Error::PasswordInvalid));
    }

    #[test]
    fn passwords_have_a_length() {
        assert_eq!(Passwords::check("short"), Err(Weak::TooShort));
        assert_eq!(Passwords::check("é".repeat(8).as_str()), Ok(()));
        assert_eq!(Passwords::check(&"x".repeat(1025)), Err(Weak::TooLong));
    }
}
