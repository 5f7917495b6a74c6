//! The Microsoft Entra authority host a client talks to.

use std::fmt;
use std::sync::Arc;

use credchain_core::Env;

/// The environment variable that overrides the authority host.
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";

/// The public cloud's authority host.
pub const PUBLIC_HOST: &str = "login.microsoftonline.com";
/// Azure China (21Vianet)'s authority host.
pub const CHINA_HOST: &str = "login.chinacloudapi.cn";
/// Azure US Government's authority host.
pub const US_GOVERNMENT_HOST: &str = "login.microsoftonline.us";

/// An https URL of a Microsoft Entra authority host, such as `https://login.microsoftonline.com`.
///
/// It is normalised like azure-identity does: a value without a scheme gets `https://`, a
/// trailing `/` is trimmed, and any scheme other than `https` is rejected, because client
/// secrets and tokens must never travel in the clear.
///
/// ```
/// use credchain_entra::Authority;
/// let a = Authority::parse("login.microsoftonline.us/")?;
/// assert_eq!(a.as_str(), "https://login.microsoftonline.us");
/// assert_eq!(a, Authority::us_government());
/// assert_eq!(a.token_url("contoso.onmicrosoft.com"),
///     "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token");
/// assert!(Authority::parse("http://login.example.com").is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Authority {
    url: Arc<str>,
    host_start: usize,
    host_end: usize,
}

impl Authority {
    /// The public Azure cloud (`https://login.microsoftonline.com`).
    pub fn public() -> Self {
        Self::known(PUBLIC_HOST)
    }

    /// Azure operated by 21Vianet in China (`https://login.chinacloudapi.cn`).
    pub fn china() -> Self {
        Self::known(CHINA_HOST)
    }

    /// Azure US Government (`https://login.microsoftonline.us`).
    pub fn us_government() -> Self {
        Self::known(US_GOVERNMENT_HOST)
    }

    fn known(host: &str) -> Self {
        let url = format!("https://{host}");
        Authority {
            host_start: "https://".len(),
            host_end: url.len(),
            url: url.into(),
        }
    }

    /// The authority of a cloud by the name Azure tools use for it: `AzureCloud`,
    /// `AzureChinaCloud` or `AzureUSGovernment` (case-insensitive). `None` for other names,
    /// such as `AzureCustomCloud`, which need an explicit authority.
    ///
    /// ```
    /// use credchain_entra::Authority;
    /// assert_eq!(Authority::from_cloud_name("AzureChinaCloud"), Some(Authority::china()));
    /// assert_eq!(Authority::from_cloud_name("AzureCustomCloud"), None);
    /// ```
    pub fn from_cloud_name(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("AzureCloud") {
            Some(Self::public())
        } else if name.eq_ignore_ascii_case("AzureChinaCloud") {
            Some(Self::china())
        } else if name.eq_ignore_ascii_case("AzureUSGovernment") {
            Some(Self::us_government())
        } else {
            None
        }
    }

    /// Parses and normalises an authority host or URL.
    ///
    /// # Errors
    ///
    /// A message (naming the value) when it is empty, not https, not a URL, or carries a
    /// query, fragment or user name.
    pub fn parse(value: &str) -> Result<Self, String> {
        let trimmed = value.trim();
        if trimmed.trim_end_matches([' ', '/']).is_empty() {
            return Err("the authority is empty; use a host such as `login.microsoftonline.com`".into());
        }
        let rest = match trimmed.find("://") {
            Some(i) => {
                let scheme = &trimmed[..i];
                if !scheme.eq_ignore_ascii_case("https") {
                    return Err(format!(
                        "{} is not a valid authority: it must be an https URL (such as \
                         `https://login.microsoftonline.com`), so secrets and tokens never travel \
                         unencrypted",
                        shown(trimmed)
                    ));
                }
                &trimmed[i + 3..]
            }
            // `https:/host` or `https:host` (a mistyped scheme) would otherwise parse as the
            // host `https`.
            None if trimmed.split_once(':').is_some_and(|(scheme, _)| {
                ["https", "http"].iter().any(|s| scheme.eq_ignore_ascii_case(s))
            }) =>
            {
                return Err(format!(
                    "{} is not a valid authority: its scheme is mistyped; write it as `https://` \
                     followed by the host",
                    shown(trimmed)
                ));
            }
            None => trimmed,
        };
        let rest = rest.trim_end_matches([' ', '/']);
        if rest.is_empty() {
            return Err(format!(
                "{} is not a valid authority: it has no host",
                shown(trimmed)
            ));
        }
        let with_scheme = format!("https://{rest}");
        let trimmed = trimmed.trim_end_matches([' ', '/']);
        let url = reqwest::Url::parse(&with_scheme)
            .map_err(|e| format!("{} is not a valid authority URL: {e}", shown(trimmed)))?;
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h,
            _ => {
                return Err(format!(
                    "{} is not a valid authority: it has no host",
                    shown(trimmed)
                ));
            }
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{} is not a valid authority: it must not have a query or fragment",
                shown(trimmed)
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the authority must not contain a user name or password".into());
        }
        let mut normalised = format!("https://{host}");
        let host_start = "https://".len();
        if let Some(port) = url.port() {
            normalised.push_str(&format!(":{port}"));
        }
        let host_end = normalised.len();
        let path = url.path().trim_end_matches('/');
        normalised.push_str(path);
        Ok(Authority {
            url: normalised.into(),
            host_start,
            host_end,
        })
    }

    /// The authority from `AZURE_AUTHORITY_HOST` when it is set and not blank, else the public
    /// cloud.
    ///
    /// # Errors
    ///
    /// A message naming `AZURE_AUTHORITY_HOST` when its value is not a valid https authority.
    ///
    /// ```
    /// use credchain_core::Env;
    /// use credchain_entra::Authority;
    /// let env = Env::from_pairs([("AZURE_AUTHORITY_HOST", "https://login.chinacloudapi.cn/")]);
    /// assert_eq!(Authority::from_env(&env)?, Authority::china());
    /// assert_eq!(Authority::from_env(&Env::empty())?, Authority::public());
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_env(env: &Env) -> Result<Self, String> {
        match env.non_blank(AZURE_AUTHORITY_HOST) {
            Some(value) => {
                Self::parse(&value).map_err(|e| format!("`{AZURE_AUTHORITY_HOST}` is invalid: {e}"))
            }
            None if env.is_set(AZURE_AUTHORITY_HOST) && env.var(AZURE_AUTHORITY_HOST).is_none() => {
                Err(format!("`{AZURE_AUTHORITY_HOST}` is not valid Unicode"))
            }
            None => Ok(Self::public()),
        }
    }

    /// The host, with the port when one was given (`login.microsoftonline.com`, `127.0.0.1:8443`).
    pub fn host(&self) -> &str {
        &self.url[self.host_start..self.host_end]
    }

    /// The normalised URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The token endpoint for `tenant`: `{authority}/{tenant}/oauth2/v2.0/token`.
    ///
    /// The tenant is not validated here; [`EntraClient`](crate::EntraClient) does that before
    /// sending anything.
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.url)
    }
}

impl Default for Authority {
    /// The public cloud.
    fn default() -> Self {
        Self::public()
    }
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authority").field(&&*self.url).finish()
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl std::str::FromStr for Authority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Quotes a user-supplied value for a message: backticks, at most 100 characters, escaped, and
/// any user name and password (`user:pass@`) replaced by `***@`.
fn shown(value: &str) -> String {
    let value = without_userinfo(value);
    let mut s: String = value.chars().take(100).flat_map(char::escape_debug).collect();
    if value.chars().count() > 100 {
        s.push('…');
    }
    format!("`{s}`")
}

/// `value` with the user info of its authority part (up to the last `@` before the first `/`,
/// `?` or `#` after the scheme) replaced by `***`.
fn without_userinfo(value: &str) -> std::borrow::Cow<'_, str> {
    let start = value.find("://").map_or(0, |i| i + 3);
    let end = value[start..]
        .find(['/', '?', '#'])
        .map_or(value.len(), |i| start + i);
    match value[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &value[..start], &value[start + at..]).into(),
        None => value.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        let table = [
            (
                "login.microsoftonline.com",
                "https://login.microsoftonline.com",
                "login.microsoftonline.com",
            ),
            (
                "https://login.microsoftonline.com/",
                "https://login.microsoftonline.com",
                "login.microsoftonline.com",
            ),
            (
                "  https://login.microsoftonline.com//  ",
                "https://login.microsoftonline.com",
                "login.microsoftonline.com",
            ),
            (
                "HTTPS://Login.Example.COM",
                "https://login.example.com",
                "login.example.com",
            ),
            (
                "https://127.0.0.1:8443",
                "https://127.0.0.1:8443",
                "127.0.0.1:8443",
            ),
            (
                "https://adfs.contoso.com/adfs/",
                "https://adfs.contoso.com/adfs",
                "adfs.contoso.com",
            ),
            (
                "login.example.com:443",
                "https://login.example.com",
                "login.example.com",
            ),
        ];
        for (input, url, host) in table {
            let a = Authority::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(a.as_str(), url, "{input}");
            assert_eq!(a.host(), host, "{input}");
        }
    }

    #[test]
    fn rejects_insecure_and_malformed() {
        for bad in [
            "http://insecure",
            "HTTP://login.microsoftonline.com",
            "ftp://x",
            "",
            "   /",
            "https://",
            "https://host/?q=1",
            "https://host/#frag",
            "https://user:pw@host",
            "https://exa mple.com",
            // A mistyped scheme is not the host `https`.
            "https:/login.microsoftonline.com",
            "https:login.microsoftonline.com",
            "HTTPS:443",
            "http:/x",
        ] {
            let err = Authority::parse(bad).expect_err(bad);
            assert!(!err.is_empty());
            assert!(!err.contains("pw@"), "{err}");
        }
        let err = Authority::parse("http://insecure").unwrap_err();
        assert!(
            err.contains("`http://insecure`") && err.contains("https"),
            "{err}"
        );
    }

    #[test]
    fn env_override_and_errors() {
        let env = Env::from_pairs([(AZURE_AUTHORITY_HOST, "login.microsoftonline.us")]);
        assert_eq!(Authority::from_env(&env), Ok(Authority::us_government()));
        let env = Env::from_pairs([(AZURE_AUTHORITY_HOST, "   ")]);
        assert_eq!(Authority::from_env(&env), Ok(Authority::public()));
        let env = Env::from_pairs([(AZURE_AUTHORITY_HOST, "http://x")]);
        let err = Authority::from_env(&env).unwrap_err();
        assert!(err.starts_with("`AZURE_AUTHORITY_HOST` is invalid"), "{err}");
    }

    #[test]
    fn errors_never_repeat_a_password_in_the_url() {
        for value in [
            "https://user:s3cret-pw@",
            "https://user:s3cret-pw@host?q=1",
            "https://user:s3cret-pw@ho st/path",
            "user:s3cret-pw@host:99999",
            "http://user:s3cret-pw@host",
        ] {
            let err = Authority::parse(value).expect_err(value);
            assert!(!err.contains("s3cret-pw"), "{value}: {err}");
        }
        let err = Authority::parse("https://user:s3cret-pw@host:99999/p").expect_err("bad port");
        assert!(err.contains("`https://***@host:99999/p`"), "{err}");
        // An `@` in the path is not user info.
        assert_eq!(without_userinfo("https://h/a@b?x"), "https://h/a@b?x");
    }

    #[test]
    fn cloud_names() {
        assert_eq!(
            Authority::from_cloud_name("azurecloud"),
            Some(Authority::public())
        );
        assert_eq!(
            Authority::from_cloud_name("AzureUSGovernment"),
            Some(Authority::us_government())
        );
        assert_eq!(Authority::from_cloud_name("AzureGermanCloud"), None);
    }

    #[test]
    fn token_url_and_display() {
        let a = Authority::parse("https://127.0.0.1:9/").unwrap_or_default();
        assert_eq!(a.token_url("t"), "https://127.0.0.1:9/t/oauth2/v2.0/token");
        assert_eq!(a.to_string(), "https://127.0.0.1:9");
        assert_eq!(format!("{a:?}"), "Authority(\"https://127.0.0.1:9\")");
    }
}

/// Property tests: no text panics `Authority::parse`; what it accepts is a normalised https URL
/// that parses to itself; hosts, ports and paths written in any accepted way normalise to the
/// expected URL; refusals are short and never repeat a password. 10,000 cases each; CI fixes the
/// seed with `PROPTEST_RNG_SEED`.
#[cfg(test)]
mod prop {
    use super::*;
    use crate::parse::prop::run;
    use proptest::prelude::*;

    fn check(input: &str) -> Result<Option<Authority>, TestCaseError> {
        match Authority::parse(input) {
            Ok(a) => {
                let url = a.as_str();
                prop_assert!(
                    url.starts_with("https://") && !url.ends_with('/'),
                    "{:?} -> {}",
                    input,
                    url
                );
                prop_assert!(
                    !a.host().is_empty() && !a.host().contains('@'),
                    "{:?} -> {}",
                    input,
                    url
                );
                prop_assert!(url["https://".len()..].starts_with(a.host()));
                prop_assert!(!url.contains(['?', '#', ' ']), "{:?} -> {}", input, url);
                prop_assert_eq!(Authority::parse(url), Ok(a.clone()), "{:?}", input);
                Ok(Some(a))
            }
            Err(message) => {
                prop_assert!(!message.is_empty());
                // The value is quoted at most 100 characters long.
                prop_assert!(message.chars().count() < 600, "{}", message.chars().count());
                Ok(None)
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let text = prop_oneof![
            ".{0,80}",
            "(https?|HTTPS|ftp)?(:|:/|://)?[a-z@:.\\[\\]0-9/?#%-]{0,40}",
        ];
        run(text, |text| check(&text).map(drop));
    }

    #[test]
    fn hosts_ports_and_paths_normalise_to_the_expected_url() {
        let label = "[a-z][a-z0-9-]{0,8}[a-z0-9]".prop_filter("not punycode", |l| !l.starts_with("xn--"));
        let host = proptest::collection::vec(label, 1..4).prop_map(|l| l.join("."));
        let port = proptest::option::of(1u16..);
        let path = proptest::collection::vec("[a-z0-9._~-]{1,8}", 0..3)
            .prop_filter("no dot segments", |p| p.iter().all(|s| s != "." && s != ".."));
        let scheme = prop_oneof![Just(""), Just("https://"), Just("HTTPS://"), Just("hTtPs://")];
        let tail = prop_oneof![Just(""), Just("/"), Just("//"), Just(" "), Just("/ ")];
        run(
            (scheme, host, port, path, tail, any::<bool>()),
            |(scheme, host, port, path, tail, upper)| {
                let written_host = if upper {
                    host.to_ascii_uppercase()
                } else {
                    host.clone()
                };
                let port_text = port.map(|p| format!(":{p}")).unwrap_or_default();
                let path_text: String = path.iter().map(|s| format!("/{s}")).collect();
                let input = format!(" {scheme}{written_host}{port_text}{path_text}{tail}");
                // `:443` is https's default port, which a URL leaves out.
                let port_text = port
                    .filter(|p| *p != 443)
                    .map(|p| format!(":{p}"))
                    .unwrap_or_default();
                let a = check(&input)?.ok_or_else(|| TestCaseError::fail(format!("{input:?} refused")))?;
                prop_assert_eq!(a.as_str(), format!("https://{host}{port_text}{path_text}"));
                prop_assert_eq!(a.host(), format!("{host}{port_text}"));
                Ok(())
            },
        );
    }

    #[test]
    fn refusals_never_repeat_a_password() {
        let case = (
            prop_oneof![Just("http://"), Just("https://"), Just("ftp://"), Just("")],
            "[a-z]{1,6}",
            "[A-Za-z0-9]{10,16}",
            "[a-z]{1,8}\\.example",
            prop_oneof![Just(""), Just("?q=1"), Just("#f"), Just("/p")],
        );
        run(case, |(scheme, user, password, host, tail)| {
            let input = format!("{scheme}{user}:{password}@{host}{tail}");
            match Authority::parse(&input) {
                Ok(a) => return Err(TestCaseError::fail(format!("{input} -> {a}"))),
                Err(message) => prop_assert!(!message.contains(&password), "{}", message),
            }
            Ok(())
        });
    }
}
