//! Internal failures as clients see them: a reference, and nothing of the
//! detail.
//!
//! SQLite's messages, file paths and I/O errors help the operator and mean
//! nothing to a user (and may tell an attacker about the server). So an
//! internal failure is logged once, with its detail and a reference, and the
//! client is told only that something went wrong on the server, and the
//! reference: a user who reports it points the operator at the log line.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The reference of one logged internal failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    reference: String,
}

impl Incident {
    /// Logs an internal failure (`what` happened, because of `detail`) under
    /// a new reference.
    pub fn log(what: &str, detail: &dyn fmt::Display) -> Self {
        let incident = Self {
            reference: new_reference(),
        };
        tracing::error!(error_id = %incident.reference, error = %detail, "{what}");
        incident
    }

    /// The reference, as the log line names it.
    pub fn reference(&self) -> &str {
        &self.reference
    }
}

impl fmt::Display for Incident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an internal error occurred on the server (reference {})",
            self.reference
        )
    }
}

/// Twelve hex digits: random, so that references from different runs (or
/// nodes) do not collide in one log search; a counter should the system
/// have no randomness to give, which still tells this run's failures apart.
fn new_reference() -> String {
    static FALLBACK: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 6];
    if getrandom::fill(&mut bytes).is_err() {
        let n = FALLBACK.fetch_add(1, Ordering::Relaxed);
        bytes.copy_from_slice(&n.to_be_bytes()[2..]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_sees_a_reference_and_none_of_the_detail() {
        let detail = "disk I/O error: /var/lib/hubbub/hubbub.db-wal";
        let incident = Incident::log("a message could not be stored", &detail);
        let shown = incident.to_string();
        assert!(!shown.contains("disk"), "{shown}");
        assert!(shown.contains(incident.reference()), "{shown}");
        assert_eq!(incident.reference().len(), 12);
        assert!(incident.reference().bytes().all(|b| b.is_ascii_hexdigit()));
        let other = Incident::log("again", &detail);
        assert_ne!(incident.reference(), other.reference());
    }
}
