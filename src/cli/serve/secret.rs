//! The `X-IDENTITY-HEADER` secret: made fresh per start or read from `--header-file`, compared in
//! constant time, and never printed except on the one stdout line that hands it to the caller.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Bytes of randomness in a generated secret (256 bits; the protocol's callers need ≥ 128).
const RANDOM_BYTES: usize = 32;
/// A secret from `--header-file` must be at least this long (128 bits of base64-like text).
pub(super) const MIN_FILE_SECRET: usize = 22;
/// The largest `--header-file` accepted.
const MAX_FILE_BYTES: u64 = 4096;

/// The shared secret callers must send in `X-IDENTITY-HEADER`. `Debug` never shows it.
pub(crate) struct HeaderSecret(Zeroizing<String>);

impl fmt::Debug for HeaderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HeaderSecret(<redacted>)")
    }
}

impl HeaderSecret {
    /// 256 bits from the operating system's generator, as unpadded URL-safe base64 (43 chars).
    pub(crate) fn generate() -> Result<Self, String> {
        let mut bytes = Zeroizing::new([0u8; RANDOM_BYTES]);
        getrandom::fill(&mut bytes[..])
            .map_err(|e| format!("cannot get random bytes for the header secret: {e}"))?;
        Ok(HeaderSecret(Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..]),
        )))
    }

    /// The secret in the file at `path`: its text without surrounding whitespace, at least
    /// [`MIN_FILE_SECRET`] visible ASCII characters (any other byte could not travel in a header).
    pub(crate) fn from_file(path: &Path) -> Result<Self, String> {
        let bytes = credchain_core::fs::read_bounded(path, MAX_FILE_BYTES)
            .map_err(|e| format!("{e}; give --header-file a file holding the secret"))?;
        Self::from_text(&bytes).map_err(|reason| {
            format!(
                "the header secret in `{}` {reason}",
                super::super::terminal::clean(&path.display().to_string())
            )
        })
    }

    /// Checks and keeps `bytes` (trimmed) as the secret.
    fn from_text(bytes: &[u8]) -> Result<Self, String> {
        let trimmed = bytes.trim_ascii();
        if !trimmed.iter().all(|b| b.is_ascii_graphic()) {
            return Err("may only hold visible ASCII characters (no spaces inside)".to_owned());
        }
        if trimmed.len() < MIN_FILE_SECRET {
            return Err(format!(
                "is too short: give at least {MIN_FILE_SECRET} characters (e.g. `openssl rand -base64 32`)"
            ));
        }
        // Only visible ASCII, so this cannot fail; an error stays an error, not a panic.
        let text = std::str::from_utf8(trimmed).map_err(|_| "is not text".to_owned())?;
        Ok(HeaderSecret(Zeroizing::new(text.to_owned())))
    }

    /// The secret, for the `IDENTITY_HEADER=` line only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `sent` is the secret, in time independent of where they differ. (A different
    /// length is told apart at once; the length of a generated secret is public anyway.)
    pub(crate) fn matches(&self, sent: &[u8]) -> bool {
        bool::from(self.0.as_bytes().ct_eq(sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_fresh_and_header_safe() {
        let a = HeaderSecret::generate().expect("random");
        let b = HeaderSecret::generate().expect("random");
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn matches_only_the_exact_secret() {
        let s = HeaderSecret::from_text(b"  0123456789abcdefghijklmnop\n").expect("valid");
        assert!(s.matches(b"0123456789abcdefghijklmnop"));
        for wrong in [
            &b""[..],
            b"0123456789abcdefghijklmno",
            b"0123456789abcdefghijklmnopq",
            b"0123456789abcdefghijklmnoP",
            b"1123456789abcdefghijklmnop",
        ] {
            assert!(!s.matches(wrong), "{wrong:?}");
        }
    }

    #[test]
    fn file_secrets_must_be_long_visible_ascii() {
        assert!(
            HeaderSecret::from_text(b"short")
                .unwrap_err()
                .contains("too short")
        );
        assert!(
            HeaderSecret::from_text(b"0123456789 abcdefghijklmnop")
                .unwrap_err()
                .contains("visible ASCII")
        );
        assert!(HeaderSecret::from_text("0123456789abcdefghijklmnopé".as_bytes()).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = HeaderSecret::from_text(b"0123456789abcdefghijklmnop").expect("valid");
        assert!(!format!("{s:?}").contains("0123"));
    }

    #[test]
    fn file_errors_name_the_file_not_the_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "tiny-secret").expect("write");
        let err = HeaderSecret::from_file(&path).expect_err("too short");
        assert!(err.contains("too short") && !err.contains("tiny-secret"), "{err}");
        let err = HeaderSecret::from_file(&dir.path().join("missing")).expect_err("missing");
        assert!(err.contains("--header-file"), "{err}");
    }
}
