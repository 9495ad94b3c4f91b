//! The files the person is sharing, as the state holds them: each
//! [`Upload`] from choosing the file until its row goes, with how much is
//! sent and how it ended. The bytes themselves travel in `crate::upload`;
//! the reducer in `state` turns its events into these changes.

/// How long the row of a finished (or cancelled) upload stays: long enough to
/// see it reach 100%, by which time the file is in the conversation.
pub const UPLOAD_SHOWN_MS: i64 = 4_000;

/// Where a file the person is sharing stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadStatus {
    Uploading,
    /// Stored by the server at `at` (ms since the epoch); it announces the
    /// file in the room.
    Done {
        at: i64,
    },
    /// Not stored, and why (the server's sentence when it gave one).
    Failed(String),
    /// Cancelled by the person at `at`.
    Cancelled {
        at: i64,
    },
}

/// A file the person is sharing, from choosing it until its row goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Unique within this page's life.
    pub id: u64,
    pub room: String,
    pub name: String,
    /// The file's size in bytes.
    pub size: u64,
    /// How much of the file is sent, in bytes (at most `size`).
    pub sent: u64,
    pub status: UploadStatus,
}

impl Upload {
    /// How far along it is, 0 to 100 (rounded down: 100 means all sent).
    pub fn percent(&self) -> u8 {
        match self.status {
            UploadStatus::Done { .. } => 100,
            _ if self.size == 0 => 0,
            // Floats, not u128, whose division routine costs bundle size;
            // exact enough for a bar.
            _ => (self.sent.min(self.size) as f64 * 100.0 / self.size as f64) as u8,
        }
    }

    /// When its row goes by itself, if it does.
    pub(super) fn expires_at(&self) -> Option<i64> {
        match self.status {
            UploadStatus::Done { at } | UploadStatus::Cancelled { at } => {
                Some(at + UPLOAD_SHOWN_MS)
            }
            UploadStatus::Uploading | UploadStatus::Failed(_) => None,
        }
    }
}
