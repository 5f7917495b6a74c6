//! Turning what the token endpoint answered (or did not) into credchain errors.
//!
//! Every text that came from outside (response bodies, transport errors) passes through the
//! request's [`Scrubber`] *before* it is cut or folded, so no part of a secret survives.

use std::time::{Duration, Instant};

use credchain_core::Error;
use credchain_core::http::{HttpError, HttpErrorKind};
use zeroize::Zeroizing;

use crate::http::TLS_FAILURE;
use crate::parse::{self, EntraErrorResponse};
use crate::scrub::Scrubber;

/// A failure that may be retried.
pub(crate) enum Failure {
    /// No HTTP answer; the scrubbed reason.
    Transport(String),
    /// 429 or 5xx.
    Status {
        status: u16,
        entra: Option<EntraErrorResponse>,
        retry_after: Option<Duration>,
        /// The scrubbed start of a body that is not an Entra error.
        snippet: String,
    },
}

/// What a non-success answer means.
pub(crate) enum Refusal {
    /// Try again (429, 5xx).
    Retry(Failure),
    /// Stop with this error (any other 4xx).
    Stop(Error),
}

/// The TLS failure in `e`, if it is one: the message after the marker.
pub(crate) fn tls_failure(e: &HttpError) -> Option<String> {
    if e.kind() != HttpErrorKind::Other {
        return None;
    }
    e.to_string().strip_prefix(TLS_FAILURE).map(str::to_owned)
}

/// The error for a server whose TLS connection could not be trusted.
pub(crate) fn untrusted(provider: &str, host: &str, tls: &str, scrub: &Scrubber) -> Error {
    Error::authentication_failed(
        provider,
        scrub.clean(&format!(
            "could not set up a trusted TLS connection to Microsoft Entra ID at `{host}`: {tls}; if a \
             proxy or firewall inspects TLS, trust its root certificate with `SSL_CERT_FILE` or \
             `SSL_CERT_DIR`"
        )),
    )
}

/// Classifies a non-2xx answer. The body is scrubbed before anything is parsed or cut from it.
pub(crate) fn refusal(
    provider: &str,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
    scrub: &Scrubber,
) -> Refusal {
    let text = Zeroizing::new(String::from_utf8_lossy(body).into_owned());
    let text = scrub.clean(&text);
    let entra = parse::parse_error(status, text.as_bytes()).map(|e| e.scrubbed(|t| scrub.clean(t)));
    let snippet = scrub.clean(&snippet(text.as_bytes()));
    if status == 429 || status >= 500 {
        return Refusal::Retry(Failure::Status {
            status,
            entra,
            retry_after,
            snippet,
        });
    }
    Refusal::Stop(match entra {
        Some(e) => {
            let mut msg = format!(
                "Microsoft Entra ID refused the token request (HTTP {status}, `{}`): {}",
                e.error(),
                e.summary()
            );
            if let Some(hint) = e.hint() {
                msg.push_str("; ");
                msg.push_str(hint);
            }
            Error::authentication_failed(provider, msg).with_source(e)
        }
        None => {
            let detail = if snippet.is_empty() {
                "an empty body".to_owned()
            } else {
                snippet
            };
            Error::authentication_failed(
                provider,
                format!(
                    "Microsoft Entra ID refused the token request with HTTP {status} and no error details \
                     ({detail}); check the authority host and any proxy in between"
                ),
            )
        }
    })
}

impl Failure {
    /// A short reason for the retry log line.
    pub(crate) fn short(&self) -> String {
        match self {
            Failure::Transport(e) => e.clone(),
            Failure::Status { status, .. } => format!("HTTP {status}"),
        }
    }

    /// The `Retry-After` the server asked for, if any.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            Failure::Transport(_) => None,
        }
    }

    /// The error after the last attempt; `why` says why retrying stopped early.
    pub(crate) fn into_error(self, provider: &str, host: &str, attempts: u32, why: Option<&str>) -> Error {
        let tries = if attempts == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{attempts} attempts")
        };
        let tail = why.map(|w| format!(" ({w})")).unwrap_or_default();
        match self {
            Failure::Transport(e) => Error::transient(
                provider,
                format!(
                    "could not reach Microsoft Entra ID at `{host}` after {tries}{tail}: {e}; check the \
                     network and the proxy settings (`HTTPS_PROXY`, `NO_PROXY`)"
                ),
            ),
            Failure::Status {
                status,
                entra,
                snippet,
                ..
            } => {
                let detail = match &entra {
                    Some(e) => e.summary(),
                    None if snippet.is_empty() => "no details".into(),
                    None => snippet,
                };
                let what = if status == 429 {
                    "is throttling requests"
                } else {
                    "is having trouble"
                };
                let err = Error::transient(
                    provider,
                    format!(
                        "Microsoft Entra ID at `{host}` {what} (HTTP {status}) after {tries}{tail}: {detail}; \
                         try again later"
                    ),
                );
                match entra {
                    Some(e) => err.with_source(e),
                    None => err,
                }
            }
        }
    }
}

/// The error for a passed deadline (`bound` names which).
pub(crate) fn timeout_error(provider: &str, host: &str, started: Instant, bound: &str) -> Error {
    Error::timeout(
        provider,
        format!(
            "Microsoft Entra ID at `{host}` did not answer within {bound} ({}); check the network and \
             the proxy settings (`HTTPS_PROXY`, `NO_PROXY`), or raise the timeout",
            secs(started.elapsed())
        ),
    )
}

/// `d` as `1.5 s`.
pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The start of a non-JSON body, for messages: printable text only, at most 200 characters.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]);
    let mut s: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if body.len() > 200 && !s.is_empty() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_printable_and_short() {
        assert_eq!(
            snippet(b"<html>\n  <b>bad\x07 gateway</b>\n</html>"),
            "<html> <b>bad gateway</b> </html>"
        );
        assert!(snippet(&[b'x'; 1000]).chars().count() <= 201);
    }

    #[test]
    fn a_secret_at_the_snippet_cut_leaves_no_fragment() {
        // The secret straddles the 200-character cut: scrubbing after cutting would miss it.
        let secret = "hunter22-secret-value";
        let scrub = Scrubber::new([secret]);
        let body = format!("{}{secret} and more", "x".repeat(190));
        let Refusal::Stop(err) = refusal("P", 400, body.as_bytes(), None, &scrub) else {
            panic!("400 is not retried");
        };
        assert!(!err.to_string().contains("hunter"), "{err}");
        assert!(err.message().contains("x***"), "{err}");
    }

    #[test]
    fn an_echoed_secret_is_scrubbed_from_the_message_and_the_source() {
        let scrub = Scrubber::new(["hunter22-secret"]);
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: bad secret hunter22-secret","correlation_id":"c-1"}"#;
        for status in [401, 503] {
            let err = match refusal("P", status, body, None, &scrub) {
                Refusal::Stop(err) => err,
                Refusal::Retry(failure) => failure.into_error("P", "h", 1, None),
            };
            let source = std::error::Error::source(&err).map(ToString::to_string);
            let source = source.unwrap_or_else(|| panic!("{status}: no source"));
            assert!(err.message().contains("bad secret ***"), "{err}");
            assert!(source.contains("bad secret ***"), "{source}");
            for shown in [err.to_string(), format!("{err:?}"), source] {
                assert!(!shown.contains("hunter22"), "{status}: {shown}");
            }
        }
    }
}

/// Property tests: whatever a refusing server sends back, echoing the request's secrets in any
/// encoding, the error is bounded, printable and holds no secret (message, `Debug` or source).
/// 10,000 cases each; CI fixes the seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use crate::parse::prop::{any_value, run};
    use proptest::prelude::*;
    use serde_json::json;

    /// The encodings a server may echo `secret` in (see `scrub`).
    fn echoed(secret: &str, how: u8) -> String {
        match how {
            0 => secret.to_owned(),
            1 => form_urlencoded_like(secret, false),
            2 => form_urlencoded_like(secret, true).to_lowercase(),
            3 => serde_json::to_string(secret)
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned(),
            _ => serde_json::to_string(secret)
                .unwrap_or_default()
                .trim_matches('"')
                .replace('/', "\\/"),
        }
    }

    /// Percent-encoding by hand (`+` for spaces when `form`), independent of `crate::form`.
    fn form_urlencoded_like(s: &str, form: bool) -> String {
        s.bytes()
            .map(|b| match b {
                b' ' if form => "+".to_owned(),
                b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => char::from(b).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect()
    }

    fn body() -> impl Strategy<Value = (Vec<u8>, String)> {
        // Secrets as people make them; no `*`, the scrubber's own mark.
        let secret = "[A-Za-z0-9 +/=~!@#$%^&()_\"\\\\.-]{8,30}";
        (
            secret,
            0u8..5,
            ".{0,30}",
            ".{0,30}",
            any_value(),
            0u8..4,
            any::<usize>(),
        )
            .prop_map(|(secret, how, before, after, other, shape, cut)| {
                let echo = format!("{before}{}{after}", echoed(&secret, how));
                let body = match shape {
                    0 => json!({"error": echo, "error_description": other}).to_string(),
                    1 => json!({"error": "invalid_client", "error_description": echo,
                                "correlation_id": other, "trace_id": echo})
                    .to_string(),
                    2 => echo,
                    _ => {
                        // Unterminated JSON: cut after the echo (a cut inside it would leave a
                        // fragment no scrubber can recognise).
                        let text = json!({"error": "x", "error_description": echo}).to_string();
                        let cut = text.len() - cut % 3;
                        text.get(..cut).unwrap_or(&text).to_owned()
                    }
                };
                (body.into_bytes(), secret)
            })
    }

    #[test]
    fn an_echoed_secret_never_reaches_the_error() {
        let status = prop_oneof![400u16..=499, 500u16..=599, Just(429u16)];
        run((status, body()), |(status, (body, secret))| {
            let scrub = Scrubber::new([secret.as_str()]);
            let err = match refusal("P", status, &body, None, &scrub) {
                Refusal::Stop(err) => err,
                Refusal::Retry(failure) => failure.into_error("P", "login.example", 3, None),
            };
            let source = std::error::Error::source(&err);
            let shown = [
                err.to_string(),
                source.map(ToString::to_string).unwrap_or_default(),
                format!("{err:?}"),
                source.map(|s| format!("{s:?}")).unwrap_or_default(),
            ];
            for (i, shown) in shown.iter().enumerate() {
                let body = String::from_utf8_lossy(&body);
                prop_assert!(!shown.contains(&secret), "{:?} -> {}", body, shown);
                // A 2,000-character description, a 100-character code and the sentence around
                // them; `Debug` may escape every character.
                let bound = if i < 2 { 2_400 } else { 4 * 2_400 };
                prop_assert!(shown.chars().count() <= bound, "{}: {}", i, shown.chars().count());
            }
            prop_assert!(
                !err.message().chars().any(char::is_control),
                "{:?}",
                err.message()
            );
            Ok(())
        });
    }

    #[test]
    fn snippets_of_any_body_are_short_and_printable() {
        run(proptest::collection::vec(any::<u8>(), 0..600), |body| {
            let s = snippet(&body);
            prop_assert!(s.chars().count() <= 201);
            prop_assert!(!s.chars().any(char::is_control), "{:?}", s);
            Ok(())
        });
    }
}
