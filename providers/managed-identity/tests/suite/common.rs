//! Set-up shared by the suite: credentials pointed at a fake, with a fake timer and an
//! in-memory file system (so the host's Arc agent files never matter).

use std::sync::Arc;

use credchain_core::fs::MemoryFileSystem;
use credchain_core::{Env, ProviderContext};
use credchain_fake_entra::FakeManagedIdentity;
use credchain_managed_identity::{FakeTimer, ManagedIdentityCredential, ManagedIdentityCredentialBuilder};

pub const SCOPE: &str = "https://management.azure.com/.default";
pub const RESOURCE: &str = "https://management.azure.com";

/// A builder reading `pairs` as its environment and `fs` as its files, waiting on `timer`.
pub fn builder_with(
    pairs: Vec<(String, String)>,
    fs: MemoryFileSystem,
    timer: &FakeTimer,
) -> ManagedIdentityCredentialBuilder {
    let context = ProviderContext::new()
        .with_env(Env::from_pairs(pairs))
        .with_fs(fs);
    ManagedIdentityCredential::builder()
        .context(context)
        .timer(Arc::new(timer.clone()))
}

/// A builder for the source `fake` plays.
pub fn builder(fake: &FakeManagedIdentity, timer: &FakeTimer) -> ManagedIdentityCredentialBuilder {
    builder_with(fake.env(), MemoryFileSystem::new(), timer)
}
