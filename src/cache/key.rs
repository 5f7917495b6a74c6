//! Cache keys, and borrowed views of them for allocation-free lookups.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hashbrown::Equivalent;

/// An owned cache key: the scopes in request order, the resolved tenant and CAE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CacheKey {
    pub(crate) scopes: Box<[Box<str>]>,
    pub(crate) tenant: Option<Arc<str>>,
    pub(crate) cae: bool,
}

/// A borrowed key; hashes exactly like the [`CacheKey`] it matches.
pub(crate) struct KeyRef<'a> {
    pub(crate) scopes: &'a [&'a str],
    pub(crate) tenant: Option<&'a str>,
    pub(crate) cae: bool,
}

impl KeyRef<'_> {
    pub(crate) fn to_owned_key(&self) -> CacheKey {
        CacheKey {
            scopes: self.scopes.iter().map(|s| Box::from(*s)).collect(),
            tenant: self.tenant.map(Arc::from),
            cae: self.cae,
        }
    }
}

fn hash_parts<'a, H: Hasher>(
    state: &mut H,
    scopes: impl ExactSizeIterator<Item = &'a str>,
    tenant: Option<&str>,
    cae: bool,
) {
    state.write_usize(scopes.len());
    for scope in scopes {
        scope.hash(state);
    }
    tenant.hash(state);
    cae.hash(state);
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(
            state,
            self.scopes.iter().map(|s| &**s),
            self.tenant.as_deref(),
            self.cae,
        );
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(state, self.scopes.iter().copied(), self.tenant, self.cae);
    }
}

impl Equivalent<CacheKey> for KeyRef<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        self.cae == key.cae
            && self.tenant == key.tenant.as_deref()
            && self.scopes.len() == key.scopes.len()
            && self.scopes.iter().zip(key.scopes.iter()).all(|(a, b)| *a == &**b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn borrowed_and_owned_keys_hash_alike() {
        let build = hashbrown::DefaultHashBuilder::default();
        let borrowed = KeyRef {
            scopes: &["a", "b"],
            tenant: Some("t"),
            cae: true,
        };
        let owned = borrowed.to_owned_key();
        assert_eq!(build.hash_one(&borrowed), build.hash_one(&owned));
        assert!(borrowed.equivalent(&owned));
        let other = KeyRef {
            scopes: &["ab"],
            tenant: Some("t"),
            cae: true,
        };
        assert!(!other.equivalent(&owned));
    }
}
