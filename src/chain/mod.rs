//! [`ChainedCredential`]: ordered providers, tried one after another.

mod builder;
mod credential;

pub use builder::{ChainedCredentialBuilder, ProviderEntry};
pub use credential::ChainedCredential;
