//! Client certificates: loading PEM and PKCS#12 files, and signing client assertions.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use credchain_core::Secret;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use zeroize::Zeroizing;

mod kdf_limits;

/// How long a client assertion is valid (azure-identity and MSAL use 10 minutes).
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// The kind of problem a certificate file has; see [`CertificateError::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateErrorKind {
    /// The password is wrong (or missing for an encrypted key, or given for a plain one that
    /// cannot be decrypted).
    WrongPassword,
    /// The file holds no private key.
    NoPrivateKey,
    /// The file holds no certificate.
    NoCertificate,
    /// No certificate in the file matches the private key.
    KeyMismatch,
    /// The key is not an RSA key, or not one that can sign (Microsoft Entra needs RS256).
    UnsupportedKey,
    /// The file is neither PEM nor PKCS#12, or it is damaged.
    Malformed,
    /// The file asks for more password-based key derivation work (PBKDF2 iterations, scrypt
    /// cost) than credchain allows, so it was not opened (a crafted file could otherwise burn
    /// CPU for hours).
    KeyDerivationTooCostly,
}

/// Why a certificate could not be loaded. The message names the problem and the fix; it never
/// contains key material or the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateError {
    kind: CertificateErrorKind,
    message: String,
}

impl CertificateError {
    fn new(kind: CertificateErrorKind, message: impl Into<String>) -> Self {
        CertificateError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> CertificateErrorKind {
        self.kind
    }

    /// The message, lowercase, without a trailing period.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CertificateError {}

/// A client certificate with its RSA private key, for certificate (client assertion)
/// authentication.
///
/// Load one with [`load`](Self::load) (PEM or PKCS#12, detected), [`from_pem`](Self::from_pem)
/// or [`from_pkcs12`](Self::from_pkcs12). `Debug` shows only the subject, the thumbprint and
/// the chain length. Cloning is cheap (the key is shared, not copied).
///
/// # Key material in memory
///
/// What credchain holds is wiped: the file's bytes (give them in a
/// [`Zeroizing`] buffer, as [`read_bounded`](credchain_core::fs::read_bounded) returns them),
/// the decoded PEM blocks, the decrypted PKCS#8 and the PKCS#1 → PKCS#8 conversion are zeroized
/// when dropped, including on every error path. What the crates underneath keep is **not**:
///
/// * the parsed key is one `ring::signature::RsaKeyPair` (ring 0.17 does not wipe its key on
///   drop); it lives as long as the last clone of this certificate;
/// * an encrypted PKCS#8 key (and PBES2 in PKCS#12): the AES key that `pkcs5` 0.8 derives from
///   the password sits on the stack unwiped (a `TODO` in `pkcs5::pbes2::encryption`), and no
///   cipher's round keys (AES, 3DES, RC2) are wiped either;
/// * a PKCS#12 file: `p12-keystore` 0.4 decrypts into plain `Vec`s (the decrypted safe
///   contents and each decrypted PKCS#8 key, also held by its `PrivateKey`, which has no
///   zeroizing `Drop`) and derives keys from the password without wiping them; and parsing the
///   file's structure (by `p12-keystore` and by credchain's key-derivation check, with the
///   `pkcs12`/`cms` types) copies its bytes, an unencrypted key bag included, into unwiped
///   buffers. These copies are freed unwiped as soon as loading returns. (The check's own
///   decryptions are wiped.)
///
/// ```no_run
/// use credchain_core::Secret;
/// use credchain_entra::ClientCertificate;
/// // A bounded read into a buffer that is wiped on drop.
/// let bytes = credchain_core::fs::read_bounded("/path/to/cert-and-key.pem".as_ref(), 1 << 20)?;
/// let cert = ClientCertificate::load(&bytes, None)?;
/// println!("{cert:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ClientCertificate {
    inner: Arc<Inner>,
}

struct Inner {
    /// The parsed RSA private key (parsed once; ring does not wipe it on drop).
    key: RsaKeyPair,
    /// DER certificates, the one matching the key first.
    chain: Vec<Vec<u8>>,
    /// base64url(SHA-256(leaf DER)), the `x5t#S256` header.
    thumbprint_sha256: String,
    /// The leaf's subject, for diagnostics.
    subject: String,
    not_after: Option<SystemTime>,
}

impl ClientCertificate {
    /// Loads a certificate from PEM or PKCS#12 (`.pfx`, `.p12`) bytes, detecting the format.
    ///
    /// # Errors
    ///
    /// A [`CertificateError`] saying which problem the file has (wrong password, no key, key
    /// does not match the certificate, …).
    pub fn load(bytes: &[u8], password: Option<&Secret>) -> Result<Self, CertificateError> {
        if looks_like_pem(bytes) {
            Self::from_pem(bytes, password)
        } else {
            Self::from_pkcs12(bytes, password)
        }
    }

    /// Loads a certificate from PEM: one or more `CERTIFICATE` blocks plus a `PRIVATE KEY`,
    /// `ENCRYPTED PRIVATE KEY` (needs `password`) or `RSA PRIVATE KEY` block, in any order. The
    /// first private key is used; later ones are ignored (never decrypted).
    ///
    /// # Errors
    ///
    /// See [`load`](Self::load).
    pub fn from_pem(bytes: &[u8], password: Option<&Secret>) -> Result<Self, CertificateError> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            CertificateError::new(
                CertificateErrorKind::Malformed,
                "the PEM file is not valid UTF-8 text",
            )
        })?;
        let blocks = pem_blocks(text)?;
        let mut certs = Vec::new();
        let mut key: Option<Zeroizing<Vec<u8>>> = None;
        for block in blocks {
            let is_key = block.label.ends_with("PRIVATE KEY");
            if is_key && key.is_some() {
                // The first key is the one used (as azure-identity's PEM loading does); later
                // ones are never decrypted, so a file cannot ask for many key derivations.
                continue;
            }
            match block.label.as_str() {
                "CERTIFICATE" => certs.push(block.der.to_vec()),
                "PRIVATE KEY" => key = Some(block.der),
                "RSA PRIVATE KEY" => key = Some(pkcs1_to_pkcs8(&block.der)),
                "ENCRYPTED PRIVATE KEY" => {
                    let Some(password) = password.filter(|p| !p.expose().is_empty()) else {
                        return Err(CertificateError::new(
                            CertificateErrorKind::WrongPassword,
                            "the private key is encrypted but no password was given",
                        ));
                    };
                    key = Some(decrypt_pkcs8(&block.der, password)?);
                }
                "EC PRIVATE KEY" => {
                    return Err(CertificateError::new(
                        CertificateErrorKind::UnsupportedKey,
                        "the private key is an EC key; Microsoft Entra certificate credentials here \
                         need an RSA key",
                    ));
                }
                _ => {}
            }
        }
        let key = key.ok_or_else(|| {
            CertificateError::new(
                CertificateErrorKind::NoPrivateKey,
                "the PEM file has no private key; it must hold the certificate and its private key \
                 (`-----BEGIN PRIVATE KEY-----`)",
            )
        })?;
        Self::assemble(key, certs)
    }

    /// Loads a certificate from PKCS#12 (`.pfx`, `.p12`) bytes. `None` and an empty password
    /// are the same.
    ///
    /// # Errors
    ///
    /// See [`load`](Self::load).
    pub fn from_pkcs12(bytes: &[u8], password: Option<&Secret>) -> Result<Self, CertificateError> {
        let pw = password.map(Secret::expose).unwrap_or("");
        // PKCS#12 passwords are BMPStrings (UTF-16 without surrogates here): the archive code
        // fails on other characters with an encoding error that would read as a damaged file.
        if pw.chars().any(|c| u32::from(c) > 0xFFFF) {
            return Err(CertificateError::new(
                CertificateErrorKind::WrongPassword,
                "the PKCS#12 file could not be opened: the given password has characters outside \
                 the Basic Multilingual Plane (such as emoji), which PKCS#12 passwords here cannot \
                 hold; check the password",
            ));
        }
        kdf_limits::check_pkcs12(bytes, pw)?;
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, pw).map_err(|e| match e {
            p12_keystore::error::Error::MacError(_)
            | p12_keystore::error::Error::UnpadError
            | p12_keystore::error::Error::Pkcs5Error(_) => CertificateError::new(
                CertificateErrorKind::WrongPassword,
                if pw.is_empty() {
                    "the PKCS#12 file could not be opened without a password; give its password"
                } else {
                    "the PKCS#12 file could not be opened with the given password; check the password"
                },
            ),
            p12_keystore::error::Error::UnsupportedEncryptionScheme
            | p12_keystore::error::Error::UnsupportedMacAlgorithm => CertificateError::new(
                CertificateErrorKind::Malformed,
                format!(
                    "the PKCS#12 file uses an unsupported encryption scheme ({e}); re-export it with \
                     AES-256 (for example `openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC`)"
                ),
            ),
            _ => CertificateError::new(
                CertificateErrorKind::Malformed,
                "the file is neither PEM nor a readable PKCS#12 archive",
            ),
        })?;
        let key = archive
            .keys
            .first()
            .map(|k| Zeroizing::new(k.key.as_der().to_vec()))
            .ok_or_else(|| {
                CertificateError::new(
                    CertificateErrorKind::NoPrivateKey,
                    "the PKCS#12 file has no private key",
                )
            })?;
        let certs = archive.certs.iter().map(|c| c.cert.as_der().to_vec()).collect();
        Self::assemble(key, certs)
    }

    fn assemble(key: Zeroizing<Vec<u8>>, certs: Vec<Vec<u8>>) -> Result<Self, CertificateError> {
        if certs.is_empty() {
            return Err(CertificateError::new(
                CertificateErrorKind::NoCertificate,
                "the file has a private key but no certificate (`-----BEGIN CERTIFICATE-----`)",
            ));
        }
        let pair = key_pair(&key)?;
        // The DER copy is wiped here; only ring's parsed key is kept.
        drop(key);
        let public = ring::signature::KeyPair::public_key(&pair).as_ref().to_vec();
        let mut leaf_index = None;
        let mut subject = String::new();
        let mut not_after = None;
        for (i, der) in certs.iter().enumerate() {
            let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
                return Err(CertificateError::new(
                    CertificateErrorKind::Malformed,
                    format!(
                        "certificate {} in the file is not a valid X.509 certificate",
                        i + 1
                    ),
                ));
            };
            if cert.public_key().subject_public_key.data.as_ref() == public.as_slice() {
                leaf_index = Some(i);
                subject = cert.subject().to_string();
                let secs = cert.validity().not_after.timestamp();
                not_after = u64::try_from(secs)
                    .ok()
                    .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
                break;
            }
        }
        let Some(leaf_index) = leaf_index else {
            return Err(CertificateError::new(
                CertificateErrorKind::KeyMismatch,
                "the private key does not match the certificate in the file; put the certificate \
                 and the key that belongs to it in the same file",
            ));
        };
        let mut chain = certs;
        let leaf = chain.remove(leaf_index);
        chain.insert(0, leaf);
        let digest = ring::digest::digest(&ring::digest::SHA256, &chain[0]);
        Ok(ClientCertificate {
            inner: Arc::new(Inner {
                key: pair,
                thumbprint_sha256: URL_SAFE_NO_PAD.encode(digest.as_ref()),
                chain,
                subject,
                not_after,
            }),
        })
    }

    /// The certificate's subject, such as `CN=my-app`.
    pub fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The SHA-256 thumbprint of the certificate, base64url without padding (the `x5t#S256`
    /// header of assertions).
    pub fn thumbprint_sha256(&self) -> &str {
        &self.inner.thumbprint_sha256
    }

    /// When the certificate expires, if it could be read.
    pub fn not_after(&self) -> Option<SystemTime> {
        self.inner.not_after
    }

    /// The DER certificates: the one matching the key first, then the rest of the file's chain.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.inner.chain
    }

    /// Signs a client assertion (an RS256 JWT) for `client_id` and the token endpoint
    /// `audience`, issued at `now` and valid for [`ASSERTION_LIFETIME`].
    ///
    /// The header carries `x5t#S256`, and `x5c` (the base64 DER chain) when
    /// `send_certificate_chain` is set (needed for subject-name/issuer authentication). Every
    /// call uses a fresh `jti`.
    ///
    /// # Errors
    ///
    /// A message when signing fails (it should not once loading succeeded).
    pub fn sign_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: SystemTime,
        send_certificate_chain: bool,
    ) -> Result<Secret, String> {
        let mut header = serde_json::json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t#S256": self.inner.thumbprint_sha256,
        });
        if send_certificate_chain {
            let chain: Vec<String> = self.inner.chain.iter().map(|c| STANDARD.encode(c)).collect();
            header["x5c"] = serde_json::Value::from(chain);
        }
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": iat,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME.as_secs(),
        });
        let mut signing_input = URL_SAFE_NO_PAD.encode(header.to_string());
        signing_input.push('.');
        signing_input.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let pair = &self.inner.key;
        let mut signature = vec![0u8; pair.public().modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| "signing the client assertion failed".to_owned())?;
        signing_input.push('.');
        signing_input.push_str(&URL_SAFE_NO_PAD.encode(&signature));
        Ok(Secret::new(signing_input))
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("subject", &self.inner.subject)
            .field("thumbprint_sha256", &self.inner.thumbprint_sha256)
            .field("chain_len", &self.inner.chain.len())
            .field("private_key", &"***")
            .finish()
    }
}

fn key_pair(pkcs8: &[u8]) -> Result<RsaKeyPair, CertificateError> {
    RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| {
        let what = e.to_string();
        if what == "InvalidEncoding" || what == "WrongAlgorithm" {
            CertificateError::new(
                CertificateErrorKind::UnsupportedKey,
                "the private key is not an RSA key in PKCS#8 or PKCS#1 form; Microsoft Entra \
                 certificate credentials here need an RSA key",
            )
        } else {
            CertificateError::new(
                CertificateErrorKind::UnsupportedKey,
                format!("the RSA private key cannot be used for signing ({what}); use a 2048-bit or larger RSA key"),
            )
        }
    })
}

fn decrypt_pkcs8(der: &[u8], password: &Secret) -> Result<Zeroizing<Vec<u8>>, CertificateError> {
    use pkcs8::der::Decode as _;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der).map_err(|_| {
        CertificateError::new(
            CertificateErrorKind::Malformed,
            "the encrypted private key is damaged",
        )
    })?;
    if let Some(params) = info.encryption_algorithm.pbes2() {
        kdf_limits::check_pbes2(params, &mut kdf_limits::Budget::new())?;
    }
    // Decrypted in a buffer of ours, so the plaintext key is wiped on every path.
    let mut buffer = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let plain_len =
        info.encryption_algorithm
            .decrypt_in_place(password.expose().as_bytes(), &mut buffer)
            .map_err(|e| match e {
                pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }
                | pkcs8::pkcs5::Error::NoPbes1CryptSupport => CertificateError::new(
                    CertificateErrorKind::Malformed,
                    "the private key is encrypted with an unsupported scheme; re-encrypt it with \
                     PBES2 (for example `openssl pkcs8 -topk8 -v2 aes-256-cbc`)",
                ),
                _ => CertificateError::new(
                    CertificateErrorKind::WrongPassword,
                    "the private key could not be decrypted with the given password; check the password",
                ),
            })?
            .len();
    buffer.truncate(plain_len);
    Ok(buffer)
}

/// Wraps a PKCS#1 `RSAPrivateKey` in a PKCS#8 `PrivateKeyInfo` (ring only reads PKCS#8).
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Zeroizing<Vec<u8>> {
    // SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING pkcs1 }
    const ALG: [u8; 18] = [
        0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
        0x00,
    ];
    // Both buffers are sized up front so they never reallocate (which would leave an unwiped
    // copy of the key behind), and both are wiped on drop.
    let mut octet = Zeroizing::new(Vec::with_capacity(pkcs1.len() + 10));
    octet.push(0x04);
    push_len(&mut octet, pkcs1.len());
    octet.extend_from_slice(pkcs1);
    let body_len = ALG.len() + octet.len();
    let mut out = Zeroizing::new(Vec::with_capacity(body_len + 10));
    out.push(0x30);
    push_len(&mut out, body_len);
    out.extend_from_slice(&ALG);
    out.extend_from_slice(&octet);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

struct PemBlock {
    label: String,
    der: Zeroizing<Vec<u8>>,
}

/// Splits PEM text into labelled, decoded blocks (RFC 7468, lax about whitespace).
///
/// A block's base64 lines are only borrowed until its end line; they are then joined into one
/// exactly-sized, wiped buffer and decoded into another, so no growing buffer leaves an unwiped
/// copy of a key behind.
/// A PEM label from the file, for a message: control characters escaped (a damaged file must
/// not drive the terminal) and at most 40 characters.
fn shown_label(label: &str) -> String {
    let mut shown: String = label.chars().take(40).flat_map(char::escape_debug).collect();
    if label.chars().nth(40).is_some() {
        shown.push('…');
    }
    shown
}

fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, CertificateError> {
    let mut blocks = Vec::new();
    let mut current: Option<(&str, Vec<&str>)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label, Vec::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            let Some((begin, lines)) = current.take() else {
                continue;
            };
            if begin != label {
                return Err(CertificateError::new(
                    CertificateErrorKind::Malformed,
                    format!(
                        "the PEM block `{}` ends with `{}`; the file is damaged",
                        shown_label(begin),
                        shown_label(label)
                    ),
                ));
            }
            let der = decode_base64(&lines).ok_or_else(|| {
                CertificateError::new(
                    CertificateErrorKind::Malformed,
                    format!(
                        "the PEM block `{}` is not valid base64; the file is damaged",
                        shown_label(begin)
                    ),
                )
            })?;
            blocks.push(PemBlock {
                label: begin.to_owned(),
                der,
            });
        } else if let Some((label, lines)) = current.as_mut() {
            if line.contains(':') {
                // RFC 1421 headers: only legacy OpenSSL encryption ("Proc-Type: 4,ENCRYPTED") uses them.
                return Err(CertificateError::new(
                    CertificateErrorKind::Malformed,
                    format!(
                        "the PEM block `{}` uses legacy OpenSSL encryption, which is not supported; \
                         convert the key to PKCS#8 (`openssl pkcs8 -topk8 -v2 aes-256-cbc`)",
                        shown_label(label)
                    ),
                ));
            }
            lines.push(line);
        }
    }
    if blocks.is_empty() {
        return Err(CertificateError::new(
            CertificateErrorKind::Malformed,
            "the PEM file has no complete `-----BEGIN …-----`/`-----END …-----` block",
        ));
    }
    Ok(blocks)
}

/// Decodes base64 `lines` into a wiped buffer; `None` when they are not valid base64.
fn decode_base64(lines: &[&str]) -> Option<Zeroizing<Vec<u8>>> {
    let mut joined = Zeroizing::new(String::with_capacity(lines.iter().map(|l| l.len()).sum()));
    for line in lines {
        joined.push_str(line);
    }
    let mut der = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(joined.len())]);
    let len = STANDARD.decode_slice(joined.as_bytes(), &mut der).ok()?;
    der.truncate(len);
    Some(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_parser_rejects_damage() {
        let cases = [
            ("", CertificateErrorKind::Malformed),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n",
                CertificateErrorKind::Malformed,
            ),
            (
                "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                CertificateErrorKind::Malformed,
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n",
                CertificateErrorKind::Malformed,
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                CertificateErrorKind::Malformed,
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                CertificateErrorKind::NoPrivateKey,
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
                CertificateErrorKind::UnsupportedKey,
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
                CertificateErrorKind::WrongPassword,
            ),
        ];
        for (pem, kind) in cases {
            let err = ClientCertificate::from_pem(pem.as_bytes(), None).expect_err(pem);
            assert_eq!(err.kind(), kind, "{pem}: {err}");
        }
    }

    #[test]
    fn pkcs12_passwords_outside_the_bmp_are_wrong_passwords_not_damage() {
        let cert = credchain_fake_entra::TestCertificate::generate("bmp");
        let pfx = cert.pkcs12("right");
        for pw in ["\u{1F600}", "right\u{1E290}"] {
            let err = match ClientCertificate::load(&pfx, Some(&Secret::new(pw))) {
                Ok(_) => panic!("{pw:?} is not the password"),
                Err(e) => e,
            };
            assert_eq!(err.kind(), CertificateErrorKind::WrongPassword, "{err}");
            assert!(!err.message().contains(pw), "{err}");
        }
        // Characters inside the BMP are still tried as a password.
        let err = ClientCertificate::from_pkcs12(&pfx, Some(&Secret::new("\u{e9}t\u{e9}"))).err();
        assert_eq!(err.map(|e| e.kind()), Some(CertificateErrorKind::WrongPassword));
        assert!(ClientCertificate::load(&pfx, Some(&Secret::new("right"))).is_ok());
    }

    #[test]
    fn the_first_private_key_in_a_pem_file_is_used() {
        let right = credchain_fake_entra::TestCertificate::generate("first");
        let other = credchain_fake_entra::TestCertificate::generate("second");
        // Before: the last key won, so this file failed with "key does not match".
        let pem = format!("{}{}{}", right.key_pem(), right.cert_pem(), other.key_pem());
        let cert = ClientCertificate::from_pem(pem.as_bytes(), None).expect("first key matches");
        assert_eq!(cert.subject(), "CN=first");
        // A later encrypted key is not even decrypted (no password needed).
        let pem = format!("{}{}", right.combined_pem(), other.encrypted_combined_pem("pw"));
        assert!(ClientCertificate::from_pem(pem.as_bytes(), None).is_ok());
    }

    #[test]
    fn garbage_is_not_pkcs12() {
        let err = ClientCertificate::load(b"\x30\x03\x02\x01\x05", None).unwrap_err();
        assert_eq!(err.kind(), CertificateErrorKind::Malformed);
        let err = ClientCertificate::load(&[0xff; 64], Some(&Secret::new("pw"))).unwrap_err();
        assert_eq!(err.kind(), CertificateErrorKind::Malformed);
    }

    #[test]
    fn der_lengths() {
        let mut v = Vec::new();
        push_len(&mut v, 5);
        push_len(&mut v, 0x80);
        push_len(&mut v, 0x1234);
        assert_eq!(v, [5, 0x81, 0x80, 0x82, 0x12, 0x34]);
    }
}

/// Property tests: arbitrary bytes and PEM-shaped garbage are refused without a panic, and a
/// real certificate file with damage either loads or is refused with a short message holding
/// neither the password nor key material. 10,000 cases each; CI fixes the seed with
/// `PROPTEST_RNG_SEED`. Damaged *encrypted* files are covered by `tests/suite/no_panic.rs` with
/// fewer cases: each runs the password's key derivation (~20 ms unoptimised).
#[cfg(test)]
mod prop {
    use super::*;
    use crate::parse::prop::run;
    use credchain_fake_entra::TestCertificate;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    const PASSWORD: &str = "right-password-123";

    static CERT: LazyLock<TestCertificate> = LazyLock::new(|| TestCertificate::generate("prop"));

    fn check(bytes: &[u8], password: Option<&str>) -> Result<Option<ClientCertificate>, TestCaseError> {
        let secret = password.map(Secret::new);
        match ClientCertificate::load(bytes, secret.as_ref()) {
            Ok(cert) => Ok(Some(cert)),
            Err(e) => {
                let message = e.message();
                prop_assert!(!message.is_empty());
                prop_assert!(message.chars().count() <= 400, "{}", message);
                prop_assert!(!message.chars().any(char::is_control), "{:?}", message);
                if let Some(p) = password.filter(|p| p.len() >= 8) {
                    prop_assert!(!message.contains(p), "{}", message);
                }
                for line in CERT.key_pem().lines().filter(|l| l.len() >= 32) {
                    prop_assert!(!message.contains(line), "key material in: {}", message);
                }
                Ok(None)
            }
        }
    }

    fn password() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some(PASSWORD.to_owned())),
            ".{0,20}".prop_map(Some)
        ]
    }

    #[test]
    fn arbitrary_bytes_and_pem_shaped_garbage_are_refused() {
        let label = prop_oneof![
            Just("CERTIFICATE".to_owned()),
            Just("PRIVATE KEY".to_owned()),
            Just("RSA PRIVATE KEY".to_owned()),
            Just("ENCRYPTED PRIVATE KEY".to_owned()),
            Just("EC PRIVATE KEY".to_owned()),
            "[A-Z ]{0,12}",
        ];
        let block = (label, "[A-Za-z0-9+/=\n]{0,200}", any::<bool>()).prop_map(|(label, body, closed)| {
            let end = if closed {
                format!("-----END {label}-----\n")
            } else {
                String::new()
            };
            format!("-----BEGIN {label}-----\n{body}\n{end}")
        });
        let bytes = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..1024),
            // DER-looking: a SEQUENCE tag and length first.
            proptest::collection::vec(any::<u8>(), 0..512).prop_map(|mut v| {
                v.splice(0..0, [0x30, 0x82, 0x01, 0x00]);
                v
            }),
            proptest::collection::vec(block, 0..4).prop_map(|b| b.concat().into_bytes()),
        ];
        run((bytes, password()), |(bytes, password)| {
            prop_assert!(
                check(&bytes, password.as_deref())?.is_none(),
                "garbage made a certificate"
            );
            Ok(())
        });
    }

    /// `bytes` with up to three bytes set or bit-flipped, or cut short.
    fn damaged(bytes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
        let n = bytes.len();
        let edit = prop_oneof![
            (0..n, any::<u8>()).prop_map(|(i, b)| (i, b, false)),
            (0..n, 0u8..8).prop_map(|(i, bit)| (i, 1 << bit, true)),
        ];
        (proptest::collection::vec(edit, 1..4), proptest::option::of(0..n)).prop_map(move |(edits, cut)| {
            let mut out = bytes.clone();
            for (i, b, flip) in edits {
                out[i] = if flip { out[i] ^ b } else { b };
            }
            if let Some(len) = cut {
                out.truncate(len);
            }
            out
        })
    }

    /// Found by `a_damaged_pem_file_loads_or_is_refused_cleanly`: a damaged label was quoted raw
    /// (control characters reached the message) and whole (a long line made a long message).
    #[test]
    fn labels_in_messages_are_escaped_and_bounded() {
        let long = "X".repeat(5000);
        for (begin, end) in [
            ("PRIVATE KEY", "\u{10}RIVATE KEY"),
            ("PRIVATE KEY", "\u{1b}[2J"),
            (&*long, "Y"),
        ] {
            let pem = format!("-----BEGIN {begin}-----\nAAAA\n-----END {end}-----\n");
            let message = ClientCertificate::from_pem(pem.as_bytes(), None)
                .unwrap_err()
                .to_string();
            assert!(!message.chars().any(char::is_control), "{message:?}");
            assert!(message.len() < 200, "{}", message.len());
        }
        let pem = "-----BEGIN \u{7}X-----\nProc-Type: 4,ENCRYPTED\n-----END \u{7}X-----\n";
        let message = ClientCertificate::from_pem(pem.as_bytes(), None)
            .unwrap_err()
            .to_string();
        assert!(message.contains("`\\u{7}X`"), "{message}");
    }

    #[test]
    fn a_damaged_pem_file_loads_or_is_refused_cleanly() {
        run(
            (damaged(CERT.combined_pem().into_bytes()), password()),
            |(bytes, password)| {
                if let Some(cert) = check(&bytes, password.as_deref())? {
                    prop_assert_eq!(cert.thumbprint_sha256().len(), 43);
                }
                Ok(())
            },
        );
    }
}
