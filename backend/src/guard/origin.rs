//! Cross-site WebSocket hijacking defence: a browser sends the page's origin
//! with every WebSocket handshake, and axum checks nothing by itself. A page
//! from another site must not be able to open a socket with the user's
//! cookies and network position (RFC 6455 §10.2).

use axum::http::HeaderValue;

/// Which page origins may open a WebSocket.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Lowercased `scheme://host[:port]`, without a trailing slash.
    allowed: Vec<String>,
}

/// `trunk serve`'s origins. Allowed in debug builds, which is what
/// `cargo run -p backend` gives the developer working on the web client.
const DEVELOPMENT_ORIGINS: [&str; 2] = ["http://127.0.0.1:8081", "http://localhost:8081"];

impl OriginPolicy {
    pub fn new(configured: &[String]) -> Self {
        let mut allowed: Vec<String> = configured.iter().map(|o| canonical(o)).collect();
        if cfg!(debug_assertions) {
            allowed.extend(DEVELOPMENT_ORIGINS.iter().map(|o| canonical(o)));
        }
        Self { allowed }
    }

    /// Whether a handshake with this `Origin` and `Host` may proceed. No
    /// `Origin` header means no browser, and so no page to hijack: allowed.
    /// The server's own origin is the one whose host and port are the `Host`
    /// the request came to.
    pub fn allows(&self, origin: Option<&HeaderValue>, host: Option<&HeaderValue>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = canonical(origin);
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        let host = host
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase);
        if let (Some(authority), Some(host)) = (authority, host)
            && authority == host
        {
            return true;
        }
        self.allowed.contains(&origin)
    }
}

fn canonical(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(policy: &OriginPolicy, origin: Option<&str>, host: &str) -> bool {
        let origin = origin.map(|o| HeaderValue::from_str(o).unwrap());
        policy.allows(origin.as_ref(), Some(&HeaderValue::from_str(host).unwrap()))
    }

    #[test]
    fn same_origin_and_configured_origins_pass() {
        let policy = OriginPolicy::new(&["https://chat.example.org/".to_owned()]);
        assert!(allows(
            &policy,
            Some("http://localhost:8080"),
            "localhost:8080"
        ));
        assert!(allows(
            &policy,
            Some("https://Hub.Example.com"),
            "hub.example.com"
        ));
        assert!(allows(
            &policy,
            Some("https://chat.example.org"),
            "hub.example.com"
        ));
        assert!(
            allows(&policy, None, "hub.example.com"),
            "no Origin: not a browser"
        );
    }

    #[test]
    fn other_sites_are_refused() {
        let policy = OriginPolicy::new(&[]);
        assert!(!allows(
            &policy,
            Some("https://evil.example"),
            "localhost:8080"
        ));
        assert!(!allows(
            &policy,
            Some("http://localhost:9999"),
            "localhost:8080"
        ));
        assert!(!allows(&policy, Some("null"), "localhost:8080"));
        assert!(!allows(
            &policy,
            Some("http://localhost:8080.evil.example"),
            "localhost:8080"
        ));
    }
}
