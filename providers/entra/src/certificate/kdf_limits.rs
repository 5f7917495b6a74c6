//! Caps on the password-based key derivation a certificate file may ask for (issue 14.13).
//!
//! A PKCS#12 file and an encrypted PKCS#8 key name their own PBKDF2 iteration counts (or scrypt
//! costs), so a crafted file could make loading burn CPU for hours. Real tools use 2,048
//! (OpenSSL), 2,000 (Windows, .NET) or 10,000 (Java `keytool`) iterations; OWASP recommends
//! 600,000 for PBKDF2-HMAC-SHA256. Before anything is derived, a file is refused when one
//! derivation asks for more than [`MAX_ITERATIONS`] or all of them together for more than
//! [`MAX_TOTAL_ITERATIONS`].
//!
//! For PKCS#12 the scan counts the MAC, every encrypted safe and every bag (shrouded keys and
//! secret bags at any depth) in plain safes and in encrypted safes, which it decrypts here to
//! look inside (PBES2, or the legacy PKCS#12 3DES and RC2-40 schemes `p12-keystore` reads). So
//! every derivation `p12-keystore` will run is counted before it runs one; the scan's own
//! decryptions are counted too.

use pkcs8::der::asn1::OctetString;
use pkcs8::der::{Decode as _, Encode as _};
use pkcs8::pkcs5::pbes2;
use pkcs8::spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::{CertificateError, CertificateErrorKind};

/// The most PBKDF2 (or PKCS#12 KDF) iterations one derivation may ask for.
pub(crate) const MAX_ITERATIONS: u64 = 1_000_000;
/// The most iterations all derivations of one file may ask for together.
pub(crate) const MAX_TOTAL_ITERATIONS: u64 = 4_000_000;
/// The most memory one scrypt derivation may ask for (`128 · N · r · p` bytes).
const MAX_SCRYPT_WORK_BYTES: u64 = 256 << 20;
/// How deep the scan descends into nested DER (real files need fewer than 10 levels).
const MAX_DEPTH: u8 = 24;

/// `1.2.840.113549.1.5.13` (PBES2), DER content octets.
const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
/// `1.2.840.113549.1.12.1` (the PKCS#12 PBE schemes), DER content octets of the prefix.
const PKCS12_PBE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
/// `1.2.840.113549.1.7.1` (data) and `.7.6` (encryptedData).
const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";

/// The iterations a file has asked for so far.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    spent: u64,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget::default()
    }

    /// Counts one derivation of `iterations`.
    fn spend(&mut self, iterations: u64) -> Result<(), CertificateError> {
        if iterations > MAX_ITERATIONS {
            return Err(too_costly(format!(
                "the file asks for {iterations} key-derivation iterations, more than the \
                 {MAX_ITERATIONS} allowed (real tools use 2000 to 600000)"
            )));
        }
        self.spent = self.spent.saturating_add(iterations);
        if self.spent > MAX_TOTAL_ITERATIONS {
            return Err(too_costly(format!(
                "the file asks for more than {MAX_TOTAL_ITERATIONS} key-derivation iterations in total"
            )));
        }
        Ok(())
    }
}

fn too_costly(what: String) -> CertificateError {
    CertificateError::new(
        CertificateErrorKind::KeyDerivationTooCostly,
        format!(
            "{what}, so it was not opened; re-export it with the tool's default settings (for \
             example `openssl pkcs12 -export` or `openssl pkcs8 -topk8 -v2 aes-256-cbc`)"
        ),
    )
}

fn damaged() -> CertificateError {
    CertificateError::new(
        CertificateErrorKind::Malformed,
        "the key-derivation parameters in the file are damaged",
    )
}

/// Checks PBES2 parameters: PBKDF2 iterations, or a scrypt cost that is a power of two ≥ 2
/// within [`MAX_SCRYPT_WORK_BYTES`] (an scrypt cost of 0 would make `pkcs5` panic).
pub(crate) fn check_pbes2(params: &pbes2::Parameters, budget: &mut Budget) -> Result<(), CertificateError> {
    if let Some(pbkdf2) = params.kdf.pbkdf2() {
        return budget.spend(u64::from(pbkdf2.iteration_count));
    }
    if let Some(scrypt) = params.kdf.scrypt() {
        let n = scrypt.cost_parameter;
        if n < 2 || !n.is_power_of_two() {
            return Err(damaged());
        }
        let work = 128u64
            .checked_mul(n)
            .and_then(|w| w.checked_mul(u64::from(scrypt.block_size)))
            .and_then(|w| w.checked_mul(u64::from(scrypt.parallelization)));
        if work.is_none_or(|w| w > MAX_SCRYPT_WORK_BYTES)
            || scrypt.block_size == 0
            || scrypt.parallelization == 0
        {
            return Err(too_costly(format!(
                "the file asks for an scrypt derivation of more than {} MiB of work",
                MAX_SCRYPT_WORK_BYTES >> 20
            )));
        }
        // One scrypt derivation counts as a full PBKDF2 one against the total.
        return budget.spend(MAX_ITERATIONS);
    }
    Ok(())
}

/// Checks every key derivation a PKCS#12 file asks for that can be seen before `p12-keystore`
/// runs (see the module docs). A file that does not parse is left to `p12-keystore` to report.
pub(crate) fn check_pkcs12(bytes: &[u8], password: &str) -> Result<(), CertificateError> {
    let Ok(pfx) = pkcs12::pfx::Pfx::from_der(bytes) else {
        return Ok(());
    };
    let mut budget = Budget::new();
    if let Some(mac) = &pfx.mac_data {
        budget.spend(u64::try_from(mac.iterations).unwrap_or(0))?;
    }
    if pfx.auth_safe.content_type.to_string() != ID_DATA {
        return Ok(());
    }
    let Some(safes) =
        octets(&pfx.auth_safe.content).and_then(|der| pkcs12::AuthenticatedSafe::from_der(&der).ok())
    else {
        return Ok(());
    };
    for safe in safes {
        let kind = safe.content_type.to_string();
        if kind == ID_DATA {
            if let Some(der) = octets(&safe.content) {
                walk(&der, 0, &mut budget)?;
            }
        } else if kind == ID_ENCRYPTED_DATA {
            let Some(data) = safe
                .content
                .to_der()
                .ok()
                .and_then(|der| pkcs12::cms::encrypted_data::EncryptedData::from_der(&der).ok())
            else {
                continue;
            };
            let info = &data.enc_content_info;
            // Once for p12-keystore, once for the look inside.
            algorithm(&info.content_enc_alg, &mut budget)?;
            algorithm(&info.content_enc_alg, &mut budget)?;
            let plain = info
                .encrypted_content
                .as_ref()
                .and_then(|content| decrypt(&info.content_enc_alg, content.as_bytes(), password));
            if let Some(plain) = plain {
                walk(&plain, 0, &mut budget)?;
            }
        }
    }
    Ok(())
}

/// Decrypts an encrypted safe whose parameters [`algorithm`] has already accepted; `None` when
/// the scheme is not one `p12-keystore` reads or the password does not open it (then
/// `p12-keystore` cannot open it either, so it derives nothing inside).
fn decrypt(alg: &AlgorithmIdentifierOwned, ciphertext: &[u8], password: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let len = if let Some(params) = pbes2_params(alg) {
        params
            .decrypt_in_place(password.as_bytes(), &mut buffer)
            .ok()?
            .len()
    } else {
        let params = pkcs12_pbe_params(alg)?;
        let (salt, rounds) = (params.salt.as_bytes(), params.iterations);
        let derive = |id, len| {
            pkcs12::kdf::derive_key_utf8::<sha1::Sha1>(password, salt, id, rounds, len)
                .ok()
                .map(Zeroizing::new)
        };
        let iv = derive(pkcs12::kdf::Pkcs12KeyType::Iv, 8)?;
        match alg.oid.as_bytes().last() {
            Some(3) => {
                let key = derive(pkcs12::kdf::Pkcs12KeyType::EncryptionKey, 24)?;
                cbc_decrypt::<des::TdesEde3>(&key, &iv, &mut buffer)?
            }
            Some(6) => {
                let key = derive(pkcs12::kdf::Pkcs12KeyType::EncryptionKey, 5)?;
                cbc_decrypt::<rc2::Rc2>(&key, &iv, &mut buffer)?
            }
            _ => return None,
        }
    };
    buffer.truncate(len);
    Some(buffer)
}

/// CBC-decrypts `buffer` in place; the plaintext length.
fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buffer: &mut [u8]) -> Option<usize>
where
    C: cbc::cipher::BlockCipherDecrypt + cbc::cipher::KeyInit,
{
    use cbc::cipher::{BlockModeDecrypt as _, KeyIvInit as _};
    let cipher = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    cipher
        .decrypt_padded::<cbc::cipher::block_padding::Pkcs7>(buffer)
        .ok()
        .map(<[u8]>::len)
}

fn pkcs12_pbe_params(alg: &AlgorithmIdentifierOwned) -> Option<pkcs12::pbe_params::Pkcs12PbeParams> {
    let oid = alg.oid.as_bytes();
    if oid.len() != PKCS12_PBE.len() + 1 || !oid.starts_with(PKCS12_PBE) {
        return None;
    }
    let der = alg.parameters.as_ref()?.to_der().ok()?;
    pkcs12::pbe_params::Pkcs12PbeParams::from_der(&der).ok()
}

/// The bytes of an `OCTET STRING` held in `any`.
fn octets(any: &pkcs8::der::Any) -> Option<Zeroizing<Vec<u8>>> {
    let der = Zeroizing::new(any.to_der().ok()?);
    let octets = OctetString::from_der(&der).ok()?;
    Some(Zeroizing::new(octets.into_bytes().into_vec()))
}

fn pbes2_params(alg: &AlgorithmIdentifierOwned) -> Option<pbes2::Parameters> {
    if alg.oid.as_bytes() != PBES2 {
        return None;
    }
    let der = alg.parameters.as_ref()?.to_der().ok()?;
    pbes2::Parameters::from_der(&der).ok()
}

/// Counts the derivation `alg` asks for, if it is a password-based scheme.
fn algorithm(alg: &AlgorithmIdentifierOwned, budget: &mut Budget) -> Result<(), CertificateError> {
    let oid = alg.oid.as_bytes();
    if oid == PBES2 {
        let params = pbes2_params(alg).ok_or_else(damaged)?;
        check_pbes2(&params, budget)
    } else if oid.len() == PKCS12_PBE.len() + 1 && oid.starts_with(PKCS12_PBE) {
        let params = pkcs12_pbe_params(alg).ok_or_else(damaged)?;
        let iterations = u64::try_from(params.iterations).unwrap_or(0);
        // The key and the IV are derived separately, each with `iterations`.
        budget.spend(iterations)?;
        budget.spend(iterations)
    } else {
        Ok(())
    }
}

/// Walks DER (a `SafeContents`), counting every password-based algorithm identifier found at
/// any depth, including inside `OCTET STRING`s that hold DER (as secret bags do).
fn walk(der: &[u8], depth: u8, budget: &mut Budget) -> Result<(), CertificateError> {
    if depth > MAX_DEPTH {
        return Err(CertificateError::new(
            CertificateErrorKind::Malformed,
            "the PKCS#12 file is nested too deeply to be a certificate file",
        ));
    }
    let mut rest = der;
    while let Some((item, after)) = Tlv::split(rest) {
        rest = after;
        if item.tag == 0x30 && Tlv::split(item.value).is_some_and(|(first, _)| is_pbe_oid(&first)) {
            let alg = AlgorithmIdentifierOwned::from_der(item.whole).map_err(|_| damaged())?;
            algorithm(&alg, budget)?;
        } else if item.tag & 0x20 != 0 || (item.tag == 0x04 && Tlv::is_one(item.value)) {
            // Constructed, or an OCTET STRING that holds exactly one DER item.
            walk(item.value, depth + 1, budget)?;
        }
    }
    Ok(())
}

fn is_pbe_oid(item: &Tlv<'_>) -> bool {
    item.tag == 0x06
        && (item.value == PBES2
            || (item.value.len() == PKCS12_PBE.len() + 1 && item.value.starts_with(PKCS12_PBE)))
}

/// One DER item (single-byte tag, definite length).
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    /// The tag, length and value.
    whole: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Splits the first item off `input`; `None` when it is not well formed.
    fn split(input: &'a [u8]) -> Option<(Tlv<'a>, &'a [u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        if rest.len() < len {
            return None;
        }
        let header = input.len() - rest.len();
        let (value, after) = rest.split_at(len);
        Some((
            Tlv {
                tag,
                value,
                whole: &input[..header + len],
            },
            after,
        ))
    }

    /// `true` when `input` is exactly one DER item.
    fn is_one(input: &[u8]) -> bool {
        Tlv::split(input).is_some_and(|(_, after)| after.is_empty())
    }
}

#[cfg(test)]
mod tests {
    //! Crafted files, built here byte by byte: the parameters are read and refused before any
    //! derivation, so the ciphertexts are never decrypted and need not be real.
    use super::*;
    use crate::ClientCertificate;
    use credchain_core::Secret;

    const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    const OID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
    const OID_SHROUDED_BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02];
    const OID_3DES_PBE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
    const OID_PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
    const OID_HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
    const OID_AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
    const OID_SCRYPT: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b];
    const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

    fn der(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
        let body: Vec<u8> = parts.concat();
        let mut out = vec![tag];
        if body.len() < 0x80 {
            out.push(body.len() as u8);
        } else {
            let bytes = (body.len() as u32).to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (4 - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend(body);
        out
    }
    fn seq(parts: &[&[u8]]) -> Vec<u8> {
        der(0x30, parts)
    }
    fn oid(bytes: &[u8]) -> Vec<u8> {
        der(0x06, &[bytes])
    }
    fn octets(bytes: &[u8]) -> Vec<u8> {
        der(0x04, &[bytes])
    }
    fn int(value: u64) -> Vec<u8> {
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
        let mut body = bytes[skip..].to_vec();
        if body[0] & 0x80 != 0 {
            body.insert(0, 0);
        }
        der(0x02, &[&body])
    }

    fn pbes2_pbkdf2(iterations: u64) -> Vec<u8> {
        let prf = seq(&[&oid(OID_HMAC_SHA256), &[0x05, 0x00]]);
        let kdf = seq(&[
            &oid(OID_PBKDF2),
            &seq(&[&octets(&[7; 8]), &int(iterations), &prf]),
        ]);
        let enc = seq(&[&oid(OID_AES256_CBC), &octets(&[9; 16])]);
        seq(&[&oid(PBES2), &seq(&[&kdf, &enc])])
    }
    fn pbes2_scrypt(n: u64, r: u64, p: u64) -> Vec<u8> {
        let kdf = seq(&[
            &oid(OID_SCRYPT),
            &seq(&[&octets(&[7; 8]), &int(n), &int(r), &int(p)]),
        ]);
        let enc = seq(&[&oid(OID_AES256_CBC), &octets(&[9; 16])]);
        seq(&[&oid(PBES2), &seq(&[&kdf, &enc])])
    }
    fn pkcs12_pbe(iterations: u64) -> Vec<u8> {
        seq(&[&oid(OID_3DES_PBE), &seq(&[&octets(&[7; 8]), &int(iterations)])])
    }
    fn encrypted_pem(alg: &[u8]) -> Vec<u8> {
        use base64::Engine as _;
        let info = seq(&[alg, &octets(&[0x55; 32])]);
        let body = base64::engine::general_purpose::STANDARD.encode(info);
        format!("-----BEGIN ENCRYPTED PRIVATE KEY-----\n{body}\n-----END ENCRYPTED PRIVATE KEY-----\n")
            .into_bytes()
    }
    fn shrouded_bag(alg: &[u8]) -> Vec<u8> {
        let info = seq(&[alg, &octets(&[0x55; 32])]);
        seq(&[&oid(OID_SHROUDED_BAG), &der(0xa0, &[&info])])
    }
    fn data(content: &[u8]) -> Vec<u8> {
        seq(&[&oid(OID_DATA), &der(0xa0, &[&octets(content)])])
    }
    /// A PFX whose one plain safe holds `bags`, with an optional MAC of `mac_iterations`.
    fn pfx(safes: &[Vec<u8>], mac_iterations: Option<u64>) -> Vec<u8> {
        let refs: Vec<&[u8]> = safes.iter().map(Vec::as_slice).collect();
        let auth_safe = data(&seq(&refs));
        let mac = mac_iterations.map(|i| {
            let digest = seq(&[&seq(&[&oid(OID_SHA256), &[0x05, 0x00]]), &octets(&[1; 32])]);
            seq(&[&digest, &octets(&[2; 8]), &int(i)])
        });
        match mac {
            Some(mac) => seq(&[&int(3), &auth_safe, &mac]),
            None => seq(&[&int(3), &auth_safe]),
        }
    }
    fn plain_safe(bags: &[Vec<u8>]) -> Vec<u8> {
        let refs: Vec<&[u8]> = bags.iter().map(Vec::as_slice).collect();
        data(&seq(&refs))
    }

    fn load_err(bytes: &[u8]) -> CertificateError {
        match ClientCertificate::load(bytes, Some(&Secret::new("pw"))) {
            Ok(_) => panic!("a crafted file loaded"),
            Err(e) => e,
        }
    }

    #[test]
    fn encrypted_pkcs8_over_the_iteration_cap_is_refused_before_deriving() {
        let err = load_err(&encrypted_pem(&pbes2_pbkdf2(MAX_ITERATIONS + 1)));
        assert_eq!(err.kind(), CertificateErrorKind::KeyDerivationTooCostly, "{err}");
        assert!(
            err.message().contains("1000001 key-derivation iterations"),
            "{err}"
        );
        // At the cap the parameters pass, and decryption (of garbage) is what fails.
        assert!(check_pbes2_der(&pbes2_pbkdf2(MAX_ITERATIONS)).is_ok());
    }

    fn check_pbes2_der(alg: &[u8]) -> Result<(), CertificateError> {
        let alg = AlgorithmIdentifierOwned::from_der(alg).expect("algorithm");
        algorithm(&alg, &mut Budget::new())
    }

    #[test]
    fn scrypt_costs_are_capped_and_a_zero_cost_is_damage_not_a_panic() {
        // N = 2^20, r = 8: 1 GiB.
        let err = load_err(&encrypted_pem(&pbes2_scrypt(1 << 20, 8, 1)));
        assert_eq!(err.kind(), CertificateErrorKind::KeyDerivationTooCostly, "{err}");
        // pkcs5 0.8 computes log2(N) with an `expect` that panics for N = 0.
        for (n, r, p) in [(0, 8, 1), (3, 8, 1), (1 << 14, 0, 1)] {
            let err = load_err(&encrypted_pem(&pbes2_scrypt(n, r, p)));
            assert!(
                matches!(
                    err.kind(),
                    CertificateErrorKind::Malformed | CertificateErrorKind::KeyDerivationTooCostly
                ),
                "N={n} r={r} p={p}: {err}"
            );
        }
        // OpenSSL's default (N = 2^14, r = 8, p = 1: 16 MiB) passes.
        assert!(check_pbes2_der(&pbes2_scrypt(1 << 14, 8, 1)).is_ok());
    }

    #[test]
    fn pkcs12_mac_and_bag_iterations_over_the_cap_are_refused() {
        let err = load_err(&pfx(&[plain_safe(&[])], Some(MAX_ITERATIONS + 1)));
        assert_eq!(err.kind(), CertificateErrorKind::KeyDerivationTooCostly, "{err}");
        let file = pfx(
            &[plain_safe(&[shrouded_bag(&pkcs12_pbe(MAX_ITERATIONS + 1))])],
            None,
        );
        assert_eq!(
            load_err(&file).kind(),
            CertificateErrorKind::KeyDerivationTooCostly
        );
        let file = pfx(
            &[plain_safe(&[shrouded_bag(&pbes2_pbkdf2(MAX_ITERATIONS + 1))])],
            None,
        );
        assert_eq!(
            load_err(&file).kind(),
            CertificateErrorKind::KeyDerivationTooCostly
        );
    }

    #[test]
    fn many_derivations_each_under_the_cap_are_refused_in_total() {
        // p12-keystore caps each derivation at 1,000,000 iterations but not their number.
        let bag = shrouded_bag(&pbes2_pbkdf2(900_000));
        let four = pfx(&[plain_safe(&vec![bag.clone(); 4])], None);
        assert!(
            check_pkcs12(&four, "pw").is_ok(),
            "3.6 million in total is allowed"
        );
        let five = pfx(
            &[plain_safe(&vec![bag.clone(); 3]), plain_safe(&vec![bag; 2])],
            None,
        );
        let err = check_pkcs12(&five, "pw").expect_err("4.5 million");
        assert_eq!(err.kind(), CertificateErrorKind::KeyDerivationTooCostly);
        assert!(err.message().contains("in total"), "{err}");
    }

    #[test]
    fn bags_inside_a_pbes2_encrypted_safe_are_counted() {
        let bags = vec![shrouded_bag(&pkcs12_pbe(900_000)); 5];
        let refs: Vec<&[u8]> = bags.iter().map(Vec::as_slice).collect();
        let contents = seq(&refs);
        let params =
            pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(2, &[7; 8], [9; 16]).expect("params");
        let ciphertext = params.encrypt("pw", &contents).expect("encrypt");
        let alg = params.to_der().expect("der");
        let alg = seq(&[&oid(PBES2), &alg]);
        let info = seq(&[&oid(OID_DATA), &alg, &der(0x80, &[&ciphertext])]);
        let encrypted = seq(&[&int(0), &info]);
        let safe = seq(&[&oid(OID_ENCRYPTED_DATA), &der(0xa0, &[&encrypted])]);
        let err = check_pkcs12(&pfx(std::slice::from_ref(&safe), None), "pw").expect_err("hidden bags");
        assert!(err.message().contains("in total"), "{err}");
        // With a wrong password the safe cannot be opened here nor by p12-keystore.
        assert!(check_pkcs12(&pfx(&[safe], None), "wrong").is_ok());
    }

    /// The scan decrypts legacy safes as p12-keystore encrypts them, so it sees what is inside.
    #[test]
    fn legacy_encrypted_safes_are_opened_for_the_scan() {
        use p12_keystore::{EncryptionAlgorithm, KeyStore, Pkcs12ImportPolicy};
        let cert = credchain_fake_entra::TestCertificate::generate("legacy");
        // The same key and certificate, re-written with a legacy scheme.
        let legacy = KeyStore::from_pkcs12(&cert.pkcs12("pw"), "pw", Pkcs12ImportPolicy::default())
            .expect("read back");
        for scheme in [
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc,
        ] {
            let file = legacy
                .writer("pw")
                .encryption_algorithm(scheme)
                .encryption_iterations(2048)
                .write()
                .expect("write");
            let pfx = pkcs12::pfx::Pfx::from_der(&file).expect("pfx");
            let safes = super::octets(&pfx.auth_safe.content)
                .and_then(|der| pkcs12::AuthenticatedSafe::from_der(&der).ok())
                .expect("safes");
            let encrypted = safes
                .iter()
                .find(|s| s.content_type.to_string() == ID_ENCRYPTED_DATA)
                .expect("an encrypted safe");
            let data = pkcs12::cms::encrypted_data::EncryptedData::from_der(
                &encrypted.content.to_der().expect("der"),
            )
            .expect("encrypted data");
            let info = &data.enc_content_info;
            let content = info.encrypted_content.as_ref().expect("content");
            let plain = decrypt(&info.content_enc_alg, content.as_bytes(), "pw").expect("opens");
            let bags = pkcs12::safe_bag::SafeContents::from_der(&plain).expect("safe contents");
            assert!(!bags.is_empty(), "{scheme:?}");
            let wrong = decrypt(&info.content_enc_alg, content.as_bytes(), "wrong");
            assert!(
                wrong.is_none_or(|p| pkcs12::safe_bag::SafeContents::from_der(&p).is_err()),
                "{scheme:?}"
            );
            assert!(check_pkcs12(&file, "pw").is_ok(), "{scheme:?}");
            let loaded = ClientCertificate::load(&file, Some(&Secret::new("pw"))).expect("loads");
            assert_eq!(loaded.subject(), "CN=legacy");
        }
    }

    #[test]
    fn files_real_tools_write_pass() {
        let cert = credchain_fake_entra::TestCertificate::generate("kdf");
        assert!(check_pkcs12(&cert.pkcs12("pw"), "pw").is_ok());
        assert!(ClientCertificate::load(&cert.pkcs12("pw"), Some(&Secret::new("pw"))).is_ok());
        let pem = cert.encrypted_combined_pem("pw");
        assert!(ClientCertificate::load(pem.as_bytes(), Some(&Secret::new("pw"))).is_ok());
    }

    #[test]
    fn the_der_walker_survives_truncation_and_deep_nesting() {
        let file = pfx(&[plain_safe(&[shrouded_bag(&pkcs12_pbe(2048))])], Some(2048));
        for cut in 0..file.len() {
            let _ = check_pkcs12(&file[..cut], "pw");
        }
        let mut deep = octets(&[]);
        for _ in 0..40 {
            deep = seq(&[&deep]);
        }
        let err = walk(&deep, 0, &mut Budget::new()).expect_err("too deep");
        assert_eq!(err.kind(), CertificateErrorKind::Malformed);
    }
}
