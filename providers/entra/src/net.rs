//! Network setup read from the injected environment: trusted roots and the proxy.

use std::path::Path;

use credchain_core::Env;
use credchain_core::fs::read_bounded;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Variables naming the proxy for https URLs, in the order they are read (lowercase first, as
/// curl and Python do).
pub const PROXY_VARS: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
/// Variables listing hosts that bypass the proxy, in the order they are read.
pub const NO_PROXY_VARS: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// Where the trusted roots came from, for `Debug` and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RootsSummary {
    pub(crate) source: &'static str,
    pub(crate) count: usize,
    pub(crate) extra: usize,
}

impl RootsSummary {
    /// No roots: the client sends plain `http://` requests only.
    pub(crate) fn http_only() -> Self {
        RootsSummary {
            source: "none (http only)",
            count: 0,
            extra: 0,
        }
    }
}

/// Builds the root store: `SSL_CERT_FILE` / `SSL_CERT_DIR` when either is set in `env`
/// (replacing the system store, as OpenSSL and rustls-native-certs do), else the operating
/// system's store; then the `extra` PEM roots.
pub(crate) fn root_store(env: &Env, extra: &[Vec<u8>]) -> Result<(RootCertStore, RootsSummary), String> {
    let mut store = RootCertStore::empty();
    let file = env.non_blank("SSL_CERT_FILE");
    let dir = env.non_blank("SSL_CERT_DIR");
    let source = if file.is_some() || dir.is_some() {
        if let Some(file) = &file {
            match read_bounded(Path::new(file), MAX_ROOTS_FILE) {
                Ok(bytes) => add_pem(&mut store, &bytes),
                Err(e) => tracing::warn!(error = %e, "skipped `SSL_CERT_FILE`"),
            }
        }
        if let Some(dirs) = &dir {
            let sep = if cfg!(windows) { ';' } else { ':' };
            for d in dirs.split(sep).filter(|d| !d.is_empty()) {
                add_dir(&mut store, Path::new(d));
            }
        }
        "SSL_CERT_FILE/SSL_CERT_DIR"
    } else {
        let result = rustls_native_certs::load_native_certs();
        for e in &result.errors {
            tracing::debug!(error = %e, "skipped part of the system certificate store");
        }
        store.add_parsable_certificates(result.certs);
        "system"
    };
    let count = store.len();
    let mut added = 0;
    for pem in extra {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|_| {
                "a root certificate given to the client is not valid PEM (`-----BEGIN CERTIFICATE-----`)"
                    .to_owned()
            })?;
            store
                .add(cert)
                .map_err(|e| format!("a root certificate given to the client was rejected: {e}"))?;
            found += 1;
        }
        if found == 0 {
            return Err(
                "a root certificate given to the client has no `-----BEGIN CERTIFICATE-----` block".into(),
            );
        }
        added += found;
    }
    if store.is_empty() {
        tracing::warn!(
            source,
            "no trusted root certificates were found; TLS connections will fail (set `SSL_CERT_FILE`)"
        );
    }
    Ok((
        store,
        RootsSummary {
            source,
            count,
            extra: added,
        },
    ))
}

fn add_pem(store: &mut RootCertStore, bytes: &[u8]) {
    let certs = CertificateDer::pem_slice_iter(bytes).filter_map(Result::ok);
    store.add_parsable_certificates(certs);
}

fn add_dir(store: &mut RootCertStore, dir: &Path) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(path = %dir.display(), error = %e, "cannot read `SSL_CERT_DIR`");
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match read_bounded(&path, MAX_ROOTS_FILE) {
            Ok(bytes) => add_pem(store, &bytes),
            Err(e) => tracing::debug!(error = %e, "skipped a file in `SSL_CERT_DIR`"),
        }
    }
}

/// The largest root-certificate file read (a full CA bundle is a few hundred KiB).
const MAX_ROOTS_FILE: u64 = 16 << 20;

/// The proxy for https requests from `env`, if any: `(variable name, url)`.
pub(crate) fn proxy_from_env(env: &Env) -> Option<(&'static str, String)> {
    PROXY_VARS
        .iter()
        .find_map(|name| env.non_blank(name).map(|v| (*name, v)))
}

/// The hosts that bypass the proxy, if set (an empty value means "none").
pub(crate) fn no_proxy_from_env(env: &Env) -> Option<String> {
    NO_PROXY_VARS.iter().find_map(|name| env.var(name))
}

/// A proxy URL as it may be shown: scheme, host and port, without user name or password.
pub(crate) fn redacted_proxy(url: &str) -> String {
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    match reqwest::Url::parse(&with_scheme) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            match u.port_or_known_default() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "(unparsable)".into(),
    }
}

/// The password of a proxy URL, so messages can be scrubbed of it.
pub(crate) fn proxy_password(url: &str) -> Option<String> {
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let u = reqwest::Url::parse(&with_scheme).ok()?;
    u.password().filter(|p| !p.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use credchain_core::fs::ReadErrorKind;

    #[test]
    fn proxy_precedence() {
        let env = Env::from_pairs([
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
        ]);
        assert_eq!(
            proxy_from_env(&env),
            Some(("https_proxy", "http://lower:2".into()))
        );
        let env = Env::from_pairs([("https_proxy", "  "), ("ALL_PROXY", "http://all:3")]);
        assert_eq!(proxy_from_env(&env), Some(("ALL_PROXY", "http://all:3".into())));
        assert_eq!(proxy_from_env(&Env::empty()), None);
        let env = Env::from_pairs([("NO_PROXY", "a.com"), ("no_proxy", "")]);
        assert_eq!(no_proxy_from_env(&env).as_deref(), Some(""));
    }

    #[test]
    fn proxy_urls_are_redacted() {
        assert_eq!(
            redacted_proxy("http://user:pa55@proxy.corp:3128"),
            "http://proxy.corp:3128"
        );
        assert_eq!(redacted_proxy("proxy.corp:8080"), "http://proxy.corp:8080");
        assert_eq!(
            proxy_password("http://user:pa55@proxy.corp:3128").as_deref(),
            Some("pa55")
        );
        assert_eq!(proxy_password("http://proxy.corp:3128"), None);
    }

    #[test]
    fn ssl_cert_file_replaces_system_store() {
        let dir = std::env::temp_dir().join(format!("credchain-entra-roots-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let empty = dir.join("empty.pem");
        let _ = std::fs::write(&empty, "no certificates here\n");
        let env = Env::from_pairs([("SSL_CERT_FILE", empty.to_string_lossy().into_owned())]);
        let (store, summary) = root_store(&env, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.is_empty());
        assert_eq!(summary.source, "SSL_CERT_FILE/SSL_CERT_DIR");
        let env = Env::from_pairs([("SSL_CERT_DIR", dir.to_string_lossy().into_owned())]);
        let (store, _) = root_store(&env, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(store.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn endless_and_special_files_are_not_read_as_roots() {
        // `/dev/zero` as `SSL_CERT_FILE` used to be read until memory ran out.
        for path in ["/dev/zero", "/dev/urandom", "/"] {
            let env = Env::from_pairs([("SSL_CERT_FILE", path)]);
            let (store, summary) = root_store(&env, &[]).unwrap_or_else(|e| panic!("{e}"));
            assert!(store.is_empty(), "{path}");
            assert_eq!(summary.source, "SSL_CERT_FILE/SSL_CERT_DIR");
            let err = read_bounded(Path::new(path), MAX_ROOTS_FILE).expect_err(path);
            assert_eq!(err.kind(), ReadErrorKind::NotRegularFile, "{path}");
        }
    }

    #[test]
    fn roots_files_over_the_cap_are_not_read() {
        let dir = std::env::temp_dir().join(format!("credchain-entra-cap-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let big = dir.join("big.pem");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(MAX_ROOTS_FILE + 1).expect("sparse file");
        let over = read_bounded(&big, MAX_ROOTS_FILE).map(|b| b.len());
        file.set_len(MAX_ROOTS_FILE).expect("shrink");
        let at = read_bounded(&big, MAX_ROOTS_FILE).map(|b| b.len());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(over.map_err(|e| e.kind()), Err(ReadErrorKind::TooLarge));
        assert_eq!(at.ok(), Some(MAX_ROOTS_FILE as usize));
    }

    #[test]
    fn bad_extra_roots_are_errors() {
        let env = Env::from_pairs([("SSL_CERT_FILE", "/nonexistent/credchain.pem")]);
        let err = root_store(&env, &[b"not a pem".to_vec()]).unwrap_err();
        assert!(err.contains("no `-----BEGIN CERTIFICATE-----` block"), "{err}");
    }
}
