//! [`DefaultCredential`]: the chain applications use, in azure-identity's order.

mod builder;
mod credential;
mod providers;
mod selection;

pub use builder::DefaultCredentialBuilder;
pub use credential::{DefaultCredential, Member};
pub use providers::{BUILTIN_PROVIDERS, BuiltinProvider, ProviderGroup, builtin_provider};
pub use selection::{TOKEN_CREDENTIALS_VAR, TokenCredentialsSelection};
