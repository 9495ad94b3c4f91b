//! File sharing: uploads over HTTP, stored by content, announced in their
//! room, and downloaded without ever being run by a browser.
//!
//! - [`upload`]: `POST /api/rooms/{room}/files` streams a multipart upload
//!   to a temporary file while hashing it, keeps it in [`blobs`], and asks
//!   the hub to announce it (`Hub::share`): the message's attachment names
//!   the file, and the upload is answered once that message is committed.
//! - [`download`]: `GET /api/files/{id}` (always a download) and
//!   `GET /api/files/{id}/inline` (verified images only), with ranges.
//! - [`names`] cleans the names uploaders give; [`sniff`] tells the image
//!   types shown inline by their magic bytes; [`range`] reads `Range`.
//!
//! File ids are 128 random bits, so one id says nothing about another: a
//! file is reachable by those who were shown its id (in its room) and no one
//! else can guess it.

pub mod blobs;
mod download;
pub mod names;
pub(crate) mod range;
pub mod sniff;
mod upload;

use std::io;
use std::path::Path;

pub use blobs::Blobs;
pub use download::{download, inline};
pub use upload::upload;

use crate::config;
use crate::guard::IpRate;

/// What the multipart envelope (boundaries, part headers, the `nick` field)
/// may add to the largest file: the upload route's body limit is
/// `max_upload_bytes` plus this.
pub const ENVELOPE_BYTES: u64 = 64 * 1024;

/// What the file routes share.
pub struct Files {
    pub blobs: Blobs,
    pub max_upload_bytes: u64,
    /// Uploads per IP address per minute.
    pub uploads: IpRate,
}

impl Files {
    /// Opens the blob store in `data_dir` (blocking: see [`Blobs::open`]).
    pub fn open(data_dir: &Path, config: &config::Files) -> io::Result<Self> {
        Ok(Self {
            blobs: Blobs::open(data_dir, config.quota_bytes)?,
            max_upload_bytes: config.max_upload_bytes,
            uploads: IpRate::per_minute(config.uploads_per_minute_per_ip),
        })
    }

    /// The upload route's body limit.
    pub fn body_limit(&self) -> usize {
        usize::try_from(self.max_upload_bytes.saturating_add(ENVELOPE_BYTES)).unwrap_or(usize::MAX)
    }
}

/// A new file id: 128 bits from the operating system's random source, as 32
/// lowercase hex digits.
pub fn new_id() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `id` looks like one [`new_id`] makes (checked before any lookup).
pub fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn ids_are_random_hex() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert!(is_id(&a) && is_id(&b));
        assert_ne!(a, b);
        assert!(!is_id("../../etc/passwd"));
        assert!(!is_id(&a.to_uppercase()));
        assert!(!is_id(&a[1..]));
    }
}
