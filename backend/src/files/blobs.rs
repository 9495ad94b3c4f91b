//! The content-addressed store of uploaded bytes: `files/<2 hex>/<62 hex>`
//! in the data directory, named by the SHA-256 of their contents, so the
//! same bytes uploaded twice are kept once and no name a client chose ever
//! reaches the file system.
//!
//! An upload is written to a temporary file in `files/tmp` while it is hashed
//! ([`TempBlob`]); only a complete upload is fsynced and renamed into place
//! ([`Blobs::keep`]). A temporary file removes itself when dropped, so an
//! upload that fails, is refused or is cut off (its request task is dropped)
//! leaves nothing behind; what a crash leaves in `tmp` is removed at the next
//! start. The quota is counted here, over the distinct blobs on disk.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::sniff;

/// Where blobs live, inside the data directory.
const DIR: &str = "files";
/// Where uploads are written until they are complete.
const TMP: &str = "tmp";

/// The store. Keeping a blob takes a lock, held for the existence check,
/// the quota and the rename (not for the fsync of the data, done before).
pub struct Blobs {
    root: PathBuf,
    tmp: PathBuf,
    quota: u64,
    /// Bytes of all blobs on disk.
    used: Mutex<u64>,
}

/// Why an upload could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error("the server's storage for files is full")]
    QuotaFull,
    #[error("writing the file failed: {0}")]
    Io(#[from] io::Error),
}

/// A complete upload, kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// SHA-256 of the bytes, lowercase hex: the blob's name.
    pub sha256: String,
    pub size: u64,
    /// What its first bytes say it is ([`sniff::media_type`]).
    pub media_type: &'static str,
    /// False when the same bytes were stored already (nothing new written).
    pub new: bool,
}

impl Blobs {
    /// Opens the store in `data_dir`: creates its directories, removes what
    /// an earlier run left in `tmp`, and counts what is stored. Blocking.
    pub fn open(data_dir: &Path, quota: u64) -> io::Result<Self> {
        let root = data_dir.join(DIR);
        let tmp = root.join(TMP);
        let new_root = !root.exists();
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        if new_root {
            // Blobs are made durable below `files`: its own name in the data
            // directory must survive a power cut as well.
            std::fs::File::open(data_dir)?.sync_all()?;
        }
        let used = used_bytes(&root)?;
        Ok(Self {
            root,
            tmp,
            quota,
            used: Mutex::new(used),
        })
    }

    /// The directory temporary uploads are written to.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// Whether the quota is used up already (an upload would be refused
    /// before a byte of it is read).
    pub async fn full(&self) -> bool {
        *self.used.lock().await >= self.quota
    }

    /// Bytes stored.
    pub async fn used(&self) -> u64 {
        *self.used.lock().await
    }

    /// The blob of `sha256`, if that is a SHA-256 in hex (it comes from the
    /// database, but a path is built from it).
    pub fn path(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        Some(self.root.join(&sha256[..2]).join(&sha256[2..]))
    }

    /// A new temporary file for an upload.
    pub async fn temp(&self) -> io::Result<TempBlob> {
        let path = self.tmp.join(format!("{}.part", super::new_id()?));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(TempBlob {
            guard: RemoveOnDrop(Some(path)),
            file,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(sniff::HEAD_BYTES),
        })
    }

    /// Makes a complete upload durable and visible under its hash, unless
    /// the same bytes are there already; refuses it if new bytes would pass
    /// the quota. The temporary file is gone afterwards, whatever happens.
    pub async fn keep(&self, mut temp: TempBlob) -> Result<Kept, KeepError> {
        temp.file.flush().await?;
        temp.file.sync_all().await?;
        let sha256 = hex(&temp.hasher.finalize_reset());
        let size = temp.size;
        let media_type = sniff::media_type(&temp.head);
        let Some(path) = self.path(&sha256) else {
            return Err(KeepError::Io(io::Error::other("a hash that is not hex")));
        };
        let mut used = self.used.lock().await;
        if tokio::fs::try_exists(&path).await? {
            return Ok(Kept {
                sha256,
                size,
                media_type,
                new: false,
            });
        }
        if used.saturating_add(size) > self.quota {
            return Err(KeepError::QuotaFull);
        }
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        let new_dir = !tokio::fs::try_exists(&dir).await?;
        tokio::fs::create_dir_all(&dir).await?;
        let Some(from) = temp.guard.0.clone() else {
            return Err(KeepError::Io(io::Error::other(
                "the upload was kept already",
            )));
        };
        // On failure the temporary file goes with `temp`.
        tokio::fs::rename(&from, &path).await?;
        temp.guard.0 = None;
        // The rename is durable once its directory is synced; a directory
        // made for it, once the store's root is too (else a power cut could
        // take the whole `<2 hex>` directory with the blob whose file row
        // was committed).
        let root = new_dir.then(|| self.root.clone());
        tokio::task::spawn_blocking(move || {
            std::fs::File::open(&dir)?.sync_all()?;
            match root {
                Some(root) => std::fs::File::open(root)?.sync_all(),
                None => Ok(()),
            }
        })
        .await
        .map_err(io::Error::other)??;
        *used += size;
        Ok(Kept {
            sha256,
            size,
            media_type,
            new: true,
        })
    }
}

/// An upload being written: the file, the hash so far, its size, and its
/// first bytes for [`sniff::media_type`].
pub struct TempBlob {
    guard: RemoveOnDrop,
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl TempBlob {
    /// Appends `chunk`. Memory stays flat: the chunk is hashed and handed to
    /// the file, never collected.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        if self.head.len() < sniff::HEAD_BYTES {
            let wanted = (sniff::HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Removes a temporary file when the upload that owns it ends without
/// keeping it. An unlink is quick enough to do in `drop`, even on the
/// runtime's threads, and `drop` is what runs when a request is cancelled.
/// `None` once the file was renamed into place.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let Some(path) = self.0.take() else {
            return;
        };
        if let Err(error) = std::fs::remove_file(&path)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %error, "cannot remove an unfinished upload");
        }
    }
}

/// Bytes of every blob under `root` (the two-hex-digit directories).
fn used_bytes(root: &Path) -> io::Result<u64> {
    let mut used = 0u64;
    for dir in std::fs::read_dir(root)? {
        let dir = dir?;
        let name = dir.file_name();
        if name == TMP || !dir.file_type()?.is_dir() {
            continue;
        }
        for blob in std::fs::read_dir(dir.path())? {
            let meta = blob?.metadata()?;
            if meta.is_file() {
                used = used.saturating_add(meta.len());
            }
        }
    }
    Ok(used)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[tokio::test]
    async fn a_blob_is_named_by_its_hash_and_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path(), 1 << 20).unwrap();
        let mut kept = Vec::new();
        for _ in 0..2 {
            let mut temp = blobs.temp().await.unwrap();
            temp.write(b"hello ").await.unwrap();
            temp.write(b"world").await.unwrap();
            kept.push(blobs.keep(temp).await.unwrap());
        }
        // sha256("hello world")
        let sha = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        assert_eq!(kept[0].sha256, sha);
        assert!(kept[0].new && !kept[1].new);
        assert_eq!(kept[0].size, 11);
        assert_eq!(kept[0].media_type, sniff::OCTET_STREAM);
        let path = blobs.path(sha).unwrap();
        assert!(path.ends_with(format!("files/b9/{}", &sha[2..])));
        assert_eq!(std::fs::read(path).unwrap(), b"hello world");
        assert_eq!(blobs.used().await, 11);
        assert_eq!(std::fs::read_dir(blobs.tmp_dir()).unwrap().count(), 0);

        // Reopening counts what is there and clears what was unfinished.
        let mut crashed = blobs.temp().await.unwrap();
        crashed.guard.0 = None;
        drop(crashed);
        assert_eq!(std::fs::read_dir(blobs.tmp_dir()).unwrap().count(), 1);
        let blobs = Blobs::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(blobs.used().await, 11);
        assert_eq!(std::fs::read_dir(blobs.tmp_dir()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_dropped_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path(), 1 << 20).unwrap();
        let mut temp = blobs.temp().await.unwrap();
        temp.write(b"half of it").await.unwrap();
        assert_eq!(std::fs::read_dir(blobs.tmp_dir()).unwrap().count(), 1);
        drop(temp);
        assert_eq!(std::fs::read_dir(blobs.tmp_dir()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn new_bytes_past_the_quota_are_refused_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path(), 10).unwrap();
        let mut temp = blobs.temp().await.unwrap();
        temp.write(b"eleven byte").await.unwrap();
        assert!(matches!(blobs.keep(temp).await, Err(KeepError::QuotaFull)));
        assert_eq!(std::fs::read_dir(blobs.tmp_dir()).unwrap().count(), 0);
        assert_eq!(blobs.used().await, 0);
        assert!(!blobs.full().await);
    }

    #[test]
    fn only_hex_hashes_make_paths() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path(), 1).unwrap();
        assert!(blobs.path(&"a".repeat(64)).is_some());
        assert!(blobs.path(&"A".repeat(64)).is_none());
        assert!(blobs.path("../../etc/passwd").is_none());
        assert!(blobs.path(&format!("{}/..", "a".repeat(61))).is_none());
    }
}
