//! Accounts on the wire: what a client signs in with, and the secrets that
//! travel in messages.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A password, a session token or an invite code. On the wire it is the
/// plain string; in `Debug` output (logs, panic messages, test failures) it
/// is never shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for checking it or sending it on.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What a `hello` signs in with: `{"token": "…"}` from an earlier sign-in,
/// or `{"password": "…"}` for the nickname's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    Token(Secret),
    Password(Secret),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let hello = Credentials::Password(Secret::new("hunter2"));
        assert!(!format!("{hello:?}").contains("hunter2"));
        assert_eq!(
            serde_json::to_string(&hello).unwrap(),
            r#"{"password":"hunter2"}"#
        );
    }
}
