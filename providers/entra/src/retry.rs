//! One `request_token` call's attempts: the deadline, the assertion, the request, backoff and
//! `Retry-After`.

use std::future::Future;
use std::time::{Duration, Instant};

use credchain_core::http::{HttpRequest, HttpResponse};
use credchain_core::{Error, Secret};

use crate::errors::{self, Failure, Refusal};
use crate::scrub::Scrubber;
use crate::success::parse_success;
use crate::{EntraClient, Grant, TokenResponse, form};

/// The longest single backoff delay, including one asked for by `Retry-After`.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

impl EntraClient {
    /// Sends the grant until it succeeds, fails for good, runs out of retries or of time.
    pub(crate) async fn run(
        &self,
        provider: &str,
        tenant: &str,
        grant: &Grant<'_>,
        scopes: &[&str],
        claims: Option<&str>,
        caller_deadline: Option<Instant>,
    ) -> Result<TokenResponse, Error> {
        let inner = &*self.inner;
        let started = Instant::now();
        // A timeout too large for `Instant` (such as `Duration::MAX`) means no timeout of ours.
        let own = started.checked_add(inner.timeout);
        let (deadline, bound) = match (own, caller_deadline) {
            (Some(own), Some(d)) if d < own => (Some(d), "the request's deadline"),
            (None, Some(d)) => (Some(d), "the request's deadline"),
            (own, _) => (own, "the client's timeout"),
        };
        let timed_out = || errors::timeout_error(provider, inner.authority.host(), started, bound);
        let url = inner.authority.token_url(tenant);
        let scope = scopes.join(" ");
        let mut scrub = Scrubber::new(grant.secret());
        let host = inner.authority.host();
        let mut attempt: u32 = 0;
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(timed_out());
            }
            let request_time = inner.clock.now();
            let assertion = within(deadline, assertion(provider, grant, &url, request_time))
                .await
                .ok_or_else(timed_out)??;
            if let Some(a) = &assertion {
                scrub.add(a.expose());
            }
            let body = form::token_form(grant, assertion.as_ref(), &scope, claims);
            drop(assertion);
            let mut request =
                HttpRequest::post_form(url.as_str(), body).with_header("Accept", "application/json");
            if let Some(d) = deadline {
                request = request.with_timeout(d.saturating_duration_since(Instant::now()));
            }
            tracing::debug!(attempt, scopes = %scope, "requesting a token from Microsoft Entra ID");
            let failure = match within(deadline, inner.http.send(request)).await {
                None => return Err(timed_out()),
                Some(Err(e)) => {
                    if let Some(tls) = errors::tls_failure(&e) {
                        return Err(errors::untrusted(provider, host, &tls, &scrub));
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(timed_out());
                    }
                    Failure::Transport(scrub.clean(&e.to_string()))
                }
                Some(Ok(response)) if (200..300).contains(&response.status) => {
                    return parse_success(&response.body, request_time)
                        .inspect(|r| {
                            tracing::debug!(
                                expires_on = unix(r.token.expires_on()),
                                refresh_on = r.token.refresh_on().map(unix),
                                rotated_refresh_token = r.refresh_token.is_some(),
                                "received a token from Microsoft Entra ID"
                            );
                        })
                        .map_err(|e| {
                            Error::authentication_failed(
                                provider,
                                format!(
                                    "unexpected response from Microsoft Entra ID (HTTP {}): {}",
                                    response.status,
                                    scrub.clean(&e.0)
                                ),
                            )
                        });
                }
                Some(Ok(response)) => {
                    let ra = retry_after(&response);
                    match errors::refusal(provider, response.status, &response.body, ra, &scrub) {
                        Refusal::Stop(e) => return Err(e),
                        Refusal::Retry(failure) => failure,
                    }
                }
            };
            if attempt >= inner.max_retries {
                return Err(failure.into_error(provider, host, attempt + 1, None));
            }
            let delay = match failure.retry_after() {
                Some(ra) => ra.min(MAX_RETRY_DELAY),
                None => backoff(inner.retry_delay, attempt),
            };
            if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                let why = format!("retrying after {} would pass {bound}", errors::secs(delay));
                return Err(failure.into_error(provider, host, attempt + 1, Some(&why)));
            }
            tracing::debug!(
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason = %failure.short(),
                "retrying the token request"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// The client assertion for this attempt: freshly signed for certificates, asked of the source
/// for [`Grant::ClientAssertion`], `None` for other grants.
async fn assertion(
    provider: &str,
    grant: &Grant<'_>,
    url: &str,
    now: std::time::SystemTime,
) -> Result<Option<Secret>, Error> {
    match grant {
        Grant::ClientCertificate {
            client_id,
            certificate,
            send_certificate_chain,
        } => certificate
            .sign_assertion(client_id.trim(), url, now, *send_certificate_chain)
            .map(Some)
            .map_err(|e| Error::authentication_failed(provider, e)),
        Grant::ClientAssertion { assertion, .. } => {
            let value = assertion.client_assertion(provider).await?;
            if value.is_blank() {
                return Err(Error::authentication_failed(
                    provider,
                    "the client assertion source returned an empty assertion; check the token file or \
                     callback that supplies it",
                ));
            }
            Ok(Some(value))
        }
        _ => Ok(None),
    }
}

/// `f`'s output, or `None` when `deadline` passes first.
async fn within<F: Future>(deadline: Option<Instant>, f: F) -> Option<F::Output> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d.into(), f).await.ok(),
        None => Some(f.await),
    }
}

fn unix(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `base * 2^attempt`, ±25 % jitter, capped.
fn backoff(base: Duration, attempt: u32) -> Duration {
    // Clamp before the jitter: `mul_f64` panics when the product overflows `Duration`. Any
    // value from twice the cap up still ends at the cap (0.75 * 2 * cap > cap).
    let exp = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_RETRY_DELAY * 2);
    let jitter = 0.75 + fastrand::f64() * 0.5;
    exp.mul_f64(jitter).min(MAX_RETRY_DELAY)
}

/// `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds) or `Retry-After` (seconds).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let get = |name: &str| response.header(name).map(str::trim);
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = get(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    get("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 0..5 {
            let d = backoff(base, attempt);
            let nominal = base * (1 << attempt);
            assert!(
                d >= nominal.mul_f64(0.75) && d <= nominal.mul_f64(1.25),
                "{attempt}: {d:?}"
            );
        }
        assert_eq!(backoff(Duration::from_secs(10), 30), MAX_RETRY_DELAY);
        assert_eq!(backoff(Duration::MAX, 0), MAX_RETRY_DELAY);
        assert_eq!(backoff(Duration::MAX, 3), MAX_RETRY_DELAY);
    }

    #[test]
    fn retry_after_headers() {
        let r = HttpResponse::new(429, "");
        assert_eq!(retry_after(&r), None);
        let r = r.with_header("Retry-After", " 7 ");
        assert_eq!(retry_after(&r), Some(Duration::from_secs(7)));
        let r = r.with_header("retry-after-ms", "250");
        assert_eq!(retry_after(&r), Some(Duration::from_millis(250)));
        let r = HttpResponse::new(429, "").with_header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(retry_after(&r), None);
    }
}
