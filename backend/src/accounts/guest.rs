//! A guest's token for the HTTP API: the connection's number and a MAC over
//! it, under a key drawn when the server starts. The hub keeps nothing per
//! guest to check one (it recomputes the MAC), and a token is good exactly
//! while its connection is there: numbers are never reused, and the hub
//! asks whether that connection is still a guest.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use shared::Secret;

/// The MAC's bytes kept in a token: 192 bits, beyond guessing.
const TAG_LEN: usize = 24;
const TOKEN_LEN: usize = 8 + TAG_LEN;

/// Makes and checks guest tokens.
pub struct GuestTokens {
    key: [u8; 32],
}

impl GuestTokens {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The token of connection `connection`.
    pub fn issue(&self, connection: u64) -> Secret {
        let mut token = [0; TOKEN_LEN];
        token[..8].copy_from_slice(&connection.to_be_bytes());
        let tag: [u8; 32] = self.mac(connection).finalize().into_bytes().into();
        token[8..].copy_from_slice(&tag[..TAG_LEN]);
        Secret::new(URL_SAFE_NO_PAD.encode(token))
    }

    /// The connection a token was issued to, if this server issued it.
    pub fn connection(&self, token: &str) -> Option<u64> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if bytes.len() != TOKEN_LEN {
            return None;
        }
        let (number, tag) = bytes.split_at(8);
        let connection = u64::from_be_bytes(number.try_into().ok()?);
        self.mac(connection)
            .verify_truncated_left(tag)
            .ok()
            .map(|()| connection)
    }

    fn mac(&self, connection: u64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"hubbub guest token");
        mac.update(&connection.to_be_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_connection_and_only_this_server_makes_one() {
        let tokens = GuestTokens::new([7; 32]);
        let token = tokens.issue(42);
        assert_eq!(token.expose().len(), 43, "as long as a session's");
        assert_eq!(tokens.connection(token.expose()), Some(42));
        assert_eq!(GuestTokens::new([8; 32]).connection(token.expose()), None);
        // A number changed, a tag cut short, garbage: nobody.
        let mut bytes = URL_SAFE_NO_PAD.decode(token.expose()).unwrap();
        bytes[7] ^= 1;
        assert_eq!(tokens.connection(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        assert_eq!(tokens.connection(&token.expose()[..40]), None);
        for junk in ["", "not a token", "%%%%"] {
            assert_eq!(tokens.connection(junk), None);
        }
    }
}
