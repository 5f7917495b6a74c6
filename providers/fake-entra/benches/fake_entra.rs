//! How fast the fake answers, so suites know what a token round trip against it costs.

use std::sync::Arc;

use credchain_fake_entra::{FakeEntra, TestCertificate, decode_jwt};
use criterion::{Criterion, criterion_group, criterion_main};

const FORM: &str =
    "grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=api%3A%2F%2Fx%2F.default";

fn client(entra: &FakeEntra) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls::pki_types::pem::PemObject::from_pem_slice(entra.ca_pem().as_bytes()).expect("CA PEM");
    roots.add(ca).expect("CA");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .expect("client")
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let entra = runtime
        .block_on(FakeEntra::builder().client_secret("t", "app", "s3cret").start())
        .expect("fake starts");
    let http = client(&entra);
    let url = entra.token_url("t");
    let post = || async {
        let response = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(FORM)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body")
    };
    c.bench_function("token request, client secret, reused connection", |b| {
        b.to_async(&runtime).iter(post)
    });
    c.bench_function("start + first token request, new fake and client", |b| {
        b.to_async(&runtime).iter(|| async {
            let entra = FakeEntra::builder()
                .client_secret("t", "app", "s3cret")
                .start()
                .await
                .expect("starts");
            let response = client(&entra)
                .post(entra.token_url("t"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(FORM)
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 200);
        })
    });
    let token = entra.issued_tokens().pop().expect("a token was issued");
    c.bench_function("decode_jwt of an issued token", |b| {
        b.iter(|| decode_jwt(&token).expect("decodes"))
    });
    let mut group = c.benchmark_group("TestCertificate");
    group.sample_size(10);
    group.bench_function("generate (RSA-2048)", |b| {
        b.iter(|| TestCertificate::generate("bench"))
    });
    let cert = TestCertificate::generate("bench");
    group.bench_function("pkcs12", |b| b.iter(|| cert.pkcs12("pw")));
    group.bench_function("encrypted_combined_pem", |b| {
        b.iter(|| cert.encrypted_combined_pem("pw"))
    });
    group.finish();
}

criterion_group!(fake_entra, benches);
criterion_main!(fake_entra);
