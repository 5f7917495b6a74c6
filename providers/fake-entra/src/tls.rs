//! The fake's own PKI: a throw-away CA and a loopback server certificate signed by it.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA plus a leaf for `127.0.0.1` / `localhost`, and the rustls config serving the leaf.
pub(crate) struct ServerPki {
    pub(crate) ca_pem: String,
    pub(crate) server_config: Arc<ServerConfig>,
}

fn io_error(context: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{context}: {e}"))
}

/// Generates the CA (`CA:TRUE`) and a leaf (`CA:FALSE`, EKU serverAuth, SAN `IP:127.0.0.1`,
/// `DNS:localhost`); rustls refuses a CA certificate used directly as a server certificate.
pub(crate) fn generate() -> std::io::Result<ServerPki> {
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate().map_err(|e| io_error("cannot generate the CA key", e))?;
    let mut ca_params = CertificateParams::default();
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, "credchain fake Entra test CA");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = now - time::Duration::hours(1);
    ca_params.not_after = now + time::Duration::days(7);
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| io_error("cannot sign the CA certificate", e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(|e| io_error("cannot generate the server key", e))?;
    let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(|e| io_error("invalid server certificate names", e))?;
    let mut leaf_name = DistinguishedName::new();
    leaf_name.push(DnType::CommonName, "localhost");
    leaf_params.distinguished_name = leaf_name;
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.not_before = now - time::Duration::hours(1);
    leaf_params.not_after = now + time::Duration::days(7);
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| io_error("cannot sign the server certificate", e))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca_cert.der().clone()];
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io_error("invalid TLS protocol versions", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| io_error("invalid server certificate", e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerPki {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}
