//! The bounded file reader and the file-system seam.
//!
//! Providers read files named by users and by other programs (settings, sign-in records,
//! certificates, token files, time-zone files). Any of those paths may name `/dev/zero` (a
//! device that reports a length of 0 and never ends), a FIFO (opening it blocks), or a file far
//! larger than any real one. [`read_bounded`] is the one way credchain reads such a file: it
//! refuses anything that is not a regular file, caps the size, never leaves an unwiped copy of
//! the bytes behind, and says which file failed and why.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::{Zeroize, Zeroizing};

/// Why a file could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// Nothing exists at the path.
    NotFound,
    /// The path names a directory, device, FIFO or socket.
    NotRegularFile,
    /// The file is larger than the cap.
    TooLarge,
    /// Any other I/O error (permissions, I/O failure).
    Io,
}

/// A file that [`read_bounded`] refused or could not read. `Display` names the file and the
/// reason, e.g. ``cannot read `/dev/zero`: it is not a regular file``.
#[derive(Debug)]
pub struct ReadFileError {
    path: PathBuf,
    kind: ReadErrorKind,
    limit: u64,
    source: Option<std::io::Error>,
}

impl ReadFileError {
    /// A refusal of `path` for `kind` (for seams that fake the file system).
    pub fn new(path: impl Into<PathBuf>, kind: ReadErrorKind, limit: u64) -> Self {
        ReadFileError {
            path: path.into(),
            kind,
            limit,
            source: None,
        }
    }

    fn io(path: &Path, limit: u64, error: std::io::Error) -> Self {
        let kind = if error.kind() == std::io::ErrorKind::NotFound {
            ReadErrorKind::NotFound
        } else {
            ReadErrorKind::Io
        };
        ReadFileError {
            path: path.to_owned(),
            kind,
            limit,
            source: Some(error),
        }
    }

    /// Why the read failed.
    pub fn kind(&self) -> ReadErrorKind {
        self.kind
    }

    /// The file that was being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Just the reason, without the path (for messages that name the file themselves).
    pub fn reason(&self) -> String {
        match self.kind {
            ReadErrorKind::NotFound => "it does not exist".to_owned(),
            ReadErrorKind::NotRegularFile => {
                "it is not a regular file (a directory, device or FIFO)".to_owned()
            }
            ReadErrorKind::TooLarge => format!("it is larger than {}", human_size(self.limit)),
            ReadErrorKind::Io => match &self.source {
                Some(e) => e.to_string(),
                None => "it cannot be read".to_owned(),
            },
        }
    }
}

impl fmt::Display for ReadFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read `{}`: {}", self.path.display(), self.reason())
    }
}

impl std::error::Error for ReadFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads the regular file at `path`, of at most `limit` bytes.
///
/// * A directory, device (`/dev/zero`), FIFO or socket is refused before it is opened, and
///   checked again on the opened handle, so nothing blocks or reads forever. (A FIFO swapped in
///   between the two checks by another local user could still block the open; no path a user
///   names by mistake can.)
/// * A file larger than `limit`, even one that grows while it is read, is refused.
/// * The bytes come back in a buffer that is wiped when dropped, and growing the buffer never
///   leaves an unwiped copy, so the reader is fit for key files and token files too.
///
/// ```
/// use credchain_core::fs::{read_bounded, ReadErrorKind};
/// let dir = std::env::temp_dir();
/// let err = read_bounded(&dir, 1024).unwrap_err();
/// assert_eq!(err.kind(), ReadErrorKind::NotRegularFile);
/// # #[cfg(unix)]
/// assert_eq!(read_bounded("/dev/zero".as_ref(), 1024).unwrap_err().kind(), ReadErrorKind::NotRegularFile);
/// ```
///
/// # Errors
///
/// A [`ReadFileError`] naming the file and the reason.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadFileError> {
    let metadata = std::fs::metadata(path).map_err(|e| ReadFileError::io(path, limit, e))?;
    if !metadata.is_file() {
        return Err(ReadFileError::new(path, ReadErrorKind::NotRegularFile, limit));
    }
    if metadata.len() > limit {
        return Err(ReadFileError::new(path, ReadErrorKind::TooLarge, limit));
    }
    let file = std::fs::File::open(path).map_err(|e| ReadFileError::io(path, limit, e))?;
    let opened = file.metadata().map_err(|e| ReadFileError::io(path, limit, e))?;
    if !opened.is_file() {
        return Err(ReadFileError::new(path, ReadErrorKind::NotRegularFile, limit));
    }
    // One byte past the cap shows a file that grew after the size check.
    let expected = usize::try_from(opened.len().min(limit)).unwrap_or(usize::MAX);
    read_wiping(file.take(limit.saturating_add(1)), expected.saturating_add(1))
        .map_err(|e| ReadFileError::io(path, limit, e))
        .and_then(|bytes| {
            if bytes.len() as u64 > limit {
                Err(ReadFileError::new(path, ReadErrorKind::TooLarge, limit))
            } else {
                Ok(bytes)
            }
        })
}

/// Reads `reader` to its end into a buffer of `capacity`, growing it by copying into a new
/// buffer and wiping the old one, so no copy of the bytes is left unwiped.
fn read_wiping(mut reader: impl Read, capacity: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(capacity.clamp(64, 1 << 20)));
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let read = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(buffer),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.len() + read > buffer.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                (buffer.len() + read).max(buffer.capacity() * 2),
            ));
            bigger.extend_from_slice(&buffer);
            // The old buffer is wiped as it drops here.
            buffer = bigger;
        }
        buffer.extend_from_slice(&chunk[..read]);
        chunk.zeroize();
    }
}

/// Where providers read files from: the real file system in production, a map in tests.
///
/// Every read goes through the bounded-reader rules of [`read_bounded`].
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Reads the regular file at `path`, of at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// A [`ReadFileError`] naming the file and the reason.
    fn read(&self, path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadFileError>;

    /// `true` when `path` names a regular file (following links).
    fn is_file(&self, path: &Path) -> bool;
}

/// The real file system, read through [`read_bounded`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFileSystem;

impl FileSystem for RealFileSystem {
    fn read(&self, path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadFileError> {
        read_bounded(path, limit)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// A file system holding exactly the files it was given (feature `test-util`).
///
/// ```
/// use credchain_core::fs::{FileSystem, MemoryFileSystem, ReadErrorKind};
/// let fs = MemoryFileSystem::new().with_file("/var/run/token", "jwt");
/// assert_eq!(&fs.read("/var/run/token".as_ref(), 10).unwrap()[..], b"jwt");
/// assert_eq!(fs.read("/var/run/token".as_ref(), 2).unwrap_err().kind(), ReadErrorKind::TooLarge);
/// assert_eq!(fs.read("/other".as_ref(), 10).unwrap_err().kind(), ReadErrorKind::NotFound);
/// ```
#[cfg(feature = "test-util")]
#[derive(Clone, Debug, Default)]
pub struct MemoryFileSystem {
    files: Arc<std::sync::RwLock<std::collections::HashMap<PathBuf, Arc<[u8]>>>>,
}

#[cfg(feature = "test-util")]
impl MemoryFileSystem {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; clones share the same files.
    #[must_use]
    pub fn with_file(self, path: impl Into<PathBuf>, contents: impl AsRef<[u8]>) -> Self {
        self.write(path, contents);
        self
    }

    /// Adds or replaces a file, as a rotating token file is rewritten.
    pub fn write(&self, path: impl Into<PathBuf>, contents: impl AsRef<[u8]>) {
        let mut files = self
            .files
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        files.insert(path.into(), Arc::from(contents.as_ref()));
    }

    /// Removes a file.
    pub fn remove(&self, path: &Path) {
        let mut files = self
            .files
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        files.remove(path);
    }
}

#[cfg(feature = "test-util")]
impl FileSystem for MemoryFileSystem {
    fn read(&self, path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadFileError> {
        let files = self
            .files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match files.get(path) {
            None => Err(ReadFileError::new(path, ReadErrorKind::NotFound, limit)),
            Some(bytes) if bytes.len() as u64 > limit => {
                Err(ReadFileError::new(path, ReadErrorKind::TooLarge, limit))
            }
            Some(bytes) => Ok(Zeroizing::new(bytes.to_vec())),
        }
    }

    fn is_file(&self, path: &Path) -> bool {
        let files = self
            .files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        files.contains_key(path)
    }
}

/// The shared, dynamically typed file system handle a [`ProviderContext`](crate::ProviderContext) holds.
pub type SharedFileSystem = Arc<dyn FileSystem>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_file(contents: &[u8]) -> (PathBuf, impl Drop) {
        struct Remove(PathBuf);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        let path = std::env::temp_dir().join(format!(
            "credchain-fs-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(contents))
            .expect("write temp file");
        (path.clone(), Remove(path))
    }

    #[test]
    fn reads_a_file_within_the_cap() {
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let (path, _guard) = temp_file(&data);
        assert_eq!(&read_bounded(&path, 100_000).expect("read")[..], &data[..]);
    }

    #[test]
    fn refuses_a_file_over_the_cap_and_names_it() {
        let (path, _guard) = temp_file(&[b'x'; 2048]);
        let err = read_bounded(&path, 1024).unwrap_err();
        assert_eq!(err.kind(), ReadErrorKind::TooLarge);
        let shown = err.to_string();
        assert!(
            shown.contains(&path.display().to_string()) && shown.contains("1 KiB"),
            "{shown}"
        );
    }

    #[test]
    fn missing_file_is_not_found() {
        let err = read_bounded(Path::new("/definitely/not/here"), 10).unwrap_err();
        assert_eq!(err.kind(), ReadErrorKind::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_blocking() {
        assert_eq!(
            read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err().kind(),
            ReadErrorKind::NotRegularFile
        );
        let dir = std::env::temp_dir().join(format!("credchain-fifo-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(
                read_bounded(&fifo, 10).unwrap_err().kind(),
                ReadErrorKind::NotRegularFile
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn growing_buffer_keeps_every_byte() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let read = read_wiping(&data[..], 1).expect("read");
        assert_eq!(&read[..], &data[..]);
    }
}
