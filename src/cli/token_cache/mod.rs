//! `credchain token --cache`: access tokens shared between processes of one user, so a script or
//! kubectl running credchain many times runs `az` once.
//!
//! * [`dir`]: where the cache lives and the privacy checks (0700, owned by the user).
//! * [`fingerprint`]: the key, which changes with the request, any `AZURE_*` variable, az's
//!   signed-in accounts and VS Code's sign-in record, so a token never outlives its sign-in.
//! * This module: one JSON file per key (0600, written to a temporary file and renamed, so a
//!   reader never sees half an entry), and a lock file that makes concurrent processes wait for
//!   the one fetching. Only access tokens are stored; a corrupt, truncated, foreign or
//!   group-readable entry is ignored and replaced, never fatal.

mod dir;
mod fingerprint;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub(crate) use fingerprint::Inputs;

/// A cached token is served only while it has this long to live (azure-identity refreshes
/// tokens 5 minutes before they expire).
const MIN_REMAINING_SECS: i64 = 300;
/// How long a run waits for another run's fetch (the lock) before it fetches without the cache:
/// longer than any provider's default time limit, so a live fetch is waited for, but a stopped
/// holder (Ctrl-Z, a debugger) cannot hang every later run.
pub(crate) const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// The largest entry file read.
const MAX_ENTRY: u64 = 64 * 1024;

/// One cached access token and what `credchain token` prints with it.
#[derive(Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The key it was stored under (checked on read).
    fingerprint: String,
    /// The access token.
    pub(crate) access_token: Zeroizing<String>,
    /// Expiry, Unix seconds.
    pub(crate) expires_on: i64,
    /// Usually `Bearer`.
    pub(crate) token_type: String,
    /// The provider that issued it.
    pub(crate) credential: String,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("expires_on", &self.expires_on)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// The per-user cache directory, checked private.
#[derive(Debug)]
pub(crate) struct TokenCacheDir {
    dir: PathBuf,
}

/// An exclusive hold on the cache; released when dropped (or when the process ends).
#[derive(Debug)]
pub(crate) struct CacheLock(#[allow(dead_code, reason = "held for its drop")] File);

impl TokenCacheDir {
    /// Finds, creates if needed, and checks the cache directory.
    pub(crate) fn open() -> Result<Self, String> {
        let dir = dir::locate(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?;
        dir::prepare(&dir)?;
        Ok(TokenCacheDir { dir })
    }

    fn entry_path(&self, fingerprint: &str) -> PathBuf {
        self.dir.join(format!("{fingerprint}.json"))
    }

    /// The entry for `fingerprint` if there is a usable one at `now` (Unix seconds).
    pub(crate) fn get(&self, fingerprint: &str, now: i64) -> Option<Entry> {
        read_entry(&self.entry_path(fingerprint))
            .filter(|e| e.fingerprint == fingerprint && e.expires_on.saturating_sub(now) > MIN_REMAINING_SECS)
    }

    /// Waits at most `wait` for the cache's lock (other processes fetching hold it); `Ok(None)`
    /// when it is still held then.
    pub(crate) async fn lock(&self, wait: std::time::Duration) -> Result<Option<CacheLock>, String> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("cannot open the token cache lock `{}`: {e}", path.display()))?;
        let give_up = tokio::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(CacheLock(file))),
                Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(format!("cannot lock the token cache `{}`: {e}", path.display()));
                }
            }
        }
    }

    /// Stores `token` under `fingerprint` (0600, atomically), and removes entries that are
    /// expired or unreadable. Call with the lock held.
    pub(crate) fn put(
        &self,
        fingerprint: &str,
        access_token: &str,
        expires_on: i64,
        token_type: &str,
        credential: &str,
        now: i64,
    ) -> Result<(), String> {
        let entry = Entry {
            fingerprint: fingerprint.to_owned(),
            access_token: Zeroizing::new(access_token.to_owned()),
            expires_on,
            token_type: token_type.to_owned(),
            credential: credential.to_owned(),
        };
        let text = Zeroizing::new(
            serde_json::to_string(&entry).map_err(|e| format!("cannot encode a cache entry: {e}"))?,
        );
        let path = self.entry_path(fingerprint);
        let temporary = self
            .dir
            .join(format!(".{fingerprint}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temporary);
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(format!(
                "cannot write the token cache entry `{}`: {e}",
                path.display()
            ));
        }
        self.sweep(fingerprint, now);
        Ok(())
    }

    /// Removes other entries that can no longer be served.
    fn sweep(&self, keep: &str, now: i64) {
        let Ok(listing) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for item in listing.flatten() {
            let path = item.path();
            let name = item.file_name();
            let name = name.to_string_lossy();
            if !name.ends_with(".json") || name.strip_suffix(".json") == Some(keep) {
                continue;
            }
            let usable = read_entry(&path).is_some_and(|e| e.expires_on > now);
            if !usable {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Reads an entry file if it is a regular file of ours, private, and well-formed.
fn read_entry(path: &std::path::Path) -> Option<Entry> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    let mine = metadata.uid() == rustix::process::geteuid().as_raw();
    let private = metadata.permissions().mode() & 0o077 == 0;
    if !metadata.file_type().is_file() || !mine || !private {
        tracing::debug!(path = %path.display(), "ignoring a token cache entry that is not a private file of ours");
        return None;
    }
    let bytes = credchain_core::fs::read_bounded(path, MAX_ENTRY).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(entry) => Some(entry),
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "ignoring a corrupt token cache entry");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, TokenCacheDir) {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("credchain");
        dir::prepare(&dir).expect("prepare");
        (root, TokenCacheDir { dir })
    }

    const NOW: i64 = 1_800_000_000;

    /// A run waits a bounded time for another run's lock, then goes on without it.
    #[tokio::test]
    async fn a_held_lock_is_waited_for_only_so_long() {
        let (_root, cache) = cache();
        let held = cache
            .lock(std::time::Duration::ZERO)
            .await
            .expect("lock")
            .expect("free at first");
        let waited = cache
            .lock(std::time::Duration::from_millis(50))
            .await
            .expect("lock");
        assert!(waited.is_none(), "another holder: give up after the wait");
        drop(held);
        assert!(
            cache
                .lock(std::time::Duration::ZERO)
                .await
                .expect("lock")
                .is_some()
        );
    }

    #[test]
    fn round_trip_and_expiry_margin() {
        let (_root, cache) = cache();
        assert!(cache.get("k", NOW).is_none());
        cache
            .put("k", "tok", NOW + 3600, "Bearer", "AzureCliCredential", NOW)
            .expect("put");
        let entry = cache.get("k", NOW).expect("hit");
        assert_eq!(entry.access_token.as_str(), "tok");
        assert_eq!(entry.credential, "AzureCliCredential");
        // Not served within five minutes of expiry.
        assert!(cache.get("k", NOW + 3600 - 300).is_none());
        assert!(cache.get("k", NOW + 3600 - 301).is_some());
        let mode = std::fs::metadata(cache.entry_path("k"))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!format!("{entry:?}").contains("tok\""));
    }

    #[test]
    fn corrupt_truncated_or_open_entries_are_ignored_and_replaced() {
        let (_root, cache) = cache();
        cache
            .put("k", "tok", NOW + 3600, "Bearer", "c", NOW)
            .expect("put");
        let path = cache.entry_path("k");
        let text = std::fs::read(&path).expect("read");
        std::fs::write(&path, &text[..text.len() / 2]).expect("truncate");
        assert!(cache.get("k", NOW).is_none());
        std::fs::write(&path, b"\0\xff garbage").expect("corrupt");
        assert!(cache.get("k", NOW).is_none());
        cache
            .put("k", "tok2", NOW + 3600, "Bearer", "c", NOW)
            .expect("rewrite");
        assert_eq!(cache.get("k", NOW).expect("hit").access_token.as_str(), "tok2");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(
            cache.get("k", NOW).is_none(),
            "a readable-by-others entry is not trusted"
        );
        // An entry stored under another key is not served for this one.
        std::fs::copy(&path, cache.entry_path("other")).expect("copy");
        std::fs::set_permissions(cache.entry_path("other"), std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        assert!(cache.get("other", NOW).is_none());
    }

    #[test]
    fn writing_sweeps_expired_and_broken_entries() {
        let (_root, cache) = cache();
        cache
            .put("old", "t", NOW - 1, "Bearer", "c", NOW - 100)
            .expect("put");
        cache
            .put("live", "t", NOW + 3600, "Bearer", "c", NOW - 100)
            .expect("put");
        std::fs::write(cache.entry_path("broken"), b"{").expect("write");
        cache
            .put("new", "t", NOW + 3600, "Bearer", "c", NOW)
            .expect("put");
        assert!(!cache.entry_path("old").exists());
        assert!(!cache.entry_path("broken").exists());
        assert!(cache.entry_path("live").exists() && cache.entry_path("new").exists());
    }
}
