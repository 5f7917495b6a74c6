//! RSA client certificates for certificate-credential tests.

use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p12_keystore::{KeyStore, KeyStoreEntry, PrivateKeyChain};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use rsa::pkcs8::der::pem::LineEnding;
use rsa::pkcs8::pkcs5::pbes2;
use rsa::pkcs8::{EncodePrivateKey, PrivateKeyInfoRef};
use rustls::pki_types::PrivatePkcs8KeyDer;

/// PBKDF2 rounds used for the encrypted PEM key; OpenSSL's `pkcs8 -topk8` default.
const PBKDF2_ITERATIONS: u32 = 2048;

/// An RSA-2048 key and a self-signed certificate for it, as used by an app registration's
/// certificate credential.
///
/// Register [`cert_pem`](Self::cert_pem) with
/// [`FakeEntraBuilder::client_certificate`](crate::FakeEntraBuilder::client_certificate) and give
/// the client the key in whichever format it reads: [`combined_pem`](Self::combined_pem) (what
/// `AZURE_CLIENT_CERTIFICATE_PATH` usually points at), [`encrypted_combined_pem`](Self::encrypted_combined_pem)
/// or [`pkcs12`](Self::pkcs12).
///
/// `Debug` shows the subject and thumbprint, never the key.
///
/// # Examples
///
/// ```
/// use credchain_fake_entra::TestCertificate;
///
/// let cert = TestCertificate::generate("my-app");
/// assert!(cert.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// assert!(cert.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
/// assert_eq!(cert.thumbprint_sha256().len(), 43);
/// ```
#[derive(Clone)]
pub struct TestCertificate {
    common_name: String,
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: String,
    key_der: Vec<u8>,
}

impl TestCertificate {
    /// Generates a fresh RSA-2048 key and a self-signed certificate with subject `CN=common_name`,
    /// valid from one day ago for one year.
    ///
    /// Every call returns a distinct key. RSA key generation takes about a second in
    /// unoptimised builds, so after the first call a background thread keeps
    /// [`PREFETCH`](Self::PREFETCH) keys ready for the next calls.
    ///
    /// # Panics
    ///
    /// Panics only if the operating system's random number generator fails.
    pub fn generate(common_name: &str) -> Self {
        let key_der = fresh_key();
        let key_pem = pem_encode("PRIVATE KEY", &key_der);
        let key_pair = KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(key_der.clone()),
            &PKCS_RSA_SHA256,
        )
        .expect("invariant: a freshly generated RSA PKCS#8 key is accepted by rcgen");
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        params.distinguished_name = name;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        params.serial_number = Some(random_bytes::<16>().to_vec().into());
        let cert = params
            .self_signed(&key_pair)
            .expect("invariant: a self-signed certificate with default parameters can be signed");
        TestCertificate {
            common_name: common_name.to_owned(),
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem,
            key_der,
        }
    }

    /// How many RSA keys [`generate`](Self::generate) keeps generated ahead, in the background.
    pub const PREFETCH: usize = 2;

    /// The certificate, PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The unencrypted private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The unencrypted private key, PKCS#8 DER.
    pub fn key_der(&self) -> &[u8] {
        &self.key_der
    }

    /// Key then certificate in one PEM file, the layout Azure SDKs expect in
    /// `AZURE_CLIENT_CERTIFICATE_PATH`.
    pub fn combined_pem(&self) -> String {
        format!("{}{}", self.key_pem, self.cert_pem)
    }

    /// The key encrypted with `password` (PKCS#8 `ENCRYPTED PRIVATE KEY`, PBES2 with
    /// PBKDF2-HMAC-SHA256 and AES-256-CBC, like `openssl pkcs8 -topk8 -v2 aes256`), then the
    /// certificate.
    ///
    /// # Panics
    ///
    /// Panics only if the operating system's random number generator fails.
    pub fn encrypted_combined_pem(&self, password: &str) -> String {
        let salt = random_bytes::<16>();
        let iv = random_bytes::<16>();
        let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv)
            .expect("invariant: a 16-byte salt and 2048 rounds are valid PBKDF2 parameters");
        let info = PrivateKeyInfoRef::try_from(self.key_der.as_slice())
            .expect("invariant: the stored key is valid PKCS#8 DER");
        let encrypted = info
            .encrypt_with_params(params, password.as_bytes())
            .expect("invariant: AES-256-CBC encryption of a valid key cannot fail");
        let pem = encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .expect("invariant: PEM encoding of a DER document cannot fail");
        format!("{}{}", pem.as_str(), self.cert_pem)
    }

    /// The key and certificate as a PKCS#12 (`.pfx`) archive protected by `password`
    /// (PBES2 with HMAC-SHA256 and AES-256, MAC HMAC-SHA256: the OpenSSL 3 defaults).
    ///
    /// # Panics
    ///
    /// Panics only if the operating system's random number generator fails.
    pub fn pkcs12(&self, password: &str) -> Vec<u8> {
        let key = p12_keystore::PrivateKey::from_der(&self.key_der)
            .expect("invariant: the stored key is valid PKCS#8 DER");
        let cert = p12_keystore::Certificate::from_der(&self.cert_der)
            .expect("invariant: the stored certificate is valid DER");
        let local_key_id = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert_der);
        let chain = PrivateKeyChain::new(local_key_id.as_ref(), key, [cert]);
        let mut store = KeyStore::new();
        store.add_entry(&self.common_name, KeyStoreEntry::PrivateKeyChain(chain));
        store
            .writer(password)
            .write()
            .expect("invariant: a key store with one key and one certificate can be written")
    }

    /// The SHA-256 thumbprint of the certificate DER, base64url without padding: what a client
    /// puts in the assertion's `x5t#S256` header.
    pub fn thumbprint_sha256(&self) -> String {
        thumbprint_sha256(&self.cert_der)
    }

    /// The SHA-1 thumbprint of the certificate DER, base64url without padding: the legacy
    /// `x5t` header.
    pub fn thumbprint_sha1(&self) -> String {
        thumbprint_sha1(&self.cert_der)
    }

    /// The SHA-1 thumbprint as upper-case hex, the form the Azure portal shows.
    pub fn thumbprint_hex(&self) -> String {
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert_der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }
}

impl fmt::Debug for TestCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCertificate")
            .field("common_name", &self.common_name)
            .field("thumbprint_sha256", &self.thumbprint_sha256())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// base64url(SHA-256(der)), no padding.
pub(crate) fn thumbprint_sha256(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, der))
}

/// base64url(SHA-1(der)), no padding.
pub(crate) fn thumbprint_sha1(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der))
}

pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .expect("invariant: the OS random number generator works");
    out
}

/// Keys generated ahead of time by background threads, and how many are being generated.
#[derive(Default)]
struct KeyPool {
    ready: Vec<Vec<u8>>,
    in_flight: usize,
}

static KEY_POOL: Mutex<KeyPool> = Mutex::new(KeyPool {
    ready: Vec::new(),
    in_flight: 0,
});
static KEY_READY: Condvar = Condvar::new();

fn lock_pool() -> MutexGuard<'static, KeyPool> {
    KEY_POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Returns a never-before-used PKCS#8 DER RSA key: a prefetched one if available (waiting for
/// one in progress), else a freshly generated one; then tops the prefetch up again.
fn fresh_key() -> Vec<u8> {
    let mut pool = lock_pool();
    loop {
        if let Some(key) = pool.ready.pop() {
            refill(&mut pool);
            return key;
        }
        if pool.in_flight == 0 {
            break;
        }
        pool = KEY_READY
            .wait(pool)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    drop(pool);
    let key = generate_rsa_pkcs8();
    refill(&mut lock_pool());
    key
}

fn refill(pool: &mut KeyPool) {
    while pool.ready.len() + pool.in_flight < TestCertificate::PREFETCH {
        pool.in_flight += 1;
        let spawned = std::thread::Builder::new()
            .name("fake-entra-rsa-keygen".into())
            .spawn(|| {
                // Catch a panic (the OS RNG failing) so the waiters are released; they then
                // generate inline and report the failure themselves.
                let key = std::panic::catch_unwind(generate_rsa_pkcs8);
                let mut pool = lock_pool();
                pool.in_flight -= 1;
                if let Ok(key) = key {
                    pool.ready.push(key);
                }
                KEY_READY.notify_all();
            });
        if spawned.is_err() {
            pool.in_flight -= 1;
            break;
        }
    }
}

fn generate_rsa_pkcs8() -> Vec<u8> {
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
        .expect("invariant: RSA-2048 key generation succeeds when the OS RNG works");
    key.to_pkcs8_der()
        .expect("invariant: an RSA key encodes as PKCS#8")
        .as_bytes()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_thumbprints() {
        let start = std::time::Instant::now();
        let cert = TestCertificate::generate("unit");
        eprintln!("keygen {:?}", start.elapsed());
        assert!(cert.combined_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(cert.combined_pem().contains("-----BEGIN CERTIFICATE-----"));
        let enc = cert.encrypted_combined_pem("pw");
        assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{enc}");
        assert!(!enc.contains("-----BEGIN PRIVATE KEY-----"));
        let p12 = cert.pkcs12("pw");
        let store = KeyStore::from_pkcs12(&p12, "pw", Default::default()).expect("pfx parses");
        let (_, chain) = store.private_key_chain().expect("has a key");
        assert_eq!(chain.key().as_der(), cert.key_der());
        assert_eq!(chain.certs()[0].as_der(), cert.cert_der());
        assert!(KeyStore::from_pkcs12(&p12, "wrong", Default::default()).is_err());
        assert_eq!(cert.thumbprint_hex().len(), 40);
        assert_ne!(
            cert.thumbprint_sha256(),
            TestCertificate::generate("unit").thumbprint_sha256()
        );
        assert!(!format!("{cert:?}").contains("PRIVATE"));
    }

    #[test]
    fn encrypted_pem_decrypts_to_the_same_key_and_the_key_matches_the_certificate() {
        use rsa::pkcs8::EncryptedPrivateKeyInfoRef;
        let cert = TestCertificate::generate("roundtrip");
        let encrypted = cert.encrypted_combined_pem("pässword");
        let end = "-----END ENCRYPTED PRIVATE KEY-----
";
        let key_pem = &encrypted[..encrypted.find(end).expect("encrypted key block") + end.len()];
        let (label, der) = rsa::pkcs8::der::pem::decode_vec(key_pem.as_bytes()).expect("key PEM decodes");
        assert_eq!(label, "ENCRYPTED PRIVATE KEY");
        let info = EncryptedPrivateKeyInfoRef::try_from(der.as_slice()).expect("PKCS#8 encrypted structure");
        assert_eq!(
            info.decrypt("pässword").expect("decrypts").as_bytes(),
            cert.key_der()
        );
        assert!(info.decrypt("wrong").is_err());
        assert!(encrypted.ends_with(cert.cert_pem()));

        // The key signs what the certificate's public key verifies.
        let key = ring::signature::RsaKeyPair::from_pkcs8(cert.key_der()).expect("ring reads the key");
        assert_eq!(key.public().modulus_len(), 256, "RSA-2048");
        let mut signature = vec![0u8; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            b"msg",
            &mut signature,
        )
        .expect("signs");
        let der = rustls::pki_types::CertificateDer::from(cert.cert_der());
        let ee = webpki::EndEntityCert::try_from(&der).expect("webpki parses the certificate");
        assert!(
            ee.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, b"msg", &signature)
                .is_ok()
        );
        assert!(
            ee.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, b"other", &signature)
                .is_err()
        );
    }
}
