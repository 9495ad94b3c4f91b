//! Session tokens, guest tokens and invite codes: made from the operating
//! system's randomness, and kept by their SHA-256 only.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use shared::Secret;

use crate::store::SecretHash;

/// 256 random bits, as 43 URL-safe characters: a bearer token.
pub fn new_token() -> Result<Secret, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
}

/// An invite code: 80 random bits as 16 letters and digits in groups of
/// four, easy to read out (no `0`/`O`, `1`/`I`/`L`).
pub fn new_invite() -> Result<Secret, getrandom::Error> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let code: String = bytes
        .iter()
        .enumerate()
        .flat_map(|(i, byte)| {
            let letter = char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]);
            let dash = (i > 0 && i % 4 == 0).then_some('-');
            dash.into_iter().chain(std::iter::once(letter))
        })
        .collect();
    Ok(Secret::new(code))
}

/// What the database keeps of a secret: its SHA-256 in lowercase hex. A
/// token is random and long, so a plain hash loses nothing to guessing
/// (passwords, which people choose, get argon2id instead).
pub fn hash(secret: &str) -> SecretHash {
    let digest = Sha256::digest(secret.trim().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_kept_only_as_hashes() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        let kept = hash(a.expose());
        assert_eq!(kept.len(), 64);
        assert!(!kept.contains(a.expose()));
        assert_eq!(hash(a.expose()), kept, "the same secret, the same hash");
        let invite = new_invite().unwrap();
        assert_eq!(invite.expose().len(), 19, "{:?}", invite.expose());
        assert_eq!(
            hash(&format!(" {} ", invite.expose())),
            hash(invite.expose())
        );
    }
}
