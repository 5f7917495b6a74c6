//! The environment-variable seam.
//!
//! Environment variables are process-global and tests run on many threads, so providers read
//! them through an [`Env`] handle: the real process environment in production, a map in tests.

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::Arc;

/// Where providers read environment variables from.
///
/// ```
/// use credchain_core::Env;
/// let env = Env::from_pairs([("AZURE_TENANT_ID", "t1"), ("AZURE_CLIENT_ID", "  ")]);
/// assert_eq!(env.var("AZURE_TENANT_ID").as_deref(), Some("t1"));
/// assert_eq!(env.non_blank("AZURE_CLIENT_ID"), None); // whitespace counts as unset
/// assert!(env.is_set("AZURE_CLIENT_ID"));
/// ```
///
/// `Debug` shows only the kind and size (`Env::Map(2 variables)`): values may be secrets.
///
/// ```
/// use credchain_core::Env;
/// let env = Env::from_pairs([("AZURE_CLIENT_SECRET", "s3cret")]);
/// assert_eq!(format!("{env:?}"), "Env::Map(1 variable)");
/// assert_eq!(format!("{:?}", Env::process()), "Env::Process");
/// ```
#[derive(Clone, Default)]
pub enum Env {
    /// The process environment.
    #[default]
    Process,
    /// A fixed set of variables; nothing else is set. Values may be non-Unicode, as in a real
    /// environment (see [`from_os_pairs`](Env::from_os_pairs)).
    Map(Arc<HashMap<String, OsString>>),
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Env::Process => f.write_str("Env::Process"),
            Env::Map(map) if map.len() == 1 => f.write_str("Env::Map(1 variable)"),
            Env::Map(map) => write!(f, "Env::Map({} variables)", map.len()),
        }
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env::Process
    }

    /// An environment holding exactly `pairs`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env::Map(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), OsString::from(v.into())))
                .collect(),
        ))
    }

    /// An environment holding exactly `pairs`, whose values may be any bytes the platform allows
    /// (to test how a non-Unicode value is handled).
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use credchain_core::Env;
    /// use std::ffi::OsString;
    /// use std::os::unix::ffi::OsStringExt;
    /// let env = Env::from_os_pairs([("A", OsString::from_vec(b"prod\xff".to_vec()))]);
    /// assert!(env.is_set("A"));
    /// assert_eq!(env.var("A"), None); // not Unicode
    /// assert!(env.var_strict("A").is_err());
    /// # }
    /// ```
    pub fn from_os_pairs<K: Into<String>, V: Into<OsString>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env::Map(Arc::new(
            pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        ))
    }

    /// An empty environment (a fresh machine).
    pub fn empty() -> Self {
        Env::Map(Arc::default())
    }

    /// The raw value, which may not be Unicode.
    pub fn var_os(&self, name: &str) -> Option<OsString> {
        match self {
            Env::Process => std::env::var_os(name),
            Env::Map(map) => map.get(name).cloned(),
        }
    }

    /// The value as a string. A value that is not valid Unicode reads as `None`; use
    /// [`var_os`](Env::var_os) to tell the two apart.
    pub fn var(&self, name: &str) -> Option<String> {
        self.var_os(name).and_then(|v| v.into_string().ok())
    }

    /// The value as a string, telling "unset" from "set but not Unicode".
    ///
    /// A variable that is set to bytes that are not valid Unicode is an error, never "unset":
    /// treating it as unset would silently widen a chain (skip a configuration the user did set).
    ///
    /// ```
    /// use credchain_core::Env;
    /// let env = Env::from_pairs([("A", "x")]);
    /// assert_eq!(env.var_strict("A"), Ok(Some("x".to_owned())));
    /// assert_eq!(env.var_strict("B"), Ok(None));
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming the variable, for [`Error::invalid_input`](crate::Error::invalid_input)
    /// or a provider's failure.
    pub fn var_strict(&self, name: &str) -> Result<Option<String>, String> {
        match self.var_os(name) {
            None => Ok(None),
            Some(value) => value.into_string().map(Some).map_err(|_| {
                format!("`{name}` is set but its value is not valid Unicode (UTF-8); set it to a valid value or unset it")
            }),
        }
    }

    /// The value with surrounding whitespace trimmed, or `None` when unset or blank.
    pub fn non_blank(&self, name: &str) -> Option<String> {
        self.var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// `true` when the variable is set at all, even to an empty value.
    pub fn is_set(&self, name: &str) -> bool {
        self.var_os(name).is_some()
    }
}
