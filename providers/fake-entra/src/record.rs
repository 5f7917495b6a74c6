//! What the fake saw: every request, for assertions in tests.

use std::collections::BTreeMap;

/// One HTTP request the fake received, as recorded before it was answered.
///
/// Header names are lower-case; a header sent more than once is joined with `", "`. For the
/// token endpoint, [`form`](Self::form) holds the decoded `application/x-www-form-urlencoded`
/// body, so a test can check exactly what a credential sent — including secrets, so never print
/// recorded requests in a place a real secret could reach.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, e.g. `/{tenant}/oauth2/v2.0/token`, without the query string.
    pub path: String,
    /// The decoded query parameters (last value wins when a name repeats).
    pub query: BTreeMap<String, String>,
    /// The decoded form fields of a `POST` body (empty for other requests).
    pub form: BTreeMap<String, String>,
    /// The request headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
}

impl RecordedRequest {
    /// A form field, if it was sent.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str)
    }

    /// A header value by case-insensitive name, if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// Whether this was a `POST` to a token endpoint (`/{tenant}/oauth2/v2.0/token`).
    pub fn is_token_request(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/oauth2/v2.0/token")
    }

    /// The first path segment, which is the tenant for Entra endpoints (`None` for `/`).
    pub fn tenant(&self) -> Option<&str> {
        self.path.split('/').find(|s| !s.is_empty())
    }
}

/// Parses `a=1&b=2` (form or query) into a map; later duplicates win.
pub(crate) fn parse_urlencoded(bytes: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reads_fields() {
        let form =
            parse_urlencoded(b"grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default+y&a=1&a=2");
        assert_eq!(form["scope"], "api://x/.default y");
        assert_eq!(form["a"], "2");
        let req = RecordedRequest {
            method: "POST".into(),
            path: "/t1/oauth2/v2.0/token".into(),
            query: BTreeMap::new(),
            form,
            headers: BTreeMap::from([("user-agent".to_owned(), "x".to_owned())]),
        };
        assert!(req.is_token_request());
        assert_eq!(req.tenant(), Some("t1"));
        assert_eq!(req.header("User-Agent"), Some("x"));
        assert_eq!(req.form_value("grant_type"), Some("client_credentials"));
        assert_eq!(req.form_value("missing"), None);
    }
}
