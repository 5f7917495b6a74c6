//! `TestCertificate`'s files are readable by OpenSSL, which Python's azure-identity and most
//! other tools build on. Skipped (with a notice) when no `openssl` binary is on `PATH`.

use std::process::Command;

use credchain_fake_entra::TestCertificate;

fn openssl(args: &[&str]) -> Option<(bool, String, String)> {
    let output = Command::new("openssl").args(args).output().ok()?;
    Some((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

#[test]
fn openssl_reads_every_format() {
    if openssl(&["version"]).is_none() {
        eprintln!("skipping: no `openssl` binary on PATH");
        return;
    }
    let cert = TestCertificate::generate("openssl-interop");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::write(path("cert.pem"), cert.cert_pem()).expect("write");
    std::fs::write(path("enc.pem"), cert.encrypted_combined_pem("pw 1")).expect("write");
    std::fs::write(path("cert.pfx"), cert.pkcs12("pw 2")).expect("write");

    let (ok, stdout, stderr) = openssl(&[
        "x509",
        "-in",
        &path("cert.pem"),
        "-noout",
        "-fingerprint",
        "-sha1",
    ])
    .expect("runs");
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.trim().rsplit('=').next().map(|f| f.replace(':', "")),
        Some(cert.thumbprint_hex())
    );

    let (ok, stdout, stderr) =
        openssl(&["pkey", "-in", &path("enc.pem"), "-passin", "pass:pw 1"]).expect("runs");
    assert!(ok, "{stderr}");
    assert_eq!(stdout, cert.key_pem());
    let (ok, _, _) = openssl(&["pkey", "-in", &path("enc.pem"), "-passin", "pass:wrong"]).expect("runs");
    assert!(!ok, "a wrong password must not decrypt the key");

    let (ok, stdout, stderr) = openssl(&[
        "pkcs12",
        "-in",
        &path("cert.pfx"),
        "-passin",
        "pass:pw 2",
        "-nodes",
    ])
    .expect("runs");
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(cert.cert_pem().trim()),
        "the certificate is in the archive"
    );
    assert!(
        stdout.contains(cert.key_pem().trim()),
        "the key is in the archive"
    );
    let (ok, _, _) = openssl(&[
        "pkcs12",
        "-in",
        &path("cert.pfx"),
        "-passin",
        "pass:wrong",
        "-nodes",
    ])
    .expect("runs");
    assert!(!ok, "a wrong password must not open the archive");
}
