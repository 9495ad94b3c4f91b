//! The data directory belongs to one server at a time. Two servers on the
//! same directory would each number messages from their own idea of a room's
//! head (two writers, one database), and each would clear the other's
//! uploads in progress from `files/tmp` at its start.
//!
//! [`DataDirLock`] is an advisory lock (`flock`) on the file `LOCK` in the
//! directory, held for as long as the server runs. The kernel releases it
//! when the process ends however it ends, so a server killed with SIGKILL or
//! by a power cut leaves no stale lock to remove by hand: the file stays,
//! the lock does not. The holder writes its PID into the file so that the
//! next one can say who it is.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock's file in the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// The data directory, held: dropping it lets another server take it.
#[derive(Debug)]
pub struct DataDirLock {
    dir: PathBuf,
    /// The lock is the open file's: it lasts as long as the file is open.
    _file: File,
}

/// Why the data directory could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it (the PID it wrote, if it could be read).
    #[error(
        "another Hubbub{} is using {}: stop it or choose another --data-dir",
        pid.map_or(String::new(), |pid| format!(" (pid {pid})")),
        dir.display()
    )]
    Held { dir: PathBuf, pid: Option<u32> },
    #[error("cannot use the data directory {}: {source}", dir.display())]
    Io { dir: PathBuf, source: io::Error },
}

impl DataDirLock {
    /// Creates `dir` if need be and takes its lock, or says who holds it.
    /// Never waits: a second server must fail at once, not hang.
    pub fn take(dir: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // Never truncated on opening: until the lock is ours, the PID in it
        // is the holder's.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // A holder that has not written its PID yet is still a holder.
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
                return Err(LockError::Held { dir, pid });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self {
            dir: dir.to_owned(),
            _file: file,
        })
    }

    /// The directory held.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn a_second_taker_is_told_who_holds_the_directory() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let held = DataDirLock::take(&dir).unwrap();
        assert_eq!(held.dir(), dir);
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap(),
            format!("{pid}\n")
        );

        // A second open file is a second holder to the kernel, even in one
        // process: this is what another server would meet.
        let refused = DataDirLock::take(&dir).unwrap_err();
        let canonical = std::fs::canonicalize(&dir).unwrap();
        assert!(
            matches!(&refused, LockError::Held { dir, pid: Some(p) } if *dir == canonical && *p == pid),
            "{refused:?}"
        );
        assert_eq!(
            refused.to_string(),
            format!(
                "another Hubbub (pid {pid}) is using {}: stop it or choose another --data-dir",
                canonical.display()
            )
        );

        drop(held);
        let again = DataDirLock::take(&dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap(),
            format!("{pid}\n"),
            "the new holder's PID replaces the old one"
        );
        drop(again);
    }

    #[test]
    fn a_holder_without_a_pid_yet_is_still_named_by_its_directory() {
        let temp = tempfile::tempdir().unwrap();
        let file = File::create(temp.path().join(LOCK_FILE)).unwrap();
        file.lock().unwrap();
        let refused = DataDirLock::take(temp.path()).unwrap_err();
        assert!(
            matches!(&refused, LockError::Held { pid: None, .. }),
            "{refused:?}"
        );
        assert!(
            refused.to_string().starts_with("another Hubbub is using "),
            "{refused}"
        );
    }

    #[test]
    fn a_stale_file_without_a_lock_is_taken_over() {
        let temp = tempfile::tempdir().unwrap();
        // What a killed server leaves: the file with its PID, no lock.
        std::fs::write(temp.path().join(LOCK_FILE), "4194304 and more\n").unwrap();
        let held = DataDirLock::take(temp.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(temp.path().join(LOCK_FILE)).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(held);
    }
}
