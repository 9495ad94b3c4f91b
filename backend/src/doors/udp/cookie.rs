//! The stateless cookie that proves a client receives at its address, in
//! the manner of DTLS's HelloVerifyRequest and QUIC's Retry.
//!
//! A cookie is the time it was made and a MAC over that time and the
//! client's address, under a secret drawn when the server starts. The server
//! remembers nothing between handing a cookie out and getting it back: it
//! recomputes the MAC. A spoofed source address never sees its cookie, so it
//! cannot open a session, and a cookie is good only briefly, from the address
//! it was made for.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use shared::udp::{COOKIE_LEN, Cookie};

/// How long a cookie can be redeemed. A client answers within a round trip;
/// the rest is slack for a retried `connect`.
pub const COOKIE_LIFETIME: Duration = Duration::from_secs(30);

/// Makes and checks cookies.
pub struct Cookies {
    key: [u8; 32],
}

impl Cookies {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A cookie for `peer`, made at `now`.
    pub fn issue(&self, peer: SocketAddr, now: SystemTime) -> Cookie {
        let secs = unix_secs(now);
        let mut cookie = [0; COOKIE_LEN];
        cookie[..8].copy_from_slice(&secs.to_be_bytes());
        let tag = self.tag(peer, secs);
        cookie[8..].copy_from_slice(&tag[..COOKIE_LEN - 8]);
        cookie
    }

    /// Whether `cookie` was made by this server for `peer`, and recently.
    pub fn verify(&self, peer: SocketAddr, cookie: &Cookie, now: SystemTime) -> bool {
        let mut secs = [0; 8];
        secs.copy_from_slice(&cookie[..8]);
        let made = u64::from_be_bytes(secs);
        let age = unix_secs(now).saturating_sub(made);
        // A cookie from the future (beyond a second of clock step) is forged.
        if made > unix_secs(now) + 1 || age > COOKIE_LIFETIME.as_secs() {
            return false;
        }
        let mac = self.mac(peer, made);
        mac.verify_truncated_left(&cookie[8..]).is_ok()
    }

    fn tag(&self, peer: SocketAddr, secs: u64) -> [u8; 32] {
        self.mac(peer, secs).finalize().into_bytes().into()
    }

    fn mac(&self, peer: SocketAddr, secs: u64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(&secs.to_be_bytes());
        match peer {
            SocketAddr::V4(v4) => mac.update(&v4.ip().octets()),
            SocketAddr::V6(v6) => mac.update(&v6.ip().octets()),
        }
        mac.update(&peer.port().to_be_bytes());
        mac
    }
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_cookie_is_good_for_its_address_and_for_a_while() {
        let cookies = Cookies::new([7; 32]);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let alice = peer("127.0.0.1:5000");
        let cookie = cookies.issue(alice, now);
        assert!(cookies.verify(alice, &cookie, now));
        assert!(cookies.verify(alice, &cookie, now + COOKIE_LIFETIME));
        assert!(!cookies.verify(
            alice,
            &cookie,
            now + COOKIE_LIFETIME + Duration::from_secs(1)
        ));
        // Another port, another host, another server's secret: no.
        assert!(!cookies.verify(peer("127.0.0.1:5001"), &cookie, now));
        assert!(!cookies.verify(peer("127.0.0.2:5000"), &cookie, now));
        assert!(!Cookies::new([8; 32]).verify(alice, &cookie, now));
    }

    #[test]
    fn forged_cookies_are_refused() {
        let cookies = Cookies::new([7; 32]);
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let alice = peer("[::1]:5000");
        let mut cookie = cookies.issue(alice, now);
        cookie[20] ^= 1;
        assert!(!cookies.verify(alice, &cookie, now));
        // Moving the time forward to stretch the lifetime breaks the MAC.
        let mut later = cookies.issue(alice, now);
        later[..8].copy_from_slice(&(1_800_000_100u64).to_be_bytes());
        assert!(!cookies.verify(alice, &later, now + Duration::from_secs(100)));
        assert!(!cookies.verify(alice, &[0; COOKIE_LEN], now));
    }
}
