//! Capturing `tracing` output in tests, to assert what was (and was not) logged.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// Everything `tracing` logs on the current thread, at TRACE level, as plain text (no colours).
///
/// Use it to check that a flow logs what it should and never a secret:
///
/// ```
/// use credchain_fake_entra::LogCapture;
///
/// let (logs, _guard) = LogCapture::start();
/// tracing::debug!(client_id = "app-1", "requesting a token");
/// assert!(logs.contents().contains("requesting a token"));
/// assert!(!logs.contents().contains("s3cret"));
/// ```
///
/// [`start`](Self::start) installs a thread-local default subscriber that lives until the
/// returned guard is dropped. Async code must run on the same thread: use
/// `#[tokio::test(flavor = "current_thread")]`, or the default `#[tokio::test]` runtime, which
/// polls the test's future on the test thread. Work spawned onto other runtime threads is not
/// captured.
///
/// # Keep each capturing test in its own test binary
///
/// `tracing` caches, per call site, whether any subscriber is interested in it. When a test in
/// the same binary runs in parallel without a subscriber (or with a less verbose one), that
/// cache can be filled in a way that drops events from the captured thread, and the test fails
/// now and then. Put a test that uses `LogCapture` in its own file under `tests/` (one file is
/// one binary), with no other tests beside it, and it is reliable.
///
/// Cloning is cheap: clones share one buffer.
#[derive(Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl LogCapture {
    /// Starts capturing everything logged on this thread, at every level down to TRACE, until
    /// the returned guard is dropped.
    #[must_use = "capturing stops when the guard is dropped"]
    pub fn start() -> (LogCapture, tracing::subscriber::DefaultGuard) {
        let capture = LogCapture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Writer(writer.buffer.clone()))
            .with_ansi(false)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    /// Everything captured so far, one formatted line per event (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

impl fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.buffer.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("LogCapture").field("bytes", &len).finish()
    }
}

/// The `io::Write` the subscriber formats into: appends to the shared buffer.
struct Writer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_every_level_on_this_thread_until_the_guard_drops() {
        let (logs, guard) = LogCapture::start();
        tracing::trace!(answer = 42, "a trace event");
        tracing::error!("an error event");
        let text = logs.contents();
        assert!(
            text.contains("TRACE") && text.contains("a trace event answer=42"),
            "{text}"
        );
        assert!(
            text.contains("ERROR") && text.contains("an error event"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no ANSI colours: {text:?}");
        std::thread::spawn(|| tracing::error!("from another thread"))
            .join()
            .unwrap_or_else(|_| panic!("thread panicked"));
        drop(guard);
        tracing::error!("after the guard");
        let text = logs.contents();
        assert!(!text.contains("from another thread"), "{text}");
        assert!(!text.contains("after the guard"), "{text}");
        assert!(format!("{logs:?}").starts_with("LogCapture { bytes: "));
    }
}
