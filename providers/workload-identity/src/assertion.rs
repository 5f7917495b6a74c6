//! The federated token file: when to read it again, and one shared read for concurrent callers.
//!
//! The rule (see the crate docs): the cached assertion is used while it was read less than
//! [`MAX_ASSERTION_AGE`] ago **and** its `exp` is more than [`EXPIRY_MARGIN`] away. A file
//! that is not a JWT (no readable `exp`) is read every time it is needed. After Entra rejects
//! an assertion as expired (`AADSTS700024`) the caller asks for a [`reread`](AssertionFile::reread).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use credchain_core::{Error, ProviderContext, Secret};

use crate::jwt;

/// A cached assertion older than this is read again (Kubernetes rotates projected tokens at 80%
/// of a lifetime of at least one hour; the SDKs wait 10 minutes).
pub const MAX_ASSERTION_AGE: Duration = Duration::from_secs(5 * 60);
/// An assertion whose `exp` is this close (or past) is read again.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The largest token file read. Projected service-account and OIDC tokens are 1–2 KiB.
pub const MAX_TOKEN_FILE_SIZE: u64 = 64 * 1024;

/// One read of the file.
#[derive(Clone, Debug)]
pub(crate) struct Assertion {
    /// The file's contents, trimmed.
    pub(crate) value: Arc<Secret>,
    /// Which read produced it (1 for the first); a [`reread`](AssertionFile::reread) after a
    /// refusal passes it back so concurrent refusals share one new read.
    pub(crate) generation: u64,
    read_at: SystemTime,
    expires: Option<SystemTime>,
}

impl Assertion {
    fn is_fresh(&self, now: SystemTime) -> bool {
        let Some(expires) = self.expires else {
            return false; // not a JWT: read every time
        };
        let young = now
            .duration_since(self.read_at)
            .is_ok_and(|age| age < MAX_ASSERTION_AGE);
        let far_from_expiry = expires.duration_since(now).is_ok_and(|left| left > EXPIRY_MARGIN);
        young && far_from_expiry
    }
}

#[derive(Default)]
struct Slot {
    /// The outcome of the last read, success or failure.
    last: Option<Result<Assertion, Error>>,
}

/// The token file and its cached assertion. Never `Debug`-prints the assertion.
pub(crate) struct AssertionFile {
    path: PathBuf,
    /// How the path was given, for messages ("`AZURE_FEDERATED_TOKEN_FILE`").
    origin: &'static str,
    provider: &'static str,
    context: ProviderContext,
    slot: Mutex<Slot>,
    /// Reads completed so far (the generation of the newest outcome in `slot`).
    reads: AtomicU64,
}

impl std::fmt::Debug for AssertionFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionFile")
            .field("path", &self.path)
            .field("reads", &self.reads.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl AssertionFile {
    pub(crate) fn new(
        provider: &'static str,
        path: PathBuf,
        origin: &'static str,
        context: ProviderContext,
    ) -> Self {
        AssertionFile {
            path,
            origin,
            provider,
            context,
            slot: Mutex::default(),
            reads: AtomicU64::new(0),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// How many times the file was read (for diagnostics and tests).
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // Nothing panics while holding the lock; recover rather than propagate a poison.
        self.slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The assertion to send: the cached one while fresh, else a new read. Callers arriving
    /// while another reads wait for that read and share its outcome.
    pub(crate) fn current(&self) -> Result<Assertion, Error> {
        self.current_after(self.reads())
    }

    /// [`current`](Self::current) for a caller that arrived when `arrived` reads had completed:
    /// a read completed since then is shared, whatever its age or outcome.
    fn current_after(&self, arrived: u64) -> Result<Assertion, Error> {
        let mut slot = self.lock();
        if let Some(last) = &slot.last {
            let shared = self.reads() > arrived; // a read finished while we waited
            match last {
                Ok(a) if shared || a.is_fresh(self.context.clock().now()) => return Ok(a.clone()),
                Err(e) if shared => return Err(e.clone()),
                _ => {}
            }
        }
        self.read_into(&mut slot)
    }

    /// Reads the file again after Entra refused the assertion of generation `refused`, unless
    /// another caller already did; every caller refused with the same assertion shares one read.
    pub(crate) fn reread(&self, refused: u64) -> Result<Assertion, Error> {
        let mut slot = self.lock();
        if self.reads() > refused
            && let Some(last) = &slot.last
        {
            return last.clone();
        }
        self.read_into(&mut slot)
    }

    /// Reads with the slot locked, so callers arriving meanwhile wait and share the outcome.
    /// The read is synchronous: a file of at most 64 KiB (a projected token lives in tmpfs)
    /// takes microseconds, less than handing it to a blocking thread would.
    fn read_into(&self, slot: &mut Slot) -> Result<Assertion, Error> {
        let now = self.context.clock().now();
        let generation = self.reads() + 1;
        let outcome = self.read(now, generation);
        slot.last = Some(outcome.clone());
        self.reads.store(generation, Ordering::Release);
        outcome
    }

    fn read(&self, now: SystemTime, generation: u64) -> Result<Assertion, Error> {
        let path = &self.path;
        let shown = path.display();
        let origin = self.origin;
        let bytes = self.context.fs().read(path, MAX_TOKEN_FILE_SIZE).map_err(|e| {
            Error::authentication_failed(
                self.provider,
                format!(
                    "cannot read the federated token file `{shown}` (from {origin}): {}; check that \
                         the service account token is mounted there (AKS: the pod uses a service \
                         account annotated with `azure.workload.identity/client-id` and is labelled \
                         `azure.workload.identity/use: \"true\"`)",
                    e.reason()
                ),
            )
            .with_source(e)
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::authentication_failed(
                self.provider,
                format!(
                    "the federated token file `{shown}` (from {origin}) is not text, so it holds no token"
                ),
            )
        })?;
        let value = text.trim();
        if value.is_empty() {
            return Err(Error::authentication_failed(
                self.provider,
                format!(
                    "the federated token file `{shown}` (from {origin}) is empty; the token has not \
                     been written yet or the path is wrong"
                ),
            ));
        }
        let expires = jwt::expiry(value);
        tracing::debug!(
            provider = self.provider,
            path = %shown,
            generation,
            jwt = expires.is_some(),
            expires_in_s = expires.map(|e| e.duration_since(now).map_or(0, |d| d.as_secs())),
            "read the federated token file"
        );
        Ok(Assertion {
            value: Arc::new(Secret::new(value)),
            generation,
            read_at: now,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use counting::Counting;
    use credchain_core::fs::{FileSystem, MemoryFileSystem, ReadFileError};
    use credchain_core::{ErrorKind, FakeClock};

    const PATH: &str = "/var/run/secrets/azure/tokens/azure-identity-token";
    const START: u64 = 1_800_000_000;

    /// A file system that counts reads.
    mod counting {
        use super::*;
        use std::sync::atomic::AtomicUsize;

        #[derive(Debug, Clone)]
        pub(super) struct Counting {
            pub(super) inner: MemoryFileSystem,
            pub(super) reads: Arc<AtomicUsize>,
        }

        impl FileSystem for Counting {
            fn read(&self, path: &Path, limit: u64) -> Result<zeroize::Zeroizing<Vec<u8>>, ReadFileError> {
                self.reads.fetch_add(1, Ordering::SeqCst);
                self.inner.read(path, limit)
            }

            fn is_file(&self, path: &Path) -> bool {
                self.inner.is_file(path)
            }
        }
    }

    fn jwt_expiring_at(exp: u64, marker: &str) -> String {
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp},"sub":"{marker}"}}"#));
        format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")
    }

    fn setup(
        contents: &str,
    ) -> (
        AssertionFile,
        MemoryFileSystem,
        FakeClock,
        Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let memory = MemoryFileSystem::new().with_file(PATH, contents);
        let counting = Counting {
            inner: memory.clone(),
            reads: Arc::default(),
        };
        let reads = Arc::clone(&counting.reads);
        let clock = FakeClock::at_unix(START);
        let context = ProviderContext::new()
            .with_env(credchain_core::Env::empty())
            .with_fs(counting)
            .with_clock(clock.clone());
        let file = AssertionFile::new(
            "WorkloadIdentityCredential",
            PATH.into(),
            "`AZURE_FEDERATED_TOKEN_FILE`",
            context,
        );
        (file, memory, clock, reads)
    }

    fn reads(counter: &std::sync::atomic::AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }

    #[test]
    fn a_fresh_jwt_is_reused_and_trimmed() {
        let token = jwt_expiring_at(START + 3600, "a");
        let (file, _, _, count) = setup(&format!("\n {token}\r\n"));
        let first = file.current().expect("read");
        assert_eq!(first.value.expose(), token);
        assert_eq!(file.current().expect("cached").generation, 1);
        assert_eq!(reads(&count), 1);
    }

    #[test]
    fn an_assertion_older_than_five_minutes_is_read_again() {
        let (file, fs, clock, count) = setup(&jwt_expiring_at(START + 3600, "old"));
        file.current().expect("read");
        clock.advance(MAX_ASSERTION_AGE - Duration::from_secs(1));
        file.current().expect("cached");
        assert_eq!(reads(&count), 1);
        let rotated = jwt_expiring_at(START + 7200, "new");
        fs.write(PATH, &rotated);
        clock.advance(Duration::from_secs(1));
        assert_eq!(file.current().expect("re-read").value.expose(), rotated);
        assert_eq!(reads(&count), 2);
    }

    #[test]
    fn an_assertion_expiring_within_five_minutes_is_read_again() {
        // Read at START, expiring 5 min 10 s later: fresh for 10 s only, well before 5 min of age.
        let (file, fs, clock, count) = setup(&jwt_expiring_at(START + 310, "old"));
        file.current().expect("read");
        clock.advance(Duration::from_secs(9));
        file.current().expect("cached");
        assert_eq!(reads(&count), 1);
        clock.advance(Duration::from_secs(1));
        let rotated = jwt_expiring_at(START + 3600, "new");
        fs.write(PATH, &rotated);
        assert_eq!(file.current().expect("re-read").value.expose(), rotated);
        assert_eq!(reads(&count), 2);
    }

    #[test]
    fn an_expired_assertion_is_read_every_time_until_it_rotates() {
        let (file, _, _, count) = setup(&jwt_expiring_at(START - 1, "expired"));
        file.current().expect("read");
        file.current().expect("read");
        assert_eq!(reads(&count), 2);
    }

    #[test]
    fn a_file_that_is_not_a_jwt_is_read_every_time() {
        let (file, fs, _, count) = setup("opaque-federated-token");
        assert_eq!(
            file.current().expect("read").value.expose(),
            "opaque-federated-token"
        );
        fs.write(PATH, "rotated-opaque-token");
        assert_eq!(
            file.current().expect("read").value.expose(),
            "rotated-opaque-token"
        );
        assert_eq!(reads(&count), 2);
    }

    #[test]
    fn a_clock_stepping_back_reads_again() {
        let (file, _, clock, count) = setup(&jwt_expiring_at(START + 3600, "a"));
        file.current().expect("read");
        clock.set(SystemTime::UNIX_EPOCH + Duration::from_secs(START - 60));
        file.current().expect("read");
        assert_eq!(reads(&count), 2);
    }

    #[test]
    fn reread_after_a_refusal_is_shared_by_every_caller_refused_with_that_assertion() {
        let (file, fs, _, count) = setup(&jwt_expiring_at(START + 3600, "old"));
        let refused = file.current().expect("read");
        let rotated = jwt_expiring_at(START + 7200, "new");
        fs.write(PATH, &rotated);
        let first = file.reread(refused.generation).expect("re-read");
        let second = file.reread(refused.generation).expect("shared");
        assert_eq!(first.value.expose(), rotated);
        assert_eq!(second.generation, first.generation);
        assert_eq!(reads(&count), 2);
        // Refused again with the new one: a new read.
        file.reread(first.generation).expect("re-read");
        assert_eq!(reads(&count), 3);
    }

    #[test]
    fn callers_that_waited_for_a_read_share_it_even_for_a_file_that_is_not_a_jwt() {
        let (file, fs, _, count) = setup("opaque-federated-token");
        // Two callers arrive together (no read completed yet); the first reads...
        let arrived = file.reads();
        let first = file.current_after(arrived).expect("read");
        fs.write(PATH, "rotated-opaque-token");
        // ...and the second, which waited on the lock meanwhile, takes that read.
        let second = file.current_after(arrived).expect("shared");
        assert_eq!(second.value.expose(), first.value.expose());
        assert_eq!(reads(&count), 1);
        // A failed read is shared the same way.
        fs.remove(Path::new(PATH));
        let arrived = file.reads();
        file.current_after(arrived).expect_err("missing");
        fs.write(PATH, "back");
        file.current_after(arrived).expect_err("the shared failure");
        assert_eq!(reads(&count), 2);
        assert_eq!(
            file.current().expect("a later caller reads").value.expose(),
            "back"
        );
    }

    #[test]
    fn unreadable_empty_and_binary_files_are_errors_naming_the_path() {
        let (file, fs, _, _) = setup("   \n");
        let err = file.current().expect_err("empty");
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
        assert!(
            err.message().contains(&format!("`{PATH}`")) && err.message().contains("is empty"),
            "{err}"
        );

        fs.write(PATH, [0xff, 0xfe, 0x00]);
        let err = file.current().expect_err("binary");
        assert!(err.message().contains("is not text"), "{err}");

        fs.remove(Path::new(PATH));
        let err = file.current().expect_err("missing");
        assert!(
            err.message().starts_with(&format!(
                "cannot read the federated token file `{PATH}` (from `AZURE_FEDERATED_TOKEN_FILE`): it does not exist"
            )),
            "{err}"
        );

        fs.write(PATH, vec![b'a'; MAX_TOKEN_FILE_SIZE as usize + 1]);
        let err = file.current().expect_err("too large");
        assert!(err.message().contains("larger than 64 KiB"), "{err}");
    }

    #[test]
    fn errors_and_debug_never_show_the_assertion() {
        let token = jwt_expiring_at(START + 3600, "secret-subject");
        let (file, _, _, _) = setup(&token);
        let a = file.current().expect("read");
        let shown = format!("{file:?} {a:?}");
        assert!(!shown.contains(&token[20..]), "{shown}");
    }
}
