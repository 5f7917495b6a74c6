//! Certificate pinning for endpoints with a self-signed certificate known by its thumbprint
//! (Service Fabric's managed identity endpoint, `IDENTITY_SERVER_THUMBPRINT`): a rustls
//! verifier that accepts exactly the server certificate whose SHA-1 or SHA-256 digest matches,
//! whatever its issuer or names, and still checks the handshake signature made with its key.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

/// A parsed thumbprint: the digest bytes and the algorithm they come from.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Thumbprint {
    digest: Vec<u8>,
    sha256: bool,
}

impl Thumbprint {
    /// Parses 40 (SHA-1, the form Service Fabric and the Azure portal show) or 64 (SHA-256) hex
    /// digits, either case; `:` or space separators are allowed.
    pub(crate) fn parse(text: &str) -> Result<Thumbprint, String> {
        let hex: Vec<u8> = text.bytes().filter(|b| !matches!(b, b':' | b' ')).collect();
        let refuse = || {
            "a server certificate thumbprint must be 40 (SHA-1) or 64 (SHA-256) hexadecimal digits".to_owned()
        };
        if !(hex.len() == 40 || hex.len() == 64) {
            return Err(refuse());
        }
        let digit = |b: u8| char::from(b).to_digit(16);
        let digest = hex
            .chunks(2)
            .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(refuse)?;
        Ok(Thumbprint {
            sha256: digest.len() == 32,
            digest,
        })
    }

    fn matches(&self, der: &[u8]) -> bool {
        let algorithm = if self.sha256 {
            &ring::digest::SHA256
        } else {
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY
        };
        ring::digest::digest(algorithm, der).as_ref() == self.digest.as_slice()
    }
}

impl fmt::Display for Thumbprint {
    /// Upper-case hex, as the portal shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.digest.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({self})")
    }
}

/// The error a mismatching certificate fails the handshake with.
#[derive(Debug)]
struct Mismatch(String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's certificate does not have the pinned thumbprint {}; check IDENTITY_SERVER_THUMBPRINT",
            self.0
        )
    }
}

impl std::error::Error for Mismatch {}

/// The sentence for a TLS error that is a pin mismatch (rustls shows it only as `Debug`).
pub(crate) fn mismatch_text(error: &rustls::Error) -> Option<String> {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            inner.downcast_ref::<Mismatch>().map(ToString::to_string)
        }
        _ => None,
    }
}

/// Accepts only the end-entity certificate with the pinned thumbprint.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    thumbprint: Thumbprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedVerifier {
    pub(crate) fn new(thumbprint: Thumbprint, provider: &rustls::crypto::CryptoProvider) -> Self {
        PinnedVerifier {
            thumbprint,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.thumbprint.matches(end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(Mismatch(self.thumbprint.to_string()))),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sha1_and_sha256_hex() {
        let sha1 = Thumbprint::parse("0123456789abcdefABCDEF0123456789abcdef01").expect("sha1");
        assert!(!sha1.sha256);
        assert_eq!(sha1.to_string(), "0123456789ABCDEFABCDEF0123456789ABCDEF01");
        let spaced =
            Thumbprint::parse("01:23:45:67:89:ab:cd:ef:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01").expect("colons");
        assert_eq!(spaced, sha1);
        assert!(Thumbprint::parse(&"a".repeat(64)).expect("sha256").sha256);
        for bad in ["", "abc", &"g".repeat(40), &"a".repeat(41), &"é".repeat(20)] {
            assert!(Thumbprint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_the_digest_of_the_certificate_only() {
        let der = b"not really a certificate";
        let hex = |d: ring::digest::Digest| d.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>();
        let sha1 = hex(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der));
        let sha256 = hex(ring::digest::digest(&ring::digest::SHA256, der));
        assert!(Thumbprint::parse(&sha1).expect("sha1").matches(der));
        assert!(Thumbprint::parse(&sha256).expect("sha256").matches(der));
        assert!(!Thumbprint::parse(&sha1).expect("sha1").matches(b"another"));
    }
}
