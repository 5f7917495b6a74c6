//! The key → slot map: a short list scanned in order while small, a hash map beyond that.
//!
//! Most applications ask for one to three scopes. Comparing a few short strings is cheaper than
//! hashing them, and the cache-hit path does one lookup, so small maps skip the hash.

use std::sync::Arc;

use hashbrown::{Equivalent, HashMap};

use super::key::{CacheKey, KeyRef};
use super::slot::Slot;

/// Above this many keys the map switches to hashing.
const LINEAR_LIMIT: usize = 8;

#[derive(Default)]
pub(crate) struct SlotMap {
    small: Vec<(CacheKey, Arc<Slot>)>,
    large: HashMap<CacheKey, Arc<Slot>>,
}

impl SlotMap {
    #[inline]
    pub(crate) fn get(&self, key: &KeyRef<'_>) -> Option<&Arc<Slot>> {
        if self.large.is_empty() {
            self.small
                .iter()
                .find(|(k, _)| key.equivalent(k))
                .map(|(_, slot)| slot)
        } else {
            self.large.get(key)
        }
    }

    pub(crate) fn insert(&mut self, key: CacheKey, slot: Arc<Slot>) {
        if self.large.is_empty() && self.small.len() < LINEAR_LIMIT {
            self.small.push((key, slot));
            return;
        }
        self.large.extend(self.small.drain(..));
        self.large.insert(key, slot);
    }

    pub(crate) fn len(&self) -> usize {
        self.small.len() + self.large.len()
    }

    pub(crate) fn clear(&mut self) {
        self.small.clear();
        self.large.clear();
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Arc<Slot>) -> bool) {
        self.small.retain(|(_, slot)| keep(slot));
        self.large.retain(|_, slot| keep(slot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_before_and_after_switching_to_hashing() {
        let mut map = SlotMap::default();
        let scopes: Vec<String> = (0..20).map(|i| format!("api://app-{i}/.default")).collect();
        for (i, scope) in scopes.iter().enumerate() {
            map.insert(
                KeyRef {
                    scopes: &[scope],
                    tenant: None,
                    cae: false,
                }
                .to_owned_key(),
                Arc::default(),
            );
            assert_eq!(map.len(), i + 1);
            for earlier in &scopes[..=i] {
                assert!(
                    map.get(&KeyRef {
                        scopes: &[earlier],
                        tenant: None,
                        cae: false
                    })
                    .is_some()
                );
                assert!(
                    map.get(&KeyRef {
                        scopes: &[earlier],
                        tenant: Some("t"),
                        cae: false
                    })
                    .is_none()
                );
            }
        }
        map.retain(|_| false);
        assert_eq!(map.len(), 0);
    }
}
