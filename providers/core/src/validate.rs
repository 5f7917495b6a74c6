//! The character sets azure-identity accepts for scopes, tenants and subscriptions.
//!
//! Values that pass are safe to put in a process's argument list or a URL path segment.
//! Each function returns the reason as a message suitable for [`Error::invalid_input`](crate::Error::invalid_input).
//!
//! ```
//! use credchain_core::validate;
//! assert!(validate::tenant_id("contoso.onmicrosoft.com").is_ok());
//! assert!(validate::tenant_id("my tenant").is_err());
//! assert!(validate::scope("https://management.azure.com/.default").is_ok());
//! assert!(validate::subscription("My Subscription").is_ok()); // spaces are allowed here
//! ```
//!
//! [`request`] checks a whole token request at once; every built-in provider and middleware
//! calls it, so the rules below are applied the same way everywhere.

use crate::{Error, TokenRequestOptions};

/// The largest claims challenge accepted, in bytes. Real challenges are a few hundred bytes.
pub const MAX_CLAIMS_LEN: usize = 16 * 1024;

/// Checks a whole token request, the one entry point every provider and middleware uses:
///
/// * at least one scope, and every scope within [`scope`]'s character set;
/// * the requested tenant, if any, within [`tenant_id`]'s character set;
/// * the claims challenge, if any, at most [`MAX_CLAIMS_LEN`] bytes and shaped as a JSON
///   object (`{…}` after trimming whitespace).
///
/// `provider` names who refuses the request in the error.
///
/// What this does **not** check, so a provider must when it matters to it: how *many* scopes it
/// can take (the Azure CLI takes one), whether the claims are well-formed JSON (parse them
/// before sending), and whether its upstream accepts a tenant at all.
///
/// ```
/// use credchain_core::{validate, ErrorKind, TokenRequestOptions};
/// let ok = TokenRequestOptions::new().with_tenant_id("contoso.onmicrosoft.com");
/// assert!(validate::request("Mine", &["api://x/.default"], &ok).is_ok());
/// let err = validate::request("Mine", &[], &ok).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// let bad_claims = TokenRequestOptions::new().with_claims("not json");
/// assert!(validate::request("Mine", &["api://x/.default"], &bad_claims).is_err());
/// ```
///
/// # Errors
///
/// An [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error naming the bad value.
#[inline]
pub fn request(provider: &str, scopes: &[&str], options: &TokenRequestOptions) -> Result<(), Error> {
    if scopes.is_empty() {
        return Err(Error::invalid_input(provider, "at least one scope is required"));
    }
    for value in scopes {
        if !is_valid_scope(value) {
            let reason = scope(value).err().unwrap_or_default();
            return Err(Error::invalid_input(provider, reason));
        }
    }
    if let Some(tenant) = options.tenant_id() {
        tenant_id(tenant).map_err(|reason| Error::invalid_input(provider, reason))?;
    }
    if let Some(value) = options.claims() {
        claims(value).map_err(|reason| Error::invalid_input(provider, reason))?;
    }
    Ok(())
}

/// Checks the shape of a claims challenge: at most [`MAX_CLAIMS_LEN`] bytes and a JSON object
/// (`{…}` after trimming). It does not parse the JSON.
///
/// # Errors
///
/// A message saying what to pass instead.
pub fn claims(value: &str) -> Result<(), String> {
    if value.len() > MAX_CLAIMS_LEN {
        return Err(format!(
            "the claims challenge is {} bytes, more than the {MAX_CLAIMS_LEN} allowed; pass the decoded \
             `claims` value from the `WWW-Authenticate` header",
            value.len()
        ));
    }
    let trimmed = value.trim();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        Ok(())
    } else {
        Err(
            "the claims challenge is not a JSON object; pass the decoded `claims` value from the \
             `WWW-Authenticate` header"
                .to_owned(),
        )
    }
}

/// Message for an invalid tenant ID.
pub const INVALID_TENANT: &str = "invalid tenant ID: only ASCII letters, digits, '.' and '-' are allowed \
    (find your tenant ID: https://learn.microsoft.com/partner-center/find-ids-and-domain-names)";
/// Message for an invalid scope.
pub const INVALID_SCOPE: &str =
    "invalid scope: only ASCII letters, digits, '.', '-', '_', ':' and '/' are allowed";

/// Checks a tenant ID: non-empty, `[A-Za-z0-9.-]` only.
///
/// # Errors
///
/// A message naming the value and the allowed characters.
pub fn tenant_id(value: &str) -> Result<(), String> {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        Ok(())
    } else {
        Err(format!("{INVALID_TENANT}; got {}", quoted(value)))
    }
}

/// Checks a scope: non-empty, `[A-Za-z0-9_.:/-]` only.
///
/// # Errors
///
/// A message naming the value and the allowed characters.
#[inline]
pub fn scope(value: &str) -> Result<(), String> {
    if is_valid_scope(value) {
        Ok(())
    } else {
        Err(format!("{INVALID_SCOPE}; got {}", quoted(value)))
    }
}

/// The check behind [`scope`], without building a message.
#[inline]
pub fn is_valid_scope(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'/' | b'-'))
}

/// Checks a subscription name or ID: non-empty, `[A-Za-z0-9_. -]` only.
///
/// # Errors
///
/// A message naming the value and suggesting the subscription's ID instead.
pub fn subscription(value: &str) -> Result<(), String> {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b' ' | b'-'))
    {
        Ok(())
    } else {
        Err(format!(
            "subscription {} contains invalid characters; if this is the name of a subscription, \
             use its ID instead (https://learn.microsoft.com/azure/azure-portal/get-subscription-tenant-id)",
            quoted(value)
        ))
    }
}

/// Quotes user input for a message: at most 80 characters, control characters escaped.
fn quoted(value: &str) -> String {
    let mut shown: String = value.chars().take(80).flat_map(char::escape_debug).collect();
    if value.chars().count() > 80 {
        shown.push('…');
    }
    format!("`{shown}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        let valid_everywhere = [
            "c878a2ab-8ef4-413b-83a0-199afb84d7fb",
            "contoso.onmicrosoft.com",
            "organizations",
            "common",
            "adfs",
        ];
        for v in valid_everywhere {
            assert!(tenant_id(v).is_ok(), "{v}");
            assert!(scope(v).is_ok(), "{v}");
            assert!(subscription(v).is_ok(), "{v}");
        }
        // (input, tenant ok, scope ok, subscription ok)
        let table = [
            ("", false, false, false),
            ("my tenant", false, false, true),
            ("my_tenant", false, true, true),
            ("/", false, true, false),
            ("\\", false, false, false),
            ("\"my-tenant\"", false, false, false),
            ("'my-tenant'", false, false, false),
            ("ténant", false, false, false),
            ("https://management.azure.com/.default", false, true, false),
            ("api://abc-123/.default", false, true, false),
            ("https://x.com/.default offline_access", false, false, false),
            ("https://x.com/?a=b", false, false, false),
            ("sub(1)", false, false, false),
        ];
        for (input, t, s, sub) in table {
            assert_eq!(tenant_id(input).is_ok(), t, "tenant {input:?}");
            assert_eq!(scope(input).is_ok(), s, "scope {input:?}");
            assert_eq!(subscription(input).is_ok(), sub, "subscription {input:?}");
        }
    }

    #[test]
    fn appended_bad_characters_fail() {
        for c in ['|', '\\', '`', ';', '{', '&', '\''] {
            assert!(tenant_id(&format!("tenant{c}")).is_err());
            assert!(scope(&format!("scope{c}")).is_err());
            assert!(subscription(&format!("sub{c}")).is_err());
        }
        assert!(tenant_id("tenant ").is_err());
        assert!(scope("scope ").is_err());
    }

    #[test]
    fn request_checks_every_part() {
        let plain = TokenRequestOptions::new();
        assert!(request("P", &["a/.default", "b"], &plain).is_ok());
        let err = request("P", &["a/.default", "b c"], &plain).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(err.provider(), "P");
        assert!(request("P", &["a"], &plain.clone().with_tenant_id("t 1")).is_err());
        assert!(request("P", &["a"], &plain.clone().with_claims(" {\"a\":1} ")).is_ok());
        assert!(request("P", &["a"], &plain.clone().with_claims("[1]")).is_err());
        let huge = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_CLAIMS_LEN));
        assert!(request("P", &["a"], &plain.with_claims(huge)).is_err());
    }

    #[test]
    fn message_escapes_control_characters() {
        let msg = tenant_id("a\nb\u{1b}[31m").unwrap_err();
        assert!(!msg.contains('\n') && !msg.contains('\u{1b}'), "{msg}");
    }
}
